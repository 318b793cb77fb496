/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ledger_bench: the ledger's write path alone, with synced commits.
 *
 *   ledger_bench [--members N] [--transfers N] [--per-commit N]
 *                [--batch-transfers N] [--batch-size N] [--batches-per-commit N]
 *                [--random-ids | --client-ids] [--round-obligations N [--with-credit]]
 *
 * Creates a ledger with N members (large credit lines, so nothing is
 * refused), then
 *   1. applies single transfers (already verified and decoded, as the
 *      server's writer receives them) in write transactions of
 *      --per-commit transfers;
 *   2. applies batches signed once, of --batch-size transfers from one payer
 *      each, --batches-per-commit batches per transaction.
 * Items are built between transactions; only begin/apply/commit is timed.
 * Ids are a counter (strictly ordered), random with --random-ids, or made
 * like libtroc's with --client-ids (ordered by millisecond, random within
 * one, CLIENT_IDS_PER_MS per millisecond).  Reports transfers
 * per second, the CPU time (user and system) per transfer and the bytes the
 * data file grew by per transfer.  Signature
 * verification is not part of this bench (the server measures it).
 *
 * --round-obligations N then issues and accepts N invoices between random
 * members (--per-commit per transaction), takes a clearing snapshot, solves
 * it, and times the writer's part of a round: applying it (every set-off,
 * and with --with-credit every payment in credit, with their statement
 * lines) and the synced commit.  This is how long a round holds the
 * daemon's writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "base/result.h"
#include "clearing/clearing.h"
#include "ledger_support.h"

typedef struct options {
    int members;
    int transfers;
    int per_commit;
    int batch_transfers;
    int batch_size;
    int batches_per_commit;
    int random_ids;
    int client_ids;
    int round_obligations;
    int with_credit;
} options;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds this process used so far (user and system: the kernel's
 * share of writing and syncing pages counts). */
static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void member_name(int i, char name[16]) {
    snprintf(name, 16, "m%06d", i);
}

/* Ids made by clients advance with the millisecond they are made in
 * (troc_id_generate: 48 bits of time, 80 random bits); a busy client makes
 * this many in one millisecond, in random order among themselves. */
#define CLIENT_IDS_PER_MS 64

static void next_id(support *s, const options *o, uint8_t id[TROC_ID_SIZE]) {
    support_id(s, id);
    if (o->random_ids) {
        for (int i = 0; i < TROC_ID_SIZE; i++) id[i] = (uint8_t)rng_next();
    } else if (o->client_ids) {
        uint64_t ms = (s->next_id - 1) / CLIENT_IDS_PER_MS;
        for (int i = 0; i < 6; i++) id[i] = (uint8_t)(ms >> (8 * (5 - i)));
        for (int i = 6; i < TROC_ID_SIZE; i++) id[i] = (uint8_t)rng_next();
    }
}

static void fake_key(int member, uint8_t key[TROC_PUBLIC_KEY_SIZE]) {
    support_public_key((uint32_t)member, key);
}

static void members_add(support *s, const options *o) {
    troc_ledger_write *write = NULL;
    if (troc_ledger_write_begin(s->ledger, s->now_us, &write) != 0) exit(1);
    for (int i = 0; i < o->members; i++) {
        char name[16];
        uint8_t key[TROC_PUBLIC_KEY_SIZE];
        member_name(i, name);
        fake_key(i, key);
        support_item item;
        support_member_add_item(s, name, key, TROC_AMOUNT_CENTS_MAX, -1, &item);
        troc_item_result result = {0};
        if (troc_ledger_apply(write, &item.item, &result) != 0 || result.code != TROC_RESULT_OK) exit(1);
        support_item_free(&item);
    }
    if (troc_ledger_write_commit(write) != 0) exit(1);
}

/* Applies `count` items in one transaction; returns the seconds it took
 * and adds the CPU seconds to *cpu. */
static double commit_timed(support *s, support_item *items, int count, int *refused, double *cpu) {
    static uint16_t codes[TROC_BATCH_ITEMS_MAX];
    double start = now_seconds(), cpu_start = cpu_seconds();
    troc_ledger_write *write = NULL;
    int rc = troc_ledger_write_begin(s->ledger, s->now_us, &write);
    for (int i = 0; i < count && rc == 0; i++) {
        troc_item_result result = {.item_codes = codes};
        rc = troc_ledger_apply(write, &items[i].item, &result);
        if (result.code != TROC_RESULT_OK) (*refused)++;
    }
    if (rc == 0) rc = troc_ledger_write_commit(write);
    if (rc != 0) {
        fprintf(stderr, "ledger_bench: %s\n", troc_strerror(rc));
        exit(1);
    }
    s->now_us += 1000;
    *cpu += cpu_seconds() - cpu_start;
    return now_seconds() - start;
}

static void single_build(support *s, const options *o, support_item *item) {
    char payer[16], payee[16];
    int a = (int)(rng_next() % (uint64_t)o->members);
    int b = (int)(rng_next() % (uint64_t)(o->members - 1));
    if (b >= a) b++;
    member_name(a, payer);
    member_name(b, payee);
    uint8_t id[TROC_ID_SIZE], key[TROC_PUBLIC_KEY_SIZE];
    next_id(s, o, id);
    fake_key(a, key);
    Troc__V1__Transfer t = TROC__V1__TRANSFER__INIT;
    t.has_id = 1;
    t.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    t.payer = payer;
    t.payee = payee;
    t.has_amount_cents = 1;
    t.amount_cents = 1 + (int64_t)(rng_next() % 10000);
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, &t, NULL, key, item);
}

static void batch_build(support *s, const options *o, support_item *item) {
    static Troc__V1__BatchItem items[TROC_BATCH_ITEMS_MAX];
    static Troc__V1__BatchItem *pointers[TROC_BATCH_ITEMS_MAX];
    static char payees[TROC_BATCH_ITEMS_MAX][16];
    static uint8_t ids[TROC_BATCH_ITEMS_MAX][TROC_ID_SIZE];
    int a = (int)(rng_next() % (uint64_t)o->members);
    for (int i = 0; i < o->batch_size; i++) {
        int b = (int)(rng_next() % (uint64_t)(o->members - 1));
        if (b >= a) b++;
        Troc__V1__BatchItem init = TROC__V1__BATCH_ITEM__INIT;
        items[i] = init;
        member_name(b, payees[i]);
        next_id(s, o, ids[i]);
        items[i].has_id = 1;
        items[i].id = (ProtobufCBinaryData){TROC_ID_SIZE, ids[i]};
        items[i].payee = payees[i];
        items[i].has_amount_cents = 1;
        items[i].amount_cents = 1 + (int64_t)(rng_next() % 10000);
        pointers[i] = &items[i];
    }
    char payer[16];
    uint8_t id[TROC_ID_SIZE], key[TROC_PUBLIC_KEY_SIZE];
    member_name(a, payer);
    next_id(s, o, id);
    fake_key(a, key);
    Troc__V1__TransferBatch batch = TROC__V1__TRANSFER_BATCH__INIT;
    batch.has_id = 1;
    batch.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    batch.payer = payer;
    batch.n_items = (size_t)o->batch_size;
    batch.items = pointers;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_BATCH, &batch, NULL, key, item);
}

static long long data_size(support *s) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", s->directory);
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Runs `total` transfers as items of `per_item` transfers, `per_commit`
 * items per transaction. */
static void run(support *s, const options *o, const char *label, int total, int per_item, int per_commit,
                void (*build)(support *, const options *, support_item *)) {
    support_item *items = calloc((size_t)per_commit, sizeof *items);
    double seconds = 0, cpu = 0;
    int done = 0, refused = 0, commits = 0;
    long long size_before = data_size(s);
    while (done < total) {
        int count = 0;
        while (count < per_commit && done + count * per_item < total) build(s, o, &items[count++]);
        seconds += commit_timed(s, items, count, &refused, &cpu);
        for (int i = 0; i < count; i++) support_item_free(&items[i]);
        done += count * per_item;
        commits++;
    }
    long long grown = data_size(s) - size_before;
    printf("%-8s transfers=%d per_commit=%d commits=%d seconds=%.3f transfers_per_second=%.0f "
           "cpu_us_per_transfer=%.2f bytes_per_transfer=%.0f refused_items=%d\n",
           label, done, per_commit * per_item, commits, seconds, done / seconds, cpu * 1e6 / done, (double)grown / done,
           refused);
    free(items);
}

/* An invoice from creditor b to debtor a (signed by b), or its acceptance
 * (signed by a). */
static void invoice_build(support *s, int a, int b, const uint8_t invoice_id[TROC_ID_SIZE], bool accept,
                          support_item *item) {
    char debtor[16], creditor[16];
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    member_name(a, debtor);
    member_name(b, creditor);
    fake_key(accept ? a : b, key);
    Troc__V1__InvoiceIssue issue = TROC__V1__INVOICE_ISSUE__INIT;
    issue.creditor = creditor;
    issue.debtor = debtor;
    issue.has_amount_cents = 1;
    issue.amount_cents = 1 + (int64_t)(rng_next() % 10000);
    Troc__V1__InvoiceRef ref = TROC__V1__INVOICE_REF__INIT;
    ref.has_invoice_id = 1;
    ref.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)invoice_id};
    Troc__V1__InvoiceAction action = TROC__V1__INVOICE_ACTION__INIT;
    uint8_t id[TROC_ID_SIZE];
    if (accept) {
        support_id(s, id);
        action.action_case = TROC__V1__INVOICE_ACTION__ACTION_ACCEPT;
        action.accept = &ref;
    } else {
        memcpy(id, invoice_id, TROC_ID_SIZE);
        action.action_case = TROC__V1__INVOICE_ACTION__ACTION_ISSUE;
        action.issue = &issue;
    }
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_INVOICE, &action, NULL, key, item);
}

/* N open obligations between random members: each invoice issued, then
 * accepted, in transactions of per_commit items. */
static void obligations_add(support *s, const options *o) {
    const int n = o->round_obligations;
    uint8_t(*ids)[TROC_ID_SIZE] = malloc((size_t)n * sizeof *ids);
    int(*pairs)[2] = malloc((size_t)n * sizeof *pairs);
    support_item *items = calloc((size_t)o->per_commit, sizeof *items);
    if (ids == NULL || pairs == NULL || items == NULL) exit(1);
    for (int k = 0; k < n; k++) {
        pairs[k][0] = (int)(rng_next() % (uint64_t)o->members);
        pairs[k][1] = (int)(rng_next() % (uint64_t)(o->members - 1));
        if (pairs[k][1] >= pairs[k][0]) pairs[k][1]++;
        support_id(s, ids[k]);
    }
    for (int accept = 0; accept < 2; accept++) {
        for (int done = 0; done < n;) {
            int count = 0, refused = 0;
            double cpu = 0;
            for (; count < o->per_commit && done + count < n; count++) {
                const int k = done + count;
                invoice_build(s, pairs[k][0], pairs[k][1], ids[k], accept, &items[count]);
            }
            commit_timed(s, items, count, &refused, &cpu);
            if (refused != 0) {
                fprintf(stderr, "ledger_bench: %d invoice items refused\n", refused);
                exit(1);
            }
            for (int i = 0; i < count; i++) support_item_free(&items[i]);
            done += count;
        }
    }
    free(items);
    free(pairs);
    free(ids);
}

/* Solves a clearing round on the open obligations and times its apply and
 * commit. */
static void round_run(support *s, const options *o) {
    obligations_add(s, o);
    troc_clearing_snapshot snapshot;
    support_clearing_snapshot(s, &snapshot);
    troc_obligation *obligations = malloc(snapshot.obligation_count * sizeof *obligations);
    troc_clearing_account *accounts = malloc(snapshot.firm_count * sizeof *accounts);
    if (obligations == NULL || accounts == NULL) exit(1);
    for (size_t k = 0; k < snapshot.obligation_count; k++) {
        obligations[k] = (troc_obligation){snapshot.obligations[k].debtor, snapshot.obligations[k].creditor,
                                           snapshot.obligations[k].remaining_cents};
    }
    /* Credit lines that let credit settle some of what set-off leaves. */
    for (uint32_t f = 0; f < snapshot.firm_count; f++) {
        accounts[f] = (troc_clearing_account){snapshot.firms[f].balance_cents, 20000, TROC_CLEARING_NO_MAX};
    }
    troc_clearing_problem problem = {.firm_count = snapshot.firm_count,
                                     .obligation_count = snapshot.obligation_count,
                                     .obligations = obligations,
                                     .accounts = o->with_credit ? accounts : NULL};
    troc_clearing_result result;
    int rc = troc_clearing_solve(&problem, &result, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "ledger_bench: the solve failed: %s\n", troc_strerror(rc));
        exit(1);
    }
    size_t settlements = 0;
    for (size_t k = 0; k < snapshot.obligation_count; k++) {
        settlements += result.cleared_cents[k] > 0 || result.paid_cents[k] > 0;
    }
    troc_clearing_round_item round;
    rc = troc_ledger_clearing_round_build(s->ledger, &snapshot, o->with_credit, NULL, result.cleared_cents,
                                          result.paid_cents, result.potentials, &round);
    if (rc != 0) {
        fprintf(stderr, "ledger_bench: cannot build the round: %s\n", troc_strerror(rc));
        exit(1);
    }
    const double start = now_seconds(), cpu_start = cpu_seconds();
    troc_ledger_write *write = NULL;
    troc_item_result item_result = {0};
    rc = troc_ledger_write_begin(s->ledger, s->now_us, &write);
    if (rc == 0) rc = troc_ledger_apply_clearing(write, &round.item, snapshot.journal_seq, &item_result);
    if (rc == 0) rc = troc_ledger_write_commit(write);
    const double seconds = now_seconds() - start, cpu = cpu_seconds() - cpu_start;
    if (rc != 0 || item_result.code != TROC_RESULT_OK) {
        fprintf(stderr, "ledger_bench: the round was not applied: %s (code %d)\n", troc_strerror(rc),
                (int)item_result.code);
        exit(1);
    }
    s->now_us += 1000;
    printf("round    obligations=%zu settlements=%zu mode=%s apply_seconds=%.3f cpu_us_per_settlement=%.2f "
           "journal_bytes=%zu\n",
           snapshot.obligation_count, settlements, o->with_credit ? "credit" : "plain", seconds,
           settlements > 0 ? cpu * 1e6 / (double)settlements : 0.0, round.item.body_size);
    troc_clearing_round_item_free(&round);
    troc_clearing_result_free(&result);
    free(accounts);
    free(obligations);
    troc_clearing_snapshot_free(&snapshot);
}

static int option_int(int argc, char **argv, const char *name, int fallback) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) return atoi(argv[i + 1]);
    }
    return fallback;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: ledger_bench [--members N] [--transfers N] [--per-commit N] [--batch-transfers N]\n"
                 "                    [--batch-size N] [--batches-per-commit N] [--random-ids | --client-ids]\n"
                 "                    [--round-obligations N [--with-credit]]\n"
                 "Applies verified transfers to a fresh ledger in $TMPDIR with synced commits and\n"
                 "reports transfers per second, for single transfers and for batches signed once.\n"
                 "--round-obligations N: then N invoices issued and accepted, and the time a\n"
                 "clearing round of them takes to apply and commit (the writer's part).");
            return 0;
        }
    }
    options o = {
        .members = option_int(argc, argv, "--members", 10000),
        .transfers = option_int(argc, argv, "--transfers", 200000),
        .per_commit = option_int(argc, argv, "--per-commit", 1000),
        .batch_transfers = option_int(argc, argv, "--batch-transfers", 2000000),
        .batch_size = option_int(argc, argv, "--batch-size", TROC_BATCH_ITEMS_MAX),
        .batches_per_commit = option_int(argc, argv, "--batches-per-commit", 16),
        .round_obligations = option_int(argc, argv, "--round-obligations", 0),
    };
    for (int i = 1; i < argc; i++) {
        o.random_ids |= strcmp(argv[i], "--random-ids") == 0;
        o.client_ids |= strcmp(argv[i], "--client-ids") == 0;
        o.with_credit |= strcmp(argv[i], "--with-credit") == 0;
    }
    if (o.members < 2 || o.per_commit < 1 || o.batch_size < 1 || o.batch_size > TROC_BATCH_ITEMS_MAX ||
        o.batches_per_commit < 1 || o.members > TROC_MEMBERS_MAX || o.round_obligations < 0) {
        fputs("ledger_bench: bad option value (see --help)\n", stderr);
        return 2;
    }
    support *s = support_create();
    members_add(s, &o);
    printf("members=%d ids=%s\n", o.members, o.random_ids ? "random" : o.client_ids ? "client" : "ordered");
    if (o.transfers > 0) run(s, &o, "single", o.transfers, 1, o.per_commit, single_build);
    if (o.batch_transfers > 0) {
        run(s, &o, "batch", o.batch_transfers, o.batch_size, o.batches_per_commit, batch_build);
    }
    if (o.round_obligations > 0) round_run(s, &o);
    troc_stats stats = support_stats(s);
    printf("ledger transfers=%llu journal_entries=%llu balance_sum=%lld\n", (unsigned long long)stats.transfers,
           (unsigned long long)stats.journal_entries, (long long)stats.balance_sum_cents);
    support_destroy(s);
    return 0;
}
