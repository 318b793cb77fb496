/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of verify: a ledger with a varied history (admissions, keys
 * added and revoked, transfers, batches, refusals, idempotent resubmissions,
 * limit changes, freezes, invoices in every state, an obligation paid, a
 * plain and a credit clearing round) verifies, also as a copy made like
 * mdb_copy does;
 * and each kind of tampering is found: a journal byte flipped (in a signed
 * body, in the unsigned timestamp), a stored balance, limit or frozen flag
 * changed, an obligation's remainder changed, a statement line or key
 * record altered or removed, a record
 * added, and a validly chained and signed entry that was never applied.
 * Signatures are checked on several threads: the first bad entry is
 * reported whatever their number.  A scratch ledger that cannot be made
 * fails verify without naming a journal entry.
 *
 * The start check of a writable open passes that ledger, also with
 * thousands of entries, and refuses the damage it is meant to catch (the
 * journal's last entry lost, changed or unlinked, the init changed, the
 * totals unbalanced, a recent balance changed, the last posting lost),
 * naming it and changing nothing, where the open used to serve it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "base/error.h"
#include "base/result.h"
#include "journal/byteorder.h"
#include "ledger/ledger_int.h"
#include "ledger_support.h"

typedef struct fixture {
    support *s;
    troc_keypair alice, bob, carol, spare;
    uint8_t carol_owes_alice[TROC_ID_SIZE]; /* an obligation the history leaves open */
} fixture;

static void batch_submit(fixture *f, const char *payer, const troc_keypair *key, int count) {
    const char **payees = calloc((size_t)count, sizeof *payees);
    const char **memos = calloc((size_t)count, sizeof *memos);
    int64_t *amounts = calloc((size_t)count, sizeof *amounts);
    assert_true(payees != NULL && memos != NULL && amounts != NULL);
    for (int i = 0; i < count; i++) {
        payees[i] = i % 3 == 0 ? "bob" : (i % 3 == 1 ? "carol" : "nobody");
        amounts[i] = 10 + i;
        memos[i] = i % 2 ? "batch" : NULL;
    }
    support_item item;
    support_batch_item(f->s, key, NULL, payer, payees, amounts, memos, NULL, (size_t)count, &item);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK); /* idempotent */
    support_item_free(&item);
    free(payees);
    free(memos);
    free(amounts);
}

static void key_submit(fixture *f, bool add, const char *name, const uint8_t *public_key) {
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    Troc__V1__MemberKey key = TROC__V1__MEMBER_KEY__INIT;
    key.name = (char *)name;
    key.has_public_key = 1;
    key.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)public_key};
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    action.action_case = add ? TROC__V1__ADMIN_ACTION__ACTION_KEY_ADD : TROC__V1__ADMIN_ACTION__ACTION_KEY_REVOKE;
    if (add) {
        action.key_add = &key;
    } else {
        action.key_revoke = &key;
    }
    support_item item;
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, &action, &f->s->admin, NULL, &item);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK);
    support_item_free(&item);
}

/* An accepted invoice from `creditor` to `debtor`. */
static void obligation(fixture *f, const troc_keypair *creditor_key, const char *creditor,
                       const troc_keypair *debtor_key, const char *debtor, int64_t amount, uint8_t id[TROC_ID_SIZE]) {
    assert_int_equal(support_invoice_issue(f->s, creditor_key, creditor, debtor, amount, "ref", NULL, id),
                     TROC_RESULT_OK);
    assert_int_equal(support_invoice_act(f->s, debtor_key, TROC__V1__INVOICE_ACTION__ACTION_ACCEPT, id, NULL),
                     TROC_RESULT_OK);
}

/* Invoices in every state, a payment of one, a plain and a credit round. */
static void invoices_and_rounds(fixture *f) {
    support *s = f->s;
    uint8_t ab[TROC_ID_SIZE], bc[TROC_ID_SIZE], ca[TROC_ID_SIZE], other[TROC_ID_SIZE], bc2[TROC_ID_SIZE];
    obligation(f, &f->bob, "bob", &f->spare, "alice", 300, ab);
    obligation(f, &f->carol, "carol", &f->bob, "bob", 200, bc);
    obligation(f, &f->spare, "alice", &f->carol, "carol", 250, ca);
    memcpy(f->carol_owes_alice, ca, TROC_ID_SIZE);
    assert_int_equal(support_pay_invoice(s, &f->bob, "bob", "carol", 20, bc), TROC_RESULT_OK);
    assert_int_equal(support_invoice_issue(s, &f->bob, "bob", "carol", 10, NULL, "2030-01-31", other), TROC_RESULT_OK);
    assert_int_equal(support_invoice_issue(s, &f->carol, "carol", "alice", 5, NULL, NULL, other), TROC_RESULT_OK);
    assert_int_equal(support_invoice_act(s, &f->spare, TROC__V1__INVOICE_ACTION__ACTION_REJECT, other, "no"),
                     TROC_RESULT_OK);
    assert_int_equal(support_invoice_issue(s, &f->spare, "alice", "bob", 7, NULL, NULL, other), TROC_RESULT_OK);
    assert_int_equal(support_invoice_act(s, &f->spare, TROC__V1__INVOICE_ACTION__ACTION_CANCEL, other, NULL),
                     TROC_RESULT_OK);
    troc_clearing_snapshot snapshot;
    support_clearing_snapshot(s, &snapshot);
    int64_t cleared[3] = {180, 180, 180};
    assert_int_equal(support_clearing_apply(s, &snapshot, false, cleared, NULL, NULL), 0);
    troc_clearing_snapshot_free(&snapshot);
    obligation(f, &f->carol, "carol", &f->bob, "bob", 40, bc2);
    support_clearing_snapshot(s, &snapshot);
    int64_t none[3] = {0}, paid[3] = {0};
    paid[support_obligation_at(&snapshot, bc2)] = 40;
    assert_int_equal(support_clearing_apply(s, &snapshot, true, none, paid, NULL), 0);
    troc_clearing_snapshot_free(&snapshot);
    assert_int_equal(support_stats(s).clearing_runs, 2);
}

/* A varied history, in several transactions and one with many items. */
static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->s = support_create();
    troc_keypair_generate(&f->alice);
    troc_keypair_generate(&f->bob);
    troc_keypair_generate(&f->carol);
    troc_keypair_generate(&f->spare);
    support *s = f->s;
    assert_int_equal(support_member_add(s, "alice", &f->alice, 100000, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(s, "bob", &f->bob, 50000, 200000), TROC_RESULT_OK);
    assert_int_equal(support_member_add(s, "carol", &f->carol, 0, -1), TROC_RESULT_OK);
    assert_int_equal(support_pay(s, &f->alice, "alice", "bob", 1234), TROC_RESULT_OK);
    assert_int_equal(support_pay(s, &f->carol, "carol", "bob", 1), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    batch_submit(f, "alice", &f->alice, 50);
    key_submit(f, true, "alice", f->spare.public_key);
    key_submit(f, false, "alice", f->alice.public_key);
    assert_int_equal(support_pay(s, &f->spare, "alice", "carol", 99), TROC_RESULT_OK);
    assert_int_equal(support_limit_set(s, "alice", 100, "review"), TROC_RESULT_OK);
    assert_int_equal(support_freeze(s, "carol", true, "audit"), TROC_RESULT_OK);
    assert_int_equal(support_pay(s, &f->bob, "bob", "carol", 5), TROC_RESULT_PAYEE_FROZEN);
    assert_int_equal(support_freeze(s, "carol", false, "done"), TROC_RESULT_OK);
    /* Several items in one transaction, as group commit does. */
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(s->ledger, s->now_us, &write), 0);
    for (int i = 0; i < 20; i++) {
        support_item item;
        support_transfer_item(s, i % 2 ? &f->bob : &f->carol, NULL, i % 2 ? "bob" : "carol", i % 2 ? "carol" : "bob",
                              7 + i, "group", &item);
        troc_item_result result = {0};
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        support_item_free(&item);
    }
    assert_int_equal(troc_ledger_write_commit(write), 0);
    invoices_and_rounds(f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    support_destroy(f->s);
    free(f);
    return 0;
}

/* Runs verify on `threads` threads with a scratch directory of its own. */
static int verify_on(const char *directory, unsigned threads, troc_verify_report *report) {
    char scratch[256];
    snprintf(scratch, sizeof scratch, "/tmp/troc-scratch-XXXXXX");
    assert_non_null(mkdtemp(scratch));
    int rc = troc_ledger_verify(directory, scratch, threads, report, NULL, NULL);
    support_remove_directory(scratch);
    return rc;
}

static int verify(const char *directory, troc_verify_report *report) {
    return verify_on(directory, 0, report);
}

/* Opens the ledger's environment raw, for tampering. */
static MDB_txn *raw_begin(fixture *f, MDB_env **env) {
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    assert_int_equal(mdb_env_create(env), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env, 32), 0);
    assert_int_equal(mdb_env_set_mapsize(*env, 1u << 30), 0);
    assert_int_equal(mdb_env_open(*env, f->s->directory, 0, 0600), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(*env, NULL, 0, &txn), 0);
    return txn;
}

static MDB_dbi raw_dbi(MDB_txn *txn, const char *name) {
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    return dbi;
}

static void raw_end(MDB_env *env, MDB_txn *txn) {
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A ledger of another storage format is named as such at open, not taken
 * for a corrupt one nor read with the wrong layout. */
static void test_other_format_refused(void **state) {
    fixture *f = *state;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    uint8_t old_format[4] = {0, 0, 0, 1};
    MDB_val key = {6, (void *)"format"}, value = {sizeof old_format, old_format};
    assert_int_equal(mdb_put(txn, raw_dbi(txn, "meta"), &key, &value, 0), 0);
    raw_end(env, txn);
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), TROC_EFORMAT);
    assert_null(f->s->ledger);
}

/* Removes journal entry `seq` from the stored journal. */
static void journal_entry_delete(fixture *f, uint64_t seq) {
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, seq);
    MDB_val key = {8, key_bytes};
    assert_int_equal(mdb_del(txn, raw_dbi(txn, "journal"), &key, NULL), 0);
    raw_end(env, txn);
}

/* Rewrites `name`'s record in database `db` ("balances" or "accounts")
 * through `edit`. */
static void account_tamper(fixture *f, const char *db, const char *name, void (*edit)(uint8_t *record)) {
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_val key = {strlen(name), (void *)name}, id, value;
    assert_int_equal(mdb_get(txn, raw_dbi(txn, "members"), &key, &id), 0);
    MDB_dbi accounts = raw_dbi(txn, db);
    assert_int_equal(mdb_get(txn, accounts, &id, &value), 0);
    uint8_t record[TROC__ACCOUNT_RECORD_SIZE];
    assert_true(value.mv_size <= sizeof record);
    size_t size = value.mv_size;
    memcpy(record, value.mv_data, size);
    edit(record);
    MDB_val changed = {size, record};
    uint8_t id_copy[4];
    memcpy(id_copy, id.mv_data, 4);
    MDB_val id_key = {4, id_copy};
    assert_int_equal(mdb_put(txn, accounts, &id_key, &changed, 0), 0);
    raw_end(env, txn);
}

static void add_a_cent(uint8_t *record) { /* the balance, at offset 0 of "balances" */
    troc__be64_write_signed(record, troc__be64_read_signed(record) + 1);
}
static void raise_limit(uint8_t *record) { /* the credit limit, at offset 0 of "accounts" */
    troc__be64_write_signed(record, troc__be64_read_signed(record) + 100);
}
static void freeze_flag(uint8_t *record) {
    record[27] ^= TROC__ACCOUNT_FROZEN; /* the low byte of the flags at offset 24 of "accounts" */
}

/* Flips bit `mask` of byte `offset` (from the end when negative) of
 * journal entry `seq`. */
static void journal_flip(fixture *f, uint64_t seq, long offset, uint8_t mask) {
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_dbi journal = raw_dbi(txn, "journal");
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, seq);
    MDB_val key = {8, key_bytes}, value;
    assert_int_equal(mdb_get(txn, journal, &key, &value), 0);
    uint8_t *copy = malloc(value.mv_size);
    memcpy(copy, value.mv_data, value.mv_size);
    copy[offset >= 0 ? (size_t)offset : value.mv_size - (size_t)-offset] ^= mask;
    MDB_val changed = {value.mv_size, copy};
    assert_int_equal(mdb_put(txn, journal, &key, &changed, 0), 0);
    raw_end(env, txn);
    free(copy);
}

static void test_verify_ok(void **state) {
    fixture *f = *state;
    troc_stats stats = support_stats(f->s);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), 0);
    assert_string_equal(report.difference, "");
    assert_int_equal(report.entries, stats.journal_entries);
    assert_int_equal(report.members, 3);
    assert_int_equal(report.transfers, stats.transfers);
    assert_true(report.transfers > 20);
    /* Verify reads; it does not change the ledger. */
    assert_int_equal(verify(f->s->directory, &report), 0);
    assert_int_equal(support_stats(f->s).journal_entries, stats.journal_entries);
}

/* Applies one transfer from bob to alice with `memo`; returns its code. */
static int pay_with_memo(fixture *f, const char *memo) {
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    support_item item;
    support_transfer_item(f->s, &f->bob, NULL, "bob", "alice", 1, memo, &item);
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    support_item_free(&item);
    assert_int_equal(troc_ledger_write_commit(write), 0);
    return result.code;
}

/* C1 control characters are refused in new text, but a ledger journaled
 * when they were accepted (made here by applying as replay does) still
 * verifies: replay holds an entry to the rule it was written under. */
static void test_text_journaled_before_c1_was_refused(void **state) {
    fixture *f = *state;
    const char *memo = "caf\xc2\x85 x"; /* U+0085 */
    assert_int_equal(pay_with_memo(f, memo), TROC_RESULT_INVALID_TEXT);
    f->s->ledger->replaying = true;
    assert_int_equal(pay_with_memo(f, memo), TROC_RESULT_OK);
    f->s->ledger->replaying = false;
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), 0);
    assert_string_equal(report.difference, "");
}

/* Bidirectional controls in new text, and reasons that show nothing, are
 * refused since a later version (another program than troc may send
 * them); a ledger journaled when they were accepted still verifies. */
static void test_text_journaled_before_bidi_and_blank_reasons_were_refused(void **state) {
    fixture *f = *state;
    const char *memo = "pay\xe2\x80\xae" "ecila"; /* U+202E: shows "pay alice" reversed */
    const int reject = TROC__V1__INVOICE_ACTION__ACTION_REJECT;
    uint8_t id[TROC_ID_SIZE];
    assert_int_equal(support_invoice_issue(f->s, &f->bob, "bob", "carol", 5, NULL, NULL, id), TROC_RESULT_OK);
    const troc_stats before = support_stats(f->s);
    assert_int_equal(pay_with_memo(f, memo), TROC_RESULT_INVALID_TEXT);
    assert_int_equal(support_freeze(f->s, "carol", true, "  "), TROC_RESULT_REASON_REQUIRED);
    assert_int_equal(support_limit_set(f->s, "carol", 10, "\t"), TROC_RESULT_REASON_REQUIRED);
    assert_int_equal(support_invoice_act(f->s, &f->carol, reject, id, " \xe2\x80\x8b "), TROC_RESULT_REASON_REQUIRED);
    assert_int_equal(support_invoice_act(f->s, &f->carol, reject, id, "no\xe2\x81\xa6"), TROC_RESULT_INVALID_TEXT);
    assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries);
    f->s->ledger->replaying = true;
    assert_int_equal(pay_with_memo(f, memo), TROC_RESULT_OK);
    assert_int_equal(support_freeze(f->s, "carol", true, "  "), TROC_RESULT_OK);
    assert_int_equal(support_limit_set(f->s, "carol", 10, "\t"), TROC_RESULT_OK);
    assert_int_equal(support_invoice_act(f->s, &f->carol, reject, id, " \xe2\x80\x8b "), TROC_RESULT_OK);
    f->s->ledger->replaying = false;
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), 0);
    assert_string_equal(report.difference, "");
}

/* Keys that cannot verify a signature are refused at registration since
 * a later version; a ledger that took one before still replays. */
static void test_key_registered_before_unusable_keys_were_refused(void **state) {
    fixture *f = *state;
    troc_keypair unusable = {0};
    memset(unusable.public_key, 0x21, sizeof unusable.public_key);
    assert_int_equal(support_member_add(f->s, "legacy", &unusable, 0, -1), TROC_RESULT_MALFORMED);
    f->s->ledger->replaying = true;
    assert_int_equal(support_member_add(f->s, "legacy", &unusable, 0, -1), TROC_RESULT_OK);
    f->s->ledger->replaying = false;
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), 0);
    assert_string_equal(report.difference, "");
}

static void test_verify_a_copy(void **state) {
    fixture *f = *state;
    char copy[300];
    snprintf(copy, sizeof copy, "%s-copy", f->s->directory);
    assert_int_equal(mkdir(copy, 0700), 0);
    MDB_env *env;
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, f->s->directory, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_env_copy2(env, copy, MDB_CP_COMPACT), 0);
    mdb_env_close(env);
    troc_verify_report report;
    assert_int_equal(verify(copy, &report), 0);
    assert_true(report.entries > 10);
    support_remove_directory(copy);
    assert_int_equal(verify("/nonexistent/troc", &report), TROC_ENOT_FOUND);
}

/* A scratch ledger that cannot be made (here its directory is missing;
 * in use, a full or unsuitable $TMPDIR) is no fault of the journal: the
 * report names no entry, though entry 1 was being replayed. */
static void test_scratch_failure_names_no_entry(void **state) {
    fixture *f = *state;
    troc_verify_report report;
    int rc = troc_ledger_verify(f->s->directory, "/nonexistent/troc-scratch", 1, &report, NULL, NULL);
    assert_int_equal(rc, -ENOENT);
    assert_int_equal(report.bad_seq, 0);
    assert_non_null(strstr(report.difference, "cannot create the scratch ledger"));
}

static void test_changed_balance(void **state) {
    fixture *f = *state;
    account_tamper(f, "balances", "bob", add_a_cent);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "account of bob: stored balance"));
}

static void test_changed_limit(void **state) {
    fixture *f = *state;
    account_tamper(f, "accounts", "alice", raise_limit);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "account of alice: stored limits"));
}

static void test_changed_frozen_flag(void **state) {
    fixture *f = *state;
    account_tamper(f, "accounts", "carol", freeze_flag);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "account of carol: stored frozen, replayed not frozen"));
}

static void test_flipped_signed_byte(void **state) {
    fixture *f = *state;
    journal_flip(f, 5, -1, 0x01); /* the last byte of entry 5's body */
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_ESIGNATURE);
    assert_int_equal(report.bad_seq, 5);
    assert_non_null(strstr(report.difference, "journal entry 5: signature does not verify"));
}

static void test_flipped_timestamp(void **state) {
    fixture *f = *state;
    journal_flip(f, 3, 15, 0x01); /* the timestamp: not signed, but chained */
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_ECHAIN);
    assert_int_equal(report.bad_seq, 4);
}

/* Adds `count` transfers in one transaction (one journal entry each), so
 * that the journal spans several of the signature pass's chunks. */
static void transfers_add(fixture *f, int count) {
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    for (int i = 0; i < count; i++) {
        support_item item;
        support_transfer_item(f->s, i % 2 ? &f->bob : &f->carol, NULL, i % 2 ? "bob" : "carol",
                              i % 2 ? "carol" : "bob", 1 + i % 5, NULL, &item);
        troc_item_result result = {0};
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        assert_int_equal(result.code, TROC_RESULT_OK);
        support_item_free(&item);
    }
    assert_int_equal(troc_ledger_write_commit(write), 0);
}

/* Signatures are checked on several threads; the answer is the first bad
 * entry whatever their number, and an earlier broken link still comes
 * first. */
static void test_signatures_on_threads(void **state) {
    fixture *f = *state;
    transfers_add(f, 1000);
    uint64_t head = support_stats(f->s).journal_entries;
    assert_true(head > 1000);
    static const unsigned thread_counts[] = {1, 2, 5};
    troc_verify_report report;
    for (size_t i = 0; i < 3; i++) assert_int_equal(verify_on(f->s->directory, thread_counts[i], &report), 0);
    journal_flip(f, head - 3, -1, 0x01);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(verify_on(f->s->directory, thread_counts[i], &report), TROC_ESIGNATURE);
        assert_int_equal(report.bad_seq, head - 3);
    }
    journal_flip(f, 600, -1, 0x01);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(verify_on(f->s->directory, thread_counts[i], &report), TROC_ESIGNATURE);
        assert_int_equal(report.bad_seq, 600);
        assert_non_null(strstr(report.difference, "journal entry 600: signature does not verify"));
    }
    journal_flip(f, 300, 15, 0x01); /* a timestamp: the link to entry 301 breaks */
    assert_int_equal(verify_on(f->s->directory, 4, &report), TROC_ECHAIN);
    assert_int_equal(report.bad_seq, 301);
}

/* An obligation's stored remainder changed. */
static void test_changed_obligation(void **state) {
    fixture *f = *state;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_dbi invoices = raw_dbi(txn, "invoices");
    MDB_cursor *cursor;
    assert_int_equal(mdb_cursor_open(txn, invoices, &cursor), 0);
    MDB_val key, value;
    assert_int_equal(mdb_cursor_get(cursor, &key, &value, MDB_FIRST), 0);
    uint8_t *copy = malloc(value.mv_size);
    memcpy(copy, value.mv_data, value.mv_size);
    copy[23] ^= 1; /* the low byte of remaining_cents */
    MDB_val changed = {value.mv_size, copy};
    assert_int_equal(mdb_cursor_put(cursor, &key, &changed, MDB_CURRENT), 0);
    mdb_cursor_close(cursor);
    raw_end(env, txn);
    free(copy);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "database invoices"));
}

static void test_changed_records(void **state) {
    fixture *f = *state;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_dbi lines = raw_dbi(txn, "postings");
    MDB_cursor *cursor;
    assert_int_equal(mdb_cursor_open(txn, lines, &cursor), 0);
    MDB_val key, value;
    assert_int_equal(mdb_cursor_get(cursor, &key, &value, MDB_LAST), 0);
    assert_int_equal(mdb_cursor_del(cursor, 0), 0);
    mdb_cursor_close(cursor);
    raw_end(env, txn);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "database postings"));
    assert_non_null(strstr(report.difference, "only in the replayed state"));
}

static void test_added_record(void **state) {
    fixture *f = *state;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    uint8_t forged_key[TROC_PUBLIC_KEY_SIZE] = {0xfe};
    uint8_t owner[TROC__KEY_OWNER_SIZE];
    troc__key_owner_encode(&(troc__key_owner){.owner = TROC__OWNER_ADMIN, .flags = 0}, owner);
    MDB_val key = {sizeof forged_key, forged_key}, value = {sizeof owner, owner};
    assert_int_equal(mdb_put(txn, raw_dbi(txn, "keys"), &key, &value, 0), 0);
    raw_end(env, txn);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "database keys"));
    assert_non_null(strstr(report.difference, "only in the stored state"));
}

/* A member name that damage made unprintable is named in hex, not as
 * bytes that show as nothing. */
static void test_damaged_member_name_shown_in_hex(void **state) {
    fixture *f = *state;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    const char damaged[] = "\001\002x";
    uint8_t id[4] = {0, 0, 0, 9};
    MDB_val key = {sizeof damaged - 1, (void *)damaged}, value = {sizeof id, id};
    assert_int_equal(mdb_put(txn, raw_dbi(txn, "members"), &key, &value, 0), 0);
    raw_end(env, txn);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "database members: record 010278 only in the stored state"));
}

/* An entry correctly chained and signed, but never applied to the state. */
static void test_journaled_but_not_applied(void **state) {
    fixture *f = *state;
    support_item item;
    support_transfer_item(f->s, &f->bob, NULL, "bob", "alice", 500, NULL, &item);
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc__write_journal(write, &item.item), 0);
    assert_int_equal(troc_ledger_write_commit(write), 0);
    support_item_free(&item);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_EREPLAY);
    assert_non_null(strstr(report.difference, "stored balance"));
}

/* ------------------------------------------------------- start check */

/* The bytes of the ledger's data file. */
static uint8_t *data_file_read(fixture *f, size_t *size_out) {
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", f->s->directory);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    long size = ftell(file);
    assert_true(size > 0);
    rewind(file);
    uint8_t *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    *size_out = (size_t)size;
    return bytes;
}

/* A writable open refuses the ledger, saying `expected`, and changes
 * nothing in it. */
static void start_refused(fixture *f, const char *expected) {
    size_t size_before, size_after;
    uint8_t *before = data_file_read(f, &size_before);
    troc_ledger *ledger = NULL;
    char problem[TROC_LEDGER_PROBLEM_SIZE];
    assert_int_equal(troc_ledger_open_sized(&ledger, f->s->directory, 0, problem), TROC_ECORRUPT);
    assert_null(ledger);
    if (strstr(problem, expected) == NULL) fail_msg("the start check said '%s', not '%s'", problem, expected);
    uint8_t *after = data_file_read(f, &size_after);
    assert_int_equal(size_after, size_before);
    assert_memory_equal(after, before, size_before);
    free(before);
    free(after);
}

/* The varied history, and thousands of entries more (far past the links
 * the check follows), open: the check passes every sound ledger. */
static void test_start_check_passes_a_sound_ledger(void **state) {
    fixture *f = *state;
    char problem[TROC_LEDGER_PROBLEM_SIZE] = "unset";
    troc_ledger_close(f->s->ledger);
    assert_int_equal(troc_ledger_open_sized(&f->s->ledger, f->s->directory, 0, problem), 0);
    assert_string_equal(problem, "");
    transfers_add(f, 3000);
    assert_true(support_stats(f->s).journal_entries > 3000);
    troc_ledger_close(f->s->ledger);
    assert_int_equal(troc_ledger_open_sized(&f->s->ledger, f->s->directory, 0, problem), 0);
    assert_string_equal(problem, "");
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "carol", 1), TROC_RESULT_OK); /* and it writes */
}

/* The last entry lost (a copy cut short, a torn page): the head names
 * an entry the journal no longer holds. */
static void test_start_refuses_a_lost_last_entry(void **state) {
    fixture *f = *state;
    uint64_t head = support_stats(f->s).journal_entries;
    journal_entry_delete(f, head);
    char expected[100];
    snprintf(expected, sizeof expected, "the journal holds %llu entries, but its head names entry %llu",
             (unsigned long long)head - 1, (unsigned long long)head);
    start_refused(f, expected);
    troc_verify_report report;
    assert_int_not_equal(verify(f->s->directory, &report), 0);
    snprintf(expected, sizeof expected, "the journal ends at entry %llu, but its head names entry %llu",
             (unsigned long long)head - 1, (unsigned long long)head);
    assert_non_null(strstr(report.difference, expected));
}

/* An entry lost in the middle of the journal is named as the one missing,
 * not taken for the journal's end. */
static void test_verify_names_an_entry_missing_in_the_middle(void **state) {
    fixture *f = *state;
    uint64_t head = support_stats(f->s).journal_entries, lost = head / 2;
    journal_entry_delete(f, lost);
    troc_verify_report report;
    assert_int_not_equal(verify(f->s->directory, &report), 0);
    char expected[120];
    snprintf(expected, sizeof expected, "journal entry %llu is missing, though the journal goes on to its head, "
             "entry %llu", (unsigned long long)lost, (unsigned long long)head);
    assert_non_null(strstr(report.difference, expected));
    assert_int_equal(report.bad_seq, lost);
}

/* An entry stored past the head (the head record not updated, or an
 * entry added by hand) is named as such by verify. */
static void test_verify_names_an_entry_past_the_head(void **state) {
    fixture *f = *state;
    uint64_t head = support_stats(f->s).journal_entries;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_dbi journal = raw_dbi(txn, "journal");
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, head);
    MDB_val key = {8, key_bytes}, value;
    assert_int_equal(mdb_get(txn, journal, &key, &value), 0);
    uint8_t copy[4096];
    assert_true(value.mv_size <= sizeof copy);
    memcpy(copy, value.mv_data, value.mv_size);
    MDB_val past = {value.mv_size, copy};
    troc__be64_write(key_bytes, head + 1);
    assert_int_equal(mdb_put(txn, journal, &key, &past, 0), 0);
    raw_end(env, txn);
    troc_verify_report report;
    assert_int_not_equal(verify(f->s->directory, &report), 0);
    char expected[100];
    snprintf(expected, sizeof expected, "journal entry %llu lies past the journal's head, entry %llu",
             (unsigned long long)head + 1, (unsigned long long)head);
    assert_non_null(strstr(report.difference, expected));
}

static void test_start_refuses_a_changed_last_entry(void **state) {
    fixture *f = *state;
    uint64_t head = support_stats(f->s).journal_entries;
    journal_flip(f, head, -1, 0x01);
    char expected[100];
    snprintf(expected, sizeof expected, "journal entry %llu is not the head the state records",
             (unsigned long long)head);
    start_refused(f, expected);
}

/* An entry a few before the head changed: the next one's link breaks. */
static void test_start_refuses_a_broken_recent_link(void **state) {
    fixture *f = *state;
    uint64_t head = support_stats(f->s).journal_entries;
    journal_flip(f, head - 5, 15, 0x01); /* a timestamp: not signed, but chained */
    char expected[100];
    snprintf(expected, sizeof expected, "journal entry %llu does not hold the hash of entry %llu",
             (unsigned long long)head - 4, (unsigned long long)head - 5);
    start_refused(f, expected);
}

/* The signed init changed: the territory the ledger serves under is not
 * the one it was created as. */
static void test_start_refuses_a_changed_init(void **state) {
    fixture *f = *state;
    journal_flip(f, 1, -1, 0x01);
    start_refused(f, "journal entry 1 is not an init event signed by the territory key");
}

/* Sets the signed figure at `offset` of the state record (record.c). */
static void state_tamper(fixture *f, size_t offset, int64_t figure) {
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_dbi meta = raw_dbi(txn, "meta");
    MDB_val key = {5, (void *)"state"}, value;
    assert_int_equal(mdb_get(txn, meta, &key, &value), 0);
    uint8_t record[TROC__STATE_RECORD_SIZE];
    assert_int_equal(value.mv_size, sizeof record);
    memcpy(record, value.mv_data, sizeof record);
    troc__be64_write_signed(record + offset, figure);
    MDB_val changed = {sizeof record, record};
    assert_int_equal(mdb_put(txn, meta, &key, &changed, 0), 0);
    raw_end(env, txn);
}

/* A data file cut short (a copy that ran out of disk) is refused by
 * every open, verify's included, where reading a page past its end would
 * have killed the process (SIGBUS); so are one whose meta pages are gone
 * and an empty one. */
static void test_truncated_data_file_refused(void **state) {
    fixture *f = *state;
    transfers_add(f, 2000); /* pages enough that a cut leaves some out */
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", f->s->directory);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    troc_ledger *ledger = NULL;
    assert_int_equal(troc_ledger_open(&ledger, f->s->directory), TROC_ECORRUPT);
    assert_null(ledger);
    troc_verify_report report;
    assert_int_equal(verify(f->s->directory, &report), TROC_ECORRUPT);
    /* Its meta pages zeroed (not an LMDB file any more): corrupt too, not
     * a bare storage error. */
    assert_int_equal(truncate(path, st.st_size), 0);
    FILE *file = fopen(path, "r+b");
    assert_non_null(file);
    static const char zeros[8192];
    assert_int_equal(fwrite(zeros, 1, sizeof zeros, file), sizeof zeros);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(troc_ledger_open(&ledger, f->s->directory), TROC_ECORRUPT);
    assert_int_equal(verify(f->s->directory, &report), TROC_ECORRUPT);
    /* Empty: refused, and not written to (LMDB would make it a new one). */
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(troc_ledger_open(&ledger, f->s->directory), TROC_ECORRUPT);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
}

/* The state's balance sum, which the first commit asserts is zero. */
static void test_start_refuses_unbalanced_totals(void **state) {
    fixture *f = *state;
    state_tamper(f, 24, 1); /* balance_sum_cents */
    start_refused(f, "the state's balances sum to 0.01, not 0");
}

/* A stored debt below the debts held: the start check cannot see it (it
 * adds up no balances), so the ledger opens; the transaction that pays
 * some of it off fails as a damaged ledger's, writing nothing, where the
 * writer used to stop on an assertion (and again at every restart, as the
 * client sent the payment again).  verify finds the difference. */
static void test_damaged_debt_fails_the_write(void **state) {
    fixture *f = *state;
    support *s = f->s;
    state_tamper(f, 32, 0); /* debt_cents */
    assert_int_equal(troc_ledger_open(&s->ledger, s->directory), 0);
    troc_stats before = support_stats(s);
    assert_true(support_balance(s, "alice") < 0);
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(s->ledger, s->now_us, &write), 0);
    support_item item;
    support_transfer_item(s, &f->bob, NULL, "bob", "alice", 1, NULL, &item);
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    support_item_free(&item);
    assert_int_equal(troc_ledger_write_commit(write), TROC_ECORRUPT);
    troc_stats after = support_stats(s);
    assert_int_equal(after.journal_entries, before.journal_entries);
    /* A credit round paying alice (carol owes her) fails the same way. */
    troc_clearing_snapshot snapshot;
    support_clearing_snapshot(s, &snapshot);
    assert_int_equal(snapshot.obligation_count, 2);
    int64_t cleared[2] = {0, 0}, paid[2] = {0, 0};
    paid[support_obligation_at(&snapshot, f->carol_owes_alice)] = 1;
    assert_int_equal(support_clearing_apply(s, &snapshot, true, cleared, paid, NULL), TROC_ECORRUPT);
    troc_clearing_snapshot_free(&snapshot);
    assert_int_equal(support_stats(s).journal_entries, before.journal_entries);
    troc_verify_report report;
    assert_int_not_equal(verify(s->directory, &report), 0);
    assert_non_null(strstr(report.difference, "record state differs from the replayed one"));
}

/* A balance changed in an account the last posting moved (the credit
 * round paid bob's obligation to carol). */
static void test_start_refuses_a_changed_recent_balance(void **state) {
    fixture *f = *state;
    account_tamper(f, "balances", "bob", add_a_cent);
    start_refused(f, "account of bob: balance");
}

static void test_start_refuses_a_lost_posting(void **state) {
    fixture *f = *state;
    MDB_env *env;
    MDB_txn *txn = raw_begin(f, &env);
    MDB_cursor *cursor;
    assert_int_equal(mdb_cursor_open(txn, raw_dbi(txn, "postings"), &cursor), 0);
    MDB_val key, value;
    assert_int_equal(mdb_cursor_get(cursor, &key, &value, MDB_LAST), 0);
    assert_int_equal(mdb_cursor_del(cursor, 0), 0);
    mdb_cursor_close(cursor);
    raw_end(env, txn);
    start_refused(f, "database postings holds");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_format_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_journaled_before_c1_was_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_journaled_before_bidi_and_blank_reasons_were_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_registered_before_unusable_keys_were_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_a_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_failure_names_no_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_frozen_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_signed_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signatures_on_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_obligation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_member_name_shown_in_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_added_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journaled_but_not_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_check_passes_a_sound_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_lost_last_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_changed_last_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_broken_recent_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_changed_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_unbalanced_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_data_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_debt_fails_the_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_changed_recent_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_lost_posting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_names_an_entry_past_the_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_names_an_entry_missing_in_the_middle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
