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
#include <string.h>

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

/* A stretch of nodes copied by one thread: its entries are written from
 * `at` on, and first[v] counts from there. */
typedef struct part {
    troc__admissible *a;
    const troc__residual *r;
    uint32_t lo, hi; /* nodes */
    uint32_t at;     /* the part's first entry in the copy */
    uint32_t count;  /* entries kept */
} part;

static void copy_part(void *context) {
    part *p = context;
    troc__admissible *a = p->a;
    const troc__residual *r = p->r;
    const int64_t *potential = r->potential;
    troc__residual_entry *out = a->entries + p->at;
    uint32_t count = 0;
    for (uint32_t v = p->lo; v < p->hi; v++) {
        a->first[v] = p->at + count;
        const int64_t pv = potential[v];
        for (uint32_t e = r->first[v]; e < r->first[v + 1]; e++) {
            /* Written whatever it is and kept if admissible: no branch to
             * mispredict on one entry in four. */
            const troc__residual_entry entry = r->entries[e];
            out[count] = entry;
            count += troc__entry_cost(r, entry) + pv == potential[entry.head];
        }
    }
    p->count = count;
}

/* The node from which [lo, hi)'s second half of entries starts. */
static uint32_t middle_node(const troc__residual *r, uint32_t lo, uint32_t hi) {
    const uint32_t half = r->first[lo] + (r->first[hi] - r->first[lo]) / 2;
    uint32_t low = lo, high = hi;
    while (low < high) {
        const uint32_t mid = low + (high - low) / 2;
        if (r->first[mid] < half) low = mid + 1;
        else high = mid;
    }
    return low;
}

void troc__admissible_build(troc__admissible *a, const troc__residual *r, uint32_t lo, uint32_t hi,
                            troc__helper *helper) {
    assert(a != NULL && r != NULL);
    assert(lo < hi && hi <= r->node_count);
    part low = {.a = a, .r = r, .lo = lo, .hi = hi};
    if (helper == NULL) {
        copy_part(&low);
    } else {
        /* The second half of the entries on the helper, written where they
         * lie in the residual graph (past whatever the first half keeps),
         * then moved down behind the first half's. */
        const uint32_t middle = middle_node(r, lo, hi);
        part high = {.a = a, .r = r, .lo = middle, .hi = hi, .at = r->first[middle] - r->first[lo]};
        low.hi = middle;
        troc__helper_wait(helper);
        troc__helper_start(helper, copy_part, &high);
        copy_part(&low);
        troc__helper_wait(helper);
        memmove(a->entries + low.count, a->entries + high.at, (size_t)high.count * sizeof *a->entries);
        const uint32_t shift = high.at - low.count;
        for (uint32_t v = middle; v < hi; v++) a->first[v] -= shift;
        low.count += high.count;
    }
    a->first[hi] = low.count;
    assert(low.count % 2 == 0);
    a->arc_count = low.count / 2;
}
