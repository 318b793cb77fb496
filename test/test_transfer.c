/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the territory's debt bound: the sum of negative balances
 * must fit int64 as every balance does, and every movement that would take
 * it past INT64_MAX is refused, changing nothing: a transfer alone, a
 * TransferBatch item, an invoice payment (BALANCE_OVERFLOW) and a credit
 * round (TROC_EOVERFLOW, when the debt plus all it pays would pass it),
 * counting what earlier items of the same batch and the same write
 * transaction moved.  Transfers' everyday
 * refusals are tested in test_ledger.c.
 *
 * Debts that large need 9,224 members at the largest credit line: each
 * test admits them and has them pay `sink` in one write transaction (real
 * signatures, so that troc_ledger_verify can replay the journal), leaving
 * the debt `headroom` cents below INT64_MAX.  ann and ben, with credit
 * lines and zero balances, then make new debt one cent at a time.
 *
 * Each test gets a fresh ledger in its own temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/result.h"
#include "ledger_support.h"

/* 9,223 credit lines of TROC_AMOUNT_CENTS_MAX stay below INT64_MAX, and
 * 9,224 pass it: the last debtor pays only what leaves the headroom. */
enum { DEBTORS = 9224 };
_Static_assert((DEBTORS - 1) * TROC_AMOUNT_CENTS_MAX < INT64_MAX &&
                   INT64_MAX - (DEBTORS - 1) * TROC_AMOUNT_CENTS_MAX < TROC_AMOUNT_CENTS_MAX,
               "the last debtor's payment is one transfer");

typedef struct fixture {
    support *s;
    troc_keypair sink, ann, ben;
    troc_keypair *debtors;                 /* DEBTORS, members m0000 .. m9223 */
} fixture;

static void debtor_name(int i, char name[16]) {
    snprintf(name, 16, "m%04d", i);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s = support_create();
    troc_keypair_generate(&f->sink);
    troc_keypair_generate(&f->ann);
    troc_keypair_generate(&f->ben);
    f->debtors = calloc(DEBTORS, sizeof *f->debtors);
    assert_non_null(f->debtors);
    for (int i = 0; i < DEBTORS; i++) troc_keypair_generate(&f->debtors[i]);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    support_destroy(f->s);
    free(f->debtors);
    free(f);
    return 0;
}

/* Admits everyone and has the debtors pay sink until the territory's debt
 * is INT64_MAX - headroom, in one write transaction. */
static void edge(fixture *f, int64_t headroom) {
    assert_true(headroom >= 0 && headroom < INT64_MAX - (DEBTORS - 1) * TROC_AMOUNT_CENTS_MAX);
    support_batch_begin(f->s);
    assert_int_equal(support_member_add(f->s, "sink", &f->sink, 0, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "ann", &f->ann, TROC_AMOUNT_CENTS_MAX, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "ben", &f->ben, TROC_AMOUNT_CENTS_MAX, -1), TROC_RESULT_OK);
    for (int i = 0; i < DEBTORS; i++) {
        char name[16];
        debtor_name(i, name);
        assert_int_equal(support_member_add(f->s, name, &f->debtors[i], TROC_AMOUNT_CENTS_MAX, -1), TROC_RESULT_OK);
        int64_t amount = i < DEBTORS - 1 ? TROC_AMOUNT_CENTS_MAX
                                         : INT64_MAX - (DEBTORS - 1) * TROC_AMOUNT_CENTS_MAX - headroom;
        assert_int_equal(support_pay(f->s, &f->debtors[i], name, "sink", amount), TROC_RESULT_OK);
    }
    support_batch_commit(f->s);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX - headroom);
    assert_int_equal(support_balance(f->s, "sink"), INT64_MAX - headroom);
}

/* What a refusal must leave as it was. */
typedef struct picture {
    troc_stats stats;
    int64_t sink, ann, ben, first, last;   /* balances; first and last debtor */
} picture;

static picture picture_take(fixture *f) {
    return (picture){.stats = support_stats(f->s),
                     .sink = support_balance(f->s, "sink"),
                     .ann = support_balance(f->s, "ann"),
                     .ben = support_balance(f->s, "ben"),
                     .first = support_balance(f->s, "m0000"),
                     .last = support_balance(f->s, "m9223")};
}

static void picture_same(fixture *f, const picture *before) {
    picture now = picture_take(f);
    assert_int_equal(now.sink, before->sink);
    assert_int_equal(now.ann, before->ann);
    assert_int_equal(now.ben, before->ben);
    assert_int_equal(now.first, before->first);
    assert_int_equal(now.last, before->last);
    assert_int_equal(now.stats.debt_cents, before->stats.debt_cents);
    assert_int_equal(now.stats.balance_sum_cents, 0);
    assert_int_equal(now.stats.transfers, before->stats.transfers);
    assert_int_equal(now.stats.journal_entries, before->stats.journal_entries);
    assert_int_equal(now.stats.obligations_open, before->stats.obligations_open);
    assert_int_equal(now.stats.obligations_cents, before->stats.obligations_cents);
    assert_int_equal(now.stats.clearing_runs, before->stats.clearing_runs);
}

/* Every balance, read back: the credit ones sum to the debt the state
 * counts (summed apart, so that no partial sum overflows), and the debts
 * to as much, so the balances sum to zero. */
static void balances_sum_to_zero(fixture *f, int64_t debt) {
    static const char *const others[] = {"sink", "ann", "ben"};
    int64_t credit = 0, owed = 0;
    for (int i = 0; i < DEBTORS + 3; i++) {
        char name[16];
        if (i < 3) snprintf(name, sizeof name, "%s", others[i]);
        else debtor_name(i - 3, name);
        int64_t balance = support_balance(f->s, name);
        if (balance > 0) assert_false(__builtin_add_overflow(credit, balance, &credit));
        else assert_false(__builtin_sub_overflow(owed, balance, &owed));
    }
    assert_int_equal(owed, debt);
    assert_int_equal(credit, debt);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.debt_cents, debt);
    assert_int_equal(stats.balance_sum_cents, 0);
}

/* The journal replays to the same state (troc_ledger_verify). */
static void verify(fixture *f) {
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    char scratch[] = "/tmp/troc-transfer-verify-XXXXXX";
    assert_non_null(mkdtemp(scratch));
    troc_verify_report report;
    int rc = troc_ledger_verify(f->s->directory, scratch, 0, &report, NULL, NULL);
    if (rc != 0) print_error("verify: %s\n", report.difference);
    support_remove_directory(scratch);
    assert_int_equal(rc, 0);
}

/* ------------------------------------------------------------- transfers */

/* A transfer that makes new debt is refused past INT64_MAX, and changes
 * nothing; one that only moves debt between members passes at the bound,
 * and paying off debt makes room again. */
static void test_transfer_past_the_debt_bound(void **state) {
    fixture *f = *state;
    edge(f, 5);
    picture before = picture_take(f);
    assert_int_equal(support_pay(f->s, &f->ann, "ann", "ben", 6), TROC_RESULT_BALANCE_OVERFLOW);
    picture_same(f, &before);
    assert_int_equal(support_pay(f->s, &f->ann, "ann", "ben", 5), TROC_RESULT_OK);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX);
    before = picture_take(f);
    assert_int_equal(support_pay(f->s, &f->ann, "ann", "ben", 1), TROC_RESULT_BALANCE_OVERFLOW);
    assert_int_equal(support_pay(f->s, &f->ben, "ben", "ann", TROC_AMOUNT_CENTS_MAX), TROC_RESULT_BALANCE_OVERFLOW);
    picture_same(f, &before);
    /* ann's new debt pays off as much of m0000's. */
    assert_int_equal(support_pay(f->s, &f->ann, "ann", "m0000", 1), TROC_RESULT_OK);
    assert_int_equal(support_balance(f->s, "ann"), -6);
    assert_int_equal(support_balance(f->s, "m0000"), -TROC_AMOUNT_CENTS_MAX + 1);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX);
    /* ben pays off 5 of ann's debt: room for 5 new cents.  Paying ann 7
     * more would make 7 of ben's and pay off ann's last 1: one too many. */
    assert_int_equal(support_pay(f->s, &f->ben, "ben", "ann", 5), TROC_RESULT_OK);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX - 5);
    before = picture_take(f);
    assert_int_equal(support_pay(f->s, &f->ben, "ben", "ann", 7), TROC_RESULT_BALANCE_OVERFLOW);
    picture_same(f, &before);
    assert_int_equal(support_pay(f->s, &f->ben, "ben", "ann", 6), TROC_RESULT_OK);
    assert_int_equal(support_balance(f->s, "ben"), -6);
    assert_int_equal(support_balance(f->s, "ann"), 5);
    balances_sum_to_zero(f, INT64_MAX);
    verify(f);
}

/* A batch from ann with `count` items to the given payees, signed by ann. */
static void batch_build(fixture *f, const char *const *payees, const int64_t *amounts, size_t count,
                        support_item *out) {
    Troc__V1__BatchItem *items = calloc(count, sizeof *items);
    Troc__V1__BatchItem **pointers = calloc(count, sizeof *pointers);
    uint8_t(*ids)[TROC_ID_SIZE] = calloc(count, TROC_ID_SIZE);
    assert_true(items != NULL && pointers != NULL && ids != NULL);
    for (size_t i = 0; i < count; i++) {
        troc__v1__batch_item__init(&items[i]);
        support_id(f->s, ids[i]);
        items[i].has_id = 1;
        items[i].id = (ProtobufCBinaryData){TROC_ID_SIZE, ids[i]};
        items[i].payee = (char *)payees[i];
        items[i].has_amount_cents = 1;
        items[i].amount_cents = amounts[i];
        pointers[i] = &items[i];
    }
    uint8_t batch_id[TROC_ID_SIZE];
    support_id(f->s, batch_id);
    Troc__V1__TransferBatch batch = TROC__V1__TRANSFER_BATCH__INIT;
    batch.has_id = 1;
    batch.id = (ProtobufCBinaryData){TROC_ID_SIZE, batch_id};
    batch.payer = "ann";
    batch.n_items = count;
    batch.items = pointers;
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_BATCH, &batch, &f->ann, NULL, out);
    free(items);
    free(pointers);
    free(ids);
}

/* What earlier transfers of the same write transaction and earlier items
 * of the same batch moved counts: the item they bring to the bound passes,
 * the next that makes new debt is refused, one that moves debt passes.  A
 * batch whose every item is refused is refused whole and journals
 * nothing. */
static void test_batch_past_the_debt_bound(void **state) {
    fixture *f = *state;
    edge(f, 10);
    troc_item_result results[2] = {{0}};
    support_item items[2];
    support_transfer_item(f->s, &f->ann, NULL, "ann", "ben", 7, NULL, &items[0]);
    support_transfer_item(f->s, &f->ann, NULL, "ann", "ben", 4, NULL, &items[1]);
    support_batch_begin(f->s);
    assert_int_equal(support_submit(f->s, &items[0], &results[0]), TROC_RESULT_OK);
    assert_int_equal(support_submit(f->s, &items[1], &results[1]), TROC_RESULT_BALANCE_OVERFLOW);
    support_batch_commit(f->s);
    support_item_free(&items[0]);
    support_item_free(&items[1]);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX - 3);

    static const char *const payees[] = {"ben", "ben", "ben", "m0000", "ben"};
    static const int64_t amounts[] = {2, 2, 1, 1, 1};
    static const int codes[] = {TROC_RESULT_OK, TROC_RESULT_BALANCE_OVERFLOW, TROC_RESULT_OK, TROC_RESULT_OK,
                                TROC_RESULT_BALANCE_OVERFLOW};
    support_item batch;
    batch_build(f, payees, amounts, 5, &batch);
    uint16_t item_codes[5];
    troc_item_result result = {.item_codes = item_codes};
    assert_int_equal(support_submit(f->s, &batch, &result), TROC_RESULT_OK);
    support_item_free(&batch);
    assert_int_equal(result.item_count, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(item_codes[i], codes[i]);
    assert_int_equal(support_balance(f->s, "ann"), -(7 + 2 + 1 + 1));
    assert_int_equal(support_balance(f->s, "ben"), 7 + 2 + 1);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX);

    picture before = picture_take(f);
    batch_build(f, payees, (const int64_t[]){1, 5}, 2, &batch);
    result = (troc_item_result){.item_codes = item_codes};
    assert_int_equal(support_submit(f->s, &batch, &result), TROC_RESULT_BALANCE_OVERFLOW);
    support_item_free(&batch);
    assert_int_equal(item_codes[0], TROC_RESULT_BALANCE_OVERFLOW);
    assert_int_equal(item_codes[1], TROC_RESULT_BALANCE_OVERFLOW);
    assert_int_equal(result.journal_seq, 0);
    picture_same(f, &before);
    balances_sum_to_zero(f, INT64_MAX);
    verify(f);
}

/* ------------------------------------------------ invoices and rounds */

/* `creditor` bills `debtor` and the debtor accepts: an open obligation. */
static void obligation(fixture *f, const troc_keypair *creditor_key, const char *creditor,
                       const troc_keypair *debtor_key, const char *debtor, int64_t amount, uint8_t id[TROC_ID_SIZE]) {
    assert_int_equal(support_invoice_issue(f->s, creditor_key, creditor, debtor, amount, NULL, NULL, id),
                     TROC_RESULT_OK);
    assert_int_equal(support_invoice_act(f->s, debtor_key, TROC__V1__INVOICE_ACTION__ACTION_ACCEPT, id, NULL),
                     TROC_RESULT_OK);
}

static troc_invoice invoice_read(fixture *f, const uint8_t id[TROC_ID_SIZE]) {
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_invoice invoice;
    assert_int_equal(troc_ledger_invoice(read, id, &invoice), 0);
    troc_ledger_read_end(read);
    return invoice;
}

/* Paying an invoice makes new debt like any transfer: refused past the
 * bound, the obligation left as it was; paid once debt is paid off. */
static void test_invoice_payment_past_the_debt_bound(void **state) {
    fixture *f = *state;
    edge(f, 0);
    uint8_t id[TROC_ID_SIZE];
    obligation(f, &f->ben, "ben", &f->ann, "ann", 100, id);
    picture before = picture_take(f);
    assert_int_equal(support_pay_invoice(f->s, &f->ann, "ann", "ben", 1, id), TROC_RESULT_BALANCE_OVERFLOW);
    picture_same(f, &before);
    troc_invoice invoice = invoice_read(f, id);
    assert_int_equal(invoice.remaining_cents, 100);
    assert_int_equal(invoice.paid_cents, 0);
    assert_int_equal(support_pay(f->s, &f->sink, "sink", "m9223", 100), TROC_RESULT_OK);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX - 100);
    assert_int_equal(support_pay_invoice(f->s, &f->ann, "ann", "ben", 100, id), TROC_RESULT_OK);
    assert_int_equal(invoice_read(f, id).state, TROC_INVOICE_SETTLED);
    balances_sum_to_zero(f, INT64_MAX);
    verify(f);
}

/* index of the obligation `id` in the snapshot. */
static size_t obligation_at(const troc_clearing_snapshot *snapshot, const uint8_t id[TROC_ID_SIZE]) {
    for (size_t i = 0; i < snapshot->obligation_count; i++) {
        if (memcmp(snapshot->obligations[i].invoice_id, id, TROC_ID_SIZE) == 0) return i;
    }
    fail_msg("obligation not in the snapshot");
    return 0;
}

/* A credit round whose payments would take the debt past INT64_MAX is
 * refused (TROC_EOVERFLOW), changing nothing; the same round paying what
 * fits applies.  So is one whose payments only move debt (ann's new debt,
 * m0000's paid off) when the debt plus all it pays passes INT64_MAX: the
 * debt must fit between any two of its payments, where the account cache
 * may be written out.  It applies once the debt leaves room for it. */
static void test_credit_round_past_the_debt_bound(void **state) {
    fixture *f = *state;
    edge(f, 50);
    uint8_t ann_owes[TROC_ID_SIZE], ben_owes[TROC_ID_SIZE];
    obligation(f, &f->ben, "ben", &f->ann, "ann", 100, ann_owes);
    troc_clearing_snapshot snapshot;
    support_clearing_snapshot(f->s, &snapshot);
    assert_int_equal(snapshot.obligation_count, 1);
    int64_t cleared[1] = {0}, paid[1] = {100};
    picture before = picture_take(f);
    assert_int_equal(support_clearing_apply(f->s, &snapshot, true, cleared, paid, NULL), TROC_EOVERFLOW);
    picture_same(f, &before);
    assert_int_equal(invoice_read(f, ann_owes).remaining_cents, 100);
    paid[0] = 50;
    assert_int_equal(support_clearing_apply(f->s, &snapshot, true, cleared, paid, NULL), 0);
    troc_clearing_snapshot_free(&snapshot);
    assert_int_equal(support_stats(f->s).debt_cents, INT64_MAX);
    assert_int_equal(support_balance(f->s, "ann"), -50);

    /* ben owes m0000 50: paid with ann's last 50, the debt would not move,
     * but it would pass INT64_MAX between the two payments. */
    obligation(f, &f->debtors[0], "m0000", &f->ben, "ben", 50, ben_owes);
    support_clearing_snapshot(f->s, &snapshot);
    assert_int_equal(snapshot.obligation_count, 2);
    int64_t cleared2[2] = {0, 0}, paid2[2] = {0, 0};
    paid2[obligation_at(&snapshot, ann_owes)] = 50;
    paid2[obligation_at(&snapshot, ben_owes)] = 50;
    before = picture_take(f);
    assert_int_equal(support_clearing_apply(f->s, &snapshot, true, cleared2, paid2, NULL), TROC_EOVERFLOW);
    picture_same(f, &before);
    assert_int_equal(invoice_read(f, ann_owes).remaining_cents, 50);
    assert_int_equal(invoice_read(f, ben_owes).remaining_cents, 50);
    /* 100 paid off: room for the round's 100, and it pays as much off. */
    assert_int_equal(support_pay(f->s, &f->sink, "sink", "m9223", 100), TROC_RESULT_OK);
    assert_int_equal(support_clearing_apply(f->s, &snapshot, true, cleared2, paid2, NULL), 0);
    troc_clearing_snapshot_free(&snapshot);
    assert_int_equal(support_balance(f->s, "ann"), -100);
    assert_int_equal(support_balance(f->s, "ben"), 50);
    assert_int_equal(support_balance(f->s, "m0000"), -TROC_AMOUNT_CENTS_MAX + 50);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.clearing_runs, 2);
    assert_int_equal(stats.obligations_open, 0);
    balances_sum_to_zero(f, INT64_MAX - 100);
    verify(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transfer_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invoice_payment_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_round_past_the_debt_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
