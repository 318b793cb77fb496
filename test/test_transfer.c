/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the territory's debt bound: the sum of negative balances
 * must fit int64 as every balance does, and every movement that would take
 * it past INT64_MAX is refused, changing nothing: a transfer alone, a
 * TransferBatch item, an invoice payment (BALANCE_OVERFLOW) and a credit
 * round (TROC_EOVERFLOW, when the debt plus all it pays would pass it),
 * counting what earlier items of the same batch and the same write
 * transaction moved.  Transfers' everyday refusals are tested in
 * test_ledger.c.
 *
 * Debts that large need 9,224 members at the largest credit line: each
 * test admits them and has them pay `sink` in one write transaction (real
 * signatures, so that troc_ledger_verify can replay the journal), leaving
 * the debt `headroom` cents below INT64_MAX.  ann and ben, with credit
 * lines and zero balances, then make new debt one cent at a time.
 *
 * A credit round may find the write transaction's account cache nearly
 * full (TROC_WRITE_ACCOUNTS_MAX accounts, touched by a group commit or by
 * replay, which applies thousands of entries per transaction): the cache
 * is then written out between two of its payments, and the round still
 * applies, with totals that add up, and replays.  That takes 32,704 more
 * members, paid a cent each by sink.
 *
 * What one write transaction (or one of replay's) writes out may change
 * balances by more than int64 holds while every state fits: sink, owed the
 * whole debt, pays every debtor back and then pays ann on credit.
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

/* Every member's balance, read back through the member list: the credit
 * ones sum to the debt the state counts (summed apart, so that no partial
 * sum overflows), and the debts to as much, so the balances sum to zero. */
static void balances_sum_to_zero(fixture *f, int64_t debt) {
    enum { PAGE = 256 };
    static troc_account accounts[PAGE];
    char after[TROC_NAME_LENGTH_MAX + 1] = "", next[TROC_NAME_LENGTH_MAX + 1];
    int64_t credit = 0, owed = 0;
    uint64_t members = 0;
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    do {
        size_t count = 0;
        assert_int_equal(troc_ledger_members(read, after, 0, accounts, PAGE, &count, next), 0);
        memcpy(after, next, sizeof after);
        for (size_t i = 0; i < count; i++) {
            int64_t balance = accounts[i].balance_cents;
            if (balance > 0) assert_false(__builtin_add_overflow(credit, balance, &credit));
            else assert_false(__builtin_sub_overflow(owed, balance, &owed));
        }
        members += count;
    } while (after[0] != '\0');
    troc_ledger_read_end(read);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(members, stats.members);
    assert_int_equal(owed, debt);
    assert_int_equal(credit, debt);
    assert_int_equal(stats.debt_cents, debt);
    assert_int_equal(stats.balance_sum_cents, 0);
}

/* The journal replays to the same state (troc_ledger_verify). */
static void verify(fixture *f) {
    assert_int_equal(support_verify(f->s, 0), 0);
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
    support_batch_item(f->s, &f->ann, NULL, "ann", payees, amounts, NULL, NULL, 5, &batch);
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
    support_batch_item(f->s, &f->ann, NULL, "ann", payees, (const int64_t[]){1, 5}, NULL, NULL, 2, &batch);
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
    paid2[support_obligation_at(&snapshot, ann_owes)] = 50;
    paid2[support_obligation_at(&snapshot, ben_owes)] = 50;
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

/* ----------------------------------------------- the cache mid-round */

/* A credit round whose second pass fills the write cache.  FILLERS members,
 * whom sink pays a cent each just before the round in the same write
 * transaction, leave room for the round's payer and payee and a few more;
 * its set-off cycles, among members that only its second pass touches,
 * take the rest.  So the cache is written out after the round's first
 * payment (ann pays ben 100), in the middle of the round. */
enum { FILLERS = TROC_WRITE_ACCOUNTS_MAX - 64, CYCLES = 40 };
_Static_assert(3 * CYCLES > 64 && 3 * CYCLES <= DEBTORS, "the cycles' members fill the cache");

static void filler_name(int i, char name[16]) {
    snprintf(name, 16, "f%05d", i);
}

/* Admits sink, ann, ben, the cycles' members (m0000 ...) and the fillers,
 * and opens the round's obligations, oldest first: ann owes ben 100, then
 * CYCLES cycles m(3c) -> m(3c+1) -> m(3c+2) -> m(3c) of 1 each. */
static void cache_round_members(fixture *f, uint8_t ann_owes[TROC_ID_SIZE]) {
    support_batch_begin(f->s);
    assert_int_equal(support_member_add(f->s, "sink", &f->sink, TROC_AMOUNT_CENTS_MAX, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "ann", &f->ann, TROC_AMOUNT_CENTS_MAX, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "ben", &f->ben, 0, -1), TROC_RESULT_OK);
    for (int i = 0; i < 3 * CYCLES; i++) {
        char name[16];
        debtor_name(i, name);
        assert_int_equal(support_member_add(f->s, name, &f->debtors[i], 0, -1), TROC_RESULT_OK);
    }
    for (int i = 0; i < FILLERS; i++) {
        char name[16];
        uint8_t key[TROC_PUBLIC_KEY_SIZE];
        filler_name(i, name);
        support_public_key((uint32_t)i, key);
        support_item item;
        support_member_add_item(f->s, name, key, 0, -1, &item);
        assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK);
        support_item_free(&item);
    }
    obligation(f, &f->ben, "ben", &f->ann, "ann", 100, ann_owes);
    for (int i = 0; i < 3 * CYCLES; i++) {
        int next = i % 3 == 2 ? i - 2 : i + 1;
        char debtor[16], creditor[16];
        uint8_t id[TROC_ID_SIZE];
        debtor_name(i, debtor);
        debtor_name(next, creditor);
        obligation(f, &f->debtors[next], creditor, &f->debtors[i], debtor, 1, id);
    }
    support_batch_commit(f->s);
}

/* Pads the journal with changes of ben's credit line (moving no balance)
 * so that the next entry is the first of one of replay's transactions:
 * replay commits every TROC_REPLAY_ENTRIES_PER_COMMIT entries, counting
 * the init entry. */
static void replay_transaction_start(fixture *f) {
    uint64_t entries = support_stats(f->s).journal_entries;
    uint64_t pad = (TROC_REPLAY_ENTRIES_PER_COMMIT - entries % TROC_REPLAY_ENTRIES_PER_COMMIT) %
                   TROC_REPLAY_ENTRIES_PER_COMMIT;
    support_batch_begin(f->s);
    for (uint64_t i = 0; i < pad; i++) {
        assert_int_equal(support_limit_set(f->s, "ben", (int64_t)(i % 2) + 1, "pad"), TROC_RESULT_OK);
    }
    support_batch_commit(f->s);
    assert_int_equal(support_stats(f->s).journal_entries % TROC_REPLAY_ENTRIES_PER_COMMIT, 0);
}

/* sink pays every filler a cent, in batches of TROC_BATCH_ITEMS_MAX. */
static void fillers_pay(fixture *f) {
    static char names[TROC_BATCH_ITEMS_MAX][16];
    static const char *payees[TROC_BATCH_ITEMS_MAX];
    static int64_t amounts[TROC_BATCH_ITEMS_MAX];
    static uint16_t codes[TROC_BATCH_ITEMS_MAX];
    for (int first = 0; first < FILLERS; first += TROC_BATCH_ITEMS_MAX) {
        int count = FILLERS - first < TROC_BATCH_ITEMS_MAX ? FILLERS - first : TROC_BATCH_ITEMS_MAX;
        for (int i = 0; i < count; i++) {
            filler_name(first + i, names[i]);
            payees[i] = names[i];
            amounts[i] = 1;
        }
        support_item batch;
        support_batch_item(f->s, &f->sink, NULL, "sink", payees, amounts, NULL, NULL, (size_t)count, &batch);
        troc_item_result result = {.item_codes = codes};
        assert_int_equal(support_submit(f->s, &batch, &result), TROC_RESULT_OK);
        support_item_free(&batch);
        for (int i = 0; i < count; i++) assert_int_equal(codes[i], TROC_RESULT_OK);
    }
}

/* The fillers' payments and the round, in one write transaction or each
 * in its own; either way in one of replay's. */
static void round_across_a_cache_flush(fixture *f, bool one_transaction) {
    uint8_t ann_owes[TROC_ID_SIZE];
    cache_round_members(f, ann_owes);
    troc_clearing_snapshot snapshot;
    support_clearing_snapshot(f->s, &snapshot);
    assert_int_equal(snapshot.obligation_count, 1 + 3 * CYCLES);
    assert_int_equal(support_obligation_at(&snapshot, ann_owes), 0); /* paid before any cycle is set off */
    int64_t *cleared = calloc(snapshot.obligation_count, sizeof *cleared);
    int64_t *paid = calloc(snapshot.obligation_count, sizeof *paid);
    assert_true(cleared != NULL && paid != NULL);
    for (size_t i = 1; i < snapshot.obligation_count; i++) cleared[i] = 1;
    paid[0] = 100;
    replay_transaction_start(f);
    const int64_t debt = support_stats(f->s).debt_cents + FILLERS + 100;
    if (one_transaction) support_batch_begin(f->s);
    fillers_pay(f);
    assert_int_equal(support_clearing_apply(f->s, &snapshot, true, cleared, paid, NULL), 0);
    if (one_transaction) support_batch_commit(f->s);
    troc_clearing_snapshot_free(&snapshot);
    free(cleared);
    free(paid);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.journal_entries % TROC_REPLAY_ENTRIES_PER_COMMIT,
                     (FILLERS + TROC_BATCH_ITEMS_MAX - 1) / TROC_BATCH_ITEMS_MAX + 1);
    assert_int_equal(stats.clearing_runs, 1);
    assert_int_equal(stats.obligations_open, 0);
    assert_int_equal(support_balance(f->s, "ann"), -100);
    assert_int_equal(support_balance(f->s, "ben"), 100);
    assert_int_equal(support_balance(f->s, "m0000"), 0);
    assert_int_equal(support_balance(f->s, "f00000"), 1);
    balances_sum_to_zero(f, debt);
    verify(f);
}

/* One write transaction, as a group commit holds items and a round: the
 * cache is written out in the middle of the round as it is applied, and
 * again when replay applies it. */
static void test_credit_round_across_a_cache_flush(void **state) {
    round_across_a_cache_flush(*state, true);
}

/* Each in its own commit: the round's own transaction has room, and only
 * replay, which applies them in one, writes the cache out mid-round. */
static void test_verify_replays_a_credit_round_across_a_cache_flush(void **state) {
    round_across_a_cache_flush(*state, false);
}

/* ------------------------------------------- balance changes past int64 */

/* sink, owed the whole debt (INT64_MAX), pays every debtor back and then
 * pays ann TROC_AMOUNT_CENTS_MAX on its credit line, in three
 * TransferBatches.  Each item passes its checks: the debt falls to 0, then
 * sink's payment to ann makes TROC_AMOUNT_CENTS_MAX of new debt.  Written
 * out together, the balances that rise do so by INT64_MAX plus that (the
 * debt before plus the debt after), past int64, and sink's falls by as
 * much.  The batches are committed in one write transaction or each in
 * its own; either way replay applies them in one. */
static void repay_everyone(fixture *f, bool one_transaction) {
    static char names[DEBTORS + 1][16];
    static const char *payees[DEBTORS + 1];
    static int64_t amounts[DEBTORS + 1];
    static uint16_t codes[TROC_BATCH_ITEMS_MAX];
    edge(f, 0);
    for (int i = 0; i < DEBTORS; i++) {
        debtor_name(i, names[i]);
        payees[i] = names[i];
        amounts[i] = i < DEBTORS - 1 ? TROC_AMOUNT_CENTS_MAX : INT64_MAX - (DEBTORS - 1) * TROC_AMOUNT_CENTS_MAX;
    }
    payees[DEBTORS] = "ann";
    amounts[DEBTORS] = TROC_AMOUNT_CENTS_MAX;
    assert_int_equal(support_limit_set(f->s, "sink", TROC_AMOUNT_CENTS_MAX, "pays ann"), TROC_RESULT_OK);
    replay_transaction_start(f);
    if (one_transaction) support_batch_begin(f->s);
    for (int first = 0; first < DEBTORS + 1; first += TROC_BATCH_ITEMS_MAX) {
        int count = DEBTORS + 1 - first < TROC_BATCH_ITEMS_MAX ? DEBTORS + 1 - first : TROC_BATCH_ITEMS_MAX;
        support_item batch;
        support_batch_item(f->s, &f->sink, NULL, "sink", payees + first, amounts + first, NULL, NULL, (size_t)count,
                           &batch);
        troc_item_result result = {.item_codes = codes};
        assert_int_equal(support_submit(f->s, &batch, &result), TROC_RESULT_OK);
        support_item_free(&batch);
        for (int i = 0; i < count; i++) assert_int_equal(codes[i], TROC_RESULT_OK);
    }
    if (one_transaction) support_batch_commit(f->s);
    assert_int_equal(support_stats(f->s).journal_entries % TROC_REPLAY_ENTRIES_PER_COMMIT, 3);
    assert_int_equal(support_balance(f->s, "sink"), -TROC_AMOUNT_CENTS_MAX);
    assert_int_equal(support_balance(f->s, "ann"), TROC_AMOUNT_CENTS_MAX);
    assert_int_equal(support_balance(f->s, "m0000"), 0);
    assert_int_equal(support_balance(f->s, "m9223"), 0);
    balances_sum_to_zero(f, TROC_AMOUNT_CENTS_MAX);
    verify(f);
}

/* One write transaction, as a group commit of sink's batches would be. */
static void test_repaying_everyone_in_one_transaction(void **state) {
    repay_everyone(*state, true);
}

/* Each batch in its own commit: only replay writes them out together. */
static void test_verify_replays_repayments_committed_apart(void **state) {
    repay_everyone(*state, false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transfer_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invoice_payment_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_round_past_the_debt_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_round_across_a_cache_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_replays_a_credit_round_across_a_cache_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repaying_everyone_in_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_replays_repayments_committed_apart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
