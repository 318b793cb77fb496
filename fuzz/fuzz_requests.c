/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for every request handler of the daemon.
 *
 * It runs the real server (engine/server) on a real ledger in a temporary
 * directory (on /dev/shm when there is one, so that synced commits cost
 * nothing), listening on a Unix socket, and keeps two libtroc sessions to
 * it: the administrator's and member m0's (fuzz_keys.h; members m0..m3 are
 * admitted at start).  Each input is decoded as a Request; one that does
 * not decode is left to the frame harness.  It is sent as it is (only its
 * request id is set by the client; an odd id in the input picks m0's
 * session, an even one the administrator's) through the same connection,
 * dispatch, verification, group commit and reply code as any request.
 *
 * Signatures are forced valid (troc_verify is wrapped to say yes), so that
 * arbitrary bodies of every kind -- transfers, batches, admin actions,
 * invoice actions -- reach troc_ledger_apply; who signed still decides what
 * an item may do.  Backups are confined to the temporary directory
 * (troc_ledger_backup is wrapped: an absolute destination is replaced by
 * one inside it; a relative one goes through, to be refused).  The
 * daemon's log is silenced (troc_log wrapped).
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
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "client_int.h"
#include "fuzz_keys.h"
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
    char directory[128];                   /* the temporary directory */
    char ledger_directory[160];
    char socket_path[160];
    char backup_path[160];                 /* where every backup goes */
    troc_ledger *ledger;
    uv_loop_t loop;
    troc_server *server;
    uv_thread_t thread;
    troc_key *keys[FUZZ_MEMBERS + 1];      /* [0] the admin's, then m0 .. m3 */
    troc_client *admin;
    troc_client *member;                   /* NULL once m0's key no longer opens a session */
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int __wrap_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report) {
    if (destination[0] != '/') return __real_troc_ledger_backup(ledger, destination, cancel, report);
    nftw(harness.backup_path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return __real_troc_ledger_backup(ledger, harness.backup_path, cancel, report);
}

/* ------------------------------------------------------------- checks */

/* The records of one database that decode; their balances summed (of
 * balance records). */
static uint64_t records_read(troc_ledger_read *read, troc__db db, int64_t *balance_sum) {
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(read->txn, harness.ledger->dbs[db], &cursor);
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
    int rc = troc_ledger_read_begin(harness.ledger, &read);
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

static troc_client *session_open(const troc_key *key) {
    troc_client *client = NULL;
    if (troc_client_create(&client) != 0) abort();
    troc_client_set_key(client, key);
    troc_client_set_server_key(client, troc_ledger_territory_keypair(harness.ledger)->public_key);
    troc_client_set_timeouts(client, 0, READ_TIMEOUT_MS);
    if (troc_client_connect(client, harness.socket_path) != 0) {
        troc_client_free(client);
        return NULL;
    }
    return client;
}

static void admit_members(void) {
    troc_envelope *envelopes[FUZZ_MEMBERS];
    troc_submit_result results[FUZZ_MEMBERS];
    for (int i = 0; i < FUZZ_MEMBERS; i++) {
        uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
        troc_key_public(harness.keys[1 + i], public_key);
        troc_admin_action action = {.kind = TROC_ADMIN_MEMBER_ADD, .member = fuzz_member_names[i],
                                    .public_key = public_key, .has_credit_limit = true,
                                    .credit_limit_cents = FUZZ_CREDIT_LIMIT_CENTS};
        if (troc_envelope_create(&envelopes[i]) != 0 || troc_sign_admin(harness.admin, NULL, &action, envelopes[i]) != 0) {
            abort();
        }
    }
    if (troc_client_submit(harness.admin, (const troc_envelope *const *)envelopes, FUZZ_MEMBERS, results, 0) != 0) {
        abort();
    }
    for (int i = 0; i < FUZZ_MEMBERS; i++) {
        if (results[i].code != TROC_RESULT_OK) abort();
        troc_envelope_free(envelopes[i]);
    }
}

static void server_thread(void *argument) {
    (void)argument;
    troc_server_run(harness.server);
}

static void harness_stop(void) {
    troc_client_free(harness.admin);
    troc_client_free(harness.member);
    troc_server_stop(harness.server);
    uv_thread_join(&harness.thread);
    troc_server_close(harness.server);
    uv_loop_close(&harness.loop);
    troc_ledger_close(harness.ledger);
    nftw(harness.directory, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Creates the territory and its ledger in a fresh directory. */
static void ledger_create(void) {
    struct stat st;
    const char *parent = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(harness.directory, sizeof harness.directory, "%s/troc-fuzz-requests-XXXXXX", parent);
    if (mkdtemp(harness.directory) == NULL) abort();
    snprintf(harness.ledger_directory, sizeof harness.ledger_directory, "%s/ledger", harness.directory);
    snprintf(harness.socket_path, sizeof harness.socket_path, "%s/trocd.sock", harness.directory);
    snprintf(harness.backup_path, sizeof harness.backup_path, "%s/backup", harness.directory);
    for (int i = 0; i <= FUZZ_MEMBERS; i++) harness.keys[i] = fuzz_key(i - 1);
    uint8_t admin_keys[1][TROC_PUBLIC_KEY_SIZE];
    troc_key_public(harness.keys[0], admin_keys[0]);
    troc_ledger_init_options init = {.territory = "fuzz", .unit = "EUR",
                                     .admin_keys = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])admin_keys,
                                     .admin_key_count = 1};
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    if (troc_ledger_init(harness.ledger_directory, &init, territory_key) != 0) abort();
    if (troc_ledger_open(&harness.ledger, harness.ledger_directory) != 0) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (troc_init() != 0 || troc_crypto_init() != 0) abort();
    ledger_create();
    if (uv_loop_init(&harness.loop) != 0) abort();
    troc_server_options options = {.socket_path = harness.socket_path};
    if (troc_server_open(&harness.server, &harness.loop, harness.ledger, &options) != 0) abort();
    if (uv_thread_create(&harness.thread, server_thread, NULL) != 0) abort();
    harness.admin = session_open(harness.keys[0]);
    if (harness.admin == NULL) abort();
    admit_members();
    harness.member = session_open(harness.keys[1]);
    if (harness.member == NULL) abort();
    atexit(harness_stop);
    return 0;
}

/* The session an input goes to, connected again if the server closed it
 * (a revoked key: then m0's inputs go to the administrator's). */
static troc_client *session_for(const Troc__V1__Request *request) {
    if (harness.member != NULL && !troc_client_connected(harness.member)) {
        troc_client_free(harness.member);
        harness.member = session_open(harness.keys[1]);
    }
    if (!troc_client_connected(harness.admin) && troc_client_connect(harness.admin, harness.socket_path) != 0) abort();
    bool member = request->has_request_id && (request->request_id & 1u) != 0;
    return member && harness.member != NULL ? harness.member : harness.admin;
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
    return 0;
}
