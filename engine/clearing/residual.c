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
 * nothing in any circulation.  Nodes are renumbered in the order of the
 * components' node lists, so each component is a contiguous range and its
 * entries a contiguous block of memory.  The two entries of an arc point at
 * each other; entry_arc remembers which arc (and which side) each entry
 * belongs to, so the flow is read back as capacity - room at the tail.
 *
 * Admissible entries (reduced cost 0) are kept at the front of their node's
 * block, so that the maximum flow scans only them, in contiguous memory.
 * Potentials change at a subset of nodes between phases; refresh()
 * re-partitions those nodes and moves the paired entries at their
 * neighbours.  Moving an entry swaps it with another of the same node and
 * re-points the two partners.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "clearing_int.h"

void troc__residual_free(troc__residual *residual) {
    assert(residual != NULL);
    free(residual->first);
    free(residual->network_node);
    free(residual->admissible_end);
    free(residual->entries);
    free(residual->total);
    free(residual->cost);
    free(residual->entry_arc);
    free(residual->excess);
    free(residual->potential);
    *residual = (troc__residual){0};
}

/* Orders the nodes of each component breadth-first from its node of most
 * arcs (arcs forward only: in a strongly connected component they reach
 * every node), so that nodes near each other in the graph sit near each
 * other in memory.  order[i] is the network node of residual node i and
 * rank its inverse. */
static void number_nodes(const troc__network *network, const troc__components *components, uint32_t *order,
                         uint32_t *rank) {
    for (uint32_t v = 0; v < network->node_count; v++) rank[v] = TROC__NONE;
    for (uint32_t c = 0; c < components->component_count; c++) {
        const uint32_t lo = components->component_first[c], hi = components->component_first[c + 1];
        uint32_t root = components->node_order[lo];
        for (uint32_t i = lo; i < hi; i++) {
            const uint32_t v = components->node_order[i];
            if (network->arc_first[v + 1] - network->arc_first[v] > network->arc_first[root + 1] - network->arc_first[root]) root = v;
        }
        uint32_t tail = lo, head = lo;
        order[head] = root;
        rank[root] = head++;
        while (tail < head) {
            const uint32_t u = order[tail++];
            for (uint32_t a = network->arc_first[u]; a < network->arc_first[u + 1]; a++) {
                const uint32_t h = network->arc_head[a];
                if (rank[h] != TROC__NONE || components->component_of[h] != c) continue;
                order[head] = h;
                rank[h] = head++;
            }
        }
        assert(head == hi);
    }
}

/* first[] := CSR offsets of the entries of every arc inside a component. */
static uint32_t count_entries(const troc__network *network, const troc__components *components,
                              const uint32_t *rank, uint32_t *first) {
    const uint32_t n = network->node_count;
    for (uint32_t v = 0; v <= n; v++) first[v] = 0;
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (components->component_of[v] != components->component_of[h]) continue;
            first[rank[v] + 1]++;
            first[rank[h] + 1]++;
        }
    }
    for (uint32_t v = 0; v < n; v++) first[v + 1] += first[v];
    return first[n];
}

/* Writes the two entries of every arc inside a component. */
static void fill_entries(const troc__network *network, const troc__components *components,
                         const uint32_t *rank, troc__residual *r, uint32_t *next) {
    for (uint32_t v = 0; v < network->node_count; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (components->component_of[v] != components->component_of[h]) continue;
            const uint32_t tail = rank[v], head = rank[h];
            const int8_t cost = network->arc_cost[a];
            const int64_t capacity = network->arc_capacity[a];
            const int64_t start = cost < 0 ? capacity : 0; /* initial pseudo-flow */
            const uint32_t at_tail = next[tail]++, at_head = next[head]++;
            r->entries[at_tail] = (troc__residual_entry){capacity - start, head, at_head};
            r->entries[at_head] = (troc__residual_entry){start, tail, at_tail};
            r->total[at_tail] = r->total[at_head] = capacity;
            r->cost[at_tail] = cost;
            r->cost[at_head] = (int8_t)-cost;
            r->entry_arc[at_tail] = a | TROC__TAIL_SIDE;
            r->entry_arc[at_head] = a;
            r->excess[head] += start;
            r->excess[tail] -= start;
        }
    }
}

static int residual_allocate(troc__residual *r, uint32_t node_count, uint32_t entry_count) {
    const size_t nodes = (size_t)node_count + 1, entries = (size_t)entry_count + 1;
    r->entry_count = entry_count;
    r->admissible_end = malloc(nodes * sizeof *r->admissible_end);
    r->excess = calloc(nodes, sizeof *r->excess);
    r->potential = calloc(nodes, sizeof *r->potential);
    r->entries = malloc(entries * sizeof *r->entries);
    r->total = malloc(entries * sizeof *r->total);
    r->cost = malloc(entries * sizeof *r->cost);
    r->entry_arc = malloc(entries * sizeof *r->entry_arc);
    if (r->admissible_end == NULL || r->excess == NULL || r->potential == NULL || r->entries == NULL ||
        r->total == NULL || r->cost == NULL || r->entry_arc == NULL) {
        return -ENOMEM;
    }
    return 0;
}

int troc__residual_build(const troc__network *network, const troc__components *components,
                         troc__residual *residual) {
    assert(network != NULL && components != NULL && residual != NULL);
    assert(components->component_first[components->component_count] == network->node_count);
    troc__residual *r = residual;
    *r = (troc__residual){.node_count = network->node_count};
    const size_t nodes = (size_t)network->node_count + 1;
    uint32_t *rank = malloc(nodes * sizeof *rank), *next = malloc(nodes * sizeof *next);
    r->first = malloc(nodes * sizeof *r->first);
    r->network_node = malloc(nodes * sizeof *r->network_node);
    int error = -ENOMEM;
    if (rank == NULL || next == NULL || r->first == NULL || r->network_node == NULL) goto cleanup;
    number_nodes(network, components, r->network_node, rank);
    const uint32_t entry_count = count_entries(network, components, rank, r->first);
    assert(entry_count % 2 == 0 && entry_count <= 2 * network->arc_count);
    error = residual_allocate(r, network->node_count, entry_count);
    if (error != 0) goto cleanup;
    for (uint32_t v = 0; v < network->node_count; v++) next[v] = r->first[v];
    fill_entries(network, components, rank, r, next);
    for (uint32_t v = 0; v < network->node_count; v++) troc__residual_partition(r, v);
cleanup:
    free(rank);
    free(next);
    if (error != 0) troc__residual_free(r);
    return error;
}

/* Exchanges entries x and y of one node, keeping their partners pointing at
 * them. */
static void swap_entries(troc__residual *r, uint32_t x, uint32_t y) {
    if (x == y) return;
    const troc__residual_entry ex = r->entries[x], ey = r->entries[y];
    r->entries[x] = ey;
    r->entries[y] = ex;
    r->entries[ey.reverse].reverse = x;
    r->entries[ex.reverse].reverse = y;
    const int64_t total = r->total[x];
    r->total[x] = r->total[y];
    r->total[y] = total;
    const int8_t cost = r->cost[x];
    r->cost[x] = r->cost[y];
    r->cost[y] = cost;
    const uint32_t arc = r->entry_arc[x];
    r->entry_arc[x] = r->entry_arc[y];
    r->entry_arc[y] = arc;
}

void troc__residual_partition(troc__residual *r, uint32_t v) {
    assert(r != NULL && v < r->node_count);
    uint32_t i = r->first[v], j = r->first[v + 1];
    while (i < j) {
        if (troc__reduced_cost(r, v, i) == 0) {
            i++;
        } else if (troc__reduced_cost(r, v, j - 1) != 0) {
            j--;
        } else {
            swap_entries(r, i, j - 1);
        }
    }
    r->admissible_end[v] = i;
}

/* Moves entry x of node v into or out of v's admissible prefix. */
static void place_entry(troc__residual *r, uint32_t v, uint32_t x) {
    const bool admissible = troc__reduced_cost(r, v, x) == 0;
    const bool in_prefix = x < r->admissible_end[v];
    if (admissible && !in_prefix) {
        swap_entries(r, x, r->admissible_end[v]++);
    } else if (!admissible && in_prefix) {
        swap_entries(r, x, --r->admissible_end[v]);
    }
}

void troc__residual_refresh(troc__residual *r, const uint32_t *nodes, uint32_t node_count,
                            const uint32_t *stamp, uint32_t mark) {
    assert(r != NULL && nodes != NULL && stamp != NULL);
    for (uint32_t i = 0; i < node_count; i++) {
        const uint32_t v = nodes[i];
        assert(stamp[v] == mark);
        troc__residual_partition(r, v);
        for (uint32_t e = r->first[v]; e < r->first[v + 1]; e++) {
            const uint32_t h = r->entries[e].head;
            if (stamp[h] != mark) place_entry(r, h, r->entries[e].reverse);
        }
    }
}

void troc__residual_flows(const troc__residual *r, const troc__network *network, int64_t *flow) {
    assert(r != NULL && network != NULL && flow != NULL);
    for (uint32_t a = 0; a < network->arc_count; a++) flow[a] = 0;
    for (uint32_t e = 0; e < r->entry_count; e++) {
        if ((r->entry_arc[e] & TROC__TAIL_SIDE) == 0) continue;
        const uint32_t a = r->entry_arc[e] & ~TROC__TAIL_SIDE;
        flow[a] = network->arc_capacity[a] - r->entries[e].capacity;
        assert(flow[a] >= 0 && flow[a] <= network->arc_capacity[a]);
    }
}
