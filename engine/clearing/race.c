/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Both directions of a phase's maximum flow, raced.
 *
 * The maximum flow (maxflow.c) may start its search from the excesses or
 * from the deficits, and which is cheaper changes from phase to phase with
 * no sign beforehand: on the 1,000,000-obligation benchmark one start
 * scans from a third to four times what the other does, in either
 * direction (docs/benchmarks.md).  So a large component runs both: the
 * caller's thread from the excesses on the residual graph's own rooms and
 * excesses, a helper thread from the deficits on a copy of them.  The flow
 * that scanned fewer entries is kept, the one from the excesses on a tie,
 * and a flow stops as soon as its rival has finished with less work than it
 * has already done (it could only lose).  Each flow's course depends on
 * the data alone, so which one is kept does not depend on the threads or
 * their timing: with one thread the two run one after the other, the second
 * stopping at the first's work, and the result is the same.
 *
 * Keeping the flow from the deficits swaps the residual graph's room,
 * room-bit and excess arrays with the copies, with no copying.  The losing
 * side is then brought up to date from the winner by the helper thread,
 * while the caller's thread searches the next phase's shortest paths
 * (which read the rooms but do not change them).  Only the component
 * raced is copied, when its solve begins (on the helper, while the caller
 * starts the first phase, which changes no room either), and when it is
 * done the residual graph points at its own arrays again (which the last
 * sync made the winner's), so that the components solved after it, raced
 * or not, find every other component's rooms there.  Room bits are copied
 * arc by arc at the ends of a component's range: the words there hold
 * other components' bits too.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/large.h"
#include "clearing_int.h"

/* The arrays a maximum flow changes: rooms, room bits and excesses. */
typedef struct flow_arrays {
    void *arcs;
    uint64_t *room_bits;
    int64_t *excess;
} flow_arrays;

struct troc__race {
    char *block;               /* the copies and the helper's maximum flow state */
    troc__helper *helper;      /* runs the flow from the deficits, and the copying */
    flow_arrays own;           /* the residual graph's arrays as built */
    flow_arrays copy;          /* the copies */
    troc__maxflow_state reverse; /* the helper's flow, from the deficits */
    troc__residual view;       /* the residual graph as the helper's flow sees it */
    uint32_t lo, hi;           /* the component raced */
    uint64_t finished_work[2]; /* per side (0: from the excesses): its work once finished, else UINT64_MAX */
    bool reverse_finished;
};

/* Places the copies and the helper's state in block from *used. */
static void place_arrays(troc__race *race, char *block, size_t *used, const troc__residual *r, uint32_t node_count) {
    race->copy.arcs = troc_large_carve(block, used, ((size_t)r->arc_count + 1) * troc__arc_size(r));
    race->copy.room_bits = troc_large_carve(block, used, troc__room_words(r->arc_count) * sizeof *race->copy.room_bits);
    race->copy.excess = troc_large_carve(block, used, ((size_t)r->node_count + 1) * sizeof *race->copy.excess);
    troc__maxflow_place(&race->reverse, block, used, node_count);
}

static flow_arrays arrays_of(const troc__residual *r) {
    return (flow_arrays){.arcs = r->arcs, .room_bits = r->room_bits, .excess = r->excess};
}

static void arrays_into(troc__residual *r, flow_arrays arrays) {
    r->arcs = arrays.arcs;
    r->room_bits = arrays.room_bits;
    r->excess = arrays.excess;
}

/* The room bits of arcs [arc_lo, arc_hi) from `from` into `to`, the
 * other arcs' bits in the words at either end left as they are (they
 * belong to other components, whose truth is in the residual graph's own
 * arrays). */
static void room_bits_copy(uint64_t *to, const uint64_t *from, uint32_t arc_lo, uint32_t arc_hi) {
    if (arc_lo == arc_hi) return;
    const size_t first = arc_lo / 32, last = (arc_hi - 1) / 32;
    for (size_t word = first; word <= last; word++) {
        uint64_t mask = ~0ull;
        if (word == first) mask &= ~0ull << (2 * (arc_lo % 32));
        if (word == last && arc_hi % 32 != 0) mask &= ~0ull >> (64 - 2 * (arc_hi % 32));
        to[word] = (to[word] & ~mask) | (from[word] & mask);
    }
}

/* Copies what a race of the component [lo, hi) may have changed from
 * `from` into `to`. */
static void arrays_copy(const troc__residual *r, flow_arrays to, flow_arrays from, uint32_t lo, uint32_t hi) {
    const uint32_t arc_lo = r->arc_first[lo], arc_hi = r->arc_first[hi];
    const size_t size = troc__arc_size(r);
    memcpy((char *)to.arcs + arc_lo * size, (const char *)from.arcs + arc_lo * size, (size_t)(arc_hi - arc_lo) * size);
    room_bits_copy(to.room_bits, from.room_bits, arc_lo, arc_hi);
    memcpy(to.excess + lo, from.excess + lo, (size_t)(hi - lo) * sizeof *to.excess);
}

/* The helper's flow from the deficits, on the copies. */
static void run_reverse(void *context) {
    troc__race *race = context;
    race->reverse.rival_work = &race->finished_work[0];
    race->reverse.rival_wins_ties = true;
    race->reverse_finished = troc__maxflow(&race->reverse, &race->view, race->lo, race->hi, true);
    if (race->reverse_finished) __atomic_store_n(&race->finished_work[1], race->reverse.work, __ATOMIC_RELEASE);
}

/* The side that lost the last race, brought up to date from the winner
 * (the arrays the residual graph now points at). */
static void sync_loser(void *context) {
    troc__race *race = context;
    const flow_arrays winner = arrays_of(&race->view);
    const flow_arrays loser = winner.arcs == race->own.arcs ? race->copy : race->own;
    arrays_copy(&race->view, loser, winner, race->lo, race->hi);
}

/* The component's copies made from the residual graph's own arrays. */
static void copy_component(void *context) {
    troc__race *race = context;
    arrays_copy(&race->view, race->copy, race->own, race->lo, race->hi);
}

int troc__race_create(const troc__residual *r, const troc__admissible *admissible, uint32_t node_count,
                      troc__helper *helper, troc__race **race_out) {
    assert(r != NULL && admissible != NULL && helper != NULL && race_out != NULL);
    troc__race *race = calloc(1, sizeof *race);
    if (race == NULL) return -ENOMEM;
    size_t bytes = 0;
    place_arrays(race, NULL, &bytes, r, node_count);
    race->block = troc_large_malloc(bytes);
    if (race->block == NULL) {
        free(race);
        return -ENOMEM;
    }
    size_t used = 0;
    place_arrays(race, race->block, &used, r, node_count);
    assert(used == bytes);
    race->helper = helper;
    race->reverse.admissible = admissible;
    race->own = arrays_of(r);
    *race_out = race;
    return 0;
}

void troc__race_begin(troc__race *race, const troc__residual *r, uint32_t lo, uint32_t hi) {
    assert(race != NULL && r != NULL && r->arcs == race->own.arcs);
    troc__helper_wait(race->helper);
    race->lo = lo;
    race->hi = hi;
    race->view = *r;
    troc__helper_start(race->helper, copy_component, race);
}

const troc__maxflow_state *troc__race_run(troc__race *race, troc__maxflow_state *forward, troc__residual *r,
                                          uint32_t lo, uint32_t hi) {
    assert(race != NULL && forward != NULL && r != NULL);
    assert(lo == race->lo && hi == race->hi);
    troc__helper_wait(race->helper); /* the copies, or the last sync */
    race->view = *r;
    const flow_arrays mine = arrays_of(r);
    arrays_into(&race->view, mine.arcs == race->own.arcs ? race->copy : race->own);
    race->finished_work[0] = race->finished_work[1] = UINT64_MAX;
    /* Without a thread the helper runs its flow here and now, in full; the
     * flow from the excesses then stops at its work, as it would stop at
     * once beside it. */
    troc__helper_start(race->helper, run_reverse, race);
    forward->rival_work = &race->finished_work[1];
    forward->rival_wins_ties = false;
    const bool forward_finished = troc__maxflow(forward, r, lo, hi, false);
    if (forward_finished) __atomic_store_n(&race->finished_work[0], forward->work, __ATOMIC_RELEASE);
    forward->rival_work = NULL;
    troc__helper_wait(race->helper);
    /* A flow stops only once its rival has finished with less work, so at
     * least one finished; of two, the one with less work wins. */
    assert(forward_finished || race->reverse_finished);
    const bool reverse_wins =
        race->reverse_finished && (!forward_finished || race->reverse.work < forward->work);
    if (reverse_wins) arrays_into(r, arrays_of(&race->view));
    race->view = *r;
    /* Both sides equal again before the next race, on the helper while the
     * caller goes on. */
    troc__helper_start(race->helper, sync_loser, race);
    return reverse_wins ? &race->reverse : forward;
}

void troc__race_changed(troc__race *race, const troc__residual *r) {
    assert(race != NULL && r != NULL);
    troc__helper_wait(race->helper);
    race->view = *r;
    troc__helper_start(race->helper, sync_loser, race);
}

void troc__race_finish(troc__race *race, troc__residual *r) {
    assert(race != NULL && r != NULL);
    /* The last sync made the residual graph's own arrays the winner's. */
    troc__helper_wait(race->helper);
    arrays_into(r, race->own);
}

void troc__race_destroy(troc__race *race) {
    if (race == NULL) return;
    troc__helper_wait(race->helper);
    free(race->block);
    free(race);
}
