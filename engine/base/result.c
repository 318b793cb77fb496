/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names and texts of ledger result codes, generated from TROC_RESULT_MAP.
 */
#include "result.h"

const char *troc_result_name(int result) {
    switch (result) {
#define TROC_RESULT_NAME(name, value, lower, text) \
    case value:                                    \
        return lower;
        TROC_RESULT_MAP(TROC_RESULT_NAME)
#undef TROC_RESULT_NAME
    default:
        return "unknown";
    }
}

const char *troc_result_text(int result) {
    switch (result) {
#define TROC_RESULT_TEXT(name, value, lower, text) \
    case value:                                    \
        return text;
        TROC_RESULT_MAP(TROC_RESULT_TEXT)
#undef TROC_RESULT_TEXT
    default:
        return "unknown result code";
    }
}
