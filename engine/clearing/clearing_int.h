/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private pieces of the clearing module, shared by its files:
 *
 *   network.c     obligations -> merged arcs (one per debtor/creditor pair) in
 *                 CSR form, plus the balance node's slack arcs in credit mode
 *   components.c  strongly connected components (iterative Tarjan)
 *   residual.c    the transport form of one network as a residual graph,
 *                 admissible entries first
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clearing.h"

#define TROC__NONE UINT32_MAX /* no node, arc or component */

/* A network of arcs sorted by tail (CSR).  Arc costs are -1 (an obligation
 * arc: every unit carried is one unit set off or paid) or 0 (a slack arc to
 * or from the balance node).  The circulation solver maximises the flow on
 * cost -1 arcs. */
typedef struct troc__network {
    uint32_t node_count;   /* firms, plus the balance node (last) in credit mode */
    uint32_t arc_count;
    uint32_t *arc_first;   /* node_count + 1: arcs of node v are [arc_first[v], arc_first[v + 1]) */
    uint32_t *arc_head;    /* arc_count: head node of each arc */
    int64_t *arc_capacity; /* arc_count: capacity in cents, > 0 */
    int8_t *arc_cost;      /* arc_count: -1 or 0 */
} troc__network;

/* Obligations grouped by (debtor, creditor): one group per pair that owes,
 * the groups of each debtor numbered consecutively, so that group g is
 * carried by network arc group_arc[g] and the arcs come out sorted by tail.
 * Within a group the obligations keep their array order (oldest first). */
typedef struct troc__groups {
    uint32_t group_count;
    uint32_t *group_of;       /* obligation_count: group of each obligation */
    uint32_t *group_first;    /* firm_count + 1: groups of debtor v are [group_first[v], group_first[v + 1]) */
    uint32_t *group_creditor; /* group_count: creditor of each group */
    uint32_t *group_size;     /* group_count: obligations in each group */
    int64_t *group_capacity;  /* group_count: sum of the group's amounts, cents */
    uint32_t *group_arc;      /* group_count: arc of the network carrying the group, or TROC__NONE */
} troc__groups;

/* Strongly connected components of a network: nodes listed component by
 * component, components in reverse topological order (a component's arcs
 * leave only towards components listed before it). */
typedef struct troc__components {
    uint32_t component_count;
    uint32_t *component_of;    /* node_count: component of each node */
    uint32_t *node_order;      /* node_count: nodes, grouped by component */
    uint32_t *component_first; /* component_count + 1 offsets into node_order */
} troc__components;

/* Statistics of one circulation solve. */
typedef struct troc__circulation_stats {
    uint32_t component_count; /* components of two or more nodes */
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
 * groups->group_arc. */
int troc__network_build(const troc_clearing_problem *problem, troc__groups *groups,
                        troc__network *network);
/* The network of the groups with the given capacities (no balance node);
 * groups with capacity 0 get no arc (group_arc TROC__NONE). */
int troc__network_build_capacities(const troc_clearing_problem *problem, troc__groups *groups,
                                   const int64_t *group_capacity, troc__network *network);
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
void troc__components_free(troc__components *components);

/* residual.c: the residual graph of a network's circulation problem,
 * restricted to arcs inside a component, starting from the pseudo-flow that
 * fills every cost -1 arc and leaves every cost 0 arc empty.  Each arc gives
 * two entries: at its tail (capacity - flow, the arc's cost) and at its head
 * (flow, minus the cost).  With all costs then >= 0 on entries with room,
 * the solver routes the excess this pseudo-flow leaves at nodes back to the
 * deficits at least cost: the transport form of the problem.
 *
 * Nodes are renumbered component by component (components in the order of
 * troc__components), so that a component is a range of nodes.  The entries
 * of each node are kept partitioned: those of reduced cost 0 (admissible,
 * with or without room) first, up to admissible_end. */
typedef struct troc__residual_entry {
    int64_t capacity; /* residual capacity, cents */
    uint32_t head;    /* node the entry leads to */
    uint32_t reverse; /* the paired entry */
} troc__residual_entry;

#define TROC__TAIL_SIDE 0x80000000u /* entry_arc bit: the entry sits at the arc's tail */

typedef struct troc__residual {
    uint32_t node_count;
    uint32_t entry_count;
    uint32_t *network_node;        /* node_count: network node of each residual node */
    uint32_t *first;               /* node_count + 1: entries of v are [first[v], first[v + 1]) */
    uint32_t *admissible_end;      /* node_count: entries [first[v], admissible_end[v]) have reduced cost 0 */
    troc__residual_entry *entries; /* entry_count */
    int64_t *total;                /* entry_count: capacity of the entry's arc, so its partner's room
                                      is total - capacity without a visit to the partner */
    int8_t *cost;                  /* entry_count: +1, -1 or 0 */
    uint32_t *entry_arc;           /* entry_count: network arc, | TROC__TAIL_SIDE at its tail */
    int64_t *excess;               /* node_count: inflow minus outflow of the pseudo-flow */
    int64_t *potential;            /* node_count: keeps reduced costs of entries with room >= 0 */
} troc__residual;

static inline int64_t troc__reduced_cost(const troc__residual *r, uint32_t v, uint32_t e) {
    return r->cost[e] + r->potential[v] - r->potential[r->entries[e].head];
}

int troc__residual_build(const troc__network *network, const troc__components *components,
                         troc__residual *residual);
void troc__residual_free(troc__residual *residual);
/* Puts v's admissible entries first. */
void troc__residual_partition(troc__residual *residual, uint32_t v);
/* After the potentials of the nodes marked stamp[v] == mark changed: puts
 * their entries, and the paired entries at their neighbours, back in place. */
void troc__residual_refresh(troc__residual *residual, const uint32_t *nodes, uint32_t node_count,
                            const uint32_t *stamp, uint32_t mark);
/* flow[a] for every network arc (0 for arcs between components). */
void troc__residual_flows(const troc__residual *residual, const troc__network *network, int64_t *flow);

/* One shortest-path search of paths.c: forward from the excesses or
 * backward from the deficits. */
typedef struct troc__search {
    int64_t *distance;         /* per node: tentative distance in reduced costs */
    uint32_t *bucket_head;     /* TROC__BUCKETS: first node of each distance bucket */
    uint32_t *bucket_next;     /* per node: doubly linked bucket lists */
    uint32_t *bucket_previous;
    uint32_t bucket;           /* bucket being scanned */
    uint32_t *heap;            /* binary heap of nodes past the buckets */
    uint32_t *heap_position;   /* per node: position in heap, TROC__NONE if absent */
    uint32_t heap_size;
    uint32_t *settled;         /* nodes settled, in order */
    uint32_t settled_count;
    uint32_t *stamp;           /* per node: phase in which it was settled */
    bool forward;              /* from the excesses (else from the deficits) */
} troc__search;

#define TROC__BUCKETS 1024u /* distances below this go to Dial buckets, the rest to a heap */

/* The flow solver's working memory, allocated once for the largest
 * component (flow.c creates it; paths.c and maxflow.c use it). */
typedef struct troc__flow {
    uint32_t node_capacity;    /* nodes of the residual graph */
    /* Shortest paths (paths.c) */
    troc__search searches[2];  /* forward and backward */
    const uint32_t *changed;   /* nodes whose potential the last phase changed */
    uint32_t changed_count;
    const uint32_t *changed_stamp; /* changed[i] has changed_stamp == phase_count */
    /* Maximum flow (maxflow.c) */
    uint32_t *level;           /* per node: distance label to the deficits, TROC__NONE if cut off */
    uint32_t *current;         /* per node: next entry to try */
    uint32_t *label_count;     /* per label: nodes holding it */
    uint32_t gap;              /* labels at or above it are cut off until the next global relabel */
    uint32_t *queue;           /* breadth-first queue */
    uint32_t deficit_side;     /* nodes the last global relabel found reaching a deficit
                                  (half the component before its first phase) */
    uint32_t *path;            /* entries of the augmenting path being built */
    /* Statistics and progress */
    uint32_t phase_count;
    uint64_t global_relabel_count;
    int64_t excess_total;      /* excess of all components, for progress */
    int64_t excess_left;       /* not yet routed */
    troc__progress *progress;
} troc__flow;

/* flow.c: routes every excess of the component [lo, hi) to its deficits at
 * least cost (primal-dual). */
int troc__flow_create(uint32_t node_count, int64_t excess_total, troc__progress *progress,
                      troc__flow **flow_out);
void troc__flow_destroy(troc__flow *flow);
void troc__flow_component(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);

/* paths.c: the distance D between the excesses and the deficits of
 * [lo, hi) in reduced costs, found by searching from both sides at once
 * until one side is done; moves the potentials of the nodes that side
 * settled closer than D so that reduced costs stay >= 0 and every shortest
 * path becomes admissible.  Lists those nodes in changed. */
void troc__paths_update(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);
int troc__search_create(troc__search *search, uint32_t node_count, bool forward);
void troc__search_free(troc__search *search);

/* maxflow.c: pushes as much excess as possible to deficits through
 * admissible entries of [lo, hi) (shortest augmenting paths with distance
 * labels, a gap cut-off and global relabels). */
void troc__maxflow(troc__flow *flow, troc__residual *residual, uint32_t lo, uint32_t hi);

/* circulation.c: a min-cost circulation of the network (flow on every arc)
 * and potentials certifying it: for each arc with reduced cost
 * cost + potential[tail] - potential[head] < 0 the flow equals the capacity,
 * > 0 it is zero.  `components` are the network's strongly connected
 * components if the caller has them (over all its nodes), else NULL. */
int troc__circulation_solve(const troc__network *network, const troc__components *components, int64_t *flow,
                            int64_t *potential, troc__circulation_stats *stats, troc__progress *progress);

/* split.c: settled[g] (and cleared[g] <= settled[g]) per group onto the
 * obligations, oldest first.  Consumes both arrays (they end all zero). */
void troc__split(const troc_clearing_problem *problem, const troc__groups *groups, int64_t *group_settled,
                 int64_t *group_cleared, int64_t *cleared_cents, int64_t *paid_cents);

#endif /* TROC_CLEARING_INT_H */
