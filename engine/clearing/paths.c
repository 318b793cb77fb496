/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Step 1 of a primal-dual phase: the distance D, in reduced costs, from the
 * nodes with excess to the nearest deficit, and the potential update that
 * makes every shortest path admissible.
 *
 * Two Dijkstra searches run together: forward from the excesses along
 * entries with room, backward from the deficits along entries whose partner
 * has room, the one whose frontier is nearer taking the next step.  Each
 * bounds D from above whenever it reaches a node of the other side, or a
 * node the other search has reached (its distance plus the other's is the
 * length of a path).  A search whose frontier is no closer than the best
 * bound has settled every node closer than D, and D is that bound: only
 * the nodes it settled move,
 *   forward:  potential -= D - distance (distance from the excesses),
 *   backward: potential += D - distance (distance to the deficits).
 * Either keeps every reduced cost >= 0 and zeroes them along shortest paths
 * (the textbook update raises every potential by min(distance, D); the
 * forms above differ from it by a constant, which changes no reduced cost).
 *
 * After a maximum flow the graph falls into the part the excesses reach at
 * no cost and the part that reaches the deficits at no cost, and D is
 * usually 1: one side settles its part, the other a few nodes to close the
 * gap, where a single search would go on through the whole shell at
 * distance D before meeting the other side.  Which part is smaller changes
 * from phase to phase; the last global relabel of the maximum flow has just
 * counted the part that reaches the deficits, so when one part is clearly
 * the smaller its search goes first on ties, and otherwise the searches
 * take turns.
 *
 * Right after a maximum flow that moved something, D is usually 1 (in every
 * phase of the benchmark): then the side that finishes first settles
 * exactly the closure of its ends, the nodes its excesses reach (or that
 * reach its deficits) along entries of reduced cost 0 with room, and each
 * moves by 1.  The phase's admissible copy holds every entry of reduced
 * cost 0, a third of the residual graph's on the benchmark, and the
 * maximum flow kept the rooms up to date, so troc__paths_close() grows both
 * closures over it, a node at a time in the searches' order, with no
 * distances and no queues, and moves the first one complete.  That is
 * right whatever D is: an entry with room that leaves a closure has
 * reduced cost 1 or more, and 0 or more once the closure moved by 1.  When
 * D was more than 1, no new path is admissible yet, the maximum flow moves
 * nothing, and flow.c searches instead.
 *
 * Each node keeps the entry it was reached by, and the searches the node
 * through which the shortest path they found runs: when only a few nodes
 * hold an excess or a deficit, that path alone is followed
 * (troc__paths_augment(), flow.c) rather than a phase's maximum flow.
 *
 * Reduced costs are small non-negative integers, so each search runs on
 * Dial's buckets (a doubly linked list of nodes per distance).  Distances
 * past TROC__BUCKETS (a contracted chain of that many firms, or a network
 * whose cycles are that long) go to a binary heap once the buckets are
 * exhausted: the bound costs speed, never correctness.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/large.h"
#include "clearing_int.h"

#define DISTANCE_INFINITE INT64_MAX

/* Entries of a node ahead of the one relaxed whose head's potential and
 * distance are fetched early. */
#define PREFETCH_ENTRIES 4u

/* A side may settle this many times the other's nodes, plus the slack,
 * before the other takes a step whatever the frontiers. */
#define IMBALANCE_FACTOR 16u
#define IMBALANCE_SLACK 1024u


void troc__search_place(troc__search *s, char *block, size_t *used, uint32_t node_count, bool forward) {
    assert(s != NULL && used != NULL);
    const size_t size = (size_t)node_count + 1;
    *s = (troc__search){.forward = forward};
    s->distance = troc_large_carve(block, used, size * sizeof *s->distance);
    s->bucket_head = troc_large_carve(block, used, TROC__BUCKETS * sizeof *s->bucket_head);
    s->bucket_tail = troc_large_carve(block, used, TROC__BUCKETS * sizeof *s->bucket_tail);
    s->bucket_next = troc_large_carve(block, used, size * sizeof *s->bucket_next);
    s->bucket_previous = troc_large_carve(block, used, size * sizeof *s->bucket_previous);
    s->heap = troc_large_carve(block, used, size * sizeof *s->heap);
    s->heap_position = troc_large_carve(block, used, size * sizeof *s->heap_position);
    s->settled = troc_large_carve(block, used, size * sizeof *s->settled);
    s->stamp = troc_large_carve(block, used, size * sizeof *s->stamp);
    s->parent = troc_large_carve(block, used, size * sizeof *s->parent);
    if (block != NULL) memset(s->stamp, 0, size * sizeof *s->stamp);
}

/* Queues: buckets, then a heap ------------------------------------------ */

static void bucket_remove(troc__search *s, uint32_t v) {
    const uint32_t next = s->bucket_next[v], previous = s->bucket_previous[v];
    if (previous == TROC__NONE) s->bucket_head[s->distance[v]] = next;
    else s->bucket_next[previous] = next;
    if (next == TROC__NONE) s->bucket_tail[s->distance[v]] = previous;
    else s->bucket_previous[next] = previous;
}

/* At the end of its bucket: a bucket is scanned in the order its nodes
 * joined, breadth-first within a distance, so that a path along the
 * parents (troc__paths_augment()) takes few entries.  Taken last in,
 * first out, the parents wound through hundreds of nodes on the
 * benchmark, and each such path moved little. */
static void bucket_insert(troc__search *s, uint32_t v) {
    const uint32_t b = (uint32_t)s->distance[v];
    s->bucket_next[v] = TROC__NONE;
    s->bucket_previous[v] = s->bucket_tail[b];
    if (s->bucket_tail[b] != TROC__NONE) s->bucket_next[s->bucket_tail[b]] = v;
    else s->bucket_head[b] = v;
    s->bucket_tail[b] = v;
}

static void heap_place(troc__search *s, uint32_t i, uint32_t v) {
    s->heap[i] = v;
    s->heap_position[v] = i;
}

static void heap_lower(troc__search *s, uint32_t v) {
    if (s->heap_position[v] == TROC__NONE) s->heap_position[v] = s->heap_size++;
    uint32_t i = s->heap_position[v];
    while (i > 0 && s->distance[s->heap[(i - 1) / 2]] > s->distance[v]) {
        heap_place(s, i, s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_place(s, i, v);
}

static uint32_t heap_pop(troc__search *s) {
    assert(s->heap_size > 0);
    const uint32_t top = s->heap[0], last = s->heap[--s->heap_size];
    s->heap_position[top] = TROC__NONE;
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= s->heap_size) break;
        if (child + 1 < s->heap_size && s->distance[s->heap[child + 1]] < s->distance[s->heap[child]]) child++;
        if (s->distance[s->heap[child]] >= s->distance[last]) break;
        heap_place(s, i, s->heap[child]);
        i = child;
    }
    if (s->heap_size > 0) heap_place(s, i, last);
    return top;
}

/* Lowers the distance of v to d, moving it between queues. */
static void lower(troc__search *s, uint32_t v, int64_t d) {
    const bool past_buckets = s->bucket >= TROC__BUCKETS;
    if (!past_buckets && s->distance[v] < (int64_t)TROC__BUCKETS) bucket_remove(s, v);
    s->distance[v] = d;
    if (past_buckets) heap_lower(s, v);
    else if (d < (int64_t)TROC__BUCKETS) bucket_insert(s, v);
}

/* Distance of the next node to settle, DISTANCE_INFINITE when the queues
 * are empty; moves the bucket cursor (and once the buckets are exhausted,
 * what lies past them into the heap) but takes nothing out. */
static int64_t queue_min(troc__search *s, uint32_t lo, uint32_t hi, uint32_t phase) {
    while (s->bucket < TROC__BUCKETS) {
        if (s->bucket_head[s->bucket] != TROC__NONE) return s->bucket;
        if (++s->bucket < TROC__BUCKETS) continue;
        for (uint32_t u = lo; u < hi; u++) { /* spill what is past the buckets */
            if (s->distance[u] != DISTANCE_INFINITE && s->stamp[u] != phase) heap_lower(s, u);
        }
    }
    return s->heap_size > 0 ? s->distance[s->heap[0]] : DISTANCE_INFINITE;
}

/* Takes out the node queue_min() saw. */
static uint32_t queue_pop(troc__search *s) {
    if (s->bucket < TROC__BUCKETS) {
        const uint32_t v = s->bucket_head[s->bucket];
        assert(v != TROC__NONE);
        bucket_remove(s, v);
        return v;
    }
    return heap_pop(s);
}

/* The searches ------------------------------------------------------------- */

static void search_start(troc__search *s, const troc__residual *r, uint32_t lo, uint32_t hi) {
    s->bucket = 0;
    s->heap_size = 0;
    s->settled_count = 0;
    s->start_count = 0;
    for (uint32_t b = 0; b < TROC__BUCKETS; b++) s->bucket_head[b] = s->bucket_tail[b] = TROC__NONE;
    for (uint32_t v = lo; v < hi; v++) {
        s->distance[v] = DISTANCE_INFINITE;
        s->heap_position[v] = TROC__NONE;
        s->parent[v] = TROC__NONE;
        if (s->forward ? r->excess[v] > 0 : r->excess[v] < 0) {
            lower(s, v, 0);
            s->start_count++;
        }
    }
}

/* The least length of a path found so far, and a node it runs through. */
typedef struct bound {
    int64_t length; /* DISTANCE_INFINITE until a path is found */
    uint32_t meet;
} bound;

static void bound_lower(bound *best, int64_t length, uint32_t meet) {
    best->length = length;
    best->meet = meet;
}

/* Whether v is where search s wants to arrive: a deficit going forward, an
 * excess going backward. */
static bool is_target(const troc__search *s, const troc__residual *r, uint32_t v) {
    return s->forward ? r->excess[v] < 0 : r->excess[v] > 0;
}

/* Relaxes the entries that leave u (forward) or, through their partners,
 * enter it (backward).  A path through a node the other search has
 * reached (its tentative distance is the length of a path), or to a
 * target, bounds D from above: *best keeps the least bound. */
static void relax_from(troc__search *s, const troc__search *other, const troc__residual *r, uint32_t u,
                       bound *best) {
    const int64_t du = s->distance[u];
    const uint32_t end = r->first[u + 1];
    for (uint32_t e = r->first[u]; e < end; e++) {
        if (e + PREFETCH_ENTRIES < end) { /* the heads lie anywhere */
            const uint32_t ahead = r->entries[e + PREFETCH_ENTRIES].head;
            __builtin_prefetch(&r->potential[ahead]);
            __builtin_prefetch(&s->distance[ahead]);
        }
        const troc__residual_entry entry = r->entries[e];
        const int64_t cost = troc__reduced_cost(r, u, entry);
        const int64_t d = du + (s->forward ? cost : -cost);
        const uint32_t w = entry.head;
        if (d >= s->distance[w] || d >= best->length) continue;
        if (!(s->forward ? troc__entry_has_room(r, entry) : troc__entry_partner_has_room(r, entry))) continue;
        assert(d >= du); /* reduced costs of entries with room are >= 0 */
        lower(s, w, d);
        s->parent[w] = e;
        if (is_target(s, r, w)) bound_lower(best, d, w);
        else if (other->distance[w] != DISTANCE_INFINITE && d + other->distance[w] < best->length) {
            bound_lower(best, d + other->distance[w], w);
        }
    }
}

/* Settles the next node of s. */
static void search_step(troc__search *s, const troc__search *other, const troc__residual *r, uint32_t phase,
                        bound *best) {
    const uint32_t u = queue_pop(s);
    /* The next node of the bucket is settled soon, and its entries lie
     * anywhere in memory: they are fetched early. */
    if (s->bucket < TROC__BUCKETS && s->bucket_head[s->bucket] != TROC__NONE) {
        __builtin_prefetch(&r->entries[r->first[s->bucket_head[s->bucket]]]);
    }
    if (is_target(s, r, u)) {
        if (s->distance[u] < best->length) bound_lower(best, s->distance[u], u);
        return; /* a target is never settled: nothing lies beyond it */
    }
    s->stamp[u] = phase;
    s->settled[s->settled_count++] = u;
    relax_from(s, other, r, u, best);
}

/* Which side goes first when both frontiers are as near: the one the last
 * global relabel showed clearly smaller (1: forward, -1: backward), else 0
 * (the one that has done less). */
static int side_preference(const troc__flow *f, uint32_t lo, uint32_t hi) {
    const uint64_t count = hi - lo, deficit_side = f->deficit_side;
    return 5 * deficit_side < 2 * count ? -1 : 5 * deficit_side > 3 * count ? 1 : 0;
}

/* Whether the forward side takes the next step: the nearer one (on a tie,
 * the preferred one, else the one that has done less), unless it has done
 * much more than the other: a side that went past its own part may meet
 * the other side's long before that side is done with its part. */
static bool forward_steps(bool forward_nearer, bool tie, int preference, uint32_t forward_done,
                          uint32_t backward_done) {
    bool go_forward = forward_nearer;
    if (tie) go_forward = preference != 0 ? preference > 0 : forward_done <= backward_done;
    const uint32_t ahead = go_forward ? forward_done : backward_done, behind = go_forward ? backward_done : forward_done;
    if (ahead > IMBALANCE_FACTOR * behind + IMBALANCE_SLACK) go_forward = !go_forward;
    return go_forward;
}

void troc__paths_update(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    const uint32_t phase = ++f->phase_count;
    troc__search *forward = &f->searches[0], *backward = &f->searches[1], *done = NULL;
    search_start(forward, r, lo, hi);
    search_start(backward, r, lo, hi);
    bound best = {.length = DISTANCE_INFINITE, .meet = TROC__NONE}; /* its length is D once a side is done */
    const int preference = side_preference(f, lo, hi);
    for (;;) {
        const int64_t top_forward = queue_min(forward, lo, hi, phase), top_backward = queue_min(backward, lo, hi, phase);
        if (top_forward >= best.length || top_backward >= best.length) {
            done = top_forward >= best.length ? forward : backward;
            break;
        }
        if (forward_steps(top_forward < top_backward, top_forward == top_backward, preference, forward->settled_count,
                          backward->settled_count)) {
            search_step(forward, backward, r, phase, &best);
        } else {
            search_step(backward, forward, r, phase, &best);
        }
    }
    assert(best.length != DISTANCE_INFINITE); /* a balanced component always has the other side */
    /* The side that is done has settled every node closer than D (and
     * perhaps a few at D, found while D itself was found): they move. */
    uint32_t changed = 0;
    for (uint32_t i = 0; i < done->settled_count; i++) {
        const uint32_t v = done->settled[i];
        assert(done->distance[v] <= best.length);
        r->potential[v] += done->forward ? done->distance[v] - best.length : best.length - done->distance[v];
        changed += done->distance[v] < best.length;
    }
    f->changed_count = changed;
    f->meet = best.meet;
}

bool troc__paths_first(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    if (r->free_arc_count > 0) return false;
    /* Every entry with room leads back along a full obligation arc, at
     * reduced cost 1 (L for a chain of L, which setting the excesses to -1
     * keeps >= 0): the excesses are the nodes at distance 0, and D is 1 as
     * soon as one of them is owed by a deficit through an obligation arc. */
    bool adjacent = false;
    for (uint32_t v = lo; v < hi && !adjacent; v++) {
        if (r->excess[v] <= 0) continue;
        for (uint32_t e = r->first[v]; e < r->first[v + 1] && !adjacent; e++) {
            adjacent = r->excess[r->entries[e].head] < 0 && !(r->entries[e].link & TROC__LINK_CHAIN);
        }
    }
    if (!adjacent) return false;
    f->phase_count++;
    f->changed_count = 0;
    f->meet = TROC__NONE;
    for (uint32_t v = lo; v < hi; v++) {
        assert(r->potential[v] == 0);
        if (r->excess[v] <= 0) continue;
        r->potential[v] = -1;
        f->changed_count++;
    }
    return true;
}

/* The closure of a side, when D is 1 ------------------------------------- */

/* Visits the next node of s's closure: its admissible entries with room
 * (forward; backward, those whose partner has room) lead to the nodes it
 * adds. */
static void close_step(troc__search *s, const troc__admissible *a, const troc__residual *r, uint32_t *visited,
                       uint32_t phase) {
    const uint32_t u = s->settled[(*visited)++];
    for (uint32_t e = a->first[u]; e < a->first[u + 1]; e++) {
        const troc__residual_entry entry = a->entries[e];
        const uint32_t w = entry.head;
        if (s->stamp[w] == phase) continue;
        if (!(s->forward ? troc__entry_has_room(r, entry) : troc__entry_partner_has_room(r, entry))) continue;
        assert(!is_target(s, r, w)); /* the maximum flow before left no path */
        s->stamp[w] = phase;
        s->settled[s->settled_count++] = w;
    }
}

bool troc__paths_close(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    troc__search *forward = &f->searches[0], *backward = &f->searches[1];
    troc__search *sides[2] = {forward, backward};
    forward->settled_count = backward->settled_count = 0;
    for (uint32_t v = lo; v < hi; v++) {
        troc__search *s = r->excess[v] > 0 ? forward : r->excess[v] < 0 ? backward : NULL;
        if (s != NULL) s->settled[s->settled_count++] = v;
    }
    /* A side of a few nodes follows its shortest paths alone (flow.c),
     * which the searches find. */
    if (forward->settled_count <= TROC__PATH_ENDS_MAX || backward->settled_count <= TROC__PATH_ENDS_MAX) return false;
    const uint32_t phase = f->phase_count + 1;
    for (int i = 0; i < 2; i++) {
        troc__search *s = sides[i];
        for (uint32_t k = 0; k < s->settled_count; k++) s->stamp[s->settled[k]] = phase;
        s->start_count = s->settled_count;
    }
    /* Both closures grow a node at a time, in the order the searches would
     * settle them at distance 0, until one is complete. */
    const int preference = side_preference(f, lo, hi);
    uint32_t visited[2] = {0, 0};
    while (visited[0] < forward->settled_count && visited[1] < backward->settled_count) {
        const int side = forward_steps(false, true, preference, visited[0], visited[1]) ? 0 : 1;
        close_step(sides[side], &f->admissible, r, &visited[side], phase);
    }
    troc__search *done = visited[0] == forward->settled_count ? forward : backward;
    f->phase_count = phase;
    for (uint32_t i = 0; i < done->settled_count; i++) r->potential[done->settled[i]] += done->forward ? -1 : 1;
    f->changed_count = done->settled_count;
    f->meet = TROC__NONE;
    return true;
}

/* The path the searches found ------------------------------------------- */

/* Steps of a path troc__paths_augment() follows at most: longer ones are
 * left to the maximum flow. */
#define PATH_STEPS_MAX 64u

/* One step of a path: flow moves out of `from` along `entry`. */
typedef struct path_step {
    uint32_t from;
    troc__residual_entry entry;
} path_step;

/* The node whose list holds entry e. */
static uint32_t entry_owner(const troc__residual *r, uint32_t lo, uint32_t hi, uint32_t e) {
    assert(r->first[lo] <= e && e < r->first[hi]);
    uint32_t low = lo, high = hi; /* first[low] <= e < first[high] */
    while (high - low > 1) {
        const uint32_t middle = low + (high - low) / 2;
        if (r->first[middle] <= e) low = middle;
        else high = middle;
    }
    return low;
}

/* Appends to steps[*count] the steps of the path along s's parents
 * between v and the node s started from (an excess forward, a deficit
 * backward), in no particular order: the pushes do not depend on it.
 * Returns that node, or TROC__NONE past PATH_STEPS_MAX steps. */
static uint32_t follow_parents(const troc__search *s, const troc__residual *r, uint32_t lo, uint32_t hi, uint32_t v,
                               path_step *steps, uint32_t *count) {
    while (s->parent[v] != TROC__NONE) {
        if (*count == PATH_STEPS_MAX) return TROC__NONE;
        const uint32_t e = s->parent[v], owner = entry_owner(r, lo, hi, e);
        const troc__residual_entry entry = r->entries[e];
        assert(entry.head == v);
        /* Forward, v was reached along e from its owner; backward, along
         * e's partner, from v to the owner. */
        const troc__residual_entry partner = {.head = owner, .link = entry.link ^ TROC__LINK_TAIL};
        steps[(*count)++] = s->forward ? (path_step){.from = owner, .entry = entry}
                                       : (path_step){.from = v, .entry = partner};
        v = owner;
    }
    return v;
}

int64_t troc__paths_augment(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    if (f->meet == TROC__NONE) return 0;
    path_step steps[PATH_STEPS_MAX];
    uint32_t count = 0;
    const uint32_t source = follow_parents(&f->searches[0], r, lo, hi, f->meet, steps, &count);
    const uint32_t sink = source == TROC__NONE ? TROC__NONE
                                               : follow_parents(&f->searches[1], r, lo, hi, f->meet, steps, &count);
    if (sink == TROC__NONE || r->excess[source] <= 0 || r->excess[sink] >= 0) return 0;
    int64_t delta = r->excess[source] < -r->excess[sink] ? r->excess[source] : -r->excess[sink];
    for (uint32_t i = 0; i < count; i++) {
        /* The update made every shortest path admissible; a path through
         * a node twice (a cycle of cost 0 on it) is left to the maximum
         * flow rather than pushed along twice. */
        const path_step *step = &steps[i];
        if (!troc__entry_has_room(r, step->entry) || troc__reduced_cost(r, step->from, step->entry) != 0) return 0;
        for (uint32_t j = 0; j < i; j++) {
            if (steps[j].from == step->from) return 0;
        }
        const int64_t room = troc__entry_room(r, step->entry);
        if (room < delta) delta = room;
    }
    assert(delta > 0);
    for (uint32_t i = 0; i < count; i++) troc__residual_push(r, steps[i].entry, delta);
    r->excess[source] -= delta;
    r->excess[sink] += delta;
    return delta;
}
