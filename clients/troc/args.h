/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Arguments of the network commands: a small option parser and the checks
 * every input gets before anything is sent (names, amounts, text, keys,
 * ids).  Each check prints what was wrong and returns TROC_EXIT_USAGE, so
 * that a command can `if ((status = check(...)) != 0) return status;`.
 */
#ifndef TROC_CLI_ARGS_H
#define TROC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Positional arguments a command takes at most. */
#define TROC_CLI_POSITIONALS_MAX 4

typedef struct troc_cli_option {
    const char *name;    /* "--memo" */
    const char **value;  /* receives the option's value (NULL when absent) */
} troc_cli_option;

typedef struct troc_cli_args {
    const char *positional[TROC_CLI_POSITIONALS_MAX];
    size_t count;        /* positionals given */
} troc_cli_args;

/* Splits argv (argv[0] is the command's last word) into the options of
 * `options` and positionals, of which there must be between `minimum` and
 * `maximum`.  A word starting with '-' (but "-" alone) that is no option
 * is refused as an unknown one; "--" ends the options, so that such a word
 * can follow as a positional.  `usage` is the full usage line. */
int troc__cli_parse(int argc, char **argv, const char *usage, const troc_cli_option *options, size_t option_count,
                    size_t minimum, size_t maximum, troc_cli_args *args);

/* A member name ([a-z0-9._-]{1,64}). */
int troc__cli_check_name(const char *what, const char *name);

/* An amount: exact decimal, at most two fractional digits, within
 * [minimum_cents, TROC_AMOUNT_CENTS_MAX]. */
int troc__cli_check_amount(const char *what, const char *text, int64_t minimum_cents, int64_t *cents_out);

/* Free text (memo, reason): valid UTF-8, no control characters, at most
 * `length_max` bytes, and not empty when `required`. */
int troc__cli_check_text(const char *what, const char *text, size_t length_max, bool required);

/* A public key in 64 hex digits. */
int troc__cli_check_public_key(const char *what, const char *text, uint8_t public_key[32]);

/* A key to register (parsed from `text`): one that can verify a signature,
 * which the ledger would otherwise refuse as malformed. */
int troc__cli_check_key_usable(const char *what, const char *text, const uint8_t public_key[32]);

/* An item id in 32 hex digits. */
int troc__cli_check_id(const char *text, uint8_t id[16]);

/* A count in [1, maximum]. */
int troc__cli_check_count(const char *what, const char *text, uint64_t maximum, uint64_t *count_out);

/* A whole number in [minimum, maximum]. */
int troc__cli_check_number(const char *what, const char *text, uint64_t minimum, uint64_t maximum,
                           uint64_t *number_out);

#endif /* TROC_CLI_ARGS_H */
