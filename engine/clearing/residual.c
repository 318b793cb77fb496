/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The residual graph the flow solver works on.
 *
 * A min-cost circulation with costs -1 and 0 (-L for a contracted chain)
 * becomes a transport problem with costs >= 0 by starting from the
 * pseudo-flow that fills every arc of negative cost: an arc debtor ->
 * creditor of capacity U then leaves an excess of U at the creditor and a
 * deficit of U at the debtor, and its only entry with room is the one back
 * from creditor to debtor, of cost +1 (giving back one unit of set-off; +L
 * along a chain).  Routing all excesses back to the deficits at least cost
 * leaves the maximum circulation.  Cost 0 arcs (slack arcs of the balance
 * node) start empty.
 *
 * Only arcs inside a component take part; an arc between components carries
 * nothing in any circulation.  Nodes are renumbered in the order of the
 * components' node lists, so each component is a contiguous range and its
 * entries a contiguous block of memory.  Each entry names its arc and its
 * side in its link; the arc's room is kept once, at the arc, so the flow
 * is read back as capacity - room at the tail, and pushing along either
 * entry updates both.
 *
 * The entries never move once built: each phase copies the admissible
 * ones (reduced cost 0) into a compact graph of their own (admissible.c).
 *
 * The build runs two passes at once when the solver has a helper thread:
 * the arcs are counted while the nodes are numbered, then the entries at
 * the heads (and the excesses) are written while the arcs and the entries
 * at the tails are.  Each pass writes arrays of its own, so the graph is
 * the same, byte for byte, with or without the helper.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/large.h"
#include "clearing_int.h"

/* Nodes ahead of the one whose network arcs are read, whose arcs are
 * fetched early. */
#define PREFETCH_NODES 8u

void troc__residual_free(troc__residual *residual) {
    assert(residual != NULL);
    free(residual->block);
    free(residual->chain_cost);
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
            if (tail + PREFETCH_NODES < head) { /* the queue visits the nodes in no order of memory */
                __builtin_prefetch(&network->arc_head[network->arc_first[order[tail + PREFETCH_NODES]]]);
            }
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

/* The link of an arc's entry at its head: the arc, and the bits that give
 * its cost but for a chain's (chain_cost); the tail's adds LINK_TAIL. */
static uint32_t head_link(uint32_t arc, int32_t cost) {
    return arc << TROC__LINK_ARC_SHIFT | (cost == 0 ? TROC__LINK_FREE : cost == -1 ? 0u : TROC__LINK_CHAIN);
}

/* The initial pseudo-flow on an arc: full if it costs less than 0. */
static int64_t initial_flow(int64_t capacity, int32_t cost) {
    return cost < 0 ? capacity : 0;
}

/* What building the graph needs and the graph does not, in a block of its
 * own given back once the graph is built: the flow solver's block, which
 * comes next, takes its pages. */
typedef struct building {
    char *block;
    const troc__network *network;
    const troc__components *components;
    troc__residual *r;
    uint32_t *order;     /* per residual node: its network node */
    uint32_t *rank;      /* per network node: its residual node */
    uint32_t *arcs_out;  /* per network node: its arcs inside its component */
    uint32_t *degree;    /* per network node: its entries (arcs in and out inside its component) */
    uint32_t *head_next; /* per residual node: where its next entry at a head goes */
    bool chains;         /* an arc inside a component is a chain's */
    bool narrow;         /* every capacity of the network fits an int32 */
} building;

/* Counts, per network node, its arcs inside its component and the entries
 * they give it; notes whether one of them is a chain's, and whether every
 * capacity fits an int32 (the graph then takes narrow arcs). */
static void count_arcs(void *context) {
    building *b = context;
    const troc__network *network = b->network;
    const troc__components *components = b->components;
    memset(b->arcs_out, 0, (size_t)network->node_count * sizeof *b->arcs_out);
    memset(b->degree, 0, (size_t)network->node_count * sizeof *b->degree);
    int64_t largest = 0;
    bool chains = false;
    for (uint32_t v = 0; v < network->node_count; v++) {
        const uint32_t component = components->component_of[v];
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            largest = network->arc_capacity[a] > largest ? network->arc_capacity[a] : largest;
            const uint32_t h = network->arc_head[a];
            if (components->component_of[h] != component) continue;
            b->arcs_out[v]++;
            b->degree[v]++;
            b->degree[h]++;
            chains |= troc__network_arc_cost(network, a) < -1;
        }
    }
    b->chains = chains;
    b->narrow = largest <= INT32_MAX;
}

static void number_nodes_here(building *b) {
    number_nodes(b->network, b->components, b->order, b->rank);
}

/* first[] and arc_first[]: the CSR offsets of the entries and of the arcs,
 * in residual node order. */
static void place_offsets(const building *b, troc__residual *r) {
    r->first[0] = r->arc_first[0] = 0;
    for (uint32_t i = 0; i < r->node_count; i++) {
        const uint32_t v = b->order[i];
        r->first[i + 1] = r->first[i] + b->degree[v];
        r->arc_first[i + 1] = r->arc_first[i] + b->arcs_out[v];
    }
}

/* Numbers the arcs inside components by tail in residual node order, and
 * writes them and their entries at the tail, which come first among each
 * node's entries. */
static void fill_arcs(building *b) {
    const troc__network *network = b->network;
    const troc__components *components = b->components;
    troc__residual *r = b->r;
    uint32_t arc = 0;
    for (uint32_t tail = 0; tail < r->node_count; tail++) {
        /* The network's arcs are read in residual order, a node's here and
         * the next node's anywhere: those of nodes a few places on are
         * fetched early, and where they start further on still. */
        if (tail + 2 * PREFETCH_NODES < r->node_count) {
            __builtin_prefetch(&network->arc_first[r->network_node[tail + 2 * PREFETCH_NODES]]);
        }
        if (tail + PREFETCH_NODES < r->node_count) {
            const uint32_t ahead = network->arc_first[r->network_node[tail + PREFETCH_NODES]];
            __builtin_prefetch(&network->arc_head[ahead]);
            __builtin_prefetch(&network->arc_capacity[ahead]);
        }
        const uint32_t v = r->network_node[tail], component = components->component_of[v];
        assert(arc == r->arc_first[tail]);
        troc__residual_entry *out = &r->entries[r->first[tail]];
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (components->component_of[h] != component) continue;
            const int64_t capacity = network->arc_capacity[a];
            const int32_t cost = troc__network_arc_cost(network, a);
            const int64_t start = initial_flow(capacity, cost);
            if (r->narrow) {
                ((troc__residual_arc32 *)r->arcs)[arc] = (troc__residual_arc32){.capacity = (int32_t)capacity};
            } else {
                ((troc__residual_arc *)r->arcs)[arc] = (troc__residual_arc){.capacity = capacity};
            }
            troc__residual_set_room(r, arc, capacity - start);
            if (cost < -1) r->chain_cost[arc] = cost;
            r->free_arc_count += cost == 0;
            *out++ = (troc__residual_entry){.head = b->rank[h], .link = head_link(arc, cost) | TROC__LINK_TAIL};
            arc++;
        }
    }
    assert(arc == r->arc_count);
}

/* The entries at the heads, after those at the tails among each node's
 * entries, and the excesses the initial pseudo-flow leaves: a pass over the
 * arcs in fill_arcs()'s order, which numbers them the same way. */
static void fill_heads(void *context) {
    building *b = context;
    const troc__network *network = b->network;
    const troc__components *components = b->components;
    troc__residual *r = b->r;
    uint32_t *next = b->head_next;
    for (uint32_t v = 0; v < r->node_count; v++) next[v] = r->first[v] + (r->arc_first[v + 1] - r->arc_first[v]);
    uint32_t arc = 0;
    for (uint32_t tail = 0; tail < r->node_count; tail++) {
        if (tail + PREFETCH_NODES < r->node_count) { /* as in fill_arcs() */
            const uint32_t ahead = network->arc_first[r->network_node[tail + PREFETCH_NODES]];
            __builtin_prefetch(&network->arc_head[ahead]);
            __builtin_prefetch(&network->arc_capacity[ahead]);
        }
        const uint32_t v = r->network_node[tail], component = components->component_of[v];
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (components->component_of[h] != component) continue;
            const uint32_t head = b->rank[h];
            const int32_t cost = troc__network_arc_cost(network, a);
            const int64_t start = initial_flow(network->arc_capacity[a], cost);
            r->entries[next[head]++] = (troc__residual_entry){.head = tail, .link = head_link(arc, cost)};
            r->excess[tail] -= start;
            r->excess[head] += start;
            arc++;
        }
    }
}

/* Runs task on the helper (or first, here, without one) while here() runs
 * here. */
static void beside(troc__helper *helper, troc__task *task, void (*here)(building *), building *b) {
    if (helper != NULL) troc__helper_start(helper, task, b);
    else task(b);
    here(b);
    if (helper != NULL) troc__helper_wait(helper);
}

/* Places the arrays of r for at most arc_count arcs in block from *used
 * (troc_large_carve()): one block, so that the arrays of one entry per node
 * share huge pages. */
static void place_arrays(troc__residual *r, char *block, size_t *used, uint32_t arc_count) {
    const size_t nodes = (size_t)r->node_count + 1, arcs = (size_t)arc_count + 1;
    r->first = troc_large_carve(block, used, nodes * sizeof *r->first);
    r->arc_first = troc_large_carve(block, used, nodes * sizeof *r->arc_first);
    r->network_node = troc_large_carve(block, used, nodes * sizeof *r->network_node);
    r->excess = troc_large_carve(block, used, nodes * sizeof *r->excess);
    r->potential = troc_large_carve(block, used, nodes * sizeof *r->potential);
    r->entries = troc_large_carve(block, used, 2 * arcs * sizeof *r->entries);
    r->arcs = troc_large_carve(block, used, arcs * troc__arc_size(r));
    r->room_bits = troc_large_carve(block, used, troc__room_words(arc_count) * sizeof *r->room_bits);
}

static void place_building(building *b, char *block, size_t *used, uint32_t node_count) {
    const size_t nodes = (size_t)node_count + 1;
    b->order = troc_large_carve(block, used, nodes * sizeof *b->order);
    b->rank = troc_large_carve(block, used, nodes * sizeof *b->rank);
    b->arcs_out = troc_large_carve(block, used, nodes * sizeof *b->arcs_out);
    b->degree = troc_large_carve(block, used, nodes * sizeof *b->degree);
    b->head_next = troc_large_carve(block, used, nodes * sizeof *b->head_next);
}

static int allocate_building(building *b, uint32_t node_count) {
    size_t bytes = 0, used = 0;
    place_building(b, NULL, &bytes, node_count);
    b->block = troc_large_malloc(bytes);
    if (b->block == NULL) return -ENOMEM;
    place_building(b, b->block, &used, node_count);
    assert(used == bytes);
    return 0;
}

/* The graph's arrays (once r->narrow is known), sized for every arc of the
 * network: those between components are left out, and the pages of the
 * room they leave are never touched. */
static int allocate_graph(troc__residual *r, uint32_t arc_count) {
    size_t bytes = 0, used = 0;
    place_arrays(r, NULL, &bytes, arc_count);
    r->block = troc_large_malloc(bytes);
    if (r->block == NULL) return -ENOMEM;
    place_arrays(r, r->block, &used, arc_count);
    assert(used == bytes);
    return 0;
}

int troc__residual_build(const troc__network *network, const troc__components *components, troc__helper *helper,
                         troc__residual *residual) {
    assert(network != NULL && components != NULL && residual != NULL);
    assert(components->component_first[components->component_count] == network->node_count);
    troc__residual *r = residual;
    *r = (troc__residual){.node_count = network->node_count};
    const size_t nodes = (size_t)network->node_count + 1;
    building b = {.network = network, .components = components, .r = r};
    int error = allocate_building(&b, network->node_count);
    if (error != 0) goto cleanup;
    beside(helper, count_arcs, number_nodes_here, &b);
    r->narrow = b.narrow;
    error = allocate_graph(r, network->arc_count);
    if (error != 0) goto cleanup;
    memcpy(r->network_node, b.order, (size_t)network->node_count * sizeof *r->network_node);
    memset(r->excess, 0, nodes * sizeof *r->excess);
    memset(r->potential, 0, nodes * sizeof *r->potential);
    memset(r->room_bits, 0, troc__room_words(network->arc_count) * sizeof *r->room_bits);
    place_offsets(&b, r);
    r->arc_count = r->arc_first[network->node_count];
    r->entry_count = 2 * r->arc_count;
    assert(r->arc_count <= network->arc_count && r->first[network->node_count] == r->entry_count);
    if (b.chains) {
        r->chain_cost = troc_large_malloc(((size_t)r->arc_count + 1) * sizeof *r->chain_cost);
        if (r->chain_cost == NULL) {
            error = -ENOMEM;
            goto cleanup;
        }
    }
    beside(helper, fill_heads, fill_arcs, &b);
cleanup:
    free(b.block);
    if (error != 0) troc__residual_free(r);
    return error;
}

/* The arcs in the order fill_arcs() numbered them: no array maps them back
 * to the network's. */
void troc__residual_flows(const troc__residual *r, const troc__network *network,
                          const troc__components *components, int64_t *flow) {
    assert(r != NULL && network != NULL && components != NULL && flow != NULL);
    for (uint32_t tail = 0; tail < r->node_count; tail++) {
        if (tail + PREFETCH_NODES < r->node_count) { /* as in fill_arcs() */
            const uint32_t ahead = network->arc_first[r->network_node[tail + PREFETCH_NODES]];
            __builtin_prefetch(&network->arc_head[ahead]);
            __builtin_prefetch(&flow[ahead], 1);
        }
        const uint32_t v = r->network_node[tail], component = components->component_of[v];
        uint32_t arc = r->arc_first[tail];
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            flow[a] = 0;
            if (components->component_of[network->arc_head[a]] != component) continue;
            const int64_t room = troc__arc_room(r, arc), capacity = troc__arc_capacity(r, arc);
            arc++;
            assert(room >= 0 && room <= capacity);
            flow[a] = capacity - room;
        }
        assert(arc == r->arc_first[tail + 1]);
    }
}
