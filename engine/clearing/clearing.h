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
 * final balance stays within [-credit_limit, balance_max] (a balance already
 * outside those bounds may not move further out); it maximises set-off plus
 * payments (the same solver with slack arcs to a balance node).  How the
 * settled amount of each obligation splits into set-off and payment: among
 * all ways to realise the settled amounts, the one with the largest set-off,
 * that is the one that moves balances the least.  So credit mode first
 * maximises cleared + paid, then, for those settled amounts, maximises
 * cleared.
 *
 * Obligations between the same debtor and creditor form one arc of the
 * solver; what the arc settles is spread over them oldest (earliest in the
 * array) first: every obligation is settled in full before a later one gets
 * anything.  Within what is settled of the arc, set-off likewise goes to the
 * oldest first and payment to the rest.  The result is a deterministic
 * function of the problem.
 *
 * Every solution carries a certificate (node potentials) from which
 * troc_clearing_check() proves, in linear time, that it is feasible and
 * optimal; troc_clearing_solve() checks its own result and never returns one
 * that fails.  This module is pure: no I/O, no LMDB, no sockets.
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
    int64_t amount_cents; /* what is owed, in (0, TROC_AMOUNT_CENTS_MAX] */
} troc_obligation;

typedef struct troc_clearing_account {
    int64_t balance_cents;      /* current balance (may already lie outside its limits) */
    int64_t credit_limit_cents; /* >= 0: the balance may go down to -credit_limit_cents */
    int64_t balance_max_cents;  /* >= 0, or TROC_CLEARING_NO_MAX */
} troc_clearing_account;

typedef struct troc_clearing_problem {
    uint32_t firm_count;     /* <= TROC_CLEARING_FIRMS_MAX */
    size_t obligation_count; /* <= TROC_CLEARING_OBLIGATIONS_MAX */
    /* Among obligations between the same debtor and creditor, earlier ones in
     * this array are set off (and paid) first: callers pass them oldest
     * first. */
    const troc_obligation *obligations;
    /* firm_count accounts for credit mode; NULL for plain set-off. */
    const troc_clearing_account *accounts;
    /* Threads the solver may run on: 1 for the caller's alone, 2 (or 0, the
     * default) for one helper thread more.  The result does not depend on
     * it. */
    unsigned thread_count;
} troc_clearing_problem;

typedef struct troc_clearing_result {
    int64_t *cleared_cents; /* obligation_count entries: set-off of each obligation */
    int64_t *paid_cents;    /* obligation_count entries: paid in credit (all 0 in plain mode) */
    /* Certificate of the settled amounts (cleared + paid): firm_count + 1 node
     * potentials, the last one for the balance node (0 in plain mode).  With
     * p, an obligation debtor -> creditor is settled in full when
     * p[creditor] >= p[debtor] and not at all when p[creditor] <= p[debtor] - 2;
     * in credit mode a firm ends at its upper bound when p[firm] < p[balance
     * node] and at its lower bound when p[firm] > p[balance node]. */
    int64_t *potentials;
    /* Credit mode only (NULL in plain mode): firm_count potentials q proving
     * that cleared is the largest set-off within cleared + paid, by the same
     * rule as above with cleared + paid in place of the amount. */
    int64_t *split_potentials;
    int64_t total_cents;         /* sum of all obligations */
    int64_t cleared_total_cents; /* sum of cleared_cents */
    int64_t paid_total_cents;    /* sum of paid_cents */
    /* Shape of the graph of obligations (amounts as given, no balance node):
     * only obligations inside a strongly connected component of two or more
     * firms can be set off. */
    uint32_t component_count;      /* such components */
    uint32_t cycle_firm_count;     /* firms inside them */
    size_t cycle_obligation_count; /* obligations whose two firms lie in the same one */
} troc_clearing_result;

/* Reports progress of a long solve (for a terminal): `stage` names the step
 * ("merging", "components", "flow", "split", "checking"), `fraction_done`
 * lies in [0, 1] and grows within a stage.  May be NULL. */
typedef void troc_clearing_progress_fn(void *context, const char *stage, double fraction_done);

/* An account that validate() takes (every figure within
 * +-TROC_CLEARING_TOTAL_CENTS_MAX) with the same room to move as `account`
 * in every problem that validates: a firm's balance moves at most by the
 * total of its obligations, which lies within the bound, so the room a
 * ledger's balance or limits give beyond it (a member owed more than the
 * bound, say) changes nothing.  Solving with it gives the same result and
 * certificate; its payments, applied to the real balance, end within the
 * real limits.  `account` may hold any figures; one within the bound, or
 * with a negative credit limit or maximum (which validate() refuses
 * either way), comes back as it is.  Otherwise the balance becomes 0 and
 * the limits its room down and up, capped at the bound; a missing maximum
 * stays missing unless the balance lies within the bound of INT64_MAX,
 * which it may not pass: then that is its room up. */
troc_clearing_account troc_clearing_account_bounded(const troc_clearing_account *account);

/* Checks what solve() relies on.  Returns 0; -EINVAL when obligations is NULL
 * (with obligations), an index is not below firm_count, a debtor equals its
 * creditor, an amount is not positive, or a credit limit or balance maximum
 * is negative; TROC_ELIMIT when firm_count or obligation_count exceeds
 * TROC_CLEARING_FIRMS_MAX or TROC_CLEARING_OBLIGATIONS_MAX; TROC_EOVERFLOW
 * when an amount exceeds TROC_AMOUNT_CENTS_MAX, the total of all obligations
 * exceeds TROC_CLEARING_TOTAL_CENTS_MAX, or an account figure lies beyond
 * +-TROC_CLEARING_TOTAL_CENTS_MAX.  Callers validate row by row first (to
 * name the bad row) and use this as the last guard. */
int troc_clearing_problem_validate(const troc_clearing_problem *problem);

/* Solves a problem exactly.  On success fills *result (its arrays are
 * allocated here; release them with troc_clearing_result_free()) and returns
 * 0.  On failure leaves *result empty and returns what validate() returns,
 * -ENOMEM, or TROC_EINFEASIBLE / TROC_ENOT_OPTIMAL if the solution failed its
 * own check (a bug: never a wrong answer). */
int troc_clearing_solve(const troc_clearing_problem *problem, troc_clearing_result *result,
                        troc_clearing_progress_fn *progress, void *progress_context);

/* As solve(), without its final check: for a caller that proves the result
 * with troc_clearing_check() itself, at a moment of its choosing, before
 * it uses the result for anything (troc clear checks while RESULT is
 * synced to disk, and renames RESULT into place only once the check
 * passed).  Never returns TROC_EINFEASIBLE or TROC_ENOT_OPTIMAL. */
int troc_clearing_solve_unchecked(const troc_clearing_problem *problem, troc_clearing_result *result,
                                  troc_clearing_progress_fn *progress, void *progress_context);

/* Releases the arrays of a result filled by solve(); leaves it empty.  Safe
 * on an empty (zeroed) result. */
void troc_clearing_result_free(troc_clearing_result *result);

/* Proves `result` feasible (every cleared and paid amount >= 0 and their sum
 * within its obligation, net positions unchanged by set-off, no payment in
 * plain mode, final balances within their bounds in credit mode, totals
 * equal to the sums) and optimal from its potentials, in time linear in the
 * size of the problem.  Returns 0, TROC_EINFEASIBLE, TROC_ENOT_OPTIMAL,
 * what validate() returns for an invalid problem, or -ENOMEM. */
int troc_clearing_check(const troc_clearing_problem *problem, const troc_clearing_result *result);

#endif /* TROC_CLEARING_H */
