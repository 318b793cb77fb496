/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From obligations to the solver's network.
 *
 * Obligations are sorted by (debtor, creditor, index) with two stable
 * counting-sort passes (by creditor, then by debtor): linear time, no
 * comparisons, and obligations of one pair stay in array order, which is the
 * oldest-first order the split relies on.  Each run of equal pairs becomes a
 * group, and each group one arc whose capacity is the group's total.  Since
 * the order is by debtor, the arcs come out already grouped by tail: the CSR
 * offsets fall out of one scan.
 *
 * Credit mode adds a balance node after the firms, an arc firm -> balance
 * node with the room of the firm's balance to rise and an arc back with its
 * room to fall, both of cost 0.  Room is capped by what the firm's
 * obligations could move at most, so that an account without a maximum gets
 * a finite arc and no capacity ever exceeds the total of all obligations.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "base/limits.h"
#include "clearing_int.h"

void troc__groups_free(troc__groups *groups) {
    assert(groups != NULL);
    free(groups->order);
    free(groups->group_first);
    free(groups->group_arc);
    *groups = (troc__groups){0};
}

/* order := obligation indices sorted by (debtor, creditor, index). */
static int sort_obligations(const troc_clearing_problem *problem, uint32_t *order) {
    const uint32_t n = problem->firm_count;
    const size_t m = problem->obligation_count;
    const troc_obligation *obligations = problem->obligations;
    uint32_t *position = calloc((size_t)n + 1, sizeof *position);
    uint32_t *by_creditor = malloc((m ? m : 1) * sizeof *by_creditor);
    if (position == NULL || by_creditor == NULL) {
        free(position);
        free(by_creditor);
        return -ENOMEM;
    }
    for (size_t k = 0; k < m; k++) position[obligations[k].creditor + 1]++;
    for (uint32_t v = 0; v < n; v++) position[v + 1] += position[v];
    for (size_t k = 0; k < m; k++) by_creditor[position[obligations[k].creditor]++] = (uint32_t)k;

    for (uint32_t v = 0; v <= n; v++) position[v] = 0;
    for (size_t k = 0; k < m; k++) position[obligations[k].debtor + 1]++;
    for (uint32_t v = 0; v < n; v++) position[v + 1] += position[v];
    for (size_t i = 0; i < m; i++) {
        uint32_t k = by_creditor[i];
        order[position[obligations[k].debtor]++] = k;
    }
    assert(n == 0 || position[n - 1] == m);
    free(position);
    free(by_creditor);
    return 0;
}

static bool same_pair(const troc_obligation *a, const troc_obligation *b) {
    return a->debtor == b->debtor && a->creditor == b->creditor;
}

int troc__groups_build(const troc_clearing_problem *problem, troc__groups *groups) {
    assert(problem != NULL && groups != NULL);
    assert(problem->obligation_count <= TROC_CLEARING_OBLIGATIONS_MAX);
    const size_t m = problem->obligation_count;
    const troc_obligation *obligations = problem->obligations;
    *groups = (troc__groups){0};
    int error = -ENOMEM;
    groups->order = malloc((m ? m : 1) * sizeof *groups->order);
    if (groups->order == NULL) goto fail;
    error = sort_obligations(problem, groups->order);
    if (error != 0) goto fail;

    uint32_t count = 0;
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || !same_pair(&obligations[groups->order[i]], &obligations[groups->order[i - 1]])) {
            count++;
        }
    }
    error = -ENOMEM;
    groups->group_first = malloc(((size_t)count + 1) * sizeof *groups->group_first);
    groups->group_arc = malloc(((size_t)count + 1) * sizeof *groups->group_arc);
    if (groups->group_first == NULL || groups->group_arc == NULL) goto fail;
    uint32_t g = 0;
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || !same_pair(&obligations[groups->order[i]], &obligations[groups->order[i - 1]])) {
            groups->group_arc[g] = TROC__NONE;
            groups->group_first[g++] = (uint32_t)i;
        }
    }
    assert(g == count);
    groups->group_first[count] = (uint32_t)m;
    groups->group_count = count;
    return 0;
fail:
    troc__groups_free(groups);
    return error;
}

void troc__network_free(troc__network *network) {
    assert(network != NULL);
    free(network->arc_first);
    free(network->arc_head);
    free(network->arc_capacity);
    free(network->arc_cost);
    *network = (troc__network){0};
}

static int network_allocate(troc__network *network, uint32_t node_count, uint32_t arc_count) {
    *network = (troc__network){.node_count = node_count, .arc_count = arc_count};
    network->arc_first = malloc(((size_t)node_count + 1) * sizeof *network->arc_first);
    network->arc_head = malloc(((size_t)arc_count + 1) * sizeof *network->arc_head);
    network->arc_capacity = malloc(((size_t)arc_count + 1) * sizeof *network->arc_capacity);
    network->arc_cost = malloc(((size_t)arc_count + 1) * sizeof *network->arc_cost);
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

/* What each firm is owed (in_total) and owes (out_total) in all. */
static void firm_totals(const troc_clearing_problem *problem, int64_t *in_total, int64_t *out_total) {
    for (uint32_t v = 0; v < problem->firm_count; v++) in_total[v] = out_total[v] = 0;
    for (size_t k = 0; k < problem->obligation_count; k++) {
        const troc_obligation *o = &problem->obligations[k];
        in_total[o->creditor] += o->amount_cents;
        out_total[o->debtor] += o->amount_cents;
    }
}

/* Capacity of each group: the sum of its obligations. */
static int64_t group_total(const troc_clearing_problem *problem, const troc__groups *groups, uint32_t g) {
    int64_t total = 0;
    for (uint32_t i = groups->group_first[g]; i < groups->group_first[g + 1]; i++) {
        total += problem->obligations[groups->order[i]].amount_cents;
    }
    return total;
}

/* Fills the arcs: each firm's groups (a capacity of 0 gives no arc), then its
 * slack arc to the balance node; then the balance node's arcs.  `up` and
 * `down` are NULL in plain mode.  Returns the number of arcs written; with
 * `network` NULL only counts. */
static uint32_t network_fill(const troc_clearing_problem *problem, troc__groups *groups,
                             const int64_t *group_capacity, const int64_t *up, const int64_t *down,
                             troc__network *network) {
    const uint32_t n = problem->firm_count;
    uint32_t a = 0, g = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (network != NULL) network->arc_first[v] = a;
        for (; g < groups->group_count; g++) {
            const troc_obligation *o = &problem->obligations[groups->order[groups->group_first[g]]];
            if (o->debtor != v) break;
            const int64_t capacity = group_capacity ? group_capacity[g] : group_total(problem, groups, g);
            if (network == NULL) {
                a += capacity > 0;
                continue;
            }
            groups->group_arc[g] = TROC__NONE;
            if (capacity == 0) continue;
            network->arc_head[a] = o->creditor;
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
    assert(g == groups->group_count);
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
    int error = network_allocate(network, node_count, arc_count);
    if (error != 0) return error;
    uint32_t written = network_fill(problem, groups, group_capacity, up, down, network);
    assert(written == arc_count);
    network->arc_first[node_count] = written;
    return 0;
}

int troc__network_build(const troc_clearing_problem *problem, troc__groups *groups,
                        troc__network *network) {
    assert(problem != NULL && groups != NULL && network != NULL);
    assert(problem->firm_count < TROC_CLEARING_FIRMS_MAX + 1u);
    if (problem->accounts == NULL) return network_make(problem, groups, NULL, NULL, NULL, network);

    const uint32_t n = problem->firm_count;
    int error = -ENOMEM;
    int64_t *in_total = malloc(((size_t)n + 1) * sizeof *in_total);
    int64_t *out_total = malloc(((size_t)n + 1) * sizeof *out_total);
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
