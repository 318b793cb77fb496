/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc_clearing_solve(): the steps of a clearing in order.
 *
 *   1. validate the problem;
 *   2. group parallel obligations and build the network (network.c);
 *   3. solve the min-cost circulation with its certificate (circulation.c):
 *      in plain mode this is the set-off; in credit mode, with the balance
 *      node, it is what each pair settles (set-off plus payment);
 *   4. credit mode only: solve again on the settled amounts alone, without
 *      the balance node: the largest set-off within them, so that payments
 *      move balances as little as possible;
 *   5. spread each pair's amounts over its obligations, oldest first
 *      (split.c), and fill the totals and the potentials;
 *   6. check the result against its certificate (check.c) and refuse to
 *      return it if the check fails.
 *
 * The statistics (components, firms and obligations in cycles) describe the
 * graph of obligations alone.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/large.h"
#include "clearing_int.h"

void troc__progress_report(troc__progress *progress, const char *stage, double fraction_done) {
    assert(progress != NULL && stage != NULL);
    if (progress->function == NULL) return;
    if (fraction_done < 0.0) fraction_done = 0.0;
    if (fraction_done > 1.0) fraction_done = 1.0;
    const bool new_stage = progress->stage == NULL || strcmp(progress->stage, stage) != 0;
    if (!new_stage && fraction_done < progress->fraction_done + 0.01 && fraction_done < 1.0) return;
    if (!new_stage && fraction_done == progress->fraction_done) return;
    progress->stage = stage;
    progress->fraction_done = fraction_done;
    progress->function(progress->context, stage, fraction_done);
}

void troc_clearing_result_free(troc_clearing_result *result) {
    if (result == NULL) return;
    free(result->cleared_cents);
    free(result->paid_cents);
    free(result->potentials);
    free(result->split_potentials);
    *result = (troc_clearing_result){0};
}

/* The potentials, before the solve. */
static int result_allocate_potentials(const troc_clearing_problem *problem, troc_clearing_result *result) {
    const size_t n = (size_t)problem->firm_count + 1;
    result->potentials = troc_large_calloc(n, sizeof *result->potentials);
    if (problem->accounts != NULL) result->split_potentials = troc_large_calloc(n, sizeof *result->split_potentials);
    if (result->potentials == NULL || (problem->accounts != NULL && result->split_potentials == NULL)) return -ENOMEM;
    return 0;
}

/* The amounts of each obligation, once the solver's working memory is
 * freed: they take its pages rather than fresh ones (split() writes every
 * entry, so they need no zeroing). */
static int result_allocate_amounts(const troc_clearing_problem *problem, troc_clearing_result *result) {
    const size_t m = problem->obligation_count ? problem->obligation_count : 1;
    result->cleared_cents = troc_large_malloc(m * sizeof *result->cleared_cents);
    result->paid_cents = troc_large_malloc(m * sizeof *result->paid_cents);
    if (result->cleared_cents == NULL || result->paid_cents == NULL) return -ENOMEM;
    return 0;
}

/* Solves the circulation of `network` into potentials (node_count entries)
 * and *group_flow_out, the flow of each group (0 for a group without an
 * arc), allocated here; `components` are the network's, or NULL to find
 * them.  When every group has an arc and there is no other (plain mode, or
 * a split where every pair settled something), arc g carries group g and
 * the arcs' flows are the groups': a copy of an array per arc saved. */
static int solve_groups(troc__network *network, const troc__components *components, unsigned thread_count,
                        const troc__groups *groups, int64_t *potentials, int64_t **group_flow_out,
                        troc__progress *progress) {
    troc__circulation_stats stats;
    int64_t *arc_flow = NULL;
    int error = troc__circulation_solve(network, components, thread_count, &arc_flow, potentials, &stats, progress);
    if (error != 0) return error;
    if (network->arc_count == groups->group_count) {
        for (uint32_t g = 0; groups->group_arc != NULL && g < groups->group_count; g++) {
            assert(groups->group_arc[g] == g);
        }
        *group_flow_out = arc_flow;
        return 0;
    }
    int64_t *group_flow = troc_large_malloc(((size_t)groups->group_count + 1) * sizeof *group_flow);
    if (group_flow != NULL) {
        for (uint32_t g = 0; g < groups->group_count; g++) {
            const uint32_t a = groups->group_arc[g];
            group_flow[g] = a == TROC__NONE ? 0 : arc_flow[a];
        }
    }
    free(arc_flow);
    *group_flow_out = group_flow;
    return group_flow != NULL ? 0 : -ENOMEM;
}

/* Components, firms and obligations inside cycles of the obligations alone. */
static void cycle_statistics(const troc_clearing_problem *problem, const troc__components *components,
                             troc_clearing_result *result) {
    for (uint32_t c = 0; c < components->component_count; c++) {
        const uint32_t size = components->component_first[c + 1] - components->component_first[c];
        if (size < 2) continue;
        result->component_count++;
        result->cycle_firm_count += size;
    }
    for (size_t k = 0; k < problem->obligation_count; k++) {
        const troc_obligation *o = &problem->obligations[k];
        result->cycle_obligation_count += components->component_of[o->debtor] == components->component_of[o->creditor];
    }
}

/* Credit mode step 4: the largest set-off within the settled amounts. */
static int solve_split(const troc_clearing_problem *problem, troc__groups *groups, const int64_t *group_settled,
                       int64_t **group_cleared_out, troc_clearing_result *result, troc__progress *progress) {
    troc__network network;
    int error = troc__network_build_capacities(problem, groups, group_settled, &network);
    if (error != 0) return error;
    error = solve_groups(&network, NULL, problem->thread_count, groups, result->split_potentials, group_cleared_out,
                         progress);
    troc__network_free(&network);
    return error;
}

/* Steps 2 to 5 on a valid problem into an allocated result. */
static int solve_into(const troc_clearing_problem *problem, troc_clearing_result *result,
                      troc__progress *progress) {
    troc__groups groups = {0};
    troc__network network = {0};
    troc__components components = {0};
    int64_t *group_settled = NULL, *group_cleared = NULL; /* the same array in plain mode */
    troc__progress_report(progress, "merging", 0.0);
    int error = troc__groups_build(problem, &groups);
    if (error != 0) goto cleanup;
    error = troc__network_build(problem, &groups, &network);
    if (error != 0) goto cleanup;
    /* The components of the obligations alone: the statistics, and in plain
     * mode the solver's own components. */
    error = troc__components_find(&network, problem->firm_count, &components);
    if (error != 0) goto cleanup;
    cycle_statistics(problem, &components, result);
    error = solve_groups(&network, problem->accounts == NULL ? &components : NULL, problem->thread_count, &groups,
                         result->potentials, &group_settled, progress);
    if (error != 0) goto cleanup;
    group_cleared = group_settled;
    if (problem->accounts != NULL) {
        error = solve_split(problem, &groups, group_settled, &group_cleared, result, progress);
        if (error != 0) goto cleanup;
    }
    troc__progress_report(progress, "split", 0.0);
    error = result_allocate_amounts(problem, result);
    if (error != 0) goto cleanup;
    troc__split(problem, &groups, group_settled, group_cleared, result);
cleanup:
    if (group_cleared != group_settled) free(group_cleared);
    free(group_settled);
    troc__components_free(&components);
    troc__network_free(&network);
    troc__groups_free(&groups);
    return error;
}

int troc_clearing_solve_unchecked(const troc_clearing_problem *problem, troc_clearing_result *result,
                                  troc_clearing_progress_fn *progress_function, void *progress_context) {
    assert(result != NULL);
    *result = (troc_clearing_result){0};
    int error = troc_clearing_problem_validate(problem);
    if (error != 0) return error;
    troc__progress progress = {.function = progress_function, .context = progress_context};
    error = result_allocate_potentials(problem, result);
    if (error == 0) error = solve_into(problem, result, &progress);
    if (error != 0) {
        troc_clearing_result_free(result);
        return error;
    }
    assert(result->cleared_total_cents + result->paid_total_cents <= result->total_cents);
    return 0;
}

int troc_clearing_solve(const troc_clearing_problem *problem, troc_clearing_result *result,
                        troc_clearing_progress_fn *progress_function, void *progress_context) {
    int error = troc_clearing_solve_unchecked(problem, result, progress_function, progress_context);
    if (error != 0) return error;
    troc__progress progress = {.function = progress_function, .context = progress_context};
    troc__progress_report(&progress, "checking", 0.0);
    error = troc_clearing_check(problem, result);
    if (error != 0) {
        troc_clearing_result_free(result);
        return error;
    }
    troc__progress_report(&progress, "checking", 1.0);
    return 0;
}
