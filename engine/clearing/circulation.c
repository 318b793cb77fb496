/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A min-cost circulation of a network and its certificate.
 *
 * The network is cut into strongly connected components and reduced
 * (reduce.c: firms with a single counterparty peeled, chains contracted);
 * the flow solver works on each component of two or more nodes alone, and
 * arcs between components stay empty.  Each component comes out with
 * potentials that certify it (every residual entry with room has reduced
 * cost >= 0).  The components are then stacked: Tarjan lists them so that
 * arcs between them only lead to components listed earlier, so shifting
 * each component's potentials to start one above the highest potential of
 * all earlier ones makes every arc between components have
 * potential[tail] - potential[head] >= 1, hence reduced cost >= 0, which is
 * what an empty arc needs.  The potentials of one network stay below its
 * node count times the largest distance of a phase, far from int64's
 * range.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/large.h"
#include "clearing_int.h"

static int64_t positive_excess(const troc__residual *residual) {
    int64_t total = 0;
    for (uint32_t v = 0; v < residual->node_count; v++) {
        if (residual->excess[v] > 0) total += residual->excess[v];
    }
    return total;
}

/* Component c is the range [component_first[c], component_first[c + 1]) of
 * residual nodes. */
static int solve_components(const troc__components *components, troc__residual *residual, troc__helper *helper,
                            troc__circulation_stats *stats, troc__progress *progress) {
    troc__flow *flow = NULL;
    uint32_t node_count_max = 0, arc_count_max = 0;
    for (uint32_t c = 0; c < components->component_count; c++) {
        const uint32_t lo = components->component_first[c], hi = components->component_first[c + 1];
        const uint32_t arcs = residual->arc_first[hi] - residual->arc_first[lo];
        if (arcs > arc_count_max) arc_count_max = arcs;
        if (hi - lo > node_count_max) node_count_max = hi - lo;
    }
    int error = troc__flow_create(residual, node_count_max, arc_count_max, positive_excess(residual), helper,
                                  progress, &flow);
    if (error != 0) return error;
    for (uint32_t c = 0; c < components->component_count; c++) {
        const uint32_t lo = components->component_first[c], hi = components->component_first[c + 1];
        if (hi - lo < 2) continue;
        stats->component_count++;
        troc__flow_component(flow, residual, lo, hi);
    }
    stats->phase_count = flow->phase_count;
    troc__flow_destroy(flow);
    return 0;
}

/* Shifts each component's potentials to start one above the highest of
 * all components listed before it. */
static void stack_potentials(const troc__components *components, int64_t *potential) {
    int64_t floor = 0; /* lowest potential the next component may use */
    for (uint32_t c = 0; c < components->component_count; c++) {
        const uint32_t lo = components->component_first[c], hi = components->component_first[c + 1];
        int64_t lowest = potential[components->node_order[lo]], highest = lowest;
        for (uint32_t i = lo + 1; i < hi; i++) {
            const int64_t p = potential[components->node_order[i]];
            if (p < lowest) lowest = p;
            if (p > highest) highest = p;
        }
        for (uint32_t i = lo; i < hi; i++) potential[components->node_order[i]] += floor - lowest;
        floor += highest - lowest + 1;
    }
}

int troc__circulation_solve(troc__network *network, const troc__components *known, unsigned thread_count,
                            int64_t **flow_out, int64_t *potential, troc__circulation_stats *stats,
                            troc__progress *progress) {
    assert(network != NULL && flow_out != NULL && potential != NULL);
    assert(stats != NULL && progress != NULL);
    *stats = (troc__circulation_stats){0};
    troc__components found = {0};
    troc__reduction reduction = {0};
    troc__residual residual = {0};
    troc__helper *helper = NULL;
    int64_t *reduced_flow = NULL, *flow = NULL;
    troc__progress_report(progress, "components", 0.0);
    int error = 0;
    if (known == NULL) error = troc__components_find(network, network->node_count, &found);
    if (error != 0) goto cleanup;
    const troc__components *components = known != NULL ? known : &found;
    assert(components->component_first[components->component_count] == network->node_count);
    error = troc__reduction_build(network, components, &reduction);
    if (error != 0) goto cleanup;
    const bool reduced = reduction.leaf_count + reduction.chain_count > 0;
    const troc__network *solved = reduced ? &reduction.reduced : network;
    const troc__components *solved_components = reduced ? &reduction.components : components;
    /* A second thread for the residual graph's build and the race, when a
     * component may be large enough to race. */
    if (solved->node_count >= TROC__RACE_NODES_MIN) error = troc__helper_create(thread_count, &helper);
    if (error != 0) goto cleanup;
    error = troc__residual_build(solved, solved_components, helper, &residual);
    if (error != 0) goto cleanup;
    if (!reduced) {
        free(network->arc_capacity);
        network->arc_capacity = NULL;
    }
    troc__progress_report(progress, "flow", 0.0);
    error = solve_components(solved_components, &residual, helper, stats, progress);
    if (error != 0) goto cleanup;
    for (uint32_t v = 0; v < residual.node_count; v++) potential[residual.network_node[v]] = residual.potential[v];
    /* The flows, now that the flow solver's memory is back. */
    error = -ENOMEM;
    flow = troc_large_malloc(((size_t)network->arc_count + 1) * sizeof *flow);
    if (reduced) reduced_flow = troc_large_malloc(((size_t)solved->arc_count + 1) * sizeof *reduced_flow);
    if (flow == NULL || (reduced && reduced_flow == NULL)) goto cleanup;
    error = 0;
    if (reduced) {
        troc__residual_flows(&residual, solved, solved_components, reduced_flow);
        troc__reduction_expand(&reduction, network, reduced_flow, flow, potential);
    } else {
        troc__residual_flows(&residual, network, components, flow);
    }
    /* By the network's components: a firm the reduction removed sits with
     * the rest of its component, whatever arcs it has to other ones. */
    stack_potentials(components, potential);
    *flow_out = flow;
    flow = NULL;
cleanup:
    troc__helper_destroy(helper);
    free(flow);
    free(reduced_flow);
    troc__residual_free(&residual);
    troc__reduction_free(&reduction);
    troc__components_free(&found);
    return error;
}
