/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc clear: the RESULT and BALANCES files.
 *
 * RESULT holds INPUT's rows in INPUT's order with all their columns, each
 * value as read (quoted again only where it must be), then `cleared`, `paid`
 * (credit mode only) and `remaining` = amount - cleared - paid, with two
 * fractional digits.  It follows INPUT's conventions: a byte-order mark if
 * INPUT had one, CRLF line ends if INPUT's header had them.
 *
 * BALANCES (credit mode) holds one row per member: `member`,
 * `balance_before`, `paid` (paid in credit as a debtor), `received` (as a
 * creditor) and `balance_after`; ACCOUNTS' members first in ACCOUNTS' order,
 * then INPUT's firms without an account in order of first appearance.
 *
 * RESULT's rows are formatted in parts at the same time, each in memory
 * (a row read without quotes is copied whole), then written in order: the
 * bytes are those of one writer going through the rows.  The parts are
 * formatted a wave at a time, each wave written before the next is
 * formatted, so that what is held in memory is a wave's rows, not a copy
 * of the whole file.
 *
 * Both files are written under temporary names, synced and closed before
 * either is renamed into place, so that a failure while writing (a full
 * disk) leaves no output at all.  The result is proven (the caller's
 * check) while they are synced, on a thread of their own: the disk's work
 * and the check's then take the time of the longer, and a result that
 * fails its check is never renamed into place.  What goes to standard
 * output cannot be taken back, so there the result is proven first.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/error.h"
#include "base/large.h"
#include "clear.h"
#include "cli.h"

/* Writer flags that reproduce a file's byte-order mark and line ends. */
static unsigned flags_like(const troc_csv *csv) {
    return (troc_csv_has_bom(csv) ? TROC_CSV_WRITE_BOM : 0u) | (troc_csv_uses_crlf(csv) ? TROC_CSV_WRITE_CRLF : 0u);
}

/* RESULT rows are formatted in parts of PART_ROWS rows, WAVE_PARTS parts
 * at a time: a wave of 131,072 rows is some 6 MB of the benchmark's RESULT,
 * and enough parts for the threads to share evenly. */
#define PART_ROWS 16384u
#define WAVE_PARTS 8u
#define WAVE_ROWS ((size_t)WAVE_PARTS * PART_ROWS)

typedef struct result_parts {
    const troc__clear_data *data;
    const troc_clearing_result *result;
    bool credit;
    unsigned flags;                       /* writer flags of the parts: line ends only */
    size_t first_row;                     /* the wave's first row */
    char *block;                          /* the parts' buffers, side by side; NULL: each its own */
    size_t part_bytes;                    /* each part's share of block */
    troc_csv_writer *writers[WAVE_PARTS]; /* per part of the wave: its rows, kept from wave to wave;
                                             NULL if out of memory */
} result_parts;

/* Bytes a part of RESULT takes about: INPUT's rows as they were, and each
 * amount with its comma (twelve bytes cover most; a part that needs more
 * grows out of its share). */
static size_t part_bytes_estimate(const troc__clear_data *data, bool credit) {
    const size_t rows = troc_csv_row_count(data->input) + 1; /* the header too */
    const size_t row_bytes = troc_csv_data_size(data->input) / rows + 1;
    return (((row_bytes + (credit ? 3u : 2u) * 12u) * PART_ROWS) + 4095u) & ~(size_t)4095u;
}

static void format_part(void *context, size_t part) {
    result_parts *parts = context;
    const troc__clear_data *data = parts->data;
    const troc_clearing_result *result = parts->result;
    const size_t rows = troc_csv_row_count(data->input), begin = parts->first_row + part * PART_ROWS;
    const size_t end = begin + PART_ROWS < rows ? begin + PART_ROWS : rows;
    troc_csv_writer *writer = parts->writers[part];
    if (writer == NULL) {
        const int rc = parts->block != NULL ? troc_csv_writer_open_memory_in(parts->flags,
                                                                             parts->block + part * parts->part_bytes,
                                                                             parts->part_bytes, &writer)
                                            : troc_csv_writer_open_memory(parts->flags, &writer);
        if (rc != 0) return;
    }
    for (size_t row = begin; row < end; row++) {
        troc_csv_write_row_fields(writer, data->input, row);
        int64_t cleared = result->cleared_cents[row], paid = result->paid_cents[row];
        int64_t remaining = data->obligations[row].amount_cents - cleared - paid;
        assert(cleared >= 0 && paid >= 0 && remaining >= 0);
        troc_csv_write_amount(writer, cleared);
        if (parts->credit) troc_csv_write_amount(writer, paid);
        troc_csv_write_amount(writer, remaining);
        troc_csv_write_row_end(writer);
    }
    parts->writers[part] = writer;
}

/* The header, then the rows, formatted in parts at the same time and
 * written in order, a wave of parts at a time, each wave reported to
 * `progress`.  Returns 0 or -ENOMEM. */
static int write_result_rows(troc_csv_writer *writer, const troc__clear_options *options,
                             const troc__clear_data *data, const troc_clearing_result *result, bool credit,
                             troc_clearing_progress_fn *progress, void *progress_context) {
    const troc_csv *input = data->input;
    size_t columns = troc_csv_column_count(input);
    for (size_t column = 0; column < columns; column++) {
        troc_csv_field name = troc_csv_header(input, column);
        troc_csv_write_field(writer, name.text, name.length);
    }
    troc_csv_write_text(writer, "cleared");
    if (credit) troc_csv_write_text(writer, "paid");
    troc_csv_write_text(writer, "remaining");
    troc_csv_write_row_end(writer);
    const size_t rows = troc_csv_row_count(input);
    result_parts parts = {.data = data, .result = result, .credit = credit,
                          .flags = troc_csv_uses_crlf(input) ? TROC_CSV_WRITE_CRLF : 0u};
    /* One block for the parts' buffers: each in a block of its own would
     * take whole huge pages, twice what it fills on the benchmark. */
    if (rows > WAVE_ROWS) {
        parts.part_bytes = part_bytes_estimate(data, credit);
        parts.block = troc_large_malloc(WAVE_PARTS * parts.part_bytes);
    }
    int rc = 0;
    while (parts.first_row < rows) {
        const size_t wave_rows = rows - parts.first_row < WAVE_ROWS ? rows - parts.first_row : WAVE_ROWS;
        const size_t count = (wave_rows + PART_ROWS - 1) / PART_ROWS;
        troc_tasks_run(options->thread_count, count, format_part, &parts);
        for (size_t part = 0; part < count; part++) {
            if (parts.writers[part] == NULL) rc = -ENOMEM;
        }
        for (size_t part = 0; part < count && rc == 0; part++) troc_csv_writer_append_kept(writer, parts.writers[part]);
        if (rc != 0) break;
        parts.first_row += wave_rows;
        if (progress != NULL) progress(progress_context, "writing", (double)parts.first_row / (double)rows);
    }
    for (size_t part = 0; part < WAVE_PARTS; part++) troc_csv_writer_abort(parts.writers[part]);
    free(parts.block);
    return rc;
}

static void write_balance_row(troc_csv_writer *writer, const troc__clear_data *data, uint32_t firm,
                              const int64_t *paid, const int64_t *received) {
    size_t length = 0;
    const char *name = troc_intern_text(data->firms, firm, &length);
    int64_t before = data->accounts[firm].balance_cents, after = 0;
    /* What moves the balance is at most the total of INPUT, at most
     * TROC_CLEARING_TOTAL_CENTS_MAX (a quarter of int64), and the balance
     * it ends at lies within the account's limits, or no further out than
     * it was: the sum fits whatever the balance before. */
    int rc = troc_amount_add(before, received[firm] - paid[firm], &after);
    assert(rc == 0);
    (void)rc; /* read by the assertion only */
    troc_csv_write_field(writer, name, length);
    troc_csv_write_amount(writer, before);
    troc_csv_write_amount(writer, paid[firm]);
    troc_csv_write_amount(writer, received[firm]);
    troc_csv_write_amount(writer, after);
    troc_csv_write_row_end(writer);
}

static int write_balances_rows(troc_csv_writer *writer, const troc__clear_data *data,
                               const troc_clearing_result *result) {
    uint32_t firm_count = troc_intern_count(data->firms);
    int64_t *paid = calloc((size_t)firm_count + 1, sizeof *paid);
    int64_t *received = calloc((size_t)firm_count + 1, sizeof *received);
    if (paid == NULL || received == NULL) {
        free(paid);
        free(received);
        return -ENOMEM;
    }
    for (size_t row = 0; row < troc_csv_row_count(data->input); row++) {
        paid[data->obligations[row].debtor] += result->paid_cents[row];
        received[data->obligations[row].creditor] += result->paid_cents[row];
    }
    static const char *const header[] = {"member", "balance_before", "paid", "received", "balance_after"};
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++) troc_csv_write_text(writer, header[i]);
    troc_csv_write_row_end(writer);
    for (size_t row = 0; row < troc_csv_row_count(data->accounts_file); row++) {
        write_balance_row(writer, data, data->account_firms[row], paid, received);
    }
    for (uint32_t firm = 0; firm < data->input_firm_count; firm++) {
        if (data->account_lines[firm] == 0) write_balance_row(writer, data, firm, paid, received);
    }
    free(paid);
    free(received);
    return 0;
}

/* Opens a writer for `path` ("-" is standard output). */
static int open_writer(const char *path, unsigned flags, troc_csv_writer **writer_out) {
    int rc = strcmp(path, "-") == 0 ? troc_csv_writer_open_fd(STDOUT_FILENO, flags, writer_out)
                                    : troc_csv_writer_open_file(path, flags, writer_out);
    if (rc != 0) return troc_cli_fail(TROC_EXIT_USAGE, "cannot create %s: %s", path, troc_strerror(rc));
    return 0;
}

/* The output files, finished (written out, synced and closed). */
typedef struct finish_job {
    troc_csv_writer *writers[2]; /* NULL: no such file */
    int rcs[2];
} finish_job;

static void *finish_writers(void *argument) {
    finish_job *job = argument;
    for (size_t i = 0; i < 2; i++) {
        if (job->writers[i] != NULL) job->rcs[i] = troc_csv_writer_finish(job->writers[i]);
    }
    return NULL;
}

/* Finishes both files, proving the result meanwhile unless it is proven
 * already; returns 0 or the exit status of what failed, reported. */
static int finish_and_prove(const char *const paths[2], troc_csv_writer *const writers[2], bool proven,
                            troc__clear_prove_fn *prove, void *prove_context) {
    finish_job job = {.writers = {writers[0], writers[1]}};
    pthread_t thread;
    const bool beside = !proven && pthread_create(&thread, NULL, finish_writers, &job) == 0;
    if (!beside) finish_writers(&job);
    int status = proven ? 0 : prove(prove_context);
    if (beside) pthread_join(thread, NULL);
    for (size_t i = 0; i < 2 && status == 0; i++) {
        if (job.rcs[i] != 0) {
            status = troc_cli_fail(TROC_EXIT_REFUSED, "cannot write %s: %s (nothing was written)", paths[i],
                                   troc_strerror(job.rcs[i]));
        }
    }
    return status;
}

static bool is_standard_output(const char *path) {
    return path != NULL && strcmp(path, "-") == 0;
}

int troc__clear_write(const troc__clear_options *options, const troc__clear_data *data,
                      const troc_clearing_result *result, troc__clear_prove_fn *prove, void *prove_context,
                      troc_clearing_progress_fn *progress, void *progress_context) {
    assert(options != NULL && data != NULL && data->input != NULL);
    assert(result != NULL && prove != NULL);
    assert(options->balances_path == NULL || data->accounts != NULL);
    troc_csv_writer *result_writer = NULL, *balances_writer = NULL;
    const bool prove_first = (options->out_path == NULL && options->balances_path == NULL) ||
                             is_standard_output(options->out_path) || is_standard_output(options->balances_path);
    int status = prove_first ? prove(prove_context) : 0;
    if (status != 0) return status;
    if (options->out_path != NULL) {
        status = open_writer(options->out_path, flags_like(data->input), &result_writer);
        if (status != 0) goto cleanup;
        if (write_result_rows(result_writer, options, data, result, data->accounts != NULL, progress,
                              progress_context) != 0) {
            status = troc_cli_fail(TROC_EXIT_REFUSED, "out of memory");
            goto cleanup;
        }
    }
    if (options->balances_path != NULL) {
        status = open_writer(options->balances_path, flags_like(data->accounts_file), &balances_writer);
        if (status != 0) goto cleanup;
        if (write_balances_rows(balances_writer, data, result) != 0) {
            status = troc_cli_fail(TROC_EXIT_REFUSED, "out of memory");
            goto cleanup;
        }
    }
    const char *const paths[2] = {options->out_path, options->balances_path};
    status = finish_and_prove(paths, (troc_csv_writer *const[2]){result_writer, balances_writer}, prove_first, prove,
                              prove_context);
    if (status != 0) goto cleanup;
    troc_csv_writer **writers[2] = {&result_writer, &balances_writer};
    for (size_t i = 0; i < 2; i++) {
        if (*writers[i] == NULL) continue;
        int rc = troc_csv_writer_commit(*writers[i]);
        *writers[i] = NULL;
        if (rc != 0) {
            status = troc_cli_fail(TROC_EXIT_REFUSED, "cannot rename the new %s into place: %s", paths[i],
                                   troc_strerror(rc));
            goto cleanup;
        }
    }
cleanup:
    troc_csv_writer_abort(result_writer);
    troc_csv_writer_abort(balances_writer);
    return status;
}
