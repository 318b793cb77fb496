/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What troc says of an account as the server reports it: what it can pay,
 * whether it is outside its limits, its state in words.  Pure functions of
 * a troc_balance, safe at the edges of int64 and for figures no honest
 * server sends.
 */
#ifndef TROC_CLI_ACCOUNT_H
#define TROC_CLI_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "troc.h"

/* What an account can pay now: down to its credit line, nothing when
 * frozen or already below it. */
int64_t troc__cli_can_pay(const troc_balance *balance);

/* True when the account is outside its limits (below its credit line, or
 * above its balance maximum, either lowered since), as the daemon counts
 * it for `troc admin stats` and `troc admin member list --over-limit`. */
bool troc__cli_over_limit(const troc_balance *balance);

/* The account's state in words, the same wherever troc shows an account
 * (a balance, a member's record, the member list): "active" or "frozen",
 * then ", over its limit" when it is. */
const char *troc__cli_account_status(const troc_balance *balance);

#endif /* TROC_CLI_ACCOUNT_H */
