/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc admin ...: the administrator's actions (admit a member, add or
 * revoke its keys, change its limits, freeze and unfreeze it) and the
 * territory's statistics.
 *
 * Each action is checked on the command line first (exit 2, nothing sent),
 * then signed with the administrator's key under a fresh id and submitted;
 * the ledger decides the rest (not_admin for a member's key, member_exists,
 * unknown_member, ...: exit 1 with the code's name).  A lost connection is
 * retried once with the same signed action, which the ledger applies at
 * most once.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "args.h"
#include "base/limits.h"
#include "commands.h"
#include "session.h"

/* Human words for each action, in messages and JSON. */
static const char *const action_names[] = {
    [TROC_ADMIN_MEMBER_ADD] = "member_add", [TROC_ADMIN_KEY_ADD] = "key_add", [TROC_ADMIN_KEY_REVOKE] = "key_revoke",
    [TROC_ADMIN_LIMIT_SET] = "limit_set",   [TROC_ADMIN_FREEZE] = "freeze",   [TROC_ADMIN_UNFREEZE] = "unfreeze",
};

static const char *const action_done[] = {
    [TROC_ADMIN_MEMBER_ADD] = "admitted member", [TROC_ADMIN_KEY_ADD] = "added a key of",
    [TROC_ADMIN_KEY_REVOKE] = "revoked a key of", [TROC_ADMIN_LIMIT_SET] = "changed the limits of",
    [TROC_ADMIN_FREEZE] = "froze",               [TROC_ADMIN_UNFREEZE] = "unfroze",
};

/* A member admitted without --credit-limit gets none: 0.00, shown as such. */
static bool shows_credit_limit(const troc_admin_action *action) {
    return action->has_credit_limit || action->kind == TROC_ADMIN_MEMBER_ADD;
}

static void print_limits_json(troc_json *json, const troc_admin_action *action) {
    if (shows_credit_limit(action)) troc_json_amount(json, "credit_limit", action->credit_limit_cents);
    if (action->has_balance_max) troc_json_amount(json, "balance_max", action->balance_max_cents);
    if (action->remove_balance_max || (action->kind == TROC_ADMIN_MEMBER_ADD && !action->has_balance_max)) {
        troc_json_null(json, "balance_max");
    }
}

/* After a limit change that left the account outside its limits (lowered
 * below a debt or under a positive balance, which the ledger allows), what
 * that means for it: the change alone reads as if nothing followed. */
static void print_outside(const troc_admin_action *action, const troc_balance *account, const char *unit) {
    char balance[TROC_AMOUNT_TEXT_SIZE], limit[TROC_AMOUNT_TEXT_SIZE], floor[TROC_AMOUNT_TEXT_SIZE];
    troc_amount_format(account->balance_cents, balance);
    if (account->credit_limit_cents >= 0 && account->balance_cents < -account->credit_limit_cents) {
        printf("note: %s's balance %s %s is below its %scredit limit of %s: it can pay nothing until it is back "
               "to %s or above\n",
               account->member, balance, unit, action->has_credit_limit ? "new " : "",
               troc_amount_format(account->credit_limit_cents, limit),
               troc_amount_format(-account->credit_limit_cents, floor));
    }
    if (account->has_balance_max && account->balance_cents > account->balance_max_cents) {
        printf("note: %s's balance %s %s is above its %sbalance maximum of %s: it can be paid nothing until it is "
               "back to %s or below\n",
               account->member, balance, unit, action->has_balance_max ? "new " : "",
               troc_amount_format(account->balance_max_cents, limit), limit);
    }
}

/* `account`: the member's account read after a limit change, or NULL. */
static void print_done(const troc_cli *cli, const troc_admin_action *action, const troc_submit_result *result,
                       const troc_balance *account, const char *unit) {
    char id[TROC_ID_HEX_SIZE], amount[TROC_AMOUNT_TEXT_SIZE], time_text[TROC_CLI_TIME_SIZE];
    if (cli->json) {
        troc_json json;
        troc_json_start(&json, stdout);
        troc__cli_json_result(&json, result);
        troc_json_string(&json, "action", action_names[action->kind]);
        troc_json_string(&json, "member", action->member);
        print_limits_json(&json, action);
        if (action->reason != NULL) troc_json_string(&json, "reason", action->reason);
        if (account != NULL) {
            troc_json_amount(&json, "balance", account->balance_cents);
            troc_json_bool(&json, "over_limit", troc__cli_over_limit(account));
        }
        troc_json_finish(&json);
        return;
    }
    troc_id_to_hex(result->id, id);
    printf("%s %s\n", action_done[action->kind], action->member);
    if (shows_credit_limit(action)) {
        printf("  credit limit  %s %s\n", troc_amount_format(action->credit_limit_cents, amount), unit);
    }
    if (action->has_balance_max) {
        printf("  balance max   %s %s\n", troc_amount_format(action->balance_max_cents, amount), unit);
    }
    if (action->remove_balance_max || (action->kind == TROC_ADMIN_MEMBER_ADD && !action->has_balance_max)) {
        printf("  balance max   none\n");
    }
    if (action->reason != NULL) printf("  reason        %s\n", action->reason);
    printf("  id            %s\n", id);
    printf("  journal       #%llu, %s UTC\n", (unsigned long long)result->journal_seq,
           troc__cli_time(result->timestamp_us, false, time_text));
    if (account != NULL && troc__cli_over_limit(account)) print_outside(action, account, unit);
}

/* What the ledger answers an action applied already: what a second run
 * of the command meets when the first one's answer was lost. */
static const int action_again[] = {
    [TROC_ADMIN_MEMBER_ADD] = TROC_RESULT_MEMBER_EXISTS,   [TROC_ADMIN_KEY_ADD] = TROC_RESULT_KEY_IN_USE,
    [TROC_ADMIN_KEY_REVOKE] = TROC_RESULT_KEY_NOT_FOUND,   [TROC_ADMIN_LIMIT_SET] = TROC_RESULT_NOTHING_CHANGED,
    [TROC_ADMIN_FREEZE] = TROC_RESULT_ALREADY_FROZEN,      [TROC_ADMIN_UNFREEZE] = TROC_RESULT_NOT_FROZEN,
};

/* What to do when `action`'s outcome is unknown: the command takes no --id,
 * so the member's record is what to look at; a second run is harmless, as
 * the ledger refuses an action that was applied already. */
static void unknown_advice(const troc_admin_action *action, troc_cli_unknown *unknown) {
    assert((size_t)action->kind < sizeof action_again / sizeof action_again[0] &&
           action_again[action->kind] != TROC_RESULT_OK);
    troc__cli_unknown_advice(unknown, "member", action->member, action_again[action->kind], NULL,
                             "see whether it was applied with: troc member %s (its account, keys and limit "
                             "changes)",
                             action->member);
}

/* Connects, signs `action` with the session's key and submits it. */
static int admin_submit(const troc_cli *cli, troc_admin_action *action) {
    troc_client *client = NULL;
    troc_envelope *envelope = NULL;
    int status = troc__cli_connect(cli, &client);
    if (status != 0) return status;
    int rc = troc_envelope_create(&envelope);
    if (rc == 0) rc = troc_sign_admin(client, NULL, action, envelope);
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else {
        troc_submit_result result = {0};
        troc_cli_unknown unknown;
        unknown_advice(action, &unknown);
        status = troc__cli_submit(cli, client, envelope, "action", &unknown, &result);
        troc__cli_unknown_name(&result, action->member);
        /* The change stands whatever the read gives: without the account,
         * only the note on it is missing. */
        troc_balance account;
        const bool read = status == 0 && action->kind == TROC_ADMIN_LIMIT_SET &&
                          troc_client_balance(client, action->member, &account) == 0;
        if (status == 0) print_done(cli, action, &result, read ? &account : NULL, troc_client_unit(client));
    }
    troc_envelope_free(envelope);
    troc_client_free(client);
    return status;
}

/* --credit-limit and --balance-max (AMOUNT, or "none": no maximum, which
 * a member is admitted with anyway, and which a limit change sets). */
static int limits_read(const char *credit_text, const char *max_text, troc_admin_action *action) {
    int status = 0;
    if (credit_text != NULL) {
        action->has_credit_limit = true;
        status = troc__cli_check_amount("--credit-limit", credit_text, 0, &action->credit_limit_cents);
    }
    if (status != 0 || max_text == NULL) return status;
    if (strcmp(max_text, "none") == 0) {
        action->remove_balance_max = action->kind == TROC_ADMIN_LIMIT_SET;
        return 0;
    }
    action->has_balance_max = true;
    return troc__cli_check_amount("--balance-max", max_text, 0, &action->balance_max_cents);
}

int troc__cmd_admin_member_add(const troc_cli *cli, int argc, char **argv) {
    const char *public_key_text = NULL, *credit_text = NULL, *max_text = NULL;
    troc_cli_option options[] = {
        {"--pubkey", &public_key_text}, {"--credit-limit", &credit_text}, {"--balance-max", &max_text}};
    troc_cli_args args;
    const char *usage = "troc admin member add " TROC_USAGE_MEMBER_ADD;
    int status = troc__cli_parse(argc, argv, usage, options, 3, 1, 1, &args);
    if (status != 0) return status;
    if (public_key_text == NULL) return troc_cli_fail(TROC_EXIT_USAGE, "--pubkey is required\nusage: %s", usage);
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_admin_action action = {.kind = TROC_ADMIN_MEMBER_ADD, .member = args.positional[0], .public_key = public_key};
    status = troc__cli_check_name("NAME", action.member);
    if (status == 0) status = troc__cli_check_public_key("--pubkey", public_key_text, public_key);
    if (status == 0) status = troc__cli_check_key_usable("--pubkey", public_key_text, public_key);
    if (status == 0) status = limits_read(credit_text, max_text, &action);
    if (status != 0) return status;
    return admin_submit(cli, &action);
}

static int key_action(const troc_cli *cli, int argc, char **argv, troc_admin_kind kind, const char *usage) {
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, usage, NULL, 0, 2, 2, &args);
    if (status != 0) return status;
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_admin_action action = {.kind = kind, .member = args.positional[0], .public_key = public_key};
    status = troc__cli_check_name("NAME", action.member);
    if (status == 0) status = troc__cli_check_public_key("PK", args.positional[1], public_key);
    /* A key to revoke may be one a ledger took before such keys were refused. */
    if (status == 0 && kind == TROC_ADMIN_KEY_ADD) {
        status = troc__cli_check_key_usable("PK", args.positional[1], public_key);
    }
    if (status != 0) return status;
    return admin_submit(cli, &action);
}

int troc__cmd_admin_key_add(const troc_cli *cli, int argc, char **argv) {
    return key_action(cli, argc, argv, TROC_ADMIN_KEY_ADD, "troc admin member key add " TROC_USAGE_KEY);
}

int troc__cmd_admin_key_revoke(const troc_cli *cli, int argc, char **argv) {
    return key_action(cli, argc, argv, TROC_ADMIN_KEY_REVOKE, "troc admin member key revoke " TROC_USAGE_KEY);
}

int troc__cmd_admin_limit(const troc_cli *cli, int argc, char **argv) {
    const char *credit_text = NULL, *max_text = NULL, *reason = NULL;
    troc_cli_option options[] = {
        {"--credit-limit", &credit_text}, {"--balance-max", &max_text}, {"--reason", &reason}};
    troc_cli_args args;
    const char *usage = "troc admin limit " TROC_USAGE_LIMIT;
    int status = troc__cli_parse(argc, argv, usage, options, 3, 1, 1, &args);
    if (status != 0) return status;
    if (credit_text == NULL && max_text == NULL) {
        return troc_cli_fail(TROC_EXIT_USAGE, "give --credit-limit, --balance-max or both\nusage: %s", usage);
    }
    troc_admin_action action = {.kind = TROC_ADMIN_LIMIT_SET, .member = args.positional[0], .reason = reason};
    status = troc__cli_check_name("NAME", action.member);
    if (status == 0) status = limits_read(credit_text, max_text, &action);
    if (status == 0) status = troc__cli_check_text("--reason", reason, TROC_REASON_LENGTH_MAX, true);
    if (status != 0) return status;
    return admin_submit(cli, &action);
}

static int freeze_action(const troc_cli *cli, int argc, char **argv, troc_admin_kind kind, const char *usage) {
    const char *reason = NULL;
    troc_cli_option options[] = {{"--reason", &reason}};
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, usage, options, 1, 1, 1, &args);
    if (status != 0) return status;
    troc_admin_action action = {.kind = kind, .member = args.positional[0], .reason = reason};
    status = troc__cli_check_name("NAME", action.member);
    if (status == 0) status = troc__cli_check_text("--reason", reason, TROC_REASON_LENGTH_MAX, true);
    if (status != 0) return status;
    return admin_submit(cli, &action);
}

int troc__cmd_admin_freeze(const troc_cli *cli, int argc, char **argv) {
    return freeze_action(cli, argc, argv, TROC_ADMIN_FREEZE, "troc admin freeze " TROC_USAGE_FREEZE);
}

int troc__cmd_admin_unfreeze(const troc_cli *cli, int argc, char **argv) {
    return freeze_action(cli, argc, argv, TROC_ADMIN_UNFREEZE, "troc admin unfreeze " TROC_USAGE_FREEZE);
}
