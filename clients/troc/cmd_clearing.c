/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clearing rounds on the territory's ledger, for administrators:
 *
 *   troc admin clear [--with-credit] [--dry-run] [--id HEX] [--limit N]
 *       runs a round now and prints it once it is committed: the exact
 *       set-off of the open obligations (with --with-credit, also paying
 *       what remains in credit within every credit line).  --dry-run
 *       solves on the obligations as they are and prints the round with
 *       its settlements, applying nothing.
 *   troc clearing show [RUN] [--limit N] [--offset N]
 *       an applied round (the latest by default) and its settlements, a
 *       page at a time.
 *
 * A round waits for its turn behind one in progress and may take seconds
 * on a large territory, so these commands wait up to
 * CLEARING_READ_TIMEOUT_MS for their answer.  A round that settles nothing
 * is not recorded: the command says "nothing to clear" and exits 0.  A
 * round that could not be run (the daemon stopping, a storage error, ...)
 * exits 1 with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "base/amount.h"
#include "base/limits.h"
#include "commands.h"
#include "invoice.h"
#include "session.h"
#include "table.h"

/* How long a clearing command waits for its round. */
#define CLEARING_READ_TIMEOUT_MS (10 * 60 * 1000)

/* Settlements printed by default. */
#define CLEARING_SETTLEMENTS_DEFAULT 100

typedef struct round_view {
    troc_clearing_report report;
    troc_clearing_settlement *settlements;
    size_t count;                          /* settlements read */
    size_t wanted;                         /* at most this many */
    uint64_t offset;                       /* settlements skipped before the first read */
} round_view;

/* Whether settlements follow those read. */
static bool view_more(const round_view *view) {
    return view->settlements != NULL && view->offset + view->count < view->report.settlement_count;
}

static void report_json(troc_json *json, const round_view *view, bool preview) {
    const troc_clearing_report *r = &view->report;
    char hex[TROC_ID_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    troc_json_int(json, "run", (int64_t)r->run);
    troc_json_bool(json, "applied", r->applied);
    troc_json_string(json, "mode", r->with_credit ? "with_credit" : "set_off");
    if (r->applied) {
        troc_json_int(json, "journal_seq", (int64_t)r->journal_seq);
        troc_json_int(json, "timestamp_us", r->timestamp_us);
        troc_json_string(json, "time", troc__cli_time(r->timestamp_us, true, time_text));
    }
    if (r->has_requested_by) troc_id_to_hex(r->requested_by, hex);
    troc_json_string(json, "requested_by", r->has_requested_by ? hex : NULL);
    troc_json_int(json, "obligations", r->obligations);
    troc_json_amount(json, "total", r->total_cents);
    troc_json_amount(json, "cleared", r->cleared_cents);
    troc_json_amount(json, "paid", r->paid_cents);
    troc_json_double(json, "share", troc_amount_share_percent(r->cleared_cents, r->total_cents, 4));
    troc_json_int(json, "settlement_count", (int64_t)r->settlement_count);
    if (view->settlements == NULL) return;
    troc_json_array_begin(json, "settlements");
    for (size_t i = 0; i < view->count; i++) {
        const troc_clearing_settlement *s = &view->settlements[i];
        troc_id_to_hex(s->invoice_id, hex);
        troc_json_object_begin(json, NULL);
        troc_json_string(json, "invoice_id", hex);
        troc_json_string(json, "debtor", s->debtor);
        troc_json_string(json, "creditor", s->creditor);
        troc_json_amount(json, "cleared", s->cleared_cents);
        troc_json_amount(json, "paid", s->paid_cents);
        troc_json_object_end(json);
    }
    troc_json_array_end(json);
    troc_json_int(json, "offset", (int64_t)view->offset);
    troc_json_bool(json, "more", view_more(view));
    if (view_more(view) && !preview) troc_json_int(json, "next_offset", (int64_t)(view->offset + view->count));
    else troc_json_null(json, "next_offset");
}

/* The first line of a round: what it is. */
static void report_title(const troc_clearing_report *r, bool preview) {
    const char *mode = r->with_credit ? "set-off and credit payments" : "set-off";
    char time_text[TROC_CLI_TIME_SIZE];
    if (preview) {
        printf("dry run (%s): nothing was applied\n", mode);
    } else if (r->applied) {
        printf("clearing run %llu (%s), %s UTC, journal #%llu\n", (unsigned long long)r->run, mode,
               troc__cli_time(r->timestamp_us, false, time_text), (unsigned long long)r->journal_seq);
    } else {
        printf("nothing to clear (%s): no round was recorded\n", mode);
    }
}

/* What follows the settlements listed: how many more, and how to see them
 * (a dry run lists one page: each page would solve again). */
static void report_more(const round_view *view, bool preview) {
    const unsigned long long more = view->report.settlement_count - view->offset - view->count;
    const char *s = more == 1 ? "" : "s";
    if (preview && view->count < TROC_PAGE_ROWS_MAX) {
        printf("  (%llu more settlement%s not listed: --limit N lists up to %u)\n", more, s, TROC_PAGE_ROWS_MAX);
    } else if (preview) {
        printf("  (%llu more settlement%s not listed: a dry run lists at most %u)\n", more, s, TROC_PAGE_ROWS_MAX);
    } else { /* the run named: another round may be applied meanwhile */
        printf("  (%llu more settlement%s: troc clearing show %llu --offset %llu lists %s)\n", more, s,
               (unsigned long long)view->report.run, (unsigned long long)(view->offset + view->count),
               more == 1 ? "it" : "them");
    }
}

static void settlement_fill(const void *rows, size_t index, troc_cli_row *row) {
    const troc_clearing_settlement *s = (const troc_clearing_settlement *)rows + index;
    troc_id_to_hex(s->invoice_id, row->text[0]);
    row->cell[0] = row->text[0];
    row->cell[1] = s->debtor;
    row->cell[2] = s->creditor;
    row->cell[3] = troc_amount_format(s->cleared_cents, row->text[3]);
    row->cell[4] = troc_amount_format(s->paid_cents, row->text[4]);
}

static void report_print(const round_view *view, const char *unit, bool preview) {
    const troc_clearing_report *r = &view->report;
    char total[TROC_AMOUNT_TEXT_SIZE], cleared[TROC_AMOUNT_TEXT_SIZE], paid[TROC_AMOUNT_TEXT_SIZE];
    char hex[TROC_ID_HEX_SIZE];
    report_title(r, preview);
    if (r->has_requested_by) troc_id_to_hex(r->requested_by, hex);
    if (r->applied) printf("  requested by  %s\n", r->has_requested_by ? hex : "the timer (--clear-every)");
    printf("  obligations   %lld open, %s %s\n", (long long)r->obligations, troc_amount_format(r->total_cents, total),
           unit);
    printf("  cleared       %s %s (%.2f %%)\n", troc_amount_format(r->cleared_cents, cleared), unit,
           troc_amount_share_percent(r->cleared_cents, r->total_cents, 2));
    if (r->with_credit) printf("  paid          %s %s in credit\n", troc_amount_format(r->paid_cents, paid), unit);
    printf("  settlements   %llu\n", (unsigned long long)r->settlement_count);
    if (view->settlements == NULL) return;
    if (view->count == 0 && view->offset > 0 && r->settlement_count > 0) {
        printf("  (--offset %llu is past the last of its %llu settlements)\n", (unsigned long long)view->offset,
               (unsigned long long)r->settlement_count);
    }
    if (view->count == 0) return;
    const troc_cli_column columns[] = {{"invoice", 32, false, 0}, {"debtor", 16, false, 2}, {"creditor", 16, false, 1},
                                       {"cleared", 14, true, 1},  {"paid", 14, true, 1}};
    troc__cli_table_print(stdout, columns, 5, view->settlements, view->count, settlement_fill);
    if (view_more(view)) report_more(view, preview);
}

static void view_output(const troc_cli *cli, const round_view *view, const char *unit, bool preview) {
    if (!cli->json) {
        report_print(view, unit, preview);
        return;
    }
    troc_json json;
    troc_json_start(&json, stdout);
    report_json(&json, view, preview);
    troc_json_string(&json, "unit", unit);
    troc_json_finish(&json);
}

/* Reads the round (`preview`: a dry run) and its settlements, page by
 * page, up to view->wanted. */
static int view_gather(troc_client *client, bool preview, bool with_credit, uint64_t run, round_view *view) {
    /* Bounded: each page brings at least one settlement, at most `wanted` in all. */
    for (;;) {
        size_t page = view->wanted - view->count;
        if (page > TROC_PAGE_ROWS_MAX) page = TROC_PAGE_ROWS_MAX;
        size_t count = 0;
        troc_clearing_settlement *into = view->settlements + view->count;
        const uint64_t offset = view->offset + view->count;
        int rc = preview ? troc_client_clearing_preview(client, with_credit, &view->report, into, offset, page,
                                                        &count)
                         : troc_client_clearing_round(client, run, &view->report, into, offset, page, &count);
        if (rc != 0) return rc;
        /* A later page of "the latest" must be of the same round. */
        if (!preview && run == 0) run = view->report.run;
        view->count += count;
        if (count == 0 || view->count == view->wanted || !view_more(view)) return 0;
    }
}

/* Connects with the CLI's key and waits long enough for a round. */
static int admin_connect(const troc_cli *cli, troc_client **client_out) {
    int status = troc__cli_connect(cli, client_out);
    if (status == 0) troc_client_set_timeouts(*client_out, 0, CLEARING_READ_TIMEOUT_MS);
    return status;
}

/* A round on a large territory takes seconds to solve and commit, with
 * nothing to show meanwhile: a terminal is told what it waits for. */
static void say_waiting(bool preview) {
    if (!isatty(STDERR_FILENO)) return;
    fprintf(stderr, "troc: the daemon is %s...\n",
            preview ? "solving a dry run on the open obligations" : "running the round (solve, then one commit)");
}

static int view_run(const troc_cli *cli, round_view *view, bool preview, bool with_credit, uint64_t run) {
    view->settlements = malloc((view->wanted > 0 ? view->wanted : 1) * sizeof *view->settlements);
    if (view->settlements == NULL) return troc_cli_fail(TROC_EXIT_SERVER, "out of memory");
    troc_client *client = NULL;
    int status = admin_connect(cli, &client);
    if (status == 0) {
        if (preview && troc_client_role(client) == TROC_SESSION_ADMIN) say_waiting(true);
        int rc = view_gather(client, preview, with_credit, run, view);
        if (rc != 0) status = troc__cli_failure(cli, client, rc);
        else view_output(cli, view, troc_client_unit(client), preview);
    }
    troc_client_free(client);
    free(view->settlements);
    view->settlements = NULL;
    return status;
}

/* --limit N; a dry run shows one page (each page would solve again). */
static int limit_read(const char *text, uint64_t maximum, size_t *wanted_out) {
    uint64_t wanted = CLEARING_SETTLEMENTS_DEFAULT;
    int status = text != NULL ? troc__cli_check_count("--limit", text, maximum, &wanted) : 0;
    *wanted_out = (size_t)wanted;
    return status;
}

/* ------------------------------------------------------ clearing show */

int troc__cmd_clearing_show(const troc_cli *cli, int argc, char **argv) {
    const char *limit_text = NULL, *offset_text = NULL;
    troc_cli_option options[] = {{"--limit", &limit_text}, {"--offset", &offset_text}};
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc clearing show " TROC_USAGE_CLEARING_SHOW, options, 2, 0, 1, &args);
    if (status != 0) return status;
    uint64_t run = 0;
    if (args.count > 0) status = troc__cli_check_count("RUN", args.positional[0], 1000000000000000000ull, &run);
    round_view view = {0};
    if (status == 0) status = limit_read(limit_text, TROC_LIST_ROWS_MAX, &view.wanted);
    if (status == 0 && offset_text != NULL) {
        status = troc__cli_check_number("--offset", offset_text, 0, UINT32_MAX, &view.offset);
    }
    if (status != 0) return status;
    return view_run(cli, &view, false, false, run);
}

/* -------------------------------------------------------- admin clear */

/* Prints the round an admin's request ran; exit 1 when it was not run.  The
 * request itself was accepted (its item result is ok), but a program
 * reading the JSON sees the round's failure as a refusal would read:
 * "unavailable", with the reason in detail.  The request is journaled, so
 * the way to ask again is its id: the text says which. */
static int clear_output(const troc_cli *cli, troc_client *client, const troc_admin_action *action,
                        const troc_submit_result *result) {
    if (result->clearing == NULL) {
        const char *detail = result->detail != NULL ? result->detail : "the daemon did not say why";
        char id[TROC_ID_HEX_SIZE];
        troc_id_to_hex(result->id, id);
        if (cli->json) {
            troc_json json;
            troc_json_start(&json, stdout);
            troc_json_string(&json, "result", troc_result_name(TROC_RESULT_UNAVAILABLE));
            troc_json_string(&json, "detail", detail);
            troc_json_string(&json, "id", id);
            troc_json_null(&json, "clearing");
            troc_json_finish(&json);
        }
        fprintf(stderr, "troc: %s\n", detail);
        return troc_cli_fail(TROC_EXIT_REFUSED, "ask again with: troc admin clear%s --id %s (one id runs one round "
                                                "at most)", action->with_credit ? " --with-credit" : "", id);
    }
    round_view view = {.report = *result->clearing};
    if (!cli->json) {
        report_print(&view, troc_client_unit(client), false);
        return TROC_EXIT_OK;
    }
    troc_json json;
    troc_json_start(&json, stdout);
    troc__cli_json_result(&json, result);
    troc_json_object_begin(&json, "clearing");
    report_json(&json, &view, false);
    troc_json_object_end(&json);
    troc_json_string(&json, "unit", troc_client_unit(client));
    troc_json_finish(&json);
    return TROC_EXIT_OK;
}

static int clear_submit(const troc_cli *cli, const troc_admin_action *action) {
    troc_client *client = NULL;
    troc_envelope *envelope = NULL;
    int status = admin_connect(cli, &client);
    if (status != 0) return status;
    int rc = troc_envelope_create(&envelope);
    if (rc == 0) rc = troc_sign_admin(client, NULL, action, envelope);
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else {
        troc_submit_result result;
        if (troc_client_role(client) == TROC_SESSION_ADMIN) say_waiting(false); /* else refused at once */
        status = troc__cli_submit(cli, client, envelope, "clearing request", NULL, &result);
        if (status == 0) status = clear_output(cli, client, action, &result);
    }
    troc_envelope_free(envelope);
    troc_client_free(client);
    return status;
}

int troc__cmd_admin_clear(const troc_cli *cli, int argc, char **argv) {
    const char *usage = "troc admin clear " TROC_USAGE_CLEAR;
    bool flags[2] = {false, false};
    int status = troc__cli_flags(&argc, argv, usage, (const char *const[]){"--with-credit", "--dry-run"}, flags, 2);
    const char *id_text = NULL, *limit_text = NULL;
    troc_cli_option options[] = {{"--id", &id_text}, {"--limit", &limit_text}};
    troc_cli_args args;
    if (status == 0) status = troc__cli_parse(argc, argv, usage, options, 2, 0, 0, &args);
    if (status != 0) return status;
    bool with_credit = flags[0], dry_run = flags[1];
    if (dry_run && id_text != NULL) {
        return troc_cli_fail(TROC_EXIT_USAGE, "a dry run has no id: it is not submitted\nusage: %s", usage);
    }
    if (!dry_run && limit_text != NULL) {
        return troc_cli_fail(TROC_EXIT_USAGE, "--limit lists a dry run's settlements; see 'troc clearing show' for "
                                              "a round's\nusage: %s", usage);
    }
    if (dry_run) {
        round_view view = {0};
        if ((status = limit_read(limit_text, TROC_PAGE_ROWS_MAX, &view.wanted)) != 0) return status;
        return view_run(cli, &view, true, with_credit, 0);
    }
    uint8_t id[TROC_ID_SIZE];
    if (id_text != NULL && (status = troc__cli_check_id(id_text, id)) != 0) return status;
    if (id_text == NULL) troc_id_generate(id);
    troc_admin_action action = {.kind = TROC_ADMIN_CLEARING_RUN, .id = id, .with_credit = with_credit};
    return clear_submit(cli, &action);
}
