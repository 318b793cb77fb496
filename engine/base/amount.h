/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Amounts are int64 counts of minor units (cents).  Text forms are decimals
 * with at most two fractional digits, read and written exactly: never through
 * floating point.  Every addition is overflow-checked.
 */
#ifndef TROC_AMOUNT_H
#define TROC_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* Parses exactly `length` bytes of `text`: an optional '-', one or more
 * digits, then optionally '.' and one or two digits ("12", "-0.5", "1234.56").
 * No spaces, no '+', no exponent, no thousands separators.  Returns 0 and the
 * value in cents, TROC_EAMOUNT for any other text, TROC_EOVERFLOW when the
 * value does not fit in int64 cents. */
int troc_amount_parse(const char *text, size_t length, int64_t *cents_out);

/* Writes `cents` as a decimal with exactly two fractional digits ("-120.50")
 * into `buffer` (TROC_AMOUNT_TEXT_SIZE bytes, NUL-terminated) and returns
 * `buffer`, so that it can be used as a printf argument. */
char *troc_amount_format(int64_t cents, char buffer[TROC_AMOUNT_TEXT_SIZE]);

/* The same, returning the length written (without the NUL): for writers of
 * millions of amounts, which would otherwise measure each one again. */
size_t troc_amount_write(int64_t cents, char buffer[TROC_AMOUNT_TEXT_SIZE]);

/* *sum_out = a + b; returns TROC_EOVERFLOW (leaving *sum_out untouched) when
 * the sum does not fit in int64. */
int troc_amount_add(int64_t a, int64_t b, int64_t *sum_out);

/* *difference_out = a - b, overflow-checked likewise. */
int troc_amount_subtract(int64_t a, int64_t b, int64_t *difference_out);

/* `part` as a percentage of `total`, rounded down to `decimals` (at most
 * 6) fractional digits: 100 only when part is the whole, so that a program
 * may read "100" as "all of it".  0 when total is not positive; a part
 * outside [0, total] (from a server that sends nonsense) counts as the
 * nearer end.  For display: a double holding a decimal of that many
 * digits. */
double troc_amount_share_percent(int64_t part_cents, int64_t total_cents, unsigned decimals);

#endif /* TROC_AMOUNT_H */
