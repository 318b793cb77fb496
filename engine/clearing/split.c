/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From the flow on a merged arc back to its obligations.
 *
 * Obligations between the same debtor and creditor share one arc.  What the
 * arc settles is given to them oldest (earliest in the problem's array)
 * first: each is settled in full before the next gets anything, so at most
 * one obligation of a pair is settled in part.  Within the settled amounts,
 * set-off is given oldest first the same way, and the rest of what is
 * settled is paid.  One pass over the obligations in array order does it,
 * drawing on what is left of each group's amounts: array order is oldest
 * first within every group.  The result is a deterministic function of the
 * problem.
 */
#include <assert.h>

#include "clearing_int.h"

/* Obligations ahead of the one split whose groups are fetched early. */
#define PREFETCH_OBLIGATIONS 16u

void troc__split(const troc_clearing_problem *problem, const troc__groups *groups, int64_t *group_settled,
                 int64_t *group_cleared, troc_clearing_result *result) {
    assert(problem != NULL && groups != NULL && group_settled != NULL && group_cleared != NULL);
    assert(result != NULL && result->cleared_cents != NULL && result->paid_cents != NULL);
    int64_t *cleared_cents = result->cleared_cents, *paid_cents = result->paid_cents;
    /* Each total is at most the problem's, which validation bounds. */
    int64_t total = 0, cleared_total = 0, paid_total = 0;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        /* The obligations are read in order, their groups' amounts
         * anywhere: those of obligations a few places on are fetched
         * early. */
        if (k + PREFETCH_OBLIGATIONS < problem->obligation_count) {
            const uint32_t ahead = groups->group_of[k + PREFETCH_OBLIGATIONS];
            __builtin_prefetch(&group_settled[ahead], 1);
            if (group_cleared != group_settled) __builtin_prefetch(&group_cleared[ahead], 1);
        }
        const uint32_t g = groups->group_of[k];
        assert(group_cleared[g] >= 0 && group_cleared[g] <= group_settled[g]);
        const int64_t amount = problem->obligations[k].amount_cents;
        const int64_t settled = amount < group_settled[g] ? amount : group_settled[g];
        const int64_t cleared = settled < group_cleared[g] ? settled : group_cleared[g];
        group_settled[g] -= settled;
        if (group_cleared != group_settled) group_cleared[g] -= cleared;
        cleared_cents[k] = cleared;
        paid_cents[k] = settled - cleared; /* 0 in plain mode */
        total += amount;
        cleared_total += cleared;
        paid_total += settled - cleared;
    }
    result->total_cents = total;
    result->cleared_total_cents = cleared_total;
    result->paid_total_cents = paid_total;
    for (uint32_t g = 0; g < groups->group_count; g++) assert(group_settled[g] == 0 && group_cleared[g] == 0);
}
