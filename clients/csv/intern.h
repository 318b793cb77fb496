/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interning: maps byte strings (firm names, invoice ids) to dense indices
 * 0, 1, 2... in order of first appearance, so that the clearing problem can
 * work on uint32 indices and duplicates are found in constant time.
 *
 * The table does not copy the strings: it keeps pointers to the caller's
 * bytes (the fields of a troc_csv), which must outlive it.
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

/* Finds `text`, adding it with the next index when absent.  Sets *index_out,
 * and *added_out to whether it was new.  Returns 0, -ENOMEM, or TROC_ELIMIT
 * past TROC_INTERN_COUNT_MAX strings. */
int troc_intern_add(troc_intern *intern, const char *text, size_t length, uint32_t *index_out, bool *added_out);

/* Returns 0 and the index of `text`, or TROC_ENOT_FOUND. */
int troc_intern_find(const troc_intern *intern, const char *text, size_t length, uint32_t *index_out);

/* Strings in the table; their indices are 0 .. count - 1. */
uint32_t troc_intern_count(const troc_intern *intern);

/* The string of an index. */
const char *troc_intern_text(const troc_intern *intern, uint32_t index, size_t *length_out);

#endif /* TROC_INTERN_H */
