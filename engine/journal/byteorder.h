/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixed-width big-endian integers for on-disk keys and records of the
 * storage layers (journal, ledger).  Keys are big-endian so that LMDB's
 * bytewise order is numeric order: a cursor walks a member's statement
 * lines, or the journal, in sequence.
 */
#ifndef TROC_BYTEORDER_H
#define TROC_BYTEORDER_H

#include <stdint.h>

static inline void troc__be16_write(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void troc__be32_write(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void troc__be64_write(uint8_t *p, uint64_t v) {
    troc__be32_write(p, (uint32_t)(v >> 32));
    troc__be32_write(p + 4, (uint32_t)v);
}

static inline uint16_t troc__be16_read(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t troc__be32_read(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t troc__be64_read(const uint8_t *p) {
    return (uint64_t)troc__be32_read(p) << 32 | troc__be32_read(p + 4);
}

/* Signed values are stored as their two's complement bit pattern. */
static inline void troc__be64_write_signed(uint8_t *p, int64_t v) {
    troc__be64_write(p, (uint64_t)v);
}

static inline int64_t troc__be64_read_signed(const uint8_t *p) {
    return (int64_t)troc__be64_read(p);
}

#endif /* TROC_BYTEORDER_H */
