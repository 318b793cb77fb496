/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The read commands: troc balance [NAME], troc history [NAME] [--limit N],
 * troc member [NAME] and troc admin stats.  A member session reads only its
 * own account (the server refuses others: exit 1); an admin session reads
 * everyone's, and must then name the member.
 *
 * Human output is a small aligned statement; --json prints one object with
 * amounts as decimal strings and times both as microseconds and ISO 8601.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "args.h"
#include "base/amount.h"
#include "base/limits.h"
#include "commands.h"
#include "session.h"
#include "table.h"

/* Connects, then runs `read` with the member named (or the session's own);
 * refuses an admin session without a NAME. */
typedef int read_fn(const troc_cli *cli, troc_client *client, const char *member, void *context);

static int read_run(const troc_cli *cli, const char *member, read_fn *read, void *context) {
    if (member != NULL) {
        int status = troc__cli_check_name("NAME", member);
        if (status != 0) return status;
    }
    troc_client *client = NULL;
    int status = troc__cli_connect(cli, &client);
    if (status != 0) return status;
    if (member == NULL && troc_client_role(client) != TROC_SESSION_MEMBER) {
        status = troc_cli_fail(TROC_EXIT_USAGE, "an administrator's session must name the member (NAME)");
    } else {
        status = read(cli, client, member, context);
    }
    troc_client_free(client);
    return status;
}

/* --------------------------------------------------------------- balance */

/* Figures, one a line: a label, its value flush right in a column as wide
 * as the widest value, and the unit.  A balance and the territory's
 * statistics line up this way. */
typedef struct figure {
    const char *label;
    char value[TROC_AMOUNT_TEXT_SIZE]; /* an amount, a count or a word */
    const char *unit;                  /* "" after a count or a word */
} figure;

static void figure_fill(const void *rows, size_t index, troc_cli_row *row) {
    const figure *f = (const figure *)rows + index;
    row->cell[0] = f->label;
    row->cell[1] = f->value;
    row->cell[2] = f->unit;
}

/* `label_width`: the labels' column, so that the values start where README
 * shows them for everyday amounts. */
static void figures_print(const figure *figures, size_t count, int label_width) {
    const troc_cli_column columns[] = {
        {NULL, label_width, false, 2}, {NULL, 16, true, 2}, {NULL, 0, false, 1}};
    troc__cli_table_print(stdout, columns, 3, figures, count, figure_fill);
}

static void figure_amount(figure *f, const char *label, int64_t cents, const char *unit) {
    *f = (figure){.label = label, .unit = unit};
    troc_amount_format(cents, f->value);
}

static void figure_word(figure *f, const char *label, const char *word) {
    *f = (figure){.label = label, .unit = ""};
    snprintf(f->value, sizeof f->value, "%s", word);
}

static void figure_count(figure *f, const char *label, uint64_t count) {
    *f = (figure){.label = label, .unit = ""};
    snprintf(f->value, sizeof f->value, "%llu", (unsigned long long)count);
}

static void print_account(const troc_balance *balance, const char *unit) {
    figure figures[4];
    figure_amount(&figures[0], "balance", balance->balance_cents, unit);
    figure_amount(&figures[1], "credit limit", balance->credit_limit_cents, unit);
    if (balance->has_balance_max) figure_amount(&figures[2], "balance max", balance->balance_max_cents, unit);
    else figure_word(&figures[2], "balance max", "none");
    figure_amount(&figures[3], "can pay", troc__cli_can_pay(balance), unit);
    figures_print(figures, 4, 12);
    /* The account's state in words, outside the amounts' column: "active,
     * over its limit" would widen it and move every amount. */
    printf("  %-12s  %s\n", "account", troc__cli_account_status(balance));
}

static void json_account(troc_json *json, const troc_balance *balance, const char *unit) {
    troc_json_string(json, "member", balance->member);
    troc_json_amount(json, "balance", balance->balance_cents);
    troc_json_amount(json, "credit_limit", balance->credit_limit_cents);
    if (balance->has_balance_max) {
        troc_json_amount(json, "balance_max", balance->balance_max_cents);
    } else {
        troc_json_null(json, "balance_max");
    }
    troc_json_bool(json, "frozen", balance->frozen);
    troc_json_bool(json, "over_limit", troc__cli_over_limit(balance));
    troc_json_string(json, "unit", unit);
}

static int balance_read(const troc_cli *cli, troc_client *client, const char *member, void *context) {
    (void)context;
    troc_balance balance;
    int rc = troc_client_balance(client, member, &balance);
    if (rc != 0) return troc__cli_failure(cli, client, rc);
    if (cli->json) {
        troc_json json;
        troc_json_start(&json, stdout);
        json_account(&json, &balance, troc_client_unit(client));
        troc_json_finish(&json);
    } else {
        printf("%s\n", balance.member);
        print_account(&balance, troc_client_unit(client));
    }
    return TROC_EXIT_OK;
}

int troc__cmd_balance(const troc_cli *cli, int argc, char **argv) {
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc balance " TROC_USAGE_BALANCE, NULL, 0, 0, 1, &args);
    if (status != 0) return status;
    return read_run(cli, args.count > 0 ? args.positional[0] : NULL, balance_read, NULL);
}

/* --------------------------------------------------------------- history */

typedef struct statement {
    troc_history_line *lines;
    size_t count;
    size_t wanted;
    uint64_t before;                 /* --before SEQ: lines older than it; 0 from the newest */
    uint64_t next_before;            /* where older lines continue; 0 when there are none */
} statement;

static const char *const line_kinds[] = {
    [TROC_HISTORY_TRANSFER] = "transfer", [TROC_HISTORY_SETOFF] = "setoff", [TROC_HISTORY_CLEARING_PAYMENT] = "clearing_payment"};

static const char *line_kind_name(troc_history_kind kind) {
    return kind <= TROC_HISTORY_CLEARING_PAYMENT ? line_kinds[kind] : "unknown";
}

/* Reads pages until `wanted` lines or the oldest. */
static int statement_gather(troc_client *client, const char *member, statement *out) {
    uint64_t before = out->before;
    for (;;) {
        size_t page = out->wanted - out->count;
        if (page > TROC_PAGE_ROWS_MAX) page = TROC_PAGE_ROWS_MAX;
        size_t count = 0;
        uint64_t next = 0;
        int rc = troc_client_history(client, member, before, out->lines + out->count, page, &count, &next);
        if (rc != 0) return rc;
        out->count += count;
        out->next_before = next;
        if (next == 0 || count == 0 || out->count == out->wanted) return 0;
        before = next;
    }
}

static void statement_json(const statement *st, const char *member, const char *unit) {
    troc_json json;
    char id[TROC_ID_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    troc_json_start(&json, stdout);
    troc_json_string(&json, "member", member);
    troc_json_string(&json, "unit", unit);
    troc_json_array_begin(&json, "lines");
    for (size_t i = 0; i < st->count; i++) {
        const troc_history_line *line = &st->lines[i];
        troc_id_to_hex(line->id, id);
        troc_json_object_begin(&json, NULL);
        troc_json_int(&json, "seq", (int64_t)line->seq);
        troc_json_int(&json, "timestamp_us", line->timestamp_us);
        troc_json_string(&json, "time", troc__cli_time(line->timestamp_us, true, time_text));
        troc_json_string(&json, "kind", line_kind_name(line->kind));
        troc_json_string(&json, "id", id);
        troc_json_string(&json, "counterparty", line->counterparty);
        troc_json_amount(&json, "amount", line->amount_cents);
        troc_json_amount(&json, "balance_after", line->balance_after_cents);
        troc_json_string(&json, "memo", line->memo);
        troc_json_object_end(&json);
    }
    troc_json_array_end(&json);
    troc_json_bool(&json, "more", st->next_before != 0);
    if (st->next_before != 0) troc_json_int(&json, "next_before", (int64_t)st->next_before);
    else troc_json_null(&json, "next_before");
    troc_json_finish(&json);
}

/* The memo cell of a statement line.  Clearing lines name their invoice,
 * whole ('troc invoice show' takes it; ids begin with their time, so a
 * prefix would not tell one invoice from the next): a set-off moves no
 * balance, it only reduces what the two members owe each other. */
static const char *line_memo(const troc_history_line *line, char text[TROC_CLI_CELL_SIZE]) {
    const char *what = line->kind == TROC_HISTORY_SETOFF            ? "set-off of invoice "
                       : line->kind == TROC_HISTORY_CLEARING_PAYMENT ? "clearing payment of invoice "
                                                                     : NULL;
    if (what == NULL) return line->memo;
    char id[TROC_ID_HEX_SIZE];
    troc_id_to_hex(line->id, id);
    snprintf(text, TROC_CLI_CELL_SIZE, "%s%s%s%s", what, id, line->memo[0] != '\0' ? " " : "", line->memo);
    return text;
}

_Static_assert(sizeof "clearing payment of invoice " + TROC_ID_HEX_SIZE + TROC_MEMO_LENGTH_MAX <= TROC_CLI_CELL_SIZE,
               "a statement's memo cell holds the longest tag and memo");

static void statement_fill(const void *rows, size_t index, troc_cli_row *row) {
    const troc_history_line *line = (const troc_history_line *)rows + index;
    snprintf(row->text[0], TROC_CLI_CELL_SIZE, "%llu", (unsigned long long)line->seq);
    row->cell[0] = row->text[0];
    row->cell[1] = troc__cli_time(line->timestamp_us, false, row->text[1]);
    row->cell[2] = line->counterparty;
    row->cell[3] = troc_amount_format(line->amount_cents, row->text[3]);
    row->cell[4] = troc_amount_format(line->balance_after_cents, row->text[4]);
    row->cell[5] = line_memo(line, row->text[5]);
}

static void statement_print(const statement *st, const char *member, const char *unit) {
    printf("statement of %s, newest first (amounts in %s)\n", member, unit);
    if (st->count == 0 && st->before != 0) {
        printf("  no lines before line %llu\n", (unsigned long long)st->before);
        return;
    }
    if (st->count == 0) {
        printf("  no movements yet\n");
        return;
    }
    const troc_cli_column columns[] = {{"seq", 6, true, 0},          {"time (UTC)", 19, false, 2},
                                       {"counterparty", 20, false, 2}, {"amount", 14, true, 1},
                                       {"balance", 14, true, 1},       {"memo", 0, false, 2}};
    troc__cli_table_print(stdout, columns, 6, st->lines, st->count, statement_fill);
    size_t setoffs = 0;
    for (size_t i = 0; i < st->count; i++) setoffs += st->lines[i].kind == TROC_HISTORY_SETOFF;
    if (setoffs > 0) {
        printf("  (a set-off cancels what two members owe each other: it leaves the balance as it was)\n");
    }
    if (st->next_before != 0) {
        printf("  (older lines exist: add --before %llu to see them)\n", (unsigned long long)st->next_before);
    }
}

static int history_read(const troc_cli *cli, troc_client *client, const char *member, void *context) {
    statement *st = context;
    int rc = statement_gather(client, member, st);
    if (rc != 0) return troc__cli_failure(cli, client, rc);
    const char *name = member != NULL ? member : troc_client_member(client);
    if (cli->json) {
        statement_json(st, name, troc_client_unit(client));
    } else {
        statement_print(st, name, troc_client_unit(client));
    }
    return TROC_EXIT_OK;
}

int troc__cmd_history(const troc_cli *cli, int argc, char **argv) {
    const char *limit_text = NULL, *before_text = NULL;
    troc_cli_option options[] = {{"--limit", &limit_text}, {"--before", &before_text}};
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc history " TROC_USAGE_HISTORY, options, 2, 0, 1, &args);
    if (status != 0) return status;
    uint64_t wanted = 20, before = 0;
    if (limit_text != NULL) status = troc__cli_check_count("--limit", limit_text, TROC_HISTORY_LINES_MAX, &wanted);
    if (status == 0 && before_text != NULL) status = troc__cli_check_count("--before", before_text, INT64_MAX, &before);
    if (status != 0) return status;
    statement st = {.wanted = (size_t)wanted, .before = before};
    st.lines = malloc(st.wanted * sizeof *st.lines);
    if (st.lines == NULL) return troc_cli_fail(TROC_EXIT_SERVER, "out of memory");
    status = read_run(cli, args.count > 0 ? args.positional[0] : NULL, history_read, &st);
    free(st.lines);
    return status;
}

/* ---------------------------------------------------------------- member */

static void member_json(const troc_member_record *info, const char *unit) {
    char hex[TROC_PUBLIC_KEY_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    troc_json json;
    troc_json_start(&json, stdout);
    json_account(&json, &info->account, unit);
    troc_json_int(&json, "admitted_us", info->admitted_us);
    troc_json_string(&json, "admitted", troc__cli_time(info->admitted_us, true, time_text));
    troc_json_string(&json, "freeze_reason", info->account.frozen ? info->freeze_reason : NULL);
    troc_json_array_begin(&json, "keys");
    for (size_t i = 0; i < info->key_count; i++) {
        troc_public_key_to_hex(info->keys[i].public_key, hex);
        troc_json_object_begin(&json, NULL);
        troc_json_string(&json, "public_key", hex);
        troc_json_bool(&json, "revoked", info->keys[i].revoked);
        troc_json_object_end(&json);
    }
    troc_json_array_end(&json);
    troc_json_array_begin(&json, "limit_changes");
    for (size_t i = 0; i < info->limit_change_count; i++) {
        const troc_limit_record *change = &info->limit_changes[i];
        troc_public_key_to_hex(change->admin_key, hex);
        troc_json_object_begin(&json, NULL);
        troc_json_int(&json, "timestamp_us", change->timestamp_us);
        troc_json_string(&json, "time", troc__cli_time(change->timestamp_us, true, time_text));
        troc_json_string(&json, "admin_key", hex);
        troc_json_amount(&json, "credit_limit", change->credit_limit_cents);
        if (change->has_balance_max) {
            troc_json_amount(&json, "balance_max", change->balance_max_cents);
        } else {
            troc_json_null(&json, "balance_max");
        }
        troc_json_string(&json, "reason", change->reason);
        troc_json_object_end(&json);
    }
    troc_json_array_end(&json);
    troc_json_finish(&json);
}

static void member_print(const troc_member_record *info, const char *unit) {
    char hex[TROC_PUBLIC_KEY_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    char credit[TROC_AMOUNT_TEXT_SIZE], maximum[TROC_AMOUNT_TEXT_SIZE];
    printf("%s\n", info->account.member);
    print_account(&info->account, unit);
    if (info->account.frozen) printf("  frozen for    %s\n", info->freeze_reason);
    printf("  admitted      %s UTC\n", troc__cli_time(info->admitted_us, false, time_text));
    printf("  keys\n");
    for (size_t i = 0; i < info->key_count; i++) {
        troc_public_key_to_hex(info->keys[i].public_key, hex);
        printf("    %s%s\n", hex, info->keys[i].revoked ? "  (revoked)" : "");
    }
    if (info->limit_change_count > 0) printf("  limit changes, newest first\n");
    for (size_t i = 0; i < info->limit_change_count; i++) {
        const troc_limit_record *change = &info->limit_changes[i];
        troc_public_key_to_hex(change->admin_key, hex);
        printf("    %s UTC  credit limit %s, balance max %s, by %.16s...: %s\n",
               troc__cli_time(change->timestamp_us, false, time_text),
               troc_amount_format(change->credit_limit_cents, credit),
               change->has_balance_max ? troc_amount_format(change->balance_max_cents, maximum) : "none", hex,
               change->reason);
    }
    if (info->truncated) printf("  (more keys or limit changes exist than shown)\n");
}

static int member_read(const troc_cli *cli, troc_client *client, const char *member, void *context) {
    (void)context;
    troc_member_record *info = malloc(sizeof *info);
    if (info == NULL) return troc_cli_fail(TROC_EXIT_SERVER, "out of memory");
    int rc = troc_client_member_record(client, member, info);
    int status = TROC_EXIT_OK;
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else if (cli->json) {
        member_json(info, troc_client_unit(client));
    } else {
        member_print(info, troc_client_unit(client));
    }
    free(info);
    return status;
}

int troc__cmd_member(const troc_cli *cli, int argc, char **argv) {
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc member " TROC_USAGE_MEMBER, NULL, 0, 0, 1, &args);
    if (status != 0) return status;
    return read_run(cli, args.count > 0 ? args.positional[0] : NULL, member_read, NULL);
}

/* ----------------------------------------------------------------- stats */

static void stats_json(const troc_territory_stats *stats) {
    troc_json json;
    troc_json_start(&json, stdout);
    troc_json_string(&json, "territory", stats->territory);
    troc_json_string(&json, "unit", stats->unit);
    troc_json_int(&json, "members", (int64_t)stats->members);
    troc_json_int(&json, "frozen", (int64_t)stats->frozen);
    troc_json_int(&json, "transfers", (int64_t)stats->transfers);
    troc_json_int(&json, "journal_entries", (int64_t)stats->journal_entries);
    troc_json_amount(&json, "balance_sum", stats->balance_sum_cents);
    troc_json_amount(&json, "debt", stats->debt_cents);
    troc_json_int(&json, "accounts_over_limit", (int64_t)stats->accounts_over_limit);
    troc_json_int(&json, "invoices_pending", (int64_t)stats->invoices_pending);
    troc_json_int(&json, "obligations_open", (int64_t)stats->obligations_open);
    troc_json_amount(&json, "obligations", stats->obligations_cents);
    troc_json_int(&json, "clearing_runs", (int64_t)stats->clearing_runs);
    troc_json_finish(&json);
}

static void stats_print(const troc_territory_stats *stats) {
    figure figures[11];
    const char *unit = stats->unit;
    printf("territory %s (%s)\n", stats->territory, unit);
    figure_count(&figures[0], "members", stats->members);
    figure_count(&figures[1], "frozen accounts", stats->frozen);
    /* Signed transfers only: a clearing round's payments are settlements
     * of the round (--json keeps the field's name, "transfers"). */
    figure_count(&figures[2], "member payments", stats->transfers);
    figure_count(&figures[3], "journal entries", stats->journal_entries);
    figure_amount(&figures[4], "sum of balances", stats->balance_sum_cents, unit);
    figure_amount(&figures[5], "debt outstanding", stats->debt_cents, unit);
    figure_count(&figures[6], "over their limit", stats->accounts_over_limit);
    figure_count(&figures[7], "invoices pending", stats->invoices_pending);
    figure_count(&figures[8], "obligations open", stats->obligations_open);
    figure_amount(&figures[9], "obligations owed", stats->obligations_cents, unit);
    figure_count(&figures[10], "clearing runs", stats->clearing_runs);
    figures_print(figures, 11, 20);
}

int troc__cmd_admin_stats(const troc_cli *cli, int argc, char **argv) {
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc admin stats", NULL, 0, 0, 0, &args);
    if (status != 0) return status;
    troc_client *client = NULL;
    status = troc__cli_connect(cli, &client);
    if (status != 0) return status;
    troc_territory_stats stats;
    int rc = troc_client_stats(client, &stats);
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else if (cli->json) {
        stats_json(&stats);
    } else {
        stats_print(&stats);
    }
    troc_client_free(client);
    return status;
}
