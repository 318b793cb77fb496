/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc clear: INPUT's rows checked, their firms interned and their ids
 * compared, each pass cut into parts that run at the same time
 * (troc_tasks_run()).  Whatever the parts and threads, the outcome is the
 * one a single pass over the rows in file order gives: the same firm
 * numbers, the same first refusal.
 *
 *  - Checks: every part checks its rows (names, amount, id not empty) and
 *    keeps its first refusal without printing it.  The running total is
 *    then added up in file order, a plain loop over the amounts, up to the
 *    first refused row: a single pass would have refused the total first if
 *    it passes its bound earlier, or on that row before its id check.
 *  - Firms: each part interns its rows' names into a table of its own, in
 *    order of first appearance; part 0's table is INPUT's.  The other
 *    tables are then added to it in part order, which numbers every firm as
 *    a single pass would (a name first seen in a later part appears in no
 *    earlier one), and their rows are renumbered.
 *  - Ids: each id's hash is computed in parts, then (hash, row) keys are
 *    sorted, which puts equal ids side by side, earliest row first; the
 *    duplicate reported is the earliest row whose id an earlier row holds.
 *    No copy of the ids is made.
 *
 * Firms use one part per thread (each part has a table to merge), checks
 * and hashes many small parts (a thread slowed down takes fewer).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/large.h"
#include "base/limits.h"
#include "base/sort.h"
#include "clear.h"
#include "cli.h"

/* Rows of a part at least: fewer are done faster by one thread. */
#define PART_ROWS_MIN 16384u

/* Parts of the checking pass at most. */
#define CHECK_PARTS_MAX 64u

/* Rows whose names are interned in one call. */
#define INTERN_CHUNK_ROWS 512u

#define ROW_NONE SIZE_MAX

typedef struct rows_job {
    troc__clear_data *data;
    const troc__input_columns *columns;
    size_t rows;
    size_t part_rows;                       /* rows of every part but perhaps the last */
    /* Checks */
    size_t refused_row[CHECK_PARTS_MAX];    /* per part: first row refused, ROW_NONE if none */
    bool refused_id[CHECK_PARTS_MAX];       /* per part: the refusal is of the id (checked after the total) */
    troc__clear_refusal refusals[CHECK_PARTS_MAX];
    /* Firms and ids: one part per thread */
    troc_intern *tables[TROC_THREADS_MAX];  /* per part: its names (part 0: data->firms) */
    uint32_t *maps[TROC_THREADS_MAX];       /* per part but 0: its firm numbers in data->firms */
    int rcs[TROC_THREADS_MAX];              /* per part: 0 or an intern error */
    /* Ids */
    uint64_t *keys;                         /* per row: hash of its id << 32 | row */
} rows_job;

static void part_range(const rows_job *job, size_t part, size_t *begin, size_t *end) {
    *begin = part * job->part_rows;
    *end = *begin + job->part_rows < job->rows ? *begin + job->part_rows : job->rows;
}

/* Cuts the rows into parts of at least PART_ROWS_MIN rows, at most
 * part_max of them; returns the count. */
static size_t cut(rows_job *job, size_t part_max) {
    size_t count = job->rows / PART_ROWS_MIN;
    if (count > part_max) count = part_max;
    if (count == 0) count = 1;
    job->part_rows = (job->rows + count - 1) / count;
    if (job->part_rows == 0) job->part_rows = 1;
    return (job->rows + job->part_rows - 1) / job->part_rows;
}

/* Checks ------------------------------------------------------------------ */

static void check_part(void *context, size_t part) {
    rows_job *job = context;
    size_t begin, end;
    part_range(job, part, &begin, &end);
    job->refused_row[part] = ROW_NONE;
    troc__clear_refusal *refusal = &job->refusals[part];
    for (size_t row = begin; row < end; row++) {
        int64_t cents = 0;
        if (troc__clear_check_row(job->data->input, job->columns, row, &cents, refusal) != 0) {
            job->data->obligations[row] = (troc_obligation){0};
            job->refused_row[part] = row;
            job->refused_id[part] = false;
            return;
        }
        job->data->obligations[row] = (troc_obligation){.amount_cents = cents};
        if (troc__clear_check_id(job->data->input, job->columns, row, refusal) != 0) {
            job->refused_row[part] = row;
            job->refused_id[part] = true;
            return;
        }
    }
}

/* The total in file order, up to the first refused row: the first problem
 * found (a row's, or the total passing its bound) into *refusal; returns
 * its row, ROW_NONE when there is none (and then sets the total). */
static size_t first_refusal(rows_job *job, size_t count, troc__clear_refusal *refusal) {
    size_t part = 0;
    while (part < count && job->refused_row[part] == ROW_NONE) part++;
    const size_t stop = part < count ? job->refused_row[part] : job->rows;
    int64_t total = 0;
    for (size_t row = 0; row < stop || (row == stop && part < count && job->refused_id[part]); row++) {
        /* Both terms are at most TROC_CLEARING_TOTAL_CENTS_MAX, a quarter of
         * int64: the sum cannot overflow. */
        total += job->data->obligations[row].amount_cents;
        if (total > TROC_CLEARING_TOTAL_CENTS_MAX) {
            troc__clear_refuse_total(job->data->input, row, refusal);
            return row;
        }
    }
    if (part < count) {
        *refusal = job->refusals[part];
        return stop;
    }
    job->data->total_cents = total;
    return ROW_NONE;
}

/* Firms ------------------------------------------------------------------- */

/* Interns the names of rows [begin, end) into table, as debtor and creditor
 * numbers of the table. */
static int intern_rows(troc__clear_data *data, const troc__input_columns *columns, troc_intern *table,
                       size_t begin, size_t end) {
    const char *texts[2 * INTERN_CHUNK_ROWS];
    uint32_t lengths[2 * INTERN_CHUNK_ROWS], indices[2 * INTERN_CHUNK_ROWS];
    const troc_csv *csv = data->input;
    for (size_t first = begin; first < end; first += INTERN_CHUNK_ROWS) {
        size_t count = end - first < INTERN_CHUNK_ROWS ? end - first : INTERN_CHUNK_ROWS;
        for (size_t i = 0; i < count; i++) {
            troc_csv_field debtor = troc_csv_get(csv, first + i, columns->debtor);
            troc_csv_field creditor = troc_csv_get(csv, first + i, columns->creditor);
            texts[2 * i] = debtor.text;
            lengths[2 * i] = (uint32_t)debtor.length;
            texts[2 * i + 1] = creditor.text;
            lengths[2 * i + 1] = (uint32_t)creditor.length;
        }
        int rc = troc_intern_add_many(table, 2 * count, texts, lengths, indices, NULL);
        if (rc != 0) return rc;
        for (size_t i = 0; i < count; i++) {
            data->obligations[first + i].debtor = indices[2 * i];
            data->obligations[first + i].creditor = indices[2 * i + 1];
        }
    }
    return 0;
}

static void intern_part(void *context, size_t part) {
    rows_job *job = context;
    size_t begin, end;
    part_range(job, part, &begin, &end);
    if (part > 0) {
        job->rcs[part] = troc_intern_create((end - begin) / 4, &job->tables[part]);
        if (job->rcs[part] != 0) return;
    }
    job->rcs[part] = intern_rows(job->data, job->columns, job->tables[part], begin, end);
}

/* Adds the names of part tables 1.. to data->firms, in part order. */
static int merge_tables(rows_job *job, size_t count) {
    for (size_t part = 1; part < count; part++) {
        const troc_intern *table = job->tables[part];
        const uint32_t names = troc_intern_count(table);
        job->maps[part] = troc_large_malloc(((size_t)names + 1) * sizeof *job->maps[part]);
        if (job->maps[part] == NULL) return -ENOMEM;
        for (uint32_t i = 0; i < names; i++) {
            size_t length = 0;
            const char *text = troc_intern_text(table, i, &length);
            bool added = false;
            int rc = troc_intern_add(job->data->firms, text, length, &job->maps[part][i], &added);
            if (rc != 0) return rc;
        }
    }
    return 0;
}

static void renumber_part(void *context, size_t part) {
    rows_job *job = context;
    if (part == 0) return;
    size_t begin, end;
    part_range(job, part, &begin, &end);
    const uint32_t *map = job->maps[part];
    for (size_t row = begin; row < end; row++) {
        troc_obligation *o = &job->data->obligations[row];
        o->debtor = map[o->debtor];
        o->creditor = map[o->creditor];
    }
}

static int intern_firms(const troc__clear_options *options, rows_job *job, unsigned threads) {
    const size_t count = cut(job, threads);
    /* Sized for a firm in every eight rows (a firm owes or is owed a few
     * invoices at least: the benchmark's networks name one in ten rows);
     * more grow it.  Its slots are zeroed whole, so a larger guess costs
     * memory at the reading's fullest moment. */
    int rc = troc_intern_create(job->rows / 8, &job->data->firms);
    if (rc == 0) {
        job->tables[0] = job->data->firms;
        troc_tasks_run(options->thread_count, count, intern_part, job);
        for (size_t part = 0; part < count && rc == 0; part++) rc = job->rcs[part];
    }
    if (rc == 0) rc = merge_tables(job, count);
    if (rc == 0) troc_tasks_run(options->thread_count, count, renumber_part, job);
    for (size_t part = 1; part < count; part++) {
        troc_intern_destroy(job->tables[part]);
        free(job->maps[part]);
        job->tables[part] = NULL;
        job->maps[part] = NULL;
    }
    return rc == 0 ? 0 : troc__clear_intern_fail(rc);
}

/* Ids --------------------------------------------------------------------- */

/* Keys of the id sort: an id's hash above, its row below. */
static void hash_part(void *context, size_t part) {
    rows_job *job = context;
    size_t begin, end;
    part_range(job, part, &begin, &end);
    for (size_t row = begin; row < end; row++) {
        troc_csv_field id = troc_csv_get(job->data->input, row, job->columns->id);
        job->keys[row] = (uint64_t)troc_intern_hash(id.text, id.length) << 32 | row;
    }
}

static bool same_id(const rows_job *job, size_t a, size_t b) {
    troc_csv_field x = troc_csv_get(job->data->input, a, job->columns->id);
    troc_csv_field y = troc_csv_get(job->data->input, b, job->columns->id);
    return x.length == y.length && memcmp(x.text, y.text, x.length) == 0;
}

/* Within keys[begin, end) of one hash, in row order: the first row whose
 * id an earlier row of the run holds, if before *duplicate. */
static void check_run(const rows_job *job, const uint64_t *keys, size_t begin, size_t end, size_t *duplicate,
                      size_t *original) {
    for (size_t j = begin + 1; j < end; j++) {
        const size_t row = (uint32_t)keys[j];
        if (row >= *duplicate) return; /* rows grow within a run */
        for (size_t i = begin; i < j; i++) {
            if (!same_id(job, (uint32_t)keys[i], row)) continue;
            *duplicate = row;
            *original = (uint32_t)keys[i];
            return;
        }
    }
}

/* Ids are compared by sorting (hash, row) keys: equal ids fall side by
 * side, the earliest row of each first.  Runs of one hash are a few rows
 * unless the file was made to collide; their ids are compared pairwise. */
static int check_ids(unsigned thread_count, rows_job *job, troc__clear_refusal *refusal) {
    job->keys = troc_large_malloc((job->rows + 1) * sizeof *job->keys);
    if (job->keys == NULL) return -ENOMEM;
    troc_tasks_run(thread_count, cut(job, CHECK_PARTS_MAX), hash_part, job);
    /* In place: the ids are compared beside the solve's start, where a
     * second array of keys would be fresh memory. */
    troc_sort_u64(job->keys, job->rows);
    size_t duplicate = ROW_NONE, original = 0;
    for (size_t begin = 0, end = 0; begin < job->rows; begin = end) {
        for (end = begin + 1; end < job->rows && job->keys[end] >> 32 == job->keys[begin] >> 32; end++) continue;
        if (end - begin > 1) check_run(job, job->keys, begin, end, &duplicate, &original);
    }
    free(job->keys);
    job->keys = NULL;
    if (duplicate == ROW_NONE) return 0;
    return troc__clear_refuse_id(job->data->input, job->columns, duplicate, original, refusal);
}

int troc__clear_compare_ids(const troc__clear_data *data, unsigned thread_count, troc__clear_refusal *refusal) {
    assert(data != NULL && data->input != NULL && refusal != NULL);
    if (!data->columns.has_id) return 0;
    rows_job *job = calloc(1, sizeof *job);
    if (job == NULL) return -ENOMEM;
    job->data = (troc__clear_data *)data; /* read only: the ids pass writes job->keys alone */
    job->columns = &data->columns;
    job->rows = troc_csv_row_count(data->input);
    int status = check_ids(thread_count, job, refusal);
    free(job);
    return status;
}

int troc__clear_read_rows(const troc__clear_options *options, troc__clear_data *data,
                          const troc__input_columns *columns) {
    assert(options != NULL && data != NULL && columns != NULL);
    assert(data->obligations != NULL && data->firms == NULL);
    const unsigned threads = options->thread_count > 0 ? options->thread_count : troc_tasks_default_threads();
    rows_job *job = calloc(1, sizeof *job);
    if (job == NULL) return troc__clear_intern_fail(-ENOMEM);
    job->data = data;
    job->columns = columns;
    job->rows = troc_csv_row_count(data->input);
    const size_t count = cut(job, CHECK_PARTS_MAX);
    troc_tasks_run(options->thread_count, count, check_part, job);
    troc__clear_refusal refusal;
    const size_t refused = first_refusal(job, count, &refusal);
    int status = 0;
    if (refused != ROW_NONE) {
        /* Ids are compared once every row is read; a duplicate among the rows
         * before this refusal is the first problem of the file. */
        troc__clear_refusal duplicate;
        job->rows = refused;
        if (refused > 0 && columns->has_id && check_ids(options->thread_count, job, &duplicate) == TROC_EXIT_USAGE) {
            refusal = duplicate;
        }
        status = troc__clear_report(options->input_path, &refusal);
    }
    if (status == 0) status = intern_firms(options, job, threads);
    free(job);
    return status;
}
