/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for every request handler of the daemon.
 *
 * It runs the real server (engine/server) on a real ledger in a directory
 * of this process (fuzz_ledger.h), listening on a Unix socket, and keeps two
 * libtroc sessions to it: the administrator's and member m0's (fuzz_keys.h;
 * members m0..m3 are admitted at start).  Each input is decoded as a
 * Request; one that does not decode is left to the frame harness.  It is
 * sent as it is (only its request id is set by the client; an odd id in
 * the input picks m0's session, an even one the administrator's) through
 * the same connection, dispatch, verification, group commit and reply code
 * as any request.
 *
 * Signatures are forced valid (troc_verify is wrapped to say yes), so that
 * arbitrary bodies of every kind -- transfers, batches, admin actions,
 * invoice actions -- reach troc_ledger_apply; who signed still decides what
 * an item may do.  Backups are confined to the harness's directory
 * (troc_ledger_backup is wrapped: an absolute destination is replaced by
 * one inside it; a relative one goes through, to be refused).  The
 * daemon's log is silenced (troc_log wrapped).
 *
 * Every input starts from the same ledger: the members admitted, nothing
 * else (fuzz_ledger.h keeps it as a template and copies it back after an
 * input that journaled anything, the sessions closed around the restart);
 * a finding then reproduces from its one input, and the corpus keeps
 * inputs that reach the clearing engine by themselves (a cycle of invoices
 * and a clearing run in one submit), not through what earlier inputs
 * left.  Only inputs that journal pay for
 * the restart, about 5 ms under the sanitizers (closing and opening the
 * ledger, the server's stop and start, the next session's handshake; the
 * copy itself is a small file); they are about one input in twenty, the
 * rest being reads or refused items, which change nothing.  Measured on one
 * core from the committed corpus: 3,100 inputs a second, against 24,000
 * when the ledger is never restored and 2,000 when the sessions were
 * opened again at every restore instead of when next needed.  Restoring
 * every N inputs instead would be faster, but an input would again depend
 * on the ones before it.
 *
 * After each input it checks, reading the ledger directly:
 *   - the balances of all accounts, read from their records one by one,
 *     sum to zero, as does the ledger's running total, and there is one
 *     account per member;
 *   - a submit was answered with one result per envelope, an item is OK
 *     exactly when it has a journal entry, and the journal grew by exactly
 *     the new entries the answer names (items newly applied and clearing
 *     rounds they ran): every item was either refused or journaled;
 *   - any other request journaled nothing.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "client_int.h"
#include "fuzz_keys.h"
#include "fuzz_ledger.h"
#include "fuzz_workdir.h"
#include "ledger/ledger_int.h"
#include "server/server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
bool __wrap_troc_verify(const uint8_t *public_key, troc_domain domain, const uint8_t *territory_id,
                        const uint8_t *body, size_t body_size, const uint8_t *signature);
int __real_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report);
int __wrap_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report);
void __wrap_troc_log(const char *format, ...);

/* How long a session waits for an answer: a clearing round of everything
 * the fuzzer built may take a while under the sanitizers. */
#define READ_TIMEOUT_MS 60000

static struct {
    fuzz_ledger served;                    /* the ledger, its server and its template (fuzz_ledger.h) */
    char backup_path[192];                 /* where every backup goes */
    troc_key *keys[FUZZ_MEMBERS + 1];      /* [0] the admin's, then m0 .. m3 */
    troc_client *admin;
    troc_client *member;                   /* m0's */
} harness;

/* The ledger's state between two inputs. */
typedef struct state {
    uint64_t journal_entries;
    uint64_t members;
} state;

bool __wrap_troc_verify(const uint8_t *public_key, troc_domain domain, const uint8_t *territory_id,
                        const uint8_t *body, size_t body_size, const uint8_t *signature) {
    (void)public_key, (void)domain, (void)territory_id, (void)body, (void)body_size, (void)signature;
    return true;
}

/* The daemon's log would print a line per connection, backup and round:
 * silent here, so that libFuzzer's own report stands out. */
void __wrap_troc_log(const char *format, ...) {
    (void)format;
}

int __wrap_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report) {
    if (destination[0] != '/') return __real_troc_ledger_backup(ledger, destination, cancel, report);
    fuzz_workdir_remove(harness.backup_path);
    return __real_troc_ledger_backup(ledger, harness.backup_path, cancel, report);
}

/* ------------------------------------------------------------- checks */

/* The records of one database that decode; their balances summed (of
 * balance records). */
static uint64_t records_read(troc_ledger_read *read, troc__db db, int64_t *balance_sum) {
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(read->txn, harness.served.ledger->dbs[db], &cursor);
    assert(rc == 0);
    MDB_val key, value;
    uint64_t records = 0;
    /* Bounded by the number of members. */
    for (rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
        troc__account_record record;
        int decoded = db == TROC__DB_BALANCES ? troc__balance_decode(&value, &record)
                                              : troc__account_decode(&value, &record);
        assert(decoded == 0);
        if (db == TROC__DB_BALANCES) {
            bool overflow = __builtin_add_overflow(*balance_sum, record.balance_cents, balance_sum);
            assert(!overflow);
            (void)overflow;
        }
        records++;
        (void)decoded;
    }
    assert(rc == MDB_NOTFOUND);
    mdb_cursor_close(cursor);
    return records;
}

/* Sums every member's balance record; checks the totals. */
static void state_read(state *out) {
    troc_ledger_read *read = NULL;
    int rc = troc_ledger_read_begin(harness.served.ledger, &read);
    assert(rc == 0);
    troc_stats stats;
    rc = troc_ledger_stats(read, &stats);
    assert(rc == 0 && stats.balance_sum_cents == 0);
    int64_t sum = 0;
    uint64_t balances = records_read(read, TROC__DB_BALANCES, &sum);
    uint64_t accounts = records_read(read, TROC__DB_ACCOUNTS, &sum);
    troc_ledger_read_end(read);
    assert(sum == 0 && "balances sum to zero");
    assert(balances == stats.members && accounts == stats.members && "one balance and one account per member");
    (void)balances, (void)accounts;
    out->journal_entries = stats.journal_entries;
    out->members = stats.members;
    (void)rc;
}

static int seq_compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every item was refused or journaled, and the journal grew by exactly
 * the entries the answer names. */
static void check_submit(const Troc__V1__Submit *submit, const Troc__V1__SubmitReply *reply, const state *before,
                         const state *after) {
    assert(reply->n_results == submit->n_envelopes);
    uint64_t seqs[2 * TROC_SUBMIT_ENVELOPES_MAX];
    size_t count = 0;
    for (size_t i = 0; i < reply->n_results; i++) {
        const Troc__V1__ItemResult *result = reply->results[i];
        bool ok = result->has_code && (int)result->code == TROC_RESULT_OK;
        assert(ok == (result->has_journal_seq && result->journal_seq != 0));
        if (ok) assert(result->journal_seq <= after->journal_entries);
        if (ok && result->journal_seq > before->journal_entries) seqs[count++] = result->journal_seq;
        const Troc__V1__ClearingSummary *round = result->clearing;
        if (round != NULL && round->has_applied && round->applied && round->journal_seq > before->journal_entries) {
            assert(round->journal_seq <= after->journal_entries);
            seqs[count++] = round->journal_seq;
        }
    }
    qsort(seqs, count, sizeof seqs[0], seq_compare);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++) distinct += i == 0 || seqs[i] != seqs[i - 1];
    assert(after->journal_entries - before->journal_entries == distinct && "refused or journaled");
    (void)distinct;
}

/* -------------------------------------------------------------- setup */

/* A client with `key`, not connected yet: sessions are opened when an
 * input needs them (see session_for), so that a restore pays only for the
 * handshakes the next inputs use. */
static troc_client *session_create(const troc_key *key) {
    troc_client *client = NULL;
    if (troc_client_create(&client) != 0) abort();
    troc_client_set_key(client, key);
    troc_client_set_timeouts(client, 0, READ_TIMEOUT_MS);
    return client;
}

/* Connects `client` if it is not; false when the server refuses it (a key
 * revoked by the input before). */
static bool session_connect(troc_client *client) {
    if (troc_client_connected(client)) return true;
    troc_client_set_server_key(client, troc_ledger_territory_keypair(harness.served.ledger)->public_key);
    return troc_client_connect(client, harness.served.socket_path) == 0;
}

/* Closes the sessions: the server is about to stop, and they are opened
 * again when next needed (session_for). */
static void sessions_close(void) {
    troc_client_close(harness.admin);
    troc_client_close(harness.member);
}

static void harness_stop(void) {
    sessions_close();
    fuzz_ledger_close(&harness.served, "fuzz_requests");
    troc_client_free(harness.admin);
    troc_client_free(harness.member);
}

/* Creates the ledger, admits the members and keeps it as the template. */
static void template_make(void) {
    for (int i = 0; i <= FUZZ_MEMBERS; i++) harness.keys[i] = fuzz_key(i - 1);
    uint8_t admin_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(harness.keys[0], admin_key);
    fuzz_ledger_create(&harness.served, "troc-fuzz-requests", admin_key);
    snprintf(harness.backup_path, sizeof harness.backup_path, "%s/backup", harness.served.directory);
    harness.admin = session_create(harness.keys[0]);
    harness.member = session_create(harness.keys[1]);
    fuzz_ledger_start(&harness.served);
    if (!session_connect(harness.admin) || fuzz_members_admit(harness.admin, &harness.keys[1]) != 0) abort();
    state template;
    state_read(&template);
    sessions_close();
    fuzz_ledger_template_keep(&harness.served);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (troc_init() != 0 || troc_crypto_init() != 0) abort();
    template_make();
    atexit(harness_stop);
    return 0;
}

/* The session an input goes to, connected if it is not (after a restore,
 * or when the server closed it): m0's, unless its key no longer opens a
 * session (revoked earlier in the same input), then the administrator's. */
static troc_client *session_for(const Troc__V1__Request *request) {
    bool member = request->has_request_id && (request->request_id & 1u) != 0;
    if (member && session_connect(harness.member)) return harness.member;
    if (!session_connect(harness.admin)) abort();
    return harness.admin;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Troc__V1__Request *request = troc__v1__request__unpack(NULL, size, data);
    if (request == NULL) return 0;
    troc_client *client = session_for(request);
    state before, after;
    state_read(&before);
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, request, &response);
    state_read(&after);
    bool submitted = request->kind_case == TROC__V1__REQUEST__KIND_SUBMIT;
    if (rc == 0 && submitted) {
        assert(response->kind_case == TROC__V1__RESPONSE__KIND_SUBMIT);
        check_submit(request->submit, response->submit, &before, &after);
    } else if (troc_client_connected(client) || !submitted) {
        assert(after.journal_entries == before.journal_entries && "only a submit journals");
    }
    troc__v1__request__free_unpacked(request, NULL);
    if (after.journal_entries != harness.served.template_entries) {
        sessions_close();
        fuzz_ledger_restore(&harness.served);
    }
    return 0;
}
