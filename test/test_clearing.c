/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the clearing solver and its checker.
 *
 * The hand-made instances of ../shared/data/clearing/small are built here in
 * C with their known optimum.  Random small networks (seeded, so every run
 * sees the same ones) are compared with a reference solver written for this
 * test only: cycle cancelling with Bellman-Ford on the residual graph of the
 * circulation problem, one arc per obligation (no merging), which is slow and
 * obviously correct.  Credit mode is compared the same way with the balance
 * node built from the accounts' definition, and its split is compared with
 * the reference's maximum set-off within the settled amounts.  The checker
 * must refuse non-optimal and infeasible results; validate must refuse bad
 * problems; an account beyond the bound must solve as its bounded
 * equivalent; the oldest-first split must be deterministic.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "clearing/clearing.h"
#include "clearing/clearing_int.h"

/* Reference solver: cycle cancelling ---------------------------------------- */

#define REF_NODES_MAX 16
#define REF_ARCS_MAX 128

typedef struct ref_arc {
    int tail, head;
    int64_t capacity, flow;
    int cost; /* -1 obligation, 0 slack */
} ref_arc;

typedef struct ref_network {
    int node_count, arc_count;
    ref_arc arcs[REF_ARCS_MAX];
} ref_network;

static void ref_add(ref_network *net, int tail, int head, int64_t capacity, int cost) {
    assert_true(net->arc_count < REF_ARCS_MAX);
    net->arcs[net->arc_count++] = (ref_arc){tail, head, capacity, 0, cost};
}

/* Finds a negative cycle of the residual graph with Bellman-Ford from a
 * virtual source; pushes its bottleneck around it.  Returns 0 if none. */
static int ref_cancel_one(ref_network *net) {
    int64_t dist[REF_NODES_MAX];
    int via[REF_NODES_MAX]; /* residual edge into node: 2 * arc (+1 for backward) */
    for (int v = 0; v < net->node_count; v++) dist[v] = 0, via[v] = -1;
    int relaxed_node = -1;
    for (int round = 0; round < net->node_count; round++) {
        relaxed_node = -1;
        for (int i = 0; i < 2 * net->arc_count; i++) {
            const ref_arc *a = &net->arcs[i / 2];
            const int backward = i % 2;
            const int64_t room = backward ? a->flow : a->capacity - a->flow;
            const int from = backward ? a->head : a->tail, to = backward ? a->tail : a->head;
            const int cost = backward ? -a->cost : a->cost;
            if (room > 0 && dist[from] + cost < dist[to]) {
                dist[to] = dist[from] + cost;
                via[to] = i;
                relaxed_node = to;
            }
        }
        if (relaxed_node < 0) return 0;
    }
    int v = relaxed_node; /* walk back n times to land on the cycle */
    for (int i = 0; i < net->node_count; i++) v = (via[v] % 2) ? net->arcs[via[v] / 2].head : net->arcs[via[v] / 2].tail;
    int64_t bottleneck = INT64_MAX;
    int u = v;
    do {
        const ref_arc *a = &net->arcs[via[u] / 2];
        const int64_t room = (via[u] % 2) ? a->flow : a->capacity - a->flow;
        if (room < bottleneck) bottleneck = room;
        u = (via[u] % 2) ? a->head : a->tail;
    } while (u != v);
    do {
        ref_arc *a = &net->arcs[via[u] / 2];
        a->flow += (via[u] % 2) ? -bottleneck : bottleneck;
        u = (via[u] % 2) ? a->head : a->tail;
    } while (u != v);
    return 1;
}

/* The maximum flow on cost -1 arcs over all circulations. */
static int64_t ref_solve(ref_network *net) {
    for (int guard = 0; guard < 100000 && ref_cancel_one(net); guard++) continue;
    assert_int_equal(ref_cancel_one(net), 0);
    int64_t total = 0;
    for (int i = 0; i < net->arc_count; i++) {
        if (net->arcs[i].cost < 0) total += net->arcs[i].flow;
    }
    return total;
}

/* Plain set-off of a problem with the given capacity per obligation. */
static int64_t ref_plain(const troc_clearing_problem *p, const int64_t *capacity) {
    ref_network net = {.node_count = (int)p->firm_count};
    for (size_t k = 0; k < p->obligation_count; k++) {
        const troc_obligation *o = &p->obligations[k];
        ref_add(&net, (int)o->debtor, (int)o->creditor, capacity ? capacity[k] : o->amount_cents, -1);
    }
    return ref_solve(&net);
}

/* Credit mode: maximum set-off plus payments, balances within bounds. */
static int64_t ref_credit(const troc_clearing_problem *p) {
    ref_network net = {.node_count = (int)p->firm_count + 1};
    const int z = (int)p->firm_count;
    int64_t total = 0;
    for (size_t k = 0; k < p->obligation_count; k++) {
        const troc_obligation *o = &p->obligations[k];
        ref_add(&net, (int)o->debtor, (int)o->creditor, o->amount_cents, -1);
        total += o->amount_cents;
    }
    for (uint32_t v = 0; v < p->firm_count; v++) {
        const troc_clearing_account *a = &p->accounts[v];
        const int64_t low = a->balance_cents < -a->credit_limit_cents ? a->balance_cents : -a->credit_limit_cents;
        int64_t up = total; /* enough for "no maximum" */
        if (a->balance_max_cents != TROC_CLEARING_NO_MAX) {
            up = (a->balance_cents > a->balance_max_cents ? a->balance_cents : a->balance_max_cents) - a->balance_cents;
        }
        ref_add(&net, (int)v, z, up, 0);
        ref_add(&net, z, (int)v, a->balance_cents - low, 0);
    }
    return ref_solve(&net);
}

/* Helpers ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rng_below(uint32_t bound) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng_state >> 33) % bound);
}

static troc_clearing_problem plain_problem(uint32_t firms, const troc_obligation *obligations, size_t count) {
    return (troc_clearing_problem){.firm_count = firms, .obligation_count = count, .obligations = obligations};
}

/* A problem's groups, network and components, as the solve builds them. */
typedef struct solver_input {
    troc__groups groups;
    troc__network network;
    troc__components components;
} solver_input;

static void solver_input_build(const troc_clearing_problem *p, solver_input *in) {
    *in = (solver_input){0};
    assert_int_equal(troc__groups_build(p, &in->groups), 0);
    assert_int_equal(troc__network_build(p, &in->groups, &in->network), 0);
    assert_int_equal(troc__components_find(&in->network, in->network.node_count, &in->components), 0);
}

static void solver_input_free(solver_input *in) {
    troc__components_free(&in->components);
    troc__network_free(&in->network);
    troc__groups_free(&in->groups);
}

static void solve_ok(const troc_clearing_problem *p, troc_clearing_result *r) {
    assert_int_equal(troc_clearing_solve(p, r, NULL, NULL), 0);
    assert_int_equal(troc_clearing_check(p, r), 0);
}

/* Hand-made instances (../shared/data/clearing/small) ---------------------- */

static void test_small_instances(void **state) {
    (void)state;
    enum { A, B, C, D };
    static const troc_obligation cents[] = {{A, B, 1}, {B, A, 2}, {B, C, 150}, {C, A, 225}};
    static const troc_obligation chain[] = {{A, B, 1000}, {B, C, 1000}, {C, D, 1000}};
    static const troc_obligation parallel[] = {{A, B, 5000}, {A, B, 3000}, {B, A, 6000}};
    static const troc_obligation shared_arc[] = {{A, B, 100}, {B, A, 100}, {B, C, 100}, {C, A, 100}};
    static const troc_obligation triangle[] = {{A, B, 10000}, {B, C, 10000}, {C, A, 10000}};
    static const struct {
        const troc_obligation *obligations;
        size_t count;
        uint32_t firms;
        int64_t total, cleared;
        int64_t each[4]; /* expected cleared per obligation */
    } cases[] = {
        {cents, 4, 3, 378, 3, {1, 0, 1, 1}},
        {chain, 3, 4, 3000, 0, {0, 0, 0}},
        {parallel, 3, 2, 14000, 12000, {5000, 1000, 6000}},
        {shared_arc, 4, 3, 400, 300, {100, 0, 100, 100}}, /* the longer cycle wins */
        {triangle, 3, 3, 30000, 30000, {10000, 10000, 10000}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        troc_clearing_problem p = plain_problem(cases[i].firms, cases[i].obligations, cases[i].count);
        troc_clearing_result r;
        solve_ok(&p, &r);
        assert_true(r.total_cents == cases[i].total);
        assert_true(r.cleared_total_cents == cases[i].cleared);
        assert_true(r.paid_total_cents == 0);
        assert_null(r.split_potentials);
        for (size_t k = 0; k < cases[i].count; k++) assert_true(r.cleared_cents[k] == cases[i].each[k]);
        troc_clearing_result_free(&r);
    }
}

/* cents.csv: netting A<->B first (1 cent each way, 2 in all) leaves no cycle;
 * the optimum sends A's only cent owed round the longer cycle A->B->C->A:
 * 3 cents. */
static void test_greedy_pair_netting_is_not_optimal(void **state) {
    (void)state;
    static const troc_obligation cents[] = {{0, 1, 1}, {1, 0, 2}, {1, 2, 150}, {2, 0, 225}};
    troc_clearing_problem p = plain_problem(3, cents, 4);
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 3);
    assert_true(r.cleared_total_cents == ref_plain(&p, NULL));
    assert_int_equal(r.component_count, 1);
    assert_int_equal(r.cycle_firm_count, 3);
    assert_int_equal(r.cycle_obligation_count, 4);
    troc_clearing_result_free(&r);
}

/* Two cycles joined by a one-way arc: two components, solved apart, and a
 * certificate that also proves the arc between them empty. */
static void test_components_solved_apart(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 100}, {1, 2, 100}, {2, 0, 100}, {2, 3, 30},
                                         {3, 4, 50},  {4, 3, 70},  {5, 0, 10}};
    troc_clearing_problem p = plain_problem(6, ob, 7);
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 400);
    assert_true(r.cleared_cents[3] == 0 && r.cleared_cents[6] == 0);
    assert_int_equal(r.component_count, 2);
    assert_int_equal(r.cycle_firm_count, 5);
    assert_int_equal(r.cycle_obligation_count, 5);
    /* The arc between components needs p[debtor] >= p[creditor] + 1. */
    assert_true(r.potentials[2] > r.potentials[3]);
    troc_clearing_result_free(&r);
}

static void test_empty_problems(void **state) {
    (void)state;
    troc_clearing_problem p = plain_problem(0, NULL, 0);
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.total_cents == 0 && r.cleared_total_cents == 0);
    troc_clearing_result_free(&r);
    troc_clearing_result_free(&r); /* safe twice */
    const troc_clearing_account accounts[3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    p = (troc_clearing_problem){.firm_count = 3, .accounts = accounts};
    solve_ok(&p, &r);
    assert_true(r.paid_total_cents == 0);
    troc_clearing_result_free(&r);
}

/* Random networks against the reference ----------------------------------- */

static size_t random_obligations(troc_obligation *out, uint32_t firms, size_t max_count) {
    const size_t count = 1 + rng_below((uint32_t)max_count);
    for (size_t k = 0; k < count; k++) {
        const uint32_t d = rng_below(firms);
        uint32_t c = rng_below(firms - 1);
        if (c >= d) c++;
        /* Repeat a pair now and then: parallel obligations. */
        if (k > 0 && rng_below(5) == 0) out[k] = out[rng_below((uint32_t)k)];
        else out[k] = (troc_obligation){d, c, 0};
        out[k].amount_cents = 1 + rng_below(rng_below(3) == 0 ? 1000 : 20);
    }
    return count;
}

static void test_random_plain_matches_reference(void **state) {
    (void)state;
    rng_state = 20240601;
    troc_obligation obligations[40];
    for (int round = 0; round < 400; round++) {
        const uint32_t firms = 2 + rng_below(9);
        const size_t count = random_obligations(obligations, firms, 40);
        troc_clearing_problem p = plain_problem(firms, obligations, count);
        troc_clearing_result r;
        solve_ok(&p, &r);
        assert_true(r.cleared_total_cents == ref_plain(&p, NULL));
        troc_clearing_result_free(&r);
    }
}

static void random_accounts(troc_clearing_account *accounts, uint32_t firms) {
    for (uint32_t v = 0; v < firms; v++) {
        accounts[v].balance_cents = (int64_t)rng_below(61) - 30;
        accounts[v].credit_limit_cents = rng_below(4) == 0 ? 0 : rng_below(40);
        accounts[v].balance_max_cents = rng_below(3) == 0 ? TROC_CLEARING_NO_MAX : rng_below(40);
    }
}

/* Solves a credit-mode problem of at most 40 obligations and compares it
 * with the reference. */
static void expect_credit_optimal(const troc_clearing_problem *p) {
    int64_t settled[40];
    assert_true(p->obligation_count <= 40);
    troc_clearing_result r;
    solve_ok(p, &r);
    assert_true(r.cleared_total_cents + r.paid_total_cents == ref_credit(p));
    /* The split: the largest set-off within what is settled. */
    for (size_t k = 0; k < p->obligation_count; k++) settled[k] = r.cleared_cents[k] + r.paid_cents[k];
    assert_true(r.cleared_total_cents == ref_plain(p, settled));
    /* Set-off alone never exceeds the plain optimum. */
    assert_true(r.cleared_total_cents <= ref_plain(p, NULL));
    troc_clearing_result_free(&r);
}

static void test_random_credit_matches_reference(void **state) {
    (void)state;
    rng_state = 77;
    troc_obligation obligations[30];
    troc_clearing_account accounts[10];
    for (int round = 0; round < 400; round++) {
        const uint32_t firms = 2 + rng_below(8);
        const size_t count = random_obligations(obligations, firms, 30);
        random_accounts(accounts, firms);
        troc_clearing_problem p = plain_problem(firms, obligations, count);
        p.accounts = accounts;
        expect_credit_optimal(&p);
    }
}

/* Chains ------------------------------------------------------------------- */

/* Rings and paths of firms with one debtor and one creditor, or owing both
 * neighbours, joined by a few chords and parallel obligations: the chains
 * the solver contracts and the firms it peels, in every shape (a chain
 * between two hubs, back to its own start, a ring made only of chain firms,
 * two firms owing each other, a line hanging off a ring), against the
 * reference. */
static size_t random_chained_obligations(troc_obligation *out, uint32_t firms, size_t max_count) {
    size_t count = 0;
    uint32_t start = 0;
    while (start < firms && count + 2 < max_count) {
        const uint32_t length = 2 + rng_below(firms - 1); /* firms in this ring or path */
        const uint32_t end = start + length > firms ? firms : start + length;
        const bool ring = rng_below(3) != 0, both_ways = rng_below(3) == 0;
        for (uint32_t v = start; v + 1 < end && count < max_count; v++) {
            out[count++] = (troc_obligation){v, v + 1, 0};
            if (both_ways && count < max_count) out[count++] = (troc_obligation){v + 1, v, 0};
        }
        if (ring && end - start >= 2 && count < max_count) out[count++] = (troc_obligation){end - 1, start, 0};
        start = end;
    }
    /* Now and then firms owing one outside every cycle, or chords between
     * components: arcs the reduction must leave as they are. */
    const uint32_t sinks = rng_below(3) == 0 ? 1 + rng_below(4) : 0;
    for (uint32_t i = 0; i < sinks && count < max_count; i++) out[count++] = (troc_obligation){rng_below(firms - 1), firms - 1, 0};
    const uint32_t chords = rng_below(4);
    for (uint32_t i = 0; i < chords && count < max_count; i++) {
        const uint32_t d = rng_below(firms);
        uint32_t c = rng_below(firms - 1);
        if (c >= d) c++;
        out[count++] = (troc_obligation){d, c, 0};
    }
    if (count > 0 && count < max_count && rng_below(4) == 0) {
        out[count] = out[rng_below((uint32_t)count)];
        count++;
    }
    for (size_t k = 0; k < count; k++) out[k].amount_cents = 1 + rng_below(rng_below(2) == 0 ? 5 : 1000);
    return count;
}

static void test_random_reductions_match_reference(void **state) {
    (void)state;
    rng_state = 4242;
    troc_obligation obligations[40];
    troc_clearing_account accounts[14];
    for (int round = 0; round < 600; round++) {
        const uint32_t firms = 2 + rng_below(13);
        const size_t count = random_chained_obligations(obligations, firms, 40);
        troc_clearing_problem p = plain_problem(firms, obligations, count);
        troc_clearing_result r;
        solve_ok(&p, &r);
        assert_true(r.cleared_total_cents == ref_plain(&p, NULL));
        troc_clearing_result_free(&r);
        /* Credit mode: accounts without room keep their firms off the
         * balance node, so its main solve is reduced too, and so is its
         * split's. */
        random_accounts(accounts, firms);
        for (uint32_t v = 0; v < firms; v++) {
            const uint32_t pick = rng_below(6);
            if (pick < 2) accounts[v] = (troc_clearing_account){0, 0, 0};
            if (pick == 2) accounts[v] = (troc_clearing_account){0, 0, TROC_CLEARING_NO_MAX};
        }
        p.accounts = accounts;
        expect_credit_optimal(&p);
    }
}

/* The reduction itself.  On a ring of 40 firms: alone, it is one chain
 * back to its start and leaves no arc; each chord cuts it into one chain
 * more; a single firm inside a chain is not worth a copy of the network.
 * A line of firms owing both neighbours is peeled to its last firm; a line
 * hanging off a ring is peeled, and leaves the ring one chain. */
static void expect_reduction(const troc_obligation *obligations, size_t count, uint32_t firms, uint32_t leaf_count,
                             uint32_t chain_count, uint32_t reduced_arc_count) {
    troc_clearing_problem p = plain_problem(firms, obligations, count);
    solver_input in;
    troc__reduction reduction = {0};
    solver_input_build(&p, &in);
    assert_int_equal(troc__reduction_build(&in.network, &in.components, &reduction), 0);
    assert_int_equal(reduction.leaf_count, leaf_count);
    assert_int_equal(reduction.chain_count, chain_count);
    if (leaf_count + chain_count > 0) assert_int_equal(reduction.reduced.arc_count, reduced_arc_count);
    troc__reduction_free(&reduction);
    solver_input_free(&in);
    /* And the solve through it is proved optimal by its certificate. */
    troc_clearing_result r;
    solve_ok(&p, &r);
    troc_clearing_result_free(&r);
}

static void test_reduction(void **state) {
    (void)state;
    enum { FIRMS = 40, LINE = 20 };
    troc_obligation ob[2 * FIRMS + 2 * LINE];
    for (uint32_t v = 0; v < FIRMS; v++) ob[v] = (troc_obligation){v, (v + 1) % FIRMS, 100 + v};
    expect_reduction(ob, FIRMS, FIRMS, 0, 1, 0);
    ob[FIRMS] = (troc_obligation){0, 20, 7};
    expect_reduction(ob, FIRMS + 1, FIRMS, 0, 2, 3); /* 0..20, 20..0, and the chord */
    ob[FIRMS + 1] = (troc_obligation){30, 10, 7};
    expect_reduction(ob, FIRMS + 2, FIRMS, 0, 4, 6); /* 0..10, 10..20, 20..30, 30..0, two chords */
    /* Both ways round, but for the two arcs around firm 5: 5 alone is inside. */
    size_t count = FIRMS;
    for (uint32_t v = 0; v < FIRMS; v++) {
        if (v != 5 && v != 6) ob[count++] = (troc_obligation){v, (v + FIRMS - 1) % FIRMS, 50};
    }
    expect_reduction(ob, count, FIRMS, 0, 0, 0);
    /* The ring, each firm also owing firm 40 outside it: still one chain,
     * the arcs to firm 40 left as they are. */
    for (uint32_t v = 0; v < FIRMS; v++) ob[FIRMS + v] = (troc_obligation){v, FIRMS, 5};
    expect_reduction(ob, 2 * FIRMS, FIRMS + 1, 0, 1, FIRMS);
    /* The ring with a line of 20 firms hanging off firm 0, both ways. */
    count = FIRMS;
    for (uint32_t i = 0; i < LINE; i++) {
        const uint32_t v = FIRMS + i, before = i == 0 ? 0 : v - 1;
        ob[count++] = (troc_obligation){before, v, 10 + i % 3};
        ob[count++] = (troc_obligation){v, before, 11};
    }
    expect_reduction(ob, count, FIRMS + LINE, LINE, 1, 0);
    /* The line alone (firms 40 to 59, firm 0 at its end). */
    expect_reduction(ob + FIRMS, 2 * LINE, FIRMS + LINE, LINE, 0, 0);
    troc_clearing_problem p = plain_problem(FIRMS + LINE, ob + FIRMS, 2 * LINE);
    troc_clearing_result r;
    solve_ok(&p, &r);
    int64_t pairs = 0; /* each pair sets off its smaller amount both ways */
    for (uint32_t i = 0; i < LINE; i++) pairs += 2 * (10 + i % 3 < 11 ? 10 + i % 3 : 11);
    assert_true(r.cleared_total_cents == pairs);
    troc_clearing_result_free(&r);
    /* The ring alone sets off its least amount all round. */
    p = plain_problem(FIRMS, ob, FIRMS);
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == FIRMS * 100);
    troc_clearing_result_free(&r);
}

/* Long rings and lines: the optimal potentials move by one per firm, which
 * took the solver one phase per firm before the network was reduced (a ring
 * of 50,000 firms: two minutes; this one would take hours). */
static void test_long_rings(void **state) {
    (void)state;
    enum { FIRMS = 200000 };
    troc_obligation *ob = malloc(2 * FIRMS * sizeof *ob);
    assert_non_null(ob);
    for (uint32_t v = 0; v < FIRMS; v++) ob[v] = (troc_obligation){v, (v + 1) % FIRMS, FIRMS - v};
    troc_clearing_problem p = plain_problem(FIRMS, ob, FIRMS);
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == FIRMS); /* one cent all round */
    troc_clearing_result_free(&r);
    /* Random amounts and 100 chords. */
    rng_state = 99;
    for (uint32_t v = 0; v < FIRMS; v++) ob[v].amount_cents = 1 + rng_below(100000);
    for (uint32_t i = 0; i < 100; i++) {
        const uint32_t d = rng_below(FIRMS);
        ob[FIRMS + i] = (troc_obligation){d, (d + 1 + rng_below(FIRMS - 1)) % FIRMS, 1 + rng_below(100000)};
    }
    p = plain_problem(FIRMS, ob, FIRMS + 100);
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents > 0);
    troc_clearing_result_free(&r);
    /* The first ring again, each firm also owing a supplier outside it. */
    for (uint32_t v = 0; v < FIRMS; v++) {
        ob[v].amount_cents = FIRMS - v;
        ob[FIRMS + v] = (troc_obligation){v, FIRMS, 1};
    }
    p = plain_problem(FIRMS + 1, ob, 2 * FIRMS);
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == FIRMS);
    troc_clearing_result_free(&r);
    free(ob);
    /* A line of firms owing both neighbours: each pair sets off its smaller
     * amount both ways. */
    ob = malloc(2 * (FIRMS - 1) * sizeof *ob);
    assert_non_null(ob);
    int64_t pairs = 0;
    for (uint32_t v = 0; v + 1 < FIRMS; v++) {
        ob[2 * v] = (troc_obligation){v, v + 1, 1 + rng_below(100000)};
        ob[2 * v + 1] = (troc_obligation){v + 1, v, 1 + rng_below(100000)};
        const int64_t a = ob[2 * v].amount_cents, b = ob[2 * v + 1].amount_cents;
        pairs += 2 * (a < b ? a : b);
    }
    p = plain_problem(FIRMS, ob, 2 * (FIRMS - 1));
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == pairs);
    troc_clearing_result_free(&r);
    free(ob);
}

/* Credit mode by hand ------------------------------------------------------ */

/* A owes B 100, B owes C 100.  A may go to -60, C may rise to 50: at most 50
 * is paid along the chain, B's balance unchanged; nothing can be set off. */
static void test_credit_chain_within_limits(void **state) {
    (void)state;
    static const troc_obligation chain[] = {{0, 1, 100}, {1, 2, 100}};
    const troc_clearing_account accounts[] = {{0, 60, TROC_CLEARING_NO_MAX}, {0, 0, 0}, {0, 0, 50}};
    troc_clearing_problem p = {.firm_count = 3, .obligation_count = 2, .obligations = chain, .accounts = accounts};
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 0);
    assert_true(r.paid_cents[0] == 50 && r.paid_cents[1] == 50);
    assert_true(r.paid_total_cents == 100);
    troc_clearing_result_free(&r);
}

/* A triangle of 100 plus A owes B 30 more.  The triangle is set off (no
 * balance moves); the extra 30 is paid only as far as A's limit (20) and
 * B's maximum allow. */
static void test_credit_sets_off_before_paying(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 100}, {1, 2, 100}, {2, 0, 100}, {0, 1, 30}};
    const troc_clearing_account accounts[] = {{0, 20, TROC_CLEARING_NO_MAX}, {0, 0, TROC_CLEARING_NO_MAX}, {0, 0, 0}};
    troc_clearing_problem p = {.firm_count = 3, .obligation_count = 4, .obligations = ob, .accounts = accounts};
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 300);
    assert_true(r.paid_total_cents == 20);
    /* Oldest first: the first A->B obligation is cleared, the later one paid. */
    assert_true(r.cleared_cents[0] == 100 && r.paid_cents[0] == 0);
    assert_true(r.cleared_cents[3] == 0 && r.paid_cents[3] == 20);
    troc_clearing_result_free(&r);
}

/* An account already below its limit may not get worse, but may improve. */
static void test_credit_account_outside_bounds(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 100}, {1, 0, 40}};
    /* A at -500 with limit 100: it may not pay (its balance would fall). */
    const troc_clearing_account accounts[] = {{-500, 100, TROC_CLEARING_NO_MAX}, {0, 1000, TROC_CLEARING_NO_MAX}};
    troc_clearing_problem p = {.firm_count = 2, .obligation_count = 2, .obligations = ob, .accounts = accounts};
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 80); /* 40 each way */
    assert_true(r.paid_total_cents == 0);     /* B->A is fully cleared; A cannot pay */
    troc_clearing_result_free(&r);
    /* B above its maximum may still pay (its balance falls towards the
     * bounds): 10 is set off each way and B pays A the other 30. */
    const troc_clearing_account accounts2[] = {{0, 0, TROC_CLEARING_NO_MAX}, {900, 1000, 100}};
    static const troc_obligation ob2[] = {{1, 0, 40}, {0, 1, 10}};
    p = (troc_clearing_problem){.firm_count = 2, .obligation_count = 2, .obligations = ob2, .accounts = accounts2};
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 20 && r.paid_total_cents == 30); /* B pays 30: 900 -> 870 */
    troc_clearing_result_free(&r);
}

/* The checker ---------------------------------------------------------------- */

static void test_check_refuses_zero_setoff_on_triangle(void **state) {
    (void)state;
    static const troc_obligation triangle[] = {{0, 1, 100}, {1, 2, 100}, {2, 0, 100}};
    troc_clearing_problem p = plain_problem(3, triangle, 3);
    int64_t cleared[3] = {0}, paid[3] = {0}, potentials[4] = {0};
    troc_clearing_result r = {.cleared_cents = cleared, .paid_cents = paid, .potentials = potentials,
                              .total_cents = 300};
    assert_int_equal(troc_clearing_check(&p, &r), TROC_ENOT_OPTIMAL);
    /* No potentials can prove zero optimal: try the ones that fit best. */
    potentials[0] = 4, potentials[1] = 2, potentials[2] = 0;
    assert_int_equal(troc_clearing_check(&p, &r), TROC_ENOT_OPTIMAL);
}

static void test_check_refuses_wrong_potentials(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 100}, {1, 2, 100}, {2, 0, 60}, {2, 3, 10}};
    troc_clearing_problem p = plain_problem(4, ob, 4);
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 180);
    /* The flow is optimal; a potential that says "settle obligation 3 in
     * full" (creditor 3 not below debtor 2) does not certify it. */
    r.potentials[3] = r.potentials[2];
    assert_int_equal(troc_clearing_check(&p, &r), TROC_ENOT_OPTIMAL);
    troc_clearing_result_free(&r);
}

static void test_check_refuses_infeasible(void **state) {
    (void)state;
    static const troc_obligation triangle[] = {{0, 1, 100}, {1, 2, 100}, {2, 0, 100}};
    troc_clearing_problem p = plain_problem(3, triangle, 3);
    troc_clearing_result r;
    solve_ok(&p, &r);
    r.cleared_cents[0] = 101; /* more than owed */
    r.cleared_cents[1] = r.cleared_cents[2] = 101;
    r.cleared_total_cents = 303;
    assert_int_equal(troc_clearing_check(&p, &r), TROC_EINFEASIBLE);
    r.cleared_cents[0] = r.cleared_cents[1] = 100, r.cleared_cents[2] = 90; /* net position moves */
    r.cleared_total_cents = 290;
    assert_int_equal(troc_clearing_check(&p, &r), TROC_EINFEASIBLE);
    r.cleared_cents[2] = 100; /* right flows, wrong total */
    assert_int_equal(troc_clearing_check(&p, &r), TROC_EINFEASIBLE);
    r.cleared_total_cents = 300;
    r.paid_cents[0] = 1, r.paid_total_cents = 1; /* a payment in plain mode */
    assert_int_equal(troc_clearing_check(&p, &r), TROC_EINFEASIBLE);
    r.paid_cents[0] = 0, r.paid_total_cents = 0;
    r.cleared_cents[0] = -1; /* negative */
    assert_int_equal(troc_clearing_check(&p, &r), TROC_EINFEASIBLE);
    r.cleared_cents[0] = 100;
    assert_int_equal(troc_clearing_check(&p, &r), 0);
    troc_clearing_result_free(&r);
}

static void test_check_refuses_credit_beyond_limit(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 100}};
    const troc_clearing_account accounts[] = {{0, 30, TROC_CLEARING_NO_MAX}, {0, 0, TROC_CLEARING_NO_MAX}};
    troc_clearing_problem p = {.firm_count = 2, .obligation_count = 1, .obligations = ob, .accounts = accounts};
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.paid_cents[0] == 30);
    r.paid_cents[0] = 31, r.paid_total_cents = 31; /* A would end at -31 */
    assert_int_equal(troc_clearing_check(&p, &r), TROC_EINFEASIBLE);
    r.paid_cents[0] = 29, r.paid_total_cents = 29; /* feasible, but A could pay more */
    assert_int_equal(troc_clearing_check(&p, &r), TROC_ENOT_OPTIMAL);
    troc_clearing_result_free(&r);
}

/* In credit mode, a split that pays what could be set off is refused. */
static void test_check_refuses_suboptimal_split(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 50}, {1, 0, 50}};
    const troc_clearing_account accounts[] = {{0, 100, TROC_CLEARING_NO_MAX}, {0, 100, TROC_CLEARING_NO_MAX}};
    troc_clearing_problem p = {.firm_count = 2, .obligation_count = 2, .obligations = ob, .accounts = accounts};
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 100 && r.paid_total_cents == 0);
    r.cleared_cents[0] = r.cleared_cents[1] = 0; /* pay both instead: same balances */
    r.paid_cents[0] = r.paid_cents[1] = 50;
    r.cleared_total_cents = 0, r.paid_total_cents = 100;
    assert_int_equal(troc_clearing_check(&p, &r), TROC_ENOT_OPTIMAL);
    troc_clearing_result_free(&r);
}

/* Validation ------------------------------------------------------------------ */

static void test_validate_refuses_bad_problems(void **state) {
    (void)state;
    troc_obligation ob[2] = {{0, 1, 100}, {1, 0, 100}};
    troc_clearing_problem p = plain_problem(2, ob, 2);
    assert_int_equal(troc_clearing_problem_validate(&p), 0);
    assert_int_equal(troc_clearing_problem_validate(NULL), -EINVAL);
    ob[1].creditor = 2; /* index out of range */
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    ob[1].creditor = 1; /* debtor == creditor */
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    ob[1] = (troc_obligation){1, 0, 0};
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    ob[1].amount_cents = -5;
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    ob[1].amount_cents = TROC_AMOUNT_CENTS_MAX + 1;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_EOVERFLOW);
    ob[1].amount_cents = 100;
    p.obligations = NULL;
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    p.obligations = ob;
    p.firm_count = TROC_CLEARING_FIRMS_MAX + 1;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_ELIMIT);
    p.firm_count = 2;
    p.obligation_count = (size_t)TROC_CLEARING_OBLIGATIONS_MAX + 1;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_ELIMIT);
    p.obligation_count = 2;
    troc_clearing_result r;
    ob[0].debtor = 7;
    assert_int_equal(troc_clearing_solve(&p, &r, NULL, NULL), -EINVAL); /* solve validates too */
    assert_null(r.cleared_cents);
}

static void test_validate_refuses_bad_accounts(void **state) {
    (void)state;
    static const troc_obligation ob[] = {{0, 1, 100}};
    troc_clearing_account accounts[2] = {{0, 0, 0}, {0, 0, TROC_CLEARING_NO_MAX}};
    troc_clearing_problem p = {.firm_count = 2, .obligation_count = 1, .obligations = ob, .accounts = accounts};
    assert_int_equal(troc_clearing_problem_validate(&p), 0);
    accounts[0].credit_limit_cents = -1;
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    accounts[0].credit_limit_cents = 0, accounts[0].balance_max_cents = -1;
    assert_int_equal(troc_clearing_problem_validate(&p), -EINVAL);
    accounts[0].balance_max_cents = TROC_CLEARING_TOTAL_CENTS_MAX + 1;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_EOVERFLOW);
    accounts[0].balance_max_cents = 0, accounts[0].balance_cents = INT64_MIN;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_EOVERFLOW);
    accounts[0].balance_cents = TROC_CLEARING_TOTAL_CENTS_MAX + 1;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_EOVERFLOW);
    accounts[0].balance_cents = 0, accounts[0].credit_limit_cents = INT64_MAX;
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_EOVERFLOW);
}

static void account_equal(troc_clearing_account a, int64_t balance, int64_t credit_limit, int64_t balance_max) {
    assert_int_equal(a.balance_cents, balance);
    assert_int_equal(a.credit_limit_cents, credit_limit);
    assert_int_equal(a.balance_max_cents, balance_max);
}

/* Solves `p` with firm 0's account replaced by `a`, bounded, then by
 * `same` (its like within the bound), and finds the same result and
 * certificate, in which firm 0 is paid `paid_to_0` (its last obligation's
 * payment). */
static void solve_as(troc_clearing_problem *p, troc_clearing_account *accounts, troc_clearing_account a,
                     troc_clearing_account same, int64_t paid_to_0) {
    troc_clearing_result r, expected;
    accounts[0] = a;
    assert_int_equal(troc_clearing_problem_validate(p), TROC_EOVERFLOW);
    accounts[0] = troc_clearing_account_bounded(&a);
    solve_ok(p, &r);
    accounts[0] = same;
    solve_ok(p, &expected);
    assert_int_equal(r.paid_cents[p->obligation_count - 1], paid_to_0);
    assert_int_equal(r.cleared_total_cents, expected.cleared_total_cents);
    assert_int_equal(r.paid_total_cents, expected.paid_total_cents);
    assert_memory_equal(r.cleared_cents, expected.cleared_cents, p->obligation_count * sizeof(int64_t));
    assert_memory_equal(r.paid_cents, expected.paid_cents, p->obligation_count * sizeof(int64_t));
    assert_memory_equal(r.potentials, expected.potentials, (p->firm_count + 1) * sizeof(int64_t));
    troc_clearing_result_free(&r);
    troc_clearing_result_free(&expected);
}

/* An account beyond the bound (a ledger's member owed more than
 * TROC_CLEARING_TOTAL_CENTS_MAX) is refused as it is; bounded, it keeps
 * its room to move, capped at the bound, from a balance of 0, and solves
 * as an account within the bound with the same room does.  Accounts
 * within the bound, and invalid ones, come back as they are. */
static void test_credit_account_bounded(void **state) {
    (void)state;
    const int64_t bound = TROC_CLEARING_TOTAL_CENTS_MAX, none = TROC_CLEARING_NO_MAX;
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){-500, 100, 700}), -500, 100, 700);
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){bound, bound, none}), bound, bound, none);
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){INT64_MAX, -1, none}), INT64_MAX, -1, none);
    /* Owed a lot: may fall by all of it, and more; may not rise past
     * INT64_MAX, even without a maximum. */
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){INT64_MAX, 100, none}), 0, bound, 0);
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){INT64_MAX - 5, 0, none}), 0, bound, 5);
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){bound + 1, 0, none}), 0, bound, none);
    /* Above its maximum: may not rise. */
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){INT64_MAX - 5, 0, 1000}), 0, bound, 0);
    /* Below its credit line: may not fall; may rise past the bound. */
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){INT64_MIN, 5, 3}), 0, 0, bound);
    /* A credit line beyond the bound: may fall by the bound. */
    account_equal(troc_clearing_account_bounded(&(troc_clearing_account){1000, INT64_MAX, 2000}), 0, bound, 1000);

    /* A cycle 0 -> 1 -> 2 -> 0 of 50, and more owed by and to firm 0:
     * without a maximum it is paid 450 and pays 250; 5 short of INT64_MAX,
     * it is paid 255; above its maximum, only the 250 it pays. */
    static const troc_obligation ob[] = {{0, 1, 300}, {1, 2, 50}, {2, 0, 500}};
    troc_clearing_account accounts[3] = {{0, 0, 0}, {0, 0, none}, {0, 1000, none}};
    troc_clearing_problem p = {.firm_count = 3, .obligation_count = 3, .obligations = ob, .accounts = accounts};
    solve_as(&p, accounts, (troc_clearing_account){bound + 1, 0, none}, (troc_clearing_account){1000000, 0, none},
             450);
    solve_as(&p, accounts, (troc_clearing_account){INT64_MAX - 5, 0, none},
             (troc_clearing_account){1000000, 0, 1000005}, 255);
    solve_as(&p, accounts, (troc_clearing_account){INT64_MAX - 5, 0, 7}, (troc_clearing_account){1000000, 0, 7}, 250);
}

/* Overflow guards: the total of all obligations is bounded, and amounts at
 * the bound still solve exactly. */
static void test_overflow_guards(void **state) {
    (void)state;
    const size_t count = (size_t)(TROC_CLEARING_TOTAL_CENTS_MAX / TROC_AMOUNT_CENTS_MAX) + 1;
    troc_obligation *ob = calloc(count, sizeof *ob);
    assert_non_null(ob);
    for (size_t k = 0; k < count; k++) ob[k] = (troc_obligation){(uint32_t)(k % 3), (uint32_t)((k + 1) % 3), TROC_AMOUNT_CENTS_MAX};
    troc_clearing_problem p = plain_problem(3, ob, count);
    assert_int_equal(troc_clearing_problem_validate(&p), TROC_EOVERFLOW);
    troc_clearing_result r;
    assert_int_equal(troc_clearing_solve(&p, &r, NULL, NULL), TROC_EOVERFLOW);
    p.obligation_count = count - 1; /* just within: 769, 768 and 768 maximal amounts around a triangle */
    assert_int_equal((count - 1) % 3, 1);
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents == 3 * (int64_t)((count - 1) / 3) * TROC_AMOUNT_CENTS_MAX);
    troc_clearing_result_free(&r);
    /* Credit mode with extreme accounts. */
    const troc_clearing_account accounts[3] = {
        {TROC_CLEARING_TOTAL_CENTS_MAX, TROC_CLEARING_TOTAL_CENTS_MAX, TROC_CLEARING_NO_MAX},
        {-TROC_CLEARING_TOTAL_CENTS_MAX, TROC_CLEARING_TOTAL_CENTS_MAX, TROC_CLEARING_TOTAL_CENTS_MAX},
        {0, 0, TROC_CLEARING_NO_MAX}};
    p.accounts = accounts;
    solve_ok(&p, &r);
    assert_true(r.cleared_total_cents + r.paid_total_cents == r.total_cents);
    troc_clearing_result_free(&r);
    free(ob);
}

/* The oldest-first split ------------------------------------------------------ */

static void test_split_oldest_first_is_deterministic(void **state) {
    (void)state;
    /* Three A->B obligations (30, 20, 50) against B->A 45 and B->A 10. */
    static const troc_obligation ob[] = {{0, 1, 30}, {1, 0, 45}, {0, 1, 20}, {0, 1, 50}, {1, 0, 10}};
    troc_clearing_problem p = plain_problem(2, ob, 5);
    troc_clearing_result first, again;
    solve_ok(&p, &first);
    solve_ok(&p, &again);
    static const int64_t expected[] = {30, 45, 20, 5, 10};
    for (size_t k = 0; k < 5; k++) {
        assert_true(first.cleared_cents[k] == expected[k]);
        assert_true(again.cleared_cents[k] == first.cleared_cents[k]);
    }
    assert_memory_equal(first.potentials, again.potentials, 3 * sizeof(int64_t));
    troc_clearing_result_free(&first);
    troc_clearing_result_free(&again);
}

/* Progress ------------------------------------------------------------------- */

typedef struct progress_log {
    int calls;
    int bad;
    double last;
    const char *stage;
} progress_log;

static void record_progress(void *context, const char *stage, double fraction_done) {
    progress_log *log = context;
    if (fraction_done < 0.0 || fraction_done > 1.0) log->bad++;
    if (log->stage != NULL && strcmp(log->stage, stage) == 0 && fraction_done < log->last) log->bad++;
    log->stage = stage;
    log->last = fraction_done;
    log->calls++;
}

static void test_progress_is_reported(void **state) {
    (void)state;
    rng_state = 5;
    troc_obligation ob[40];
    const size_t count = random_obligations(ob, 8, 40);
    troc_clearing_problem p = plain_problem(8, ob, count);
    progress_log log = {0};
    troc_clearing_result r;
    assert_int_equal(troc_clearing_solve(&p, &r, record_progress, &log), 0);
    assert_true(log.calls >= 4);
    assert_int_equal(log.bad, 0);
    assert_string_equal(log.stage, "checking");
    assert_true(log.last == 1.0);
    troc_clearing_result_free(&r);
}

/* Racing the two directions of a phase's maximum flow ---------------------- */

/* A network of trade large enough to race: firms of uneven activity (a
 * firm's index biased towards small ones), amounts of uneven size. */
static size_t large_obligations(troc_obligation *out, uint32_t firms, size_t count) {
    for (size_t k = 0; k < count; k++) {
        const uint32_t d = rng_below(1 + rng_below(firms));
        uint32_t c = rng_below(firms - 1);
        if (c >= d) c++;
        out[k] = (troc_obligation){d, c, 1 + rng_below(rng_below(4) == 0 ? 1000000 : 5000)};
    }
    return count;
}

/* The arrays a maximum flow changes, saved or compared. */
typedef struct flow_snapshot {
    char *arcs; /* troc__arc_size() bytes per arc */
    uint64_t *room_bits;
    int64_t *excess;
} flow_snapshot;

static void snapshot_take(flow_snapshot *s, const troc__residual *r) {
    const size_t words = troc__room_words(r->arc_count);
    if (s->arcs == NULL) {
        s->arcs = malloc(r->arc_count * troc__arc_size(r));
        s->room_bits = malloc(words * sizeof *s->room_bits);
        s->excess = malloc(r->node_count * sizeof *s->excess);
        assert_non_null(s->arcs);
        assert_non_null(s->room_bits);
        assert_non_null(s->excess);
    }
    memcpy(s->arcs, r->arcs, r->arc_count * troc__arc_size(r));
    memcpy(s->room_bits, r->room_bits, words * sizeof *s->room_bits);
    memcpy(s->excess, r->excess, r->node_count * sizeof *s->excess);
}

static void snapshot_restore(const flow_snapshot *s, troc__residual *r) {
    memcpy(r->arcs, s->arcs, r->arc_count * troc__arc_size(r));
    memcpy(r->room_bits, s->room_bits, troc__room_words(r->arc_count) * sizeof *s->room_bits);
    memcpy(r->excess, s->excess, r->node_count * sizeof *s->excess);
}

/* The same rooms, room bits and excesses in the component [lo, hi) (a
 * race copies that range only). */
static bool snapshot_equal(const flow_snapshot *s, const troc__residual *r, uint32_t lo, uint32_t hi) {
    const size_t size = troc__arc_size(r);
    for (uint32_t a = r->arc_first[lo]; a < r->arc_first[hi]; a++) {
        const uint32_t shift = (a & 31u) * 2;
        if (memcmp(troc__arc_address(r, a), s->arcs + a * size, size) != 0) return false;
        if (((r->room_bits[a >> 5] ^ s->room_bits[a >> 5]) >> shift & 3u) != 0) return false;
    }
    return memcmp(r->excess + lo, s->excess + lo, (hi - lo) * sizeof *s->excess) == 0;
}

static void snapshot_free(flow_snapshot *s) {
    free(s->arcs);
    free(s->room_bits);
    free(s->excess);
}

/* The largest component of a network of trade large enough to race, its
 * residual graph, and a flow solver for it, as circulation.c prepares
 * them. */
typedef struct race_fixture {
    troc_obligation *obligations;
    troc__groups groups;
    troc__network network;
    troc__components components;
    troc__residual residual;
    troc__progress progress;
    troc__helper *helper;
    troc__flow *flow;
    uint32_t lo, hi; /* the component */
} race_fixture;

static void race_fixture_build(race_fixture *x, unsigned thread_count) {
    enum { FIRMS = 6000, COUNT = 36000 };
    *x = (race_fixture){0};
    rng_state = 9090;
    x->obligations = malloc(COUNT * sizeof *x->obligations);
    assert_non_null(x->obligations);
    troc_clearing_problem p = plain_problem(FIRMS, x->obligations, large_obligations(x->obligations, FIRMS, COUNT));
    assert_int_equal(troc__groups_build(&p, &x->groups), 0);
    assert_int_equal(troc__network_build(&p, &x->groups, &x->network), 0);
    assert_int_equal(troc__components_find(&x->network, FIRMS, &x->components), 0);
    assert_int_equal(troc__helper_create(thread_count, &x->helper), 0);
    assert_int_equal(troc__residual_build(&x->network, &x->components, x->helper, &x->residual), 0);
    for (uint32_t c = 0; c < x->components.component_count; c++) {
        const uint32_t lo = x->components.component_first[c], hi = x->components.component_first[c + 1];
        if (hi - lo > x->hi - x->lo) {
            x->lo = lo;
            x->hi = hi;
        }
    }
    assert_true(x->hi - x->lo >= TROC__RACE_NODES_MIN);
    int64_t excess = 0;
    for (uint32_t v = 0; v < x->residual.node_count; v++) excess += x->residual.excess[v] > 0 ? x->residual.excess[v] : 0;
    assert_int_equal(troc__flow_create(&x->residual, x->hi - x->lo,
                                       x->residual.arc_first[x->hi] - x->residual.arc_first[x->lo], excess, x->helper,
                                       &x->progress, &x->flow),
                     0);
    assert_non_null(x->flow->race);
    x->flow->deficit_side = (x->hi - x->lo) / 2;
}

static void race_fixture_free(race_fixture *x) {
    troc__flow_destroy(x->flow);
    troc__helper_destroy(x->helper);
    troc__residual_free(&x->residual);
    troc__components_free(&x->components);
    troc__network_free(&x->network);
    troc__groups_free(&x->groups);
    free(x->obligations);
}

/* The next phase's search and admissible copy, as flow.c makes them (the
 * second half of the copy on the helper from the second phase on). */
static void race_fixture_phase(race_fixture *x, bool first) {
    if (!first || !troc__paths_first(x->flow, &x->residual, x->lo, x->hi)) {
        troc__paths_update(x->flow, &x->residual, x->lo, x->hi);
    }
    troc__admissible_build(&x->flow->admissible, &x->residual, x->lo, x->hi, first ? NULL : x->flow->helper);
}

static bool race_fixture_has_excess(const race_fixture *x) {
    for (uint32_t v = x->lo; v < x->hi; v++) {
        if (x->residual.excess[v] > 0) return true;
    }
    return false;
}

/* Solves the largest component of a network phase by phase as flow.c does,
 * running each phase's maximum flow alone in both directions before the
 * race: the race must keep the flow with less work (the one from the
 * excesses on a tie), leaving the rooms and excesses that flow leaves. */
static void expect_races_keep_less_work(unsigned thread_count, uint32_t *forward_wins, uint32_t *reverse_wins) {
    race_fixture x;
    race_fixture_build(&x, thread_count);
    troc__residual *residual = &x.residual;
    troc__flow *flow = x.flow;
    const uint32_t lo = x.lo, hi = x.hi;
    const void *own_arcs = residual->arcs;
    troc__maxflow_state alone = {.admissible = &flow->admissible};
    size_t bytes = 0;
    troc__maxflow_place(&alone, NULL, &bytes, residual->node_count);
    char *block = malloc(bytes);
    assert_non_null(block);
    bytes = 0;
    troc__maxflow_place(&alone, block, &bytes, residual->node_count);
    flow_snapshot before = {0}, forward = {0}, reverse = {0};
    troc__race_begin(flow->race, residual, lo, hi);
    bool first = true, forward_kept = true;
    do {
        race_fixture_phase(&x, first);
        first = false;
        /* The runs alone below change the rooms, which flow.c never does
         * while the helper may read them: they wait for it to be done with
         * them (the component's copies, or the sync of the last race). */
        troc__helper_wait(flow->helper);
        snapshot_take(&before, residual);
        assert_true(troc__maxflow(&alone, residual, lo, hi, false));
        const uint64_t forward_work = alone.work;
        snapshot_take(&forward, residual);
        snapshot_restore(&before, residual);
        assert_true(troc__maxflow(&alone, residual, lo, hi, true));
        const uint64_t reverse_work = alone.work;
        snapshot_take(&reverse, residual);
        snapshot_restore(&before, residual);
        const troc__maxflow_state *kept = troc__race_run(flow->race, &flow->maxflow, residual, lo, hi);
        forward_kept = forward_work <= reverse_work;
        assert_true(kept == &flow->maxflow ? forward_kept : !forward_kept);
        assert_true(kept->work == (forward_kept ? forward_work : reverse_work));
        assert_true(snapshot_equal(forward_kept ? &forward : &reverse, residual, lo, hi));
        *(forward_kept ? forward_wins : reverse_wins) += 1;
        flow->deficit_side = kept->deficit_side;
    } while (race_fixture_has_excess(&x));
    /* The residual graph's own arrays are back, with the last flow. */
    troc__race_finish(flow->race, residual);
    assert_ptr_equal(residual->arcs, own_arcs);
    assert_true(snapshot_equal(forward_kept ? &forward : &reverse, residual, lo, hi));
    free(block);
    snapshot_free(&before);
    snapshot_free(&forward);
    snapshot_free(&reverse);
    race_fixture_free(&x);
}

/* After each maximum flow of a large component, troc__paths_close() moves
 * the potentials exactly as the searches do (D is 1 in every phase of this
 * network): the same nodes, by 1, on the side the searches finish first. */
static void test_closure_moves_as_searches(void **state) {
    (void)state;
    race_fixture x;
    race_fixture_build(&x, 2);
    troc__residual *residual = &x.residual;
    troc__flow *flow = x.flow;
    const size_t bytes = residual->node_count * sizeof *residual->potential;
    int64_t *before = malloc(bytes), *closed = malloc(bytes);
    assert_non_null(before);
    assert_non_null(closed);
    troc__race_begin(flow->race, residual, x.lo, x.hi);
    uint32_t closures = 0;
    for (bool first = true; race_fixture_has_excess(&x); first = false) {
        memcpy(before, residual->potential, bytes);
        if (!first && troc__paths_close(flow, residual, x.lo, x.hi)) {
            closures++;
            const uint32_t changed = flow->changed_count;
            assert_true(changed > 0);
            memcpy(closed, residual->potential, bytes);
            memcpy(residual->potential, before, bytes);
            troc__paths_update(flow, residual, x.lo, x.hi);
            assert_memory_equal(closed, residual->potential, bytes);
            assert_int_equal(changed, flow->changed_count);
            for (uint32_t v = x.lo; v < x.hi; v++) {
                const int64_t moved = closed[v] - before[v];
                assert_true(moved == 0 || moved == 1 || moved == -1);
            }
        } else if (!first || !troc__paths_first(flow, residual, x.lo, x.hi)) {
            troc__paths_update(flow, residual, x.lo, x.hi);
        }
        troc__admissible_build(&flow->admissible, residual, x.lo, x.hi, first ? NULL : flow->helper);
        const troc__maxflow_state *kept = troc__race_run(flow->race, &flow->maxflow, residual, x.lo, x.hi);
        assert_true(kept->moved > 0);
        flow->deficit_side = kept->deficit_side;
    }
    troc__race_finish(flow->race, residual);
    assert_true(closures >= 5);
    free(before);
    free(closed);
    race_fixture_free(&x);
}

/* Plain mode: the network takes the groups' capacities, and the solve
 * frees them once the residual graph holds them (nothing reduced here:
 * every firm of the complete graph owes three and is owed by three). */
static void test_solve_frees_capacities(void **state) {
    (void)state;
    troc_obligation ob[12];
    size_t count = 0;
    for (uint32_t debtor = 0; debtor < 4; debtor++) {
        for (uint32_t creditor = 0; creditor < 4; creditor++) {
            if (debtor == creditor) continue;
            ob[count] = (troc_obligation){debtor, creditor, 100 + 7 * (int64_t)count};
            count++;
        }
    }
    troc_clearing_problem p = plain_problem(4, ob, count);
    troc__groups groups = {0};
    troc__network network = {0};
    assert_int_equal(troc__groups_build(&p, &groups), 0);
    assert_int_equal(troc__network_build(&p, &groups, &network), 0);
    assert_null(groups.group_capacity);
    assert_non_null(network.arc_capacity);
    int64_t potential[4] = {0}, *flow = NULL;
    troc__circulation_stats stats;
    troc__progress progress = {0};
    assert_int_equal(troc__circulation_solve(&network, NULL, 1, &flow, potential, &stats, &progress), 0);
    assert_null(network.arc_capacity);
    int64_t cleared = 0;
    for (uint32_t a = 0; a < network.arc_count; a++) cleared += flow[a];
    troc_clearing_result r;
    solve_ok(&p, &r);
    assert_int_equal(cleared, r.cleared_total_cents);
    troc_clearing_result_free(&r);
    free(flow);
    troc__network_free(&network);
    troc__groups_free(&groups);
}

static void test_race_keeps_less_work(void **state) {
    (void)state;
    for (unsigned threads = 1; threads <= 2; threads++) {
        uint32_t forward_wins = 0, reverse_wins = 0;
        expect_races_keep_less_work(threads, &forward_wins, &reverse_wins);
        /* Both sides won some phases of this network. */
        assert_true(forward_wins > 0);
        assert_true(reverse_wins > 0);
    }
}

/* Flow moved outside a race, once a race was won from the deficits (the
 * rooms then lie in the race's copies), reaches the residual graph's own
 * arrays once the race is told (as flow.c does after following a path on
 * its own). */
static void test_race_changed_reaches_own_arrays(void **state) {
    (void)state;
    race_fixture x;
    race_fixture_build(&x, 2);
    troc__residual *r = &x.residual;
    const void *own_arcs = r->arcs;
    troc__race_begin(x.flow->race, r, x.lo, x.hi);
    bool first = true;
    while (r->arcs == own_arcs) {
        assert_true(race_fixture_has_excess(&x));
        race_fixture_phase(&x, first);
        first = false;
        troc__race_run(x.flow->race, &x.flow->maxflow, r, x.lo, x.hi);
    }
    /* Any change of the component's rooms and excesses will do. */
    troc__helper_wait(x.flow->helper);
    const uint32_t arc = r->arc_first[x.lo];
    troc__residual_set_room(r, arc, troc__arc_room(r, arc) > 0 ? 0 : troc__arc_capacity(r, arc));
    r->excess[x.lo] += 7;
    flow_snapshot changed = {0};
    snapshot_take(&changed, r);
    troc__race_changed(x.flow->race, r);
    troc__race_finish(x.flow->race, r);
    assert_ptr_equal(r->arcs, own_arcs);
    assert_true(snapshot_equal(&changed, r, x.lo, x.hi));
    snapshot_free(&changed);
    race_fixture_free(&x);
}

/* Components that race and components too small to, in turns: each
 * component's flow must survive the races of the others (a race may leave
 * the rooms in its copies).  Three networks of trade among separate firms,
 * with rings of three firms between and after them; the same result with
 * one thread or two, proved optimal. */
static void test_race_among_small_components(void **state) {
    (void)state;
    enum { FIRMS = 5000, COUNT = 30000, RINGS = 40, LARGE = 3 };
    const uint32_t block = FIRMS + 3 * RINGS, total_firms = LARGE * block;
    const size_t total = LARGE * ((size_t)COUNT + 3 * RINGS);
    troc_obligation *ob = malloc(total * sizeof *ob);
    assert_non_null(ob);
    rng_state = 555;
    size_t count = 0;
    for (uint32_t piece = 0; piece < LARGE; piece++) {
        const uint32_t base = piece * block;
        large_obligations(ob + count, FIRMS, COUNT);
        for (size_t k = count; k < count + COUNT; k++) ob[k].debtor += base, ob[k].creditor += base;
        count += COUNT;
        for (uint32_t ring = 0; ring < RINGS; ring++) {
            const uint32_t a = base + FIRMS + 3 * ring;
            ob[count++] = (troc_obligation){a, a + 1, 100 + ring};
            ob[count++] = (troc_obligation){a + 1, a + 2, 90 + ring};
            ob[count++] = (troc_obligation){a + 2, a, 80 + ring};
        }
    }
    assert_true(count == total);
    troc_clearing_problem p = plain_problem(total_firms, ob, count);
    troc_clearing_result results[2];
    for (unsigned threads = 1; threads <= 2; threads++) {
        p.thread_count = threads;
        solve_ok(&p, &results[threads - 1]);
    }
    assert_true(results[0].component_count >= LARGE + LARGE * RINGS);
    assert_memory_equal(results[0].cleared_cents, results[1].cleared_cents, count * sizeof(int64_t));
    /* Each ring sets off its least amount all round. */
    for (size_t k = COUNT; k < COUNT + 3 * RINGS; k++) assert_true(results[0].cleared_cents[k] == 80 + (int64_t)(k - COUNT) / 3);
    for (unsigned threads = 0; threads < 2; threads++) troc_clearing_result_free(&results[threads]);
    free(ob);
}

/* Whether the residual graph of a plain problem takes narrow arcs. */
static bool residual_narrow(const troc_clearing_problem *p) {
    solver_input in;
    troc__residual residual = {0};
    solver_input_build(p, &in);
    assert_int_equal(troc__residual_build(&in.network, &in.components, NULL, &residual), 0);
    const bool narrow = residual.narrow;
    troc__residual_free(&residual);
    solver_input_free(&in);
    return narrow;
}

/* The residual graph of `network` built with a helper thread is the one
 * built without, byte for byte. */
static void assert_residual_same_with_helper(const troc__network *network, const troc__components *components) {
    troc__helper *helper = NULL;
    assert_int_equal(troc__helper_create(2, &helper), 0);
    troc__residual alone = {0}, beside = {0};
    assert_int_equal(troc__residual_build(network, components, NULL, &alone), 0);
    assert_int_equal(troc__residual_build(network, components, helper, &beside), 0);
    troc__helper_destroy(helper);
    const size_t nodes = (size_t)alone.node_count + 1;
    assert_int_equal(beside.node_count, alone.node_count);
    assert_int_equal(beside.arc_count, alone.arc_count);
    assert_int_equal(beside.entry_count, alone.entry_count);
    assert_int_equal(beside.free_arc_count, alone.free_arc_count);
    assert_int_equal(beside.narrow, alone.narrow);
    assert_memory_equal(beside.first, alone.first, nodes * sizeof *alone.first);
    assert_memory_equal(beside.arc_first, alone.arc_first, nodes * sizeof *alone.arc_first);
    assert_memory_equal(beside.network_node, alone.network_node, alone.node_count * sizeof *alone.network_node);
    assert_memory_equal(beside.excess, alone.excess, alone.node_count * sizeof *alone.excess);
    assert_memory_equal(beside.entries, alone.entries, alone.entry_count * sizeof *alone.entries);
    assert_memory_equal(beside.arcs, alone.arcs, alone.arc_count * troc__arc_size(&alone));
    assert_memory_equal(beside.room_bits, alone.room_bits, troc__room_words(alone.arc_count) * sizeof *alone.room_bits);
    assert_true((beside.chain_cost == NULL) == (alone.chain_cost == NULL));
    for (uint32_t e = 0; alone.chain_cost != NULL && e < alone.entry_count; e++) {
        const uint32_t link = alone.entries[e].link, arc = link >> TROC__LINK_ARC_SHIFT;
        if ((link & TROC__LINK_CHAIN) && (link & TROC__LINK_TAIL)) assert_true(beside.chain_cost[arc] == alone.chain_cost[arc]);
    }
    troc__residual_free(&alone);
    troc__residual_free(&beside);
}

/* The residual graph is built in two passes at once on two threads (the
 * arcs counted beside the nodes' numbering, the entries at the heads
 * beside the arcs): the same graph as on one thread, with narrow and wide
 * arcs, the free arcs of credit mode and a reduced network's chains. */
static void test_residual_same_with_helper(void **state) {
    (void)state;
    enum { FIRMS = 6000, COUNT = 36000, CHAIN = 4000 };
    troc_obligation *ob = malloc((COUNT + CHAIN + 1) * sizeof *ob);
    troc_clearing_account *accounts = malloc((FIRMS + CHAIN) * sizeof *accounts);
    assert_non_null(ob);
    assert_non_null(accounts);
    rng_state = 3131;
    const size_t count = large_obligations(ob, FIRMS, COUNT);
    /* A chain of CHAIN firms from firm 0 to firm 1, which the reduction
     * contracts into one arc. */
    for (uint32_t v = 0; v <= CHAIN; v++) {
        ob[count + v] = (troc_obligation){v == 0 ? 0 : FIRMS + v - 1, v == CHAIN ? 1 : FIRMS + v, 1 + v};
    }
    random_accounts(accounts, FIRMS + CHAIN);
    for (int round = 0; round < 4; round++) {
        if (round == 1) {
            for (size_t k = 0; k < count; k++) ob[k].amount_cents *= (int64_t)1 << 31; /* wide arcs */
        }
        troc_clearing_problem p = plain_problem(FIRMS + CHAIN, ob, count + CHAIN + 1);
        if (round == 2) {
            for (size_t k = 0; k < count; k++) ob[k].amount_cents >>= 31;
            p.accounts = accounts;
        }
        solver_input in;
        troc__reduction reduction = {0};
        solver_input_build(&p, &in);
        if (round == 3) {
            assert_int_equal(troc__reduction_build(&in.network, &in.components, &reduction), 0);
            assert_true(reduction.chain_count > 0);
            assert_residual_same_with_helper(&reduction.reduced, &reduction.components);
        } else {
            assert_residual_same_with_helper(&in.network, &in.components);
        }
        troc__reduction_free(&reduction);
        solver_input_free(&in);
    }
    free(accounts);
    free(ob);
}

/* Amounts too large for the residual graph's narrow arcs (31 bits) take
 * its wide ones.  Every step of the solver scales with the amounts, so the
 * same network with every amount multiplied by a power of two sets off
 * exactly that many times as much on every obligation: small random
 * networks (times 2^31) against the reference, and a large one that races
 * (times 2^16, within the limit of the total), with one thread and two. */
static void test_wide_arcs_scale_narrow(void **state) {
    (void)state;
    int64_t scale = (int64_t)1 << 31;
    rng_state = 4242;
    troc_obligation obligations[40], scaled[40];
    for (int round = 0; round < 200; round++) {
        const uint32_t firms = 2 + rng_below(9);
        const size_t count = random_obligations(obligations, firms, 40);
        for (size_t k = 0; k < count; k++) {
            scaled[k] = obligations[k];
            scaled[k].amount_cents *= scale;
        }
        troc_clearing_problem p = plain_problem(firms, obligations, count), q = plain_problem(firms, scaled, count);
        troc_clearing_result r, s;
        solve_ok(&p, &r);
        solve_ok(&q, &s);
        assert_true(s.cleared_total_cents == ref_plain(&q, NULL));
        for (size_t k = 0; k < count; k++) assert_true(s.cleared_cents[k] == scale * r.cleared_cents[k]);
        troc_clearing_result_free(&r);
        troc_clearing_result_free(&s);
    }
    enum { FIRMS = 6000, COUNT = 36000 };
    troc_obligation *ob = malloc(COUNT * sizeof *ob), *big = malloc(COUNT * sizeof *big);
    assert_non_null(ob);
    assert_non_null(big);
    const size_t count = large_obligations(ob, FIRMS, COUNT);
    scale = (int64_t)1 << 16;
    for (size_t k = 0; k < count; k++) {
        big[k] = ob[k];
        big[k].amount_cents *= scale;
    }
    troc_clearing_problem p = plain_problem(FIRMS, ob, count), q = plain_problem(FIRMS, big, count);
    assert_true(residual_narrow(&p));
    assert_false(residual_narrow(&q));
    troc_clearing_result r, s[2];
    solve_ok(&p, &r);
    assert_true(r.cycle_firm_count >= TROC__RACE_NODES_MIN);
    for (unsigned threads = 1; threads <= 2; threads++) {
        q.thread_count = threads;
        solve_ok(&q, &s[threads - 1]);
        for (size_t k = 0; k < count; k++) assert_true(s[threads - 1].cleared_cents[k] == scale * r.cleared_cents[k]);
    }
    troc_clearing_result_free(&r);
    troc_clearing_result_free(&s[0]);
    troc_clearing_result_free(&s[1]);
    free(ob);
    free(big);
}

/* Whole solves of networks that race: the same result with one thread or
 * two, plain and in credit mode, proved optimal. */
static void test_race_result_independent_of_threads(void **state) {
    (void)state;
    enum { FIRMS = 6000, COUNT = 36000 };
    rng_state = 31337;
    troc_obligation *ob = malloc(COUNT * sizeof *ob);
    troc_clearing_account *accounts = malloc(FIRMS * sizeof *accounts);
    assert_non_null(ob);
    assert_non_null(accounts);
    for (uint32_t v = 0; v < FIRMS; v++) {
        accounts[v] = (troc_clearing_account){(int64_t)rng_below(20001) - 10000, rng_below(50000),
                                              rng_below(3) == 0 ? TROC_CLEARING_NO_MAX : rng_below(50000)};
    }
    for (int credit = 0; credit <= 1; credit++) {
        troc_clearing_problem p = plain_problem(FIRMS, ob, large_obligations(ob, FIRMS, COUNT));
        p.accounts = credit ? accounts : NULL;
        troc_clearing_result results[3];
        for (unsigned threads = 0; threads < 3; threads++) {
            p.thread_count = threads;
            solve_ok(&p, &results[threads]);
        }
        assert_true(results[0].cycle_firm_count >= TROC__RACE_NODES_MIN);
        for (unsigned threads = 1; threads < 3; threads++) {
            assert_memory_equal(results[threads].cleared_cents, results[0].cleared_cents, COUNT * sizeof(int64_t));
            assert_memory_equal(results[threads].paid_cents, results[0].paid_cents, COUNT * sizeof(int64_t));
            assert_memory_equal(results[threads].potentials, results[0].potentials, (FIRMS + 1) * sizeof(int64_t));
        }
        for (unsigned threads = 0; threads < 3; threads++) troc_clearing_result_free(&results[threads]);
    }
    free(ob);
    free(accounts);
}

/* A network whose solve (as written) ends with a race won from the
 * deficits followed by a path too few nodes needed to race for
 * (flow.c's path_alone()): that path's flow is in the rooms the race
 * keeps, and must reach the residual graph's own arrays.  Proved optimal,
 * and the same with one thread or two. */
static void test_path_alone_after_race(void **state) {
    (void)state;
    enum { FIRMS = 6000, COUNT = 36000 };
    rng_state = 5;
    troc_obligation *ob = malloc(COUNT * sizeof *ob);
    assert_non_null(ob);
    troc_clearing_problem p = plain_problem(FIRMS, ob, large_obligations(ob, FIRMS, COUNT));
    troc_clearing_result results[2];
    for (unsigned threads = 1; threads <= 2; threads++) {
        p.thread_count = threads;
        solve_ok(&p, &results[threads - 1]);
    }
    assert_true(results[0].cycle_firm_count >= TROC__RACE_NODES_MIN);
    assert_memory_equal(results[1].cleared_cents, results[0].cleared_cents, COUNT * sizeof(int64_t));
    for (unsigned i = 0; i < 2; i++) troc_clearing_result_free(&results[i]);
    free(ob);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_instances),
        cmocka_unit_test(test_greedy_pair_netting_is_not_optimal),
        cmocka_unit_test(test_components_solved_apart),
        cmocka_unit_test(test_empty_problems),
        cmocka_unit_test(test_random_plain_matches_reference),
        cmocka_unit_test(test_random_credit_matches_reference),
        cmocka_unit_test(test_random_reductions_match_reference),
        cmocka_unit_test(test_reduction),
        cmocka_unit_test(test_long_rings),
        cmocka_unit_test(test_credit_chain_within_limits),
        cmocka_unit_test(test_credit_sets_off_before_paying),
        cmocka_unit_test(test_credit_account_outside_bounds),
        cmocka_unit_test(test_check_refuses_zero_setoff_on_triangle),
        cmocka_unit_test(test_check_refuses_wrong_potentials),
        cmocka_unit_test(test_check_refuses_infeasible),
        cmocka_unit_test(test_check_refuses_credit_beyond_limit),
        cmocka_unit_test(test_check_refuses_suboptimal_split),
        cmocka_unit_test(test_validate_refuses_bad_problems),
        cmocka_unit_test(test_validate_refuses_bad_accounts),
        cmocka_unit_test(test_credit_account_bounded),
        cmocka_unit_test(test_overflow_guards),
        cmocka_unit_test(test_split_oldest_first_is_deterministic),
        cmocka_unit_test(test_progress_is_reported),
        cmocka_unit_test(test_solve_frees_capacities),
        cmocka_unit_test(test_race_keeps_less_work),
        cmocka_unit_test(test_race_changed_reaches_own_arrays),
        cmocka_unit_test(test_path_alone_after_race),
        cmocka_unit_test(test_closure_moves_as_searches),
        cmocka_unit_test(test_race_result_independent_of_threads),
        cmocka_unit_test(test_residual_same_with_helper),
        cmocka_unit_test(test_wide_arcs_scale_narrow),
        cmocka_unit_test(test_race_among_small_components),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
