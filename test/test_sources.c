/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the server's table of sources: what a source is (an IPv4
 * address, an IPv6 /64, an IPv4-mapped address as its IPv4 one), how it is
 * named in the log, and the table's counts through a long churn of adds
 * and removes checked against a plain array, which exercises every case
 * of the backward-shift deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "server/sources.h"

static troc__source source_of(const char *text) {
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(4000);
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(4001);
    }
    troc__source source;
    troc__source_from_address((struct sockaddr *)&address, &source);
    return source;
}

static void assert_same_source(const char *a, const char *b, bool same) {
    troc__source x = source_of(a), y = source_of(b);
    assert_int_equal(memcmp(&x, &y, sizeof x) == 0, same);
}

static void assert_source_name(const char *address, const char *name) {
    troc__source source = source_of(address);
    char text[TROC__SOURCE_NAME_SIZE];
    troc__source_name(&source, text, sizeof text);
    assert_string_equal(text, name);
}

static void test_what_a_source_is(void **state) {
    (void)state;
    assert_same_source("192.0.2.7", "192.0.2.7", true);
    assert_same_source("192.0.2.7", "192.0.2.8", false);
    assert_same_source("192.0.2.7", "::ffff:192.0.2.7", true);   /* a dual-stack listener's view */
    assert_same_source("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true);
    assert_same_source("2001:db8:1:2::1", "2001:db8:1:3::1", false);
    /* An IPv6 /64 whose 64 bits look like an IPv4 address's is not it. */
    assert_same_source("c000:207::", "192.0.2.7", false);
    assert_source_name("192.0.2.7", "192.0.2.7");
    assert_source_name("::ffff:192.0.2.7", "192.0.2.7");
    assert_source_name("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
    troc__source unknown;
    troc__source_from_address(NULL, &unknown);
    char text[TROC__SOURCE_NAME_SIZE];
    troc__source_name(&unknown, text, sizeof text);
    assert_string_equal(text, "an unknown address");
}

enum { SOURCES_MAX = 64, KINDS = 96, TURNS = 20000 };

/* A source among KINDS: IPv4 addresses and IPv6 prefixes, close together
 * so that they would cluster under a weak hash. */
static troc__source source_number(int number) {
    troc__source source;
    memset(&source, 0, sizeof source);
    source.family = number % 2 == 0 ? 4 : 6;
    source.prefix[0] = 10;
    source.prefix[3] = (uint8_t)number;
    return source;
}

static void test_counts_through_churn(void **state) {
    (void)state;
    troc__sources sources;
    assert_int_equal(troc__sources_init(&sources, SOURCES_MAX), 0);
    uint32_t expected[KINDS] = {0};
    uint32_t held = 0;
    srand(7);
    for (int turn = 0; turn < TURNS; turn++) {
        int number = rand() % KINDS;
        troc__source source = source_number(number);
        bool add = rand() % 2 == 0;
        if (add && (expected[number] > 0 || held < SOURCES_MAX)) {
            troc__sources_add(&sources, &source);
            if (expected[number]++ == 0) held++;
        } else if (!add && expected[number] > 0) {
            troc__sources_remove(&sources, &source);
            if (--expected[number] == 0) held--;
        }
        assert_int_equal(sources.held, held);
        if (turn % 97 == 0) {
            for (int k = 0; k < KINDS; k++) {
                troc__source other = source_number(k);
                assert_int_equal(troc__sources_count(&sources, &other), expected[k]);
            }
        }
    }
    for (int k = 0; k < KINDS; k++) {
        troc__source source = source_number(k);
        while (expected[k] > 0) {
            troc__sources_remove(&sources, &source);
            expected[k]--;
        }
        assert_int_equal(troc__sources_count(&sources, &source), 0);
    }
    assert_int_equal(sources.held, 0);
    troc__sources_destroy(&sources);
}

/* The table holds as many sources as it was sized for, and a full table
 * still finds each of them and misses the others. */
static void test_full_table(void **state) {
    (void)state;
    troc__sources sources;
    assert_int_equal(troc__sources_init(&sources, SOURCES_MAX), 0);
    assert_true(sources.mask + 1 >= 2 * SOURCES_MAX);
    for (int k = 0; k < SOURCES_MAX; k++) {
        troc__source source = source_number(k);
        troc__sources_add(&sources, &source);
    }
    for (int k = 0; k < KINDS; k++) {
        troc__source source = source_number(k);
        assert_int_equal(troc__sources_count(&sources, &source), k < SOURCES_MAX ? 1 : 0);
    }
    troc__sources_destroy(&sources);
}

int main(void) {
    assert_int_equal(troc_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_a_source_is),
        cmocka_unit_test(test_counts_through_churn),
        cmocka_unit_test(test_full_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
