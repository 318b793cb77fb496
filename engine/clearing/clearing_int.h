/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private pieces of the clearing module, shared by its files:
 *
 *   network.c     obligations -> merged arcs (one per debtor/creditor pair) in
 *                 CSR form, plus the balance node's slack arcs in credit mode
 *   components.c  strongly connected components (iterative Tarjan)
 *   reduce.c      firms with a single counterparty peeled off, paths
 *                 through firms with one debtor and one creditor
 *                 contracted into single arcs
 *   residual.c    the transport form of one network as a residual graph
 *   admissible.c  the entries of reduced cost 0 of a phase, copied compactly
 *   flow.c        exact min-cost flow on it (primal-dual), phase by phase:
 *   paths.c         shortest distances from both sides with buckets, and the
 *                   potential update
 *   maxflow.c       maximum flow on the admissible entries (shortest
 *                   augmenting paths with distance labels)
 *   circulation.c components + flow: a min-cost circulation with its
 *                 certificate
 *   split.c       merged arc flows back onto the obligations, oldest first
 *   check.c       the linear-time certificate checker (public)
 *   validate.c    the problem's guard (public)
 *   clearing.c    troc_clearing_solve(): the steps above in order
 *
 * Nodes and arcs are numbered with uint32 (TROC_CLEARING_*_MAX keep them in
 * range); amounts are int64 cents.
 */
#ifndef TROC_CLEARING_INT_H
#define TROC_CLEARING_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "clearing.h"

#define TROC__NONE UINT32_MAX /* no node, arc or component */

_Static_assert(8ull * (TROC_CLEARING_OBLIGATIONS_MAX + 2ull * TROC_CLEARING_FIRMS_MAX) < 4294967295ull,
               "an arc index and three bits fit in a residual entry's link");

/* A network of arcs sorted by tail (CSR).  Arc costs are -1 (an obligation
 * arc: every unit carried is one unit set off or paid), 0 (a slack arc to
 * or from the balance node), or -L for a chain of L obligation arcs
 * contracted into one (reduce.c).  The circulation solver minimises the
 * cost: it maximises what the obligation arcs carry. */
typedef struct troc__network {
    uint32_t node_count;   /* firms, plus the balance node (last) in credit mode */
    uint32_t arc_count;
    uint32_t *arc_first;   /* node_count + 1: arcs of node v are [arc_first[v], arc_first[v + 1]) */
    uint32_t *arc_head;    /* arc_count: head node of each arc */
    int64_t *arc_capacity; /* arc_count: capacity in cents, > 0 */
    int32_t *arc_cost;     /* arc_count: -1, 0, or -L for a contracted chain; NULL: all -1 */
    bool borrowed;         /* arc_first and arc_head are a troc__groups' own */
} troc__network;

/* The cost of arc a. */
static inline int32_t troc__network_arc_cost(const troc__network *network, uint32_t a) {
    return network->arc_cost != NULL ? network->arc_cost[a] : -1;
}

_Static_assert(TROC_CLEARING_FIRMS_MAX < INT32_MAX, "a chain's length fits an arc's cost");

/* Obligations grouped by (debtor, creditor): one group per pair that owes,
 * the groups of each debtor numbered consecutively, so that group g is
 * carried by network arc group_arc[g] and the arcs come out sorted by tail.
 * Within a group the obligations keep their array order (oldest first). */
typedef struct troc__groups {
    uint32_t group_count;
    uint32_t *group_of;       /* obligation_count: group of each obligation */
    uint32_t *group_first;    /* firm_count + 1: groups of debtor v are [group_first[v], group_first[v + 1]) */
    uint32_t *group_creditor; /* group_count: creditor of each group */
    int64_t *group_capacity;  /* group_count: sum of the group's amounts, cents */
    uint32_t *group_arc;      /* group_count: arc of the network carrying the group, or TROC__NONE;
                               * NULL while arc g carries group g (plain mode) */
} troc__groups;

/* Strongly connected components of a network: nodes listed component by
 * component, components in reverse topological order (a component's arcs
 * leave only towards components listed before it). */
typedef struct troc__components {
    uint32_t component_count;
    uint32_t *component_of;    /* node_count: component of each node (and the block of all three arrays) */
    uint32_t *node_order;      /* node_count: nodes, grouped by component */
    uint32_t *component_first; /* component_count + 1 offsets into node_order */
} troc__components;

/* Statistics of one circulation solve. */
typedef struct troc__circulation_stats {
    uint32_t component_count; /* components of two or more nodes, once reduced */
    uint32_t phase_count;     /* shortest-path phases of the flow solver */
} troc__circulation_stats;

/* Progress reporting shared by the steps, at most once per percent of a
 * stage so that a terminal is not flooded. */
typedef struct troc__progress {
    troc_clearing_progress_fn *function; /* may be NULL */
    void *context;
    const char *stage;    /* last stage reported */
    double fraction_done; /* last fraction reported */
} troc__progress;

void troc__progress_report(troc__progress *progress, const char *stage, double fraction_done);

/* network.c */
int troc__groups_build(const troc_clearing_problem *problem, troc__groups *groups);
void troc__groups_free(troc__groups *groups);
/* The network of a problem: one arc per group (capacity the group's total),
 * plus, in credit mode, the balance node and its slack arcs.  Fills
 * groups->group_arc.  In plain mode arc g is group g, and the network
 * borrows the groups' first and creditor arrays rather than copy them (the
 * groups must outlive it) and takes their capacities (group_capacity is
 * then NULL): the solve frees them early. */
int troc__network_build(const troc_clearing_problem *problem, troc__groups *groups,
                        troc__network *network);
/* The network of the groups with the given capacities (no balance node);
 * groups with capacity 0 get no arc (group_arc TROC__NONE). */
int troc__network_build_capacities(const troc_clearing_problem *problem, troc__groups *groups,
                                   const int64_t *group_capacity, troc__network *network);
/* A network of node_count nodes and room for arc_count arcs, uninitialised. */
int troc__network_allocate(troc__network *network, uint32_t node_count, uint32_t arc_count);
void troc__network_free(troc__network *network);
/* Room of a firm's balance in credit mode, capped by what its obligations can
 * move (so never more than the total): how far it may rise (up) and fall
 * (down).  Shared by the solver and the checker so both see one problem. */
void troc__account_room(const troc_clearing_account *account, int64_t in_total_cents,
                        int64_t out_total_cents, int64_t *up_cents, int64_t *down_cents);

/* components.c: components of the sub-network of nodes below node_limit
 * (arcs to nodes at or above it are ignored). */
int troc__components_find(const troc__network *network, uint32_t node_limit,
                          troc__components *components);
/* The three arrays of components of node_count nodes and at most
 * component_count components, in one block (troc__components_free()). */
int troc__components_allocate(troc__components *components, uint32_t node_count, uint32_t component_count);
void troc__components_free(troc__components *components);

/* reduce.c: a network without its firms of a single counterparty and with
 * its chains contracted, counting only arcs inside components (the others
 * carry nothing).  A firm whose arcs all go to and come from one firm
 * carries the smaller of the two both ways whatever the rest does: it is
 * peeled off, and so, in turn, are the firms this leaves with a single
 * counterparty.  A chain is a path of obligation arcs through firms left
 * with exactly one arc in and one out, from and to other firms: it carries
 * one flow, at most its least capacity, at a cost of minus its length.
 * The reduced network has the same nodes; each chain between two
 * different firms becomes one arc (cost -L), each chain that comes back to
 * where it started (a cycle of its own) no arc: it carries its least
 * capacity.  The firms peeled or inside chains keep only their arcs to
 * other components, each a component of its own in the reduced network. */
typedef struct troc__reduction {
    uint32_t leaf_count;
    uint32_t *leaf_node;     /* the firms peeled, in the order peeled */
    uint32_t *leaf_in;       /* per firm peeled: its arc from its counterparty */
    uint32_t *leaf_out;      /* per firm peeled: its arc to its counterparty */
    uint32_t chain_count;
    uint32_t *chain_first;   /* chain_count + 1: arcs of chain c are chain_arc[chain_first[c] ..] */
    uint32_t *chain_arc;     /* network arcs of the chains, each chain in path order */
    uint32_t *chain_from;    /* chain_count: the firm each chain leaves */
    uint32_t *chain_carrier; /* chain_count: the reduced arc carrying the chain, TROC__NONE for a cycle */
    uint32_t *reduced_arc;   /* network arc_count: its arc in the reduced network, TROC__NONE if removed */
    troc__network reduced;
    troc__components components; /* of the reduced network */
} troc__reduction;

/* Reduces a network whose components are given; leaves the reduction empty
 * (leaf_count and chain_count 0, nothing allocated) when there is nothing
 * to reduce, or too little to repay a copy of the network. */
int troc__reduction_build(const troc__network *network, const troc__components *components,
                          troc__reduction *reduction);
/* The flow of every network arc from the reduced network's flows, and the
 * potentials of the firms peeled or inside chains from those of the rest
 * (already in `potential`), so that the network's certificate holds. */
void troc__reduction_expand(const troc__reduction *reduction, const troc__network *network,
                            const int64_t *reduced_flow, int64_t *flow, int64_t *potential);
void troc__reduction_free(troc__reduction *reduction);

/* residual.c: the residual graph of a network's circulation problem,
 * restricted to arcs inside a component, starting from the pseudo-flow that
 * fills every arc of negative cost and leaves every cost 0 arc empty.  Each
 * arc gives two entries: at its tail (room capacity - flow, the arc's cost)
 * and at its head (room flow, minus the cost).  With all costs then >= 0 on entries
 * with room, the solver routes the excess this pseudo-flow leaves at nodes
 * back to the deficits at least cost: the transport form of the problem.
 *
 * Nodes are renumbered component by component (components in the order of
 * troc__components), so that a component is a range of nodes, and arcs by
 * tail in that order, so that a component's arcs are a range too.  An entry
 * is 8 bytes: the node it leads to and a link naming its arc, its side and
 * its cost (-1, 0, or a chain's, to be read in chain_cost); the arc's room
 * lives once, in `arcs`. */
typedef struct troc__residual_entry {
    uint32_t head; /* node the entry leads to */
    uint32_t link; /* arc << TROC__LINK_ARC_SHIFT | TROC__LINK_* bits */
} troc__residual_entry;

#define TROC__LINK_TAIL 1u      /* the entry sits at its arc's tail */
#define TROC__LINK_FREE 2u      /* the arc costs 0 (a slack arc) */
#define TROC__LINK_CHAIN 4u     /* the arc is a contracted chain: its cost is in chain_cost */
#define TROC__LINK_ARC_SHIFT 3u /* the arc index above those bits */

typedef struct troc__residual_arc {
    int64_t room;     /* room at the tail: capacity - flow, cents */
    int64_t capacity; /* cents, > 0 */
} troc__residual_arc;

/* The same in half the bytes, for a graph whose capacities all fit in 31
 * bits (up to 21,474,836.47 in cents): a million arcs then take 8 MB
 * instead of 16 in the graph and as much again in the race's copy, and an
 * augmenting path's rooms sit on fewer cache lines. */
typedef struct troc__residual_arc32 {
    int32_t room;
    int32_t capacity;
} troc__residual_arc32;

typedef struct troc__residual {
    char *block;                   /* every array below but chain_cost (residual.c) */
    uint32_t node_count;
    uint32_t entry_count;
    uint32_t arc_count;
    uint32_t free_arc_count;       /* arcs of cost 0 (slack arcs of the balance node) */
    uint32_t *network_node;        /* node_count: network node of each residual node */
    uint32_t *first;               /* node_count + 1: entries of v are [first[v], first[v + 1]) */
    uint32_t *arc_first;           /* node_count + 1: arcs leaving v are [arc_first[v], arc_first[v + 1]) */
    troc__residual_entry *entries; /* entry_count */
    void *arcs;                    /* arc_count: troc__residual_arc32 if narrow, else troc__residual_arc */
    bool narrow;                   /* every capacity fits in an int32 */
    int32_t *chain_cost;           /* arc_count, NULL without chains: the cost of each chain's arc */
    uint64_t *room_bits;           /* 2 bits per arc, bit 2a + 1: room at the tail, 2a: at the head */
    int64_t *excess;               /* node_count: inflow minus outflow of the pseudo-flow */
    int64_t *potential;            /* node_count: keeps reduced costs of entries with room >= 0 */
} troc__residual;

/* Bytes of an arc of r. */
static inline size_t troc__arc_size(const troc__residual *r) {
    return r->narrow ? sizeof(troc__residual_arc32) : sizeof(troc__residual_arc);
}

static inline const void *troc__arc_address(const troc__residual *r, uint32_t arc) {
    return (const char *)r->arcs + (size_t)arc * troc__arc_size(r);
}

/* Room at the tail of an arc. */
static inline int64_t troc__arc_room(const troc__residual *r, uint32_t arc) {
    return r->narrow ? ((const troc__residual_arc32 *)r->arcs)[arc].room : ((const troc__residual_arc *)r->arcs)[arc].room;
}

static inline int64_t troc__arc_capacity(const troc__residual *r, uint32_t arc) {
    return r->narrow ? ((const troc__residual_arc32 *)r->arcs)[arc].capacity
                     : ((const troc__residual_arc *)r->arcs)[arc].capacity;
}

/* Room of entry e: what can still move along it. */
static inline int64_t troc__entry_room(const troc__residual *r, troc__residual_entry e) {
    const uint32_t arc = e.link >> TROC__LINK_ARC_SHIFT;
    const int64_t room = troc__arc_room(r, arc);
    return (e.link & TROC__LINK_TAIL) ? room : troc__arc_capacity(r, arc) - room;
}

/* Whether entry e has room, and its partner: from room_bits, which the
 * searches read instead of the scattered arcs (a quarter megabyte per
 * million arcs). */
static inline uint32_t troc__entry_room_bit(troc__residual_entry e) {
    return (e.link >> TROC__LINK_ARC_SHIFT) << 1 | (e.link & TROC__LINK_TAIL);
}

static inline bool troc__entry_has_room(const troc__residual *r, troc__residual_entry e) {
    const uint32_t bit = troc__entry_room_bit(e);
    return (r->room_bits[bit >> 6] >> (bit & 63u)) & 1u;
}

static inline bool troc__entry_partner_has_room(const troc__residual *r, troc__residual_entry e) {
    const uint32_t bit = troc__entry_room_bit(e) ^ 1u;
    return (r->room_bits[bit >> 6] >> (bit & 63u)) & 1u;
}

/* Words of room_bits for arc_count arcs. */
static inline size_t troc__room_words(uint32_t arc_count) {
    return ((size_t)arc_count + 1) / 32 + 1;
}

/* Sets the two room bits of an arc from its room at the tail. */
static inline void troc__room_bits_set(uint64_t *bits, uint32_t arc, int64_t room, int64_t capacity) {
    const uint64_t tail_bit = 2ull << ((arc & 31u) * 2), head_bit = 1ull << ((arc & 31u) * 2);
    uint64_t word = bits[arc >> 5] & ~(tail_bit | head_bit);
    if (room > 0) word |= tail_bit;
    if (room < capacity) word |= head_bit;
    bits[arc >> 5] = word;
}

/* Cost of an entry: its arc's cost at the tail, minus it at the head (read
 * from the link, but for a chain's). */
static inline int64_t troc__entry_cost(const troc__residual *r, troc__residual_entry e) {
    if (e.link & TROC__LINK_FREE) return 0;
    const int64_t cost = (e.link & TROC__LINK_CHAIN) ? r->chain_cost[e.link >> TROC__LINK_ARC_SHIFT] : -1;
    return (e.link & TROC__LINK_TAIL) ? cost : -cost;
}

/* Reduced cost of entry e of node v. */
static inline int64_t troc__reduced_cost(const troc__residual *r, uint32_t v, troc__residual_entry e) {
    return troc__entry_cost(r, e) + r->potential[v] - r->potential[e.head];
}

/* helper.c: a second thread for the solver, one task at a time.
 * Without a thread (thread_count 1, or none could be started), a task runs
 * on the caller's thread as it is handed over. */
typedef void troc__task(void *context);
typedef struct troc__helper troc__helper;
int troc__helper_create(unsigned thread_count, troc__helper **helper_out);
/* Hands `task` over (the helper is idle: the last task was awaited). */
void troc__helper_start(troc__helper *helper, troc__task *task, void *context);
/* Waits for the task handed over last, if any. */
void troc__helper_wait(troc__helper *helper);
void troc__helper_destroy(troc__helper *helper);

/* residual.c: the residual graph of the arcs inside components of
 * `network`, built on the helper too if one is given (NULL: none). */
int troc__residual_build(const troc__network *network, const troc__components *components, troc__helper *helper,
                         troc__residual *residual);
void troc__residual_free(troc__residual *residual);
/* Sets the room at the tail of an arc (and its room bits). */
static inline void troc__residual_set_room(troc__residual *r, uint32_t arc, int64_t room) {
    assert(arc < r->arc_count);
    const int64_t capacity = troc__arc_capacity(r, arc);
    assert(room >= 0 && room <= capacity);
    if (r->narrow) ((troc__residual_arc32 *)r->arcs)[arc].room = (int32_t)room;
    else ((troc__residual_arc *)r->arcs)[arc].room = room;
    troc__room_bits_set(r->room_bits, arc, room, capacity);
}

/* Moves delta cents along entry e (its room shrinks, its partner's grows). */
static inline void troc__residual_push(troc__residual *r, troc__residual_entry e, int64_t delta) {
    const uint32_t arc = e.link >> TROC__LINK_ARC_SHIFT;
    troc__residual_set_room(r, arc, troc__arc_room(r, arc) + ((e.link & TROC__LINK_TAIL) ? -delta : delta));
}
/* flow[a] for every arc of the network the residual graph was built from,
 * with the same components (0 for arcs between components). */
void troc__residual_flows(const troc__residual *residual, const troc__network *network,
                          const troc__components *components, int64_t *flow);

/* admissible.c: the admissible graph of one phase: the entries of a
 * component's arcs of reduced cost 0, copied out of the residual graph in
 * a compact CSR, so that the maximum flow scans only them, in a few
 * megabytes.  The entries are the residual graph's (their links name the
 * residual arcs, whose rooms and room bits the maximum flow reads and
 * updates in place).  Built after the potentials of a phase moved. */
typedef struct troc__admissible {
    uint32_t *first;               /* per node + 1: entries of v are [first[v], first[v + 1]) */
    troc__residual_entry *entries; /* at each node, its entries at the tail first */
    uint32_t arc_count;            /* admissible arcs of the component */
} troc__admissible;


/* Places the arrays of an admissible graph of node_count nodes and
 * arc_count arcs in block from *used (troc_large_carve()). */
void troc__admissible_place(troc__admissible *admissible, char *block, size_t *used, uint32_t node_count,
                            uint32_t arc_count);
/* The admissible arcs of the component [lo, hi), half of its nodes on the
 * helper if there is one (NULL: none). */
void troc__admissible_build(troc__admissible *admissible, const troc__residual *residual, uint32_t lo, uint32_t hi,
                            troc__helper *helper);

/* One shortest-path search of paths.c: forward from the excesses or
 * backward from the deficits. */
typedef struct troc__search {
    int64_t *distance;         /* per node: tentative distance in reduced costs */
    uint32_t *bucket_head;     /* TROC__BUCKETS: first node of each distance bucket */
    uint32_t *bucket_tail;     /* TROC__BUCKETS: last node of each, where nodes join */
    uint32_t *bucket_next;     /* per node: doubly linked bucket lists */
    uint32_t *bucket_previous;
    uint32_t bucket;           /* bucket being scanned */
    uint32_t *heap;            /* binary heap of nodes past the buckets */
    uint32_t *heap_position;   /* per node: position in heap, TROC__NONE if absent */
    uint32_t heap_size;
    uint32_t *settled;         /* nodes settled, in order */
    uint32_t settled_count;
    uint32_t *stamp;           /* per node: phase in which it was settled */
    uint32_t *parent;          /* per node: the residual entry it was reached by (at its tail, forward;
                                  at its head, whose partner it was reached by, backward), TROC__NONE
                                  for a node the search started from */
    uint32_t start_count;      /* nodes it started from: excesses, or deficits */
    bool forward;              /* from the excesses (else from the deficits) */
} troc__search;

#define TROC__BUCKETS 1024u /* distances below this go to Dial buckets, the rest to a heap */

/* One maximum flow's labels and counters (maxflow.c).  A phase may run two
 * at once on their own copies of the rooms and excesses, one searching from
 * each side (race.c). */
typedef struct troc__maxflow_state {
    const troc__admissible *admissible; /* the phase's admissible graph, shared */
    uint32_t node_capacity;    /* nodes the arrays below hold */
    uint32_t *level;           /* per node: distance label to the ends, TROC__NONE if cut off */
    uint32_t *current;         /* per node: next entry to try */
    uint32_t *label_first;     /* per label: first node holding it, TROC__NONE if none */
    uint32_t *label_next;      /* per node: doubly linked lists of the nodes of each label */
    uint32_t *label_previous;
    uint32_t label_top;        /* highest label held, TROC__NONE if none */
    uint32_t *queue;           /* breadth-first queue */
    uint32_t *path;            /* entries of the augmenting path being built */
    uint64_t relabel_work;     /* entries relabels scanned since the last global relabel */
    uint64_t relabel_budget;   /* what the last global relabel scanned: past it, relabel again */
    uint32_t deficit_side;     /* nodes the last global relabel found reaching a deficit */
    bool reverse;              /* the round searches from the deficits */
    uint64_t work;             /* entries scanned in all: what a race compares */
    int64_t moved;             /* excess routed */
    /* Racing (race.c): the rival's work once it has finished (UINT64_MAX
     * before), read while running, and whether the rival wins a tie.  A
     * flow whose work passes the rival's stops: it would lose. */
    const uint64_t *rival_work; /* NULL: no rival */
    bool rival_wins_ties;
} troc__maxflow_state;

/* Places the arrays of a maximum flow of node_count nodes in block from
 * *used (troc_large_carve()). */
void troc__maxflow_place(troc__maxflow_state *state, char *block, size_t *used, uint32_t node_count);

typedef struct troc__race troc__race;

/* The flow solver's working memory, allocated once for the largest
 * component, in one block (flow.c creates it; paths.c and maxflow.c use
 * it). */
typedef struct troc__flow {
    char *block;               /* every array below */
    uint32_t node_capacity;    /* nodes of the residual graph */
    /* Shortest paths (paths.c) */
    troc__search searches[2];  /* forward and backward */
    uint32_t changed_count;    /* nodes whose potential the last phase changed */
    uint32_t meet;             /* a node on a shortest path the last search found: the forward
                                  search's parents lead back from it to an excess, the backward
                                  one's on to a deficit; TROC__NONE without a search */
    uint32_t deficit_side;     /* nodes the last global relabel found reaching a deficit
                                  (half the component before its first phase) */
    /* Maximum flow (maxflow.c, race.c) */
    troc__admissible admissible;
    troc__maxflow_state maxflow;
    troc__helper *helper;      /* the solver's (circulation.c); NULL when no component is large enough to race */
    troc__race *race;          /* likewise */
    /* Statistics and progress */
    uint32_t phase_count;
    int64_t excess_total;      /* excess of all components, for progress */
    int64_t excess_left;       /* not yet routed */
    troc__progress *progress;
} troc__flow;

/* flow.c: routes every excess of the component [lo, hi) to its deficits at
 * least cost (primal-dual). */
int troc__flow_create(const troc__residual *residual, uint32_t node_count_max, uint32_t arc_count_max,
                      int64_t excess_total, troc__helper *helper, troc__progress *progress, troc__flow **flow_out);
void troc__flow_destroy(troc__flow *flow);
void troc__flow_component(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);

/* paths.c: the distance D between the excesses and the deficits of
 * [lo, hi) in reduced costs, found by searching from both sides until one
 * side has settled every node closer than D; moves the potentials of those
 * nodes so that reduced costs stay >= 0 and every shortest path becomes
 * admissible. */
void troc__paths_update(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);
/* The first phase of a component without free arcs, where the searches
 * would only find that the excesses lie at distance 0 and a deficit at 1:
 * moves the excesses' potentials by 1 and returns true, or returns false
 * (no excess is owed by a deficit: search). */
bool troc__paths_first(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);
/* After a maximum flow that moved something, when both sides hold more than
 * TROC__PATH_ENDS_MAX nodes: moves the potentials of the side whose
 * closure (the nodes its ends reach, or that reach them, along admissible
 * entries with room, in the admissible copy of the phase) is found first
 * by 1, as troc__paths_update() would when D is 1, and returns true.  With
 * a side that small it returns false and moves no potential. */
bool troc__paths_close(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);
/* A side (excesses or deficits) of this many nodes or fewer follows each
 * shortest path on its own (flow.c). */
#define TROC__PATH_ENDS_MAX 4u
/* Moves what it can along the shortest path the last troc__paths_update()
 * found (the bottleneck of its rooms, its excess and its deficit), which
 * the update made admissible; returns the amount, or 0 (and changes
 * nothing) when there is no such path to follow. */
int64_t troc__paths_augment(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);
/* Places the arrays of a search of node_count nodes in block from *used
 * (troc_large_carve()), and with a block, readies the search. */
void troc__search_place(troc__search *search, char *block, size_t *used, uint32_t node_count, bool forward);

/* maxflow.c: pushes as much excess as possible to deficits through the
 * admissible graph of [lo, hi) (shortest augmenting paths with distance
 * labels, gaps and global relabels), its first round searching from the
 * deficits if reverse_first.  Returns false if it stopped because its
 * rival finished with less work (the flow is then partial), else true. */
bool troc__maxflow(troc__maxflow_state *state, troc__residual *residual, uint32_t lo, uint32_t hi,
                   bool reverse_first);

/* race.c: both maximum flows of a phase, one starting from each side, at
 * the same time on two threads (or one after the other on one); the flow
 * that scanned fewer entries is kept (the one from the excesses on a tie),
 * so the result does not depend on the threads or their timing.  Only
 * components of RACE_NODES_MIN nodes or more race. */
#define TROC__RACE_NODES_MIN 4096u
int troc__race_create(const troc__residual *residual, const troc__admissible *admissible, uint32_t node_count,
                      troc__helper *helper, troc__race **race_out);
/* Before the first phase of the component [lo, hi): its copies, made on the
 * helper (nothing may change the component's rooms until its first race). */
void troc__race_begin(troc__race *race, const troc__residual *residual, uint32_t lo, uint32_t hi);
/* Runs the race of a phase of [lo, hi) in `residual`, whose rooms and
 * excesses end as the winner left them (perhaps in the race's copies);
 * returns the winner's state. */
const troc__maxflow_state *troc__race_run(troc__race *race, troc__maxflow_state *forward, troc__residual *residual,
                                          uint32_t lo, uint32_t hi);
/* The caller moved flow in the component outside a race (its helper idle
 * meanwhile): the other side is brought up to date, on the helper. */
void troc__race_changed(troc__race *race, const troc__residual *residual);
/* After the last race of a component: the residual graph points at its
 * own arrays again, which hold the component's flow. */
void troc__race_finish(troc__race *race, troc__residual *residual);
void troc__race_destroy(troc__race *race);

/* circulation.c: a min-cost circulation of the network (*flow_out: the flow
 * on every arc, allocated once the solver's working memory is freed, so
 * that it takes those pages) and potentials certifying it: for each arc
 * with reduced cost cost + potential[tail] - potential[head] < 0 the flow
 * equals the capacity, > 0 it is zero.  `components` are the network's
 * strongly connected components if the caller has them (over all its
 * nodes), else NULL.  The network's capacities are freed (arc_capacity
 * NULL) as soon as the residual graph holds them, unless a reduction needs
 * them back: 8 MB per million arcs less at the solver's peak, where on a
 * virtual machine each fresh megabyte costs a millisecond or two. */
int troc__circulation_solve(troc__network *network, const troc__components *components, unsigned thread_count,
                            int64_t **flow_out, int64_t *potential, troc__circulation_stats *stats,
                            troc__progress *progress);

/* split.c: settled[g] (and cleared[g] <= settled[g]) per group onto the
 * obligations, oldest first.  Consumes both arrays (they end all zero).
 * In plain mode everything settled is set off: group_cleared may then be
 * group_settled itself.  Writes every entry of result->cleared_cents and
 * result->paid_cents, and the result's totals. */
void troc__split(const troc_clearing_problem *problem, const troc__groups *groups, int64_t *group_settled,
                 int64_t *group_cleared, troc_clearing_result *result);

#endif /* TROC_CLEARING_INT_H */
