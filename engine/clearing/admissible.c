/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admissible graph of a phase: the arcs of one component whose reduced
 * cost is 0, copied out of the residual graph.
 *
 * The maximum flow of a phase moves excess only along entries of reduced
 * cost 0, and scans them many times (augmenting paths, relabels, global
 * relabels).  Copying them once per phase into their own compact CSR, with
 * each entry's room inline and a pointer to its partner, keeps those scans
 * in a block of a few megabytes instead of the whole residual graph, and
 * spares the residual graph any reordering: its entries never move.  The
 * copy is a structure of arrays: scans read only the 4-byte heads, which
 * carry whether the entry and its partner have room; the rooms themselves
 * are read and written by augmentations alone.  An
 * arc is admissible when potential[head] = potential[tail] + cost (then
 * both its entries have reduced cost 0); the copy takes every such arc,
 * with or without room, since pushes give room to full entries.
 *
 * Building is one pass over the component's arcs, which lists the
 * admissible ones and counts their entries per node, then one pass over
 * that list; writing back is one pass over it.  The flow solver allocates
 * the copy once, for the largest component.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "clearing_int.h"

int troc__admissible_create(troc__admissible *a, uint32_t node_count, uint32_t arc_count) {
    assert(a != NULL);
    *a = (troc__admissible){0};
    const size_t arcs = (size_t)arc_count + 1;
    a->first = malloc(((size_t)node_count + 1) * sizeof *a->first);
    a->head = malloc(2 * arcs * sizeof *a->head);
    a->room = malloc(2 * arcs * sizeof *a->room);
    a->reverse = malloc(2 * arcs * sizeof *a->reverse);
    a->tail_entry = malloc(arcs * sizeof *a->tail_entry);
    a->arc = malloc(arcs * sizeof *a->arc);
    if (a->first == NULL || a->head == NULL || a->room == NULL || a->reverse == NULL || a->tail_entry == NULL ||
        a->arc == NULL) {
        troc__admissible_free(a);
        return -ENOMEM;
    }
    return 0;
}

void troc__admissible_free(troc__admissible *a) {
    assert(a != NULL);
    free(a->first);
    free(a->head);
    free(a->room);
    free(a->reverse);
    free(a->tail_entry);
    free(a->arc);
    *a = (troc__admissible){0};
}

/* Lists the admissible arcs of [lo, hi) in a->arc (by tail) and leaves in
 * first[v + 1] the number of entries of v. */
static void list_arcs(troc__admissible *a, const troc__residual *r, uint32_t lo, uint32_t hi) {
    const int64_t *potential = r->potential;
    uint32_t count = 0;
    for (uint32_t v = lo; v <= hi; v++) a->first[v] = 0;
    for (uint32_t tail = lo; tail < hi; tail++) {
        const int64_t p = potential[tail];
        for (uint32_t arc = r->arc_first[tail]; arc < r->arc_first[tail + 1]; arc++) {
            const uint32_t head = r->arc_head[arc];
            if (potential[head] != p + r->arc_cost[arc]) continue;
            a->arc[count++] = arc;
            a->first[tail + 1]++;
            a->first[head + 1]++;
        }
    }
    a->arc_count = count;
}

void troc__admissible_build(troc__admissible *a, const troc__residual *r, uint32_t lo, uint32_t hi,
                            uint32_t *next) {
    assert(a != NULL && r != NULL && next != NULL);
    assert(lo < hi && hi <= r->node_count);
    list_arcs(a, r, lo, hi);
    for (uint32_t v = lo; v < hi; v++) a->first[v + 1] += a->first[v];
    for (uint32_t v = lo; v < hi; v++) next[v] = a->first[v];
    uint32_t tail = lo;
    for (uint32_t c = 0; c < a->arc_count; c++) {
        const uint32_t arc = a->arc[c];
        while (arc >= r->arc_first[tail + 1]) tail++;
        const uint32_t head = r->arc_head[arc];
        const uint32_t at_tail = next[tail]++, at_head = next[head]++;
        const troc__residual_arc *ra = &r->arcs[arc];
        const int64_t room = ra->room, partner_room = ra->capacity - ra->room;
        const uint32_t room_bits = (room > 0 ? TROC__ENTRY_ROOM : 0u) | (partner_room > 0 ? TROC__ENTRY_PARTNER_ROOM : 0u);
        const uint32_t partner_bits = (partner_room > 0 ? TROC__ENTRY_ROOM : 0u) | (room > 0 ? TROC__ENTRY_PARTNER_ROOM : 0u);
        a->head[at_tail] = head | room_bits;
        a->room[at_tail] = room;
        a->reverse[at_tail] = at_head;
        a->head[at_head] = tail | partner_bits;
        a->room[at_head] = partner_room;
        a->reverse[at_head] = at_tail;
        a->tail_entry[c] = at_tail;
    }
    assert(a->first[hi] == 2 * a->arc_count);
}

void troc__admissible_write_back(const troc__admissible *a, troc__residual *r) {
    assert(a != NULL && r != NULL);
    for (uint32_t c = 0; c < a->arc_count; c++) {
        troc__residual_set_room(r, a->arc[c], a->room[a->tail_entry[c]]);
    }
}
