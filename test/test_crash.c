/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crash test: trocd killed with kill -9 at a random moment while
 * several clients pay each other, ITERATIONS times over one ledger.
 *
 * Each iteration starts trocd on a free port, runs the load (one libtroc
 * client per member, pipelining transfers to the others and recording
 * every transfer the daemon acknowledged), kills the daemon after a random
 * delay, restarts it and checks, through an admin session:
 *   - every transfer ever acknowledged (this iteration and all before) is
 *     in the statements;
 *   - balances sum to zero (each one read, and the ledger's own total),
 *     and the statements hold exactly two lines per transfer the ledger
 *     counts;
 * then stops the daemon (SIGTERM, exit 0) and runs `trocd verify`, which
 * must say ok.
 *
 * The delays come from a seeded PRNG; the seed is printed, and
 * TROC_CRASH_SEED=N repeats its sequence of delays (the exact moment still
 * depends on timing, which is the point: what is checked holds for every
 * moment).  Nothing here asserts a time.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_support.h"

enum {
    ITERATIONS = 20,
    MEMBERS = 4,
    KILL_AFTER_MS_MAX = 300,               /* the kill comes within this after the load starts */
    TRANSFERS_MAX = 4000,                  /* per client and iteration: bounds the run */
};

#define CREDIT_LIMIT_CENTS 100000000000LL  /* no payment of the test is ever refused */

static uint64_t test_seed(void) {
    const char *given = getenv("TROC_CRASH_SEED");
    if (given != NULL) return strtoull(given, NULL, 10);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ (uint64_t)getpid();
}

static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* The acknowledged transfers of every iteration so far. */
typedef struct history {
    daemon_transfer *transfers;
    size_t count, capacity;
} history;

static void history_add(history *h, const daemon_transfer *transfers, size_t count) {
    if (h->count + count > h->capacity) {
        h->capacity = 2 * (h->count + count) + 1024;
        h->transfers = realloc(h->transfers, h->capacity * sizeof *h->transfers);
        assert_non_null(h->transfers);
    }
    if (count > 0) memcpy(h->transfers + h->count, transfers, count * sizeof *transfers);
    h->count += count;
}

/* After a restart: everything acknowledged is there, and it adds up. */
static void check_restarted(daemon_fixture *d, const history *h) {
    troc_client *admin = daemon_connect(d, NULL);
    size_t id_count = 0;
    uint8_t(*ids)[TROC_ID_SIZE] = daemon_statement_ids(admin, d, &id_count);
    size_t missing = 0;
    for (size_t i = 0; i < h->count; i++) missing += !daemon_ids_hold(ids, id_count, h->transfers[i].id);
    if (missing > 0) print_message("%zu acknowledged transfers are missing\n", missing);
    assert_int_equal(missing, 0);
    assert_int_equal(daemon_balance_sum(admin, d), 0);
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(admin, &stats), 0);
    assert_int_equal(id_count, 2 * stats.transfers); /* payer's line and payee's line */
    assert_true(stats.transfers >= h->count);
    free(ids);
    troc_client_free(admin);
}

static void test_kill_9_at_random_moments(void **state) {
    daemon_fixture *d = *state;
    uint64_t seed = test_seed();
    print_message("crash test: seed %" PRIu64 " (TROC_CRASH_SEED=%" PRIu64 " repeats the delays)\n", seed, seed);
    uint64_t random = seed | 1;
    history h = {0};
    daemon_start(d, NULL);
    daemon_admit(d, CREDIT_LIMIT_CENTS);
    size_t cut_short = 0;
    for (int iteration = 0; iteration < ITERATIONS; iteration++) {
        if (iteration > 0) daemon_start(d, NULL);
        long delay_ms = (long)(next_random(&random) % KILL_AFTER_MS_MAX);
        daemon_load *load = daemon_load_start(d, MEMBERS, next_random(&random), TRANSFERS_MAX);
        daemon_sleep_ms(delay_ms);
        daemon_kill(d);
        daemon_load_stop(load);
        size_t count = 0;
        const daemon_transfer *acknowledged = daemon_load_acknowledged(load, &count);
        assert_int_equal(daemon_load_refused(load), 0);
        history_add(&h, acknowledged, count);
        cut_short += count < (size_t)MEMBERS * TRANSFERS_MAX;
        daemon_load_free(load);
        daemon_start(d, NULL);
        check_restarted(d, &h);
        assert_int_equal(daemon_stop(d), 0);
        assert_int_equal(daemon_verify(d->ledger), 0);
        print_message("iteration %d: killed after %ld ms, %zu transfers acknowledged (%zu in all), all present\n",
                      iteration + 1, delay_ms, count, h.count);
    }
    print_message("crash test: %d kills, %zu of them in the middle of the load, %zu acknowledged transfers kept\n",
                  ITERATIONS, cut_short, h.count);
    assert_true(h.count > 0);
    free(h.transfers);
}

static int setup(void **state) {
    static daemon_fixture d;
    if (getenv("TROCD") == NULL) {
        print_message("TROCD is not set: the crash test needs the path of trocd\n");
        return -1;
    }
    assert_int_equal(troc_init(), 0);
    daemon_create(&d, NULL, MEMBERS);
    daemon_init(&d);
    *state = &d;
    return 0;
}

static int teardown(void **state) {
    daemon_destroy(*state);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_9_at_random_moments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
