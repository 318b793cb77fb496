/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's clearing rounds when the obligations change while a round is
 * solved.  Each test initialises a ledger in a fresh temporary directory,
 * runs the server in a thread of its own on a free port, and talks to it
 * through libtroc: three members owe each other around a triangle, then an
 * administrator asks for a round.
 *
 * The snapshot is made stale deterministically: troc_clearing_solve is
 * wrapped at link time (-Wl,--wrap) by a function that, before solving,
 * has alice pay bob (part of the invoice she owes him, or a plain payment)
 * and waits for the payment's commit.  The solver itself runs unchanged
 * underneath.
 *
 * Requests that arrive while a round is written are made to arrive then
 * the same way: the round's apply waits for them (below).  The wrapped
 * solve can also fail, as a solve does when its problem does not validate,
 * to check what the daemon says of the failure.  A member owed more than
 * the solver's figures may hold (2,306 members at the largest credit line
 * pay it) takes part in credit rounds whose payments and balances are
 * checked to the cent.
 *
 * The refusals of rounds asked for while another is in progress (too many
 * waiting; the daemon stopping) need a round held in progress: the wrapped
 * solve can wait until the test releases it, and the server's claims of
 * committed requests are counted (troc__clearing_claim wrapped too), so
 * that the test knows when its round requests wait in the queue.  The server
 * is stopped with troc_server_stop, the path trocd's SIGTERM takes.  A round
 * request whose commit is under way when the daemon stops needs the writer
 * held instead: troc_ledger_write_begin is wrapped the same way.
 *
 * After the server stops, its counters say how many attempts were stale,
 * the loop closes with every handle closed, and troc_ledger_verify replays
 * the journal to the same state.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/result.h"
#include "clearing/clearing.h"
#include "ledger/ledger.h"
#include "server/server.h"
#include "server/server_int.h"
#include "troc.h"

#define CREDIT_LIMIT_CENTS 100000
#define OWED_CENTS 10000

/* ------------------------------------------------ the wrapped solve */

static atomic_int solve_calls;             /* every call of the solver */
static _Atomic int64_t solve_started_us;   /* wall clock when the last one began */
static atomic_int payments_to_inject;      /* solves still to precede with a payment */
static atomic_int payment_failures;        /* payments that did not go through */
static atomic_int last_payment_code;       /* the ledger's answer to the last one */
static troc_client *payer;                 /* the debtor's client, used by one payment thread at a time */
static uint8_t paid_invoice[TROC_ID_SIZE];
static bool pay_invoice;                   /* pay paid_invoice; false: a plain payment */
static int64_t payment_cents;

int __real_troc_clearing_solve(const troc_clearing_problem *problem, troc_clearing_result *result,
                               troc_clearing_progress_fn *progress, void *progress_context);
int __wrap_troc_clearing_solve(const troc_clearing_problem *problem, troc_clearing_result *result,
                               troc_clearing_progress_fn *progress, void *progress_context);

/* Pays `payment_cents` of the invoice, from the pool's thread (so no
 * cmocka assertion here: a failure is counted and checked later). */
static void pay_during_solve(void) {
    troc_envelope *envelope = NULL;
    troc_transfer transfer = {.payee = "bob", .amount_cents = payment_cents,
                              .invoice_id = pay_invoice ? paid_invoice : NULL};
    troc_submit_result result;
    const troc_envelope *list[1];
    int rc = troc_envelope_create(&envelope);
    if (rc == 0) rc = troc_sign_transfer(payer, NULL, &transfer, envelope);
    list[0] = envelope;
    if (rc == 0) rc = troc_client_submit(payer, list, 1, &result, 0);
    if (rc != 0 || result.code != TROC_RESULT_OK) atomic_fetch_add(&payment_failures, 1);
    atomic_store(&last_payment_code, rc != 0 ? rc : result.code);
    troc_envelope_free(envelope);
}

/* A solve on the pool waits for its payment, which the writer commits
 * meanwhile.  A solve on the writer's own thread (a round's last attempt)
 * holds the writer: its payment is sent from a thread of its own, can only
 * land after the round, and is joined later (payment_join). */
static uv_thread_t payment_thread;
static bool payment_thread_running;

static bool on_writer_thread(void) {
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    return strcmp(name, "troc-writer") == 0;
}

static void payment_main(void *argument) {
    (void)argument;
    pay_during_solve();
}

static void pay_while_solving(void) {
    if (!on_writer_thread()) {
        pay_during_solve();
        return;
    }
    if (uv_thread_create(&payment_thread, payment_main, NULL) != 0) {
        atomic_fetch_add(&payment_failures, 1);
        return;
    }
    payment_thread_running = true;
}

static void payment_join(void) {
    if (!payment_thread_running) return;
    assert_int_equal(uv_thread_join(&payment_thread), 0);
    payment_thread_running = false;
}

static atomic_int freezes_to_inject;        /* solves still to precede with freezing bob */
static atomic_int solve_failure;            /* nonzero: every solve fails with it, solving nothing */
static void freeze_during_solve(void);

/* ------------------------------------------ a round kept in progress */

/* The refusals of rounds asked for while one is in progress (the queue
 * full, the daemon stopping) need a round in progress at the moment the
 * test chooses: when the solve's hold is armed, the next solve says it has
 * begun and waits until the test releases it.  A round request whose
 * commit is under way when the daemon stops needs the writer held the
 * same way (the write's hold, at troc_ledger_write_begin).  The server's
 * claims of committed requests are counted too (troc__clearing_claim
 * wrapped), so that the test knows when the rounds it sent wait in the
 * queue.  Every wait is bounded: a test that gives up fails, and its
 * teardown releases the holds, so that no server thread is left waiting. */
#define HOLD_TIMEOUT_S 60                  /* a held solve or write goes on alone after this */
#define WAIT_TIMEOUT_S 30                  /* the test waits for a condition at most this long */

static pthread_mutex_t hold_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;

/* One place the server can be held, under hold_mutex. */
typedef struct hold {
    bool armed;                            /* one-shot: the next pass waits for hold_release() */
    bool released;
    int held;                              /* passes that have begun waiting */
} hold;

static hold solve_hold, write_hold;
static int claims_seen;                    /* committed requests the server has claimed rounds for (or not) */
static bool held_in_vain;                  /* a held solve or write went on without being released */

bool __real_troc__clearing_claim(troc_server *server, troc__request *request);
bool __wrap_troc__clearing_claim(troc_server *server, troc__request *request);

bool __wrap_troc__clearing_claim(troc_server *server, troc__request *request) {
    bool waits = __real_troc__clearing_claim(server, request);
    pthread_mutex_lock(&hold_mutex);
    claims_seen++;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&hold_mutex);
    return waits;
}

static void deadline_in(struct timespec *deadline, int seconds) {
    clock_gettime(CLOCK_REALTIME, deadline);
    deadline->tv_sec += seconds;
}

/* On the server's thread that passes `h`: waits there when the test armed it. */
static void hold_pass(hold *h) {
    struct timespec deadline;
    deadline_in(&deadline, HOLD_TIMEOUT_S);
    pthread_mutex_lock(&hold_mutex);
    if (h->armed) {
        h->armed = false;
        h->held++;
        pthread_cond_broadcast(&hold_cond);
        int rc = 0;
        while (!h->released && rc == 0) rc = pthread_cond_timedwait(&hold_cond, &hold_mutex, &deadline);
        if (!h->released) held_in_vain = true;
    }
    pthread_mutex_unlock(&hold_mutex);
}

static void hold_arm(hold *h) {
    pthread_mutex_lock(&hold_mutex);
    h->armed = true;
    h->released = false;
    pthread_mutex_unlock(&hold_mutex);
}

static void hold_release(hold *h) {
    pthread_mutex_lock(&hold_mutex);
    h->armed = false;
    h->released = true;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&hold_mutex);
}

static int counted(const int *counter) {
    pthread_mutex_lock(&hold_mutex);
    int value = *counter;
    pthread_mutex_unlock(&hold_mutex);
    return value;
}

static bool counted_flag(const bool *flag) {
    pthread_mutex_lock(&hold_mutex);
    bool value = *flag;
    pthread_mutex_unlock(&hold_mutex);
    return value;
}

/* Waits until *counter (a hold's count or claims_seen) reaches `target`;
 * false when WAIT_TIMEOUT_S passed first. */
static bool wait_count(const int *counter, int target) {
    struct timespec deadline;
    deadline_in(&deadline, WAIT_TIMEOUT_S);
    pthread_mutex_lock(&hold_mutex);
    int rc = 0;
    while (*counter < target && rc == 0) rc = pthread_cond_timedwait(&hold_cond, &hold_mutex, &deadline);
    bool reached = *counter >= target;
    pthread_mutex_unlock(&hold_mutex);
    return reached;
}

int __real_troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out);
int __wrap_troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out);

int __wrap_troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out) {
    hold_pass(&write_hold);
    return __real_troc_ledger_write_begin(ledger, timestamp_us, write_out);
}

int __wrap_troc_clearing_solve(const troc_clearing_problem *problem, troc_clearing_result *result,
                               troc_clearing_progress_fn *progress, void *progress_context) {
    atomic_fetch_add(&solve_calls, 1);
    hold_pass(&solve_hold);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    atomic_store(&solve_started_us, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
    if (atomic_load(&payments_to_inject) > 0) {
        atomic_fetch_sub(&payments_to_inject, 1);
        pay_while_solving();
    }
    if (atomic_load(&freezes_to_inject) > 0) {
        atomic_fetch_sub(&freezes_to_inject, 1);
        freeze_during_solve();
    }
    if (atomic_load(&solve_failure) != 0) return atomic_load(&solve_failure);
    return __real_troc_clearing_solve(problem, result, progress, progress_context);
}

/* ------------------------------------- requests while a round is applied */

/* troc_ledger_apply_clearing (on the writer's thread) and the entry point
 * of dry runs (on the loop's thread) are wrapped too: when
 * `requests_during_apply` is set, the apply starts a dry run and a round
 * request from other clients, and waits, before it writes, until the dry
 * run has reached the clearing queue.  (A round request reaches it only
 * after the writer has committed the request, so it arrives during the
 * apply or just after, as it happens.) */
int __real_troc_ledger_apply_clearing(troc_ledger_write *write, const troc_item *item, uint64_t snapshot_seq,
                                      troc_item_result *result);
int __wrap_troc_ledger_apply_clearing(troc_ledger_write *write, const troc_item *item, uint64_t snapshot_seq,
                                      troc_item_result *result);
void __real_troc__clearing_query(troc__conn *conn, troc__request *request, const Troc__V1__ClearingQuery *query);
void __wrap_troc__clearing_query(troc__conn *conn, troc__request *request, const Troc__V1__ClearingQuery *query);

static atomic_bool requests_during_apply;  /* one-shot: the next apply waits for a dry run */
static atomic_int queries_seen;
static atomic_int late_request_failures;   /* the late requests' clients: failures, checked later */
static atomic_bool waited_in_vain;         /* the apply gave up waiting for the dry run */
static uv_thread_t late_threads[2];
static struct {
    const char *address;
    const uint8_t *territory_key;
    const troc_key *admin_key;
    troc_clearing_report preview, round;
    bool round_ran;
} late;

void __wrap_troc__clearing_query(troc__conn *conn, troc__request *request, const Troc__V1__ClearingQuery *query) {
    __real_troc__clearing_query(conn, request, query);
    atomic_fetch_add(&queries_seen, 1);
}

static troc_client *late_client(void) {
    troc_client *client = NULL;
    if (troc_client_create(&client) != 0) return NULL;
    if (troc_client_set_key(client, late.admin_key) != 0 ||
        troc_client_set_server_key(client, late.territory_key) != 0 ||
        troc_client_connect(client, late.address) != 0) {
        troc_client_free(client);
        return NULL;
    }
    return client;
}

/* Submits an admin action from a client of its own (another thread than
 * the test's); returns whether it was applied, and the round it ran. */
static bool admin_act_elsewhere(const troc_admin_action *action, troc_clearing_report *round_out, bool *ran_out) {
    troc_client *client = late_client();
    troc_envelope *envelope = NULL;
    troc_submit_result result;
    const troc_envelope *list[1];
    int rc = client == NULL ? -1 : troc_envelope_create(&envelope);
    if (rc == 0) rc = troc_sign_admin(client, NULL, action, envelope);
    list[0] = envelope;
    if (rc == 0) rc = troc_client_submit(client, list, 1, &result, 0);
    const bool applied = rc == 0 && result.code == TROC_RESULT_OK;
    if (ran_out != NULL) *ran_out = applied && result.clearing != NULL;
    if (ran_out != NULL && *ran_out) *round_out = *result.clearing;
    troc_envelope_free(envelope);
    troc_client_free(client);
    return applied;
}

/* Freezes bob (from the pool's thread). */
static void freeze_during_solve(void) {
    troc_admin_action action = {.kind = TROC_ADMIN_FREEZE, .member = "bob", .reason = "audit"};
    if (!admin_act_elsewhere(&action, NULL, NULL)) atomic_fetch_add(&payment_failures, 1);
}

static void late_preview(void *unused) {
    (void)unused;
    troc_client *client = late_client();
    size_t count = 0;
    if (client == NULL || troc_client_clearing_preview(client, false, &late.preview, NULL, 0, 0, &count) != 0) {
        atomic_fetch_add(&late_request_failures, 1);
    }
    troc_client_free(client);
}

static void late_round(void *unused) {
    (void)unused;
    troc_admin_action action = {.kind = TROC_ADMIN_CLEARING_RUN};
    if (!admin_act_elsewhere(&action, &late.round, &late.round_ran)) atomic_fetch_add(&late_request_failures, 1);
}

int __wrap_troc_ledger_apply_clearing(troc_ledger_write *write, const troc_item *item, uint64_t snapshot_seq,
                                      troc_item_result *result) {
    if (atomic_exchange(&requests_during_apply, false)) {
        const int queries = atomic_load(&queries_seen);
        if (uv_thread_create(&late_threads[0], late_preview, NULL) != 0 ||
            uv_thread_create(&late_threads[1], late_round, NULL) != 0) {
            abort();
        }
        /* A bounded wait (the request travels over loopback): giving up
         * makes the test fail, not pass. */
        for (int i = 0; i < 20000 && atomic_load(&queries_seen) == queries; i++) usleep(1000);
        atomic_store(&waited_in_vain, atomic_load(&queries_seen) == queries);
    }
    return __real_troc_ledger_apply_clearing(write, item, snapshot_seq, result);
}

/* ------------------------------------------------------------ fixture */

typedef struct fixture {
    char directory[64];
    char ledger_directory[128];
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    troc_key *admin_key, *alice_key, *bob_key, *carol_key;
    troc_ledger *ledger;
    uv_loop_t loop;
    troc_server *server;
    uv_thread_t thread;
    bool running;
    int run_rc;
    char address[64];
    troc_server_stats stats;               /* read when stopped */
    bool stop_sent;                        /* troc_server_stop already called */
    troc_client *admin, *alice, *bob, *carol;
    troc_client *pipelined;                /* an administrator's, for requests sent without waiting */
    uint8_t invoices[3][TROC_ID_SIZE];     /* alice owes bob, bob owes carol, carol owes alice */
} fixture;

static void server_thread(void *argument) {
    fixture *f = argument;
    f->run_rc = troc_server_run(f->server);
}

static troc_client *connect_as(fixture *f, const troc_key *key) {
    troc_client *client = NULL;
    assert_int_equal(troc_client_create(&client), 0);
    assert_int_equal(troc_client_set_key(client, key), 0);
    assert_int_equal(troc_client_set_server_key(client, f->territory_key), 0);
    int rc = troc_client_connect(client, f->address);
    if (rc != 0) print_error("connect: %s\n", troc_client_error_message(client));
    assert_int_equal(rc, 0);
    return client;
}

/* Signs nothing itself: submits `envelope` and returns its result. */
static troc_submit_result submit(troc_client *client, troc_envelope *envelope) {
    troc_submit_result result;
    const troc_envelope *list[] = {envelope};
    int rc = troc_client_submit(client, list, 1, &result, 0);
    if (rc != 0) print_error("submit: %s\n", troc_client_error_message(client));
    assert_int_equal(rc, 0);
    return result;
}

static void admit(fixture *f, const char *name, const troc_key *key) {
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(key, public_key);
    troc_admin_action add = {.kind = TROC_ADMIN_MEMBER_ADD, .member = name, .public_key = public_key,
                             .has_credit_limit = true, .credit_limit_cents = CREDIT_LIMIT_CENTS};
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    assert_int_equal(troc_sign_admin(f->admin, NULL, &add, envelope), 0);
    assert_int_equal(submit(f->admin, envelope).code, TROC_RESULT_OK);
    troc_envelope_free(envelope);
}

/* `creditor` bills `debtor` OWED_CENTS and the debtor accepts. */
static void obligation_of(troc_client *creditor, troc_client *debtor, const char *debtor_name, int64_t amount_cents,
                          uint8_t id_out[TROC_ID_SIZE]) {
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_invoice_action issue = {.kind = TROC_INVOICE_ISSUE, .debtor = debtor_name, .amount_cents = amount_cents};
    assert_int_equal(troc_sign_invoice(creditor, NULL, &issue, envelope), 0);
    troc_submit_result result = submit(creditor, envelope);
    assert_int_equal(result.code, TROC_RESULT_OK);
    memcpy(id_out, result.id, TROC_ID_SIZE);
    troc_invoice_action accept = {.kind = TROC_INVOICE_ACCEPT, .invoice_id = id_out};
    assert_int_equal(troc_sign_invoice(debtor, NULL, &accept, envelope), 0);
    assert_int_equal(submit(debtor, envelope).code, TROC_RESULT_OK);
    troc_envelope_free(envelope);
}

static void obligation(troc_client *creditor, troc_client *debtor, const char *debtor_name,
                       uint8_t id_out[TROC_ID_SIZE]) {
    obligation_of(creditor, debtor, debtor_name, OWED_CENTS, id_out);
}

/* Runs a server on the fixture's open ledger, on a free port, in a thread
 * of its own, and connects the administrator. */
static void fixture_start(fixture *f) {
    assert_int_equal(uv_loop_init(&f->loop), 0);
    troc_server_options options = {.listen = "127.0.0.1:0"};
    assert_int_equal(troc_server_open(&f->server, &f->loop, f->ledger, &options), 0);
    snprintf(f->address, sizeof f->address, "127.0.0.1:%d", troc_server_tcp_port(f->server));
    assert_int_equal(uv_thread_create(&f->thread, server_thread, f), 0);
    f->running = true;
    f->stop_sent = false;
    late.address = f->address;
    late.territory_key = f->territory_key;
    late.admin_key = f->admin_key;
    f->admin = connect_as(f, f->admin_key);
}

static void members_connect(fixture *f) {
    f->alice = connect_as(f, f->alice_key);
    f->bob = connect_as(f, f->bob_key);
    f->carol = connect_as(f, f->carol_key);
}

static int setup(void **state) {
    static fixture f;
    memset(&f, 0, sizeof f);
    pthread_mutex_lock(&hold_mutex);
    solve_hold = write_hold = (hold){0};
    held_in_vain = false;
    claims_seen = 0;
    pthread_mutex_unlock(&hold_mutex);
    atomic_store(&solve_calls, 0);
    atomic_store(&payments_to_inject, 0);
    atomic_store(&payment_failures, 0);
    atomic_store(&freezes_to_inject, 0);
    atomic_store(&solve_failure, 0);
    atomic_store(&requests_during_apply, false);
    atomic_store(&queries_seen, 0);
    atomic_store(&late_request_failures, 0);
    atomic_store(&waited_in_vain, false);
    strcpy(f.directory, "/tmp/troc-test-rounds-XXXXXX");
    assert_non_null(mkdtemp(f.directory));
    snprintf(f.ledger_directory, sizeof f.ledger_directory, "%s/ledger", f.directory);
    assert_int_equal(troc_key_generate(&f.admin_key), 0);
    assert_int_equal(troc_key_generate(&f.alice_key), 0);
    assert_int_equal(troc_key_generate(&f.bob_key), 0);
    assert_int_equal(troc_key_generate(&f.carol_key), 0);
    static uint8_t admin_keys[1][TROC_PUBLIC_KEY_SIZE];
    troc_key_public(f.admin_key, admin_keys[0]);
    troc_ledger_init_options init = {.territory = "lyon", .unit = "EUR",
                                     .admin_keys = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])admin_keys,
                                     .admin_key_count = 1};
    assert_int_equal(troc_ledger_init(f.ledger_directory, &init, f.territory_key), 0);
    assert_int_equal(troc_ledger_open(&f.ledger, f.ledger_directory), 0);
    fixture_start(&f);
    admit(&f, "alice", f.alice_key);
    admit(&f, "bob", f.bob_key);
    admit(&f, "carol", f.carol_key);
    members_connect(&f);
    obligation(f.bob, f.alice, "alice", f.invoices[0]);
    obligation(f.carol, f.bob, "bob", f.invoices[1]);
    obligation(f.alice, f.carol, "carol", f.invoices[2]);
    payer = f.alice;
    memcpy(paid_invoice, f.invoices[0], TROC_ID_SIZE);
    pay_invoice = true;
    *state = &f;
    return 0;
}

/* Stops the server, reads its counters and checks every handle closed. */
static void fixture_stop(fixture *f) {
    if (!f->running) return;
    troc_client_free(f->admin);
    troc_client_free(f->alice);
    troc_client_free(f->bob);
    troc_client_free(f->carol);
    troc_client_free(f->pipelined);
    f->admin = f->alice = f->bob = f->carol = f->pipelined = NULL;
    /* Once the server has finished, its stop handle is closed. */
    if (!f->stop_sent) troc_server_stop(f->server);
    assert_int_equal(uv_thread_join(&f->thread), 0);
    f->running = false;
    assert_int_equal(f->run_rc, 0);
    troc_server_stats_get(f->server, &f->stats);
    troc_server_close(f->server);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int teardown(void **state) {
    fixture *f = *state;
    hold_release(&solve_hold); /* a test that failed while a round or a write was held */
    hold_release(&write_hold);
    fixture_stop(f);
    if (f->ledger != NULL) troc_ledger_close(f->ledger);
    troc_key_free(f->admin_key);
    troc_key_free(f->alice_key);
    troc_key_free(f->bob_key);
    troc_key_free(f->carol_key);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", f->directory);
    assert_int_equal(system(command), 0);
    return 0;
}

/* ------------------------------------------------------------ checks */

/* Asks for a round and returns the action's result. */
static troc_submit_result clear_in(fixture *f, bool with_credit, troc_clearing_report *report_out, bool *ran_out) {
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_admin_action action = {.kind = TROC_ADMIN_CLEARING_RUN, .with_credit = with_credit};
    assert_int_equal(troc_sign_admin(f->admin, NULL, &action, envelope), 0);
    troc_submit_result result = submit(f->admin, envelope);
    assert_int_equal(result.code, TROC_RESULT_OK);
    *ran_out = result.clearing != NULL;
    if (result.clearing != NULL) *report_out = *result.clearing;
    troc_envelope_free(envelope);
    return result;
}

static troc_submit_result clear(fixture *f, troc_clearing_report *report_out, bool *ran_out) {
    return clear_in(f, false, report_out, ran_out);
}

static int64_t remaining(fixture *f, int invoice) {
    troc_invoice_record record;
    assert_int_equal(troc_client_invoice(f->admin, f->invoices[invoice], &record), 0);
    return record.remaining_cents;
}

static int64_t balance(fixture *f, const char *member) {
    troc_balance b;
    assert_int_equal(troc_client_balance(f->admin, member, &b), 0);
    return b.balance_cents;
}

/* The ledger's open obligations hold no more cycle: a solve of a fresh
 * snapshot clears nothing, so the round left nothing it could set off. */
static void nothing_left_to_clear(fixture *f) {
    troc_ledger_read *read = NULL;
    troc_clearing_snapshot snapshot;
    assert_int_equal(troc_ledger_read_begin(f->ledger, &read), 0);
    assert_int_equal(troc_ledger_clearing_snapshot(read, &snapshot), 0);
    troc_ledger_read_end(read);
    troc_obligation *obligations = calloc(snapshot.obligation_count + 1, sizeof *obligations);
    assert_non_null(obligations);
    for (size_t i = 0; i < snapshot.obligation_count; i++) {
        obligations[i] = (troc_obligation){snapshot.obligations[i].debtor, snapshot.obligations[i].creditor,
                                           snapshot.obligations[i].remaining_cents};
    }
    troc_clearing_problem problem = {
        .firm_count = snapshot.firm_count, .obligation_count = snapshot.obligation_count, .obligations = obligations};
    troc_clearing_result result = {0};
    assert_int_equal(__real_troc_clearing_solve(&problem, &result, NULL, NULL), 0);
    assert_int_equal(result.cleared_total_cents, 0);
    troc_clearing_result_free(&result);
    free(obligations);
    troc_clearing_snapshot_free(&snapshot);
}

/* Stops the daemon and replays its journal. */
static void verify(fixture *f) {
    fixture_stop(f);
    troc_ledger_close(f->ledger);
    f->ledger = NULL;
    char scratch[128];
    snprintf(scratch, sizeof scratch, "%s/scratch", f->directory);
    assert_int_equal(mkdir(scratch, 0700), 0);
    troc_verify_report report;
    int rc = troc_ledger_verify(f->ledger_directory, scratch, 0, &report, NULL, NULL);
    if (rc != 0) print_error("verify: %s\n", report.difference);
    assert_int_equal(rc, 0);
}

/* A round request's answer, copied out of the client (whose results last
 * only until its next call). */
typedef struct round_answer {
    uint64_t request_id;
    uint8_t id[TROC_ID_SIZE];
    uint64_t journal_seq;                  /* of the admin action */
    bool ran;                              /* a report came; false: refused, see detail */
    troc_clearing_report report;
    char detail[256];
} round_answer;

static round_answer round_answer_of(uint64_t request_id, const troc_submit_result *result) {
    assert_int_equal(result->code, TROC_RESULT_OK); /* the action itself is journaled, even when refused */
    round_answer answer = {.request_id = request_id, .journal_seq = result->journal_seq,
                           .ran = result->clearing != NULL};
    memcpy(answer.id, result->id, TROC_ID_SIZE);
    if (answer.ran) answer.report = *result->clearing;
    snprintf(answer.detail, sizeof answer.detail, "%s", result->detail != NULL ? result->detail : "");
    return answer;
}

/* A round asked for by action `id` (distinct ids: distinct requests),
 * signed once so that it can be sent again unchanged. */
static troc_envelope *round_request(fixture *f, uint8_t id[TROC_ID_SIZE], int number) {
    memset(id, 0xc1, TROC_ID_SIZE);
    id[0] = (uint8_t)number;
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_admin_action action = {.kind = TROC_ADMIN_CLEARING_RUN, .id = id};
    assert_int_equal(troc_sign_admin(f->admin, NULL, &action, envelope), 0);
    return envelope;
}

/* Connects the client for pipelined requests.  Its read timeout bounds
 * each wait for an answer: an answer that does not come fails the test
 * well within meson's timeout. */
static void pipelined_connect(fixture *f) {
    f->pipelined = connect_as(f, f->admin_key);
    assert_int_equal(troc_client_set_timeouts(f->pipelined, 0, WAIT_TIMEOUT_S * 1000), 0);
}

static uint64_t round_send(fixture *f, const troc_envelope *envelope) {
    uint64_t request_id = 0;
    const troc_envelope *list[] = {envelope};
    assert_int_equal(troc_client_send(f->pipelined, list, 1, &request_id), 0);
    assert_int_equal(troc_client_flush(f->pipelined), 0);
    return request_id;
}

static round_answer round_receive(fixture *f) {
    troc_reply reply;
    int rc = troc_client_receive(f->pipelined, &reply);
    if (rc != 0) print_error("receive: %s\n", troc_client_error_message(f->pipelined));
    assert_int_equal(rc, 0);
    assert_int_equal(reply.error, 0);
    assert_int_equal(reply.result_count, 1);
    return round_answer_of(reply.request_id, &reply.results[0]);
}

/* Sends `envelope` again and waits for its answer. */
static round_answer round_resubmit(fixture *f, troc_envelope *envelope) {
    troc_submit_result result = submit(f->admin, envelope);
    return round_answer_of(0, &result);
}

/* Three new obligations around the triangle, for a round to set off. */
static void triangle_again(fixture *f) {
    uint8_t ids[3][TROC_ID_SIZE];
    obligation(f->bob, f->alice, "alice", ids[0]);
    obligation(f->carol, f->bob, "bob", ids[1]);
    obligation(f->alice, f->carol, "carol", ids[2]);
}

/* A refused request sent again (after a triangle to clear) runs one round
 * for its id, and sent once more is answered with that same round. */
static void refused_runs_once(fixture *f, troc_envelope *envelope, const uint8_t id[TROC_ID_SIZE], uint64_t run) {
    triangle_again(f);
    round_answer retried = round_resubmit(f, envelope);
    assert_true(retried.ran && retried.report.applied);
    assert_int_equal(retried.report.run, run);
    assert_int_equal(retried.report.cleared_cents, 3 * OWED_CENTS);
    assert_true(retried.report.has_requested_by);
    assert_memory_equal(retried.report.requested_by, id, TROC_ID_SIZE);
    round_answer again = round_resubmit(f, envelope);
    assert_true(again.ran && again.report.applied);
    assert_int_equal(again.report.run, run);
    assert_int_equal(again.report.journal_seq, retried.report.journal_seq);
    assert_int_equal(again.journal_seq, retried.journal_seq); /* the original action, stored */
}

/* ------------------------------------------------------------- tests */

/* Alice pays 30.00 of what she owes Bob while the round is solved: the
 * round built on the snapshot (100.00 around the triangle) is refused as
 * stale, and the round solved again from a new snapshot sets off 70.00
 * around it, the optimum of the state it is applied to. */
static void test_stale_round_is_solved_again(void **state) {
    fixture *f = *state;
    payment_cents = 3000;
    atomic_store(&payments_to_inject, 1);
    troc_clearing_report report;
    bool ran = false;
    clear(f, &report, &ran);
    assert_true(ran);
    assert_int_equal(atomic_load(&payment_failures), 0);
    assert_int_equal(atomic_load(&solve_calls), 2);
    assert_true(report.applied);
    assert_int_equal(report.run, 1);
    assert_int_equal(report.obligations, 3);
    assert_int_equal(report.total_cents, 3 * OWED_CENTS - 3000);
    assert_int_equal(report.cleared_cents, 3 * 7000);
    assert_int_equal(report.paid_cents, 0);
    assert_int_equal(remaining(f, 0), 0);
    assert_int_equal(remaining(f, 1), 3000);
    assert_int_equal(remaining(f, 2), 3000);
    /* Only the payment moved credit: set-off moves none. */
    assert_int_equal(balance(f, "alice"), -3000);
    assert_int_equal(balance(f, "bob"), 3000);
    assert_int_equal(balance(f, "carol"), 0);
    nothing_left_to_clear(f);
    verify(f);
    assert_int_equal(f->stats.clearing_stale, 1);
    assert_int_equal(f->stats.clearing_rounds, 1);
    assert_int_equal(f->stats.clearing_failed, 0);
}

/* A payment is sent during every attempt: those solved off the writer go
 * stale, and the last attempt snapshots, solves and applies on the writer,
 * where its payment waits for it, so the round is applied instead of given
 * up.  That payment lands after the round, which has set off all that
 * remained of the invoice: it is refused, the invoice being settled. */
static void test_last_attempt_on_writer_when_always_stale(void **state) {
    fixture *f = *state;
    payment_cents = 1;
    const int stale = TROC_CLEARING_ATTEMPTS_MAX - 1;
    atomic_store(&payments_to_inject, TROC_CLEARING_ATTEMPTS_MAX);
    troc_clearing_report report;
    bool ran = false;
    clear(f, &report, &ran);
    payment_join();
    assert_true(ran && report.applied);
    assert_int_equal(atomic_load(&payment_failures), 1);
    assert_int_equal(atomic_load(&last_payment_code), TROC_RESULT_INVOICE_NOT_OPEN); /* settled by the round */
    assert_int_equal(atomic_load(&solve_calls), TROC_CLEARING_ATTEMPTS_MAX);
    assert_true(report.timestamp_us >= atomic_load(&solve_started_us)); /* stamped when it commits */
    assert_int_equal(report.cleared_cents, 3 * (OWED_CENTS - stale));
    nothing_left_to_clear(f);
    verify(f);
    assert_int_equal(f->stats.clearing_stale, stale);
    assert_int_equal(f->stats.clearing_failed, 0);
    assert_int_equal(f->stats.clearing_rounds, 1);
}

/* A plain payment between two of the round's members during the solve:
 * a plain round settles only obligations, which did not change, and
 * applies at once; a credit round depends on the members' balances, so it
 * is solved again. */
static void test_moved_account_makes_only_credit_rounds_stale(void **state) {
    fixture *f = *state;
    pay_invoice = false;
    payment_cents = 500;
    atomic_store(&payments_to_inject, 1);
    troc_clearing_report report;
    bool ran = false;
    clear(f, &report, &ran);
    assert_true(ran && report.applied);
    assert_int_equal(atomic_load(&solve_calls), 1);
    assert_int_equal(report.cleared_cents, 3 * OWED_CENTS);
    uint8_t extra[TROC_ID_SIZE];
    obligation(f->bob, f->alice, "alice", extra);   /* alice owes bob again: credit mode can pay it */
    atomic_store(&payments_to_inject, 1);
    clear_in(f, true, &report, &ran);
    assert_int_equal(atomic_load(&payment_failures), 0);
    assert_true(ran && report.applied && report.with_credit);
    assert_int_equal(atomic_load(&solve_calls), 3);
    assert_int_equal(report.run, 2);
    assert_int_equal(report.paid_cents, OWED_CENTS);
    /* Alice paid 5.00 twice, then 100.00 in credit: within her line. */
    assert_int_equal(balance(f, "alice"), -(2 * 500 + OWED_CENTS));
    assert_true(balance(f, "alice") >= -CREDIT_LIMIT_CENTS);
    verify(f);
    assert_int_equal(f->stats.clearing_stale, 1);
    assert_int_equal(f->stats.clearing_rounds, 2);
}

/* A credit round that only sets off (the triangle) touches no balance: a
 * payment between two of its members during the solve leaves it valid, and
 * it applies at once.  A freeze of one of them makes it stale. */
static void test_credit_round_stale_only_for_what_it_touches(void **state) {
    fixture *f = *state;
    pay_invoice = false;
    payment_cents = 500;
    atomic_store(&payments_to_inject, 1);
    troc_clearing_report report;
    bool ran = false;
    clear_in(f, true, &report, &ran);
    assert_int_equal(atomic_load(&payment_failures), 0);
    assert_true(ran && report.applied && report.with_credit);
    assert_int_equal(atomic_load(&solve_calls), 1);
    assert_int_equal(report.cleared_cents, 3 * OWED_CENTS);
    assert_int_equal(report.paid_cents, 0);
    assert_int_equal(balance(f, "alice"), -500);
    /* A new triangle, and bob frozen during the solve: stale, and solved
     * again without his obligations (a credit round leaves them out): what
     * is left, carol owing alice, is paid. */
    uint8_t again[3][TROC_ID_SIZE];
    obligation(f->bob, f->alice, "alice", again[0]);
    obligation(f->carol, f->bob, "bob", again[1]);
    obligation(f->alice, f->carol, "carol", again[2]);
    atomic_store(&freezes_to_inject, 1);
    clear_in(f, true, &report, &ran);
    assert_int_equal(atomic_load(&payment_failures), 0);
    assert_int_equal(atomic_load(&solve_calls), 3);
    assert_true(ran && report.applied);
    assert_int_equal(report.cleared_cents, 0);
    assert_int_equal(report.paid_cents, OWED_CENTS);
    assert_int_equal(remaining(f, 0), 0); /* the first triangle, set off */
    assert_int_equal(balance(f, "bob"), 500);
    verify(f);
    assert_int_equal(f->stats.clearing_stale, 1);
    assert_int_equal(f->stats.clearing_rounds, 2);
}

/* A dry run and a round asked for while a round is being written wait
 * their turn: the dry run then sees what the applied round left (nothing
 * to clear), the round request is answered (by that round or by one that
 * finds nothing), and the daemon goes on serving. */
static void test_requests_while_a_round_is_applied(void **state) {
    fixture *f = *state;
    atomic_store(&requests_during_apply, true);
    troc_clearing_report report;
    bool ran = false;
    clear(f, &report, &ran);
    assert_int_equal(uv_thread_join(&late_threads[0]), 0);
    assert_int_equal(uv_thread_join(&late_threads[1]), 0);
    assert_false(atomic_load(&waited_in_vain));
    assert_int_equal(atomic_load(&late_request_failures), 0);
    assert_true(ran && report.applied);
    assert_int_equal(report.cleared_cents, 3 * OWED_CENTS);
    assert_false(late.preview.applied);
    assert_int_equal(late.preview.obligations, 0);
    assert_true(late.round_ran);
    assert_true(late.round.run == 1 || !late.round.applied);
    assert_int_equal(remaining(f, 0), 0);
    verify(f);
    assert_int_equal(f->stats.clearing_rounds, 1);
    assert_int_equal(f->stats.clearing_previews, 1);
    assert_int_equal(f->stats.clearing_failed, 0);
}

/* With a round in progress, TROC_CLEARING_JOBS_WAITING_MAX more wait
 * behind it and the next is answered at once, not run, while the round is
 * still held (no other answer can come before its release); a dry run is
 * refused too.  Released, the round applies and the waiting ones run in
 * order, each finding nothing left to clear.  The refused action, sent
 * again with the same id, runs one round. */
static void test_round_past_the_waiting_bound_is_refused_at_once(void **state) {
    fixture *f = *state;
    enum { WAITING = TROC_CLEARING_JOBS_WAITING_MAX, SENT = 1 + WAITING + 1 };
    uint8_t ids[SENT][TROC_ID_SIZE];
    troc_envelope *envelopes[SENT];
    uint64_t request_ids[SENT];
    for (int i = 0; i < SENT; i++) envelopes[i] = round_request(f, ids[i], i + 1);
    pipelined_connect(f);
    hold_arm(&solve_hold);
    request_ids[0] = round_send(f, envelopes[0]);
    assert_true(wait_count(&solve_hold.held, 1));
    for (int i = 1; i < SENT; i++) request_ids[i] = round_send(f, envelopes[i]);
    round_answer refused = round_receive(f);
    assert_int_equal(refused.request_id, request_ids[SENT - 1]);
    assert_memory_equal(refused.id, ids[SENT - 1], TROC_ID_SIZE);
    assert_false(refused.ran);
    assert_non_null(strstr(refused.detail, "the clearing round was not run: too many rounds are waiting"));
    troc_clearing_report preview;
    size_t count = 0;
    assert_int_equal(troc_client_clearing_preview(f->admin, false, &preview, NULL, 0, 0, &count), TROC_EBUSY);
    assert_non_null(strstr(troc_client_error_message(f->admin), "too many clearing rounds and previews"));
    assert_int_equal(counted(&solve_hold.held), 1);
    hold_release(&solve_hold);
    for (int i = 0; i < SENT - 1; i++) {
        round_answer answer = round_receive(f);
        assert_int_equal(answer.request_id, request_ids[i]);
        assert_true(answer.ran);
        assert_true(answer.report.has_requested_by);
        assert_memory_equal(answer.report.requested_by, ids[i], TROC_ID_SIZE);
        assert_int_equal(answer.report.applied, i == 0);
        assert_int_equal(answer.report.run, i == 0 ? 1 : 0);
        assert_int_equal(answer.report.cleared_cents, i == 0 ? 3 * OWED_CENTS : 0);
    }
    assert_int_equal(troc_client_in_flight(f->pipelined), 0);
    refused_runs_once(f, envelopes[SENT - 1], ids[SENT - 1], 2);
    for (int i = 0; i < SENT; i++) troc_envelope_free(envelopes[i]);
    assert_false(counted_flag(&held_in_vain));
    assert_int_equal(atomic_load(&solve_calls), 2); /* the held round and the retried one */
    verify(f);
    assert_int_equal(f->stats.clearing_rounds, 2);
    assert_int_equal(f->stats.clearing_empty, WAITING);
    assert_int_equal(f->stats.clearing_failed, 0);
}

/* The daemon stops with a round in progress and rounds waiting: the
 * waiting ones are answered at once, not run, while the round in progress
 * is still held; released, it is applied and answered before the daemon
 * exits.  After a restart, a refused action sent again with the same id
 * runs one round. */
static void test_stop_refuses_waiting_rounds_and_finishes_the_current(void **state) {
    fixture *f = *state;
    enum { WAITING = 3, SENT = 1 + WAITING };
    uint8_t ids[SENT][TROC_ID_SIZE];
    troc_envelope *envelopes[SENT];
    uint64_t request_ids[SENT];
    for (int i = 0; i < SENT; i++) envelopes[i] = round_request(f, ids[i], i + 1);
    pipelined_connect(f);
    const int claims = counted(&claims_seen);
    hold_arm(&solve_hold);
    request_ids[0] = round_send(f, envelopes[0]);
    assert_true(wait_count(&solve_hold.held, 1));
    for (int i = 1; i < SENT; i++) request_ids[i] = round_send(f, envelopes[i]);
    assert_true(wait_count(&claims_seen, claims + SENT)); /* all committed: the others wait */
    troc_server_stop(f->server); /* what SIGTERM does in trocd */
    f->stop_sent = true;
    for (int i = 1; i < SENT; i++) {
        round_answer refused = round_receive(f);
        assert_int_equal(refused.request_id, request_ids[i]);
        assert_memory_equal(refused.id, ids[i], TROC_ID_SIZE);
        assert_false(refused.ran);
        assert_non_null(strstr(refused.detail, "the clearing round was not run: the daemon is stopping"));
    }
    assert_int_equal(counted(&solve_hold.held), 1);
    hold_release(&solve_hold);
    round_answer current = round_receive(f);
    assert_int_equal(current.request_id, request_ids[0]);
    assert_true(current.ran && current.report.applied);
    assert_int_equal(current.report.run, 1);
    assert_int_equal(current.report.cleared_cents, 3 * OWED_CENTS);
    assert_memory_equal(current.report.requested_by, ids[0], TROC_ID_SIZE);
    fixture_stop(f);
    assert_int_equal(f->stats.clearing_rounds, 1);
    assert_int_equal(f->stats.clearing_empty, 0);
    assert_int_equal(f->stats.clearing_failed, 0);
    fixture_start(f);
    members_connect(f);
    assert_int_equal(remaining(f, 0), 0); /* the round in progress was committed before the stop */
    refused_runs_once(f, envelopes[1], ids[1], 2);
    for (int i = 0; i < SENT; i++) troc_envelope_free(envelopes[i]);
    assert_false(counted_flag(&held_in_vain));
    assert_int_equal(atomic_load(&solve_calls), 2);
    verify(f);
    assert_int_equal(f->stats.clearing_rounds, 1);
    assert_int_equal(f->stats.clearing_empty, 0);
}

/* A round request whose commit is under way when the daemon stops: the
 * action is journaled (its id is taken), but its round is not run, and the
 * answer says so.  After a restart, the action sent again with the same id
 * runs one round, over the triangle it would have cleared. */
static void test_round_committed_while_stopping_is_not_run(void **state) {
    fixture *f = *state;
    uint8_t id[TROC_ID_SIZE];
    troc_envelope *envelope = round_request(f, id, 1);
    pipelined_connect(f);
    hold_arm(&write_hold);
    uint64_t request_id = round_send(f, envelope);
    assert_true(wait_count(&write_hold.held, 1)); /* verified, its commit about to begin */
    troc_server_stop(f->server);
    f->stop_sent = true;
    hold_release(&write_hold);
    round_answer refused = round_receive(f);
    assert_int_equal(refused.request_id, request_id);
    assert_memory_equal(refused.id, id, TROC_ID_SIZE);
    assert_true(refused.journal_seq > 0);
    assert_false(refused.ran);
    assert_non_null(strstr(refused.detail, "the clearing round was not run: the daemon is stopping"));
    fixture_stop(f);
    assert_int_equal(f->stats.clearing_rounds, 0);
    assert_int_equal(atomic_load(&solve_calls), 0);
    fixture_start(f);
    members_connect(f);
    assert_int_equal(remaining(f, 0), OWED_CENTS);
    round_answer retried = round_resubmit(f, envelope);
    assert_true(retried.ran && retried.report.applied);
    assert_int_equal(retried.report.run, 1);
    assert_int_equal(retried.report.cleared_cents, 3 * OWED_CENTS);
    assert_memory_equal(retried.report.requested_by, id, TROC_ID_SIZE);
    assert_int_equal(retried.journal_seq, refused.journal_seq); /* the original action, stored */
    round_answer again = round_resubmit(f, envelope);
    assert_true(again.ran && again.report.applied);
    assert_int_equal(again.report.journal_seq, retried.report.journal_seq);
    troc_envelope_free(envelope);
    assert_false(counted_flag(&held_in_vain));
    assert_int_equal(atomic_load(&solve_calls), 1);
    verify(f);
    assert_int_equal(f->stats.clearing_rounds, 1);
}

/* Submits `count` envelopes signed by the administrator's client, in
 * requests of TROC_SUBMIT_ENVELOPES_MAX, and frees them; each must be
 * applied. */
static void submit_all(fixture *f, troc_envelope **envelopes, size_t count) {
    troc_submit_result *results = calloc(TROC_SUBMIT_ENVELOPES_MAX, sizeof *results);
    assert_non_null(results);
    for (size_t first = 0; first < count; first += TROC_SUBMIT_ENVELOPES_MAX) {
        size_t n = count - first < TROC_SUBMIT_ENVELOPES_MAX ? count - first : TROC_SUBMIT_ENVELOPES_MAX;
        int rc = troc_client_submit(f->admin, (const troc_envelope *const *)&envelopes[first], n, results, 0);
        if (rc != 0) print_error("submit: %s\n", troc_client_error_message(f->admin));
        assert_int_equal(rc, 0);
        for (size_t i = 0; i < n; i++) assert_int_equal(results[i].code, TROC_RESULT_OK);
    }
    for (size_t i = 0; i < count; i++) troc_envelope_free(envelopes[i]);
    free(results);
}

/* Members d0000 .. at the largest credit line pay sink all of it, until
 * sink's balance passes the bound of the clearing solver's figures. */
enum { RICH_DEBTORS = TROC_CLEARING_TOTAL_CENTS_MAX / TROC_AMOUNT_CENTS_MAX + 1 };
#define RICH_BALANCE_CENTS ((int64_t)RICH_DEBTORS * TROC_AMOUNT_CENTS_MAX)
_Static_assert(RICH_BALANCE_CENTS > TROC_CLEARING_TOTAL_CENTS_MAX, "sink's balance passes the solver's bound");

static void sink_enrich(fixture *f, const troc_key *sink_key) {
    troc_key **keys = calloc(RICH_DEBTORS, sizeof *keys);
    troc_envelope **envelopes = calloc(RICH_DEBTORS + 1, sizeof *envelopes);
    char(*names)[16] = calloc(RICH_DEBTORS, sizeof *names);
    assert_true(keys != NULL && envelopes != NULL && names != NULL);
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(sink_key, public_key);
    troc_admin_action add = {.kind = TROC_ADMIN_MEMBER_ADD, .member = "sink", .public_key = public_key};
    assert_int_equal(troc_envelope_create(&envelopes[0]), 0);
    assert_int_equal(troc_sign_admin(f->admin, NULL, &add, envelopes[0]), 0);
    for (int i = 0; i < RICH_DEBTORS; i++) {
        snprintf(names[i], sizeof names[i], "d%04d", i);
        assert_int_equal(troc_key_generate(&keys[i]), 0);
        troc_key_public(keys[i], public_key);
        add = (troc_admin_action){.kind = TROC_ADMIN_MEMBER_ADD, .member = names[i], .public_key = public_key,
                                  .has_credit_limit = true, .credit_limit_cents = TROC_AMOUNT_CENTS_MAX};
        assert_int_equal(troc_envelope_create(&envelopes[i + 1]), 0);
        assert_int_equal(troc_sign_admin(f->admin, NULL, &add, envelopes[i + 1]), 0);
    }
    submit_all(f, envelopes, RICH_DEBTORS + 1);
    for (int i = 0; i < RICH_DEBTORS; i++) {
        troc_transfer pay = {.payer = names[i], .payee = "sink", .amount_cents = TROC_AMOUNT_CENTS_MAX};
        assert_int_equal(troc_envelope_create(&envelopes[i]), 0);
        assert_int_equal(troc_sign_transfer(f->admin, keys[i], &pay, envelopes[i]), 0);
        troc_key_free(keys[i]);
    }
    submit_all(f, envelopes, RICH_DEBTORS);
    free(keys);
    free(envelopes);
    free(names);
    assert_int_equal(balance(f, "sink"), RICH_BALANCE_CENTS);
}

static int64_t invoice_remaining(fixture *f, const uint8_t id[TROC_ID_SIZE]) {
    troc_invoice_record record;
    assert_int_equal(troc_client_invoice(f->admin, id, &record), 0);
    return record.remaining_cents;
}

/* A member owed more than the solver's figures may hold (sink, owed
 * RICH_BALANCE_CENTS > TROC_CLEARING_TOTAL_CENTS_MAX) takes part in credit
 * rounds like any other, its account given to the solver with the same
 * room: the dry run and the round pay exactly what they would for any
 * balance that large.  Without a maximum, sink pays alice 300.00 and is
 * paid 200.00 by dan; then above a maximum of 0, it may not rise, so dan
 * pays it only the 100.00 it pays alice. */
static void test_credit_round_with_a_balance_beyond_the_solver_bound(void **state) {
    fixture *f = *state;
    troc_key *sink_key = NULL, *dan_key = NULL;
    assert_int_equal(troc_key_generate(&sink_key), 0);
    assert_int_equal(troc_key_generate(&dan_key), 0);
    sink_enrich(f, sink_key);
    admit(f, "dan", dan_key);
    troc_client *sink = connect_as(f, sink_key), *dan = connect_as(f, dan_key);
    uint8_t sink_owes[TROC_ID_SIZE], dan_owes[TROC_ID_SIZE];
    obligation_of(f->alice, sink, "sink", 3 * OWED_CENTS, sink_owes);
    obligation_of(sink, dan, "dan", 2 * OWED_CENTS, dan_owes);

    troc_clearing_report report;
    size_t count = 0;
    assert_int_equal(troc_client_clearing_preview(f->admin, true, &report, NULL, 0, 0, &count), 0);
    assert_false(report.applied);
    assert_int_equal(report.cleared_cents, 3 * OWED_CENTS); /* the triangle */
    assert_int_equal(report.paid_cents, 5 * OWED_CENTS);
    bool ran = false;
    troc_submit_result result = clear_in(f, true, &report, &ran);
    if (!ran) print_error("round: %s\n", result.detail != NULL ? result.detail : "(no detail)");
    assert_true(ran && report.applied);
    assert_int_equal(report.run, 1);
    assert_int_equal(report.cleared_cents, 3 * OWED_CENTS);
    assert_int_equal(report.paid_cents, 5 * OWED_CENTS);
    assert_int_equal(invoice_remaining(f, sink_owes), 0);
    assert_int_equal(invoice_remaining(f, dan_owes), 0);
    assert_int_equal(balance(f, "sink"), RICH_BALANCE_CENTS - 3 * OWED_CENTS + 2 * OWED_CENTS);
    assert_int_equal(balance(f, "alice"), 3 * OWED_CENTS);
    assert_int_equal(balance(f, "dan"), -2 * OWED_CENTS);
    assert_int_equal(balance(f, "bob"), 0);
    assert_int_equal(balance(f, "carol"), 0);

    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_admin_action cap = {.kind = TROC_ADMIN_LIMIT_SET, .member = "sink", .has_balance_max = true,
                             .balance_max_cents = 0, .reason = "no more credit for sink"};
    assert_int_equal(troc_sign_admin(f->admin, NULL, &cap, envelope), 0);
    assert_int_equal(submit(f->admin, envelope).code, TROC_RESULT_OK);
    troc_envelope_free(envelope);
    obligation_of(sink, dan, "dan", 5 * OWED_CENTS, dan_owes);
    obligation_of(f->alice, sink, "sink", OWED_CENTS, sink_owes);
    result = clear_in(f, true, &report, &ran);
    if (!ran) print_error("round: %s\n", result.detail != NULL ? result.detail : "(no detail)");
    assert_true(ran && report.applied);
    assert_int_equal(report.run, 2);
    assert_int_equal(report.cleared_cents, 0);
    assert_int_equal(report.paid_cents, 2 * OWED_CENTS);
    assert_int_equal(invoice_remaining(f, sink_owes), 0);
    assert_int_equal(invoice_remaining(f, dan_owes), 4 * OWED_CENTS);
    assert_int_equal(balance(f, "sink"), RICH_BALANCE_CENTS - OWED_CENTS);
    assert_int_equal(balance(f, "alice"), 4 * OWED_CENTS);
    assert_int_equal(balance(f, "dan"), -3 * OWED_CENTS);
    troc_client_free(sink);
    troc_client_free(dan);
    troc_key_free(sink_key);
    troc_key_free(dan_key);
    verify(f);
    assert_int_equal(f->stats.clearing_rounds, 2);
    assert_int_equal(f->stats.clearing_failed, 0);
}

/* A solve that fails (as troc_clearing_solve does when its problem does
 * not validate) is reported as failing while solving, not while checking
 * a solution it never gave: for a dry run and for a round, which is not
 * run; the next round is. */
static void test_failed_solve_names_its_stage(void **state) {
    fixture *f = *state;
    atomic_store(&solve_failure, TROC_EOVERFLOW);
    troc_clearing_report report;
    size_t count = 0;
    assert_int_equal(troc_client_clearing_preview(f->admin, true, &report, NULL, 0, 0, &count), TROC_EOVERFLOW);
    assert_string_equal(troc_client_error_message(f->admin), "the preview failed while solving: amount out of range");
    bool ran = true;
    troc_submit_result result = clear_in(f, true, &report, &ran);
    assert_false(ran);
    assert_non_null(result.detail);
    assert_string_equal(result.detail, "the clearing round failed while solving: amount out of range");
    atomic_store(&solve_failure, 0);
    clear_in(f, true, &report, &ran);
    assert_true(ran && report.applied);
    assert_int_equal(report.cleared_cents, 3 * OWED_CENTS);
    verify(f);
    assert_int_equal(f->stats.clearing_failed, 1);
    assert_int_equal(f->stats.clearing_rounds, 1);
}

int main(void) {
    /* A held solve occupies one of libuv's pool threads: the others must
     * verify the requests sent meanwhile, whatever the environment says
     * (libuv reads the variable when the pool starts). */
    setenv("UV_THREADPOOL_SIZE", "4", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_moved_account_makes_only_credit_rounds_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_round_is_solved_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_attempt_on_writer_when_always_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_while_a_round_is_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_round_stale_only_for_what_it_touches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_past_the_waiting_bound_is_refused_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_refuses_waiting_rounds_and_finishes_the_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_committed_while_stopping_is_not_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_solve_names_its_stage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_round_with_a_balance_beyond_the_solver_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
