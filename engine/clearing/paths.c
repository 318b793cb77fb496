/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Step 1 of a primal-dual phase: the distance D, in reduced costs, from the
 * nodes with excess to the nearest deficit, and the potential update that
 * makes every shortest path admissible.
 *
 * Two Dijkstra searches run in turns, one node at a time: forward from the
 * excesses along entries with room, backward from the deficits along
 * entries whose partner has room.  The first to reach the other side has
 * found D, and only the nodes it settled closer than D move:
 *   forward:  potential -= D - distance (distance from the excesses),
 *   backward: potential += D - distance (distance to the deficits).
 * Either keeps every reduced cost >= 0 and zeroes them along shortest paths
 * (the textbook update raises every potential by min(distance, D); the
 * forms above differ from it by a constant, which changes no reduced cost).
 * After a maximum flow the graph falls into the part the excesses reach and
 * the part that reaches the deficits; the smaller changes from phase to
 * phase, and the race settles about twice the smaller instead of the
 * larger.  The last global relabel of the maximum flow has just counted
 * the part that reaches the deficits, so when one part is clearly the
 * smaller only its search runs; the race decides the close cases.
 *
 * Reduced costs are small non-negative integers, so each search runs on
 * Dial's buckets (a doubly linked list of nodes per distance).  Distances
 * past TROC__BUCKETS, which would take a very unusual network, go to a
 * binary heap once the buckets are exhausted: the bound costs speed, never
 * correctness.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "clearing_int.h"

#define DISTANCE_INFINITE INT64_MAX


int troc__search_create(troc__search *s, uint32_t node_count, bool forward) {
    assert(s != NULL);
    const size_t size = (size_t)node_count + 1;
    *s = (troc__search){.forward = forward};
    s->distance = malloc(size * sizeof *s->distance);
    s->bucket_head = malloc(TROC__BUCKETS * sizeof *s->bucket_head);
    s->bucket_next = malloc(size * sizeof *s->bucket_next);
    s->bucket_previous = malloc(size * sizeof *s->bucket_previous);
    s->heap = malloc(size * sizeof *s->heap);
    s->heap_position = malloc(size * sizeof *s->heap_position);
    s->settled = malloc(size * sizeof *s->settled);
    s->stamp = calloc(size, sizeof *s->stamp);
    if (s->distance == NULL || s->bucket_head == NULL || s->bucket_next == NULL || s->bucket_previous == NULL ||
        s->heap == NULL || s->heap_position == NULL || s->settled == NULL || s->stamp == NULL) {
        troc__search_free(s);
        return -ENOMEM;
    }
    return 0;
}

void troc__search_free(troc__search *s) {
    assert(s != NULL);
    free(s->distance);
    free(s->bucket_head);
    free(s->bucket_next);
    free(s->bucket_previous);
    free(s->heap);
    free(s->heap_position);
    free(s->settled);
    free(s->stamp);
    *s = (troc__search){0};
}

/* Queues: buckets, then a heap ------------------------------------------ */

static void bucket_remove(troc__search *s, uint32_t v) {
    const uint32_t next = s->bucket_next[v], previous = s->bucket_previous[v];
    if (previous == TROC__NONE) s->bucket_head[s->distance[v]] = next;
    else s->bucket_next[previous] = next;
    if (next != TROC__NONE) s->bucket_previous[next] = previous;
}

static void bucket_insert(troc__search *s, uint32_t v) {
    const uint32_t b = (uint32_t)s->distance[v];
    s->bucket_previous[v] = TROC__NONE;
    s->bucket_next[v] = s->bucket_head[b];
    if (s->bucket_head[b] != TROC__NONE) s->bucket_previous[s->bucket_head[b]] = v;
    s->bucket_head[b] = v;
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

/* Next node to settle, or TROC__NONE when the queues are empty. */
static uint32_t next_node(troc__search *s, uint32_t lo, uint32_t hi, uint32_t phase) {
    while (s->bucket < TROC__BUCKETS) {
        const uint32_t v = s->bucket_head[s->bucket];
        if (v != TROC__NONE) {
            bucket_remove(s, v);
            return v;
        }
        if (++s->bucket < TROC__BUCKETS) continue;
        for (uint32_t u = lo; u < hi; u++) { /* spill what is past the buckets */
            if (s->distance[u] != DISTANCE_INFINITE && s->stamp[u] != phase) heap_lower(s, u);
        }
    }
    return s->heap_size > 0 ? heap_pop(s) : TROC__NONE;
}

/* The search --------------------------------------------------------------- */

static void search_start(troc__search *s, const troc__residual *r, uint32_t lo, uint32_t hi) {
    s->bucket = 0;
    s->heap_size = 0;
    s->settled_count = 0;
    for (uint32_t b = 0; b < TROC__BUCKETS; b++) s->bucket_head[b] = TROC__NONE;
    for (uint32_t v = lo; v < hi; v++) {
        s->distance[v] = DISTANCE_INFINITE;
        s->heap_position[v] = TROC__NONE;
        if (s->forward ? r->excess[v] > 0 : r->excess[v] < 0) lower(s, v, 0);
    }
}

/* Relaxes the entries that leave u (forward) or, through their partners,
 * enter it (backward). */
static void relax_from(troc__search *s, const troc__residual *r, uint32_t u) {
    const int64_t du = s->distance[u];
    const uint32_t end = r->first[u + 1];
    for (uint32_t e = r->first[u]; e < end; e++) {
        const troc__residual_entry entry = r->entries[e];
        const int64_t cost = troc__reduced_cost(r, u, entry);
        const int64_t d = du + (s->forward ? cost : -cost);
        if (d >= s->distance[entry.head]) continue;
        if (!(s->forward ? troc__entry_has_room(r, entry) : troc__entry_partner_has_room(r, entry))) continue;
        assert(d >= du); /* reduced costs of entries with room are >= 0 */
        lower(s, entry.head, d);
    }
}

/* Settles one node.  Returns its distance when it lies on the other side
 * (a deficit for the forward search, an excess for the backward one), -1
 * otherwise. */
static int64_t search_step(troc__search *s, const troc__residual *r, uint32_t lo, uint32_t hi, uint32_t phase) {
    const uint32_t u = next_node(s, lo, hi, phase);
    assert(u != TROC__NONE); /* a balanced component always has the other side */
    if (s->forward ? r->excess[u] < 0 : r->excess[u] > 0) return s->distance[u];
    s->stamp[u] = phase;
    s->settled[s->settled_count++] = u;
    relax_from(s, r, u);
    return -1;
}

void troc__paths_update(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    const uint32_t phase = ++f->phase_count;
    /* Which searches run: 1 forward, 2 backward, 3 both in turns. */
    const uint64_t count = hi - lo, deficit_side = f->deficit_side;
    const uint32_t run = 5 * deficit_side < 2 * count ? 2u : 5 * deficit_side > 3 * count ? 1u : 3u;
    if (run & 1u) search_start(&f->searches[0], r, lo, hi);
    if (run & 2u) search_start(&f->searches[1], r, lo, hi);
    int64_t nearest = -1;
    uint32_t turn = run == 2u ? 1u : 0u;
    while (nearest < 0) {
        nearest = search_step(&f->searches[turn], r, lo, hi, phase);
        if (nearest < 0 && run == 3u) turn ^= 1u;
    }
    troc__search *s = &f->searches[turn]; /* the one that finished */
    /* Nodes at distance D keep their potential: only closer ones change. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < s->settled_count; i++) {
        const uint32_t v = s->settled[i];
        if (s->distance[v] < nearest) {
            r->potential[v] += s->forward ? s->distance[v] - nearest : nearest - s->distance[v];
            kept++;
        } else {
            s->stamp[v] = 0;
        }
    }
    f->changed_count = kept;
}
