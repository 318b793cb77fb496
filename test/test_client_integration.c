/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of libtroc against a real trocd.  Each test initialises
 * a territory in a fresh temporary directory, starts `trocd run` on a free
 * port (the path of trocd comes from $TROCD), drives it through libtroc
 * only, and stops it with SIGTERM, which must end it with status 0.
 *
 * They cover what the command line cannot send: refusals of items a
 * careful client would never build (zero and oversized amounts, long memos,
 * illegal names, another member's key, a broken signature, an admin action
 * signed by a member), batches with a code per item, idempotent
 * resubmission on a new connection, pipelined submits, statement paging,
 * and the session's limits on reads.
 */
#include "troc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_int.h"

#define START_TIMEOUT_MS 10000

typedef struct territory {
    char directory[64];
    char address[64];                       /* 127.0.0.1:PORT */
    uint8_t key[TROC_PUBLIC_KEY_SIZE];      /* the territory's */
    troc_key *admin_key;
    pid_t pid;
    troc_client *admin;                     /* connected with the admin key */
} territory;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static const char *trocd_path(void) {
    const char *path = getenv("TROCD");
    return path != NULL ? path : "trocd";
}

/* Starts argv with stdout to `out_path` and stderr to the log; its pid, or -1. */
static pid_t spawn(char **argv, const char *out_path, const char *log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &actions, NULL, argv, NULL);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : -1;
}

static void path_in(const territory *t, const char *name, char *path, size_t size) {
    snprintf(path, size, "%s/%s", t->directory, name);
}

/* trocd init, and the territory key it prints (the last 64-hex word). */
static void territory_init(territory *t) {
    char data[128], out[128], log[128], admin_hex[TROC_PUBLIC_KEY_HEX_SIZE];
    path_in(t, "ledger", data, sizeof data);
    path_in(t, "init.out", out, sizeof out);
    path_in(t, "trocd.log", log, sizeof log);
    uint8_t admin_public[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(t->admin_key, admin_public);
    troc_public_key_to_hex(admin_public, admin_hex);
    char *argv[] = {(char *)trocd_path(), "init", "--data", data, "--territory", "testland", "--admin", admin_hex,
                    "--unit", "EUR", NULL};
    pid_t pid = spawn(argv, out, log);
    assert_true(pid > 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *file = fopen(out, "r");
    assert_non_null(file);
    char word[256];
    bool found = false;
    while (fscanf(file, "%255s", word) == 1) {
        if (strlen(word) == 64 && troc_public_key_from_hex(word, t->key) == 0) found = true;
    }
    fclose(file);
    assert_true(found);
}

static void sleep_ms(long ms) {
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* trocd run on a free port; waits for its port file. */
static void territory_start(territory *t) {
    char data[128], port_file[128], out[128], log[128];
    path_in(t, "ledger", data, sizeof data);
    path_in(t, "port", port_file, sizeof port_file);
    path_in(t, "run.out", out, sizeof out);
    path_in(t, "trocd.log", log, sizeof log);
    char *argv[] = {(char *)trocd_path(), "run", "--data", data, "--listen", "127.0.0.1:0", "--port-file",
                    port_file, NULL};
    t->pid = spawn(argv, out, log);
    assert_true(t->pid > 0);
    int port = 0;
    for (int waited = 0; port == 0 && waited < START_TIMEOUT_MS; waited += 10) {
        FILE *file = fopen(port_file, "r");
        if (file != NULL) {
            if (fscanf(file, "%d", &port) != 1) port = 0;
            fclose(file);
        }
        if (port == 0) sleep_ms(10);
    }
    assert_true(port > 0);
    snprintf(t->address, sizeof t->address, "127.0.0.1:%d", port);
}

static void territory_stop(territory *t) {
    if (t->pid <= 0) return;
    assert_int_equal(kill(t->pid, SIGTERM), 0);
    int status = 0;
    assert_int_equal(waitpid(t->pid, &status, 0), t->pid);
    t->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A client connected with `key`, pinned to the territory's key. */
static troc_client *connect_as(territory *t, const troc_key *key) {
    troc_client *client = NULL;
    assert_int_equal(troc_client_create(&client), 0);
    assert_int_equal(troc_client_set_key(client, key), 0);
    assert_int_equal(troc_client_set_server_key(client, t->key), 0);
    int rc = troc_client_connect(client, t->address);
    if (rc != 0) print_error("connect: %s\n", troc_client_error_message(client));
    assert_int_equal(rc, 0);
    return client;
}

static int setup(void **state) {
    static territory t;
    memset(&t, 0, sizeof t);
    strcpy(t.directory, "/tmp/troc-integration-XXXXXX");
    if (mkdtemp(t.directory) == NULL) return -1;
    if (troc_key_generate(&t.admin_key) != 0) return -1;
    territory_init(&t);
    territory_start(&t);
    t.admin = connect_as(&t, t.admin_key);
    *state = &t;
    return 0;
}

static int teardown(void **state) {
    territory *t = *state;
    troc_client_free(t->admin);
    territory_stop(t);
    troc_key_free(t->admin_key);
    return nftw(t->directory, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Signs and submits one item with `client`; returns its result code. */
static int submit_one(troc_client *client, troc_envelope *envelope, troc_submit_result *result) {
    troc_submit_result local;
    if (result == NULL) result = &local;
    const troc_envelope *list[] = {envelope};
    int rc = troc_client_submit(client, list, 1, result, 0);
    if (rc != 0) print_error("submit: %s\n", troc_client_error_message(client));
    assert_int_equal(rc, 0);
    return result->code;
}

static int admin_action(territory *t, const troc_admin_action *action) {
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    assert_int_equal(troc_sign_admin(t->admin, NULL, action, envelope), 0);
    int code = submit_one(t->admin, envelope, NULL);
    troc_envelope_free(envelope);
    return code;
}

/* Admits `name` with a new key (returned) and a credit limit. */
static troc_key *admit(territory *t, const char *name, int64_t credit_limit_cents) {
    troc_key *key = NULL;
    assert_int_equal(troc_key_generate(&key), 0);
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(key, public_key);
    troc_admin_action add = {.kind = TROC_ADMIN_MEMBER_ADD, .member = name, .public_key = public_key,
                             .has_credit_limit = true, .credit_limit_cents = credit_limit_cents};
    assert_int_equal(admin_action(t, &add), TROC_RESULT_OK);
    return key;
}

static int pay(troc_client *client, const troc_key *key, const char *payer, const char *payee, int64_t cents,
               const char *memo) {
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_transfer transfer = {.payer = payer, .payee = payee, .amount_cents = cents, .memo = memo};
    assert_int_equal(troc_sign_transfer(client, key, &transfer, envelope), 0);
    int code = submit_one(client, envelope, NULL);
    troc_envelope_free(envelope);
    return code;
}

static int64_t balance_of(territory *t, const char *member) {
    troc_balance balance;
    assert_int_equal(troc_client_balance(t->admin, member, &balance), 0);
    return balance.balance_cents;
}

/* ----------------------------------------------------------------- tests */

static void test_story(void **state) {
    territory *t = *state;
    assert_int_equal(troc_client_role(t->admin), TROC_SESSION_ADMIN);
    assert_string_equal(troc_client_territory(t->admin), "testland");
    assert_string_equal(troc_client_unit(t->admin), "EUR");
    troc_key *alice = admit(t, "alice", 50000);
    troc_key *bob = admit(t, "bob", 30000);
    troc_key *carol = admit(t, "carol", 10000);
    troc_client *as_alice = connect_as(t, alice);
    troc_client *as_carol = connect_as(t, carol);
    assert_int_equal(troc_client_role(as_alice), TROC_SESSION_MEMBER);
    assert_string_equal(troc_client_member(as_alice), "alice");
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", 12050, "bread"), TROC_RESULT_OK);
    assert_int_equal(pay(as_carol, NULL, NULL, "alice", 10001, NULL), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(pay(as_carol, NULL, NULL, "alice", 10000, "all of it"), TROC_RESULT_OK);
    assert_int_equal(balance_of(t, "alice"), -2050);
    assert_int_equal(balance_of(t, "bob"), 12050);
    assert_int_equal(balance_of(t, "carol"), -10000);
    troc_balance own;
    assert_int_equal(troc_client_balance(as_alice, NULL, &own), 0);
    assert_string_equal(own.member, "alice");
    assert_int_equal(own.credit_limit_cents, 50000);
    assert_false(own.has_balance_max);
    assert_false(own.frozen);
    /* The statement, one line per page: newest first, running balance. */
    troc_history_line line;
    size_t count = 0;
    uint64_t next = 0;
    assert_int_equal(troc_client_history(as_alice, NULL, 0, &line, 1, &count, &next), 0);
    assert_int_equal(count, 1);
    assert_string_equal(line.counterparty, "carol");
    assert_int_equal(line.amount_cents, 10000);
    assert_int_equal(line.balance_after_cents, -2050);
    assert_string_equal(line.memo, "all of it");
    assert_int_equal(line.kind, TROC_HISTORY_TRANSFER);
    assert_true(next != 0);
    assert_int_equal(troc_client_history(as_alice, NULL, next, &line, 1, &count, &next), 0);
    assert_int_equal(count, 1);
    assert_string_equal(line.counterparty, "bob");
    assert_int_equal(line.amount_cents, -12050);
    assert_int_equal(line.balance_after_cents, -12050);
    if (next != 0) {
        assert_int_equal(troc_client_history(as_alice, NULL, next, &line, 1, &count, &next), 0);
        assert_int_equal(count, 0);
    }
    /* The member list, one per page, `after` and the next page's name in the
     * same buffer: the loop a caller writes ends, having seen each once. */
    char after[TROC_NAME_LENGTH_MAX + 1] = "";
    const char *listed[] = {"alice", "bob", "carol"};
    size_t pages = 0;
    do {
        troc_balance member;
        assert_int_equal(troc_client_member_list(t->admin, after, 0, &member, 1, &count, after), 0);
        assert_true(pages < 3);
        assert_int_equal(count, 1);
        assert_string_equal(member.member, listed[pages++]);
    } while (after[0] != '\0');
    assert_int_equal(pages, 3);
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(t->admin, &stats), 0);
    assert_int_equal(stats.members, 3);
    assert_int_equal(stats.transfers, 2);
    assert_int_equal(stats.balance_sum_cents, 0);
    assert_int_equal(stats.debt_cents, 12050);
    assert_string_equal(stats.territory, "testland");
    troc_client_free(as_alice);
    troc_client_free(as_carol);
    troc_key_free(alice);
    troc_key_free(bob);
    troc_key_free(carol);
}

static void test_refusals_of_malformed_items(void **state) {
    territory *t = *state;
    troc_key *alice = admit(t, "alice", 100000);
    troc_key *bob = admit(t, "bob", 100000);
    troc_client *as_alice = connect_as(t, alice);
    char long_memo[TROC_MEMO_LENGTH_MAX + 2];
    memset(long_memo, 'm', sizeof long_memo - 1);
    long_memo[sizeof long_memo - 1] = '\0';
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", 0, NULL), TROC_RESULT_AMOUNT_NOT_POSITIVE);
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", -5, NULL), TROC_RESULT_AMOUNT_NOT_POSITIVE);
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", TROC_AMOUNT_CENTS_MAX + 1, NULL), TROC_RESULT_AMOUNT_TOO_LARGE);
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", 1, long_memo), TROC_RESULT_MEMO_TOO_LONG);
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", 1, "bad \x01 byte"), TROC_RESULT_INVALID_TEXT);
    assert_int_equal(pay(as_alice, NULL, NULL, "bob", 1, "bad \xff utf-8"), TROC_RESULT_INVALID_TEXT);
    assert_int_equal(pay(as_alice, NULL, NULL, "Bob", 1, NULL), TROC_RESULT_INVALID_NAME);
    assert_int_equal(pay(as_alice, NULL, NULL, "dave", 1, NULL), TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(pay(as_alice, NULL, "dave", "bob", 1, NULL), TROC_RESULT_UNKNOWN_PAYER);
    /* alice's key signing for bob's account. */
    assert_int_equal(pay(as_alice, NULL, "bob", "alice", 1, NULL), TROC_RESULT_KEY_NOT_OWNED);
    /* A key nobody registered. */
    troc_key *stranger = NULL;
    assert_int_equal(troc_key_generate(&stranger), 0);
    assert_int_equal(pay(as_alice, stranger, "alice", "bob", 1, NULL), TROC_RESULT_UNKNOWN_KEY);
    /* bob's own key through alice's session is bob's payment: accepted. */
    assert_int_equal(pay(as_alice, bob, "bob", "alice", 1, NULL), TROC_RESULT_OK);
    /* A signature that does not cover the body. */
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_transfer transfer = {.payee = "bob", .amount_cents = 1};
    assert_int_equal(troc_sign_transfer(as_alice, NULL, &transfer, envelope), 0);
    envelope->signature[0] ^= 0x01;
    assert_int_equal(submit_one(as_alice, envelope, NULL), TROC_RESULT_BAD_SIGNATURE);
    /* Signed for another territory. */
    troc_client *elsewhere = NULL;
    assert_int_equal(troc_client_create(&elsewhere), 0);
    assert_int_equal(troc_client_set_key(elsewhere, alice), 0);
    uint8_t other_territory[TROC_PUBLIC_KEY_SIZE];
    memset(other_territory, 0x5a, sizeof other_territory);
    assert_int_equal(troc_client_set_server_key(elsewhere, other_territory), 0);
    transfer.payer = "alice";
    assert_int_equal(troc_sign_transfer(elsewhere, NULL, &transfer, envelope), 0);
    /* The signature covers the territory's key: it fails (wrong_territory is
     * reserved, never answered). */
    assert_int_equal(submit_one(as_alice, envelope, NULL), TROC_RESULT_BAD_SIGNATURE);
    troc_client_free(elsewhere);
    /* An admin action signed by a member's key. */
    troc_admin_action freeze = {.kind = TROC_ADMIN_FREEZE, .member = "bob", .reason = "no"};
    assert_int_equal(troc_sign_admin(as_alice, NULL, &freeze, envelope), 0);
    assert_int_equal(submit_one(as_alice, envelope, NULL), TROC_RESULT_NOT_ADMIN);
    troc_admin_action unexplained = {.kind = TROC_ADMIN_FREEZE, .member = "bob"};
    assert_int_equal(admin_action(t, &unexplained), TROC_RESULT_REASON_REQUIRED);
    troc_admin_action negative = {.kind = TROC_ADMIN_LIMIT_SET, .member = "bob", .has_credit_limit = true,
                                  .credit_limit_cents = -1, .reason = "r"};
    assert_int_equal(admin_action(t, &negative), TROC_RESULT_INVALID_LIMIT);
    troc_key *dave = NULL;
    assert_int_equal(troc_key_generate(&dave), 0);
    uint8_t dave_public[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(dave, dave_public);
    troc_key_free(dave);
    troc_admin_action bad_name = {.kind = TROC_ADMIN_MEMBER_ADD, .member = "no spaces", .public_key = dave_public};
    assert_int_equal(admin_action(t, &bad_name), TROC_RESULT_INVALID_NAME);
    /* Keys no one could ever sign with: the member could never act, and its
     * name would be taken for good. */
    uint8_t unusable[3][TROC_PUBLIC_KEY_SIZE];
    memset(unusable[0], 0x00, sizeof unusable[0]);
    memset(unusable[1], 0xff, sizeof unusable[1]);
    memset(unusable[2], 0x21, sizeof unusable[2]);
    for (size_t i = 0; i < 3; i++) {
        troc_admin_action add = {.kind = TROC_ADMIN_MEMBER_ADD, .member = "dave", .public_key = unusable[i]};
        assert_int_equal(admin_action(t, &add), TROC_RESULT_MALFORMED);
        troc_admin_action key_add = {.kind = TROC_ADMIN_KEY_ADD, .member = "bob", .public_key = unusable[i]};
        assert_int_equal(admin_action(t, &key_add), TROC_RESULT_MALFORMED);
    }
    troc_admin_action dave_add = {.kind = TROC_ADMIN_MEMBER_ADD, .member = "dave", .public_key = dave_public};
    assert_int_equal(admin_action(t, &dave_add), TROC_RESULT_OK); /* the name is still free */
    /* Nothing refused moved money: only bob's one cent. */
    assert_int_equal(balance_of(t, "alice"), 1);
    assert_int_equal(balance_of(t, "bob"), -1);
    troc_envelope_free(envelope);
    troc_client_free(as_alice);
    troc_key_free(stranger);
    troc_key_free(alice);
    troc_key_free(bob);
}

static void test_batch_has_a_code_per_item(void **state) {
    territory *t = *state;
    troc_key *alice = admit(t, "alice", 1000);
    troc_key *bob = admit(t, "bob", 0);
    troc_key *carol = admit(t, "carol", 0);
    troc_client *as_alice = connect_as(t, alice);
    troc_batch_item items[] = {
        {.payee = "bob", .amount_cents = 400},
        {.payee = "dave", .amount_cents = 1},
        {.payee = "carol", .amount_cents = 500},
        {.payee = "bob", .amount_cents = 200}, /* would take alice below -10.00 */
    };
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    assert_int_equal(troc_sign_batch(as_alice, NULL, NULL, NULL, items, 4, envelope), 0);
    troc_submit_result result;
    submit_one(as_alice, envelope, &result);
    assert_int_equal(result.item_count, 4);
    assert_non_null(result.item_codes);
    assert_int_equal(result.item_codes[0], TROC_RESULT_OK);
    assert_int_equal(result.item_codes[1], TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(result.item_codes[2], TROC_RESULT_OK);
    assert_int_equal(result.item_codes[3], TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(balance_of(t, "alice"), -900);
    assert_int_equal(balance_of(t, "bob"), 400);
    assert_int_equal(balance_of(t, "carol"), 500);
    troc_envelope_free(envelope);
    troc_client_free(as_alice);
    troc_key_free(alice);
    troc_key_free(bob);
    troc_key_free(carol);
}

static void test_resubmission_is_idempotent(void **state) {
    territory *t = *state;
    troc_key *alice = admit(t, "alice", 100000);
    troc_key *bob = admit(t, "bob", 0);
    troc_client *as_alice = connect_as(t, alice);
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    uint8_t id[TROC_ID_SIZE];
    troc_id_generate(id);
    troc_transfer transfer = {.id = id, .payee = "bob", .amount_cents = 777, .memo = "once"};
    assert_int_equal(troc_sign_transfer(as_alice, NULL, &transfer, envelope), 0);
    troc_submit_result first, again;
    assert_int_equal(submit_one(as_alice, envelope, &first), TROC_RESULT_OK);
    /* As after a lost connection: a new connection, the same envelope. */
    assert_int_equal(troc_client_reconnect(as_alice), 0);
    assert_int_equal(submit_one(as_alice, envelope, &again), TROC_RESULT_OK);
    assert_int_equal(again.journal_seq, first.journal_seq);
    assert_int_equal(again.timestamp_us, first.timestamp_us);
    assert_memory_equal(again.id, id, TROC_ID_SIZE);
    /* Signed again (a new signature over the same body): still once. */
    assert_int_equal(troc_sign_transfer(as_alice, NULL, &transfer, envelope), 0);
    assert_int_equal(submit_one(as_alice, envelope, &again), TROC_RESULT_OK);
    assert_int_equal(again.journal_seq, first.journal_seq);
    /* The same id for another payment. */
    transfer.amount_cents = 778;
    assert_int_equal(troc_sign_transfer(as_alice, NULL, &transfer, envelope), 0);
    assert_int_equal(submit_one(as_alice, envelope, &again), TROC_RESULT_ID_REUSED);
    assert_int_equal(balance_of(t, "alice"), -777);
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(t->admin, &stats), 0);
    assert_int_equal(stats.transfers, 1);
    troc_envelope_free(envelope);
    troc_client_free(as_alice);
    troc_key_free(alice);
    troc_key_free(bob);
}

static void test_pipelined_submits(void **state) {
    territory *t = *state;
    enum { COUNT = 300, WINDOW = 64 };
    troc_key *alice = admit(t, "alice", 1000000);
    troc_key *bob = admit(t, "bob", 0);
    troc_client *as_alice = connect_as(t, alice);
    static troc_envelope *envelopes[COUNT];
    for (int i = 0; i < COUNT; i++) {
        assert_int_equal(troc_envelope_create(&envelopes[i]), 0);
        troc_transfer transfer = {.payee = "bob", .amount_cents = i + 1};
        assert_int_equal(troc_sign_transfer(as_alice, NULL, &transfer, envelopes[i]), 0);
    }
    int sent = 0, answered = 0, accepted = 0;
    while (answered < COUNT) {
        while (sent < COUNT && troc_client_in_flight(as_alice) < WINDOW) {
            uint64_t request_id = 0;
            const troc_envelope *list[] = {envelopes[sent]};
            assert_int_equal(troc_client_send(as_alice, list, 1, &request_id), 0);
            sent++;
        }
        troc_reply reply;
        assert_int_equal(troc_client_receive(as_alice, &reply), 0);
        assert_int_equal(reply.error, 0);
        assert_int_equal(reply.result_count, 1);
        assert_true(reply.request_id >= 1 && reply.request_id <= COUNT);
        uint8_t id[TROC_ID_SIZE];
        troc_envelope_id(envelopes[reply.request_id - 1], id);
        assert_memory_equal(reply.results[0].id, id, TROC_ID_SIZE);
        if (reply.results[0].code == TROC_RESULT_OK) accepted++;
        answered++;
    }
    assert_int_equal(accepted, COUNT);
    assert_int_equal(balance_of(t, "bob"), COUNT * (COUNT + 1) / 2);
    for (int i = 0; i < COUNT; i++) troc_envelope_free(envelopes[i]);
    troc_client_free(as_alice);
    troc_key_free(alice);
    troc_key_free(bob);
}

static void test_session_limits(void **state) {
    territory *t = *state;
    troc_key *alice = admit(t, "alice", 0);
    troc_key *bob = admit(t, "bob", 0);
    troc_client *as_alice = connect_as(t, alice);
    troc_balance balance;
    assert_int_equal(troc_client_balance(as_alice, "bob", &balance), TROC_EDENIED);
    assert_true(troc_client_connected(as_alice)); /* a refusal, not a failure */
    troc_member_record record;
    assert_int_equal(troc_client_member_record(as_alice, "bob", &record), TROC_EDENIED);
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(as_alice, &stats), TROC_EDENIED);
    assert_int_equal(troc_client_balance(t->admin, "nobody", &balance), TROC_ENOT_FOUND);
    assert_int_equal(troc_client_member_record(as_alice, NULL, &record), 0);
    assert_string_equal(record.account.member, "alice");
    assert_int_equal(record.key_count, 1);
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(alice, public_key);
    assert_memory_equal(record.keys[0].public_key, public_key, TROC_PUBLIC_KEY_SIZE);
    /* A key nobody registered cannot open a session. */
    troc_key *stranger = NULL;
    assert_int_equal(troc_key_generate(&stranger), 0);
    troc_client *client = NULL;
    assert_int_equal(troc_client_create(&client), 0);
    troc_client_set_key(client, stranger);
    troc_client_set_server_key(client, t->key);
    assert_int_equal(troc_client_connect(client, t->address), TROC_EDENIED);
    assert_non_null(strstr(troc_client_error_message(client), "not an active key"));
    /* A limit change is recorded with its reason. */
    troc_admin_action limit = {.kind = TROC_ADMIN_LIMIT_SET, .member = "alice", .has_credit_limit = true,
                               .credit_limit_cents = 2500, .has_balance_max = true, .balance_max_cents = 9900,
                               .reason = "first order"};
    assert_int_equal(admin_action(t, &limit), TROC_RESULT_OK);
    assert_int_equal(troc_client_member_record(t->admin, "alice", &record), 0);
    assert_true(record.limit_change_count >= 1);
    assert_int_equal(record.limit_changes[0].credit_limit_cents, 2500);
    assert_true(record.limit_changes[0].has_balance_max);
    assert_int_equal(record.limit_changes[0].balance_max_cents, 9900);
    assert_string_equal(record.limit_changes[0].reason, "first order");
    uint8_t admin_public[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(t->admin_key, admin_public);
    assert_memory_equal(record.limit_changes[0].admin_key, admin_public, TROC_PUBLIC_KEY_SIZE);
    troc_client_free(client);
    troc_client_free(as_alice);
    troc_key_free(stranger);
    troc_key_free(alice);
    troc_key_free(bob);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_story, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_of_malformed_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_has_a_code_per_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resubmission_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_submits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_limits, setup, teardown),
    };
    if (troc_init() != 0) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
