/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The certificate checker: proves a clearing result feasible and optimal in
 * one pass over the obligations and one over the firms, trusting nothing in
 * the result (every sum it forms is bounded by the problem's validated
 * totals, and potentials are compared without subtracting them).
 *
 * Optimality is linear-programming duality for the circulation problem
 * "maximise the flow on obligation arcs (cost -1 each) within their
 * capacities", in credit mode with a balance node z and, for every firm v, an
 * arc v -> z of capacity up_v (room of v's balance to rise) and an arc
 * z -> v of capacity down_v (room to fall), both of cost 0.  A feasible flow
 * is optimal if and only if there are potentials p such that every arc of
 * reduced cost cost + p[tail] - p[head] < 0 is full and every arc of reduced
 * cost > 0 is empty (complementary slackness).  For an obligation
 * debtor -> creditor the reduced cost is p[debtor] - p[creditor] - 1, so:
 *
 *   p[creditor] >= p[debtor]       the obligation is settled in full
 *   p[creditor] == p[debtor] - 1   anything
 *   p[creditor] <= p[debtor] - 2   nothing is settled
 *
 * Parallel obligations have the same reduced cost, so testing each one is
 * the same as testing their merged arc: no grouping is needed.  For the
 * slack arcs only the balance change of v matters (flows on v -> z and
 * z -> v that cancel out change nothing): p[v] < p[z] requires the change to
 * be up_v, p[v] > p[z] requires it to be -down_v.
 *
 * In credit mode the split is checked the same way: cleared must be a
 * maximum circulation within cleared + paid, certified by split_potentials
 * with cleared + paid in place of the amounts.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/large.h"
#include "clearing_int.h"

/* Per-firm sums, all bounded by the problem's total, side by side: an
 * obligation updates its debtor's and its creditor's, one cache line
 * each. */
typedef struct firm_sums {
    int64_t net;       /* cleared owed to the firm minus cleared it owes: must be 0 */
    int64_t change;    /* paid to the firm minus paid by it: its balance change */
    int64_t in_total;  /* all it is owed */
    int64_t out_total; /* all it owes */
} firm_sums;

/* Obligations ahead of the one checked whose firms' sums and potentials
 * are fetched early: the obligations are read in order, their firms
 * anywhere. */
#define PREFETCH_OBLIGATIONS 16u

/* Whether a flow on an arc of the given capacity satisfies complementary
 * slackness with potentials at its debtor and creditor (cost -1 arc). */
static bool slack_holds(int64_t p_debtor, int64_t p_creditor, int64_t flow, int64_t capacity) {
    if (p_creditor >= p_debtor) return flow == capacity;
    if ((uint64_t)p_debtor - (uint64_t)p_creditor >= 2) return flow == 0;
    return true;
}

static int check_obligations(const troc_clearing_problem *problem, const troc_clearing_result *result,
                             firm_sums *sums) {
    int64_t total = 0, cleared_total = 0, paid_total = 0;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        if (k + PREFETCH_OBLIGATIONS < problem->obligation_count) {
            const troc_obligation *ahead = &problem->obligations[k + PREFETCH_OBLIGATIONS];
            __builtin_prefetch(&sums[ahead->debtor], 1);
            __builtin_prefetch(&sums[ahead->creditor], 1);
        }
        const troc_obligation *o = &problem->obligations[k];
        const int64_t amount = o->amount_cents, cleared = result->cleared_cents[k], paid = result->paid_cents[k];
        if (cleared < 0 || paid < 0 || cleared > amount || paid > amount - cleared) return TROC_EINFEASIBLE;
        if (problem->accounts == NULL && paid != 0) return TROC_EINFEASIBLE;
        firm_sums *debtor = &sums[o->debtor], *creditor = &sums[o->creditor];
        debtor->net -= cleared;
        creditor->net += cleared;
        debtor->change -= paid;
        creditor->change += paid;
        debtor->out_total += amount;
        creditor->in_total += amount;
        total += amount;
        cleared_total += cleared;
        paid_total += paid;
    }
    if (total != result->total_cents || cleared_total != result->cleared_total_cents ||
        paid_total != result->paid_total_cents) {
        return TROC_EINFEASIBLE;
    }
    for (uint32_t v = 0; v < problem->firm_count; v++) {
        if (sums[v].net != 0) return TROC_EINFEASIBLE;
    }
    return 0;
}

/* Credit mode: every final balance within its bounds (or no worse). */
static int check_balances(const troc_clearing_problem *problem, const firm_sums *sums) {
    for (uint32_t v = 0; v < problem->firm_count; v++) {
        const troc_clearing_account *a = &problem->accounts[v];
        int64_t up, down;
        troc__account_room(a, sums[v].in_total, sums[v].out_total, &up, &down);
        /* Room is capped by what the firm's obligations can move at most, so
         * this is the same test as against [-credit_limit, balance_max]. */
        if (sums[v].change > up || sums[v].change < -down) return TROC_EINFEASIBLE;
    }
    return 0;
}

static int check_settled_optimal(const troc_clearing_problem *problem, const troc_clearing_result *result,
                                 const firm_sums *sums) {
    const int64_t *p = result->potentials;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        if (k + PREFETCH_OBLIGATIONS < problem->obligation_count) {
            const troc_obligation *ahead = &problem->obligations[k + PREFETCH_OBLIGATIONS];
            __builtin_prefetch(&p[ahead->debtor]);
            __builtin_prefetch(&p[ahead->creditor]);
        }
        const troc_obligation *o = &problem->obligations[k];
        const int64_t settled = result->cleared_cents[k] + result->paid_cents[k];
        if (!slack_holds(p[o->debtor], p[o->creditor], settled, o->amount_cents)) return TROC_ENOT_OPTIMAL;
    }
    if (problem->accounts == NULL) return 0;
    const int64_t p_balance = p[problem->firm_count];
    for (uint32_t v = 0; v < problem->firm_count; v++) {
        int64_t up, down;
        troc__account_room(&problem->accounts[v], sums[v].in_total, sums[v].out_total, &up, &down);
        if (p[v] < p_balance && sums[v].change != up) return TROC_ENOT_OPTIMAL;
        if (p[v] > p_balance && sums[v].change != -down) return TROC_ENOT_OPTIMAL;
    }
    return 0;
}

static int check_split_optimal(const troc_clearing_problem *problem, const troc_clearing_result *result) {
    const int64_t *q = result->split_potentials;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        if (k + PREFETCH_OBLIGATIONS < problem->obligation_count) {
            const troc_obligation *ahead = &problem->obligations[k + PREFETCH_OBLIGATIONS];
            __builtin_prefetch(&q[ahead->debtor]);
            __builtin_prefetch(&q[ahead->creditor]);
        }
        const troc_obligation *o = &problem->obligations[k];
        const int64_t settled = result->cleared_cents[k] + result->paid_cents[k];
        if (!slack_holds(q[o->debtor], q[o->creditor], result->cleared_cents[k], settled)) {
            return TROC_ENOT_OPTIMAL;
        }
    }
    return 0;
}

static bool result_complete(const troc_clearing_problem *problem, const troc_clearing_result *result) {
    return result->cleared_cents != NULL && result->paid_cents != NULL && result->potentials != NULL &&
           (problem->accounts == NULL || result->split_potentials != NULL);
}

int troc_clearing_check(const troc_clearing_problem *problem, const troc_clearing_result *result) {
    assert(problem != NULL && result != NULL);
    int error = troc_clearing_problem_validate(problem);
    if (error != 0) return error;
    if (!result_complete(problem, result)) return TROC_EINFEASIBLE;
    firm_sums *sums = troc_large_calloc((size_t)problem->firm_count + 1, sizeof *sums);
    if (sums == NULL) return -ENOMEM;
    error = check_obligations(problem, result, sums);
    if (error == 0 && problem->accounts != NULL) error = check_balances(problem, sums);
    if (error == 0) error = check_settled_optimal(problem, result, sums);
    if (error == 0 && problem->accounts != NULL) error = check_split_optimal(problem, result);
    free(sums);
    return error;
}
