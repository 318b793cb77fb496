/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From obligations to the solver's network.
 *
 * Obligations are grouped by (debtor, creditor) in linear time: a stable
 * counting sort by debtor that carries each obligation's index, creditor
 * and amount along (so the next pass reads straight through memory), then
 * one pass over each debtor's obligations in array order with a marker per
 * creditor (the group it last opened and the
 * debtor it opened it for), so a pair's obligations join the group its first
 * one opened.  Each group becomes one arc whose capacity is the group's
 * total; the groups of a debtor are consecutive, so the arcs come out
 * grouped by tail and the CSR offsets fall out of one scan.  Each
 * obligation remembers its group: the split walks the obligations in array
 * order, which is oldest first within every group, without needing the
 * groups' members side by side.
 *
 * Credit mode adds a balance node after the firms, an arc firm -> balance
 * node with the room of the firm's balance to rise and an arc back with its
 * room to fall, both of cost 0.  Room is capped by what the firm's
 * obligations could move at most, so that an account without a maximum gets
 * a finite arc and no capacity ever exceeds the total of all obligations.
 * The same cap lets an account whose figures lie beyond the solver's bound
 * be replaced by one within it with the same room
 * (troc_clearing_account_bounded).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/large.h"
#include "base/limits.h"
#include "clearing_int.h"

/* An obligation as grouping reads it, once sorted by debtor. */
typedef struct sorted_obligation {
    uint32_t index;       /* in the problem's array */
    uint32_t creditor;
} sorted_obligation;

/* Obligations ahead of the one added whose group's capacity is fetched
 * early. */
#define PREFETCH_OBLIGATIONS 16u

void troc__groups_free(troc__groups *groups) {
    assert(groups != NULL);
    free(groups->group_of);
    free(groups->group_first);
    free(groups->group_creditor);
    free(groups->group_capacity);
    free(groups->group_arc);
    *groups = (troc__groups){0};
}

/* first[v] := where debtor v's obligations start once sorted (first[n] =
 * m). */
static void count_by_debtor(const troc_clearing_problem *problem, uint32_t *first) {
    const uint32_t n = problem->firm_count;
    for (uint32_t v = 0; v <= n; v++) first[v] = 0;
    for (size_t k = 0; k < problem->obligation_count; k++) first[problem->obligations[k].debtor + 1]++;
    for (uint32_t v = 0; v < n; v++) first[v + 1] += first[v];
}

/* The obligations sorted by debtor, array order within each: their index
 * and creditor side by side, so that grouping reads them straight through
 * (a gather from the problem's array would stall on every read).  The
 * amounts stay out: 8 bytes a row instead of 16, at the moment the solve's
 * memory is at its fullest (the ids compared beside it), and the
 * capacities are added up in array order afterwards.  `next` is scratch
 * of firm_count + 1. */
static void sort_by_debtor(const troc_clearing_problem *problem, const uint32_t *first, uint32_t *next,
                           sorted_obligation *sorted) {
    for (uint32_t v = 0; v <= problem->firm_count; v++) next[v] = first[v];
    for (size_t k = 0; k < problem->obligation_count; k++) {
        const troc_obligation *o = &problem->obligations[k];
        sorted[next[o->debtor]++] = (sorted_obligation){.index = (uint32_t)k, .creditor = o->creditor};
    }
}

static int groups_allocate(troc__groups *groups, uint32_t firm_count, size_t obligation_count) {
    const size_t m = obligation_count + 1; /* at most one group per obligation */
    groups->group_of = troc_large_malloc(m * sizeof *groups->group_of);
    groups->group_first = troc_large_malloc(((size_t)firm_count + 1) * sizeof *groups->group_first);
    groups->group_creditor = troc_large_malloc(m * sizeof *groups->group_creditor);
    if (groups->group_of == NULL || groups->group_first == NULL || groups->group_creditor == NULL) return -ENOMEM;
    return 0;
}

/* Opens the groups of each debtor in turn; marker_group[c] and
 * marker_debtor[c] name the group creditor c last got, and for whom. */
static void group_obligations(const troc_clearing_problem *problem, const sorted_obligation *sorted,
                              const uint32_t *first, uint32_t *marker_group, uint32_t *marker_debtor,
                              troc__groups *groups) {
    uint32_t count = 0;
    for (uint32_t c = 0; c < problem->firm_count; c++) marker_debtor[c] = TROC__NONE;
    for (uint32_t v = 0; v < problem->firm_count; v++) {
        groups->group_first[v] = count;
        for (uint32_t i = first[v]; i < first[v + 1]; i++) {
            const sorted_obligation *o = &sorted[i];
            if (marker_debtor[o->creditor] != v) {
                marker_debtor[o->creditor] = v;
                marker_group[o->creditor] = count;
                groups->group_creditor[count++] = o->creditor;
            }
            groups->group_of[o->index] = marker_group[o->creditor];
        }
    }
    groups->group_first[problem->firm_count] = count;
    groups->group_count = count;
}

/* Each group's capacity, the sum of its amounts, in the problem's order:
 * the groups' totals are scattered, those of obligations a few places on
 * fetched early.  Allocated only now, once the sorted copy is freed: 8
 * bytes a group less at the solve's fullest moment. */
static int add_capacities(const troc_clearing_problem *problem, troc__groups *groups) {
    groups->group_capacity = troc_large_calloc((size_t)groups->group_count + 1, sizeof *groups->group_capacity);
    if (groups->group_capacity == NULL) return -ENOMEM;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        if (k + PREFETCH_OBLIGATIONS < problem->obligation_count) {
            __builtin_prefetch(&groups->group_capacity[groups->group_of[k + PREFETCH_OBLIGATIONS]], 1);
        }
        groups->group_capacity[groups->group_of[k]] += problem->obligations[k].amount_cents;
    }
    return 0;
}

int troc__groups_build(const troc_clearing_problem *problem, troc__groups *groups) {
    assert(problem != NULL && groups != NULL);
    assert(problem->obligation_count <= TROC_CLEARING_OBLIGATIONS_MAX);
    const size_t m = problem->obligation_count, n = (size_t)problem->firm_count + 1;
    *groups = (troc__groups){0};
    /* The sorted copy and three arrays per firm, in one block whose pages
     * are fewer and larger than four arrays' (base/large.h). */
    const size_t bytes = (m + 1) * sizeof(sorted_obligation) + 3 * n * sizeof(uint32_t);
    char *block = troc_large_malloc(bytes);
    if (block == NULL) return -ENOMEM;
    sorted_obligation *sorted = (sorted_obligation *)block;
    uint32_t *first = (uint32_t *)(sorted + m + 1), *marker_group = first + n, *marker_debtor = marker_group + n;
    int error = groups_allocate(groups, problem->firm_count, m);
    if (error != 0) goto cleanup;
    count_by_debtor(problem, first);
    sort_by_debtor(problem, first, marker_group, sorted); /* marker_group as scratch until grouping */
    group_obligations(problem, sorted, first, marker_group, marker_debtor, groups);
    free(block); /* before the capacities' pass: the solve's fullest moment */
    block = NULL;
    error = add_capacities(problem, groups);
cleanup:
    free(block);
    if (error != 0) troc__groups_free(groups);
    return error;
}

void troc__network_free(troc__network *network) {
    assert(network != NULL);
    if (!network->borrowed) {
        free(network->arc_first);
        free(network->arc_head);
    }
    free(network->arc_capacity);
    free(network->arc_cost);
    *network = (troc__network){0};
}

int troc__network_allocate(troc__network *network, uint32_t node_count, uint32_t arc_count) {
    *network = (troc__network){.node_count = node_count, .arc_count = arc_count};
    network->arc_first = troc_large_malloc(((size_t)node_count + 1) * sizeof *network->arc_first);
    network->arc_head = troc_large_malloc(((size_t)arc_count + 1) * sizeof *network->arc_head);
    network->arc_capacity = troc_large_malloc(((size_t)arc_count + 1) * sizeof *network->arc_capacity);
    network->arc_cost = troc_large_malloc(((size_t)arc_count + 1) * sizeof *network->arc_cost);
    if (network->arc_first == NULL || network->arc_head == NULL || network->arc_capacity == NULL ||
        network->arc_cost == NULL) {
        troc__network_free(network);
        return -ENOMEM;
    }
    return 0;
}

void troc__account_room(const troc_clearing_account *account, int64_t in_total_cents,
                        int64_t out_total_cents, int64_t *up_cents, int64_t *down_cents) {
    assert(account != NULL && up_cents != NULL && down_cents != NULL);
    assert(in_total_cents >= 0 && out_total_cents >= 0);
    /* Validated figures lie within +-TROC_CLEARING_TOTAL_CENTS_MAX, so these
     * differences cannot overflow. */
    const int64_t balance = account->balance_cents;
    const int64_t lowest = balance < -account->credit_limit_cents ? balance : -account->credit_limit_cents;
    int64_t up = in_total_cents;
    if (account->balance_max_cents != TROC_CLEARING_NO_MAX) {
        const int64_t highest = balance > account->balance_max_cents ? balance : account->balance_max_cents;
        if (highest - balance < up) up = highest - balance;
    }
    const int64_t down = balance - lowest < out_total_cents ? balance - lowest : out_total_cents;
    *up_cents = up;
    *down_cents = down;
}

troc_clearing_account troc_clearing_account_bounded(const troc_clearing_account *account) {
    assert(account != NULL);
    const int64_t bound = TROC_CLEARING_TOTAL_CENTS_MAX;
    const int64_t balance = account->balance_cents, limit = account->credit_limit_cents;
    const int64_t maximum = account->balance_max_cents;
    const bool within = balance >= -bound && balance <= bound && limit <= bound &&
                        (maximum <= bound || maximum == TROC_CLEARING_NO_MAX);
    if (within || limit < 0 || maximum < 0) return *account;
    /* The rooms as troc__account_room has them before its cap, in uint64:
     * they may pass INT64_MAX (a balance near it above a credit line). */
    const int64_t lowest = balance < -limit ? balance : -limit;
    const uint64_t down = (uint64_t)balance - (uint64_t)lowest;
    troc_clearing_account bounded = {
        .balance_cents = 0,
        .credit_limit_cents = down < (uint64_t)bound ? (int64_t)down : bound,
        .balance_max_cents = TROC_CLEARING_NO_MAX,
    };
    if (maximum != TROC_CLEARING_NO_MAX) {
        const int64_t highest = balance > maximum ? balance : maximum;
        const uint64_t up = (uint64_t)highest - (uint64_t)balance;
        bounded.balance_max_cents = up < (uint64_t)bound ? (int64_t)up : bound;
    } else if ((uint64_t)INT64_MAX - (uint64_t)balance < (uint64_t)bound) {
        /* No maximum, but a balance cannot pass INT64_MAX: a ledger would
         * refuse the payment that took it there. */
        bounded.balance_max_cents = INT64_MAX - balance;
    }
    /* Every room a valid problem caps (at most `bound`) is the same: from
     * 0, the balance falls to -credit_limit and rises to balance_max. */
    return bounded;
}

/* What each firm is owed (in_total) and owes (out_total) in all. */
static void firm_totals(const troc_clearing_problem *problem, int64_t *in_total, int64_t *out_total) {
    for (uint32_t v = 0; v < problem->firm_count; v++) in_total[v] = out_total[v] = 0;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        const troc_obligation *o = &problem->obligations[k];
        in_total[o->creditor] += o->amount_cents;
        out_total[o->debtor] += o->amount_cents;
    }
}

/* Fills the arcs: each firm's groups (a capacity of 0 gives no arc), then its
 * slack arc to the balance node; then the balance node's arcs.  `up` and
 * `down` are NULL in plain mode.  Returns the number of arcs written; with
 * `network` NULL only counts. */
static uint32_t network_fill(const troc_clearing_problem *problem, troc__groups *groups,
                             const int64_t *group_capacity, const int64_t *up, const int64_t *down,
                             troc__network *network) {
    const uint32_t n = problem->firm_count;
    uint32_t a = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (network != NULL) network->arc_first[v] = a;
        for (uint32_t g = groups->group_first[v]; g < groups->group_first[v + 1]; g++) {
            const int64_t capacity = group_capacity ? group_capacity[g] : groups->group_capacity[g];
            if (network == NULL) {
                a += capacity > 0;
                continue;
            }
            groups->group_arc[g] = TROC__NONE;
            if (capacity == 0) continue;
            network->arc_head[a] = groups->group_creditor[g];
            network->arc_capacity[a] = capacity;
            network->arc_cost[a] = -1;
            groups->group_arc[g] = a++;
        }
        if (up != NULL && up[v] > 0) {
            if (network != NULL) {
                network->arc_head[a] = n;
                network->arc_capacity[a] = up[v];
                network->arc_cost[a] = 0;
            }
            a++;
        }
    }
    if (up == NULL) return a;
    if (network != NULL) network->arc_first[n] = a;
    for (uint32_t v = 0; v < n; v++) {
        if (down[v] == 0) continue;
        if (network != NULL) {
            network->arc_head[a] = v;
            network->arc_capacity[a] = down[v];
            network->arc_cost[a] = 0;
        }
        a++;
    }
    return a;
}

static int network_make(const troc_clearing_problem *problem, troc__groups *groups,
                        const int64_t *group_capacity, const int64_t *up, const int64_t *down,
                        troc__network *network) {
    const uint32_t node_count = problem->firm_count + (up != NULL ? 1u : 0u);
    const uint32_t arc_count = network_fill(problem, groups, group_capacity, up, down, NULL);
    if (groups->group_arc == NULL) {
        groups->group_arc = troc_large_malloc(((size_t)groups->group_count + 1) * sizeof *groups->group_arc);
        if (groups->group_arc == NULL) return -ENOMEM;
    }
    int error = troc__network_allocate(network, node_count, arc_count);
    if (error != 0) return error;
    uint32_t written = network_fill(problem, groups, group_capacity, up, down, network);
    assert(written == arc_count);
    network->arc_first[node_count] = written;
    return 0;
}

/* Plain mode: every group is an arc of cost -1, in group order, so the
 * groups' arrays are the network's, arc g carries group g (no group_arc)
 * and every cost is -1 (no arc_cost).  The capacities change hands: the
 * solve frees them once they are in the residual graph. */
static void network_of_groups(const troc_clearing_problem *problem, troc__groups *groups,
                              troc__network *network) {
    *network = (troc__network){.node_count = problem->firm_count, .arc_count = groups->group_count,
                               .arc_first = groups->group_first, .arc_head = groups->group_creditor,
                               .arc_capacity = groups->group_capacity, .borrowed = true};
    groups->group_capacity = NULL;
    assert(groups->group_first[problem->firm_count] == groups->group_count);
    for (uint32_t g = 0; g < groups->group_count; g++) assert(network->arc_capacity[g] > 0);
}

int troc__network_build(const troc_clearing_problem *problem, troc__groups *groups,
                        troc__network *network) {
    assert(problem != NULL && groups != NULL && network != NULL);
    assert(problem->firm_count < TROC_CLEARING_FIRMS_MAX + 1u);
    if (problem->accounts == NULL) {
        network_of_groups(problem, groups, network);
        return 0;
    }

    const uint32_t n = problem->firm_count;
    int error = -ENOMEM;
    int64_t *in_total = troc_large_malloc(((size_t)n + 1) * sizeof *in_total);
    int64_t *out_total = troc_large_malloc(((size_t)n + 1) * sizeof *out_total);
    if (in_total == NULL || out_total == NULL) goto cleanup;
    firm_totals(problem, in_total, out_total);
    /* The room replaces the totals in place: up in in_total, down in out_total. */
    for (uint32_t v = 0; v < n; v++) {
        troc__account_room(&problem->accounts[v], in_total[v], out_total[v], &in_total[v], &out_total[v]);
    }
    error = network_make(problem, groups, NULL, in_total, out_total, network);
cleanup:
    free(in_total);
    free(out_total);
    return error;
}

int troc__network_build_capacities(const troc_clearing_problem *problem, troc__groups *groups,
                                   const int64_t *group_capacity, troc__network *network) {
    assert(problem != NULL && groups != NULL && network != NULL);
    assert(group_capacity != NULL);
    return network_make(problem, groups, group_capacity, NULL, NULL, network);
}
