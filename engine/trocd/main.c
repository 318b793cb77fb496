/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trocd: the territory's ledger daemon.  This file only dispatches to the
 * subcommands (init, run, verify); the work lives in the engine's libraries.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/streams.h"
#include "crypto/crypto.h"
#include "trocd.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommands[] = {
    {"init", troc__trocd_init, "create a territory's ledger in an empty directory"},
    {"run", troc__trocd_run, "serve the ledger until SIGINT, SIGTERM or SIGHUP"},
    {"verify", troc__trocd_verify, "check the journal, its signatures and the state it rebuilds"},
};

static void usage(FILE *out) {
    fputs("usage: trocd COMMAND [OPTIONS]   (trocd COMMAND --help for its options)\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    }
    fputs("\noptions:\n  --version  print trocd's version\n", out);
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return TROCD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TROCD_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("trocd %s\n", TROC_VERSION);
        return TROCD_EXIT_OK;
    }
    if (troc_crypto_init() != 0) {
        fputs("trocd: cannot initialise libsodium\n", stderr);
        return TROCD_EXIT_FAILURE;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "trocd: unknown command '%s'; see 'trocd --help'\n", argv[1]);
    return TROCD_EXIT_USAGE;
}

/* True when the command line runs the daemon, whose output is its log on
 * standard error: the one command that may run without standard output. */
static bool runs_daemon(int argc, char **argv) {
    return argc >= 2 && strcmp(argv[1], "run") == 0 && !troc__trocd_wants_help(argc - 1, argv + 1);
}

int main(int argc, char **argv) {
    /* Before anything is opened: started with its standard streams closed,
     * trocd would log into its ledger's files. */
    unsigned closed = 0;
    if (troc_standard_streams_open(&closed) != 0) return TROCD_EXIT_FAILURE;
    /* init prints the territory's key, verify its verdict: with standard
     * output closed they would be lost and the exit status say all went
     * well.  Refused before anything is created or read. */
    if ((closed & TROC_STREAM_OUTPUT) != 0 && !runs_daemon(argc, argv)) {
        fputs("trocd: standard output is closed: give the command an output (>/dev/null to discard it)\n", stderr);
        return TROCD_EXIT_USAGE;
    }
    int status = run(argc, argv);
    /* A report or a key that could not be printed (a full disk) is not a
     * success; a command that failed already said why. */
    int rc = troc_standard_output_flush();
    if (rc == 0 || status != TROCD_EXIT_OK) return status;
    fprintf(stderr, "trocd: cannot write the output: %s\n", strerror(-rc));
    return TROCD_EXIT_FAILURE;
}
