/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc built with a troc_clearing_check() that fails every result (linked
 * with -Wl,--wrap=troc_clearing_check), for test/integration/
 * clear_check_fails.py: what troc clear leaves behind when its result
 * fails its check.
 */
#include "base/error.h"
#include "clearing/clearing.h"

int __wrap_troc_clearing_check(const troc_clearing_problem *problem, const troc_clearing_result *result);

int __wrap_troc_clearing_check(const troc_clearing_problem *problem, const troc_clearing_result *result) {
    (void)problem;
    (void)result;
    return TROC_ENOT_OPTIMAL;
}
