/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clearing rounds in the daemon: the exact set-off (engine/clearing) of the
 * ledger's open obligations, run when an administrator asks
 * (AdminAction{clearing_run}), every --clear-every, or as a dry run
 * (ClearingQuery{preview}); and reading applied rounds back.
 *
 * A round, one at a time:
 *
 *   loop      a job is queued (at most TROC_CLEARING_JOBS_WAITING_MAX wait)
 *   pool      snapshot of the open obligations in one read transaction,
 *             solve, troc_clearing_check, build and sign the round
 *   writer    (credit mode: the snapshot's accounts are unchanged) one write
 *             transaction: troc_ledger_apply_clearing checks that nothing
 *             the round settles changed since the snapshot and applies every
 *             set-off and credit payment, journaled as one entry; commit
 *   loop      stale (TROC_ESTALE): a new attempt from a new snapshot, at
 *             most TROC_CLEARING_ATTEMPTS_MAX in all; done: one log line,
 *             and the requests waiting for the round are answered
 *
 * The loop thread never solves.  The writer does not wait for a solve,
 * except in a round's last attempt: when every attempt before it went
 * stale (payments kept landing on what it settles), the last one takes its
 * snapshot, solves and applies on the writer, between two group commits,
 * so that nothing can change in between.  Payments then wait for the solve
 * instead of the round being given up: under steady load a round with a
 * large backlog would otherwise never apply.
 *
 * A round that settles nothing (no cycle of debts, and in credit mode no
 * room in any credit line) is not journaled and consumes no run number:
 * its requester gets a summary with run 0 and applied = false.
 *
 * Admin requests.  The ledger journals the AdminAction{clearing_run} itself
 * (idempotent by its id); its submit is answered only when the round it
 * asked for is done, with the round's summary in the item's result.  A
 * resubmitted action (same id: the ledger answers the stored result) is
 * answered with the round that carries its id as requested_by, found by
 * walking the rounds applied since the action's journal entry, newest
 * first; when there is none (its round found nothing to clear, failed, or
 * the daemon stopped before running it) a round is run now.  An action
 * whose round is queued or running waits for that same round.
 *
 * Threads: the job in progress belongs to the pool while it solves and to
 * the writer while it applies (in a last attempt, from its snapshot to its
 * commit); each hands it back with libuv's own synchronisation
 * (after-work callback, uv_async_send).  Everything else here is the loop
 * thread's.
 *
 * Tests: nothing here is mocked.  test/test_rounds.c makes a snapshot go
 * stale deterministically by wrapping troc_clearing_solve at link time
 * (-Wl,--wrap) with a function that submits a payment before solving (and
 * waits for it, except on the writer, where it can only land afterwards).
 */
#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "base/amount.h"
#include "base/error.h"
#include "base/result.h"
#include "base/text.h"
#include "clearing/clearing.h"
#include "log.h"
#include "server_int.h"

typedef enum job_kind {
    JOB_ROUND = 0,                         /* solve and apply */
    JOB_PREVIEW = 1,                       /* solve, answer, apply nothing */
} job_kind;

/* An admin action waiting for its round. */
typedef struct waiter {
    struct waiter *next;
    troc__request *request;
    troc__round_outcome *outcome;          /* the item's, in the request's arena */
} waiter;

typedef struct job {
    struct job *next;                      /* in the queue */
    job_kind kind;
    bool with_credit;
    bool timed;                            /* started by --clear-every */
    bool has_requested_by;
    uint8_t requested_by[TROC_ID_SIZE];    /* the admin action that asked for it */
    waiter *waiters;                       /* rounds: the requests to answer */
    troc__request *preview;                /* previews: the request to answer */
    uint32_t offset, limit;                /* previews: the page of settlements asked for */
    unsigned attempts;
    bool on_writer;                        /* the last attempt: snapshot, solve and apply on the writer */
    uint64_t started_ns;                   /* uv_hrtime() when it left the queue */
    /* The current attempt, handed between the loop, the pool and the writer. */
    troc_clearing_snapshot snapshot;
    troc_clearing_result result;           /* filled when the snapshot held obligations */
    troc_clearing_round_item round;        /* filled when the solution settles something */
    bool built;
    int rc;                                /* of the solve (pool) or of the apply (writer) */
    const char *stage;                     /* what failed, for messages */
    troc_item_result applied;              /* the writer's result */
} job;

struct troc__clearing {
    troc_server *server;
    uv_timer_t timer;                      /* --clear-every */
    uv_async_t applied_async;              /* the writer is done with the current round */
    int handles_open;                      /* freed when both handles are closed */
    troc__writer_task task;                /* applies the current round on the writer thread */
    uv_work_t work;                        /* solves the current job on the pool */
    job *current;                          /* solving or applying; NULL when idle */
    job *head, *tail;                      /* waiting, in order */
    size_t waiting;
    bool applying;                         /* the current job is the writer's */
    bool stopping;
    bool quiet;                            /* the last timed round found nothing, and said so */
};

static const char *error_text(int rc) {
    if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) return mdb_strerror(rc);
    return troc_strerror(rc);
}

/* ------------------------------------------------------------- jobs */

static job *job_new(job_kind kind, bool with_credit) {
    assert(kind == JOB_ROUND || kind == JOB_PREVIEW);
    job *j = calloc(1, sizeof *j);
    if (j == NULL) return NULL;
    j->kind = kind;
    j->with_credit = with_credit;
    return j;
}

/* Releases what one attempt holds. */
static void attempt_release(job *j) {
    troc_clearing_round_item_free(&j->round);
    troc_clearing_result_free(&j->result);
    troc_clearing_snapshot_free(&j->snapshot);
    j->built = false;
    j->rc = 0;
    j->stage = NULL;
}

static void job_free(job *j) {
    assert(j != NULL && j->next == NULL);
    assert(j->waiters == NULL && j->preview == NULL);
    attempt_release(j);
    free(j);
}

/* The number of obligations the solution settles, in snapshot order. */
static uint64_t settled_count(const job *j) {
    uint64_t count = 0;
    if (j->result.cleared_cents == NULL) return 0;
    for (size_t i = 0; i < j->snapshot.obligation_count; i++) {
        if (j->result.cleared_cents[i] > 0 || j->result.paid_cents[i] > 0) count++;
    }
    return count;
}

/* The summary of the current attempt (applied or not). */
static void job_summary(const job *j, bool applied, troc_clearing_summary *summary) {
    assert(j != NULL && summary != NULL);
    assert(!applied || (j->built && j->applied.journal_seq != 0));
    memset(summary, 0, sizeof *summary);
    summary->run = applied ? j->snapshot.run : 0;
    summary->journal_seq = applied ? j->applied.journal_seq : 0;
    summary->timestamp_us = applied ? j->applied.timestamp_us : 0;
    summary->with_credit = j->with_credit;
    summary->obligations = (int64_t)j->snapshot.obligation_count;
    summary->total_cents = j->snapshot.total_cents;
    summary->cleared_cents = j->result.cleared_total_cents;
    summary->paid_cents = j->result.paid_total_cents;
    summary->settlement_count = settled_count(j);
    summary->has_requested_by = j->has_requested_by;
    memcpy(summary->requested_by, j->requested_by, TROC_ID_SIZE);
}

/* ---------------------------------------------------- on the pool */

/* Whether a round takes obligation o into its problem.  A credit round
 * leaves out the obligations of frozen members: a frozen account can
 * neither pay nor be paid, and in credit mode any part of a settlement may
 * end up paid, even through a member whose payments in and out net to
 * nothing.  A plain round sets them off like any other. */
static bool solved(const job *j, const troc_clearing_obligation *o) {
    const troc_clearing_firm *firms = j->snapshot.firms;
    return !j->with_credit || (!firms[o->debtor].frozen && !firms[o->creditor].frozen);
}

/* Puts the result of the `count` obligations solved back in the snapshot's
 * places (kept[k]: the place of the k-th), zero for those left out. */
static int result_spread(job *j, const size_t *kept, size_t count) {
    const size_t total = j->snapshot.obligation_count;
    int64_t *cleared = calloc(total, sizeof *cleared), *paid = calloc(total, sizeof *paid);
    if (cleared == NULL || paid == NULL) {
        free(cleared);
        free(paid);
        return -ENOMEM;
    }
    for (size_t k = 0; k < count; k++) {
        cleared[kept[k]] = j->result.cleared_cents[k];
        paid[kept[k]] = j->result.paid_cents[k];
    }
    free(j->result.cleared_cents);
    free(j->result.paid_cents);
    j->result.cleared_cents = cleared;
    j->result.paid_cents = paid;
    return 0;
}

/* Solves the snapshot and checks the solution from its certificate. */
static int snapshot_solve(job *j) {
    const troc_clearing_snapshot *s = &j->snapshot;
    assert(s->obligation_count > 0 && s->firm_count >= 2);
    troc_obligation *obligations = malloc(s->obligation_count * sizeof *obligations);
    size_t *kept = malloc(s->obligation_count * sizeof *kept);
    troc_clearing_account *accounts = j->with_credit ? malloc(s->firm_count * sizeof *accounts) : NULL;
    int rc = obligations == NULL || kept == NULL || (j->with_credit && accounts == NULL) ? -ENOMEM : 0;
    size_t count = 0;
    for (size_t i = 0; rc == 0 && i < s->obligation_count; i++) {
        const troc_clearing_obligation *o = &s->obligations[i];
        if (!solved(j, o)) continue;
        kept[count] = i;
        obligations[count++] = (troc_obligation){o->debtor, o->creditor, o->remaining_cents};
    }
    /* A balance may lie beyond what the solver takes (a member owed more
     * than TROC_CLEARING_TOTAL_CENTS_MAX): it is given the same room
     * within it, which gives the same round. */
    for (uint32_t f = 0; rc == 0 && accounts != NULL && f < s->firm_count; f++) {
        const troc_clearing_firm *firm = &s->firms[f];
        accounts[f] = troc_clearing_account_bounded(&(troc_clearing_account){
            firm->balance_cents, firm->credit_limit_cents, firm->balance_max_cents});
    }
    troc_clearing_problem problem = {
        .firm_count = s->firm_count, .obligation_count = count, .obligations = obligations, .accounts = accounts};
    j->stage = "solving";
    if (rc == 0) rc = troc_clearing_solve(&problem, &j->result, NULL, NULL);
    if (rc == 0) {
        j->stage = "checking the solution";
        rc = troc_clearing_check(&problem, &j->result);
    }
    if (rc == 0 && count < s->obligation_count) rc = result_spread(j, kept, count);
    free(obligations);
    free(kept);
    free(accounts);
    return rc;
}

static int attempt_solve(troc_ledger *ledger, job *j) {
    assert(ledger != NULL && j != NULL);
    attempt_release(j);
    troc_ledger_read *read = NULL;
    j->stage = "taking the snapshot";
    int rc = troc_ledger_read_begin(ledger, &read);
    if (rc != 0) return rc;
    rc = troc_ledger_clearing_snapshot(read, &j->snapshot);
    troc_ledger_read_end(read);
    if (rc != 0 || j->snapshot.obligation_count == 0) return rc;
    if ((rc = snapshot_solve(j)) != 0) return rc;
    if (j->kind != JOB_ROUND || j->result.cleared_total_cents + j->result.paid_total_cents == 0) return 0;
    j->stage = "building the round";
    rc = troc_ledger_clearing_round_build(ledger, &j->snapshot, j->with_credit,
                                          j->has_requested_by ? j->requested_by : NULL, j->result.cleared_cents,
                                          j->with_credit ? j->result.paid_cents : NULL, j->result.potentials,
                                          &j->round);
    j->built = rc == 0;
    assert(!j->built || j->round.item.kind == TROC__V1__ENVELOPE_KIND__KIND_NODE);
    return rc;
}

static void work_solve(uv_work_t *work) {
    troc__clearing *c = work->data;
    assert(c->current != NULL && !c->applying);
    c->current->rc = attempt_solve(c->server->ledger, c->current);
}

/* ------------------------------------------------- on the writer */

/* What a credit round touches of a firm's account. */
enum { TOUCHES_NOTHING, TOUCHES_FROZEN_FLAG, TOUCHES_ACCOUNT };

/* Credit mode: TROC_ESTALE when an account the round touches is not as the
 * snapshot saw it (run before the write transaction, on the writer's
 * thread: nothing can commit in between).  A firm that pays or is paid
 * depends on its balance, limits and frozen flag; one whose obligations
 * are only set off, on its frozen flag (credit rounds leave frozen members
 * out); others, on nothing, so that payments elsewhere in the territory
 * during the solve do not make the round stale. */
static int accounts_check(troc_ledger *ledger, const job *j) {
    const troc_clearing_snapshot *s = &j->snapshot;
    assert(ledger != NULL && s->firms != NULL);
    uint8_t *touches = calloc(s->firm_count, sizeof *touches);
    if (touches == NULL) return -ENOMEM;
    for (size_t i = 0; i < s->obligation_count; i++) {
        const uint8_t what = j->result.paid_cents[i] > 0      ? TOUCHES_ACCOUNT
                             : j->result.cleared_cents[i] > 0 ? TOUCHES_FROZEN_FLAG
                                                              : TOUCHES_NOTHING;
        const troc_clearing_obligation *o = &s->obligations[i];
        if (what > touches[o->debtor]) touches[o->debtor] = what;
        if (what > touches[o->creditor]) touches[o->creditor] = what;
    }
    troc_ledger_read *read = NULL;
    int rc = troc_ledger_read_begin(ledger, &read);
    troc_stats stats;
    if (rc == 0) rc = troc_ledger_stats(read, &stats);
    bool moved = rc == 0 && stats.journal_entries != s->journal_seq;
    for (uint32_t f = 0; moved && rc == 0 && f < s->firm_count; f++) {
        if (touches[f] == TOUCHES_NOTHING) continue;
        const troc_clearing_firm *firm = &s->firms[f];
        troc_account account;
        rc = troc_ledger_account(read, firm->name, &account);
        if (rc != 0) break;
        int64_t maximum = account.has_balance_max ? account.balance_max_cents : INT64_MAX;
        bool same = account.frozen == firm->frozen;
        if (touches[f] == TOUCHES_ACCOUNT) {
            same = same && account.balance_cents == firm->balance_cents &&
                   account.credit_limit_cents == firm->credit_limit_cents && maximum == firm->balance_max_cents;
        }
        if (!same) rc = TROC_ESTALE;
    }
    if (read != NULL) troc_ledger_read_end(read);
    free(touches);
    return rc;
}

static int round_commit(troc_ledger *ledger, job *j, int64_t timestamp_us) {
    assert(ledger != NULL && j->built);
    troc_ledger_write *write = NULL;
    int rc = troc_ledger_write_begin(ledger, timestamp_us, &write);
    if (rc != 0) return rc;
    rc = troc_ledger_apply_clearing(write, &j->round.item, j->snapshot.journal_seq, &j->applied);
    if (rc != 0) {
        troc_ledger_write_abort(write);
        return rc;
    }
    return troc_ledger_write_commit(write);
}

typedef struct round_apply {
    troc_ledger *ledger;
    job *job;
    int64_t timestamp_us;
} round_apply;

static int round_apply_run(void *context) {
    round_apply *r = context;
    return round_commit(r->ledger, r->job, r->timestamp_us);
}

static void task_run(troc__writer_task *task, troc_ledger *ledger, int64_t timestamp_us) {
    troc__clearing *c = (troc__clearing *)((char *)task - offsetof(troc__clearing, task));
    job *j = c->current;
    assert(j != NULL && (j->built || j->on_writer) && c->applying);
    int rc = j->on_writer ? attempt_solve(ledger, j) : 0;
    if (rc != 0 || !j->built) { /* nothing to settle, or the solve failed */
        j->rc = rc;
        uv_async_send(&c->applied_async);
        return;
    }
    if (j->on_writer) timestamp_us = troc__writer_now_us(); /* the round commits now, not when its solve began */
    j->stage = "applying the round";
    if (j->with_credit) rc = accounts_check(ledger, j);
    if (rc == 0) {
        round_apply r = {.ledger = ledger, .job = j, .timestamp_us = timestamp_us};
        bool grew = false;
        int grow_error = 0;
        rc = troc__writer_apply_growing(ledger, round_apply_run, &r, &grew, &grow_error);
    }
    j->rc = rc;
    uv_async_send(&c->applied_async);
}

/* --------------------------------------------------- on the loop */

static void start_next(troc__clearing *c);
static void after_solve(uv_work_t *work, int status);

/* Solves on the pool; the last attempt of a round that kept going stale
 * runs wholly on the writer (see the top of this file). */
static void attempt_start(troc__clearing *c, job *j) {
    assert(c->current == j && !c->applying);
    assert(j->attempts < TROC_CLEARING_ATTEMPTS_MAX);
    j->attempts++;
    if (j->kind == JOB_ROUND && j->attempts == TROC_CLEARING_ATTEMPTS_MAX) {
        j->on_writer = true;
        c->applying = true;
        troc__writer_push_task(&c->server->writer, &c->task);
        return;
    }
    c->work.data = c;
    int rc = uv_queue_work(c->server->loop, &c->work, work_solve, after_solve);
    assert(rc == 0 && "uv_queue_work fails only without callbacks");
    (void)rc;
}

/* Answers every request waiting for a round with `outcome`. */
static void waiters_answer(troc__clearing *c, job *j, const troc__round_outcome *outcome) {
    assert(j->kind == JOB_ROUND && outcome != NULL);
    assert(outcome->ran || outcome->detail[0] != '\0');
    /* Bounded by the requests that claimed the round. */
    while (j->waiters != NULL) {
        waiter *w = j->waiters;
        j->waiters = w->next;
        troc__request *request = w->request;
        *w->outcome = *outcome;
        free(w);
        assert(request->clearing_waits > 0);
        if (--request->clearing_waits > 0) continue;
        troc__conn *conn = request->conn;
        if (conn->state != TROC__CONN_CLOSED) troc__reply_submit(conn, request);
        troc__conn_request_put(conn, request);
    }
    troc__server_flush(c->server);
}

/* A round that was not run: its waiters are told why. */
static void round_refuse(troc__clearing *c, job *j, const char *detail) {
    troc__round_outcome outcome = {.ran = false};
    snprintf(outcome.detail, sizeof outcome.detail, "%s", detail);
    waiters_answer(c, j, &outcome);
}

/* Logs a round.  Timed rounds that find nothing log only the first of a
 * series: a short --clear-every on a quiet territory would otherwise fill
 * the log. */
static void round_log(troc__clearing *c, const job *j, const troc_clearing_summary *s, double seconds) {
    char total[TROC_AMOUNT_TEXT_SIZE], cleared[TROC_AMOUNT_TEXT_SIZE], paid[TROC_AMOUNT_TEXT_SIZE];
    char by[TROC_ID_SIZE * 2 + 1] = "timer";
    if (j->has_requested_by) troc_hex_encode(j->requested_by, TROC_ID_SIZE, by);
    const char *unit = troc_ledger_unit(c->server->ledger);
    troc_amount_format(s->total_cents, total);
    troc_amount_format(s->cleared_cents, cleared);
    troc_amount_format(s->paid_cents, paid);
    const char *mode = j->with_credit ? "with credit" : "set-off";
    if (s->run == 0) {
        if (j->timed && c->quiet) return;
        troc_log("clearing (%s, %s): nothing to clear among %lld obligations (%s %s), %u attempt%s, %.3f s%s", mode,
                 by, (long long)s->obligations, total, unit, j->attempts, j->attempts == 1 ? "" : "s", seconds,
                 j->timed ? "; timed rounds that find nothing are not logged again until one clears" : "");
        c->quiet = j->timed;
        return;
    }
    c->quiet = false;
    troc_log("clearing run %llu (%s, %s): %lld obligations (%s %s), cleared %s, paid %s, %llu settlements, "
             "%u attempt%s, %.3f s",
             (unsigned long long)s->run, mode, by, (long long)s->obligations, total, unit, cleared, paid,
             (unsigned long long)s->settlement_count, j->attempts, j->attempts == 1 ? "" : "s", seconds);
}

/* The current round is done (applied, empty, or failed). */
static void round_done(troc__clearing *c, job *j, double seconds) {
    assert(c->current == j && j->kind == JOB_ROUND);
    troc__round_outcome outcome = {.ran = j->rc == 0};
    if (j->rc == 0) {
        outcome.applied = j->built;
        job_summary(j, j->built, &outcome.summary);
        round_log(c, j, &outcome.summary, seconds);
        if (j->built) c->server->stats.clearing_rounds++;
        else c->server->stats.clearing_empty++;
    } else {
        c->server->stats.clearing_failed++;
        snprintf(outcome.detail, sizeof outcome.detail, "the clearing round failed while %s: %s",
                 j->stage != NULL ? j->stage : "running", error_text(j->rc));
        troc_log("clearing round not applied: %s", outcome.detail);
    }
    waiters_answer(c, j, &outcome);
}

static void preview_done(troc__clearing *c, job *j, double seconds);

/* The current job is finished: answer, free, and start the next one. */
static void current_done(troc__clearing *c) {
    job *j = c->current;
    assert(j != NULL && !c->applying);
    double seconds = (double)(uv_hrtime() - j->started_ns) / 1e9;
    if (j->kind == JOB_PREVIEW) preview_done(c, j, seconds);
    else round_done(c, j, seconds);
    c->current = NULL;
    job_free(j);
    start_next(c);
    if (c->stopping) troc__server_maybe_finish(c->server);
}

static void after_solve(uv_work_t *work, int status) {
    troc__clearing *c = work->data;
    job *j = c->current;
    assert(status == 0 && j != NULL);
    (void)status; /* read by the assertion only */
    if (j->rc != 0 || !j->built) {
        current_done(c);
        return;
    }
    c->applying = true;
    troc__writer_push_task(&c->server->writer, &c->task);
}

static void on_applied(uv_async_t *async) {
    troc__clearing *c = async->data;
    job *j = c->current;
    if (j == NULL || !c->applying) return;
    c->applying = false;
    if (j->rc == TROC_ESTALE && j->attempts < TROC_CLEARING_ATTEMPTS_MAX) {
        c->server->stats.clearing_stale++;
        troc_log("clearing round stale: an obligation it settles (or an account) changed while it was solved; "
                 "solving again (attempt %u of %d%s)",
                 j->attempts + 1, TROC_CLEARING_ATTEMPTS_MAX,
                 j->attempts + 1 == TROC_CLEARING_ATTEMPTS_MAX ? ", on the writer: payments wait for it" : "");
        attempt_start(c, j);
        return;
    }
    if (j->rc == TROC_ESTALE) c->server->stats.clearing_stale++;
    current_done(c);
}

/* Starts the next job when none is running: a request may arrive at any
 * moment of the current one, its apply on the writer included. */
static void start_next(troc__clearing *c) {
    assert(c != NULL);
    if (c->current != NULL || c->head == NULL) return;
    assert(!c->applying);
    job *j = c->head;
    c->head = j->next;
    if (c->head == NULL) c->tail = NULL;
    c->waiting--;
    j->next = NULL;
    c->current = j;
    j->started_ns = uv_hrtime();
    assert(j->attempts == 0 && (j->kind == JOB_PREVIEW) == (j->preview != NULL));
    attempt_start(c, j);
}

static void enqueue(troc__clearing *c, job *j) {
    assert(!c->stopping && c->waiting < TROC_CLEARING_JOBS_WAITING_MAX);
    if (c->tail != NULL) c->tail->next = j;
    else c->head = j;
    c->tail = j;
    c->waiting++;
    start_next(c);
}

static void on_timer(uv_timer_t *timer) {
    troc__clearing *c = timer->data;
    assert(c != NULL && timer == &c->timer);
    if (c->stopping) return;
    bool timed_pending = c->current != NULL && c->current->timed;
    for (job *j = c->head; j != NULL && !timed_pending; j = j->next) timed_pending = j->timed;
    if (timed_pending || c->waiting >= TROC_CLEARING_JOBS_WAITING_MAX) return; /* the next tick tries again */
    job *j = job_new(JOB_ROUND, false);
    if (j == NULL) {
        troc_log("clearing: out of memory for a timed round; the next tick tries again");
        return;
    }
    j->timed = true;
    enqueue(c, j);
}

/* ------------------------------------------------ replies, reads */

/* One settlement as a reply shows it. */
typedef struct settlement_row {
    const uint8_t *invoice_id;
    const char *debtor;
    const char *creditor;
    int64_t cleared_cents;
    int64_t paid_cents;
} settlement_row;

/* A ClearingSummary message in the scratch arena (strings and bytes point
 * into `summary` and `rows`, which must outlive the reply). */
static int summary_message(troc_server *server, const troc_clearing_summary *summary, bool applied,
                           const settlement_row *rows, size_t count, Troc__V1__ClearingSummary **message_out) {
    Troc__V1__ClearingSummary *m = troc__scratch_alloc(server, sizeof *m);
    Troc__V1__Settlement *settlements = troc__scratch_alloc(server, (count + 1) * sizeof *settlements);
    Troc__V1__Settlement **pointers = troc__scratch_alloc(server, (count + 1) * sizeof *pointers);
    if (m == NULL || settlements == NULL || pointers == NULL) return -ENOMEM;
    troc__v1__clearing_summary__init(m);
    m->has_run = m->has_timestamp_us = m->has_with_credit = m->has_applied = 1;
    m->run = summary->run;
    m->timestamp_us = summary->timestamp_us;
    m->with_credit = summary->with_credit;
    m->applied = applied;
    m->has_obligations = m->has_total_cents = m->has_cleared_cents = m->has_paid_cents = 1;
    m->obligations = summary->obligations;
    m->total_cents = summary->total_cents;
    m->cleared_cents = summary->cleared_cents;
    m->paid_cents = summary->paid_cents;
    m->has_journal_seq = summary->journal_seq != 0;
    m->journal_seq = summary->journal_seq;
    m->has_requested_by = summary->has_requested_by;
    m->requested_by = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)summary->requested_by};
    m->has_settlement_count = 1;
    m->settlement_count = summary->settlement_count;
    for (size_t i = 0; i < count; i++) {
        troc__v1__settlement__init(&settlements[i]);
        settlements[i].has_invoice_id = 1;
        settlements[i].invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)rows[i].invoice_id};
        settlements[i].has_cleared_cents = settlements[i].has_paid_cents = 1;
        settlements[i].cleared_cents = rows[i].cleared_cents;
        settlements[i].paid_cents = rows[i].paid_cents;
        settlements[i].debtor = (char *)rows[i].debtor;
        settlements[i].creditor = (char *)rows[i].creditor;
        pointers[i] = &settlements[i];
    }
    m->n_settlements = count;
    m->settlements = pointers;
    *message_out = m;
    return 0;
}

int troc__clearing_summary_message(troc_server *server, const troc__round_outcome *outcome,
                                   Troc__V1__ClearingSummary **message_out) {
    assert(server != NULL && outcome != NULL && message_out != NULL);
    *message_out = NULL;
    if (!outcome->ran) return 0;
    return summary_message(server, &outcome->summary, outcome->applied, NULL, 0, message_out);
}

static void send_summary(troc__conn *conn, uint64_t request_id, Troc__V1__ClearingSummary *message) {
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_CLEARING;
    response.clearing = message;
    troc__send_response(conn, &response);
}

/* The page of a preview's settlements asked for, from the snapshot. */
static void preview_reply(troc__conn *conn, uint64_t request_id, const job *j) {
    troc_server *server = conn->server;
    assert(j->kind == JOB_PREVIEW && j->rc == 0 && j->limit <= TROC_PAGE_ROWS_MAX);
    settlement_row *rows = troc__scratch_alloc(server, ((size_t)j->limit + 1) * sizeof *rows);
    troc_clearing_summary summary;
    job_summary(j, false, &summary);
    size_t count = 0, seen = 0;
    for (size_t i = 0; rows != NULL && i < j->snapshot.obligation_count && count < j->limit; i++) {
        int64_t cleared = j->result.cleared_cents[i], paid = j->result.paid_cents[i];
        if ((cleared == 0 && paid == 0) || seen++ < j->offset) continue;
        const troc_clearing_obligation *o = &j->snapshot.obligations[i];
        rows[count++] = (settlement_row){o->invoice_id, j->snapshot.firms[o->debtor].name,
                                         j->snapshot.firms[o->creditor].name, cleared, paid};
    }
    Troc__V1__ClearingSummary *message = NULL;
    if (rows == NULL || summary_message(server, &summary, false, rows, count, &message) != 0) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for the preview; ask for fewer settlements");
        return;
    }
    send_summary(conn, request_id, message);
}

static void preview_done(troc__clearing *c, job *j, double seconds) {
    troc_server *server = c->server;
    assert(j->kind == JOB_PREVIEW && j->preview != NULL);
    troc__request *request = j->preview;
    troc__conn *conn = request->conn;
    j->preview = NULL;
    server->stats.clearing_previews++;
    if (j->rc == 0) {
        char cleared[TROC_AMOUNT_TEXT_SIZE], paid[TROC_AMOUNT_TEXT_SIZE];
        troc_log("clearing preview (%s): %zu obligations, would clear %s and pay %s, %.3f s",
                 j->with_credit ? "with credit" : "set-off", j->snapshot.obligation_count,
                 troc_amount_format(j->result.cleared_total_cents, cleared),
                 troc_amount_format(j->result.paid_total_cents, paid), seconds);
    } else {
        troc_log("clearing preview failed while %s: %s", j->stage, error_text(j->rc));
    }
    if (conn->state != TROC__CONN_CLOSED && j->rc == 0) {
        preview_reply(conn, request->request_id, j);
    } else if (conn->state != TROC__CONN_CLOSED) {
        char message[160];
        snprintf(message, sizeof message, "the preview failed while %s: %s", j->stage, error_text(j->rc));
        bool own = (j->rc <= TROC_EAMOUNT && j->rc >= TROC_ESTALE) || j->rc == -ENOMEM;
        troc__reply_error(conn, request->request_id, own ? j->rc : TROC_EUNAVAILABLE, message);
    }
    troc__scratch_reset(server);
    troc__conn_request_put(conn, request);
    troc__server_flush(server);
}

/* The members of one settled invoice, into `names`. */
static int settlement_names(troc_ledger_read *read, const troc_settlement *s, char names[2][TROC_NAME_LENGTH_MAX + 1]) {
    troc_invoice invoice;
    int rc = troc_ledger_invoice(read, s->invoice_id, &invoice);
    if (rc != 0) return rc == TROC_ENOT_FOUND ? TROC_ECORRUPT : rc;
    memcpy(names[0], invoice.debtor, sizeof names[0]);
    memcpy(names[1], invoice.creditor, sizeof names[1]);
    return 0;
}

static void reply_no_round(troc__conn *conn, uint64_t request_id, uint64_t run) {
    char message[96];
    if (run == 0) snprintf(message, sizeof message, "no clearing round has been applied yet");
    else snprintf(message, sizeof message, "there is no clearing round %llu", (unsigned long long)run);
    troc__reply_error(conn, request_id, TROC_ENOT_FOUND, message);
}

/* An applied round (0: the latest) and a page of its settlements. */
static void show_round(troc__conn *conn, uint64_t request_id, uint64_t run, uint32_t offset, uint32_t limit) {
    troc_server *server = conn->server;
    assert(conn->role == TROC_ROLE_ADMIN && limit <= TROC_PAGE_ROWS_MAX);
    troc_settlement *settlements = troc__scratch_alloc(server, ((size_t)limit + 1) * sizeof *settlements);
    settlement_row *rows = troc__scratch_alloc(server, ((size_t)limit + 1) * sizeof *rows);
    char(*names)[2][TROC_NAME_LENGTH_MAX + 1] = troc__scratch_alloc(server, ((size_t)limit + 1) * sizeof *names);
    if (settlements == NULL || rows == NULL || names == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for this page; ask for fewer settlements");
        return;
    }
    troc_ledger_read *read = NULL;
    if (troc__session_read_begin(conn, request_id, &read) != 0) return;
    troc_clearing_summary summary;
    size_t count = 0;
    int rc = troc_ledger_clearing_round(read, run, &summary, settlements, offset, limit, &count);
    for (size_t i = 0; rc == 0 && i < count; i++) rc = settlement_names(read, &settlements[i], names[i]);
    troc_ledger_read_end(read);
    if (rc == TROC_ENOT_FOUND) {
        reply_no_round(conn, request_id, run);
        return;
    }
    if (rc != 0) {
        troc__reply_read_error(conn, request_id, "", rc);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        rows[i] = (settlement_row){settlements[i].invoice_id, names[i][0], names[i][1], settlements[i].cleared_cents,
                                   settlements[i].paid_cents};
    }
    Troc__V1__ClearingSummary *message = NULL;
    if (summary_message(server, &summary, true, rows, count, &message) != 0) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for this page; ask for fewer settlements");
        return;
    }
    send_summary(conn, request_id, message);
}

/* Queues a preview holding `request`; false (after answering) when it
 * cannot be queued. */
static bool preview_queue(troc__conn *conn, troc__request *request, const Troc__V1__ClearingQuery *query,
                          uint32_t offset, uint32_t limit) {
    troc__clearing *c = conn->server->clearing;
    if (c->stopping) {
        troc__reply_error(conn, request->request_id, TROC_EUNAVAILABLE, "the daemon is stopping");
        return false;
    }
    if (c->waiting >= TROC_CLEARING_JOBS_WAITING_MAX) {
        troc__reply_error(conn, request->request_id, TROC_EBUSY,
                          "too many clearing rounds and previews are waiting; ask again later");
        return false;
    }
    job *j = job_new(JOB_PREVIEW, query->has_with_credit && query->with_credit);
    if (j == NULL) {
        troc__reply_error(conn, request->request_id, -ENOMEM, "out of memory for a preview");
        return false;
    }
    j->preview = request;
    j->offset = offset;
    j->limit = limit;
    enqueue(c, j);
    return true;
}

void troc__clearing_query(troc__conn *conn, troc__request *request, const Troc__V1__ClearingQuery *query) {
    assert(conn != NULL && request != NULL && query != NULL);
    troc_server *server = conn->server;
    uint64_t request_id = request->request_id;
    uint32_t offset = query->has_settlement_offset ? query->settlement_offset : 0;
    uint32_t limit = query->has_settlement_limit ? query->settlement_limit : 0;
    if (limit > TROC_PAGE_ROWS_MAX) limit = TROC_PAGE_ROWS_MAX;
    troc_ledger_read *read = NULL;
    if (conn->role != TROC_ROLE_ADMIN) {
        troc__reply_error(conn, request_id, TROC_EDENIED, "clearing rounds are read by admin sessions");
    } else if (query->has_preview && query->preview) {
        /* The session's key is checked now; the preview answers later. */
        if (troc__session_read_begin(conn, request_id, &read) == 0) {
            troc_ledger_read_end(read);
            if (preview_queue(conn, request, query, offset, limit)) return;
        }
    } else {
        show_round(conn, request_id, query->has_run ? query->run : 0, offset, limit);
    }
    troc__scratch_reset(server);
    troc__conn_request_put(conn, request);
}

/* ------------------------------------------------- admin requests */

static bool is_clearing_run(const troc__submit_item *item) {
    return item->apply && item->result.code == TROC_RESULT_OK &&
           item->item.kind == TROC__V1__ENVELOPE_KIND__KIND_ADMIN && item->item.decoded.admin != NULL &&
           item->item.decoded.admin->action_case == TROC__V1__ADMIN_ACTION__ACTION_CLEARING_RUN;
}

/* The applied round requested by action `id` (journaled at request_seq):
 * the rounds applied since, newest first. */
static int round_of_request(troc_ledger *ledger, const uint8_t id[TROC_ID_SIZE], uint64_t request_seq,
                            troc_clearing_summary *summary, bool *found_out) {
    *found_out = false;
    troc_ledger_read *read = NULL;
    int rc = troc_ledger_read_begin(ledger, &read);
    if (rc != 0) return rc;
    size_t count = 0;
    rc = troc_ledger_clearing_round(read, 0, summary, NULL, 0, 0, &count);
    /* Bounded by the number of rounds applied. */
    while (rc == 0 && summary->journal_seq > request_seq) {
        if (summary->has_requested_by && memcmp(summary->requested_by, id, TROC_ID_SIZE) == 0) {
            *found_out = true;
            break;
        }
        if (summary->run <= 1) break;
        rc = troc_ledger_clearing_round(read, summary->run - 1, summary, NULL, 0, 0, &count);
    }
    troc_ledger_read_end(read);
    return rc == TROC_ENOT_FOUND ? 0 : rc;
}

/* The queued or running round asked for by action `id`, or NULL. */
static job *job_requested(troc__clearing *c, const uint8_t id[TROC_ID_SIZE]) {
    assert(c != NULL && id != NULL);
    job *j = c->current;
    if (j != NULL && j->kind == JOB_ROUND && j->has_requested_by && memcmp(j->requested_by, id, TROC_ID_SIZE) == 0) {
        return j;
    }
    /* Bounded by TROC_CLEARING_JOBS_WAITING_MAX. */
    for (j = c->head; j != NULL; j = j->next) {
        if (j->kind == JOB_ROUND && j->has_requested_by && memcmp(j->requested_by, id, TROC_ID_SIZE) == 0) return j;
    }
    return NULL;
}

/* Makes `item` wait for its round (a new one, or the one already asked for
 * with the same id), or answers it at once. */
static void claim_item(troc__clearing *c, troc__request *request, troc__submit_item *item) {
    troc__round_outcome *outcome = item->clearing;
    assert(outcome != NULL && is_clearing_run(item));
    assert(item->result.journal_seq != 0);
    const Troc__V1__AdminAction *action = item->item.decoded.admin;
    bool with_credit = action->clearing_run->has_with_credit && action->clearing_run->with_credit;
    bool found = false;
    int rc = c->stopping ? 0 : round_of_request(c->server->ledger, action->id.data, item->result.journal_seq,
                                                &outcome->summary, &found);
    const char *refusal = NULL;
    if (c->stopping) refusal = "the clearing round was not run: the daemon is stopping; submit the same action "
                               "again once it is back";
    else if (rc != 0) refusal = "the clearing round was not run: the ledger cannot be read now; submit the same "
                                "action again";
    if (refusal == NULL && found) {
        outcome->ran = outcome->applied = true;
        return;
    }
    job *j = refusal == NULL ? job_requested(c, action->id.data) : NULL;
    bool fresh = refusal == NULL && j == NULL;
    if (fresh && c->waiting >= TROC_CLEARING_JOBS_WAITING_MAX) {
        refusal = "the clearing round was not run: too many rounds are waiting; submit the same action again later";
    } else if (fresh && (j = job_new(JOB_ROUND, with_credit)) == NULL) {
        refusal = "the clearing round was not run: out of memory";
    }
    waiter *w = refusal == NULL ? malloc(sizeof *w) : NULL;
    if (refusal == NULL && w == NULL) refusal = "the clearing round was not run: out of memory";
    if (refusal != NULL) {
        if (fresh && j != NULL) job_free(j);
        *outcome = (troc__round_outcome){.ran = false};
        snprintf(outcome->detail, sizeof outcome->detail, "%s", refusal);
        return;
    }
    *w = (waiter){.next = j->waiters, .request = request, .outcome = outcome};
    j->waiters = w;
    request->clearing_waits++;
    if (fresh) {
        j->has_requested_by = true;
        memcpy(j->requested_by, action->id.data, TROC_ID_SIZE);
        enqueue(c, j);
    }
}

bool troc__clearing_claim(troc_server *server, troc__request *request) {
    assert(server != NULL && request != NULL && request->clearing_waits == 0);
    troc__clearing *c = server->clearing;
    for (size_t i = 0; c != NULL && i < request->item_count; i++) {
        troc__submit_item *item = &request->items[i];
        if (!is_clearing_run(item)) continue;
        size_t size = sizeof *item->clearing + alignof(max_align_t);
        troc__arena_set_limit(&request->arena, request->arena.limit + size);
        item->clearing = troc__arena_alloc(&request->arena, sizeof *item->clearing);
        troc__server_charge(server, request);
        if (item->clearing == NULL) {
            troc_log("clearing: out of memory for a request's outcome; its round is not run");
            continue;
        }
        memset(item->clearing, 0, sizeof *item->clearing);
        claim_item(c, request, item);
    }
    return request->clearing_waits > 0;
}

/* ------------------------------------------------------- lifecycle */

int troc__clearing_open(troc_server *server, uint64_t every_ms) {
    assert(server != NULL && server->clearing == NULL);
    troc__clearing *c = calloc(1, sizeof *c);
    if (c == NULL) return -ENOMEM;
    c->server = server;
    c->task.run = task_run;
    int rc = uv_async_init(server->loop, &c->applied_async, on_applied);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->applied_async.data = c;
    uv_timer_init(server->loop, &c->timer);
    c->timer.data = c;
    c->handles_open = 2;
    server->clearing = c;
    if (every_ms == 0) return 0;
    troc_log("clearing rounds every %llu s (plain set-off)", (unsigned long long)(every_ms / 1000));
    return uv_timer_start(&c->timer, on_timer, every_ms, every_ms);
}

void troc__clearing_stop(troc_server *server) {
    assert(server != NULL);
    troc__clearing *c = server->clearing;
    if (c == NULL || c->stopping) return;
    c->stopping = true;
    uv_timer_stop(&c->timer);
    /* Bounded by TROC_CLEARING_JOBS_WAITING_MAX. */
    while (c->head != NULL) {
        job *j = c->head;
        c->head = j->next;
        c->waiting--;
        j->next = NULL;
        if (j->kind == JOB_ROUND) {
            round_refuse(c, j, "the clearing round was not run: the daemon is stopping; submit the same action "
                               "again once it is back");
        } else {
            troc__conn *conn = j->preview->conn;
            if (conn->state != TROC__CONN_CLOSED) {
                troc__reply_error(conn, j->preview->request_id, TROC_EUNAVAILABLE, "the daemon is stopping");
            }
            troc__conn_request_put(conn, j->preview);
            j->preview = NULL;
        }
        job_free(j);
    }
    c->tail = NULL;
    assert(c->waiting == 0);
    troc__server_flush(server);
}

bool troc__clearing_idle(const troc_server *server) {
    assert(server != NULL);
    const troc__clearing *c = server->clearing;
    return c == NULL || (c->current == NULL && c->head == NULL);
}

static void on_handle_closed(uv_handle_t *handle) {
    troc__clearing *c = handle->data;
    assert(c->handles_open > 0);
    if (--c->handles_open == 0) free(c);
}

void troc__clearing_close(troc_server *server) {
    assert(server != NULL);
    troc__clearing *c = server->clearing;
    if (c == NULL) return;
    assert(c->current == NULL && c->head == NULL);
    server->clearing = NULL;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->applied_async, on_handle_closed);
}
