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
 * At each node its entries keep the residual graph's order: at the tail
 * first, in the order of the arcs, then at the head.
 *
 * Building is one pass over the component's entries, node by node, that
 * keeps those of reduced cost 0: it reads and writes straight through
 * memory (a pass over the arcs that placed each arc's two entries wrote
 * the head's all over the copy, and took twice as long).  The flow solver
 * places the copy once, for the largest component, in its block of
 * working memory.
 */
#include <assert.h>

#include "base/large.h"
#include "clearing_int.h"

void troc__admissible_place(troc__admissible *a, char *block, size_t *used, uint32_t node_count,
                            uint32_t arc_count) {
    assert(a != NULL && used != NULL);
    const size_t arcs = (size_t)arc_count + 1, nodes = (size_t)node_count + 1;
    *a = (troc__admissible){0};
    a->first = troc_large_carve(block, used, nodes * sizeof *a->first);
    a->entries = troc_large_carve(block, used, 2 * arcs * sizeof *a->entries);
}

void troc__admissible_build(troc__admissible *a, const troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(a != NULL && r != NULL);
    assert(lo < hi && hi <= r->node_count);
    const int64_t *potential = r->potential;
    uint32_t count = 0;
    for (uint32_t v = lo; v < hi; v++) {
        a->first[v] = count;
        const int64_t p = potential[v];
        for (uint32_t e = r->first[v]; e < r->first[v + 1]; e++) {
            /* Written whatever it is and kept if admissible: no branch to
             * mispredict on one entry in four. */
            const troc__residual_entry entry = r->entries[e];
            a->entries[count] = entry;
            count += troc__entry_cost(r, entry) + p == potential[entry.head];
        }
    }
    a->first[hi] = count;
    assert(count % 2 == 0);
    a->arc_count = count / 2;
}
