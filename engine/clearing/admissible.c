/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admissible graph of a phase: the arcs of one component whose reduced
 * cost is 0, copied out of the residual graph.
 *
 * The maximum flow of a phase moves excess only along entries of reduced
 * cost 0, and scans them many times (augmenting paths, relabels, global
 * relabels).  Copying them once per phase into their own compact CSR keeps
 * those scans in a few megabytes instead of the whole residual graph, and
 * spares the residual graph any reordering: its entries never move.  An
 * arc is admissible when potential[head] = potential[tail] + cost (then
 * both its entries have reduced cost 0); the copy takes every such arc,
 * with or without room, since pushes give room to full entries.
 *
 * The copy holds entries only, the residual graph's own (their links name
 * the residual arcs): the maximum flow reads the rooms and room bits of
 * the residual graph and updates them in place, so nothing is copied back.
 * At each node its entries at the tail come first, in the order of the
 * arcs (which are numbered by tail, so those writes run straight through
 * memory), then its entries at the head.
 *
 * Building is one pass over the component's arcs, which lists the
 * admissible ones and counts their entries per node, then one pass over
 * that list.  The flow solver places the copy once, for the largest
 * component, in its block of working memory.
 */
#include <assert.h>
#include <stdlib.h>

#include "base/large.h"
#include "clearing_int.h"

void troc__admissible_place(troc__admissible *a, char *block, size_t *used, uint32_t node_count,
                            uint32_t arc_count) {
    assert(a != NULL && used != NULL);
    const size_t arcs = (size_t)arc_count + 1, nodes = (size_t)node_count + 1;
    *a = (troc__admissible){0};
    a->first = troc_large_carve(block, used, nodes * sizeof *a->first);
    a->out_count = troc_large_carve(block, used, nodes * sizeof *a->out_count);
    a->entries = troc_large_carve(block, used, 2 * arcs * sizeof *a->entries);
    a->arc = troc_large_carve(block, used, arcs * sizeof *a->arc);
}

/* Lists the admissible arcs of [lo, hi) (by tail) and counts the entries
 * of each node: first[v + 1] all of them, out_count[v] those at the tail. */
static void list_arcs(troc__admissible *a, const troc__residual *r, uint32_t lo, uint32_t hi) {
    const int64_t *potential = r->potential;
    uint32_t count = 0;
    for (uint32_t v = lo; v <= hi; v++) a->first[v] = 0;
    for (uint32_t tail = lo; tail < hi; tail++) {
        const int64_t p = potential[tail];
        const uint32_t before = count;
        for (uint32_t arc = r->arc_first[tail]; arc < r->arc_first[tail + 1]; arc++) {
            const uint32_t head = r->arc_head[arc];
            if (potential[head] != p + troc__arc_cost(r, arc)) continue;
            a->arc[count++] = arc;
            a->first[head + 1]++;
        }
        a->out_count[tail] = count - before;
        a->first[tail + 1] += count - before;
    }
    a->arc_count = count;
}

void troc__admissible_build(troc__admissible *a, const troc__residual *r, uint32_t lo, uint32_t hi,
                            uint32_t *next) {
    assert(a != NULL && r != NULL && next != NULL);
    assert(lo < hi && hi <= r->node_count);
    list_arcs(a, r, lo, hi);
    for (uint32_t v = lo; v < hi; v++) a->first[v + 1] += a->first[v];
    for (uint32_t v = lo; v < hi; v++) next[v] = a->first[v] + a->out_count[v];
    uint32_t tail = lo, at_tail = a->first[lo];
    for (uint32_t c = 0; c < a->arc_count; c++) {
        const uint32_t arc = a->arc[c];
        while (arc >= r->arc_first[tail + 1]) {
            tail++;
            at_tail = a->first[tail];
        }
        const uint32_t head = r->arc_head[arc], link = arc << TROC__LINK_ARC_SHIFT;
        a->entries[at_tail++] = (troc__residual_entry){.head = head, .link = link | TROC__LINK_TAIL};
        a->entries[next[head]++] = (troc__residual_entry){.head = tail, .link = link};
    }
    assert(a->first[hi] == 2 * a->arc_count);
}
