/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sources of connections in their handshake, counted in a small hash
 * table (see sources.h for what a source is and why).
 *
 * Cost.  Every accept and every handshake that ends (session open, timeout
 * or close) looks one source up: with at least twice as many slots as
 * sources, linear probing finds it, or the empty slot ending its run, in a
 * couple of probes.  Deleting shifts the rest of the run back, instead of
 * leaving a tombstone, so that a table whose sources come and go all day
 * never degrades.  Every loop is bounded by the slot count.
 *
 * Memory.  The slots are allocated once, at start: 16 bytes each, 512
 * slots for the default handshake share of 256 (8 KiB).
 */
#include "sources.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/hash.h"
#include "crypto/crypto.h"

/* ------------------------------------------------------------- sources */

void troc__source_from_address(const struct sockaddr *address, troc__source *source_out) {
    assert(source_out != NULL);
    memset(source_out, 0, sizeof *source_out);
    if (address == NULL) return;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        source_out->family = 4;
        memcpy(source_out->prefix, &v4->sin_addr, 4);
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        const uint8_t *bytes = v6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            /* One peer, whichever way the listener sees it. */
            source_out->family = 4;
            memcpy(source_out->prefix, bytes + 12, 4);
        } else {
            source_out->family = 6;
            memcpy(source_out->prefix, bytes, 8);
        }
    }
}

void troc__source_name(const troc__source *source, char *text, size_t size) {
    assert(source != NULL && text != NULL && size >= TROC__SOURCE_NAME_SIZE);
    char address[INET6_ADDRSTRLEN] = "";
    if (source->family == 4) {
        inet_ntop(AF_INET, source->prefix, text, (socklen_t)size);
    } else if (source->family == 6) {
        uint8_t bytes[16] = {0};
        memcpy(bytes, source->prefix, 8);
        inet_ntop(AF_INET6, bytes, address, sizeof address);
        snprintf(text, size, "%s/64", address);
    } else {
        snprintf(text, size, "an unknown address");
    }
}

/* --------------------------------------------------------------- table */

/* A keyed mix of the source's bytes (MurmurHash3's 64-bit finalizer over
 * the bytes xored with the seed): spreads neighbouring addresses and
 * prefixes over the whole table, differently in every process. */
static uint64_t source_hash(const troc__sources *sources, const troc__source *source) {
    uint64_t x = 0;
    memcpy(&x, source->prefix, sizeof x);
    return troc_hash_mix64(x ^ sources->seed ^ ((uint64_t)source->family << 32 | source->family));
}

static bool source_equal(const troc__source *a, const troc__source *b) {
    return memcmp(a, b, sizeof *a) == 0;
}

/* The slot holding `source`, or the empty slot where it would go. */
static uint32_t sources_find(const troc__sources *sources, const troc__source *source) {
    uint32_t slot = (uint32_t)source_hash(sources, source) & sources->mask;
    /* Bounded: at most half the slots are in use, so an empty one ends
     * every run. */
    for (uint32_t probe = 0; probe <= sources->mask; probe++) {
        const troc__source_slot *s = &sources->slots[slot];
        if (s->count == 0 || source_equal(&s->source, source)) return slot;
        slot = (slot + 1) & sources->mask;
    }
    assert(!"a sources table always has an empty slot");
    return slot;
}

int troc__sources_init(troc__sources *sources, uint32_t sources_max) {
    assert(sources != NULL && sources_max >= 1 && sources_max <= (UINT32_MAX >> 2));
    memset(sources, 0, sizeof *sources);
    uint32_t slots = 4;
    while (slots < 2 * sources_max) slots *= 2;
    sources->slots = calloc(slots, sizeof *sources->slots);
    if (sources->slots == NULL) return -ENOMEM;
    sources->mask = slots - 1;
    sources->sources_max = sources_max;
    /* A fresh id ends with 80 random bits (crypto.h): the seed takes 64. */
    uint8_t id[TROC_ID_SIZE];
    troc_id_generate(id);
    memcpy(&sources->seed, id + TROC_ID_SIZE - sizeof sources->seed, sizeof sources->seed);
    return 0;
}

void troc__sources_destroy(troc__sources *sources) {
    if (sources == NULL) return;
    free(sources->slots);
    memset(sources, 0, sizeof *sources);
}

uint32_t troc__sources_count(const troc__sources *sources, const troc__source *source) {
    assert(sources != NULL && sources->slots != NULL && source != NULL);
    return sources->slots[sources_find(sources, source)].count;
}

void troc__sources_add(troc__sources *sources, const troc__source *source) {
    assert(sources != NULL && sources->slots != NULL && source != NULL);
    troc__source_slot *s = &sources->slots[sources_find(sources, source)];
    if (s->count == 0) {
        assert(sources->held < sources->sources_max);
        s->source = *source;
        sources->held++;
    }
    assert(s->count < UINT32_MAX);
    s->count++;
}

/* Empties `slot`, then moves back each later slot of its run that may sit
 * earlier (its home is not within the cyclic range after the hole up to
 * itself), so that every source stays reachable from its home without
 * crossing an empty slot. */
static void sources_delete(troc__sources *sources, uint32_t hole) {
    sources->slots[hole].count = 0;
    uint32_t next = hole;
    for (uint32_t probe = 0; probe < sources->mask; probe++) {
        next = (next + 1) & sources->mask;
        troc__source_slot *s = &sources->slots[next];
        if (s->count == 0) return;
        uint32_t home = (uint32_t)source_hash(sources, &s->source) & sources->mask;
        /* Distances from the hole, cyclically: the slot stays when its
         * home lies after the hole and no further than the slot. */
        uint32_t home_distance = (home - hole) & sources->mask, slot_distance = (next - hole) & sources->mask;
        if (home_distance != 0 && home_distance <= slot_distance) continue;
        sources->slots[hole] = *s;
        s->count = 0;
        hole = next;
    }
}

void troc__sources_remove(troc__sources *sources, const troc__source *source) {
    assert(sources != NULL && sources->slots != NULL && source != NULL);
    uint32_t slot = sources_find(sources, source);
    troc__source_slot *s = &sources->slots[slot];
    assert(s->count > 0 && source_equal(&s->source, source));
    if (--s->count > 0) return;
    assert(sources->held > 0);
    sources->held--;
    sources_delete(sources, slot);
}
