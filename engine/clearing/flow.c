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
 *      (paths.c), then copies the entries of reduced cost 0 out
 *      (admissible.c);
 *   2. pushes as much excess as it can through entries of reduced cost 0
 *      (maxflow.c; in a large component from both sides at once, on two
 *      threads, keeping the cheaper: race.c).
 * After step 2 no deficit is reachable at reduced cost 0, so the next D is
 * at least 1; costs are integers and distances bounded, so the phases end,
 * and with no excess left the potentials certify optimality.
 *
 * After a maximum flow that moved something, D is usually 1 (in every
 * phase of the benchmark), and step 1 then needs no search: the nodes the
 * side a search would finish first settles are the closure of its ends in
 * the phase's admissible copy, which troc__paths_close() finds and moves
 * by 1.  Moving any such closure by 1 keeps the invariant; if D was more,
 * the maximum flow after it moves nothing, and the component goes back to
 * searches.
 *
 * When one side has only a few nodes left (the last phases), a phase moves
 * a few paths, and step 2 costs more than it moves: copying the
 * admissible entries and the maximum flow's first global relabel each read
 * the whole component.  Then the shortest path step 1 found is followed
 * on its own and step 1 runs again, which finds the next shortest path
 * (at distance 0 while the phase lasts): successive shortest paths.  Networks of
 * obligations need few phases: the potentials of an optimum span a range
 * of about the length of the longest useful cycle.
 *
 * All working memory is allocated once, for the largest component, before
 * any phase, in one block (troc_large_carve()); the phases allocate
 * nothing.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/large.h"
#include "clearing_int.h"

void troc__flow_destroy(troc__flow *f) {
    if (f == NULL) return;
    troc__race_destroy(f->race);
    free(f->block);
    free(f);
}

/* Places every array of f in block from *used (troc_large_carve()). */
static void place_arrays(troc__flow *f, char *block, size_t *used, uint32_t node_count, uint32_t arc_count_max) {
    troc__maxflow_place(&f->maxflow, block, used, node_count);
    troc__search_place(&f->searches[0], block, used, node_count, true);
    troc__search_place(&f->searches[1], block, used, node_count, false);
    troc__admissible_place(&f->admissible, block, used, node_count, arc_count_max);
}

int troc__flow_create(const troc__residual *residual, uint32_t node_count_max, uint32_t arc_count_max,
                      int64_t excess_total, troc__helper *helper, troc__progress *progress, troc__flow **flow_out) {
    assert(residual != NULL && flow_out != NULL && progress != NULL);
    assert(excess_total >= 0 && arc_count_max <= residual->arc_count);
    const uint32_t node_count = residual->node_count;
    troc__flow *f = calloc(1, sizeof *f);
    if (f == NULL) return -ENOMEM;
    *f = (troc__flow){.node_capacity = node_count, .excess_total = excess_total,
                      .excess_left = excess_total, .progress = progress};
    size_t bytes = 0;
    place_arrays(f, NULL, &bytes, node_count, arc_count_max);
    f->block = troc_large_malloc(bytes);
    if (f->block == NULL) {
        free(f);
        return -ENOMEM;
    }
    size_t used = 0;
    place_arrays(f, f->block, &used, node_count, arc_count_max);
    assert(used == bytes);
    f->maxflow.admissible = &f->admissible;
    if (helper != NULL && node_count_max >= TROC__RACE_NODES_MIN) {
        f->helper = helper;
        int error = troc__race_create(residual, &f->admissible, node_count, helper, &f->race);
        if (error != 0) {
            troc__flow_destroy(f);
            return error;
        }
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

static void report_moved(troc__flow *f, int64_t moved) {
    f->excess_left -= moved;
    if (f->excess_total > 0) {
        troc__progress_report(f->progress, "flow", 1.0 - (double)f->excess_left / (double)f->excess_total);
    }
}

/* Whether the path the last search found is followed on its own, with no
 * maximum flow: when one side has a few nodes left, the phase moves a few
 * paths, and the admissible copy and the global relabel a maximum flow
 * starts with cost more than searching again for each path.
 * `searched` counts the nodes the searches settled since the last maximum
 * flow: past the component's size, the maximum flow is cheaper again. */
static bool path_alone(const troc__flow *f, uint64_t searched, uint32_t lo, uint32_t hi) {
    const uint32_t sources = f->searches[0].start_count, sinks = f->searches[1].start_count;
    return f->meet != TROC__NONE && (sources <= TROC__PATH_ENDS_MAX || sinks <= TROC__PATH_ENDS_MAX) && searched <= hi - lo;
}

void troc__flow_component(troc__flow *f, troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(f != NULL && r != NULL);
    assert(lo < hi && hi <= f->node_capacity);
    f->deficit_side = (hi - lo) / 2; /* no idea yet which side is smaller: race */
    const bool large = f->race != NULL && hi - lo >= TROC__RACE_NODES_MIN;
    if (large) troc__race_begin(f->race, r, lo, hi);
    bool first = true, race_behind = false, closable = false, closures_pay = true;
    uint64_t searched = 0;
    while (has_excess(r, lo, hi)) {
        bool closed = false;
        if (!first || !troc__paths_first(f, r, lo, hi)) {
            closed = closable && closures_pay && troc__paths_close(f, r, lo, hi);
            if (!closed) troc__paths_update(f, r, lo, hi);
            searched += f->searches[0].settled_count + f->searches[1].settled_count;
        }
        closable = false;
        if (path_alone(f, searched, lo, hi)) {
            /* The helper may be copying the rooms (the race's copies, or
             * its last sync): they change only once it is done. */
            if (large) troc__helper_wait(f->helper);
            const int64_t moved = troc__paths_augment(f, r, lo, hi);
            if (moved > 0) {
                race_behind = large;
                report_moved(f, moved);
                continue;
            }
        }
        searched = 0;
        if (race_behind) troc__race_changed(f->race, r);
        race_behind = false;
        /* Half the admissible copy on the helper, but in a first phase,
         * while the helper makes the race's copies. */
        troc__admissible_build(&f->admissible, r, lo, hi, large && !first ? f->helper : NULL);
        first = false;
        const troc__maxflow_state *kept = &f->maxflow;
        if (large) kept = troc__race_run(f->race, &f->maxflow, r, lo, hi);
        else troc__maxflow(&f->maxflow, r, lo, hi, false);
        f->deficit_side = kept->deficit_side;
        report_moved(f, kept->moved);
        /* A closure that moved nothing shows a D above 1 (chains): the
         * searches find it, and the rest of the component keeps to them. */
        if (closed && kept->moved == 0) closures_pay = false;
        closable = kept->moved > 0;
    }
    if (race_behind) troc__race_changed(f->race, r);
    if (large) troc__race_finish(f->race, r);
}
