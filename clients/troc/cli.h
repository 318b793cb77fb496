/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the `troc` command line: exit codes, global options, the
 * command table entry, and a small JSON writer for --json output.
 *
 * Exit status is the CLI's contract with scripts: 0 done; 1 refused by the
 * ledger (the result code's name on stderr); 2 bad usage or bad input; 3
 * cannot reach or talk to the server.
 */
#ifndef TROC_CLI_H
#define TROC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    TROC_EXIT_OK = 0,
    TROC_EXIT_REFUSED = 1,
    TROC_EXIT_USAGE = 2,
    TROC_EXIT_SERVER = 3,
};

/* Options that every command accepts, wherever they appear on the line. */
typedef struct troc_cli {
    const char *server;     /* HOST:PORT or a Unix socket path; --server, $TROC_SERVER */
    const char *key_path;   /* secret key file; --key, $TROC_KEY */
    const char *server_key; /* expected territory public key (hex); --server-key */
    bool json;              /* --json: one JSON object on stdout */
    const char *admin_command; /* the command's name when it needs an administrator's key ("admin clear"),
                                  else NULL: a member's key is then told so */
} troc_cli;

/* A command receives its own arguments (argv[0] is the last word of the
 * command's name) and returns an exit status. */
typedef int troc_cli_command_fn(const troc_cli *cli, int argc, char **argv);

/* Prints "troc: " and the message on stderr; returns `status` so that a
 * command can `return troc_cli_fail(TROC_EXIT_USAGE, "...")`.  A progress
 * line left on stderr (troc_cli_progress_line()) is cleared first. */
int troc_cli_fail(int status, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* A command showing progress on a terminal says whether its line stands
 * on stderr unended, so that a message printed meanwhile replaces it
 * instead of running on after it. */
void troc_cli_progress_line(bool shown);

/* True when argv holds -h or --help (before a "--"). */
bool troc_cli_wants_help(int argc, char **argv);

/* Streaming JSON writer: one object per command, nesting bounded by
 * TROC_JSON_DEPTH_MAX.  Keys are NULL inside arrays.  Strings are escaped;
 * amounts are written as decimal strings ("-120.50"). */
#define TROC_JSON_DEPTH_MAX 8

typedef struct troc_json {
    FILE *out;
    int depth;                            /* open objects and arrays */
    bool has_member[TROC_JSON_DEPTH_MAX]; /* whether a comma is due at each depth */
} troc_json;

void troc_json_start(troc_json *json, FILE *out);   /* opens the top-level object */
void troc_json_finish(troc_json *json);             /* closes it and ends the line */
void troc_json_object_begin(troc_json *json, const char *key);
void troc_json_object_end(troc_json *json);
void troc_json_array_begin(troc_json *json, const char *key);
void troc_json_array_end(troc_json *json);
void troc_json_string(troc_json *json, const char *key, const char *value);
void troc_json_string_n(troc_json *json, const char *key, const char *value, size_t length);
void troc_json_int(troc_json *json, const char *key, int64_t value);
void troc_json_amount(troc_json *json, const char *key, int64_t cents);
void troc_json_bool(troc_json *json, const char *key, bool value);
void troc_json_null(troc_json *json, const char *key);
void troc_json_double(troc_json *json, const char *key, double value);

#endif /* TROC_CLI_H */
