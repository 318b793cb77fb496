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
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/large.h"
#include "clearing_int.h"

/* Arcs ahead of the one placed whose entry's place is fetched early. */
#define PREFETCH_ARCS 16u

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

/* first[] := CSR offsets of the entries, and arc_first[] of the arcs, of
 * every arc inside a component; returns the number of such arcs, and
 * whether one of them is a chain's. */
static uint32_t count_arcs(const troc__network *network, const troc__components *components, const uint32_t *rank,
                           troc__residual *r, bool *chains) {
    *chains = false;
    const uint32_t n = network->node_count;
    for (uint32_t v = 0; v <= n; v++) r->first[v] = r->arc_first[v] = 0;
    for (uint32_t v = 0; v < n; v++) {
        const uint32_t component = components->component_of[v];
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (components->component_of[h] != component) continue;
            r->first[rank[v] + 1]++;
            r->first[rank[h] + 1]++;
            r->arc_first[rank[v] + 1]++;
            *chains |= troc__network_arc_cost(network, a) < -1;
        }
    }
    for (uint32_t v = 0; v < n; v++) {
        r->first[v + 1] += r->first[v];
        r->arc_first[v + 1] += r->arc_first[v];
    }
    return r->arc_first[n];
}

/* The link bits that give an arc's cost, but for a chain's (chain_cost). */
static uint32_t cost_bits(int32_t cost) {
    return cost == 0 ? TROC__LINK_FREE : cost == -1 ? 0u : TROC__LINK_CHAIN;
}

/* What building the graph needs and the graph does not, in a block of its
 * own given back once the graph is built: the flow solver's block, which
 * comes next, takes its pages. */
typedef struct building {
    char *block;
    uint32_t *rank;     /* per network node: its residual node */
    uint32_t *next;     /* per residual node: where its next entry goes */
    uint32_t *arc_head; /* per arc: its head, for fill_heads() to fetch ahead */
} building;

/* Numbers the arcs inside components by tail in residual node order and
 * writes their entries at the tail. */
static void fill_arcs(const troc__network *network, const troc__components *components, building *b,
                      troc__residual *r) {
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
        for (uint32_t a = network->arc_first[v]; a < network->arc_first[v + 1]; a++) {
            const uint32_t h = network->arc_head[a];
            if (components->component_of[h] != component) continue;
            const uint32_t head = b->rank[h];
            const int64_t capacity = network->arc_capacity[a];
            const int32_t cost = troc__network_arc_cost(network, a);
            const int64_t start = cost < 0 ? capacity : 0; /* initial pseudo-flow */
            if (r->narrow) {
                ((troc__residual_arc32 *)r->arcs)[arc] = (troc__residual_arc32){.capacity = (int32_t)capacity};
            } else {
                ((troc__residual_arc *)r->arcs)[arc] = (troc__residual_arc){.capacity = capacity};
            }
            troc__residual_set_room(r, arc, capacity - start);
            b->arc_head[arc] = head;
            if (cost < -1) r->chain_cost[arc] = cost;
            r->free_arc_count += cost == 0;
            const uint32_t link = arc << TROC__LINK_ARC_SHIFT | cost_bits(cost);
            r->entries[b->next[tail]++] = (troc__residual_entry){.head = head, .link = link | TROC__LINK_TAIL};
            r->excess[tail] -= start;
            arc++;
        }
    }
    assert(arc == r->arc_count);
}

/* The entries at the heads, once every arc is in place: a pass over the
 * arcs by tail (their entries at the tail give each its link), whose writes
 * land all over the entries, so the places a few arcs ahead are fetched
 * early. */
static void fill_heads(troc__residual *r, building *b) {
    const uint32_t *arc_head = b->arc_head;
    uint32_t *next = b->next;
    for (uint32_t tail = 0; tail < r->node_count; tail++) {
        const troc__residual_entry *out = &r->entries[r->first[tail]] - r->arc_first[tail];
        for (uint32_t arc = r->arc_first[tail]; arc < r->arc_first[tail + 1]; arc++) {
            if (arc + PREFETCH_ARCS < r->arc_count) {
                const uint32_t ahead = arc_head[arc + PREFETCH_ARCS];
                __builtin_prefetch(&r->entries[next[ahead]], 1);
                __builtin_prefetch(&r->excess[ahead], 1);
            }
            if (arc + 2 * PREFETCH_ARCS < r->arc_count) __builtin_prefetch(&next[arc_head[arc + 2 * PREFETCH_ARCS]], 1);
            const uint32_t head = arc_head[arc], link = out[arc].link & ~TROC__LINK_TAIL;
            r->entries[next[head]++] = (troc__residual_entry){.head = tail, .link = link};
            r->excess[head] += troc__arc_capacity(r, arc) - troc__arc_room(r, arc); /* the initial pseudo-flow */
        }
    }
}

/* Whether every capacity of the network fits an int32: the graph then
 * takes narrow arcs. */
static bool capacities_narrow(const troc__network *network) {
    int64_t largest = 0;
    for (uint32_t a = 0; a < network->arc_count; a++) {
        largest = network->arc_capacity[a] > largest ? network->arc_capacity[a] : largest;
    }
    return largest <= INT32_MAX;
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

static void place_building(building *b, char *block, size_t *used, uint32_t node_count, uint32_t arc_count) {
    const size_t nodes = (size_t)node_count + 1, arcs = (size_t)arc_count + 1;
    b->rank = troc_large_carve(block, used, nodes * sizeof *b->rank);
    b->next = troc_large_carve(block, used, nodes * sizeof *b->next);
    b->arc_head = troc_large_carve(block, used, arcs * sizeof *b->arc_head);
}

/* Places the arrays of r in one block, and those of b in another. */
static int allocate(troc__residual *r, building *b, uint32_t node_count, uint32_t arc_count) {
    size_t bytes = 0, used = 0, building_bytes = 0, building_used = 0;
    place_arrays(r, NULL, &bytes, arc_count);
    place_building(b, NULL, &building_bytes, node_count, arc_count);
    r->block = troc_large_malloc(bytes);
    b->block = troc_large_malloc(building_bytes);
    if (r->block == NULL || b->block == NULL) return -ENOMEM;
    place_arrays(r, r->block, &used, arc_count);
    place_building(b, b->block, &building_used, node_count, arc_count);
    assert(used == bytes && building_used == building_bytes);
    return 0;
}

int troc__residual_build(const troc__network *network, const troc__components *components,
                         troc__residual *residual) {
    assert(network != NULL && components != NULL && residual != NULL);
    assert(components->component_first[components->component_count] == network->node_count);
    troc__residual *r = residual;
    *r = (troc__residual){.node_count = network->node_count, .narrow = capacities_narrow(network)};
    const size_t nodes = (size_t)network->node_count + 1;
    /* Sized for every arc of the network; those between components are
     * left out, and the pages of the room they leave are never touched. */
    building b = {0};
    int error = allocate(r, &b, network->node_count, network->arc_count);
    if (error != 0) goto cleanup;
    memset(r->excess, 0, nodes * sizeof *r->excess);
    memset(r->potential, 0, nodes * sizeof *r->potential);
    memset(r->room_bits, 0, troc__room_words(network->arc_count) * sizeof *r->room_bits);
    number_nodes(network, components, r->network_node, b.rank);
    bool chains = false;
    const uint32_t arc_count = count_arcs(network, components, b.rank, r, &chains);
    assert(arc_count <= network->arc_count && r->first[network->node_count] == 2 * arc_count);
    r->arc_count = arc_count;
    r->entry_count = 2 * arc_count;
    if (chains) {
        r->chain_cost = troc_large_malloc(((size_t)arc_count + 1) * sizeof *r->chain_cost);
        if (r->chain_cost == NULL) {
            error = -ENOMEM;
            goto cleanup;
        }
    }
    for (uint32_t v = 0; v < network->node_count; v++) b.next[v] = r->first[v];
    fill_arcs(network, components, &b, r);
    fill_heads(r, &b);
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
