/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The figures troc derives from an account as the server reports it: what
 * it can pay and whether it is over its limit.  They must hold at the
 * edges of int64 (a balance near INT64_MAX with a credit line) and for
 * figures no honest server sends (a negative limit), without overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../clients/troc/account.h"

static troc_balance account(int64_t balance_cents, int64_t credit_limit_cents) {
    return (troc_balance){.balance_cents = balance_cents, .credit_limit_cents = credit_limit_cents};
}

static void test_can_pay_is_balance_plus_credit_line(void **state) {
    (void)state;
    troc_balance a = account(10000, 5000);
    assert_int_equal(troc__cli_can_pay(&a), 15000);
    a = account(-4000, 5000);
    assert_int_equal(troc__cli_can_pay(&a), 1000);
    a = account(-6000, 5000); /* below a lowered line: nothing */
    assert_int_equal(troc__cli_can_pay(&a), 0);
    a = account(10000, 5000);
    a.frozen = true;
    assert_int_equal(troc__cli_can_pay(&a), 0);
}

static void test_can_pay_saturates_past_int64(void **state) {
    (void)state;
    /* 92,230,000,000,000,000.00 with a line of 10,000,000,000,000.00 can pay
     * more than an int64 holds: the most it can say, not nothing. */
    troc_balance a = account(9223000000000000000, 1000000000000000);
    assert_int_equal(troc__cli_can_pay(&a), INT64_MAX);
    assert_false(troc__cli_over_limit(&a));
}

static void test_over_limit_below_the_line_or_above_the_maximum(void **state) {
    (void)state;
    troc_balance a = account(-5000, 5000);
    assert_false(troc__cli_over_limit(&a));
    a = account(-5001, 5000);
    assert_true(troc__cli_over_limit(&a));
    a = account(7000, 0);
    a.has_balance_max = true;
    a.balance_max_cents = 6999;
    assert_true(troc__cli_over_limit(&a));
    assert_string_equal(troc__cli_account_status(&a), "active, over its limit");
    a.balance_max_cents = 7000;
    assert_false(troc__cli_over_limit(&a));
    assert_string_equal(troc__cli_account_status(&a), "active");
}

static void test_a_negative_limit_from_a_server_is_not_negated(void **state) {
    (void)state;
    troc_balance a = account(0, INT64_MIN);
    assert_true(troc__cli_over_limit(&a));
    assert_int_equal(troc__cli_can_pay(&a), 0);
    a = account(-1, INT64_MIN);
    assert_true(troc__cli_over_limit(&a));
    assert_int_equal(troc__cli_can_pay(&a), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_can_pay_is_balance_plus_credit_line),
        cmocka_unit_test(test_can_pay_saturates_past_int64),
        cmocka_unit_test(test_over_limit_below_the_line_or_above_the_maximum),
        cmocka_unit_test(test_a_negative_limit_from_a_server_is_not_negated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
