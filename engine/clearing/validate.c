/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard in front of the solver: every index in range, no obligation of a
 * firm to itself, positive amounts, and every figure small enough that no sum
 * the solver or the checker forms can overflow int64 (see
 * TROC_CLEARING_TOTAL_CENTS_MAX).  Malformed input is -EINVAL; figures too
 * large are TROC_EOVERFLOW; too many firms or obligations TROC_ELIMIT.
 */
#include <assert.h>
#include <errno.h>

#include "base/error.h"
#include "base/limits.h"
#include "clearing.h"

static int validate_obligations(const troc_clearing_problem *problem) {
    int64_t total = 0;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        const troc_obligation *o = &problem->obligations[k];
        if (o->debtor >= problem->firm_count || o->creditor >= problem->firm_count) return -EINVAL;
        if (o->debtor == o->creditor || o->amount_cents <= 0) return -EINVAL;
        if (o->amount_cents > TROC_AMOUNT_CENTS_MAX) return TROC_EOVERFLOW;
        total += o->amount_cents; /* both terms <= TROC_CLEARING_TOTAL_CENTS_MAX: no overflow */
        if (total > TROC_CLEARING_TOTAL_CENTS_MAX) return TROC_EOVERFLOW;
    }
    return 0;
}

static int validate_accounts(const troc_clearing_problem *problem) {
    for (uint32_t v = 0; v < problem->firm_count; v++) {
        const troc_clearing_account *a = &problem->accounts[v];
        if (a->credit_limit_cents < 0 || a->balance_max_cents < 0) return -EINVAL;
        if (a->balance_cents > TROC_CLEARING_TOTAL_CENTS_MAX || a->balance_cents < -TROC_CLEARING_TOTAL_CENTS_MAX ||
            a->credit_limit_cents > TROC_CLEARING_TOTAL_CENTS_MAX ||
            (a->balance_max_cents > TROC_CLEARING_TOTAL_CENTS_MAX && a->balance_max_cents != TROC_CLEARING_NO_MAX)) {
            return TROC_EOVERFLOW;
        }
    }
    return 0;
}

int troc_clearing_problem_validate(const troc_clearing_problem *problem) {
    if (problem == NULL) return -EINVAL;
    if (problem->firm_count > TROC_CLEARING_FIRMS_MAX || problem->obligation_count > TROC_CLEARING_OBLIGATIONS_MAX) {
        return TROC_ELIMIT;
    }
    if (problem->obligation_count > 0 && problem->obligations == NULL) return -EINVAL;
    int error = validate_obligations(problem);
    if (error != 0 || problem->accounts == NULL) return error;
    error = validate_accounts(problem);
    assert(error <= 0);
    return error;
}
