/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact multilateral set-off of obligations (unpaid, accepted invoices).
 *
 * Given obligations "debtor owes creditor amount", clearing finds how much of
 * each to cancel so that every firm's net position (what it is owed minus
 * what it owes) is unchanged and the total cancelled is as large as possible:
 * a maximum-weight circulation bounded by the obligations, solved exactly as
 * a min-cost flow.  Only obligations inside a strongly connected component of
 * the debt graph can be cancelled.
 *
 * Credit mode also pays what remains in mutual credit, as far as every firm's
 * final balance stays within [-credit_limit, balance_max]; it maximises
 * set-off plus payments (the same solver with slack arcs to a balance node).
 *
 * Every solution carries a certificate (node potentials) from which
 * troc_clearing_check() proves, in linear time, that it is feasible and
 * optimal.  This module is pure: no I/O, no LMDB, no sockets.
 */
#ifndef TROC_CLEARING_H
#define TROC_CLEARING_H

#include <stddef.h>
#include <stdint.h>

/* balance_max_cents of an account without a maximum. */
#define TROC_CLEARING_NO_MAX INT64_MAX

typedef struct troc_obligation {
    uint32_t debtor;      /* firm index, < firm_count */
    uint32_t creditor;    /* firm index, < firm_count, != debtor */
    int64_t amount_cents; /* what is owed, > 0 */
} troc_obligation;

typedef struct troc_clearing_account {
    int64_t balance_cents;      /* current balance (may already lie outside its limits) */
    int64_t credit_limit_cents; /* >= 0: the balance may go down to -credit_limit_cents */
    int64_t balance_max_cents;  /* >= 0, or TROC_CLEARING_NO_MAX */
} troc_clearing_account;

typedef struct troc_clearing_problem {
    uint32_t firm_count;
    size_t obligation_count;
    /* Among obligations between the same debtor and creditor, earlier ones in
     * this array are set off (and paid) first: callers pass them oldest
     * first. */
    const troc_obligation *obligations;
    /* firm_count accounts for credit mode; NULL for plain set-off. */
    const troc_clearing_account *accounts;
} troc_clearing_problem;

typedef struct troc_clearing_result {
    int64_t *cleared_cents;      /* obligation_count entries: set-off of each obligation */
    int64_t *paid_cents;         /* obligation_count entries: paid in credit (all 0 in plain mode) */
    int64_t *potentials;         /* certificate: firm_count + 1 node potentials, the last one
                                    for the balance node (0 in plain mode) */
    int64_t total_cents;         /* sum of all obligations */
    int64_t cleared_total_cents; /* sum of cleared_cents */
    int64_t paid_total_cents;    /* sum of paid_cents */
} troc_clearing_result;

/* Reports progress of a long solve (for a terminal): `stage` names the step,
 * `fraction_done` lies in [0, 1].  May be NULL. */
typedef void troc_clearing_progress_fn(void *context, const char *stage, double fraction_done);

/* Checks what solve() relies on: indices below firm_count, debtor !=
 * creditor, amounts in (0, TROC_AMOUNT_CENTS_MAX], the total of all
 * obligations and every account's figures within int64, limits >= 0.
 * Returns 0, or TROC_EINFEASIBLE naming nothing (callers validate row by row
 * first and use this as the last guard), or TROC_EOVERFLOW. */
int troc_clearing_problem_validate(const troc_clearing_problem *problem);

/* Solves a valid problem exactly.  On success fills *result (its arrays are
 * allocated here; release them with troc_clearing_result_free()) and returns
 * 0; on failure returns -ENOMEM and leaves *result empty.  The split of a
 * pair's set-off over several obligations between the same two firms is
 * oldest (earliest in the array) first. */
int troc_clearing_solve(const troc_clearing_problem *problem, troc_clearing_result *result,
                        troc_clearing_progress_fn *progress, void *progress_context);

void troc_clearing_result_free(troc_clearing_result *result);

/* Proves `result` feasible (every cleared and paid amount within its
 * obligation, net positions unchanged by set-off, final balances within their
 * limits in credit mode) and optimal from its potentials, in time linear in
 * the size of the problem.  Returns 0, TROC_EINFEASIBLE or TROC_ENOT_OPTIMAL. */
int troc_clearing_check(const troc_clearing_problem *problem, const troc_clearing_result *result);

#endif /* TROC_CLEARING_H */
