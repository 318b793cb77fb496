/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact min-cost flow on one component of the residual graph: the
 * primal-dual method.
 *
 * Invariant: every entry with room has reduced cost
 * cost + potential[tail] - potential[head] >= 0, so the pseudo-flow is
 * optimal for the excesses it has already routed.  Each phase
 *   1. computes shortest distances (in reduced costs) from all nodes with
 *      excess, stopping at the first deficit reached, at distance D, and
 *      raises every potential by min(distance, D): the invariant holds and
 *      every shortest path from an excess to a deficit now has reduced cost 0;
 *   2. pushes as much as possible along such paths (the admissible entries,
 *      reduced cost 0) with blocking flows in Dinic's manner: a breadth-first
 *      level graph from the excesses, then augmenting paths found by depth-
 *      first search with a current-entry pointer per node, until no deficit
 *      is reachable through admissible entries.
 * After a phase the next D is at least 1, and distances are bounded, so the
 * phases end; when no excess is left the potentials certify optimality.
 *
 * All arrays are allocated once for the largest component and reused; the
 * inner loops allocate nothing.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "clearing_int.h"

#define DISTANCE_INFINITE INT64_MAX

struct troc__flow {
    uint32_t node_capacity;     /* nodes of the network */
    int64_t *distance;          /* per node: tentative distance in reduced costs */
    uint32_t *heap;             /* binary heap of nodes keyed by distance */
    uint32_t *heap_position;    /* per node: position in heap, TROC__NONE if absent */
    uint32_t heap_size;
    uint32_t *level;            /* per node: BFS level in the admissible graph, TROC__NONE if none */
    uint32_t *current;          /* per node: next entry to try in the blocking flow */
    uint32_t *queue;            /* BFS queue */
    uint32_t *path;             /* entries of the augmenting path being built */
    int64_t component_excess;   /* excess of the current component not yet routed */
    int64_t excess_total;       /* excess of all components, for progress */
    int64_t excess_routed;      /* routed so far, for progress */
    uint32_t phase_count;
    troc__progress *progress;   /* where to report */
};

int troc__flow_create(uint32_t node_count, int64_t excess_total, troc__progress *progress,
                      troc__flow **flow_out) {
    assert(flow_out != NULL && progress != NULL);
    assert(excess_total >= 0);
    const size_t size = (size_t)node_count + 1;
    troc__flow *f = calloc(1, sizeof *f);
    if (f == NULL) return -ENOMEM;
    f->node_capacity = node_count;
    f->excess_total = excess_total;
    f->progress = progress;
    f->distance = malloc(size * sizeof *f->distance);
    f->heap = malloc(size * sizeof *f->heap);
    f->heap_position = malloc(size * sizeof *f->heap_position);
    f->level = malloc(size * sizeof *f->level);
    f->current = malloc(size * sizeof *f->current);
    f->queue = malloc(size * sizeof *f->queue);
    f->path = malloc(size * sizeof *f->path);
    if (f->distance == NULL || f->heap == NULL || f->heap_position == NULL || f->level == NULL ||
        f->current == NULL || f->queue == NULL || f->path == NULL) {
        troc__flow_destroy(f);
        return -ENOMEM;
    }
    *flow_out = f;
    return 0;
}

void troc__flow_destroy(troc__flow *f) {
    if (f == NULL) return;
    free(f->distance);
    free(f->heap);
    free(f->heap_position);
    free(f->level);
    free(f->current);
    free(f->queue);
    free(f->path);
    free(f);
}

uint32_t troc__flow_phase_count(const troc__flow *f) {
    assert(f != NULL);
    return f->phase_count;
}

/* Binary heap ------------------------------------------------------------ */

static void heap_place(troc__flow *f, uint32_t i, uint32_t v) {
    f->heap[i] = v;
    f->heap_position[v] = i;
}

static void heap_up(troc__flow *f, uint32_t i) {
    const uint32_t v = f->heap[i];
    const int64_t key = f->distance[v];
    while (i > 0) {
        const uint32_t parent = (i - 1) / 2;
        if (f->distance[f->heap[parent]] <= key) break;
        heap_place(f, i, f->heap[parent]);
        i = parent;
    }
    heap_place(f, i, v);
}

static uint32_t heap_pop(troc__flow *f) {
    assert(f->heap_size > 0);
    const uint32_t top = f->heap[0];
    f->heap_position[top] = TROC__NONE;
    const uint32_t v = f->heap[--f->heap_size];
    const int64_t key = f->distance[v];
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= f->heap_size) break;
        if (child + 1 < f->heap_size && f->distance[f->heap[child + 1]] < f->distance[f->heap[child]]) child++;
        if (f->distance[f->heap[child]] >= key) break;
        heap_place(f, i, f->heap[child]);
        i = child;
    }
    if (f->heap_size > 0) heap_place(f, i, v);
    return top;
}

static void heap_lower(troc__flow *f, uint32_t v, int64_t distance) {
    f->distance[v] = distance;
    if (f->heap_position[v] == TROC__NONE) {
        f->heap[f->heap_size] = v;
        f->heap_position[v] = f->heap_size++;
    }
    heap_up(f, f->heap_position[v]);
}

/* Phase step 1: distances and potentials --------------------------------- */

static int64_t reduced_cost(const troc__residual *r, uint32_t tail, uint32_t e) {
    return r->cost[e] + r->potential[tail] - r->potential[r->entries[e].head];
}

/* Returns D, the distance of the nearest deficit; raises the potentials. */
static int64_t shortest_paths(troc__flow *f, troc__residual *r, const uint32_t *nodes, uint32_t count) {
    f->heap_size = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t v = nodes[i];
        f->distance[v] = DISTANCE_INFINITE;
        f->heap_position[v] = TROC__NONE;
        if (r->excess[v] > 0) heap_lower(f, v, 0);
    }
    int64_t nearest = DISTANCE_INFINITE;
    while (f->heap_size > 0) {
        const uint32_t u = heap_pop(f);
        if (r->excess[u] < 0) {
            nearest = f->distance[u];
            break;
        }
        for (uint32_t e = r->first[u]; e < r->first[u + 1]; e++) {
            if (r->entries[e].capacity == 0) continue;
            const int64_t cost = reduced_cost(r, u, e);
            assert(cost >= 0);
            const uint32_t h = r->entries[e].head;
            if (f->distance[u] + cost < f->distance[h]) heap_lower(f, h, f->distance[u] + cost);
        }
    }
    assert(nearest != DISTANCE_INFINITE); /* a balanced component always has a path */
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t v = nodes[i];
        r->potential[v] += f->distance[v] < nearest ? f->distance[v] : nearest;
    }
    return nearest;
}

/* Phase step 2: blocking flows on admissible entries ---------------------- */

/* Levels from the excesses through admissible entries, up to the level of
 * the first deficit found.  Returns whether a deficit was reached. */
static bool admissible_levels(troc__flow *f, const troc__residual *r, const uint32_t *nodes, uint32_t count) {
    uint32_t tail = 0, head = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t v = nodes[i];
        f->current[v] = r->first[v];
        f->level[v] = TROC__NONE;
        if (r->excess[v] > 0) {
            f->level[v] = 0;
            f->queue[head++] = v;
        }
    }
    uint32_t deficit_level = TROC__NONE;
    while (tail < head) {
        const uint32_t u = f->queue[tail++];
        if (f->level[u] >= deficit_level) break;
        for (uint32_t e = r->first[u]; e < r->first[u + 1]; e++) {
            const uint32_t h = r->entries[e].head;
            if (r->entries[e].capacity == 0 || f->level[h] != TROC__NONE || reduced_cost(r, u, e) != 0) continue;
            f->level[h] = f->level[u] + 1;
            f->queue[head++] = h;
            if (r->excess[h] < 0 && deficit_level == TROC__NONE) deficit_level = f->level[h];
        }
    }
    assert(head <= count);
    return deficit_level != TROC__NONE;
}

/* Next admissible entry of v towards the next level, or TROC__NONE. */
static uint32_t advance(troc__flow *f, const troc__residual *r, uint32_t v) {
    const uint32_t end = r->first[v + 1];
    for (uint32_t e = f->current[v]; e < end; e++) {
        const uint32_t h = r->entries[e].head;
        if (r->entries[e].capacity > 0 && f->level[h] == f->level[v] + 1 && reduced_cost(r, v, e) == 0) {
            f->current[v] = e;
            return e;
        }
    }
    f->current[v] = end;
    return TROC__NONE;
}

/* Pushes along path[0..depth) from s to the deficit t; returns the depth to
 * resume from (the first entry left without room, or depth). */
static uint32_t augment(troc__flow *f, troc__residual *r, uint32_t s, uint32_t t, uint32_t depth) {
    int64_t delta = r->excess[s] < -r->excess[t] ? r->excess[s] : -r->excess[t];
    for (uint32_t i = 0; i < depth; i++) {
        const int64_t room = r->entries[f->path[i]].capacity;
        if (room < delta) delta = room;
    }
    assert(delta > 0);
    uint32_t resume = depth;
    for (uint32_t i = 0; i < depth; i++) {
        troc__residual_entry *entry = &r->entries[f->path[i]];
        entry->capacity -= delta;
        r->entries[entry->reverse].capacity += delta;
        if (entry->capacity == 0 && resume == depth) resume = i;
    }
    r->excess[s] -= delta;
    r->excess[t] += delta;
    f->component_excess -= delta;
    f->excess_routed += delta;
    return resume;
}

/* Routes what it can of s's excess along level-increasing admissible paths. */
static void blocking_flow_from(troc__flow *f, troc__residual *r, uint32_t s) {
    uint32_t depth = 0, v = s;
    while (r->excess[s] > 0) {
        if (v != s && r->excess[v] < 0) {
            depth = augment(f, r, s, v, depth);
            v = depth == 0 ? s : r->entries[f->path[depth - 1]].head;
            continue;
        }
        const uint32_t e = advance(f, r, v);
        if (e != TROC__NONE) {
            f->path[depth++] = e;
            v = r->entries[e].head;
            continue;
        }
        f->level[v] = TROC__NONE; /* dead end for this level graph */
        if (depth == 0) return;
        v = depth == 1 ? s : r->entries[f->path[depth - 2]].head;
        depth--;
        f->current[v]++;
    }
}

static void blocking_flow(troc__flow *f, troc__residual *r, const uint32_t *nodes, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t s = nodes[i];
        if (r->excess[s] > 0 && f->level[s] == 0) blocking_flow_from(f, r, s);
    }
}

int troc__flow_component(troc__flow *f, troc__residual *r, const uint32_t *nodes, uint32_t count) {
    assert(f != NULL && r != NULL && nodes != NULL);
    assert(count <= f->node_capacity);
    f->component_excess = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (r->excess[nodes[i]] > 0) f->component_excess += r->excess[nodes[i]];
    }
    while (f->component_excess > 0) {
        shortest_paths(f, r, nodes, count);
        f->phase_count++;
        while (admissible_levels(f, r, nodes, count)) blocking_flow(f, r, nodes, count);
        if (f->excess_total > 0) {
            troc__progress_report(f->progress, "flow", (double)f->excess_routed / (double)f->excess_total);
        }
    }
    return 0;
}
