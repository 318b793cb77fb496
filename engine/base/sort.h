/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sorting 64-bit keys in place, without a second array: a most
 * significant digit radix sort (one byte a level, each level's buckets
 * made by swapping keys into place, "American flag sort"), with insertion
 * sort for the small buckets.  A sort by least significant digits is as
 * fast but needs a copy of the keys beside them (8 MB for a million),
 * which costs fresh memory where the keys are sorted beside a large
 * computation (troc clear compares INPUT's ids beside the solve's start).
 * At most eight levels whatever the keys (equal keys included): linear
 * time.
 */
#ifndef TROC_BASE_SORT_H
#define TROC_BASE_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Sorts keys[0, count) in ascending order. */
void troc_sort_u64(uint64_t *keys, size_t count);

#endif /* TROC_BASE_SORT_H */
