/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interning: maps byte strings (firm names, invoice ids) to dense indices
 * 0, 1, 2... in order of first appearance, so that the clearing problem can
 * work on uint32 indices and duplicates are found in constant time.
 *
 * The table keeps its own copy of each string.
 */
#ifndef TROC_INTERN_H
#define TROC_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct troc_intern troc_intern;

/* Creates an empty table sized for about `expected_count` strings (it grows
 * past that).  Returns 0 or -ENOMEM. */
int troc_intern_create(size_t expected_count, troc_intern **intern_out);

void troc_intern_destroy(troc_intern *intern);

/* Finds `text`, adding (a copy of) it with the next index when absent.  Sets
 * *index_out, and *added_out to whether it was new.  Returns 0, -ENOMEM, or
 * TROC_ELIMIT past TROC_INTERN_COUNT_MAX strings or 4 GiB of text. */
int troc_intern_add(troc_intern *intern, const char *text, size_t length, uint32_t *index_out, bool *added_out);

/* Interns `count` strings, setting indices_out[i] (and added_out[i] unless
 * added_out is NULL) as troc_intern_add() would one after the other, and
 * returning its first error.  Much faster on large tables: the memory each
 * lookup needs is fetched for many strings at once. */
int troc_intern_add_many(troc_intern *intern, size_t count, const char *const *texts, const uint32_t *lengths,
                         uint32_t *indices_out, bool *added_out);

/* The same, with each string's troc_intern_hash() already known (a caller
 * that cuts strings into groups by hash computes it once). */
int troc_intern_add_many_hashed(troc_intern *intern, size_t count, const char *const *texts,
                                const uint32_t *lengths, const uint32_t *hashes, uint32_t *indices_out,
                                bool *added_out);

/* The 32-bit hash the table files a string under. */
uint32_t troc_intern_hash(const char *text, size_t length);

/* Strings in the table; their indices are 0 .. count - 1. */
uint32_t troc_intern_count(const troc_intern *intern);

/* The string of an index, valid until the next add. */
const char *troc_intern_text(const troc_intern *intern, uint32_t index, size_t *length_out);

#endif /* TROC_INTERN_H */
