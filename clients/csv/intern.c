/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An intern table: open addressing with linear probing over a power-of-two
 * array of slots, kept at most half full.  A slot holds an entry's index plus
 * one (0 is an empty slot); the entries, in order of first appearance, hold
 * the string's pointer, length and 32-bit hash, so that a probe compares
 * hashes before bytes and growing the table rehashes nothing.
 *
 * The hash reads the string eight bytes at a time and mixes each word with a
 * multiply and a shift (the finaliser of MurmurHash3's 64-bit variant ends
 * it), which spreads names that differ in one digit ("firm12", "firm13")
 * over the whole table.  It is not keyed: the inputs are the user's own
 * files, not an adversary's.
 */
#include "intern.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"

/* Slots of a new table at least; a power of two. */
#define SLOTS_MIN 16u

typedef struct entry {
    const char *text; /* the caller's bytes */
    uint32_t length;  /* bytes */
    uint32_t hash;    /* hash_bytes(text, length), truncated */
} entry;

struct troc_intern {
    uint32_t *slots;     /* slot_mask + 1 slots: entry index + 1, or 0 when empty */
    uint32_t slot_mask;  /* slot count - 1 */
    uint32_t count;      /* entries in use */
    uint32_t capacity;   /* entries allocated */
    entry *entries;      /* in order of first appearance */
};

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint32_t hash_bytes(const char *text, size_t length) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)length;
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, text + i, 8);
        h = (h ^ word) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    if (length > i) memcpy(&tail, text + i, length - i);
    return (uint32_t)mix(h ^ tail);
}

/* The slot holding `text`, or the empty slot where it would go. */
static uint32_t probe(const troc_intern *intern, const char *text, size_t length, uint32_t hash) {
    uint32_t slot = hash & intern->slot_mask;
    for (uint32_t step = 0; step <= intern->slot_mask; step++) {
        uint32_t held = intern->slots[slot];
        if (held == 0) return slot;
        const entry *e = &intern->entries[held - 1];
        if (e->hash == hash && e->length == length && memcmp(e->text, text, length) == 0) return slot;
        slot = (slot + 1) & intern->slot_mask;
    }
    assert(!"an intern table is never full");
    return 0;
}

/* Doubles the slots and puts every entry back. */
static int grow_slots(troc_intern *intern) {
    uint32_t slot_count = (intern->slot_mask + 1) * 2;
    uint32_t *slots = calloc(slot_count, sizeof *slots);
    if (slots == NULL) return -ENOMEM;
    free(intern->slots);
    intern->slots = slots;
    intern->slot_mask = slot_count - 1;
    for (uint32_t i = 0; i < intern->count; i++) {
        uint32_t slot = intern->entries[i].hash & intern->slot_mask;
        while (slots[slot] != 0) slot = (slot + 1) & intern->slot_mask;
        slots[slot] = i + 1;
    }
    return 0;
}

static int grow_entries(troc_intern *intern) {
    uint32_t capacity = intern->capacity * 2;
    if (capacity > TROC_INTERN_COUNT_MAX) capacity = TROC_INTERN_COUNT_MAX;
    entry *entries = realloc(intern->entries, (size_t)capacity * sizeof *entries);
    if (entries == NULL) return -ENOMEM;
    intern->entries = entries;
    intern->capacity = capacity;
    return 0;
}

int troc_intern_create(size_t expected_count, troc_intern **intern_out) {
    assert(intern_out != NULL);
    if (expected_count > TROC_INTERN_COUNT_MAX) expected_count = TROC_INTERN_COUNT_MAX;
    if (expected_count < SLOTS_MIN / 2) expected_count = SLOTS_MIN / 2;
    uint32_t slot_count = SLOTS_MIN;
    while (slot_count / 2 < expected_count) slot_count *= 2;
    troc_intern *intern = calloc(1, sizeof *intern);
    if (intern == NULL) return -ENOMEM;
    intern->slots = calloc(slot_count, sizeof *intern->slots);
    intern->entries = malloc(expected_count * sizeof *intern->entries);
    if (intern->slots == NULL || intern->entries == NULL) {
        troc_intern_destroy(intern);
        return -ENOMEM;
    }
    intern->slot_mask = slot_count - 1;
    intern->capacity = (uint32_t)expected_count;
    *intern_out = intern;
    return 0;
}

void troc_intern_destroy(troc_intern *intern) {
    if (intern == NULL) return;
    free(intern->slots);
    free(intern->entries);
    free(intern);
}

int troc_intern_add(troc_intern *intern, const char *text, size_t length, uint32_t *index_out, bool *added_out) {
    assert(intern != NULL && (text != NULL || length == 0));
    assert(index_out != NULL && added_out != NULL);
    assert(length <= UINT32_MAX);
    uint32_t hash = hash_bytes(text, length);
    uint32_t slot = probe(intern, text, length, hash);
    if (intern->slots[slot] != 0) {
        *index_out = intern->slots[slot] - 1;
        *added_out = false;
        return 0;
    }
    if (intern->count == TROC_INTERN_COUNT_MAX) return TROC_ELIMIT;
    if (intern->count == intern->capacity && grow_entries(intern) != 0) return -ENOMEM;
    if ((intern->count + 1) * 2 > intern->slot_mask + 1) {
        if (grow_slots(intern) != 0) return -ENOMEM;
        slot = probe(intern, text, length, hash);
    }
    uint32_t index = intern->count++;
    intern->entries[index] = (entry){.text = text, .length = (uint32_t)length, .hash = hash};
    intern->slots[slot] = index + 1;
    *index_out = index;
    *added_out = true;
    return 0;
}

int troc_intern_find(const troc_intern *intern, const char *text, size_t length, uint32_t *index_out) {
    assert(intern != NULL && (text != NULL || length == 0));
    assert(index_out != NULL);
    uint32_t held = intern->slots[probe(intern, text, length, hash_bytes(text, length))];
    if (held == 0) return TROC_ENOT_FOUND;
    *index_out = held - 1;
    return 0;
}

uint32_t troc_intern_count(const troc_intern *intern) {
    assert(intern != NULL);
    return intern->count;
}

const char *troc_intern_text(const troc_intern *intern, uint32_t index, size_t *length_out) {
    assert(intern != NULL && index < intern->count);
    assert(length_out != NULL);
    *length_out = intern->entries[index].length;
    return intern->entries[index].text;
}
