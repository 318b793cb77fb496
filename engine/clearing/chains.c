/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Chains of obligations, contracted before the flow solver runs.
 *
 * The solver's phases raise potentials one step at a time, so their number
 * grows with the range of the optimal potentials, and each phase passes
 * over its whole component.  Along a chain of L firms the potentials fall
 * by one per firm: a ring of 50,000 firms took 50,000 phases of 50,000
 * nodes each.  A chain carries a single flow, so it can be one arc of cost
 * -L instead, which a phase crosses in one step whatever L is.
 *
 * A firm is inside a chain when it has exactly one arc in and one arc out,
 * both obligations, and lies in a component of two or more nodes (then so
 * do the firms before and after it, through which alone it is reached).
 * Whatever a circulation brings it, it passes on: both its arcs carry the
 * same flow.  A chain runs from a firm that is not inside one, through
 * firms that are, to the next firm that is not; a ring made only of such
 * firms is a chain from one of them back to itself.
 *
 * Potentials.  Let the chain u = x0 -> x1 -> ... -> xL = w carry f, its
 * least capacity being c.  The reduced arc's certificate gives
 * p[u] - p[w] >= L when f < c and <= L when f > 0.  Inside, each firm is
 * one below the one before it: every arc then has reduced cost 0, right
 * whatever it carries.  The difference to p[w] is taken up by one arc:
 * when p[u] - p[w] < L, f is c, and the first arc of capacity c (full, so
 * a negative reduced cost is right for it) rises by the difference; when
 * p[u] - p[w] > L, f is 0, and the last arc (empty, so a positive reduced
 * cost is right) takes it.  A chain back to its own start carries c, which
 * is optimal whatever the rest of the network does: it is a cycle of its
 * own.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "clearing_int.h"

/* Contracting copies the network, which costs as much as a phase or two:
 * it is done when a chain is long enough to cost more phases than that
 * (arcs, CHAIN_WORTH or more), or when chains hold a large part of the
 * firms (at least one in NODES_PER_INSIDE_WORTH).  Networks of trade have
 * a few short chains (the benchmark's 100,000 firms: 791 firms inside
 * chains); rings and long supply chains have long ones. */
#define CHAIN_WORTH 16u
#define NODES_PER_INSIDE_WORTH 16u

enum { OUTSIDE, INSIDE, CONTRACTED }; /* a node's place, in chain_scan.place */

typedef struct chain_scan {
    uint32_t *in_count; /* per node: arcs in */
    uint32_t *in_arc;   /* per node: an arc in (its only one when in_count is 1) */
    uint32_t *in_tail;  /* per node: that arc's tail */
    uint8_t *place;     /* per node: OUTSIDE, INSIDE or CONTRACTED */
} chain_scan;

void troc__chains_free(troc__chains *chains) {
    assert(chains != NULL);
    free(chains->chain_first);
    free(chains->chain_arc);
    free(chains->chain_from);
    free(chains->chain_carrier);
    free(chains->reduced_arc);
    troc__network_free(&chains->reduced);
    troc__components_free(&chains->components);
    *chains = (troc__chains){0};
}

/* Marks the firms inside chains; returns how many there are. */
static uint32_t find_inside(const troc__network *network, const troc__components *components, chain_scan *scan) {
    const uint32_t n = network->node_count;
    for (uint32_t v = 0; v < n; v++) scan->in_count[v] = 0;
    for (uint32_t tail = 0; tail < n; tail++) {
        for (uint32_t a = network->arc_first[tail]; a < network->arc_first[tail + 1]; a++) {
            const uint32_t head = network->arc_head[a];
            scan->in_count[head]++;
            scan->in_arc[head] = a;
            scan->in_tail[head] = tail;
        }
    }
    uint32_t inside = 0;
    for (uint32_t v = 0; v < n; v++) {
        const uint32_t out = network->arc_first[v], c = components->component_of[v];
        const bool alone = components->component_first[c + 1] - components->component_first[c] < 2;
        scan->place[v] = OUTSIDE;
        if (alone || scan->in_count[v] != 1 || network->arc_first[v + 1] - out != 1) continue;
        if (network->arc_cost[out] != -1 || network->arc_cost[scan->in_arc[v]] != -1) continue;
        scan->place[v] = INSIDE;
        inside++;
    }
    return inside;
}

/* Lists the chain through firm v (inside, not yet contracted): its arcs in
 * chain_arc from *arc_count on, and the firm it leaves. */
static void list_chain(const troc__network *network, chain_scan *scan, uint32_t v, troc__chains *chains,
                       uint32_t *arc_count) {
    uint32_t first = v; /* first firm inside the chain */
    while (scan->place[scan->in_tail[first]] == INSIDE && scan->in_tail[first] != v) first = scan->in_tail[first];
    uint32_t from = scan->in_tail[first], a = scan->in_arc[first];
    if (from == v) {
        /* A ring of firms that are all inside: it runs from v back to v. */
        scan->place[v] = OUTSIDE;
        a = network->arc_first[v];
    }
    chains->chain_from[chains->chain_count] = from;
    for (;;) {
        chains->chain_arc[(*arc_count)++] = a;
        const uint32_t head = network->arc_head[a];
        if (scan->place[head] != INSIDE) break;
        scan->place[head] = CONTRACTED;
        a = network->arc_first[head];
    }
    chains->chain_first[++chains->chain_count] = *arc_count;
}

static int64_t least_capacity(const troc__chains *chains, const troc__network *network, uint32_t c) {
    int64_t least = INT64_MAX;
    for (uint32_t i = chains->chain_first[c]; i < chains->chain_first[c + 1]; i++) {
        const int64_t capacity = network->arc_capacity[chains->chain_arc[i]];
        if (capacity < least) least = capacity;
    }
    return least;
}

static uint32_t chain_to(const troc__chains *chains, const troc__network *network, uint32_t c) {
    return network->arc_head[chains->chain_arc[chains->chain_first[c + 1] - 1]];
}

/* The reduced network: every arc outside the chains, then one arc per chain
 * between two different firms, at its first firm. */
static int build_reduced(const troc__network *network, troc__chains *chains, uint32_t *count) {
    const uint32_t n = network->node_count;
    chains->reduced_arc = malloc(((size_t)network->arc_count + 1) * sizeof *chains->reduced_arc);
    if (chains->reduced_arc == NULL) return -ENOMEM;
    for (uint32_t a = 0; a < network->arc_count; a++) chains->reduced_arc[a] = 0;
    for (uint32_t i = 0; i < chains->chain_first[chains->chain_count]; i++) chains->reduced_arc[chains->chain_arc[i]] = TROC__NONE;
    for (uint32_t v = 0; v <= n; v++) count[v] = 0;
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) count[v] += chains->reduced_arc[a] != TROC__NONE;
    }
    for (uint32_t c = 0; c < chains->chain_count; c++) {
        if (chain_to(chains, network, c) != chains->chain_from[c]) count[chains->chain_from[c]]++;
    }
    uint32_t arc_count = 0;
    for (uint32_t v = 0; v < n; v++) arc_count += count[v];
    troc__network *reduced = &chains->reduced;
    int error = troc__network_allocate(reduced, n, arc_count);
    if (error != 0) return error;
    reduced->arc_first[0] = 0;
    for (uint32_t v = 0; v < n; v++) {
        reduced->arc_first[v + 1] = reduced->arc_first[v] + count[v];
        count[v] = reduced->arc_first[v]; /* now: where v's next arc goes */
    }
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            if (chains->reduced_arc[a] == TROC__NONE) continue;
            const uint32_t r = count[v]++;
            reduced->arc_head[r] = network->arc_head[a];
            reduced->arc_capacity[r] = network->arc_capacity[a];
            reduced->arc_cost[r] = network->arc_cost[a];
            chains->reduced_arc[a] = r;
        }
    }
    for (uint32_t c = 0; c < chains->chain_count; c++) {
        const uint32_t from = chains->chain_from[c], to = chain_to(chains, network, c);
        chains->chain_carrier[c] = TROC__NONE;
        if (to == from) continue;
        const uint32_t r = count[from]++;
        reduced->arc_head[r] = to;
        reduced->arc_capacity[r] = least_capacity(chains, network, c);
        reduced->arc_cost[r] = -(int32_t)(chains->chain_first[c + 1] - chains->chain_first[c]);
        chains->chain_carrier[c] = r;
    }
    return 0;
}

/* The components of the reduced network: those of the network without the
 * firms inside chains, then each of those firms alone. */
static int build_components(const troc__components *components, const chain_scan *scan, uint32_t node_count,
                            troc__chains *chains) {
    troc__components *out = &chains->components;
    uint32_t count = components->component_count;
    for (uint32_t v = 0; v < node_count; v++) count += scan->place[v] == CONTRACTED;
    out->component_of = malloc(((size_t)node_count + 1) * sizeof *out->component_of);
    out->node_order = malloc(((size_t)node_count + 1) * sizeof *out->node_order);
    out->component_first = malloc(((size_t)count + 1) * sizeof *out->component_first);
    if (out->component_of == NULL || out->node_order == NULL || out->component_first == NULL) return -ENOMEM;
    uint32_t placed = 0, c = 0;
    for (uint32_t k = 0; k < components->component_count; k++, c++) {
        out->component_first[c] = placed;
        for (uint32_t i = components->component_first[k]; i < components->component_first[k + 1]; i++) {
            const uint32_t v = components->node_order[i];
            if (scan->place[v] != OUTSIDE) continue;
            out->node_order[placed++] = v;
            out->component_of[v] = c;
        }
        assert(placed > out->component_first[c]); /* a chain's ends stay in its component */
    }
    for (uint32_t v = 0; v < node_count; v++) {
        if (scan->place[v] != CONTRACTED) continue;
        out->component_first[c] = placed;
        out->node_order[placed++] = v;
        out->component_of[v] = c++;
    }
    assert(placed == node_count && c == count);
    out->component_first[c] = placed;
    out->component_count = count;
    return 0;
}

int troc__chains_contract(const troc__network *network, const troc__components *components,
                          troc__chains *chains) {
    assert(network != NULL && components != NULL && chains != NULL);
    *chains = (troc__chains){0};
    const size_t nodes = (size_t)network->node_count + 1;
    chain_scan scan = {
        .in_count = malloc(nodes * sizeof *scan.in_count),
        .in_arc = malloc(nodes * sizeof *scan.in_arc),
        .in_tail = malloc(nodes * sizeof *scan.in_tail),
        .place = malloc(nodes * sizeof *scan.place),
    };
    int error = -ENOMEM;
    if (scan.in_count == NULL || scan.in_arc == NULL || scan.in_tail == NULL || scan.place == NULL) goto cleanup;
    error = 0;
    const uint32_t inside = find_inside(network, components, &scan);
    if (inside == 0) goto cleanup;
    /* Each chain has one arc more than it has firms inside, and at least one
     * firm inside (a ring of firms all inside keeps one of them as its end). */
    error = -ENOMEM;
    chains->chain_first = malloc(((size_t)inside + 1) * sizeof *chains->chain_first);
    chains->chain_arc = malloc(2 * (size_t)inside * sizeof *chains->chain_arc);
    chains->chain_from = malloc((size_t)inside * sizeof *chains->chain_from);
    chains->chain_carrier = malloc((size_t)inside * sizeof *chains->chain_carrier);
    if (chains->chain_first == NULL || chains->chain_arc == NULL || chains->chain_from == NULL ||
        chains->chain_carrier == NULL) {
        goto cleanup;
    }
    chains->chain_first[0] = 0;
    uint32_t arc_count = 0, longest = 0;
    for (uint32_t v = 0; v < network->node_count; v++) {
        if (scan.place[v] != INSIDE) continue;
        list_chain(network, &scan, v, chains, &arc_count);
        const uint32_t c = chains->chain_count - 1, length = chains->chain_first[c + 1] - chains->chain_first[c];
        if (length > longest) longest = length;
    }
    error = 0;
    if (longest < CHAIN_WORTH && inside < network->node_count / NODES_PER_INSIDE_WORTH) {
        troc__chains_free(chains); /* contracting costs more than it saves */
        goto cleanup;
    }
    /* in_count is free again: build_reduced counts arcs in it. */
    error = build_reduced(network, chains, scan.in_count);
    if (error == 0) error = build_components(components, &scan, network->node_count, chains);
cleanup:
    free(scan.in_count);
    free(scan.in_arc);
    free(scan.in_tail);
    free(scan.place);
    if (error != 0) troc__chains_free(chains);
    return error;
}

void troc__chains_expand(const troc__chains *chains, const troc__network *network, const int64_t *reduced_flow,
                         int64_t *flow, int64_t *potential) {
    assert(chains != NULL && network != NULL && reduced_flow != NULL && flow != NULL && potential != NULL);
    for (uint32_t a = 0; a < network->arc_count; a++) {
        if (chains->reduced_arc[a] != TROC__NONE) flow[a] = reduced_flow[chains->reduced_arc[a]];
    }
    for (uint32_t c = 0; c < chains->chain_count; c++) {
        const uint32_t first = chains->chain_first[c], end = chains->chain_first[c + 1];
        const uint32_t from = chains->chain_from[c], to = chain_to(chains, network, c);
        const int64_t least = least_capacity(chains, network, c);
        const int64_t carried = chains->chain_carrier[c] == TROC__NONE ? least : reduced_flow[chains->chain_carrier[c]];
        int64_t slack = (int64_t)(end - first) - (potential[from] - potential[to]);
        assert(slack <= 0 || carried == least);
        assert(slack >= 0 || carried == 0);
        int64_t p = potential[from];
        for (uint32_t i = first; i < end; i++) {
            const uint32_t a = chains->chain_arc[i];
            flow[a] = carried;
            if (i + 1 == end) break; /* the last arc ends at `to`, whose potential stays */
            p -= 1;
            if (slack > 0 && network->arc_capacity[a] == least) {
                p += slack;
                slack = 0;
            }
            potential[network->arc_head[a]] = p;
        }
    }
}
