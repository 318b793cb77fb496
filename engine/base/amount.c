/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact decimal amounts.  Parsing accumulates digits in an int64 with an
 * overflow check at each step; the fractional part is scaled to cents, so
 * "1.5" is 150 and "1.05" is 105.  Formatting works on the magnitude as an
 * unsigned value so that INT64_MIN prints correctly.
 */
#include "amount.h"

#include <assert.h>
#include <stdbool.h>

#include "error.h"

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int troc_amount_parse(const char *text, size_t length, int64_t *cents_out) {
    assert(text != NULL || length == 0);
    assert(cents_out != NULL);
    size_t i = 0;
    bool negative = false;
    if (i < length && text[i] == '-') {
        negative = true;
        i++;
    }
    size_t digits_start = i;
    uint64_t units = 0;
    /* Accumulate as a non-negative magnitude in cents; the bound below is
     * INT64_MAX for positives and INT64_MAX + 1 for negatives. */
    const uint64_t magnitude_max = (uint64_t)INT64_MAX + (negative ? 1u : 0u);
    for (; i < length && is_digit(text[i]); i++) {
        if (units > (magnitude_max / 100 - (uint64_t)(text[i] - '0')) / 10) return TROC_EOVERFLOW;
        units = units * 10 + (uint64_t)(text[i] - '0');
    }
    if (i == digits_start) return TROC_EAMOUNT;
    uint64_t fraction = 0;
    if (i < length && text[i] == '.') {
        i++;
        size_t fraction_start = i;
        for (; i < length && is_digit(text[i]) && i - fraction_start < 2; i++) {
            fraction = fraction * 10 + (uint64_t)(text[i] - '0');
        }
        size_t fraction_digits = i - fraction_start;
        if (fraction_digits == 0) return TROC_EAMOUNT;
        if (fraction_digits == 1) fraction *= 10;
    }
    if (i != length) return TROC_EAMOUNT;
    if (units > (magnitude_max - fraction) / 100) return TROC_EOVERFLOW;
    uint64_t magnitude = units * 100 + fraction;
    if (negative) {
        *cents_out = magnitude == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)magnitude;
    } else {
        *cents_out = (int64_t)magnitude;
    }
    return 0;
}

char *troc_amount_format(int64_t cents, char buffer[TROC_AMOUNT_TEXT_SIZE]) {
    troc_amount_write(cents, buffer);
    return buffer;
}

/* "00" to "99": writing two digits per division halves the divisions. */
static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/* RESULT writes two amounts per row, millions of them: the length is
 * counted first, and the digits written in place from the end, two at a
 * time. */
size_t troc_amount_write(int64_t cents, char buffer[TROC_AMOUNT_TEXT_SIZE]) {
    assert(buffer != NULL);
    const uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    uint64_t units = magnitude / 100;
    const unsigned fraction = (unsigned)(magnitude % 100);
    size_t digits = 1;
    for (uint64_t bound = 10; digits < 20 && units >= bound; bound *= 10) digits++;
    const size_t n = (cents < 0 ? 1u : 0u) + digits + 3;
    assert(n < TROC_AMOUNT_TEXT_SIZE);
    buffer[0] = '-'; /* overwritten by the first digit when positive */
    buffer[n] = '\0';
    buffer[n - 1] = digit_pairs[2 * fraction + 1];
    buffer[n - 2] = digit_pairs[2 * fraction];
    buffer[n - 3] = '.';
    char *end = buffer + n - 3;
    while (units >= 100) {
        const unsigned two = (unsigned)(units % 100);
        units /= 100;
        *--end = digit_pairs[2 * two + 1];
        *--end = digit_pairs[2 * two];
    }
    if (units >= 10) {
        *--end = digit_pairs[2 * units + 1];
        *--end = digit_pairs[2 * units];
    } else {
        *--end = (char)('0' + units);
    }
    return n;
}

int troc_amount_add(int64_t a, int64_t b, int64_t *sum_out) {
    assert(sum_out != NULL);
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum)) return TROC_EOVERFLOW;
    *sum_out = sum;
    return 0;
}

int troc_amount_subtract(int64_t a, int64_t b, int64_t *difference_out) {
    assert(difference_out != NULL);
    int64_t difference;
    if (__builtin_sub_overflow(a, b, &difference)) return TROC_EOVERFLOW;
    *difference_out = difference;
    return 0;
}

double troc_amount_share_percent(int64_t part_cents, int64_t total_cents, unsigned decimals) {
    assert(decimals <= 6);
    /* Figures from a server are not trusted to make sense: a part outside
     * [0, total] counts as the nearer end. */
    if (total_cents <= 0 || part_cents <= 0) return 0.0;
    if (part_cents > total_cents) part_cents = total_cents;
    uint64_t scale = 100;
    for (unsigned i = 0; i < decimals; i++) scale *= 10;
    /* In 128 bits, so that the quotient is exact: part * scale may pass
     * 2^64. */
    __extension__ typedef unsigned __int128 wide;
    const uint64_t units = (uint64_t)((wide)part_cents * scale / (uint64_t)total_cents);
    return (double)units / (double)(scale / 100);
}
