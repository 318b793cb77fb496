/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strongly connected components, Tarjan's algorithm without recursion (a
 * network of a million firms would overflow the C stack): an explicit call
 * stack of nodes, each with its next arc to look at.
 *
 * A circulation only uses arcs whose two ends lie in the same component, so
 * the solver works on each component alone and leaves every other arc empty.
 * Tarjan emits a component only after every component reachable from it,
 * which is the reverse topological order the certificate needs to place the
 * components' potentials one above the other.
 *
 * A node is on Tarjan's stack exactly when it has an index and no component
 * yet, so no separate flag is kept.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/large.h"
#include "clearing_int.h"

int troc__components_allocate(troc__components *components, uint32_t node_count, uint32_t component_count) {
    assert(components != NULL);
    const size_t nodes = (size_t)node_count + 1, firsts = (size_t)component_count + 1;
    uint32_t *block = troc_large_malloc((2 * nodes + firsts) * sizeof *block);
    if (block == NULL) return -ENOMEM;
    *components = (troc__components){
        .component_of = block, .node_order = block + nodes, .component_first = block + 2 * nodes};
    return 0;
}

void troc__components_free(troc__components *components) {
    assert(components != NULL);
    free(components->component_of); /* the block of all three arrays */
    *components = (troc__components){0};
}

typedef struct tarjan {
    const troc__network *network;
    uint32_t node_limit;
    uint32_t *index;      /* visit number, TROC__NONE before the visit */
    uint32_t *low;        /* lowest index reachable through the DFS subtree */
    uint32_t *next_arc;   /* next arc to scan of each node on the call stack */
    uint32_t *call_stack; /* DFS path */
    uint32_t *stack;      /* Tarjan's stack: visited nodes without a component */
    uint32_t stack_size;
    uint32_t visited;
    troc__components *out;
    uint32_t ordered; /* nodes written to out->node_order */
} tarjan;

static void tarjan_visit(tarjan *t, uint32_t v, uint32_t *call_depth) {
    t->index[v] = t->low[v] = t->visited++;
    t->next_arc[v] = t->network->arc_first[v];
    t->stack[t->stack_size++] = v;
    t->call_stack[(*call_depth)++] = v;
}

/* Pops the component whose root is v off Tarjan's stack. */
static void tarjan_emit(tarjan *t, uint32_t v) {
    troc__components *out = t->out;
    const uint32_t c = out->component_count++;
    out->component_first[c] = t->ordered;
    uint32_t w;
    do {
        assert(t->stack_size > 0);
        w = t->stack[--t->stack_size];
        out->component_of[w] = c;
        out->node_order[t->ordered++] = w;
    } while (w != v);
    out->component_first[c + 1] = t->ordered;
}

static void tarjan_from(tarjan *t, uint32_t root) {
    const troc__network *net = t->network;
    uint32_t depth = 0;
    tarjan_visit(t, root, &depth);
    while (depth > 0) {
        const uint32_t v = t->call_stack[depth - 1];
        if (t->next_arc[v] < net->arc_first[v + 1]) {
            const uint32_t w = net->arc_head[t->next_arc[v]++];
            if (w >= t->node_limit) continue;
            if (t->index[w] == TROC__NONE) {
                tarjan_visit(t, w, &depth);
            } else if (t->out->component_of[w] == TROC__NONE && t->index[w] < t->low[v]) {
                t->low[v] = t->index[w];
            }
            continue;
        }
        depth--;
        if (depth > 0) {
            const uint32_t parent = t->call_stack[depth - 1];
            if (t->low[v] < t->low[parent]) t->low[parent] = t->low[v];
        }
        if (t->low[v] == t->index[v]) tarjan_emit(t, v);
    }
}

int troc__components_find(const troc__network *network, uint32_t node_limit,
                          troc__components *components) {
    assert(network != NULL && components != NULL);
    assert(node_limit <= network->node_count);
    const size_t size = (size_t)network->node_count + 1;
    *components = (troc__components){0};
    tarjan t = {.network = network, .node_limit = node_limit, .out = components};
    int error = -ENOMEM;
    /* The search's five arrays in one block, whose pages are fewer and
     * larger than five arrays' (base/large.h). */
    uint32_t *block = troc_large_malloc(5 * size * sizeof *block);
    if (block != NULL) {
        t.index = block;
        t.low = block + size;
        t.next_arc = block + 2 * size;
        t.call_stack = block + 3 * size;
        t.stack = block + 4 * size;
    }
    if (block == NULL || troc__components_allocate(components, network->node_count, network->node_count) != 0) {
        goto cleanup;
    }
    for (uint32_t v = 0; v < network->node_count; v++) {
        t.index[v] = TROC__NONE;
        components->component_of[v] = TROC__NONE;
    }
    components->component_first[0] = 0;
    for (uint32_t v = 0; v < node_limit; v++) {
        if (t.index[v] == TROC__NONE) tarjan_from(&t, v);
    }
    assert(t.ordered == node_limit && t.stack_size == 0);
    error = 0;
cleanup:
    free(block);
    return error;
}
