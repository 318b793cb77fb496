/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the daemon's server, driven over real sockets by the raw client
 * (raw_client.h): each test initialises a ledger in a fresh temporary
 * directory, runs the server on a free port in a thread of its own, admits
 * three members through an admin session and talks to it.  After each test
 * the server is stopped, its counters read, and the loop must close with
 * every handle closed (uv_loop_close == 0).
 *
 * Storage failures are injected at the ledger's boundary with
 * -Wl,--wrap (apply, commit, grow): the real ledger runs underneath.  The
 * writer can also be held at the start of a transaction, which makes
 * backpressure observable without timing: while it is held, exactly
 * TROC_REQUESTS_IN_FLIGHT_MAX requests of one connection get verified.
 * Likewise a backup can be held (troc_ledger_backup wrapped) to see what
 * the server does while a long copy runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/result.h"
#include "ledger/ledger.h"
#include "net/frame.h"
#include "raw_client.h"
#include "server/arena.h"
#include "server/server.h"

#define CREDIT_LIMIT_CENTS 100000

/* ------------------------------------------------- failure injection */

static atomic_int inject_apply_error;      /* returned by apply while inject_apply_count > 0 */
static atomic_int inject_apply_count;
static atomic_int inject_commit_error;     /* returned by every commit while set */
static atomic_int inject_grow_error;       /* returned by grow while set */
static atomic_int grow_calls;
static atomic_int verify_calls;
static atomic_bool writer_held;
static atomic_bool backup_held;            /* a backup waits until released or cancelled */
static atomic_int backup_calls;
static uv_mutex_t hold_mutex;
static uv_cond_t hold_cond;

int __real_troc_ledger_apply(troc_ledger_write *write, const troc_item *item, troc_item_result *result);
int __wrap_troc_ledger_apply(troc_ledger_write *write, const troc_item *item, troc_item_result *result);
int __real_troc_ledger_write_commit(troc_ledger_write *write);
int __wrap_troc_ledger_write_commit(troc_ledger_write *write);
int __real_troc_ledger_grow(troc_ledger *ledger);
int __wrap_troc_ledger_grow(troc_ledger *ledger);
int __real_troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out);
int __wrap_troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out);
int __real_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report);
int __wrap_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report);
int __real_troc_channel_open(troc_channel *channel, const uint8_t *frame, size_t frame_size, uint8_t *plaintext,
                             size_t *plaintext_size);
int __wrap_troc_channel_open(troc_channel *channel, const uint8_t *frame, size_t frame_size, uint8_t *plaintext,
                             size_t *plaintext_size);
bool __real_troc_verify(const uint8_t *public_key, troc_domain domain, const uint8_t *territory_id,
                        const uint8_t *body, size_t body_size, const uint8_t *signature);
bool __wrap_troc_verify(const uint8_t *public_key, troc_domain domain, const uint8_t *territory_id,
                        const uint8_t *body, size_t body_size, const uint8_t *signature);

/* Fails the server's next arena allocation of exactly this many bytes (0:
 * none); the reply to a submit of N items starts with N ItemResults. */
static atomic_size_t fail_allocation_of;
void *__real_troc__arena_alloc(troc__arena *arena, size_t size);
void *__wrap_troc__arena_alloc(troc__arena *arena, size_t size);
void *__wrap_troc__arena_alloc(troc__arena *arena, size_t size) {
    size_t expected = size;
    if (size != 0 && atomic_compare_exchange_strong(&fail_allocation_of, &expected, 0)) return NULL;
    return __real_troc__arena_alloc(arena, size);
}

int __wrap_troc_ledger_apply(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    if (atomic_load(&inject_apply_count) > 0) {
        atomic_fetch_sub(&inject_apply_count, 1);
        return atomic_load(&inject_apply_error);
    }
    return __real_troc_ledger_apply(write, item, result);
}

int __wrap_troc_ledger_write_commit(troc_ledger_write *write) {
    int error = atomic_load(&inject_commit_error);
    if (error != 0) {
        troc_ledger_write_abort(write);
        return error;
    }
    return __real_troc_ledger_write_commit(write);
}

int __wrap_troc_ledger_grow(troc_ledger *ledger) {
    atomic_fetch_add(&grow_calls, 1);
    int error = atomic_load(&inject_grow_error);
    return error != 0 ? error : __real_troc_ledger_grow(ledger);
}

int __wrap_troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out) {
    uv_mutex_lock(&hold_mutex);
    while (atomic_load(&writer_held)) uv_cond_wait(&hold_cond, &hold_mutex);
    uv_mutex_unlock(&hold_mutex);
    return __real_troc_ledger_write_begin(ledger, timestamp_us, write_out);
}

bool __wrap_troc_verify(const uint8_t *public_key, troc_domain domain, const uint8_t *territory_id,
                        const uint8_t *body, size_t body_size, const uint8_t *signature) {
    atomic_fetch_add(&verify_calls, 1);
    return __real_troc_verify(public_key, domain, territory_id, body, body_size, signature);
}

/* The server's loop thread, and a stall the next frame it opens takes: one
 * turn of the loop as long as a loaded host can make it. */
static uv_thread_t loop_thread;
static atomic_int open_stall_ms;

int __wrap_troc_channel_open(troc_channel *channel, const uint8_t *frame, size_t frame_size, uint8_t *plaintext,
                             size_t *plaintext_size) {
    uv_thread_t self = uv_thread_self();
    if (uv_thread_equal(&self, &loop_thread)) {
        int stall_ms = atomic_exchange(&open_stall_ms, 0);
        if (stall_ms > 0) usleep((useconds_t)stall_ms * 1000);
    }
    return __real_troc_channel_open(channel, frame, frame_size, plaintext, plaintext_size);
}

/* While backup_held, a backup blocks (as a long copy would) until it is
 * released, or cancelled by the daemon stopping, which it then reports the
 * way the real copy does. */
int __wrap_troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                              troc_backup_report *report) {
    atomic_fetch_add(&backup_calls, 1);
    /* Bounded by the test: it releases the hold or stops the server. */
    while (atomic_load(&backup_held) && !atomic_load(cancel)) usleep(1000);
    if (atomic_load(cancel)) {
        memset(report, 0, sizeof *report);
        snprintf(report->detail, sizeof report->detail, "the backup was cancelled (the daemon is stopping)");
        return -ECANCELED;
    }
    return __real_troc_ledger_backup(ledger, destination, cancel, report);
}

static void writer_hold(bool hold) {
    uv_mutex_lock(&hold_mutex);
    atomic_store(&writer_held, hold);
    uv_cond_broadcast(&hold_cond);
    uv_mutex_unlock(&hold_mutex);
}

/* ------------------------------------------------------------ fixture */

typedef struct fixture {
    char directory[64];                    /* temporary directory of the test */
    char ledger_directory[128];
    char socket_path[128];
    troc_keypair admin, alice, bob, carol;
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    troc_ledger *ledger;
    uv_loop_t loop;
    troc_server *server;
    uv_thread_t thread;
    bool running;
    int run_rc;
    int port;
    troc_server_stats stats;               /* read when stopped */
    pid_t daemon;                          /* trocd as a process, when the test runs one */
} fixture;

static void server_thread(void *argument) {
    fixture *f = argument;
    loop_thread = uv_thread_self();
    f->run_rc = troc_server_run(f->server);
}

/* The server's counters belong to its loop thread: a test reads them while
 * it runs through an async handle on that loop, which copies them there. */
typedef struct stats_probe {
    uv_async_t async;
    uv_mutex_t mutex;
    uv_cond_t answered_cond;
    bool answered;                         /* the loop did what was asked */
    bool closing;                          /* asked to close the handle, not to copy */
    troc_server *server;
    troc_server_stats stats;               /* the copy */
} stats_probe;

static stats_probe probe;

static void probe_on_async(uv_async_t *async) {
    stats_probe *p = async->data;
    uv_mutex_lock(&p->mutex);
    if (p->closing) uv_close((uv_handle_t *)async, NULL);
    else troc_server_stats_get(p->server, &p->stats);
    p->answered = true;
    uv_cond_signal(&p->answered_cond);
    uv_mutex_unlock(&p->mutex);
}

static void probe_ask(bool closing) {
    uv_mutex_lock(&probe.mutex);
    probe.answered = false;
    probe.closing = closing;
    uv_mutex_unlock(&probe.mutex);
    assert_int_equal(uv_async_send(&probe.async), 0);
    uv_mutex_lock(&probe.mutex);
    while (!probe.answered) uv_cond_wait(&probe.answered_cond, &probe.mutex);
    uv_mutex_unlock(&probe.mutex);
}

/* The running server's counters, read on its loop. */
static troc_server_stats live_stats(void) {
    probe_ask(false);
    return probe.stats;
}

static void fixture_start(fixture *f, troc_server_options *options) {
    assert_int_equal(troc_ledger_open(&f->ledger, f->ledger_directory), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(troc_server_open(&f->server, &f->loop, f->ledger, options), 0);
    f->port = troc_server_tcp_port(f->server);
    assert_int_equal(uv_mutex_init(&probe.mutex), 0);
    assert_int_equal(uv_cond_init(&probe.answered_cond), 0);
    probe.server = f->server;
    probe.async.data = &probe;
    assert_int_equal(uv_async_init(&f->loop, &probe.async, probe_on_async), 0);
    assert_int_equal(uv_thread_create(&f->thread, server_thread, f), 0);
    f->running = true;
}

/* Stops the server, reads its counters and checks every handle closed. */
static void fixture_stop(fixture *f) {
    if (!f->running) return;
    probe_ask(true);
    uv_mutex_destroy(&probe.mutex);
    uv_cond_destroy(&probe.answered_cond);
    troc_server_stop(f->server);
    assert_int_equal(uv_thread_join(&f->thread), 0);
    f->running = false;
    assert_int_equal(f->run_rc, 0);
    troc_server_stats_get(f->server, &f->stats);
    troc_server_close(f->server);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void admit_members(fixture *f) {
    raw_client admin;
    raw_login(&admin, f->port, &f->admin);
    assert_int_equal(admin.role, TROC__V1__ROLE__ROLE_ADMIN);
    signed_item items[3];
    sign_member_add(&items[0], &f->admin, f->territory_key, "alice", f->alice.public_key, CREDIT_LIMIT_CENTS);
    sign_member_add(&items[1], &f->admin, f->territory_key, "bob", f->bob.public_key, CREDIT_LIMIT_CENTS);
    sign_member_add(&items[2], &f->admin, f->territory_key, "carol", f->carol.public_key, CREDIT_LIMIT_CENTS);
    Troc__V1__ServerFrame *frame = raw_submit(&admin, items, 3);
    for (size_t i = 0; i < 3; i++) assert_int_equal(frame->response->submit->results[i]->code, TROC_RESULT_OK);
    raw_response_free(frame);
    raw_close(&admin);
}

static bool with_socket;                   /* setup_with also listens on a Unix socket */

/* A fresh directory, keys, and a ledger initialised in it. */
static fixture *fixture_create(void) {
    static fixture f;
    memset(&f, 0, sizeof f);
    assert_int_equal(troc_crypto_init(), 0);
    strcpy(f.directory, "/tmp/troc-test-server-XXXXXX");
    assert_non_null(mkdtemp(f.directory));
    snprintf(f.ledger_directory, sizeof f.ledger_directory, "%s/ledger", f.directory);
    snprintf(f.socket_path, sizeof f.socket_path, "%s/trocd.sock", f.directory);
    troc_keypair_generate(&f.admin);
    troc_keypair_generate(&f.alice);
    troc_keypair_generate(&f.bob);
    troc_keypair_generate(&f.carol);
    static uint8_t admin_keys[1][TROC_PUBLIC_KEY_SIZE];
    memcpy(admin_keys[0], f.admin.public_key, TROC_PUBLIC_KEY_SIZE);
    troc_ledger_init_options init = {.territory = "lyon",
                                     .unit = "EUR",
                                     .admin_keys = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])admin_keys,
                                     .admin_key_count = 1};
    assert_int_equal(troc_ledger_init(f.ledger_directory, &init, f.territory_key), 0);
    return &f;
}

static int setup_with(void **state, troc_server_options *options) {
    fixture *f = fixture_create();
    if (with_socket) options->socket_path = f->socket_path;
    fixture_start(f, options);
    admit_members(f);
    *state = f;
    return 0;
}

static int setup(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0"};
    return setup_with(state, &options);
}

static int teardown(void **state) {
    fixture *f = *state;
    writer_hold(false);
    atomic_store(&backup_held, false);
    atomic_store(&inject_apply_count, 0);
    atomic_store(&inject_commit_error, 0);
    atomic_store(&inject_grow_error, 0);
    fixture_stop(f);
    if (f->daemon > 0) {
        kill(f->daemon, SIGKILL);
        waitpid(f->daemon, NULL, 0);
    }
    if (f->ledger != NULL) troc_ledger_close(f->ledger);
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", f->directory);
    assert_int_equal(system(command), 0);
    return 0;
}

/* A member's balance read from the ledger directly (not through the
 * server). */
static int64_t ledger_balance(fixture *f, const char *member) {
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->ledger, &read), 0);
    troc_account account;
    assert_int_equal(troc_ledger_account(read, member, &account), 0);
    troc_ledger_read_end(read);
    return account.balance_cents;
}

/* ------------------------------------------------------- sessions */

static void test_handshake_gives_roles(void **state) {
    fixture *f = *state;
    raw_client admin, alice, stranger;
    raw_login(&admin, f->port, &f->admin);
    assert_int_equal(admin.role, TROC__V1__ROLE__ROLE_ADMIN);
    raw_login(&alice, f->port, &f->alice);
    assert_int_equal(alice.role, TROC__V1__ROLE__ROLE_MEMBER);
    assert_string_equal(alice.member, "alice");
    troc_keypair unknown;
    troc_keypair_generate(&unknown);
    assert_int_equal(raw_connect(&stranger, f->port), 0);
    assert_int_equal(raw_handshake(&stranger, &unknown), 0);
    assert_int_equal(stranger.role, TROC__V1__ROLE__ROLE_NONE);
    int error = 0;
    assert_true(raw_expect_closed(&stranger, &error));
    assert_int_equal(error, TROC_EDENIED);
    raw_close(&admin);
    raw_close(&alice);
    raw_close(&stranger);
}

static void test_pay_and_read_balances(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    signed_item item;
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", 1250);
    Troc__V1__ServerFrame *frame = raw_submit(&alice, &item, 1);
    Troc__V1__ItemResult *result = frame->response->submit->results[0];
    assert_int_equal(result->code, TROC_RESULT_OK);
    assert_true(result->has_journal_seq && result->journal_seq > 0);
    assert_true(result->has_timestamp_us && result->timestamp_us > 0);
    assert_true(result->has_id && result->id.len == TROC_ID_SIZE);
    assert_memory_equal(result->id.data, item.id, TROC_ID_SIZE);
    raw_response_free(frame);
    int64_t balance = 0;
    assert_int_equal(raw_balance(&alice, NULL, &balance), 0);
    assert_int_equal(balance, -1250);
    assert_int_equal(ledger_balance(f, "bob"), 1250);
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", CREDIT_LIMIT_CENTS);
    assert_int_equal(raw_submit_one(&alice, &item), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(ledger_balance(f, "alice"), -1250);
    raw_close(&alice);
}

static void test_member_reads_only_its_own_account(void **state) {
    fixture *f = *state;
    raw_client alice, admin;
    raw_login(&alice, f->port, &f->alice);
    raw_login(&admin, f->port, &f->admin);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&alice, "alice", &balance), 0);
    assert_int_equal(balance, 0);
    assert_int_equal(raw_balance(&alice, "bob", &balance), TROC_EDENIED);
    assert_int_equal(raw_balance(&admin, "bob", &balance), 0);
    assert_int_equal(raw_balance(&admin, NULL, &balance), TROC_EUSAGE);
    assert_int_equal(raw_balance(&admin, "nobody", &balance), TROC_ENOT_FOUND);
    assert_int_equal(raw_balance(&admin, "Not A Name", &balance), TROC_ENAME);
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    Troc__V1__StatsQuery stats = TROC__V1__STATS_QUERY__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_STATS;
    request.stats = &stats;
    Troc__V1__ServerFrame *frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_ERROR);
    assert_int_equal(frame->response->error->code, TROC_EDENIED);
    raw_response_free(frame);
    frame = raw_call(&admin, &request);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_STATS);
    assert_int_equal(frame->response->stats->members, 3);
    assert_int_equal(frame->response->stats->balance_sum_cents, 0);
    raw_response_free(frame);
    raw_close(&alice);
    raw_close(&admin);
}

static void test_history_and_member_info(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    signed_item items[3];
    for (int i = 0; i < 3; i++) sign_transfer(&items[i], &f->alice, f->territory_key, "alice", "carol", 100 + i);
    raw_response_free(raw_submit(&alice, items, 3));
    Troc__V1__HistoryQuery history = TROC__V1__HISTORY_QUERY__INIT;
    history.has_limit = 1;
    history.limit = 2;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_HISTORY;
    request.history = &history;
    Troc__V1__ServerFrame *frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_HISTORY);
    Troc__V1__History *page = frame->response->history;
    assert_int_equal(page->n_lines, 2);
    assert_int_equal(page->lines[0]->amount_cents, -102);
    assert_int_equal(page->lines[0]->balance_after_cents, -303);
    assert_string_equal(page->lines[0]->counterparty, "carol");
    assert_true(page->has_next_before_seq && page->next_before_seq > 0);
    history.has_before_seq = 1;
    history.before_seq = page->next_before_seq;
    raw_response_free(frame);
    frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->history->n_lines, 1);
    assert_int_equal(frame->response->history->lines[0]->amount_cents, -100);
    raw_response_free(frame);
    Troc__V1__MemberQuery member = TROC__V1__MEMBER_QUERY__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBER;
    request.member = &member;
    frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_MEMBER);
    assert_string_equal(frame->response->member->account->member, "alice");
    assert_int_equal(frame->response->member->account->credit_limit_cents, CREDIT_LIMIT_CENTS);
    assert_int_equal(frame->response->member->n_keys, 1);
    assert_memory_equal(frame->response->member->keys[0]->public_key.data, f->alice.public_key, TROC_PUBLIC_KEY_SIZE);
    raw_response_free(frame);
    member.member = "bob";
    frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->error->code, TROC_EDENIED);
    raw_response_free(frame);
    raw_close(&alice);
}

/* --------------------------------------------------------- submits */

static void test_bad_signature_is_refused(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    signed_item item;
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", 500);
    item.signature[10] ^= 0x01;
    assert_int_equal(raw_submit_one(&alice, &item), TROC_RESULT_BAD_SIGNATURE);
    sign_transfer(&item, &f->bob, f->territory_key, "alice", "bob", 500);
    int code = raw_submit_one(&alice, &item);
    assert_int_equal(code, TROC_RESULT_KEY_NOT_OWNED);
    assert_int_equal(ledger_balance(f, "alice"), 0);
    assert_int_equal(ledger_balance(f, "bob"), 0);
    raw_close(&alice);
}

static void test_admin_action_signed_by_member_is_refused(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    troc_keypair newcomer;
    troc_keypair_generate(&newcomer);
    signed_item item;
    sign_member_add(&item, &f->alice, f->territory_key, "mallory", newcomer.public_key, CREDIT_LIMIT_CENTS);
    assert_int_equal(raw_submit_one(&alice, &item), TROC_RESULT_NOT_ADMIN);
    raw_client admin;
    raw_login(&admin, f->port, &f->admin);
    int64_t balance = 0;
    assert_int_equal(raw_balance(&admin, "mallory", &balance), TROC_ENOT_FOUND);
    raw_close(&admin);
    raw_close(&alice);
}

static void test_misshapen_envelopes_are_malformed(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    signed_item items[4];
    for (int i = 0; i < 4; i++) sign_transfer(&items[i], &f->alice, f->territory_key, "alice", "bob", 10);
    items[1].kind = TROC__V1__ENVELOPE_KIND__KIND_UNSPECIFIED;
    items[2].kind = (Troc__V1__EnvelopeKind)77;
    items[3].body_size = 3;                /* truncated body: signature and decoding fail */
    Troc__V1__ServerFrame *frame = raw_submit(&alice, items, 4);
    Troc__V1__SubmitReply *reply = frame->response->submit;
    assert_int_equal(reply->results[0]->code, TROC_RESULT_OK);
    assert_int_equal(reply->results[1]->code, TROC_RESULT_MALFORMED);
    assert_int_equal(reply->results[2]->code, TROC_RESULT_MALFORMED);
    assert_int_not_equal(reply->results[3]->code, TROC_RESULT_OK);
    raw_response_free(frame);
    assert_int_equal(ledger_balance(f, "bob"), 10);
    raw_close(&alice);
}

/* A body that does not decode as its kind says, for every kind (a batch's
 * once made the ledger assert: no array for its codes), is malformed, and
 * the server goes on. */
static void test_undecodable_bodies_of_every_kind(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    const Troc__V1__EnvelopeKind kinds[4] = {TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, TROC__V1__ENVELOPE_KIND__KIND_BATCH,
                                             TROC__V1__ENVELOPE_KIND__KIND_ADMIN, TROC__V1__ENVELOPE_KIND__KIND_INVOICE};
    signed_item items[4];
    for (int i = 0; i < 4; i++) {
        sign_transfer(&items[i], &f->alice, f->territory_key, "alice", "bob", 10);
        items[i].kind = kinds[i];
        memset(items[i].body, 0xff, 40);   /* not a protobuf message */
        items[i].body_size = 40;
    }
    Troc__V1__ServerFrame *frame = raw_submit(&alice, items, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(frame->response->submit->results[i]->code, TROC_RESULT_MALFORMED);
    raw_response_free(frame);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&alice, NULL, &balance), 0);
    assert_int_equal(balance, 0);
    raw_close(&alice);
}

static void test_resubmission_is_idempotent(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    signed_item item;
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", 700);
    Troc__V1__ServerFrame *first = raw_submit(&alice, &item, 1);
    raw_close(&alice);
    raw_login(&alice, f->port, &f->alice);
    Troc__V1__ServerFrame *second = raw_submit(&alice, &item, 1);
    assert_int_equal(first->response->submit->results[0]->code, TROC_RESULT_OK);
    assert_int_equal(second->response->submit->results[0]->code, TROC_RESULT_OK);
    assert_int_equal(first->response->submit->results[0]->journal_seq,
                     second->response->submit->results[0]->journal_seq);
    raw_response_free(first);
    raw_response_free(second);
    assert_int_equal(ledger_balance(f, "bob"), 700);
    signed_item other;
    sign_transfer(&other, &f->alice, f->territory_key, "alice", "bob", 701);
    memcpy(other.id, item.id, TROC_ID_SIZE);
    Troc__V1__Transfer transfer = TROC__V1__TRANSFER__INIT;
    transfer.has_id = 1;
    transfer.id = (ProtobufCBinaryData){TROC_ID_SIZE, item.id};
    transfer.payer = "alice";
    transfer.payee = "bob";
    transfer.has_amount_cents = 1;
    transfer.amount_cents = 701;
    other.body_size = troc__v1__transfer__pack(&transfer, other.body);
    assert_int_equal(troc_sign(&f->alice, TROC_DOMAIN_TRANSFER, f->territory_key, other.body, other.body_size,
                               other.signature),
                     0);
    assert_int_equal(raw_submit_one(&alice, &other), TROC_RESULT_ID_REUSED);
    assert_int_equal(ledger_balance(f, "bob"), 700);
    raw_close(&alice);
}

/* A reply that cannot be built once its items are committed does not
 * read as a refusal (nothing applied): the connection is closed, so the
 * outcome is unknown to the client, which resends the same ids and reads
 * the committed results. */
static void test_reply_out_of_memory_closes_the_connection(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    signed_item items[3];
    for (int i = 0; i < 3; i++) sign_transfer(&items[i], &f->alice, f->territory_key, "alice", "bob", 100 + i);
    Troc__V1__Request request;
    Troc__V1__Submit submit;
    Troc__V1__Envelope envelopes[3], *pointers[3];
    submit_request(&request, &submit, envelopes, pointers, items, 3);
    atomic_store(&fail_allocation_of, 3 * sizeof(Troc__V1__ItemResult));
    raw_send_request(&alice, &request);
    int code = 0;
    assert_true(raw_expect_closed(&alice, &code));
    assert_int_equal(code, -ENOMEM);
    assert_int_equal(atomic_load(&fail_allocation_of), 0);
    assert_int_equal(ledger_balance(f, "bob"), 303); /* committed */
    raw_close(&alice);
    raw_login(&alice, f->port, &f->alice);
    Troc__V1__ServerFrame *again = raw_submit(&alice, items, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(again->response->submit->results[i]->code, TROC_RESULT_OK);
    raw_response_free(again);
    assert_int_equal(ledger_balance(f, "bob"), 303); /* once */
    raw_close(&alice);
}

static void test_batch_signed_once(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    const char *payees[4] = {"bob", "carol", "bob", "nobody"};
    signed_item item;
    sign_batch(&item, &f->alice, f->territory_key, "alice", payees, 4, 25);
    Troc__V1__ServerFrame *frame = raw_submit(&alice, &item, 1);
    Troc__V1__ItemResult *result = frame->response->submit->results[0];
    assert_int_equal(result->n_item_codes, 4);
    assert_int_equal(result->item_codes[0], TROC_RESULT_OK);
    assert_int_equal(result->item_codes[1], TROC_RESULT_OK);
    assert_int_equal(result->item_codes[2], TROC_RESULT_OK);
    assert_int_equal(result->item_codes[3], TROC_RESULT_UNKNOWN_PAYEE);
    raw_response_free(frame);
    assert_int_equal(ledger_balance(f, "bob"), 50);
    assert_int_equal(ledger_balance(f, "carol"), 25);
    raw_close(&alice);
}

static void test_submit_size_limits(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    Troc__V1__Submit empty = TROC__V1__SUBMIT__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_SUBMIT;
    request.submit = &empty;
    Troc__V1__ServerFrame *frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_ERROR);
    assert_int_equal(frame->response->error->code, TROC_EUSAGE);
    raw_response_free(frame);
    enum { COUNT = TROC_SUBMIT_ENVELOPES_MAX + 1 };
    signed_item *items = calloc(COUNT, sizeof *items);
    assert_non_null(items);
    for (int i = 0; i < COUNT; i++) sign_transfer(&items[i], &f->alice, f->territory_key, "alice", "bob", 1);
    Troc__V1__Envelope envelopes[COUNT];
    Troc__V1__Envelope *pointers[COUNT];
    Troc__V1__Submit submit;
    submit_request(&request, &submit, envelopes, pointers, items, COUNT);
    frame = raw_call(&alice, &request);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_ERROR);
    assert_int_equal(frame->response->error->code, TROC_ELIMIT);
    raw_response_free(frame);
    free(items);
    assert_int_equal(ledger_balance(f, "bob"), 0);
    Troc__V1__Request unknown = TROC__V1__REQUEST__INIT;
    frame = raw_call(&alice, &unknown);
    assert_int_equal(frame->response->error->code, TROC_EPROTOCOL);
    raw_response_free(frame);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&alice, NULL, &balance), 0);
    raw_close(&alice);
}

/* ---------------------------------------------------------- bad frames */

/* Expects `client` to be closed with `error`, and a witness session to
 * still be served. */
static void expect_closed_and_others_served(raw_client *client, int error, raw_client *witness) {
    int seen = 0;
    assert_true(raw_expect_closed(client, &seen));
    assert_int_equal(seen, error);
    raw_close(client);
    int64_t balance = -1;
    assert_int_equal(raw_balance(witness, NULL, &balance), 0);
}

static void test_bad_frames_before_handshake(void **state) {
    fixture *f = *state;
    raw_client witness, bad;
    raw_login(&witness, f->port, &f->bob);
    uint8_t zero[4] = {0, 0, 0, 0};
    assert_int_equal(raw_connect(&bad, f->port), 0);
    assert_int_equal(raw_send_bytes(&bad, zero, sizeof zero), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    uint32_t over = TROC_FRAME_SIZE_MAX + 1;
    uint8_t header[4] = {(uint8_t)(over >> 24), (uint8_t)(over >> 16), (uint8_t)(over >> 8), (uint8_t)over};
    assert_int_equal(raw_connect(&bad, f->port), 0);
    assert_int_equal(raw_send_bytes(&bad, header, sizeof header), 0); /* the header alone is refused */
    expect_closed_and_others_served(&bad, TROC_EFRAME_SIZE, &witness);
    uint8_t big[TROC_HANDSHAKE_FRAME_SIZE_MAX + 1];
    memset(big, 0x0a, sizeof big);
    assert_int_equal(raw_connect(&bad, f->port), 0);
    assert_int_equal(raw_send_clear(&bad, big, sizeof big), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME_SIZE, &witness);
    uint8_t garbage[40];
    memset(garbage, 0xff, sizeof garbage);
    assert_int_equal(raw_connect(&bad, f->port), 0);
    assert_int_equal(raw_send_clear(&bad, garbage, sizeof garbage), 0);
    expect_closed_and_others_served(&bad, TROC_EHANDSHAKE, &witness);
    Troc__V1__BalanceQuery query = TROC__V1__BALANCE_QUERY__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &query;
    assert_int_equal(raw_connect(&bad, f->port), 0);
    raw_send_request(&bad, &request);      /* a request before any handshake */
    expect_closed_and_others_served(&bad, TROC_EHANDSHAKE, &witness);
    raw_close(&witness);
}

/* Connects and completes the handshake as alice. */
static void login_alice(fixture *f, raw_client *client) {
    raw_login(client, f->port, &f->alice);
}

static void test_bad_frames_after_handshake(void **state) {
    fixture *f = *state;
    raw_client witness, bad;
    raw_login(&witness, f->port, &f->bob);
    uint8_t garbage[64];
    memset(garbage, 0xff, sizeof garbage);
    login_alice(f, &bad);
    assert_int_equal(raw_send_sealed(&bad, garbage, sizeof garbage), 0);
    expect_closed_and_others_served(&bad, TROC_EDECODE, &witness);
    /* A truncated Request: a submit cut in the middle of its body. */
    signed_item item;
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", 1);
    Troc__V1__Envelope envelope, *pointer;
    Troc__V1__Submit submit;
    Troc__V1__Request request;
    submit_request(&request, &submit, &envelope, &pointer, &item, 1);
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &request;
    uint8_t packed[4096];
    size_t packed_size = troc__v1__client_frame__pack(&frame, packed);
    login_alice(f, &bad);
    assert_int_equal(raw_send_sealed(&bad, packed, packed_size / 2), 0);
    expect_closed_and_others_served(&bad, TROC_EDECODE, &witness);
    /* A frame kind that has no place after the handshake. */
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0;
    troc_handshake handshake;
    assert_int_equal(troc_handshake_client_hello(&handshake, hello, &hello_size), 0);
    login_alice(f, &bad);
    assert_int_equal(raw_send_sealed(&bad, hello, hello_size), 0);
    expect_closed_and_others_served(&bad, TROC_EPROTOCOL, &witness);
    /* An unknown kind: field 15, which ClientFrame does not define. */
    uint8_t unknown[] = {0x7a, 0x02, 0x08, 0x01};
    login_alice(f, &bad);
    assert_int_equal(raw_send_sealed(&bad, unknown, sizeof unknown), 0);
    expect_closed_and_others_served(&bad, TROC_EPROTOCOL, &witness);
    /* A frame over the maximum, refused from its header. */
    uint32_t over = TROC_FRAME_SIZE_MAX + 1;
    uint8_t header[4] = {(uint8_t)(over >> 24), (uint8_t)(over >> 16), (uint8_t)(over >> 8), (uint8_t)over};
    login_alice(f, &bad);
    assert_int_equal(raw_send_bytes(&bad, header, sizeof header), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME_SIZE, &witness);
    assert_int_equal(ledger_balance(f, "bob"), 0);
    raw_close(&witness);
}

static void test_tampered_and_replayed_frames(void **state) {
    fixture *f = *state;
    raw_client witness, bad;
    raw_login(&witness, f->port, &f->bob);
    Troc__V1__BalanceQuery query = TROC__V1__BALANCE_QUERY__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.has_request_id = 1;
    request.request_id = 1;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &query;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &request;
    uint8_t packed[256], sealed[512];
    size_t packed_size = troc__v1__client_frame__pack(&frame, packed);
    login_alice(f, &bad);
    size_t sealed_size = troc_channel_seal(&bad.channel, packed, packed_size, sealed);
    sealed[sealed_size - 20] ^= 0x40;
    assert_int_equal(raw_send_bytes(&bad, sealed, sealed_size), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    login_alice(f, &bad);
    sealed_size = troc_channel_seal(&bad.channel, packed, packed_size, sealed);
    assert_int_equal(raw_send_bytes(&bad, sealed, sealed_size), 0);
    Troc__V1__ServerFrame *reply = raw_recv(&bad);
    assert_non_null(reply);
    assert_int_equal(reply->kind_case, TROC__V1__SERVER_FRAME__KIND_RESPONSE);
    raw_response_free(reply);
    assert_int_equal(raw_send_bytes(&bad, sealed, sealed_size), 0); /* the same frame again */
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    raw_close(&witness);
}

/* Seals, on `client`'s channel, a submit holding one transfer of
 * `amount_cents` from alice to bob; the channel's counter advances as if
 * it had been sent.  Returns the frame's size. */
static size_t sealed_transfer(fixture *f, raw_client *client, int64_t amount_cents, uint8_t *sealed) {
    signed_item item;
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", amount_cents);
    Troc__V1__Envelope envelope, *pointer;
    Troc__V1__Submit submit;
    Troc__V1__Request request;
    submit_request(&request, &submit, &envelope, &pointer, &item, 1);
    request.has_request_id = 1;
    request.request_id = ++client->next_request_id;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &request;
    uint8_t packed[4096];
    size_t packed_size = troc__v1__client_frame__pack(&frame, packed);
    assert_true(packed_size < sizeof packed);
    return troc_channel_seal(&client->channel, packed, packed_size, sealed);
}

/* Sealed frames holding a payment that fail to open close their
 * connection, and the payment inside is not applied; meanwhile another
 * client is served. */
static void test_sealed_transfers_that_do_not_open_change_nothing(void **state) {
    fixture *f = *state;
    raw_client witness, bad;
    raw_login(&witness, f->port, &f->carol);
    uint8_t first[4096], second[4096];
    login_alice(f, &bad);                  /* tampered: one bit of the ciphertext */
    size_t size = sealed_transfer(f, &bad, 101, first);
    first[size - TROC_CHANNEL_TAG_SIZE - 3] ^= 0x01;
    assert_int_equal(raw_send_bytes(&bad, first, size), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    login_alice(f, &bad);                  /* tampered: the header, which is authenticated too */
    size = sealed_transfer(f, &bad, 102, first);
    troc_frame_header_write(first, size - TROC_FRAME_HEADER_SIZE - 1);
    assert_int_equal(raw_send_bytes(&bad, first, size - 1), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    login_alice(f, &bad);                  /* reordered: the second frame sent first */
    size = sealed_transfer(f, &bad, 103, first);
    size_t second_size = sealed_transfer(f, &bad, 104, second);
    assert_int_equal(raw_send_bytes(&bad, second, second_size), 0);
    assert_int_equal(raw_send_bytes(&bad, first, size), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    login_alice(f, &bad);                  /* truncated: half a frame, then the peer goes */
    size = sealed_transfer(f, &bad, 105, first);
    assert_int_equal(raw_send_bytes(&bad, first, size / 2), 0);
    assert_int_equal(shutdown(bad.fd, SHUT_WR), 0);
    expect_closed_and_others_served(&bad, 0, &witness);
    login_alice(f, &bad);                  /* replayed: applied once, then sent again */
    size = sealed_transfer(f, &bad, 106, first);
    assert_int_equal(raw_send_bytes(&bad, first, size), 0);
    Troc__V1__ServerFrame *reply = raw_recv(&bad);
    assert_non_null(reply);
    assert_int_equal(reply->response->submit->results[0]->code, TROC_RESULT_OK);
    raw_response_free(reply);
    assert_int_equal(raw_send_bytes(&bad, first, size), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    login_alice(f, &bad);                  /* replayed on another connection: other keys */
    assert_int_equal(raw_send_bytes(&bad, first, size), 0);
    expect_closed_and_others_served(&bad, TROC_EFRAME, &witness);
    raw_close(&witness);
    assert_int_equal(ledger_balance(f, "bob"), 106);   /* the one frame that opened */
    assert_int_equal(ledger_balance(f, "alice"), -106);
    troc_ledger_read *read = NULL;
    troc_stats stats;
    assert_int_equal(troc_ledger_read_begin(f->ledger, &read), 0);
    assert_int_equal(troc_ledger_stats(read, &stats), 0);
    troc_ledger_read_end(read);
    assert_int_equal(stats.transfers, 1);
}

/* ----------------------------------------------------- group commit */

enum { PIPELINE_CLIENTS = 3, PIPELINE_TRANSFERS = 400, PIPELINE_WINDOW = 64 };

typedef struct pipeline {
    raw_client client;
    signed_item *items;
    size_t sent, answered;
} pipeline;

static void pipeline_send_next(pipeline *p) {
    Troc__V1__Envelope envelope, *pointer;
    Troc__V1__Submit submit;
    Troc__V1__Request request;
    submit_request(&request, &submit, &envelope, &pointer, &p->items[p->sent], 1);
    raw_send_request(&p->client, &request);
    p->sent++;
}

/* Sends the next item if the connection still takes it: a stopping daemon
 * closes it.  Returns whether it was sent. */
static bool pipeline_try_send_next(pipeline *p) {
    Troc__V1__Envelope envelope, *pointer;
    Troc__V1__Submit submit;
    Troc__V1__Request request;
    submit_request(&request, &submit, &envelope, &pointer, &p->items[p->sent], 1);
    request.has_request_id = 1;
    request.request_id = ++p->client.next_request_id;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &request;
    if (raw_send_frame(&p->client, &frame) != 0) return false;
    p->sent++;
    return true;
}

/* Reads one reply; checks it is OK and already visible in the ledger. */
static void pipeline_receive(fixture *f, pipeline *p) {
    Troc__V1__ServerFrame *frame = raw_recv(&p->client);
    assert_non_null(frame);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_SUBMIT);
    Troc__V1__ItemResult *result = frame->response->submit->results[0];
    assert_int_equal(result->code, TROC_RESULT_OK);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->ledger, &read), 0);
    troc_stats stats;
    assert_int_equal(troc_ledger_stats(read, &stats), 0);
    troc_ledger_read_end(read);
    assert_true(stats.journal_entries >= result->journal_seq);
    raw_response_free(frame);
    p->answered++;
}

static void test_group_commit_under_pipelined_submits(void **state) {
    fixture *f = *state;
    const troc_keypair *keys[PIPELINE_CLIENTS] = {&f->alice, &f->bob, &f->carol};
    const char *names[PIPELINE_CLIENTS] = {"alice", "bob", "carol"};
    pipeline pipelines[PIPELINE_CLIENTS];
    for (int c = 0; c < PIPELINE_CLIENTS; c++) {
        pipeline *p = &pipelines[c];
        memset(p, 0, sizeof *p);
        raw_login(&p->client, f->port, keys[c]);
        p->items = calloc(PIPELINE_TRANSFERS, sizeof *p->items);
        assert_non_null(p->items);
        for (int i = 0; i < PIPELINE_TRANSFERS; i++) {
            sign_transfer(&p->items[i], keys[c], f->territory_key, names[c], names[(c + 1) % PIPELINE_CLIENTS],
                          1 + c);
        }
        while (p->sent < PIPELINE_WINDOW) pipeline_send_next(p);
    }
    for (size_t round = 0; round < PIPELINE_TRANSFERS; round++) {
        for (int c = 0; c < PIPELINE_CLIENTS; c++) {
            pipeline_receive(f, &pipelines[c]);
            if (pipelines[c].sent < PIPELINE_TRANSFERS) pipeline_send_next(&pipelines[c]);
        }
    }
    for (int c = 0; c < PIPELINE_CLIENTS; c++) {
        assert_int_equal(pipelines[c].answered, PIPELINE_TRANSFERS);
        raw_close(&pipelines[c].client);
        free(pipelines[c].items);
    }
    fixture_stop(f);
    int64_t alice = ledger_balance(f, "alice"), bob = ledger_balance(f, "bob"), carol = ledger_balance(f, "carol");
    assert_int_equal(alice, PIPELINE_TRANSFERS * (3 - 1));
    assert_int_equal(bob, PIPELINE_TRANSFERS * (1 - 2));
    assert_int_equal(carol, PIPELINE_TRANSFERS * (2 - 3));
    assert_int_equal(alice + bob + carol, 0);
    uint64_t transfers = PIPELINE_CLIENTS * PIPELINE_TRANSFERS;
    assert_true(f->stats.items_committed >= transfers);
    assert_true(f->stats.commits < transfers);        /* requests shared commits */
    assert_true(f->stats.commit_items_max > 1);
}

/* While the writer is held, one connection pipelining more than its bound
 * gets exactly TROC_REQUESTS_IN_FLIGHT_MAX requests read and verified; the
 * rest wait in the socket until replies drain. */
static void test_backpressure_bounds_requests_in_flight(void **state) {
    fixture *f = *state;
    enum { COUNT = TROC_REQUESTS_IN_FLIGHT_MAX + 200 };
    pipeline p;
    memset(&p, 0, sizeof p);
    raw_login(&p.client, f->port, &f->alice);
    p.items = calloc(COUNT, sizeof *p.items);
    assert_non_null(p.items);
    for (int i = 0; i < COUNT; i++) sign_transfer(&p.items[i], &f->alice, f->territory_key, "alice", "bob", 1);
    writer_hold(true);
    atomic_store(&verify_calls, 0);
    while (p.sent < COUNT) pipeline_send_next(&p);
    for (int waited = 0; waited < 1000 && atomic_load(&verify_calls) < TROC_REQUESTS_IN_FLIGHT_MAX; waited++) {
        usleep(10000);
    }
    usleep(200000);
    assert_int_equal(atomic_load(&verify_calls), TROC_REQUESTS_IN_FLIGHT_MAX);
    writer_hold(false);
    while (p.answered < COUNT) pipeline_receive(f, &p);
    assert_int_equal(atomic_load(&verify_calls), COUNT);
    raw_close(&p.client);
    free(p.items);
    fixture_stop(f);
    assert_true(f->stats.read_pauses >= 1);
    assert_int_equal(ledger_balance(f, "bob"), COUNT);
}

/* ------------------------------------------------------------ storage */

static void test_storage_full_refuses_the_batch_and_keeps_serving(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    atomic_store(&inject_commit_error, -ENOSPC);
    signed_item items[2];
    sign_transfer(&items[0], &f->alice, f->territory_key, "alice", "bob", 300);
    sign_transfer(&items[1], &f->alice, f->territory_key, "alice", "carol", 400);
    Troc__V1__ServerFrame *frame = raw_submit(&alice, items, 2);
    for (size_t i = 0; i < 2; i++) {
        Troc__V1__ItemResult *result = frame->response->submit->results[i];
        assert_int_equal(result->code, TROC_RESULT_STORAGE_FULL);
        assert_false(result->has_journal_seq);
        assert_non_null(result->detail);
        assert_non_null(strstr(result->detail, "No space left on device"));
    }
    raw_response_free(frame);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&alice, NULL, &balance), 0); /* reads are still served */
    assert_int_equal(balance, 0);
    atomic_store(&inject_commit_error, -EIO);
    assert_int_equal(raw_submit_one(&alice, &items[0]), TROC_RESULT_UNAVAILABLE);
    atomic_store(&inject_commit_error, 0);
    frame = raw_submit(&alice, items, 2);      /* the same items, once the disk has room */
    assert_int_equal(frame->response->submit->results[0]->code, TROC_RESULT_OK);
    assert_int_equal(frame->response->submit->results[1]->code, TROC_RESULT_OK);
    raw_response_free(frame);
    assert_int_equal(ledger_balance(f, "alice"), -700);
    raw_close(&alice);
    fixture_stop(f);
    assert_int_equal(f->stats.commits_refused, 2);
}

static void test_map_full_grows_and_retries(void **state) {
    fixture *f = *state;
    raw_client alice;
    raw_login(&alice, f->port, &f->alice);
    atomic_store(&grow_calls, 0);
    atomic_store(&inject_apply_error, MDB_MAP_FULL);
    atomic_store(&inject_apply_count, 1);
    signed_item item;
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", 900);
    assert_int_equal(raw_submit_one(&alice, &item), TROC_RESULT_OK);
    assert_int_equal(atomic_load(&grow_calls), 1);
    assert_int_equal(ledger_balance(f, "bob"), 900);
    atomic_store(&inject_grow_error, -ENOSPC);
    atomic_store(&inject_apply_count, 1);
    sign_transfer(&item, &f->alice, f->territory_key, "alice", "bob", 50);
    Troc__V1__ServerFrame *frame = raw_submit(&alice, &item, 1);
    assert_int_equal(frame->response->submit->results[0]->code, TROC_RESULT_STORAGE_FULL);
    assert_non_null(strstr(frame->response->submit->results[0]->detail, "MDB_MAP_FULL"));
    raw_response_free(frame);
    assert_int_equal(atomic_load(&grow_calls), 2);
    assert_int_equal(ledger_balance(f, "bob"), 900);
    raw_close(&alice);
}

/* ------------------------------------------------------------- limits */

static int setup_small_limits(void **state) {
    troc_server_options options = {
        .listen = "127.0.0.1:0", .connections_max = 3, .handshake_timeout_ms = 300, .idle_timeout_ms = 600};
    return setup_with(state, &options);
}

static void test_timeouts(void **state) {
    fixture *f = *state;
    raw_client silent, idle;
    assert_int_equal(raw_connect(&silent, f->port), 0);
    raw_login(&idle, f->port, &f->alice);
    int error = 0;
    assert_true(raw_expect_closed(&silent, &error));
    assert_int_equal(error, TROC_ETIMEOUT);
    assert_true(raw_expect_closed(&idle, &error));
    assert_int_equal(error, TROC_ETIMEOUT);
    raw_close(&silent);
    raw_close(&idle);
}

/* Sends `data` one byte every 50 ms until the server says something (its
 * error frame) or the bytes run out; true when it spoke first. */
static bool trickle_until_answered(raw_client *client, const uint8_t *data, size_t size) {
    for (size_t i = 0; i < size; i++) {
        struct pollfd answer = {.fd = client->fd, .events = POLLIN};
        if (poll(&answer, 1, 50) == 1) return true;
        if (raw_send_bytes(client, &data[i], 1) != 0) return true;
    }
    return false;
}

/* A peer that trickles bytes without ever completing a frame is not
 * active: the handshake timeout cuts it before its hello is whole, the idle
 * timeout after the handshake. */
static void test_trickling_peers_time_out(void **state) {
    fixture *f = *state;
    raw_client slow;
    uint8_t hello[TROC_FRAME_HEADER_SIZE + TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0;
    troc_handshake handshake;
    assert_int_equal(troc_handshake_client_hello(&handshake, hello + TROC_FRAME_HEADER_SIZE, &hello_size), 0);
    troc_frame_header_write(hello, hello_size);
    assert_int_equal(raw_connect(&slow, f->port), 0);
    assert_true(trickle_until_answered(&slow, hello, TROC_FRAME_HEADER_SIZE + hello_size));
    int error = 0;
    assert_true(raw_expect_closed(&slow, &error));
    assert_int_equal(error, TROC_ETIMEOUT);
    raw_close(&slow);
    raw_login(&slow, f->port, &f->alice);
    static uint8_t frame[TROC_FRAME_HEADER_SIZE + 200];
    troc_frame_header_write(frame, 200);   /* a frame of 200 bytes, sent at 20 bytes a second */
    assert_true(trickle_until_answered(&slow, frame, sizeof frame));
    assert_true(raw_expect_closed(&slow, &error));
    assert_int_equal(error, TROC_ETIMEOUT);
    raw_close(&slow);
}

static int setup_slow_client(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .idle_timeout_ms = 1000};
    return setup_with(state, &options);
}

/* A client that sends requests and never reads the replies: once its
 * replies fill the write queue the server stops reading it (its other
 * requests wait in the kernel), keeps serving everyone else, and cuts it
 * when it has been idle for the idle timeout. */
/* Gives bob's statement a full page of lines, so that a history query
 * is answered about 50 KB. */
static void fill_bobs_statement(fixture *f) {
    pipeline p;
    memset(&p, 0, sizeof p);
    raw_login(&p.client, f->port, &f->alice);
    p.items = calloc(TROC_PAGE_ROWS_MAX, sizeof *p.items);
    assert_non_null(p.items);
    for (int i = 0; i < TROC_PAGE_ROWS_MAX; i++) sign_transfer(&p.items[i], &f->alice, f->territory_key, "alice", "bob", 1);
    while (p.sent < 64) pipeline_send_next(&p);
    while (p.answered < TROC_PAGE_ROWS_MAX) {
        pipeline_receive(f, &p);
        if (p.sent < TROC_PAGE_ROWS_MAX) pipeline_send_next(&p);
    }
    raw_close(&p.client);
    free(p.items);
}

/* Sends `count` queries of a page of `rows` lines of the session's
 * statement (about 50 bytes a line). */
static void send_history_pages(raw_client *client, int count, uint32_t rows) {
    Troc__V1__HistoryQuery query = TROC__V1__HISTORY_QUERY__INIT;
    query.has_limit = 1;
    query.limit = rows;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_HISTORY;
    request.history = &query;
    for (int i = 0; i < count; i++) raw_send_request(client, &request);
}

/* Sends `count` queries of a full page of the session's statement. */
static void send_history_queries(raw_client *client, int count) {
    send_history_pages(client, count, TROC_PAGE_ROWS_MAX);
}

/* Reads the reply to one history query. */
static void receive_history_reply(raw_client *client) {
    Troc__V1__ServerFrame *frame = raw_recv(client);
    assert_non_null(frame);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_HISTORY);
    raw_response_free(frame);
}

static void test_slow_client_is_paused_then_cut(void **state) {
    fixture *f = *state;
    enum { QUERIES = 4000 };
    fill_bobs_statement(f);
    raw_client slow, witness;
    raw_login(&slow, f->port, &f->bob);
    send_history_queries(&slow, QUERIES); /* 200 MB of replies, never read */
    raw_login(&witness, f->port, &f->carol);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&witness, NULL, &balance), 0);
    raw_close(&witness);
    struct pollfd cut = {.fd = slow.fd, .events = POLLRDHUP};
    assert_int_equal(poll(&cut, 1, 30000), 1);  /* bounded wait: idle timeout, then the close linger */
    assert_true(cut.revents & (POLLERR | POLLHUP | POLLRDHUP));
    raw_close(&slow);
    raw_login(&witness, f->port, &f->carol);   /* and the server goes on */
    assert_int_equal(raw_balance(&witness, NULL, &balance), 0);
    raw_close(&witness);
    fixture_stop(f);
    assert_true(f->stats.read_pauses >= 1);
    assert_true(f->stats.connections_failed >= 1);
}

/* A newcomer on `port` is told busy (ServerFrame error TROC_EBUSY), then
 * closed. */
static void expect_busy(int port) {
    raw_client extra;
    assert_int_equal(raw_connect(&extra, port), 0);
    int error = 0;
    assert_true(raw_expect_closed(&extra, &error));
    assert_int_equal(error, TROC_EBUSY);
    raw_close(&extra);
}

static void test_busy_past_the_connection_limit(void **state) {
    fixture *f = *state;
    raw_client clients[3], extra;
    for (int i = 0; i < 3; i++) raw_login(&clients[i], f->port, &f->bob);
    expect_busy(f->port);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&clients[0], NULL, &balance), 0);
    raw_close(&clients[2]);
    bool served = false;
    for (int attempt = 0; attempt < 100 && !served; attempt++) {
        assert_int_equal(raw_connect(&extra, f->port), 0);
        served = raw_handshake(&extra, &f->bob) == 0;
        raw_close(&extra);
        if (!served) usleep(20000);
    }
    assert_true(served);
    raw_close(&clients[0]);
    raw_close(&clients[1]);
    fixture_stop(f);
    assert_true(f->stats.connections_refused >= 1);
}

/* The descriptor limit the process had before a test lowered it. */
static struct rlimit saved_descriptor_limit;

enum { DESCRIPTORS_FIT = 4 };              /* connections a lowered limit leaves room for */

/* Lowers the soft descriptor limit so that it holds DESCRIPTORS_FIT
 * connections beside what the server keeps for itself. */
static int setup_few_descriptors(void **state) {
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_descriptor_limit), 0);
    struct rlimit lowered = saved_descriptor_limit;
    lowered.rlim_cur = TROC_REFUSALS_MAX + TROC_DESCRIPTORS_RESERVED + DESCRIPTORS_FIT;
    assert_true(saved_descriptor_limit.rlim_cur >= lowered.rlim_cur);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    troc_server_options options = {.listen = "127.0.0.1:0"};
    return setup_with(state, &options);
}

static int teardown_descriptors(void **state) {
    int rc = teardown(state);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved_descriptor_limit), 0);
    return rc;
}

/* Under a descriptor limit too low for TROC_CONNECTIONS_MAX, the server
 * serves as many connections as its descriptors hold and tells the next
 * one "busy", instead of running out and letting libuv close newcomers
 * unseen. */
static void test_descriptor_limit_caps_connections(void **state) {
    fixture *f = *state;
    raw_client clients[DESCRIPTORS_FIT];
    for (int i = 0; i < DESCRIPTORS_FIT; i++) raw_login(&clients[i], f->port, &f->bob);
    expect_busy(f->port);
    for (int i = 0; i < DESCRIPTORS_FIT; i++) raw_close(&clients[i]);
    fixture_stop(f);
    assert_int_equal(f->stats.connections_refused, 1);
}

/* Asked to (as trocd does), the server raises a low soft descriptor limit
 * to what TROC_CONNECTIONS_MAX connections need, within the hard limit. */
static void test_descriptor_limit_raised(void **state) {
    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_descriptor_limit), 0);
    struct rlimit lowered = saved_descriptor_limit;
    lowered.rlim_cur = TROC_REFUSALS_MAX + TROC_DESCRIPTORS_RESERVED + DESCRIPTORS_FIT;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    fixture *f = fixture_create();
    *state = f;
    troc_server_options options = {.listen = "127.0.0.1:0", .raise_descriptor_limit = true};
    fixture_start(f, &options);
    struct rlimit raised;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &raised), 0);
    rlim_t needed = TROC_CONNECTIONS_MAX + TROC_REFUSALS_MAX + TROC_DESCRIPTORS_RESERVED;
    bool hard_allows = raised.rlim_max == RLIM_INFINITY || raised.rlim_max >= needed;
    assert_int_equal(raised.rlim_cur, hard_allows ? needed : raised.rlim_max);
    raw_client admin;
    raw_login(&admin, f->port, &f->admin);
    raw_close(&admin);
}

/* ------------------------------------------------------------- memory */

static int setup_small_budget(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .memory_bytes_max = TROC_SERVER_MEMORY_BYTES_MIN};
    return setup_with(state, &options);
}

/* Waits (bounded) until the running server's counters satisfy `done`. */
static troc_server_stats wait_for_stats(bool (*done)(const troc_server_stats *stats)) {
    troc_server_stats stats = live_stats();
    for (int waited = 0; waited < 2000 && !done(&stats); waited++) {
        usleep(10000);
        stats = live_stats();
    }
    assert_true(done(&stats));
    return stats;
}

enum {
    LARGE_FRAMES = 4,                      /* connections sending a frame of the largest size at once */
    LARGE_FRAMES_FIT = 2,                  /* of which the smallest budget's read buffers hold */
};

static bool large_frames_waiting(const troc_server_stats *stats) {
    return stats->memory_waits >= LARGE_FRAMES - LARGE_FRAMES_FIT;
}

/* The rest of a large frame sent from a thread of its own (the server may
 * not read it until another frame is done); the frame does not open, so
 * the server must answer TROC_EFRAME, which proves it read it whole. */
typedef struct large_frame {
    raw_client client;
    int error;                             /* the error frame's code */
    bool closed;
} large_frame;

static void large_frame_finish(void *argument) {
    large_frame *l = argument;
    static const uint8_t junk[TROC_FRAME_SIZE_MAX];
    if (raw_send_bytes(&l->client, junk + 1, sizeof junk - 1) == 0) l->closed = raw_expect_closed(&l->client, &l->error);
}

/* Read buffers grown for large frames stay within their share of the
 * budget: connections whose frames do not fit wait, not reading, and are
 * read in turn as the others' frames are done. */
static void test_large_frames_wait_for_memory(void **state) {
    fixture *f = *state;
    static large_frame frames[LARGE_FRAMES];
    for (int i = 0; i < LARGE_FRAMES; i++) {
        frames[i] = (large_frame){0};
        raw_login(&frames[i].client, f->port, &f->alice);
        uint8_t start[TROC_FRAME_HEADER_SIZE + 1] = {0};
        troc_frame_header_write(start, TROC_FRAME_SIZE_MAX);
        assert_int_equal(raw_send_bytes(&frames[i].client, start, sizeof start), 0);
    }
    troc_server_stats stats = wait_for_stats(large_frames_waiting);
    assert_int_equal(stats.memory_waits, LARGE_FRAMES - LARGE_FRAMES_FIT);
    uv_thread_t threads[LARGE_FRAMES];
    for (int i = 0; i < LARGE_FRAMES; i++) assert_int_equal(uv_thread_create(&threads[i], large_frame_finish, &frames[i]), 0);
    for (int i = 0; i < LARGE_FRAMES; i++) {
        assert_int_equal(uv_thread_join(&threads[i]), 0);
        assert_true(frames[i].closed);
        assert_int_equal(frames[i].error, TROC_EFRAME);
        raw_close(&frames[i].client);
    }
    fixture_stop(f);
    assert_int_equal(f->stats.memory_waits, LARGE_FRAMES - LARGE_FRAMES_FIT);
    assert_true(f->stats.memory_bytes_peak <= TROC_SERVER_MEMORY_BYTES_MIN);
}

static bool memory_full(const troc_server_stats *stats) {
    return stats->memory_full >= 1;
}

/* Replies queued for peers that do not read them are charged to the
 * server's budget: past it every connection stops taking frames, so memory
 * stays bounded however many peers never read (each still gets the replies
 * it is owed queued); once those peers go, the others are served again. */
static void test_unread_replies_count_against_the_budget(void **state) {
    fixture *f = *state;
    enum { HOGS = 3, QUERIES = 1000 };     /* each could queue 8 MiB: three pass the budget */
    fill_bobs_statement(f);
    raw_client witness, hogs[HOGS];
    raw_login(&witness, f->port, &f->carol);
    for (int i = 0; i < HOGS; i++) raw_login(&hogs[i], f->port, &f->bob);
    for (int i = 0; i < HOGS; i++) send_history_queries(&hogs[i], QUERIES);
    wait_for_stats(memory_full);
    Troc__V1__BalanceQuery query = TROC__V1__BALANCE_QUERY__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &query;
    uint64_t id = raw_send_request(&witness, &request);
    for (int i = 0; i < HOGS; i++) raw_close(&hogs[i]); /* with replies unread: the server's writes fail */
    Troc__V1__ServerFrame *frame = raw_recv(&witness);
    assert_non_null(frame);
    assert_int_equal(frame->response->request_id, id);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_BALANCE);
    raw_response_free(frame);
    raw_close(&witness);
    fixture_stop(f);
    /* Past the budget only the reply being queued may still grow an output
     * buffer: by one step of at most 1 MiB, plus the reply. */
    assert_true(f->stats.memory_bytes_peak <= TROC_SERVER_MEMORY_BYTES_MIN + 2u * 1024u * 1024u);
    assert_true(f->stats.read_pauses >= HOGS);
}

static int setup_short_write_timeout(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .write_timeout_ms = 300};
    return setup_with(state, &options);
}

/* A client that sends requests and never reads their replies is cut once
 * the server has had a write pending for the write timeout without the
 * client taking any of it, long before the idle timeout: its replies would
 * hold the server's memory budget meanwhile. */
static void test_peers_that_never_read_are_cut(void **state) {
    fixture *f = *state;
    fill_bobs_statement(f);
    raw_client hog;
    raw_login(&hog, f->port, &f->bob);
    send_history_queries(&hog, 1000);      /* 50 MB of replies, more than the sockets hold */
    struct pollfd cut = {.fd = hog.fd, .events = POLLRDHUP};
    assert_int_equal(poll(&cut, 1, 60000), 1); /* bounded wait; the idle timeout is 5 minutes */
    assert_true(cut.revents & (POLLERR | POLLHUP | POLLRDHUP));
    raw_close(&hog);
    raw_client witness;                    /* readers are served as before */
    raw_login(&witness, f->port, &f->carol);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&witness, NULL, &balance), 0);
    raw_close(&witness);
    fixture_stop(f);
    assert_true(f->stats.connections_failed >= 1);
}

enum { STEADY_WRITE_TIMEOUT_MS = 1000 };

static int setup_steady_write_timeout(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .write_timeout_ms = STEADY_WRITE_TIMEOUT_MS};
    return setup_with(state, &options);
}

/* A client that reads its replies slowly but steadily (a few kilobytes
 * every 50 ms, through a small receive buffer) is not cut, however long
 * the kernel takes to have room for more of the write in flight: the
 * server sees the peer take bytes in the kernel's send queue.  One that
 * reads nothing is still cut at the write timeout. */
static void test_steady_slow_readers_are_not_cut(void **state) {
    fixture *f = *state;
    enum {
        QUERIES = 2000,                    /* pages of 100 lines, about 5 KB each: 10 MB, more than the */
        ROWS = 100,                        /* kernel's buffers and the write queue hold */
        GAP_MS = 50,
        SLOW_READS = 3 * STEADY_WRITE_TIMEOUT_MS / GAP_MS, /* three write timeouts of slow reading */
    };
    fill_bobs_statement(f);
    raw_client slow, hog;
    assert_int_equal(raw_connect_receive_buffer(&slow, f->port, 16384), 0);
    assert_int_equal(raw_handshake(&slow, &f->bob), 0);
    raw_login(&hog, f->port, &f->bob);
    send_history_pages(&slow, QUERIES, ROWS);
    send_history_queries(&hog, 1000);      /* 50 MB of replies, never read */
    /* Slowly, for three write timeouts and until the hog is cut (the write
     * timeout, then the close linger): bounded by the replies. */
    int read = 0;
    bool hog_cut = false;
    for (; read < QUERIES && (read < SLOW_READS || !hog_cut); read++) {
        receive_history_reply(&slow);
        struct pollfd cut = {.fd = hog.fd, .events = POLLRDHUP};
        if (!hog_cut && poll(&cut, 1, 0) == 1) hog_cut = cut.revents & (POLLERR | POLLHUP | POLLRDHUP);
        usleep(GAP_MS * 1000);
    }
    assert_true(hog_cut);
    raw_close(&hog);
    for (; read < QUERIES; read++) {       /* every reply arrives: the slow reader was never cut */
        receive_history_reply(&slow);
    }
    raw_close(&slow);
    fixture_stop(f);
    assert_int_equal(f->stats.connections_failed, 1); /* the hog */
}

enum { LONG_TURN_FRAME_TIMEOUT_MS = 1000 };

static int setup_long_turn(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .frame_timeout_ms = LONG_TURN_FRAME_TIMEOUT_MS};
    return setup_with(state, &options);
}

/* Seals a balance query of the session's own account, as the next frame of
 * `client`'s channel, into `frame`; returns the frame's size. */
static size_t seal_balance_query(raw_client *client, uint8_t *frame, uint64_t *id_out) {
    Troc__V1__BalanceQuery query = TROC__V1__BALANCE_QUERY__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &query;
    request.has_request_id = 1;
    request.request_id = *id_out = ++client->next_request_id;
    Troc__V1__ClientFrame client_frame = TROC__V1__CLIENT_FRAME__INIT;
    client_frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    client_frame.request = &request;
    uint8_t plaintext[256];
    size_t size = troc__v1__client_frame__pack(&client_frame, plaintext);
    assert_true(size <= sizeof plaintext);
    return troc_channel_seal(&client->channel, plaintext, size, frame);
}

static void expect_balance_reply(raw_client *client, uint64_t id) {
    Troc__V1__ServerFrame *frame = raw_recv(client);
    assert_non_null(frame);
    assert_int_equal(frame->kind_case, TROC__V1__SERVER_FRAME__KIND_RESPONSE);
    assert_int_equal(frame->response->request_id, id);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_BALANCE);
    raw_response_free(frame);
}

/* A turn of the loop can outlast a timeout: here opening one frame stalls
 * for longer than the frame timeout; on a loaded host, answering many
 * frames does.  What begins at the turn's end, the first bytes of the next
 * frame, read in the same turn, is dated from then, not from the turn's
 * start: the peer is not charged for the time the server spent, and cut.
 * A write begun at a turn's end is dated the same way. */
static void test_long_loop_turns_do_not_age_what_begins_after_them(void **state) {
    fixture *f = *state;
    raw_client client;
    raw_login(&client, f->port, &f->alice);
    uint8_t frames[2 * 512];
    uint64_t first_id = 0, second_id = 0;
    size_t first = seal_balance_query(&client, frames, &first_id);
    size_t second = seal_balance_query(&client, frames + first, &second_id);
    atomic_store(&open_stall_ms, 3 * LONG_TURN_FRAME_TIMEOUT_MS / 2);
    /* One send: read in one turn, the first frame whole (opening it stalls),
     * then the first half of the second. */
    assert_int_equal(raw_send_bytes(&client, frames, first + second / 2), 0);
    expect_balance_reply(&client, first_id); /* answered after the stall, and the timers it made due */
    assert_int_equal(atomic_load(&open_stall_ms), 0);
    assert_int_equal(raw_send_bytes(&client, frames + first + second / 2, second - second / 2), 0);
    expect_balance_reply(&client, second_id);
    raw_close(&client);
    fixture_stop(f);
    assert_int_equal(f->stats.connections_failed, 0);
}

/* A reader that pipelines more replies than the write queue holds: the
 * server pauses its reading at the bound, and each completed write resumes
 * it and answers the frames buffered meanwhile.  Their replies must go out
 * then, not at the next event (on a quiet server, the write timer a minute
 * later): every reply arrives within the client's receive timeout. */
static uint64_t pauses_before;

static bool reading_paused_again(const troc_server_stats *stats) {
    return stats->read_pauses > pauses_before;
}

static void test_pipelined_replies_past_the_write_queue_flow(void **state) {
    fixture *f = *state;
    /* About 20 MB of replies: past TROC_WRITE_QUEUE_BYTES_MAX whatever the
     * kernel's buffers take (a send buffer autotuned up to 4 MB; the
     * reader's receive buffer kept small), so that the bound is reached on
     * any machine (with 10 MB, a roomier kernel took enough that it was
     * not, now and then). */
    enum { QUERIES = 400 };
    fill_bobs_statement(f);
    raw_client reader;
    assert_int_equal(raw_connect_receive_buffer(&reader, f->port, 16384), 0);
    assert_int_equal(raw_handshake(&reader, &f->bob), 0);
    pauses_before = live_stats().read_pauses;
    send_history_queries(&reader, QUERIES);
    wait_for_stats(reading_paused_again);  /* the bound is reached before anything is read */
    for (int i = 0; i < QUERIES; i++) {
        receive_history_reply(&reader);
    }
    raw_close(&reader);
    fixture_stop(f);
    assert_true(f->stats.read_pauses >= 1);
}

static int setup_short_frame_timeout(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .frame_timeout_ms = 300};
    return setup_with(state, &options);
}

/* A frame begun must arrive whole within the frame timeout, however long
 * the idle timeout: a peer that stalls or trickles in the middle of a large
 * frame does not pin its read buffer until then. */
static void test_frames_must_arrive_in_time(void **state) {
    fixture *f = *state;
    raw_client stalled, trickling;
    raw_login(&stalled, f->port, &f->alice);
    static uint8_t frame[TROC_FRAME_HEADER_SIZE + 100000];
    troc_frame_header_write(frame, sizeof frame - TROC_FRAME_HEADER_SIZE);
    assert_int_equal(raw_send_bytes(&stalled, frame, 50000), 0);
    int error = 0;
    assert_true(raw_expect_closed(&stalled, &error));
    assert_int_equal(error, TROC_ETIMEOUT);
    raw_close(&stalled);
    raw_login(&trickling, f->port, &f->bob);
    assert_true(trickle_until_answered(&trickling, frame, sizeof frame));
    assert_true(raw_expect_closed(&trickling, &error));
    assert_int_equal(error, TROC_ETIMEOUT);
    raw_close(&trickling);
    raw_client witness;                    /* whole frames, however many, are never late */
    raw_login(&witness, f->port, &f->carol);
    int64_t balance = -1;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(raw_balance(&witness, NULL, &balance), 0);
        usleep(200000);
    }
    raw_close(&witness);
}

static int setup_unix_socket(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0"};
    with_socket = true;
    int rc = setup_with(state, &options);
    with_socket = false;
    return rc;
}

enum { SHARED_CONNECTIONS_MAX = 40 };      /* a quarter is 10: the floors of limits.h apply */

/* What limits.h makes of SHARED_CONNECTIONS_MAX: the share of connections
 * in their handshake, and the part of it one source may hold. */
enum {
    SHARED_HANDSHAKES = TROC_HANDSHAKES_MIN,
    SHARED_SOURCE_HANDSHAKES = SHARED_HANDSHAKES / TROC_HANDSHAKES_SOURCE_SHARE > TROC_HANDSHAKES_SOURCE_MIN
                                   ? SHARED_HANDSHAKES / TROC_HANDSHAKES_SOURCE_SHARE
                                   : TROC_HANDSHAKES_SOURCE_MIN,
};
_Static_assert(SHARED_CONNECTIONS_MAX / TROC_HANDSHAKES_SHARE < TROC_HANDSHAKES_MIN, "the floor sets the share");
_Static_assert(SHARED_SOURCE_HANDSHAKES < SHARED_HANDSHAKES, "one source holds a part of the share");

static int setup_shared_slots(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .connections_max = SHARED_CONNECTIONS_MAX};
    with_socket = true;
    int rc = setup_with(state, &options);
    with_socket = false;
    return rc;
}

/* Connects over TCP (or the Unix socket when `path` is set) and runs the
 * handshake; returns raw_handshake's code, leaving a served client open. */
static int try_login(fixture *f, raw_client *client, const char *path, const troc_keypair *key) {
    int rc = path != NULL ? raw_connect_unix(client, path) : raw_connect(client, f->port);
    assert_int_equal(rc, 0);
    rc = raw_handshake(client, key);
    if (rc != 0) raw_close(client);
    return rc;
}

/* Connects from the loopback address 127.0.0.`host`. */
static int connect_from_host(raw_client *client, int port, int host) {
    char source[16];
    snprintf(source, sizeof source, "127.0.0.%d", host);
    return raw_connect_from(client, port, source);
}

/* Strangers who never finish their handshake hold at most their share of
 * the slots: past it a newcomer over TCP is told busy, sessions already
 * open go on, and the Unix socket has a share of its own.  The strangers
 * come from several addresses, each holding all it may. */
static void test_handshakes_hold_a_share_of_the_slots(void **state) {
    fixture *f = *state;
    raw_client session, silent[SHARED_HANDSHAKES], admin;
    raw_login(&session, f->port, &f->bob);
    for (int i = 0; i < SHARED_HANDSHAKES; i++) {
        assert_int_equal(connect_from_host(&silent[i], f->port, 10 + i / SHARED_SOURCE_HANDSHAKES), 0);
    }
    expect_busy(f->port);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&session, NULL, &balance), 0);
    assert_int_equal(try_login(f, &admin, f->socket_path, &f->admin), 0);
    assert_int_equal(raw_balance(&admin, "bob", &balance), 0);
    raw_close(&admin);
    for (int i = 0; i < SHARED_HANDSHAKES; i++) raw_close(&silent[i]);
    raw_close(&session);
    fixture_stop(f);
    assert_int_equal(f->stats.connections_refused, 1);
    assert_int_equal(f->stats.connections_refused_source, 0);
}

/* A newcomer from 127.0.0.`host` is told busy, then closed. */
static void expect_busy_from(int port, int host) {
    raw_client extra;
    assert_int_equal(connect_from_host(&extra, port, host), 0);
    int error = 0;
    assert_true(raw_expect_closed(&extra, &error));
    assert_int_equal(error, TROC_EBUSY);
    raw_close(&extra);
}

/* One stranger reconnecting as fast as it is cut holds only its source's
 * part of the handshake share: the next newcomer from its address is told
 * busy, while one from another address (127.0.0.2, still loopback) is
 * served.  A handshake that finishes, or a connection that closes, gives
 * its slot back to the source. */
static void test_one_source_holds_a_part_of_the_handshakes(void **state) {
    fixture *f = *state;
    raw_client silent[SHARED_SOURCE_HANDSHAKES], other, extra;
    for (int i = 0; i < SHARED_SOURCE_HANDSHAKES; i++) assert_int_equal(connect_from_host(&silent[i], f->port, 1), 0);
    expect_busy_from(f->port, 1);
    assert_int_equal(connect_from_host(&other, f->port, 2), 0);
    assert_int_equal(raw_handshake(&other, &f->bob), 0);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&other, NULL, &balance), 0);
    /* A finished handshake frees one slot, exactly: a newcomer takes it,
     * and the next is refused again. */
    assert_int_equal(raw_handshake(&silent[0], &f->carol), 0);
    assert_int_equal(connect_from_host(&extra, f->port, 1), 0);
    expect_busy_from(f->port, 1);
    /* A closed one frees its slot once the server sees it close. */
    raw_close(&silent[1]);
    bool served = false;
    for (int attempt = 0; attempt < 100 && !served; attempt++) {
        raw_client again;
        assert_int_equal(connect_from_host(&again, f->port, 1), 0);
        served = raw_handshake(&again, &f->bob) == 0;
        if (served) assert_int_equal(raw_balance(&again, NULL, &balance), 0);
        raw_close(&again);
        if (!served) usleep(20000);
    }
    assert_true(served);
    assert_int_equal(raw_balance(&silent[0], NULL, &balance), 0);
    raw_close(&extra);
    for (int i = 0; i < SHARED_SOURCE_HANDSHAKES; i++) raw_close(&silent[i]);
    raw_close(&other);
    fixture_stop(f);
    assert_true(f->stats.connections_refused_source >= 2);
    assert_int_equal(f->stats.connections_refused, f->stats.connections_refused_source);
}

/* Sessions over TCP fill all but TROC_CONNECTIONS_LOCAL_RESERVED slots (a
 * quarter of the limit here): the rest are the Unix socket's, so a local
 * administrator still gets in. */
static void test_unix_socket_keeps_slots_of_its_own(void **state) {
    fixture *f = *state;
    enum { RESERVED = SHARED_CONNECTIONS_MAX / 4 < TROC_CONNECTIONS_LOCAL_RESERVED ? SHARED_CONNECTIONS_MAX / 4
                                                                                     : TROC_CONNECTIONS_LOCAL_RESERVED };
    static raw_client clients[SHARED_CONNECTIONS_MAX + 2];
    int tcp = 0, local = 0;
    while (tcp < SHARED_CONNECTIONS_MAX + 1 && try_login(f, &clients[tcp], NULL, &f->bob) == 0) tcp++;
    assert_int_equal(tcp, SHARED_CONNECTIONS_MAX - RESERVED);
    while (tcp + local < SHARED_CONNECTIONS_MAX + 1 &&
           try_login(f, &clients[tcp + local], f->socket_path, &f->admin) == 0) {
        local++;
    }
    assert_int_equal(local, RESERVED);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&clients[tcp], "bob", &balance), 0);
    for (int i = 0; i < tcp + local; i++) raw_close(&clients[i]);
    fixture_stop(f);
    assert_int_equal(f->stats.connections_refused, 2);
}

/* Waits (bounded) until the server reads no more requests and pauses no
 * more for its budget: peers that never read have filled it, and the
 * writes the kernel could take whole are done, so it stays full. */
static troc_server_stats wait_for_quiet(void) {
    troc_server_stats before = live_stats();
    for (int turn = 0; turn < 100; turn++) {
        usleep(200000);
        troc_server_stats after = live_stats();
        if (after.requests == before.requests && after.memory_full == before.memory_full) return after;
        before = after;
    }
    fail_msg("the server never settled");
    return before;
}

static int setup_small_budget_with_socket(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .memory_bytes_max = TROC_SERVER_MEMORY_BYTES_MIN};
    with_socket = true;
    int rc = setup_with(state, &options);
    with_socket = false;
    return rc;
}

/* Peers over TCP that never read their replies fill the budget: served
 * connections over TCP pause, but a newcomer's handshake is still read
 * (so it is served, not left to time out), and the Unix socket keeps a
 * reserve of the budget that TCP cannot take, so a local administrator
 * gets in and is answered while the flood lasts (for up to the write
 * timeout, a minute here). */
static void test_full_budget_leaves_room_for_handshakes_and_the_unix_socket(void **state) {
    fixture *f = *state;
    enum { HOGS = 3, QUERIES = 1000 };     /* each could queue 8 MiB: three pass the budget */
    fill_bobs_statement(f);
    raw_client hogs[HOGS], newcomer, admin;
    for (int i = 0; i < HOGS; i++) raw_login(&hogs[i], f->port, &f->bob);
    for (int i = 0; i < HOGS; i++) send_history_queries(&hogs[i], QUERIES);
    wait_for_stats(memory_full);
    uint64_t full_before = wait_for_quiet().memory_full;
    assert_int_equal(try_login(f, &newcomer, NULL, &f->carol), 0);
    assert_int_equal(try_login(f, &admin, f->socket_path, &f->admin), 0);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&admin, "bob", &balance), 0);
    assert_int_equal(balance, TROC_PAGE_ROWS_MAX);
    /* The hogs held the budget meanwhile: it never fell back to resume. */
    assert_int_equal(live_stats().memory_full, full_before);
    raw_close(&admin);
    raw_close(&newcomer);
    for (int i = 0; i < HOGS; i++) raw_close(&hogs[i]);
    fixture_stop(f);
    assert_true(f->stats.memory_bytes_peak <= TROC_SERVER_MEMORY_BYTES_MIN + 2u * 1024u * 1024u);
}

static void test_unix_socket_speaks_the_same_protocol(void **state) {
    fixture *f = *state;
    struct stat info;
    assert_int_equal(stat(f->socket_path, &info), 0);
    assert_true(S_ISSOCK(info.st_mode));
    assert_int_equal(info.st_mode & 0777, 0660);
    raw_client admin;
    assert_int_equal(raw_connect_unix(&admin, f->socket_path), 0);
    assert_int_equal(raw_handshake(&admin, &f->admin), 0);
    assert_int_equal(admin.role, TROC__V1__ROLE__ROLE_ADMIN);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&admin, "carol", &balance), 0);
    assert_int_equal(balance, 0);
    raw_close(&admin);
    fixture_stop(f);
    assert_int_equal(stat(f->socket_path, &info), -1);   /* removed at stop */
}

/* ------------------------------------------------------------- load */

enum { LOAD_THREADS = 4, LOAD_CONNECTIONS = 6, LOAD_CONNECTIONS_MAX = 8, LOAD_TRANSFERS = 150 };

typedef struct load_thread {
    fixture *f;
    uv_barrier_t *barrier;                 /* every connection is open before any works */
    int refused;                           /* connections told "busy" */
    int64_t paid[3];                       /* acknowledged cents paid by alice, bob, carol */
} load_thread;

/* Pipelines LOAD_TRANSFERS transfers on one served connection as fast as
 * the window allows; returns the cents acknowledged. */
static int64_t load_pay(fixture *f, raw_client *client, const troc_keypair *key, const char *payer,
                        const char *payee) {
    pipeline p = {.client = *client};
    p.items = calloc(LOAD_TRANSFERS, sizeof *p.items);
    assert_non_null(p.items);
    for (int i = 0; i < LOAD_TRANSFERS; i++) sign_transfer(&p.items[i], key, f->territory_key, payer, payee, 7);
    while (p.sent < 64) pipeline_send_next(&p);
    while (p.answered < LOAD_TRANSFERS) {
        pipeline_receive(f, &p);
        if (p.sent < LOAD_TRANSFERS) pipeline_send_next(&p);
    }
    free(p.items);
    *client = p.client;
    return 7 * LOAD_TRANSFERS;
}

static void load_thread_main(void *argument) {
    load_thread *t = argument;
    fixture *f = t->f;
    const troc_keypair *keys[3] = {&f->alice, &f->bob, &f->carol};
    const char *names[3] = {"alice", "bob", "carol"};
    raw_client clients[LOAD_CONNECTIONS];
    bool served[LOAD_CONNECTIONS];
    for (int c = 0; c < LOAD_CONNECTIONS; c++) {
        assert_int_equal(raw_connect(&clients[c], f->port), 0);
        int rc = raw_handshake(&clients[c], keys[c % 3]);
        served[c] = rc == 0;
        if (rc != 0) {
            assert_int_equal(rc, TROC_EBUSY);
            t->refused++;
        }
    }
    uv_barrier_wait(t->barrier);
    for (int c = 0; c < LOAD_CONNECTIONS; c++) {
        if (served[c]) t->paid[c % 3] += load_pay(f, &clients[c], keys[c % 3], names[c % 3], names[(c + 1) % 3]);
        raw_close(&clients[c]);
    }
}

static int setup_load(void **state) {
    troc_server_options options = {.listen = "127.0.0.1:0", .connections_max = LOAD_CONNECTIONS_MAX};
    return setup_with(state, &options);
}

/* Far more connections than the bound, all pushing at once: the excess is
 * told "busy", the daemon stays up, its request memory stays within the
 * bounds, and every acknowledged transfer is in the balances. */
static void test_load_past_the_connection_limit(void **state) {
    fixture *f = *state;
    uv_barrier_t barrier;
    assert_int_equal(uv_barrier_init(&barrier, LOAD_THREADS), 0);
    load_thread threads[LOAD_THREADS];
    uv_thread_t ids[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++) {
        threads[i] = (load_thread){.f = f, .barrier = &barrier};
        assert_int_equal(uv_thread_create(&ids[i], load_thread_main, &threads[i]), 0);
    }
    int refused = 0;
    int64_t paid[3] = {0, 0, 0};
    for (int i = 0; i < LOAD_THREADS; i++) {
        assert_int_equal(uv_thread_join(&ids[i]), 0);
        refused += threads[i].refused;
        for (int m = 0; m < 3; m++) paid[m] += threads[i].paid[m];
    }
    uv_barrier_destroy(&barrier);
    assert_int_equal(refused, LOAD_THREADS * LOAD_CONNECTIONS - LOAD_CONNECTIONS_MAX);
    raw_client admin;
    raw_login(&admin, f->port, &f->admin);   /* still serving */
    raw_close(&admin);
    fixture_stop(f);
    assert_int_equal(ledger_balance(f, "alice"), paid[2] - paid[0]);
    assert_int_equal(ledger_balance(f, "bob"), paid[0] - paid[1]);
    assert_int_equal(ledger_balance(f, "carol"), paid[1] - paid[2]);
    assert_int_equal(f->stats.connections_refused, (uint64_t)refused);
    assert_true(f->stats.memory_bytes_peak > 0);
    assert_true(f->stats.memory_bytes_peak <= TROC_SERVER_MEMORY_BYTES_MAX);
}

/* ------------------------------------------------------------ backups */

/* Sends a BackupRequest for `path` and returns the Error's code (0 for a
 * BackupReply). */
static int raw_backup(raw_client *client, const char *path) {
    Troc__V1__BackupRequest backup = TROC__V1__BACKUP_REQUEST__INIT;
    backup.path = (char *)path;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BACKUP;
    request.backup = &backup;
    Troc__V1__ServerFrame *frame = raw_call(client, &request);
    int code = frame->response->kind_case == TROC__V1__RESPONSE__KIND_ERROR ? frame->response->error->code : 0;
    if (code == 0) {
        assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_BACKUP);
        assert_true(frame->response->backup->journal_entries >= 2);
    }
    raw_response_free(frame);
    return code;
}

static void test_backup_requests(void **state) {
    fixture *f = *state;
    raw_client admin, alice;
    raw_login(&admin, f->port, &f->admin);
    raw_login(&alice, f->port, &f->alice);
    char destination[160];
    snprintf(destination, sizeof destination, "%s/backup", f->directory);
    assert_int_equal(raw_backup(&alice, destination), TROC_EDENIED);
    assert_int_equal(raw_backup(&admin, "backup"), TROC_EUSAGE);
    assert_int_equal(raw_backup(&admin, ""), TROC_EUSAGE);
    assert_int_equal(raw_backup(&admin, NULL), TROC_EUSAGE);
    char too_long[TROC_BACKUP_PATH_LENGTH_MAX + 2];
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[0] = '/';
    too_long[sizeof too_long - 1] = '\0';
    assert_int_equal(raw_backup(&admin, too_long), TROC_EUSAGE);
    assert_int_equal(raw_backup(&admin, destination), 0);
    assert_int_equal(raw_backup(&admin, destination), TROC_ENOT_EMPTY);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&alice, NULL, &balance), 0); /* both sessions still open */
    assert_int_equal(raw_balance(&admin, "alice", &balance), 0);
    raw_close(&alice);
    raw_close(&admin);
    struct stat info;
    char path[200];
    snprintf(path, sizeof path, "%s/territory.key", destination);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
}

/* A backup that takes long: a second one is told busy, the server keeps
 * serving, the first one's connection is not closed as idle, and stopping
 * the server cancels it. */
static void test_backup_one_at_a_time_and_cancelled_by_stop(void **state) {
    fixture *f = *state;
    raw_client first, second;
    raw_login(&first, f->port, &f->admin);
    raw_login(&second, f->port, &f->admin);
    char destination[160];
    snprintf(destination, sizeof destination, "%s/backup", f->directory);
    atomic_store(&backup_calls, 0);
    atomic_store(&backup_held, true);
    Troc__V1__BackupRequest backup = TROC__V1__BACKUP_REQUEST__INIT;
    backup.path = destination;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BACKUP;
    request.backup = &backup;
    uint64_t id = raw_send_request(&first, &request);
    for (int waited = 0; waited < 1000 && atomic_load(&backup_calls) == 0; waited++) usleep(5000);
    assert_int_equal(atomic_load(&backup_calls), 1);
    assert_int_equal(raw_backup(&second, destination), TROC_EBUSY);
    int64_t balance = -1;
    assert_int_equal(raw_balance(&second, "bob", &balance), 0);
    raw_close(&second);
    usleep(1000000);                       /* longer than the idle timeout of setup_slow_client */
    troc_server_stop(f->server);
    Troc__V1__ServerFrame *frame = raw_recv(&first);
    assert_non_null(frame);
    assert_int_equal(frame->response->request_id, id);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_ERROR);
    assert_int_equal(frame->response->error->code, -ECANCELED);
    raw_response_free(frame);
    raw_close(&first);
    fixture_stop(f);
    struct stat info;
    assert_int_equal(stat(destination, &info), -1);
    assert_int_equal(atomic_load(&backup_calls), 1);
}

/* ------------------------------------------------------ trocd itself */

/* Runs `trocd ARGS...` to completion; returns its exit status. */
static int trocd_command(const char *const *arguments) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execv(getenv("TROCD"), (char *const *)arguments);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Starts `trocd run` on a free port; waits for its port file. */
static void daemon_start(fixture *f) {
    char port_file[160], log_file[160];
    snprintf(port_file, sizeof port_file, "%s/port", f->directory);
    snprintf(log_file, sizeof log_file, "%s/trocd.log", f->directory);
    unlink(port_file);
    f->daemon = fork();
    assert_true(f->daemon >= 0);
    if (f->daemon == 0) {
        FILE *log = freopen(log_file, "a", stderr);
        (void)log;
        execl(getenv("TROCD"), "trocd", "run", "--data", f->ledger_directory, "--listen", "127.0.0.1:0",
              "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    f->port = 0;
    for (int waited = 0; waited < 1000 && f->port == 0; waited++) {
        FILE *file = fopen(port_file, "r");
        if (file != NULL) {
            if (fscanf(file, "%d", &f->port) != 1) f->port = 0;
            fclose(file);
        }
        if (f->port == 0) usleep(10000);
    }
    assert_int_not_equal(f->port, 0);
}

/* Signals the daemon and returns its exit status (128 + signal if killed). */
static int daemon_stop(fixture *f, int signal_number) {
    assert_int_equal(kill(f->daemon, signal_number), 0);
    int status = 0;
    assert_int_equal(waitpid(f->daemon, &status, 0), f->daemon);
    f->daemon = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int setup_daemon(void **state) {
    if (getenv("TROCD") == NULL) {
        print_message("TROCD is not set: the tests of trocd itself need its path\n");
        return -1;
    }
    fixture *f = fixture_create();
    daemon_start(f);
    admit_members(f);
    *state = f;
    return 0;
}

/* Every id of `acknowledged` is a line of bob's statement, bob's balance is
 * `bob_cents`, balances sum to zero and trocd verify says ok. */
static void check_after_restart(fixture *f, signed_item *acknowledged, size_t count, int64_t bob_cents) {
    assert_int_equal(troc_ledger_open(&f->ledger, f->ledger_directory), 0);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->ledger, &read), 0);
    static troc_statement_line lines[TROC_PAGE_ROWS_MAX];
    size_t found = 0, line_count = 0;
    uint64_t before = 0;
    do {
        assert_int_equal(troc_ledger_statement(read, "bob", before, lines, TROC_PAGE_ROWS_MAX, &line_count, &before), 0);
        for (size_t l = 0; l < line_count; l++) {
            for (size_t i = 0; i < count; i++) found += memcmp(lines[l].id, acknowledged[i].id, TROC_ID_SIZE) == 0;
        }
    } while (before != 0);
    troc_ledger_read_end(read);
    assert_int_equal(found, count);
    int64_t alice = ledger_balance(f, "alice"), bob = ledger_balance(f, "bob"), carol = ledger_balance(f, "carol");
    assert_int_equal(bob, bob_cents);
    assert_int_equal(alice + bob + carol, 0);
    troc_ledger_close(f->ledger);
    f->ledger = NULL;
    const char *verify[] = {"trocd", "verify", "--data", f->ledger_directory, NULL};
    assert_int_equal(trocd_command(verify), 0);
}

/* SIGTERM while requests are in flight, and the client goes on sending:
 * every request the daemon read is committed and answered (its replies
 * are not lost to a reset when it closes with requests unread), it exits
 * 0, and what it acknowledged is there. */
static void test_sigterm_with_work_in_flight(void **state) {
    fixture *f = *state;
    enum { COUNT = 1200, WINDOW = TROC_REQUESTS_IN_FLIGHT_MAX, SIGNAL_AFTER = 300 };
    pipeline p;
    memset(&p, 0, sizeof p);
    /* A small receive buffer: replies wait in the daemon's socket while the
     * client is slow to read, as they would for a busy client. */
    assert_int_equal(raw_connect_receive_buffer(&p.client, f->port, 4096), 0);
    assert_int_equal(raw_handshake(&p.client, &f->alice), 0);
    p.items = calloc(COUNT, sizeof *p.items);
    assert_non_null(p.items);
    for (int i = 0; i < COUNT; i++) sign_transfer(&p.items[i], &f->alice, f->territory_key, "alice", "bob", 3);
    while (p.sent < WINDOW) pipeline_send_next(&p);
    pid_t daemon = f->daemon;
    while (p.answered < SIGNAL_AFTER) {
        Troc__V1__ServerFrame *frame = raw_recv(&p.client);
        assert_non_null(frame);
        assert_int_equal(frame->response->submit->results[0]->code, TROC_RESULT_OK);
        raw_response_free(frame);
        p.answered++;
        pipeline_send_next(&p);
    }
    assert_int_equal(kill(daemon, SIGTERM), 0);
    for (int i = 0; i < WINDOW && p.sent < COUNT; i++) {
        if (!pipeline_try_send_next(&p)) break; /* more than the daemon will read */
    }
    usleep(300 * 1000);                    /* its replies wait while it stops */
    bool sending = true;
    for (;;) {                             /* the rest of the replies, then the end of the stream */
        Troc__V1__ServerFrame *frame = raw_recv(&p.client);
        if (frame == NULL) break;
        assert_int_equal(frame->response->submit->results[0]->code, TROC_RESULT_OK);
        raw_response_free(frame);
        p.answered++;
        if (sending && p.sent < COUNT) sending = pipeline_try_send_next(&p);
    }
    int status = 0;
    assert_int_equal(waitpid(daemon, &status, 0), daemon);
    f->daemon = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(p.answered >= SIGNAL_AFTER && p.answered <= p.sent);
    check_after_restart(f, p.items, p.answered, 3 * (int64_t)p.answered);
    raw_close(&p.client);
    free(p.items);
}

/* kill -9 right after acknowledged transfers, with more in flight: after a
 * restart every acknowledged one is there, and the daemon serves again. */
static void test_kill_9_loses_nothing_acknowledged(void **state) {
    fixture *f = *state;
    enum { COUNT = 600, ACKNOWLEDGED = 400 };
    pipeline p;
    memset(&p, 0, sizeof p);
    raw_login(&p.client, f->port, &f->alice);
    p.items = calloc(COUNT, sizeof *p.items);
    assert_non_null(p.items);
    for (int i = 0; i < COUNT; i++) sign_transfer(&p.items[i], &f->alice, f->territory_key, "alice", "bob", 5);
    while (p.sent < 128) pipeline_send_next(&p);
    while (p.answered < ACKNOWLEDGED) {
        Troc__V1__ServerFrame *frame = raw_recv(&p.client);
        assert_non_null(frame);
        assert_int_equal(frame->response->submit->results[0]->code, TROC_RESULT_OK);
        raw_response_free(frame);
        p.answered++;
        if (p.sent < COUNT) pipeline_send_next(&p);
    }
    assert_int_equal(daemon_stop(f, SIGKILL), 128 + SIGKILL);
    raw_close(&p.client);
    daemon_start(f);                       /* the daemon starts again on the same ledger */
    raw_client bob;
    raw_login(&bob, f->port, &f->bob);
    int64_t balance = 0;
    assert_int_equal(raw_balance(&bob, NULL, &balance), 0);
    assert_true(balance >= 5 * ACKNOWLEDGED);
    raw_close(&bob);
    assert_int_equal(daemon_stop(f, SIGTERM), 0);
    check_after_restart(f, p.items, ACKNOWLEDGED, balance);
    free(p.items);
}

int main(void) {
    uv_mutex_init(&hold_mutex);
    uv_cond_init(&hold_cond);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_gives_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pay_and_read_balances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_reads_only_its_own_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_and_member_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_action_signed_by_member_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misshapen_envelopes_are_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_bodies_of_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resubmission_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_out_of_memory_closes_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_signed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_size_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_before_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_after_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_and_replayed_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_transfers_that_do_not_open_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_under_pipelined_submits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_bounds_requests_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_full_refuses_the_batch_and_keeps_serving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_grows_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup_small_limits, teardown),
        cmocka_unit_test_setup_teardown(test_trickling_peers_time_out, setup_small_limits, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client_is_paused_then_cut, setup_slow_client, teardown),
        cmocka_unit_test_setup_teardown(test_busy_past_the_connection_limit, setup_small_limits, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_limit_caps_connections, setup_few_descriptors,
                                        teardown_descriptors),
        cmocka_unit_test_setup_teardown(test_descriptor_limit_raised, NULL, teardown_descriptors),
        cmocka_unit_test_setup_teardown(test_large_frames_wait_for_memory, setup_small_budget, teardown),
        cmocka_unit_test_setup_teardown(test_unread_replies_count_against_the_budget, setup_small_budget, teardown),
        cmocka_unit_test_setup_teardown(test_full_budget_leaves_room_for_handshakes_and_the_unix_socket,
                                        setup_small_budget_with_socket, teardown),
        cmocka_unit_test_setup_teardown(test_frames_must_arrive_in_time, setup_short_frame_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_peers_that_never_read_are_cut, setup_short_write_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_steady_slow_readers_are_not_cut, setup_steady_write_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_long_loop_turns_do_not_age_what_begins_after_them, setup_long_turn,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_replies_past_the_write_queue_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_socket_speaks_the_same_protocol, setup_unix_socket, teardown),
        cmocka_unit_test_setup_teardown(test_handshakes_hold_a_share_of_the_slots, setup_shared_slots, teardown),
        cmocka_unit_test_setup_teardown(test_one_source_holds_a_part_of_the_handshakes, setup_shared_slots, teardown),
        cmocka_unit_test_setup_teardown(test_unix_socket_keeps_slots_of_its_own, setup_shared_slots, teardown),
        cmocka_unit_test_setup_teardown(test_load_past_the_connection_limit, setup_load, teardown),
        cmocka_unit_test_setup_teardown(test_backup_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_one_at_a_time_and_cancelled_by_stop, setup_slow_client, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_with_work_in_flight, setup_daemon, teardown),
        cmocka_unit_test_setup_teardown(test_kill_9_loses_nothing_acknowledged, setup_daemon, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
