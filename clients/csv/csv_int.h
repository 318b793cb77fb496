/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the CSV module: what the reader's side (csv_read.c) needs of
 * the writer's (csv_write.c).
 */
#ifndef TROC_CSV_INT_H
#define TROC_CSV_INT_H

#include <stddef.h>

#include "csv.h"

/* Appends field_count (at least two) fields at once, as `length` bytes of
 * text holding them with their separating commas, none of which needs
 * quoting. */
void troc__csv_write_fields(troc_csv_writer *writer, const char *text, size_t length, size_t field_count);

#endif /* TROC_CSV_INT_H */
