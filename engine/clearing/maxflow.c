/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Step 2 of a primal-dual phase: push as much excess as possible to the
 * deficits through admissible entries (reduced cost 0).  Any excess moved
 * this way keeps the flow optimal for what it carries; excess that cannot
 * reach a deficit simply stays where it is for the next phase.
 *
 * The method is shortest augmenting paths with distance labels (ISAP):
 * every node carries a label, a lower bound on its distance to a deficit
 * through admissible entries with room, made exact by a global relabel (a
 * breadth-first search backwards from the deficits).  From each node with
 * excess a depth-first search follows entries down one label at a time,
 * each node remembering the entry it got to (current entry); reaching a
 * deficit, it pushes the path's bottleneck; at a dead end it relabels the
 * node to one more than its lowest neighbour and steps back.
 *
 * Many sources and deficits, and entries with room both ways along the
 * arcs that are partly set off, would let labels climb one step at a time
 * for as long as the component is large.  Two cut-offs stop that: when a
 * relabel empties a label class (a gap), no node above it can reach a
 * deficit, so every label at or above the gap counts as cut off; and when
 * every source is cut off, a new global relabel restores exact labels.  The
 * loop ends when the global relabel finds no source that reaches a deficit.
 * Each round starts with exact labels, so its first search augments: the
 * loop always progresses.
 *
 * Only the admissible prefix of each node's entries is scanned.
 */
#include <assert.h>

#include "clearing_int.h"

/* Exact labels from a breadth-first search backwards from the deficits;
 * TROC__NONE for nodes that reach none.  Returns whether a node with excess
 * reaches one. */
static bool global_relabel(troc__flow *f, const troc__residual *r, uint32_t lo, uint32_t hi) {
    uint32_t tail = 0, head = 0;
    f->global_relabel_count++;
    for (uint32_t v = lo; v < hi; v++) {
        f->current[v] = r->first[v];
        f->level[v] = TROC__NONE;
        f->label_count[v - lo] = 0;
        if (r->excess[v] < 0) {
            f->level[v] = 0;
            f->queue[head++] = v;
        }
    }
    bool reached = false;
    while (tail < head) {
        const uint32_t h = f->queue[tail++];
        f->label_count[f->level[h]]++;
        for (uint32_t e = r->first[h]; e < r->admissible_end[h]; e++) {
            const troc__residual_entry *entry = &r->entries[e];
            const uint32_t u = entry->head;
            if (f->level[u] != TROC__NONE || r->total[e] == entry->capacity) continue; /* partner full */
            f->level[u] = f->level[h] + 1;
            f->queue[head++] = u;
            reached |= r->excess[u] > 0;
        }
    }
    assert(head <= hi - lo);
    f->gap = hi - lo;
    f->deficit_side = head;
    return reached;
}

/* New label of v: one more than its lowest neighbour through room, or cut
 * off.  A label class left empty is a gap. */
static void relabel(troc__flow *f, const troc__residual *r, uint32_t v) {
    uint32_t lowest = TROC__NONE, best = r->first[v];
    for (uint32_t e = r->first[v]; e < r->admissible_end[v]; e++) {
        const troc__residual_entry *entry = &r->entries[e];
        if (entry->capacity > 0 && f->level[entry->head] < lowest) {
            lowest = f->level[entry->head];
            best = e;
        }
    }
    const uint32_t old = f->level[v];
    assert(old < f->gap && f->label_count[old] > 0);
    if (--f->label_count[old] == 0) f->gap = old;
    if (lowest == TROC__NONE || lowest + 1 >= f->gap) {
        f->level[v] = TROC__NONE;
        return;
    }
    f->level[v] = lowest + 1;
    f->label_count[lowest + 1]++;
    f->current[v] = best;
}

/* Next entry of v with room down one label, or TROC__NONE. */
static uint32_t advance(troc__flow *f, const troc__residual *r, uint32_t v) {
    const uint32_t end = r->admissible_end[v], want = f->level[v] - 1;
    for (uint32_t e = f->current[v]; e < end; e++) {
        const troc__residual_entry *entry = &r->entries[e];
        if (entry->capacity > 0 && f->level[entry->head] == want) {
            f->current[v] = e;
            return e;
        }
    }
    return TROC__NONE;
}

/* Pushes the bottleneck along path[0..depth) from s to the deficit t;
 * returns the depth to resume from (the first entry left without room). */
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
    f->excess_left -= delta;
    return resume;
}

static bool live(const troc__flow *f, uint32_t v) {
    return f->level[v] < f->gap;
}

/* Routes what it can of the excess of s. */
static void route_from(troc__flow *f, troc__residual *r, uint32_t s) {
    uint32_t depth = 0, v = s;
    while (r->excess[s] > 0 && live(f, s)) {
        if (v != s && r->excess[v] < 0) {
            depth = augment(f, r, s, v, depth);
            v = depth == 0 ? s : r->entries[f->path[depth - 1]].head;
            continue;
        }
        /* A gap found deeper in the search may have cut v off already. */
        const bool alive = live(f, v);
        const uint32_t e = !alive || f->level[v] == 0 ? TROC__NONE : advance(f, r, v);
        if (e != TROC__NONE) {
            f->path[depth++] = e;
            v = r->entries[e].head;
            continue;
        }
        if (alive) relabel(f, r, v);
        if (depth > 0) {
            depth--;
            v = depth == 0 ? s : r->entries[f->path[depth - 1]].head;
        }
    }
}

void troc__maxflow(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    while (global_relabel(f, r, lo, hi)) {
        for (uint32_t s = lo; s < hi; s++) {
            if (r->excess[s] > 0 && live(f, s)) route_from(f, r, s);
        }
    }
}
