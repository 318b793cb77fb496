/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trocd's subcommands, each a thin command-line layer over the ledger and
 * the server: argument parsing, messages and exit statuses only.
 */
#ifndef TROC_TROCD_H
#define TROC_TROCD_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Exit statuses of trocd. */
enum {
    TROCD_EXIT_OK = 0,
    TROCD_EXIT_FAILURE = 1,                /* could not do it (or verify found a difference) */
    TROCD_EXIT_USAGE = 2,                  /* bad usage */
};

/* True when the subcommand's arguments hold -h or --help. */
static inline bool troc__trocd_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    }
    return false;
}

/* True when troc_ledger_open's `rc` for the ledger in `data` is about the
 * territory's key file. */
bool troc__trocd_key_file_error(const char *data, int rc);

/* What is wrong with DATA/territory.key, which the ledger refused with
 * `rc`, and what to do, into `message` (a phrase without a final period,
 * starting "the territory's key file DATA/territory.key"). */
void troc__trocd_key_file_describe(const char *data, int rc, char *message, size_t size);

/* Each takes its own arguments, argv[0] being the subcommand's name. */
int troc__trocd_init(int argc, char **argv);
int troc__trocd_run(int argc, char **argv);
int troc__trocd_verify(int argc, char **argv);

#endif /* TROC_TROCD_H */
