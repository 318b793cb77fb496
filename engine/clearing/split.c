/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From the flow on a merged arc back to its obligations.
 *
 * Obligations between the same debtor and creditor share one arc.  What the
 * arc settles is given to them oldest (earliest in the problem's array)
 * first: each is settled in full before the next gets anything, so at most
 * one obligation of a pair is settled in part.  Within the settled amounts,
 * set-off is given oldest first the same way, and the rest of what is
 * settled is paid.  Order inside a group is array order because the
 * counting sort that formed the groups is stable, so the result is a
 * deterministic function of the problem.
 */
#include <assert.h>

#include "clearing_int.h"

void troc__split(const troc_clearing_problem *problem, const troc__groups *groups,
                 const int64_t *group_settled, const int64_t *group_cleared, int64_t *cleared_cents,
                 int64_t *paid_cents) {
    assert(problem != NULL && groups != NULL && group_settled != NULL && group_cleared != NULL);
    assert(cleared_cents != NULL && paid_cents != NULL);
    for (uint32_t g = 0; g < groups->group_count; g++) {
        int64_t settled_left = group_settled[g], cleared_left = group_cleared[g];
        assert(cleared_left >= 0 && cleared_left <= settled_left);
        for (uint32_t i = groups->group_first[g]; i < groups->group_first[g + 1]; i++) {
            const uint32_t k = groups->order[i];
            const int64_t amount = problem->obligations[k].amount_cents;
            const int64_t settled = amount < settled_left ? amount : settled_left;
            const int64_t cleared = settled < cleared_left ? settled : cleared_left;
            settled_left -= settled;
            cleared_left -= cleared;
            cleared_cents[k] = cleared;
            paid_cents[k] = settled - cleared;
        }
        assert(settled_left == 0 && cleared_left == 0);
    }
}
