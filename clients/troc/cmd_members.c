/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc admin member list [--over-limit] [--frozen] [--limit N] [--after NAME]
 *
 * The territory's members and their accounts, in name order: the
 * administrator's roll, and with --over-limit the accounts `troc admin
 * stats` counts as over their limit, with --frozen the frozen ones.  The
 * daemon answers a page at a time and looks at a bounded number of members
 * for each, so a filtered list is gathered over as many pages as it takes;
 * the list ends with the option that continues it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "args.h"
#include "base/limits.h"
#include "commands.h"
#include "invoice.h"
#include "session.h"
#include "table.h"

/* Members shown by default. */
#define MEMBERS_DEFAULT 100

typedef struct member_list {
    troc_balance *members;
    size_t count;
    size_t wanted;
    unsigned only;                        /* TROC_MEMBER_LIST_* */
    char after[TROC_NAME_LENGTH_MAX + 1]; /* --after NAME, then where the next page begins; "" at the end */
} member_list;

/* Reads pages until `wanted` members or the last one.  Bounded: each page
 * moves `after` past at least one member, or ends the list. */
static int list_gather(troc_client *client, member_list *list) {
    for (;;) {
        size_t page = list->wanted - list->count, count = 0;
        if (page > TROC_PAGE_ROWS_MAX) page = TROC_PAGE_ROWS_MAX;
        char next[TROC_NAME_LENGTH_MAX + 1];
        int rc = troc_client_member_list(client, list->after, list->only, list->members + list->count, page, &count,
                                         next);
        if (rc != 0) return rc;
        list->count += count;
        memcpy(list->after, next, sizeof next);
        if (next[0] == '\0' || list->count == list->wanted) return 0;
    }
}

static void list_json(const member_list *list, const char *unit) {
    troc_json json;
    troc_json_start(&json, stdout);
    troc_json_string(&json, "unit", unit);
    troc_json_array_begin(&json, "members");
    for (size_t i = 0; i < list->count; i++) {
        const troc_balance *account = &list->members[i];
        troc_json_object_begin(&json, NULL);
        troc_json_string(&json, "member", account->member);
        troc_json_amount(&json, "balance", account->balance_cents);
        troc_json_amount(&json, "credit_limit", account->credit_limit_cents);
        if (account->has_balance_max) troc_json_amount(&json, "balance_max", account->balance_max_cents);
        else troc_json_null(&json, "balance_max");
        troc_json_bool(&json, "frozen", account->frozen);
        troc_json_bool(&json, "over_limit", troc__cli_over_limit(account));
        troc_json_object_end(&json);
    }
    troc_json_array_end(&json);
    troc_json_bool(&json, "more", list->after[0] != '\0');
    troc_json_string(&json, "next_after", list->after[0] != '\0' ? list->after : NULL);
    troc_json_finish(&json);
}

static void member_fill(const void *rows, size_t index, troc_cli_row *row) {
    const troc_balance *account = (const troc_balance *)rows + index;
    row->cell[0] = account->member;
    row->cell[1] = troc_amount_format(account->balance_cents, row->text[1]);
    row->cell[2] = troc_amount_format(account->credit_limit_cents, row->text[2]);
    row->cell[3] = account->has_balance_max ? troc_amount_format(account->balance_max_cents, row->text[3]) : "none";
    row->cell[4] = troc__cli_account_status(account);
}

static void list_print(const member_list *list, const char *unit) {
    const char *which = list->only == (TROC_MEMBER_LIST_OVER_LIMIT | TROC_MEMBER_LIST_FROZEN)
                            ? ", frozen and over their limit"
                        : list->only == TROC_MEMBER_LIST_OVER_LIMIT ? ", over their limit"
                        : list->only == TROC_MEMBER_LIST_FROZEN     ? ", frozen"
                                                                    : "";
    printf("members%s, by name (amounts in %s)\n", which, unit);
    if (list->count == 0) printf("  none\n");
    const troc_cli_column columns[] = {{"member", 24, false, 0},      {"balance", 16, true, 1},
                                       {"credit limit", 16, true, 1}, {"balance max", 16, true, 1},
                                       {"account", 0, false, 2}};
    if (list->count > 0) troc__cli_table_print(stdout, columns, 5, list->members, list->count, member_fill);
    if (list->after[0] != '\0') {
        /* A filtered search the daemon's bound stopped may find no more. */
        printf("  (more members %s: add --after %s to see them)\n", list->only != 0 ? "may follow" : "follow",
               list->after);
    }
}

int troc__cmd_admin_member_list(const troc_cli *cli, int argc, char **argv) {
    const char *usage = "troc admin member list " TROC_USAGE_MEMBER_LIST;
    bool flags[2] = {false, false};
    int status = troc__cli_flags(&argc, argv, usage, (const char *const[]){"--over-limit", "--frozen"}, flags, 2);
    const char *limit_text = NULL, *after = NULL;
    troc_cli_option options[] = {{"--limit", &limit_text}, {"--after", &after}};
    troc_cli_args args;
    if (status == 0) status = troc__cli_parse(argc, argv, usage, options, 2, 0, 0, &args);
    if (status != 0) return status;
    uint64_t wanted = MEMBERS_DEFAULT;
    if (limit_text != NULL) status = troc__cli_check_count("--limit", limit_text, TROC_LIST_ROWS_MAX, &wanted);
    if (status == 0 && after != NULL) status = troc__cli_check_name("--after", after);
    if (status != 0) return status;
    member_list list = {.wanted = (size_t)wanted};
    if (flags[0]) list.only |= TROC_MEMBER_LIST_OVER_LIMIT;
    if (flags[1]) list.only |= TROC_MEMBER_LIST_FROZEN;
    if (after != NULL) snprintf(list.after, sizeof list.after, "%s", after);
    list.members = malloc(list.wanted * sizeof *list.members);
    if (list.members == NULL) return troc_cli_fail(TROC_EXIT_SERVER, "out of memory");
    troc_client *client = NULL;
    status = troc__cli_connect(cli, &client);
    if (status == 0) {
        int rc = list_gather(client, &list);
        if (rc != 0) status = troc__cli_failure(cli, client, rc);
        else if (cli->json) list_json(&list, troc_client_unit(client));
        else list_print(&list, troc_client_unit(client));
    }
    troc_client_free(client);
    free(list.members);
    return status;
}
