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
 * Work.  Every entry scanned (by an advance, a relabel, a global relabel or
 * an augmentation) counts: a race (race.c) keeps the flow with less work,
 * and a flow whose rival has finished with less than it has done already
 * stops, since it could only lose.  The count depends on the data alone,
 * never on timing.
 *
 * The loop ends when a round ends with every source stopped on its own
 * (its supply gone, or cut off: no path left), or when a global relabel
 * finds no source that reaches the other side.  Each round starts with
 * exact labels, so its first search augments: the loop always progresses.
 */
#include <assert.h>

#include "base/large.h"
#include "clearing_int.h"

/* Entries of relabel work an augmentation allows per entry of its path: a
 * round's relabels may scan what its global relabel scanned, plus this much
 * for every entry augmentations pushed through.  Rounds that keep moving
 * flow relabel on; rounds that mostly climb get exact labels soon. */
#define RELABEL_CREDIT 4u

/* Nodes of a breadth-first queue ahead of the one scanned whose entries
 * are fetched early. */
#define PREFETCH_NODES 8u

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

static void label_insert(troc__maxflow_state *m, uint32_t v) {
    const uint32_t label = m->level[v];
    m->label_previous[v] = TROC__NONE;
    m->label_next[v] = m->label_first[label];
    if (m->label_first[label] != TROC__NONE) m->label_previous[m->label_first[label]] = v;
    m->label_first[label] = v;
    if (m->label_top == TROC__NONE || label > m->label_top) m->label_top = label;
}

static void label_remove(troc__maxflow_state *m, uint32_t v) {
    const uint32_t label = m->level[v], next = m->label_next[v], previous = m->label_previous[v];
    if (previous == TROC__NONE) m->label_first[label] = next;
    else m->label_next[previous] = next;
    if (next != TROC__NONE) m->label_previous[next] = previous;
}

/* Exact labels from a breadth-first search backwards from the ends (the
 * deficits, or the excesses when reversed); TROC__NONE for nodes that reach
 * none.  Returns whether a source reaches one. */
DIRECTED bool global_relabel_directed(troc__maxflow_state *m, const troc__residual *r, uint32_t lo, uint32_t hi,
                                     bool reverse) {
    const troc__admissible *a = m->admissible;
    uint32_t tail = 0, head = 0;
    uint64_t scanned = 0;
    for (uint32_t v = lo; v < hi; v++) {
        m->current[v] = a->first[v];
        m->level[v] = TROC__NONE;
        m->label_first[v - lo] = TROC__NONE;
        if (supply(r, v, reverse) < 0) {
            m->level[v] = 0;
            m->queue[head++] = v;
        }
    }
    m->label_top = TROC__NONE;
    bool reached = false;
    while (tail < head) {
        /* The queue visits the lists in no order of memory: the lists of
         * nodes a few places on are fetched early, and where they start
         * further on still. */
        if (tail + 2 * PREFETCH_NODES < head) __builtin_prefetch(&a->first[m->queue[tail + 2 * PREFETCH_NODES]]);
        if (tail + PREFETCH_NODES < head) __builtin_prefetch(&a->entries[a->first[m->queue[tail + PREFETCH_NODES]]]);
        const uint32_t h = m->queue[tail++];
        label_insert(m, h);
        const uint32_t end = a->first[h + 1];
        scanned += end - a->first[h];
        for (uint32_t e = a->first[h]; e < end; e++) {
            const troc__residual_entry entry = a->entries[e];
            const uint32_t u = entry.head;
            if (m->level[u] != TROC__NONE || !step_back_has_room(r, entry, reverse)) continue;
            m->level[u] = m->level[h] + 1;
            m->queue[head++] = u;
            reached |= supply(r, u, reverse) > 0;
        }
    }
    assert(head <= hi - lo);
    m->deficit_side = reverse ? (hi - lo) - head : head;
    m->relabel_work = 0;
    m->relabel_budget = scanned + head;
    m->work += scanned + head;
    return reached;
}

static bool global_relabel(troc__maxflow_state *m, const troc__residual *r, uint32_t lo, uint32_t hi) {
    return m->reverse ? global_relabel_directed(m, r, lo, hi, true) : global_relabel_directed(m, r, lo, hi, false);
}

/* Label k holds no node: cuts off every node above it. */
static void cut_gap(troc__maxflow_state *m, uint32_t k) {
    for (uint32_t label = k + 1; m->label_top != TROC__NONE && label <= m->label_top; label++) {
        for (uint32_t v = m->label_first[label]; v != TROC__NONE; v = m->label_next[v]) m->level[v] = TROC__NONE;
        m->label_first[label] = TROC__NONE;
    }
    m->label_top = k == 0 ? TROC__NONE : k - 1;
}

/* New label of v: one more than its lowest neighbour through room, or cut
 * off (no such neighbour, or v left a gap behind). */
DIRECTED void relabel(troc__maxflow_state *m, const troc__residual *r, uint32_t v, bool reverse) {
    const troc__admissible *a = m->admissible;
    const uint32_t end = a->first[v + 1];
    uint32_t lowest = TROC__NONE, best = a->first[v];
    for (uint32_t e = a->first[v]; e < end; e++) {
        const troc__residual_entry entry = a->entries[e];
        const uint32_t level = m->level[entry.head];
        if (level < lowest && step_has_room(r, entry, reverse)) {
            lowest = level;
            best = e;
        }
    }
    m->relabel_work += end - a->first[v] + 1;
    m->work += end - a->first[v] + 1;
    const uint32_t old = m->level[v];
    assert(old != TROC__NONE && (lowest == TROC__NONE || lowest >= old));
    label_remove(m, v);
    m->level[v] = TROC__NONE;
    if (m->label_first[old] == TROC__NONE) {
        cut_gap(m, old);
        return;
    }
    if (lowest == TROC__NONE) return;
    m->level[v] = lowest + 1;
    label_insert(m, v);
    m->current[v] = best;
}

/* Next entry of v with room down one label, or TROC__NONE. */
DIRECTED uint32_t advance(troc__maxflow_state *m, const troc__residual *r, uint32_t v, bool reverse) {
    const troc__admissible *a = m->admissible;
    const uint32_t end = a->first[v + 1], want = m->level[v] - 1;
    const uint32_t start = m->current[v];
    for (uint32_t e = start; e < end; e++) {
        const troc__residual_entry entry = a->entries[e];
        if (m->level[entry.head] == want && step_has_room(r, entry, reverse)) {
            m->current[v] = e;
            m->work += e - start + 1;
            return e;
        }
    }
    m->work += end - start;
    return TROC__NONE;
}

/* The node the path of the given depth ends at. */
static uint32_t path_end(const troc__maxflow_state *m, uint32_t s, uint32_t depth) {
    return depth == 0 ? s : m->admissible->entries[m->path[depth - 1]].head;
}

/* Pushes the bottleneck along path[0..depth) from s to t (against it when
 * reversed); returns the depth to resume from (the first entry left
 * without room). */
DIRECTED uint32_t augment(troc__maxflow_state *m, troc__residual *r, uint32_t s, uint32_t t, uint32_t depth, bool reverse) {
    const troc__admissible *a = m->admissible;
    int64_t delta = supply(r, s, reverse) < -supply(r, t, reverse) ? supply(r, s, reverse) : -supply(r, t, reverse);
    for (uint32_t i = 0; i < depth; i++) {
        const troc__residual_entry e = flow_entry(a->entries[m->path[i]], reverse ? path_end(m, s, i) : 0, reverse);
        const int64_t room = troc__entry_room(r, e);
        if (room < delta) delta = room;
    }
    assert(delta > 0);
    uint32_t resume = depth;
    for (uint32_t i = 0; i < depth; i++) {
        const troc__residual_entry e = flow_entry(a->entries[m->path[i]], reverse ? path_end(m, s, i) : 0, reverse);
        troc__residual_push(r, e, delta);
        if (resume == depth && !troc__entry_has_room(r, e)) resume = i;
    }
    const int64_t moved = reverse ? -delta : delta;
    r->excess[s] -= moved;
    r->excess[t] += moved;
    m->moved += delta;
    m->work += (uint64_t)depth + 1;
    /* Work that moved flow earns the relabels room before the next global
     * relabel. */
    m->relabel_budget += RELABEL_CREDIT * ((uint64_t)depth + 1);
    return resume;
}

static bool live(const troc__maxflow_state *m, uint32_t v) {
    return m->level[v] != TROC__NONE;
}

/* Whether the rival has finished with less work than this flow has done
 * already (or as much, when it wins ties): this flow would lose the race. */
static inline bool beaten(const troc__maxflow_state *m) {
    if (m->rival_work == NULL) return false;
    const uint64_t rival = __atomic_load_n(m->rival_work, __ATOMIC_ACQUIRE);
    return rival < m->work || (m->rival_wins_ties && rival == m->work);
}

/* Routes what it can of the supply of s, until the relabel budget is
 * spent. */
DIRECTED void route_from_directed(troc__maxflow_state *m, troc__residual *r, uint32_t s, bool reverse) {
    uint32_t depth = 0, v = s;
    while (supply(r, s, reverse) > 0 && live(m, s) && m->relabel_work <= m->relabel_budget && !beaten(m)) {
        if (m->level[v] == 0 && supply(r, v, reverse) < 0) {
            depth = augment(m, r, s, v, depth, reverse);
            v = path_end(m, s, depth);
            continue;
        }
        /* A gap found deeper in the search may have cut v off already. */
        const bool alive = live(m, v);
        const uint32_t e = !alive || m->level[v] == 0 ? TROC__NONE : advance(m, r, v, reverse);
        if (e != TROC__NONE) {
            /* An augmentation reads and writes the rooms of its path, arcs
             * scattered over memory: each is fetched as the path grows. */
            const troc__residual_entry step = m->admissible->entries[e];
            __builtin_prefetch(troc__arc_address(r, step.link >> TROC__LINK_ARC_SHIFT), 1);
            m->path[depth++] = e;
            v = step.head;
            continue;
        }
        if (alive) relabel(m, r, v, reverse);
        if (depth > 0) v = path_end(m, s, --depth);
    }
}

static void route_from(troc__maxflow_state *m, troc__residual *r, uint32_t s) {
    if (m->reverse) route_from_directed(m, r, s, true);
    else route_from_directed(m, r, s, false);
}

bool troc__maxflow(troc__maxflow_state *m, troc__residual *r, uint32_t lo, uint32_t hi, bool reverse_first) {
    assert(m != NULL && r != NULL && m->admissible != NULL);
    assert(lo < hi && hi <= m->node_capacity);
    m->reverse = reverse_first;
    m->work = 0;
    m->moved = 0;
    bool more = global_relabel(m, r, lo, hi);
    while (more && !beaten(m)) {
        for (uint32_t s = lo; s < hi && m->relabel_work <= m->relabel_budget && !beaten(m); s++) {
            if (supply(r, s, m->reverse) > 0 && live(m, s)) route_from(m, r, s);
        }
        /* A source stops when its supply is gone or it is cut off (a label
         * is cut off only when no path from it remains), or when the round's
         * budget is spent: only then can another round route more, and the
         * other direction takes over. */
        more = m->relabel_work > m->relabel_budget;
        if (more && !beaten(m)) {
            m->reverse = !m->reverse;
            more = global_relabel(m, r, lo, hi);
        }
    }
    return !beaten(m);
}

void troc__maxflow_place(troc__maxflow_state *m, char *block, size_t *used, uint32_t node_count) {
    const size_t size = (size_t)node_count + 1;
    m->node_capacity = node_count;
    m->level = troc_large_carve(block, used, size * sizeof *m->level);
    m->current = troc_large_carve(block, used, size * sizeof *m->current);
    m->label_first = troc_large_carve(block, used, size * sizeof *m->label_first);
    m->label_next = troc_large_carve(block, used, size * sizeof *m->label_next);
    m->label_previous = troc_large_carve(block, used, size * sizeof *m->label_previous);
    m->queue = troc_large_carve(block, used, size * sizeof *m->queue);
    m->path = troc_large_carve(block, used, size * sizeof *m->path);
}
