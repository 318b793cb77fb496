/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network commands' session with trocd, through libtroc: connecting
 * with the command line's key and settings, submitting one signed item,
 * and turning every failure into the CLI's exit status and a message that
 * says what to do (text on stderr, and with --json one object on stdout).
 */
#ifndef TROC_CLI_SESSION_H
#define TROC_CLI_SESSION_H

#include <stdint.h>

#include "cli.h"
#include "troc.h"

/* Size of a formatted time ("2024-05-01 12:00:03"). */
#define TROC_CLI_TIME_SIZE 32

/* Reads the key, checks --server-key, connects and authenticates.  Returns
 * 0 with *client_out set, or the exit status after printing why (2 for bad
 * input, a known-territories file that cannot be used included, 3 when the
 * server cannot be reached or talked to). */
int troc__cli_connect(const troc_cli *cli, troc_client **client_out);

/* Reports a failed libtroc call and returns the exit status: 1 when the
 * server refused the request (the connection is still up: a denied read,
 * an unknown member), 2 for a misuse caught before sending, 3 otherwise. */
int troc__cli_failure(const troc_cli *cli, troc_client *client, int rc);

/* Room for an advice of troc__cli_unknown_advice(): the longest names a
 * member (TROC_NAME_LENGTH_MAX bytes) or an invoice id twice, in some 300
 * bytes of text; an advice that outgrows it fails an assertion, never
 * comes out cut short. */
#define TROC__CLI_ADVICE_SIZE 512

/* What a command that takes no --id says when an item's outcome is
 * unknown (each run signs under a new id, which names nothing a reader
 * can look up): a sentence saying how to see what the item did and that
 * running the command again is safe, and for --json the field naming what
 * to look at ("invoice_id", "member") beside the item's id. */
typedef struct troc_cli_unknown {
    char advice[TROC__CLI_ADVICE_SIZE];
    const char *field;
    char value[TROC_NAME_LENGTH_MAX + 1]; /* a member's name or an invoice id in hex */
} troc_cli_unknown;

/* Fills `unknown`: `field` and `value`, then the advice: how to see what
 * the item did, from `check_format` and its arguments ("see whether it was
 * applied with: troc member bob"), then that running the command again is
 * safe, since the ledger refuses the item once applied with `again` (a
 * TROC_RESULT_*), after which troc does `then` (NULL: nothing to add). */
void troc__cli_unknown_advice(troc_cli_unknown *unknown, const char *field, const char *value, int again,
                              const char *then, const char *check_format, ...)
    __attribute__((format(printf, 6, 7)));

/* Submits one signed item, retrying once with the same envelope after a
 * lost connection, and reports a refusal (exit 1).  Returns 0 with the
 * result when the ledger accepted it.  `what` names the item for the
 * messages ("payment").  When the outcome stays unknown, a command that
 * takes --id (`unknown` NULL) is told to run again with the item's id;
 * any other says what `unknown` holds. */
int troc__cli_submit(const troc_cli *cli, troc_client *client, const troc_envelope *envelope, const char *what,
                     const troc_cli_unknown *unknown, troc_submit_result *result);

/* troc__cli_submit() in two steps, for a command that says more about a
 * refusal: troc__cli_send() returns 0 once the ledger answered, accepted
 * or refused (result->code says which), and reports nothing but a failure
 * to get that answer; troc__cli_refused() then reports the refusal as
 * troc__cli_submit() does (exit 1), `more` (when not NULL) adding fields
 * from `context` to its --json object before it is closed, and with
 * `hint` what anyone refused so can do (how much a payer can pay now, what
 * to do with an id used before), unless the command says it itself. */
typedef void troc_cli_refusal_more(troc_json *json, const void *context);

int troc__cli_send(const troc_cli *cli, troc_client *client, const troc_envelope *envelope, const char *what,
                   const troc_cli_unknown *unknown, troc_submit_result *result);
int troc__cli_refused(const troc_cli *cli, troc_client *client, const troc_submit_result *result,
                      troc_cli_refusal_more *more, const void *context, bool hint);

/* After a refusal that names no member (unknown_payee, unknown_member),
 * says which name the territory does not know; nothing for other codes. */
void troc__cli_unknown_name(const troc_submit_result *result, const char *name);

/* When standard output could not be written: names on stderr the item
 * the ledger applied in this run, if any (its id and journal number), so
 * that what the lost output said can still be checked.  main calls it. */
void troc__cli_applied_lost(void);

/* Writes `timestamp_us` as UTC "YYYY-MM-DD HH:MM:SS" (`iso`: ISO 8601 with
 * microseconds and 'Z'); returns `buffer`. */
char *troc__cli_time(int64_t timestamp_us, bool iso, char buffer[TROC_CLI_TIME_SIZE]);

/* Writes the fields every accepted item's JSON carries: result, id,
 * journal_seq, timestamp_us, time. */
void troc__cli_json_result(troc_json *json, const troc_submit_result *result);

#endif /* TROC_CLI_SESSION_H */
