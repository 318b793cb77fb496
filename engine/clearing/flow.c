/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact min-cost flow on one component of the residual graph: the
 * primal-dual method.
 *
 * Invariant: every entry with room has reduced cost
 * cost + potential[tail] - potential[head] >= 0, so the pseudo-flow is
 * optimal for the excess it has routed so far.  Each phase
 *   1. finds the distance D of the nearest deficit from the excesses and
 *      moves potentials so that every shortest path has reduced cost 0
 *      (paths.c), then re-partitions the entries of the nodes whose
 *      potential moved (residual.c);
 *   2. pushes as much excess as it can through entries of reduced cost 0
 *      (maxflow.c).
 * After step 2 no deficit is reachable at reduced cost 0, so the next D is
 * at least 1; costs are integers and distances bounded, so the phases end,
 * and with no excess left the potentials certify optimality.  Networks of
 * obligations need few phases: the potentials of an optimum span a range
 * of about the length of the longest useful cycle.
 *
 * All working memory is allocated once, for the largest component, before
 * any phase; the phases allocate nothing.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/large.h"
#include "clearing_int.h"

void troc__flow_destroy(troc__flow *f) {
    if (f == NULL) return;
    troc__search_free(&f->searches[0]);
    troc__search_free(&f->searches[1]);
    troc__admissible_free(&f->admissible);
    free(f->level);
    free(f->current);
    free(f->label_first);
    free(f->label_next);
    free(f->label_previous);
    free(f->queue);
    free(f->path);
    free(f);
}

int troc__flow_create(const troc__residual *residual, uint32_t arc_count_max, int64_t excess_total,
                      troc__progress *progress, troc__flow **flow_out) {
    assert(residual != NULL && flow_out != NULL && progress != NULL);
    assert(excess_total >= 0 && arc_count_max <= residual->arc_count);
    const uint32_t node_count = residual->node_count;
    const size_t size = (size_t)node_count + 1;
    troc__flow *f = calloc(1, sizeof *f);
    if (f == NULL) return -ENOMEM;
    *f = (troc__flow){.node_capacity = node_count, .excess_total = excess_total,
                      .excess_left = excess_total, .progress = progress};
    f->level = troc_large_malloc(size * sizeof *f->level);
    f->current = troc_large_malloc(size * sizeof *f->current);
    f->label_first = troc_large_malloc(size * sizeof *f->label_first);
    f->label_next = troc_large_malloc(size * sizeof *f->label_next);
    f->label_previous = troc_large_malloc(size * sizeof *f->label_previous);
    f->queue = troc_large_malloc(size * sizeof *f->queue);
    f->path = troc_large_malloc(size * sizeof *f->path);
    if (troc__search_create(&f->searches[0], node_count, true) != 0 ||
        troc__search_create(&f->searches[1], node_count, false) != 0 ||
        troc__admissible_create(&f->admissible, node_count, arc_count_max) != 0 || f->level == NULL ||
        f->current == NULL || f->label_first == NULL || f->label_next == NULL || f->label_previous == NULL ||
        f->queue == NULL || f->path == NULL) {
        troc__flow_destroy(f);
        return -ENOMEM;
    }
    *flow_out = f;
    return 0;
}

static bool has_excess(const troc__residual *r, uint32_t lo, uint32_t hi) {
    for (uint32_t v = lo; v < hi; v++) {
        if (r->excess[v] > 0) return true;
    }
    return false;
}

void troc__flow_component(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    f->deficit_side = (hi - lo) / 2; /* no idea yet which side is smaller: race */
    bool first = true;
    while (has_excess(r, lo, hi)) {
        if (!first || !troc__paths_first(f, r, lo, hi)) troc__paths_update(f, r, lo, hi);
        first = false;
        troc__admissible_build(&f->admissible, r, lo, hi, f->current);
        troc__maxflow(f, r, lo, hi);
        if (f->excess_total > 0) {
            troc__progress_report(f->progress, "flow",
                                  1.0 - (double)f->excess_left / (double)f->excess_total);
        }
    }
}
