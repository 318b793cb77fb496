/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trocd's subcommands, each a thin command-line layer over the ledger and
 * the server: argument parsing, messages and exit statuses only.
 */
#ifndef TROC_TROCD_H
#define TROC_TROCD_H

/* Exit statuses of trocd. */
enum {
    TROCD_EXIT_OK = 0,
    TROCD_EXIT_FAILURE = 1,                /* could not do it (or verify found a difference) */
    TROCD_EXIT_USAGE = 2,                  /* bad usage */
};

/* Each takes its own arguments, argv[0] being the subcommand's name. */
int troc__trocd_init(int argc, char **argv);
int troc__trocd_run(int argc, char **argv);
int troc__trocd_verify(int argc, char **argv);

#endif /* TROC_TROCD_H */
