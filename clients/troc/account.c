/* SPDX-License-Identifier: Apache-2.0 */
#include "account.h"

#include <assert.h>

#include "base/amount.h"

/* balance + credit limit, saturated: a balance near INT64_MAX with a
 * credit line can pay more than an int64 holds, and a figure from a server
 * is not trusted to be in range (a negative limit is not negated). */
static int64_t room_below(const troc_balance *balance) {
    int64_t room = 0;
    if (troc_amount_add(balance->balance_cents, balance->credit_limit_cents, &room) != 0) {
        return balance->balance_cents > 0 ? INT64_MAX : INT64_MIN;
    }
    return room;
}

int64_t troc__cli_can_pay(const troc_balance *balance) {
    assert(balance != NULL);
    int64_t room = room_below(balance);
    return balance->frozen || room < 0 ? 0 : room;
}

bool troc__cli_over_limit(const troc_balance *balance) {
    assert(balance != NULL);
    if (room_below(balance) < 0) return true;
    return balance->has_balance_max && balance->balance_cents > balance->balance_max_cents;
}

const char *troc__cli_account_status(const troc_balance *balance) {
    static const char *const words[2][2] = {{"active", "active, over its limit"},
                                            {"frozen", "frozen, over its limit"}};
    return words[balance->frozen][troc__cli_over_limit(balance)];
}
