/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the exact amount parser: any accepted text must
 * format back to a text that parses to the same value, and no input may
 * crash, overflow or read out of bounds (the harness runs under ASan and
 * UBSan).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/amount.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t cents = 0;
    if (troc_amount_parse((const char *)data, size, &cents) != 0) return 0;
    char text[TROC_AMOUNT_TEXT_SIZE];
    troc_amount_format(cents, text);
    int64_t again = 0;
    int rc = troc_amount_parse(text, strlen(text), &again);
    assert(rc == 0 && again == cents);
    (void)rc;
    return 0;
}
