/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A territory served by a real `trocd` process, for the tests of faults
 * (kill -9, full disks, full maps, stale readers) and backups: a ledger
 * initialised in a temporary directory, members admitted with keys kept in
 * memory, `trocd run` started on a free port and stopped, killed or
 * verified, all driven through libtroc as a client would.  The path of
 * trocd comes from $TROCD.  Every helper asserts (cmocka) what it needs.
 */
#ifndef TROC_TEST_DAEMON_SUPPORT_H
#define TROC_TEST_DAEMON_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "troc.h"

#define DAEMON_MEMBERS_MAX 8

typedef struct daemon_fixture {
    char directory[256];                   /* temporary directory, removed at the end */
    char ledger[384];                      /* DIRECTORY/ledger by default */
    char log[300];                         /* trocd's stderr, appended over restarts */
    char address[64];                      /* 127.0.0.1:PORT while running */
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE]; /* printed by trocd init; clients expect it */
    troc_key *admin_key;
    troc_key *keys[DAEMON_MEMBERS_MAX];
    char names[DAEMON_MEMBERS_MAX][16];    /* m0, m1, ... */
    size_t member_count;
    pid_t pid;                             /* trocd run, 0 when stopped */
} daemon_fixture;

/* Creates the temporary directory under `parent` (NULL: $TMPDIR or /tmp)
 * and keys for an admin and `members` members (m0, m1, ...). */
void daemon_create(daemon_fixture *d, const char *parent, size_t members);

/* `trocd init` of d->ledger (DIRECTORY/ledger unless the test changed it). */
void daemon_init(daemon_fixture *d);

/* Starts `trocd run` on a free port with `extra` options (NULL-terminated,
 * may be NULL) and waits until it listens. */
void daemon_start(daemon_fixture *d, const char *const *extra);

/* SIGTERM; returns the exit status (asserting it exited). */
int daemon_stop(daemon_fixture *d);

/* kill -9, and waits for it. */
void daemon_kill(daemon_fixture *d);

/* Stops anything running and removes the temporary directory. */
void daemon_destroy(daemon_fixture *d);

/* `trocd verify --data DIRECTORY`: its exit status. */
int daemon_verify(const char *directory);

/* A client connected with `key` (NULL: the admin's). */
troc_client *daemon_connect(const daemon_fixture *d, const troc_key *key);

/* Admits every member with `credit_limit_cents`. */
void daemon_admit(const daemon_fixture *d, int64_t credit_limit_cents);

/* How many lines of the log hold `text`. */
int daemon_log_count(const daemon_fixture *d, const char *text);

/* Every transfer id of every member's statement, sorted (for
 * daemon_ids_hold); *count_out of them.  The caller frees the array. */
uint8_t (*daemon_statement_ids(troc_client *admin, const daemon_fixture *d, size_t *count_out))[TROC_ID_SIZE];

/* True when the sorted `ids` hold `id`. */
bool daemon_ids_hold(uint8_t (*ids)[TROC_ID_SIZE], size_t count, const uint8_t id[TROC_ID_SIZE]);

/* Sum of every member's balance, read one by one through `admin`; also
 * asserts the ledger's own running total is zero. */
int64_t daemon_balance_sum(troc_client *admin, const daemon_fixture *d);

/* ------------------------------------------------------------- load */

/* One acknowledged transfer. */
typedef struct daemon_transfer {
    uint8_t id[TROC_ID_SIZE];
    uint8_t payer, payee;                  /* member indexes */
    int64_t amount_cents;
    uint64_t journal_seq;                  /* where the daemon said it was journaled */
} daemon_transfer;

typedef struct daemon_load daemon_load;

/* Starts one thread per member (at most `clients`), each paying the others
 * at random (seeded by `seed`) through pipelined submits, at most
 * `transfers_max` each, until daemon_load_stop() or until its connection
 * fails (the daemon was killed). */
daemon_load *daemon_load_start(const daemon_fixture *d, size_t clients, uint64_t seed, size_t transfers_max);

/* Asks the threads to stop (each collects the replies of what it sent, as
 * long as the daemon answers) and joins them. */
void daemon_load_stop(daemon_load *load);

/* The transfers acknowledged OK, after daemon_load_stop(); valid until
 * daemon_load_free(). */
const daemon_transfer *daemon_load_acknowledged(const daemon_load *load, size_t *count_out);

/* Answers that were not OK (they must not happen with the credit lines the
 * tests give): their number. */
size_t daemon_load_refused(const daemon_load *load);

void daemon_load_free(daemon_load *load);

/* Milliseconds on a monotonic clock. */
uint64_t daemon_now_ms(void);

void daemon_sleep_ms(long ms);

#endif /* TROC_TEST_DAEMON_SUPPORT_H */
