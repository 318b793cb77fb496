/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 64-bit finalizer of MurmurHash3: every input bit changes about half
 * of the output bits, so keys that differ in a few low bits (neighbouring
 * addresses, similar names) spread over the whole of a hash table.
 */
#ifndef TROC_BASE_HASH_H
#define TROC_BASE_HASH_H

#include <stdint.h>

static inline uint64_t troc_hash_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif /* TROC_BASE_HASH_H */
