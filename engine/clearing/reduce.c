/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reductions of a network before the flow solver runs: firms with a single
 * counterparty are peeled off, and chains of firms with one debtor and one
 * creditor are contracted into single arcs.
 *
 * Why.  The solver's phases raise potentials one step at a time, so their
 * number grows with the range of the optimal potentials, and each phase
 * passes over its whole component.  Along a chain of L firms the
 * potentials fall by one per firm: a ring of 50,000 firms took 50,000
 * phases of 50,000 nodes each.  Along a line of firms that each trade both
 * ways with their two neighbours only, they may move by one per firm too
 * (80,000 firms: 4 s).  Both shapes are solved here in one pass.
 *
 * Peeling.  A firm v whose arcs inside its component all lead to and come
 * from one firm u (so both u -> v and v -> u exist) lies on no cycle but
 * u -> v -> u: both arcs carry the smaller capacity, whatever the rest
 * does.  It is removed, after which u may be such a firm, and so on: a
 * tree of pairs hanging off the rest, or a whole line, goes in one pass.  Potentials, rebuilt in the reverse order: p[v] = p[u] + 1 when
 * u -> v is the smaller (it is full; v -> u has room and carries flow, so
 * it needs reduced cost 0), p[u] - 1 when v -> u is, p[u] when they are
 * equal (both full).  Removing v leaves its component strongly connected:
 * a path through v comes back to u.
 *
 * Chains.  A firm is inside a chain when, after peeling, it has exactly one
 * arc in and one arc out inside its component, both obligations, from and
 * to two other firms.  Whatever a circulation brings it, it passes on: both its
 * arcs carry the same flow.  A chain runs from a firm that is not inside
 * one, through firms that are, to the next firm that is not; a ring made
 * only of such firms is a chain from one of them back to itself.  It
 * becomes one arc of its least capacity and cost -L for L arcs; a chain
 * back to its own start is a cycle of its own and carries its least
 * capacity, which is optimal whatever the rest does.  Potentials: let the
 * chain u = x0 -> x1 -> ... -> xL = w carry f, its least capacity being c.
 * The reduced arc's certificate gives p[u] - p[w] >= L when f < c and
 * <= L when f > 0.  Inside, each firm is one below the one before it:
 * every arc then has reduced cost 0, right whatever it carries.  The
 * difference to p[w] is taken up by one arc: when p[u] - p[w] < L, f is c,
 * and the first arc of capacity c (full, so a negative reduced cost is
 * right for it) rises by the difference; when p[u] - p[w] > L, f is 0, and
 * the last arc (empty, so a positive reduced cost is right) takes it.
 *
 * Only arcs inside a component count: one between two components carries
 * nothing in any circulation (a firm of a ring that also owes a supplier
 * outside it is still a chain's), stays in the reduced network, and is
 * certified by the components' stacking (circulation.c), which places a
 * firm removed here with the rest of its component.  Both reductions work
 * from per-node counts of the arcs left in and out and the XOR of their
 * indices (and, in, of their tails): once a single arc is left on a side,
 * the XOR is that arc, so no reverse adjacency is built.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/large.h"
#include "clearing_int.h"

/* Reducing copies the network, which costs as much as a phase or two: it
 * is done when it saves more phases than that (a chain of WORTH arcs or
 * more, WORTH rounds of peeling or more: firms peeled only once a firm
 * peeled before them was), or when it removes a large part of the firms
 * (at least one in NODES_PER_REMOVED_WORTH).  Networks of trade have few
 * (the benchmark's 100,000 firms: 845 inside chains of two arcs, none to
 * peel); rings, long supply chains and lines have many. */
#define WORTH 16u
#define NODES_PER_REMOVED_WORTH 16u

enum { KEPT, PEELED, INSIDE, CONTRACTED }; /* a node's place, in reduce_scan.place */

typedef struct reduce_scan {
    uint32_t *out_count; /* per node: arcs out left */
    uint32_t *in_count;  /* per node: arcs in left */
    uint32_t *out_arc;   /* per node: XOR of the indices of its arcs out left */
    uint32_t *in_arc;    /* per node: XOR of the indices of its arcs in left */
    uint32_t *in_tail;   /* per node: XOR of the tails of its arcs in left */
    uint8_t *place;      /* per node: KEPT, PEELED, INSIDE or CONTRACTED */
    uint32_t *queue;     /* firms to peel (each at most once: its arcs only go from then on) */
} reduce_scan;

void troc__reduction_free(troc__reduction *reduction) {
    assert(reduction != NULL);
    free(reduction->leaf_node);
    free(reduction->leaf_in);
    free(reduction->leaf_out);
    free(reduction->chain_first);
    free(reduction->chain_arc);
    free(reduction->chain_from);
    free(reduction->chain_carrier);
    free(reduction->reduced_arc);
    troc__network_free(&reduction->reduced);
    troc__components_free(&reduction->components);
    *reduction = (troc__reduction){0};
}

/* Counts the arcs inside components: an arc between two carries nothing,
 * and stays as it is. */
static void count_arcs(const troc__network *network, const troc__components *components, reduce_scan *scan) {
    const uint32_t n = network->node_count;
    for (uint32_t v = 0; v < n; v++) {
        scan->out_count[v] = scan->in_count[v] = scan->in_arc[v] = scan->in_tail[v] = scan->out_arc[v] = 0;
        scan->place[v] = KEPT;
    }
    for (uint32_t tail = 0; tail < n; tail++) {
        const uint32_t component = components->component_of[tail];
        for (uint32_t a = network->arc_first[tail]; a < network->arc_first[tail + 1]; a++) {
            const uint32_t head = network->arc_head[a];
            if (components->component_of[head] != component) continue;
            scan->out_count[tail]++;
            scan->out_arc[tail] ^= a;
            scan->in_count[head]++;
            scan->in_arc[head] ^= a;
            scan->in_tail[head] ^= tail;
        }
    }
}

/* Whether v, kept so far, has one arc out and one in left, both
 * obligations. */
static bool one_arc_each_way(const troc__network *network, const reduce_scan *scan, uint32_t v) {
    return scan->place[v] == KEPT && scan->out_count[v] == 1 && scan->in_count[v] == 1 &&
           troc__network_arc_cost(network, scan->out_arc[v]) == -1 &&
           troc__network_arc_cost(network, scan->in_arc[v]) == -1;
}

/* Whether v's arcs left are one obligation to and one from a single firm. */
static bool peelable(const troc__network *network, const reduce_scan *scan, uint32_t v) {
    return one_arc_each_way(network, scan, v) && network->arc_head[scan->out_arc[v]] == scan->in_tail[v];
}

/* Peels firms with a single counterparty, round by round; returns the
 * number of rounds that peeled one. */
static uint32_t peel(const troc__network *network, reduce_scan *scan, troc__reduction *reduction) {
    uint32_t queued = 0, done = 0, rounds = 0;
    for (uint32_t v = 0; v < network->node_count; v++) {
        if (peelable(network, scan, v)) scan->queue[queued++] = v;
    }
    while (done < queued) {
        const uint32_t round_end = queued;
        bool peeled = false;
        for (; done < round_end; done++) {
            const uint32_t v = scan->queue[done];
            if (!peelable(network, scan, v)) continue; /* its counterparty went first */
            const uint32_t out = scan->out_arc[v], in = scan->in_arc[v], u = network->arc_head[out];
            reduction->leaf_node[reduction->leaf_count] = v;
            reduction->leaf_in[reduction->leaf_count] = in;
            reduction->leaf_out[reduction->leaf_count++] = out;
            scan->place[v] = PEELED;
            scan->out_count[v] = scan->in_count[v] = 0;
            scan->out_count[u]--;
            scan->out_arc[u] ^= in;
            scan->in_count[u]--;
            scan->in_arc[u] ^= out;
            scan->in_tail[u] ^= v;
            peeled = true;
            if (!peelable(network, scan, u)) continue;
            assert(queued < network->node_count);
            scan->queue[queued++] = u;
        }
        rounds += peeled;
    }
    return rounds;
}

/* Whether v, after peeling, is inside a chain: its arcs left are one
 * obligation to and one from two other firms. */
static bool inside_chain(const troc__network *network, const reduce_scan *scan, uint32_t v) {
    return one_arc_each_way(network, scan, v) && network->arc_head[scan->out_arc[v]] != scan->in_tail[v];
}

/* Lists the chain through firm v (inside, not yet contracted): its arcs in
 * chain_arc from *arc_count on, and the firm it leaves. */
static void list_chain(const troc__network *network, reduce_scan *scan, uint32_t v, troc__reduction *reduction,
                       uint32_t *arc_count) {
    uint32_t first = v; /* first firm inside the chain */
    while (scan->place[scan->in_tail[first]] == INSIDE && scan->in_tail[first] != v) first = scan->in_tail[first];
    uint32_t from = scan->in_tail[first], a = scan->in_arc[first];
    if (from == v) {
        /* A ring of firms that are all inside: it runs from v back to v. */
        scan->place[v] = KEPT;
        a = scan->out_arc[v];
    }
    reduction->chain_from[reduction->chain_count] = from;
    for (;;) {
        reduction->chain_arc[(*arc_count)++] = a;
        const uint32_t head = network->arc_head[a];
        if (scan->place[head] != INSIDE) break;
        scan->place[head] = CONTRACTED;
        a = scan->out_arc[head];
    }
    reduction->chain_first[++reduction->chain_count] = *arc_count;
}

/* Finds the chains; returns the length (in arcs) of the longest. */
static uint32_t find_chains(const troc__network *network, reduce_scan *scan, troc__reduction *reduction) {
    for (uint32_t v = 0; v < network->node_count; v++) {
        if (inside_chain(network, scan, v)) scan->place[v] = INSIDE;
    }
    reduction->chain_first[0] = 0;
    uint32_t arc_count = 0, longest = 0;
    for (uint32_t v = 0; v < network->node_count; v++) {
        if (scan->place[v] != INSIDE) continue;
        list_chain(network, scan, v, reduction, &arc_count);
        const uint32_t c = reduction->chain_count - 1;
        const uint32_t length = reduction->chain_first[c + 1] - reduction->chain_first[c];
        if (length > longest) longest = length;
    }
    return longest;
}

static int64_t least_capacity(const troc__reduction *reduction, const troc__network *network, uint32_t c) {
    int64_t least = INT64_MAX;
    for (uint32_t i = reduction->chain_first[c]; i < reduction->chain_first[c + 1]; i++) {
        const int64_t capacity = network->arc_capacity[reduction->chain_arc[i]];
        if (capacity < least) least = capacity;
    }
    return least;
}

static uint32_t chain_to(const troc__reduction *reduction, const troc__network *network, uint32_t c) {
    return network->arc_head[reduction->chain_arc[reduction->chain_first[c + 1] - 1]];
}

/* The reduced network: every arc neither peeled nor in a chain, then one
 * arc per chain between two different firms, at its first firm. */
static int build_reduced(const troc__network *network, troc__reduction *reduction, uint32_t *count) {
    const uint32_t n = network->node_count;
    reduction->reduced_arc = troc_large_malloc(((size_t)network->arc_count + 1) * sizeof *reduction->reduced_arc);
    if (reduction->reduced_arc == NULL) return -ENOMEM;
    for (uint32_t a = 0; a < network->arc_count; a++) reduction->reduced_arc[a] = 0;
    for (uint32_t i = 0; i < reduction->leaf_count; i++) {
        reduction->reduced_arc[reduction->leaf_in[i]] = reduction->reduced_arc[reduction->leaf_out[i]] = TROC__NONE;
    }
    for (uint32_t i = 0; i < reduction->chain_first[reduction->chain_count]; i++) {
        reduction->reduced_arc[reduction->chain_arc[i]] = TROC__NONE;
    }
    for (uint32_t v = 0; v <= n; v++) count[v] = 0;
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            count[v] += reduction->reduced_arc[a] != TROC__NONE;
        }
    }
    for (uint32_t c = 0; c < reduction->chain_count; c++) {
        if (chain_to(reduction, network, c) != reduction->chain_from[c]) count[reduction->chain_from[c]]++;
    }
    uint32_t arc_count = 0;
    for (uint32_t v = 0; v < n; v++) arc_count += count[v];
    troc__network *reduced = &reduction->reduced;
    int error = troc__network_allocate(reduced, n, arc_count);
    if (error != 0) return error;
    reduced->arc_first[0] = 0;
    for (uint32_t v = 0; v < n; v++) {
        reduced->arc_first[v + 1] = reduced->arc_first[v] + count[v];
        count[v] = reduced->arc_first[v]; /* now: where v's next arc goes */
    }
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            if (reduction->reduced_arc[a] == TROC__NONE) continue;
            const uint32_t r = count[v]++;
            reduced->arc_head[r] = network->arc_head[a];
            reduced->arc_capacity[r] = network->arc_capacity[a];
            reduced->arc_cost[r] = troc__network_arc_cost(network, a);
            reduction->reduced_arc[a] = r;
        }
    }
    for (uint32_t c = 0; c < reduction->chain_count; c++) {
        const uint32_t from = reduction->chain_from[c], to = chain_to(reduction, network, c);
        reduction->chain_carrier[c] = TROC__NONE;
        if (to == from) continue;
        const uint32_t r = count[from]++;
        reduced->arc_head[r] = to;
        reduced->arc_capacity[r] = least_capacity(reduction, network, c);
        reduced->arc_cost[r] = -(int32_t)(reduction->chain_first[c + 1] - reduction->chain_first[c]);
        reduction->chain_carrier[c] = r;
    }
    return 0;
}

/* The components of the reduced network: those of the network without the
 * firms peeled or inside chains, then each of those firms alone. */
static int build_components(const troc__components *components, const reduce_scan *scan, uint32_t node_count,
                            troc__reduction *reduction) {
    troc__components *out = &reduction->components;
    uint32_t count = components->component_count;
    for (uint32_t v = 0; v < node_count; v++) count += scan->place[v] != KEPT;
    if (troc__components_allocate(out, node_count, count) != 0) return -ENOMEM;
    uint32_t placed = 0, c = 0;
    for (uint32_t k = 0; k < components->component_count; k++, c++) {
        out->component_first[c] = placed;
        for (uint32_t i = components->component_first[k]; i < components->component_first[k + 1]; i++) {
            const uint32_t v = components->node_order[i];
            if (scan->place[v] != KEPT) continue;
            out->node_order[placed++] = v;
            out->component_of[v] = c;
        }
        /* A firm peeled keeps its counterparty, a chain its ends. */
        assert(placed > out->component_first[c]);
    }
    for (uint32_t v = 0; v < node_count; v++) {
        if (scan->place[v] == KEPT) continue;
        out->component_first[c] = placed;
        out->node_order[placed++] = v;
        out->component_of[v] = c++;
    }
    assert(placed == node_count && c == count);
    out->component_first[c] = placed;
    out->component_count = count;
    return 0;
}

static int allocate_records(troc__reduction *reduction, uint32_t node_count) {
    const size_t nodes = (size_t)node_count + 1;
    reduction->leaf_node = troc_large_malloc(nodes * sizeof *reduction->leaf_node);
    reduction->leaf_in = troc_large_malloc(nodes * sizeof *reduction->leaf_in);
    reduction->leaf_out = troc_large_malloc(nodes * sizeof *reduction->leaf_out);
    /* A chain has a firm inside, and one arc more than it has firms
     * inside (a ring of firms all inside keeps one of them as its end). */
    reduction->chain_first = troc_large_malloc(nodes * sizeof *reduction->chain_first);
    reduction->chain_arc = troc_large_malloc(2 * nodes * sizeof *reduction->chain_arc);
    reduction->chain_from = troc_large_malloc(nodes * sizeof *reduction->chain_from);
    reduction->chain_carrier = troc_large_malloc(nodes * sizeof *reduction->chain_carrier);
    if (reduction->leaf_node == NULL || reduction->leaf_in == NULL || reduction->leaf_out == NULL ||
        reduction->chain_first == NULL || reduction->chain_arc == NULL || reduction->chain_from == NULL ||
        reduction->chain_carrier == NULL) {
        return -ENOMEM;
    }
    return 0;
}

/* Places the scan's arrays in block from *used (troc_large_carve()): one
 * block, so that they share huge pages. */
static void place_scan(reduce_scan *scan, char *block, size_t *used, size_t nodes) {
    scan->out_count = troc_large_carve(block, used, nodes * sizeof *scan->out_count);
    scan->in_count = troc_large_carve(block, used, nodes * sizeof *scan->in_count);
    scan->out_arc = troc_large_carve(block, used, nodes * sizeof *scan->out_arc);
    scan->in_arc = troc_large_carve(block, used, nodes * sizeof *scan->in_arc);
    scan->in_tail = troc_large_carve(block, used, nodes * sizeof *scan->in_tail);
    scan->place = troc_large_carve(block, used, nodes * sizeof *scan->place);
    scan->queue = troc_large_carve(block, used, nodes * sizeof *scan->queue);
}

int troc__reduction_build(const troc__network *network, const troc__components *components,
                          troc__reduction *reduction) {
    assert(network != NULL && components != NULL && reduction != NULL);
    *reduction = (troc__reduction){0};
    const uint32_t n = network->node_count;
    const size_t nodes = (size_t)n + 1;
    reduce_scan scan;
    size_t bytes = 0, used = 0;
    place_scan(&scan, NULL, &bytes, nodes);
    char *block = troc_large_malloc(bytes);
    int error = -ENOMEM;
    if (block == NULL) goto cleanup;
    place_scan(&scan, block, &used, nodes);
    error = allocate_records(reduction, n);
    if (error != 0) goto cleanup;
    count_arcs(network, components, &scan);
    const uint32_t rounds = peel(network, &scan, reduction);
    const uint32_t longest = find_chains(network, &scan, reduction);
    uint32_t removed = 0;
    for (uint32_t v = 0; v < n; v++) removed += scan.place[v] != KEPT;
    const bool worth = rounds >= WORTH || longest >= WORTH || removed >= n / NODES_PER_REMOVED_WORTH;
    if (removed == 0 || !worth) {
        troc__reduction_free(reduction); /* reducing costs more than it saves */
        goto cleanup;
    }
    /* in_count is free again: build_reduced counts arcs in it. */
    error = build_reduced(network, reduction, scan.in_count);
    if (error == 0) error = build_components(components, &scan, n, reduction);
cleanup:
    free(block);
    if (error != 0) troc__reduction_free(reduction);
    return error;
}

void troc__reduction_expand(const troc__reduction *reduction, const troc__network *network,
                            const int64_t *reduced_flow, int64_t *flow, int64_t *potential) {
    assert(reduction != NULL && network != NULL && reduced_flow != NULL && flow != NULL && potential != NULL);
    for (uint32_t a = 0; a < network->arc_count; a++) {
        if (reduction->reduced_arc[a] != TROC__NONE) flow[a] = reduced_flow[reduction->reduced_arc[a]];
    }
    /* Chains first: a firm peeled may have had a chain's firm for its
     * counterparty. */
    for (uint32_t c = 0; c < reduction->chain_count; c++) {
        const uint32_t first = reduction->chain_first[c], end = reduction->chain_first[c + 1];
        const uint32_t from = reduction->chain_from[c], to = chain_to(reduction, network, c);
        const int64_t least = least_capacity(reduction, network, c);
        const uint32_t carrier = reduction->chain_carrier[c];
        const int64_t carried = carrier == TROC__NONE ? least : reduced_flow[carrier];
        int64_t slack = (int64_t)(end - first) - (potential[from] - potential[to]);
        assert(slack <= 0 || carried == least);
        assert(slack >= 0 || carried == 0);
        int64_t p = potential[from];
        for (uint32_t i = first; i < end; i++) {
            const uint32_t a = reduction->chain_arc[i];
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
    for (uint32_t i = reduction->leaf_count; i-- > 0;) {
        const uint32_t in = reduction->leaf_in[i], out = reduction->leaf_out[i];
        const int64_t to_leaf = network->arc_capacity[in], from_leaf = network->arc_capacity[out];
        const uint32_t v = reduction->leaf_node[i], u = network->arc_head[out];
        flow[in] = flow[out] = to_leaf < from_leaf ? to_leaf : from_leaf;
        potential[v] = potential[u] + (to_leaf < from_leaf ? 1 : to_leaf > from_leaf ? -1 : 0);
    }
}
