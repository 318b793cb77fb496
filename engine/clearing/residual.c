/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The residual graph the flow solver works on.
 *
 * A min-cost circulation with costs -1 and 0 becomes a transport problem
 * with costs >= 0 by starting from the pseudo-flow that fills every cost -1
 * arc: an arc debtor -> creditor of capacity U then leaves an excess of U at
 * the creditor and a deficit of U at the debtor, and its only entry with room
 * is the one back from creditor to debtor, of cost +1 (giving back one unit
 * of set-off).  Routing all excesses back to the deficits at least cost
 * leaves the maximum circulation.  Cost 0 arcs (slack arcs of the balance
 * node) start empty.
 *
 * Only arcs inside a component take part; an arc between components carries
 * nothing in any circulation.  Entries are grouped by node (CSR), the two
 * entries of an arc point at each other, and the entry at the arc's tail
 * always has room capacity - flow, so the flow is read back as
 * capacity - room for both kinds of arc.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "clearing_int.h"

void troc__residual_free(troc__residual *residual) {
    assert(residual != NULL);
    free(residual->first);
    free(residual->entries);
    free(residual->cost);
    free(residual->arc_entry);
    free(residual->excess);
    free(residual->potential);
    *residual = (troc__residual){0};
}

static bool arc_inside(const troc__components *components, uint32_t tail, uint32_t head) {
    return components->component_of[tail] != TROC__NONE &&
           components->component_of[tail] == components->component_of[head];
}

/* first[v] := number of entries of v (shifted by one), then offsets. */
static uint32_t count_entries(const troc__network *network, const troc__components *components,
                              uint32_t *first) {
    const uint32_t n = network->node_count;
    for (uint32_t v = 0; v <= n; v++) first[v] = 0;
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (!arc_inside(components, v, h)) continue;
            first[v + 1]++;
            first[h + 1]++;
        }
    }
    for (uint32_t v = 0; v < n; v++) first[v + 1] += first[v];
    return first[n];
}

static int residual_allocate(troc__residual *r, uint32_t node_count, uint32_t arc_count) {
    const size_t nodes = (size_t)node_count + 1;
    r->node_count = node_count;
    r->first = malloc(nodes * sizeof *r->first);
    r->excess = calloc(nodes, sizeof *r->excess);
    r->potential = calloc(nodes, sizeof *r->potential);
    r->arc_entry = malloc(((size_t)arc_count + 1) * sizeof *r->arc_entry);
    if (r->first == NULL || r->excess == NULL || r->potential == NULL || r->arc_entry == NULL) {
        return -ENOMEM;
    }
    return 0;
}

/* Writes the two entries of every arc inside a component. */
static void fill_entries(const troc__network *network, const troc__components *components,
                         troc__residual *r, uint32_t *next) {
    const uint32_t n = network->node_count;
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (!arc_inside(components, v, h)) {
                r->arc_entry[a] = TROC__NONE;
                continue;
            }
            const int64_t capacity = network->arc_capacity[a];
            const int8_t cost = network->arc_cost[a];
            const int64_t start = cost < 0 ? capacity : 0; /* initial pseudo-flow */
            const uint32_t at_tail = next[v]++, at_head = next[h]++;
            r->entries[at_tail] = (troc__residual_entry){capacity - start, h, at_head};
            r->entries[at_head] = (troc__residual_entry){start, v, at_tail};
            r->cost[at_tail] = cost;
            r->cost[at_head] = (int8_t)-cost;
            r->arc_entry[a] = at_tail;
            r->excess[h] += start;
            r->excess[v] -= start;
        }
    }
}

int troc__residual_build(const troc__network *network, const troc__components *components,
                         troc__residual *residual) {
    assert(network != NULL && components != NULL && residual != NULL);
    *residual = (troc__residual){0};
    uint32_t *next = NULL;
    int error = residual_allocate(residual, network->node_count, network->arc_count);
    if (error != 0) goto fail;
    const uint32_t entry_count = count_entries(network, components, residual->first);
    assert(entry_count % 2 == 0 && entry_count <= 2 * network->arc_count);
    residual->entry_count = entry_count;
    error = -ENOMEM;
    residual->entries = malloc(((size_t)entry_count + 1) * sizeof *residual->entries);
    residual->cost = malloc(((size_t)entry_count + 1) * sizeof *residual->cost);
    next = malloc(((size_t)network->node_count + 1) * sizeof *next);
    if (residual->entries == NULL || residual->cost == NULL || next == NULL) goto fail;
    for (uint32_t v = 0; v < network->node_count; v++) next[v] = residual->first[v];
    fill_entries(network, components, residual, next);
    free(next);
    return 0;
fail:
    free(next);
    troc__residual_free(residual);
    return error;
}
