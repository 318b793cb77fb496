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
 * costs no more than the climbing it replaces.
 *
 * Directions.  The climbing happens on the side of the final cut the
 * searches start from: searching from the excesses, every node that ends
 * cut off from the deficits climbs until it is.  Which side of a phase's
 * cut is the small one changes from phase to phase (on the benchmark's
 * 1,000,000 obligations, 4,900 of 95,000 nodes still reach a deficit after
 * one phase, 94,000 after the next), and the same maximum flow can be
 * computed from the deficits, with labels counting entries to an excess
 * and flow moving against the search.  So a round that spends its relabel
 * budget, the sign of climbing, hands over to the other direction: the
 * next round searches from the other side, after a global relabel in its
 * direction.  Every augmentation is a whole path from an excess to a
 * deficit, so the flow left by one direction is a valid start for the
 * other.  On networks of 500,000 to 1,000,000 obligations this scans a
 * fifth fewer entries than searching from the excesses only.
 *
 * The loop ends when a round ends with every source stopped on its own
 * (its supply gone, or cut off: no path left), or when a global relabel
 * finds no source that reaches the other side.  Each round starts with
 * exact labels, so its first search augments: the loop always progresses.
 */
#include <assert.h>

#include "clearing_int.h"

/* Entries of relabel work an augmentation allows per entry of its path: a
 * round's relabels may scan what its global relabel scanned, plus this much
 * for every entry augmentations pushed through.  Rounds that keep moving
 * flow relabel on; rounds that mostly climb get exact labels soon. */
#define RELABEL_CREDIT 4u

/* The direction of a round.  Forward, the searches start at the excesses
 * and labels count entries to a deficit; reversed, they start at the
 * deficits and labels count entries to an excess, and flow moves against
 * the search, along each entry's partner.  The admissible graph holds both
 * entries of every arc of reduced cost 0, so the same lists serve both
 * directions.  The functions that take `reverse` are compiled once per
 * direction (DIRECTED: inlined where `reverse` is a constant), so the
 * inner loops do not test it. */
#define DIRECTED static inline __attribute__((always_inline))

/* Whether a search may step across e: flow would move along e, or along
 * its partner when reversed. */
static inline bool step_has_room(const troc__residual *r, troc__residual_entry e, bool reverse) {
    return reverse ? troc__entry_partner_has_room(r, e) : troc__entry_has_room(r, e);
}

/* Whether a search may step from e's head to the node whose list holds e
 * (the breadth-first search of a global relabel runs backwards). */
static inline bool step_back_has_room(const troc__residual *r, troc__residual_entry e, bool reverse) {
    return reverse ? troc__entry_has_room(r, e) : troc__entry_partner_has_room(r, e);
}

/* A node's supply in the current direction: > 0 where searches start
 * (sources), < 0 where they end. */
static inline int64_t supply(const troc__residual *r, uint32_t v, bool reverse) {
    return reverse ? -r->excess[v] : r->excess[v];
}

/* The entry flow moves along when a search steps across entry e of node
 * `tail`: e itself, or its partner (from e's head back to tail). */
static inline troc__residual_entry flow_entry(troc__residual_entry e, uint32_t tail, bool reverse) {
    if (!reverse) return e;
    return (troc__residual_entry){.head = tail, .link = e.link ^ TROC__LINK_TAIL};
}

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

/* Exact labels from a breadth-first search backwards from the ends (the
 * deficits, or the excesses when reversed); TROC__NONE for nodes that reach
 * none.  Returns whether a source reaches one. */
DIRECTED bool global_relabel_directed(troc__flow *f, const troc__residual *r, uint32_t lo, uint32_t hi,
                                     bool reverse) {
    const troc__admissible *a = &f->admissible;
    uint32_t tail = 0, head = 0;
    uint64_t scanned = 0;
    f->global_relabel_count++;
    for (uint32_t v = lo; v < hi; v++) {
        f->current[v] = a->first[v];
        f->level[v] = TROC__NONE;
        f->label_first[v - lo] = TROC__NONE;
        if (supply(r, v, reverse) < 0) {
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
            if (f->level[u] != TROC__NONE || !step_back_has_room(r, entry, reverse)) continue;
            f->level[u] = f->level[h] + 1;
            f->queue[head++] = u;
            reached |= supply(r, u, reverse) > 0;
        }
    }
    assert(head <= hi - lo);
    f->deficit_side = reverse ? (hi - lo) - head : head;
    f->relabel_work = 0;
    f->relabel_budget = scanned + head;
    return reached;
}

static bool global_relabel(troc__flow *f, const troc__residual *r, uint32_t lo, uint32_t hi) {
    return f->reverse ? global_relabel_directed(f, r, lo, hi, true) : global_relabel_directed(f, r, lo, hi, false);
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
DIRECTED void relabel(troc__flow *f, const troc__residual *r, uint32_t v, bool reverse) {
    const troc__admissible *a = &f->admissible;
    const uint32_t end = a->first[v + 1];
    uint32_t lowest = TROC__NONE, best = a->first[v];
    for (uint32_t e = a->first[v]; e < end; e++) {
        const troc__residual_entry entry = a->entries[e];
        const uint32_t level = f->level[entry.head];
        if (level < lowest && step_has_room(r, entry, reverse)) {
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
DIRECTED uint32_t advance(troc__flow *f, const troc__residual *r, uint32_t v, bool reverse) {
    const troc__admissible *a = &f->admissible;
    const uint32_t end = a->first[v + 1], want = f->level[v] - 1;
    for (uint32_t e = f->current[v]; e < end; e++) {
        const troc__residual_entry entry = a->entries[e];
        if (f->level[entry.head] == want && step_has_room(r, entry, reverse)) {
            f->current[v] = e;
            return e;
        }
    }
    return TROC__NONE;
}

/* The node the path of the given depth ends at. */
static uint32_t path_end(const troc__flow *f, uint32_t s, uint32_t depth) {
    return depth == 0 ? s : f->admissible.entries[f->path[depth - 1]].head;
}

/* Pushes the bottleneck along path[0..depth) from s to t (against it when
 * reversed); returns the depth to resume from (the first entry left
 * without room). */
DIRECTED uint32_t augment(troc__flow *f, troc__residual *r, uint32_t s, uint32_t t, uint32_t depth, bool reverse) {
    const troc__admissible *a = &f->admissible;
    int64_t delta = supply(r, s, reverse) < -supply(r, t, reverse) ? supply(r, s, reverse) : -supply(r, t, reverse);
    for (uint32_t i = 0; i < depth; i++) {
        const troc__residual_entry e = flow_entry(a->entries[f->path[i]], reverse ? path_end(f, s, i) : 0, reverse);
        const int64_t room = troc__entry_room(r, e);
        if (room < delta) delta = room;
    }
    assert(delta > 0);
    uint32_t resume = depth;
    for (uint32_t i = 0; i < depth; i++) {
        const troc__residual_entry e = flow_entry(a->entries[f->path[i]], reverse ? path_end(f, s, i) : 0, reverse);
        troc__residual_push(r, e, delta);
        if (resume == depth && !troc__entry_has_room(r, e)) resume = i;
    }
    const int64_t moved = reverse ? -delta : delta;
    r->excess[s] -= moved;
    r->excess[t] += moved;
    f->excess_left -= delta;
    /* Work that moved flow earns the relabels room before the next global
     * relabel. */
    f->relabel_budget += RELABEL_CREDIT * ((uint64_t)depth + 1);
    return resume;
}

static bool live(const troc__flow *f, uint32_t v) {
    return f->level[v] != TROC__NONE;
}

/* Routes what it can of the supply of s, until the relabel budget is
 * spent. */
DIRECTED void route_from_directed(troc__flow *f, troc__residual *r, uint32_t s, bool reverse) {
    uint32_t depth = 0, v = s;
    while (supply(r, s, reverse) > 0 && live(f, s) && f->relabel_work <= f->relabel_budget) {
        if (f->level[v] == 0 && supply(r, v, reverse) < 0) {
            depth = augment(f, r, s, v, depth, reverse);
            v = path_end(f, s, depth);
            continue;
        }
        /* A gap found deeper in the search may have cut v off already. */
        const bool alive = live(f, v);
        const uint32_t e = !alive || f->level[v] == 0 ? TROC__NONE : advance(f, r, v, reverse);
        if (e != TROC__NONE) {
            f->path[depth++] = e;
            v = f->admissible.entries[e].head;
            continue;
        }
        if (alive) relabel(f, r, v, reverse);
        if (depth > 0) v = path_end(f, s, --depth);
    }
}

static void route_from(troc__flow *f, troc__residual *r, uint32_t s) {
    if (f->reverse) route_from_directed(f, r, s, true);
    else route_from_directed(f, r, s, false);
}

void troc__maxflow(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    f->reverse = false;
    bool more = global_relabel(f, r, lo, hi);
    while (more) {
        for (uint32_t s = lo; s < hi && f->relabel_work <= f->relabel_budget; s++) {
            if (supply(r, s, f->reverse) > 0 && live(f, s)) route_from(f, r, s);
        }
        /* A source stops when its supply is gone or it is cut off (a label
         * is cut off only when no path from it remains), or when the round's
         * budget is spent: only then can another round route more, and the
         * other direction takes over. */
        more = f->relabel_work > f->relabel_budget;
        if (more) {
            f->reverse = !f->reverse;
            more = global_relabel(f, r, lo, hi);
        }
    }
}
