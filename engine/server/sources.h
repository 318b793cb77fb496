/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where connections come from, and how many in their handshake each source
 * holds.  A source is what one peer can be told apart by: an IPv4 address,
 * or the /64 prefix of an IPv6 address, since a single host is commonly
 * given a whole /64 and can pick any address in it.  An IPv4-mapped IPv6
 * address (a dual-stack listener's view of an IPv4 peer) is that IPv4
 * address.
 *
 * The table counts the TCP connections still in their handshake per
 * source, so that one stranger cannot hold every handshake slot of the
 * listener (TROC_HANDSHAKES_SOURCE_SHARE).  It is sized once, at start,
 * from the listener's handshake share: there are never more sources in it
 * than connections in their handshake.
 */
#ifndef TROC_SERVER_SOURCES_H
#define TROC_SERVER_SOURCES_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* One source, compared and hashed as its bytes (no padding). */
typedef struct troc__source {
    uint8_t family;                        /* 4, 6, or 0 when the peer's address could not be read */
    uint8_t prefix[8];                     /* IPv4: the address then zeros; IPv6: the first 64 bits */
} troc__source;

_Static_assert(sizeof(troc__source) == 9, "a source has no padding: it is compared as bytes");

/* Room for a source's name, the longest being an IPv6 /64 prefix such as "ffff:ffff:ffff:ffff::/64". */
#define TROC__SOURCE_NAME_SIZE 48

/* The source of a peer at `address` (AF_INET or AF_INET6); any other
 * family, or NULL, is the unknown source (family 0), which every peer whose
 * address could not be read shares. */
void troc__source_from_address(const struct sockaddr *address, troc__source *source_out);

/* Writes "192.0.2.7", "2001:db8:1:2::/64" or "an unknown address". */
void troc__source_name(const troc__source *source, char *text, size_t size);

typedef struct troc__source_slot {
    troc__source source;
    uint32_t count;                        /* connections counted for it; 0: the slot is empty */
} troc__source_slot;

/* An open-addressing table (linear probing, deletion by backward shift, so
 * no tombstones accumulate) of at most `sources_max` sources, with at least
 * twice as many slots: a lookup stops at an empty slot within a few probes.
 * The hash is keyed by a random seed, so that a peer choosing its addresses
 * (64 bits of an IPv6 prefix are many choices) cannot make them collide
 * on purpose; even then a probe sequence is bounded by the sources held,
 * at most the handshake share. */
typedef struct troc__sources {
    troc__source_slot *slots;
    uint32_t mask;                         /* slots - 1 (a power of two) */
    uint32_t held;                         /* slots in use */
    uint32_t sources_max;                  /* most sources held at once */
    uint64_t seed;                         /* keys the hash */
} troc__sources;

/* Allocates a table for up to `sources_max` sources (at least 1); 0 or
 * -ENOMEM. */
int troc__sources_init(troc__sources *sources, uint32_t sources_max);
void troc__sources_destroy(troc__sources *sources);

/* Connections counted for `source` (0 when it holds none). */
uint32_t troc__sources_count(const troc__sources *sources, const troc__source *source);

/* Counts one more connection for `source`; the table must have room for
 * it when it is new (the caller bounds the sources). */
void troc__sources_add(troc__sources *sources, const troc__source *source);

/* Counts one connection less for `source`, which must hold one. */
void troc__sources_remove(troc__sources *sources, const troc__source *source);

#endif /* TROC_SERVER_SOURCES_H */
