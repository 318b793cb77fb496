/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Step 2 of a primal-dual phase: push as much excess as possible to the
 * deficits through the admissible graph (admissible.c: the entries of
 * reduced cost 0).  Any excess moved this way keeps the flow optimal for
 * what it carries; excess that cannot reach a deficit simply stays where it
 * is for the next phase.
 *
 * The method is shortest augmenting paths with distance labels (ISAP):
 * every node carries a label, a lower bound on its distance to a deficit
 * through entries with room, made exact by a global relabel (a
 * breadth-first search backwards from the deficits).  From each node with
 * excess a depth-first search follows entries down one label at a time,
 * each node remembering the entry it got to (current entry); reaching a
 * deficit, it pushes the path's bottleneck; at a dead end it relabels the
 * node to one more than its lowest neighbour and steps back.
 *
 * When augmentations cut a large region off the deficits, its nodes would
 * climb one label at a time, each climb a scan of the node's entries.  Two
 * things stop that.  Gaps: the nodes of each label are kept in a list, and
 * when a relabel empties a label, no node above it can reach a deficit, so
 * all of them are cut off at once.  Global relabels: once relabels have
 * scanned as many entries as the last global relabel did, a new one
 * restores exact labels (nodes that reach no deficit are cut off), which
 * costs no more than the climbing it replaces.  The loop ends when a
 * global relabel finds no node with excess that reaches a deficit.  Each
 * round starts with exact labels, so its first search augments: the loop
 * always progresses.
 */
#include <assert.h>

#include "clearing_int.h"

/* Entries of relabel work an augmentation allows per entry of its path: a
 * round's relabels may scan what its global relabel scanned, plus this much
 * for every entry augmentations pushed through.  Rounds that keep moving
 * flow relabel on; rounds that mostly climb get exact labels soon. */
#define RELABEL_CREDIT 4u

static void label_insert(troc__flow *f, uint32_t v) {
    const uint32_t label = f->level[v];
    f->label_previous[v] = TROC__NONE;
    f->label_next[v] = f->label_first[label];
    if (f->label_first[label] != TROC__NONE) f->label_previous[f->label_first[label]] = v;
    f->label_first[label] = v;
    if (f->label_top == TROC__NONE || label > f->label_top) f->label_top = label;
}

static void label_remove(troc__flow *f, uint32_t v) {
    const uint32_t label = f->level[v], next = f->label_next[v], previous = f->label_previous[v];
    if (previous == TROC__NONE) f->label_first[label] = next;
    else f->label_next[previous] = next;
    if (next != TROC__NONE) f->label_previous[next] = previous;
}

/* Exact labels from a breadth-first search backwards from the deficits;
 * TROC__NONE for nodes that reach none.  Returns whether a node with excess
 * reaches one. */
static bool global_relabel(troc__flow *f, const troc__residual *r, uint32_t lo, uint32_t hi) {
    const troc__admissible *a = &f->admissible;
    uint32_t tail = 0, head = 0;
    uint64_t scanned = 0;
    f->global_relabel_count++;
    for (uint32_t v = lo; v < hi; v++) {
        f->current[v] = a->first[v];
        f->level[v] = TROC__NONE;
        f->label_first[v - lo] = TROC__NONE;
        if (r->excess[v] < 0) {
            f->level[v] = 0;
            f->queue[head++] = v;
        }
    }
    f->label_top = TROC__NONE;
    bool reached = false;
    while (tail < head) {
        const uint32_t h = f->queue[tail++];
        label_insert(f, h);
        const uint32_t end = a->first[h + 1];
        scanned += end - a->first[h];
        for (uint32_t e = a->first[h]; e < end; e++) {
            const troc__residual_entry entry = a->entries[e];
            const uint32_t u = entry.head;
            if (f->level[u] != TROC__NONE || !troc__entry_partner_has_room(r, entry)) continue;
            f->level[u] = f->level[h] + 1;
            f->queue[head++] = u;
            reached |= r->excess[u] > 0;
        }
    }
    assert(head <= hi - lo);
    f->deficit_side = head;
    f->relabel_work = 0;
    f->relabel_budget = scanned + head;
    return reached;
}

/* Label k holds no node: cuts off every node above it. */
static void cut_gap(troc__flow *f, uint32_t k) {
    for (uint32_t label = k + 1; f->label_top != TROC__NONE && label <= f->label_top; label++) {
        for (uint32_t v = f->label_first[label]; v != TROC__NONE; v = f->label_next[v]) f->level[v] = TROC__NONE;
        f->label_first[label] = TROC__NONE;
    }
    f->label_top = k == 0 ? TROC__NONE : k - 1;
}

/* New label of v: one more than its lowest neighbour through room, or cut
 * off (no such neighbour, or v left a gap behind). */
static void relabel(troc__flow *f, const troc__residual *r, uint32_t v) {
    const troc__admissible *a = &f->admissible;
    const uint32_t end = a->first[v + 1];
    uint32_t lowest = TROC__NONE, best = a->first[v];
    for (uint32_t e = a->first[v]; e < end; e++) {
        const troc__residual_entry entry = a->entries[e];
        const uint32_t level = f->level[entry.head];
        if (level < lowest && troc__entry_has_room(r, entry)) {
            lowest = level;
            best = e;
        }
    }
    f->relabel_work += end - a->first[v] + 1;
    const uint32_t old = f->level[v];
    assert(old != TROC__NONE && (lowest == TROC__NONE || lowest >= old));
    label_remove(f, v);
    f->level[v] = TROC__NONE;
    if (f->label_first[old] == TROC__NONE) {
        cut_gap(f, old);
        return;
    }
    if (lowest == TROC__NONE) return;
    f->level[v] = lowest + 1;
    label_insert(f, v);
    f->current[v] = best;
}

/* Next entry of v with room down one label, or TROC__NONE. */
static uint32_t advance(troc__flow *f, const troc__residual *r, uint32_t v) {
    const troc__admissible *a = &f->admissible;
    const uint32_t end = a->first[v + 1], want = f->level[v] - 1;
    for (uint32_t e = f->current[v]; e < end; e++) {
        const troc__residual_entry entry = a->entries[e];
        if (f->level[entry.head] == want && troc__entry_has_room(r, entry)) {
            f->current[v] = e;
            return e;
        }
    }
    return TROC__NONE;
}

/* Pushes the bottleneck along path[0..depth) from s to the deficit t;
 * returns the depth to resume from (the first entry left without room). */
static uint32_t augment(troc__flow *f, troc__residual *r, uint32_t s, uint32_t t, uint32_t depth) {
    const troc__admissible *a = &f->admissible;
    int64_t delta = r->excess[s] < -r->excess[t] ? r->excess[s] : -r->excess[t];
    for (uint32_t i = 0; i < depth; i++) {
        const int64_t room = troc__entry_room(r, a->entries[f->path[i]]);
        if (room < delta) delta = room;
    }
    assert(delta > 0);
    uint32_t resume = depth;
    for (uint32_t i = 0; i < depth; i++) {
        const troc__residual_entry entry = a->entries[f->path[i]];
        troc__residual_push(r, entry, delta);
        if (resume == depth && !troc__entry_has_room(r, entry)) resume = i;
    }
    r->excess[s] -= delta;
    r->excess[t] += delta;
    f->excess_left -= delta;
    /* Work that moved flow earns the relabels room before the next global
     * relabel. */
    f->relabel_budget += RELABEL_CREDIT * ((uint64_t)depth + 1);
    return resume;
}

static bool live(const troc__flow *f, uint32_t v) {
    return f->level[v] != TROC__NONE;
}

/* The node the path of the given depth ends at. */
static uint32_t path_end(const troc__flow *f, uint32_t s, uint32_t depth) {
    return depth == 0 ? s : f->admissible.entries[f->path[depth - 1]].head;
}

/* Routes what it can of the excess of s, until the relabel budget is
 * spent. */
static void route_from(troc__flow *f, troc__residual *r, uint32_t s) {
    uint32_t depth = 0, v = s;
    while (r->excess[s] > 0 && live(f, s) && f->relabel_work <= f->relabel_budget) {
        if (f->level[v] == 0 && r->excess[v] < 0) {
            depth = augment(f, r, s, v, depth);
            v = path_end(f, s, depth);
            continue;
        }
        /* A gap found deeper in the search may have cut v off already. */
        const bool alive = live(f, v);
        const uint32_t e = !alive || f->level[v] == 0 ? TROC__NONE : advance(f, r, v);
        if (e != TROC__NONE) {
            f->path[depth++] = e;
            v = f->admissible.entries[e].head;
            continue;
        }
        if (alive) relabel(f, r, v);
        if (depth > 0) v = path_end(f, s, --depth);
    }
}

void troc__maxflow(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    bool more = global_relabel(f, r, lo, hi);
    while (more) {
        for (uint32_t s = lo; s < hi && f->relabel_work <= f->relabel_budget; s++) {
            if (r->excess[s] > 0 && live(f, s)) route_from(f, r, s);
        }
        /* A source stops when its excess is gone or it is cut off (a label
         * is cut off only when no path from it remains), or when the round's
         * budget is spent: only then can another round route more. */
        more = f->relabel_work > f->relabel_budget && global_relabel(f, r, lo, hi);
    }
}
