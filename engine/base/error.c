/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text and names for troc's error codes, generated from TROC_ERRNO_MAP so the
 * enum, the text and the name cannot drift apart.  Codes outside troc's range
 * are treated as -errno; LMDB's codes (-30799..-30780) get a generic text here
 * because this module must not depend on LMDB: the engine logs them with
 * mdb_strerror() where it has them.
 */
#include "error.h"

#include <errno.h>
#include <string.h>

#define TROC_LMDB_ERROR_FIRST (-30799)
#define TROC_LMDB_ERROR_LAST (-30700)

const char *troc_strerror(int error) {
    switch (error) {
#define TROC_ERROR_TEXT(name, value, text) \
    case value:                            \
        return text;
        TROC_ERRNO_MAP(TROC_ERROR_TEXT)
#undef TROC_ERROR_TEXT
    default:
        break;
    }
    if (error == 0) return "success";
    if (error >= TROC_LMDB_ERROR_FIRST && error <= TROC_LMDB_ERROR_LAST) return "storage engine error";
    if (error < 0 && error > -4096) return strerror(-error);
    return "unknown error";
}

const char *troc_err_name(int error) {
    switch (error) {
#define TROC_ERROR_NAME(name, value, text) \
    case value:                            \
        return "TROC_E" #name;
        TROC_ERRNO_MAP(TROC_ERROR_NAME)
#undef TROC_ERROR_NAME
    default:
        break;
    }
    if (error == 0) return "OK";
    if (error >= TROC_LMDB_ERROR_FIRST && error <= TROC_LMDB_ERROR_LAST) return "MDB_ERROR";
    if (error < 0 && error > -4096) {
        const char *name = strerrorname_np(-error);
        if (name != NULL) return name;
    }
    return "UNKNOWN";
}
