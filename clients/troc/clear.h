/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to `troc clear`: what cmd_clear.c (options, solve, summary),
 * clear_input.c (INPUT and ACCOUNTS files into a clearing problem) and
 * clear_output.c (RESULT and BALANCES files) share.
 *
 * Functions here return an exit status (TROC_EXIT_*), having printed what
 * was wrong, as command functions do.
 */
#ifndef TROC_CLEAR_H
#define TROC_CLEAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clearing/clearing.h"
#include "csv/csv.h"
#include "csv/intern.h"
#include "csv/tasks.h"

typedef struct troc__clear_options {
    const char *input_path;    /* INPUT.csv; "-" for standard input */
    const char *accounts_path; /* --with-credit ACCOUNTS.csv ("-" as INPUT); NULL for plain set-off */
    const char *out_path;      /* --out RESULT.csv; "-" for standard output; NULL: summary only */
    const char *balances_path; /* --balances-out BALANCES.csv; NULL: not written */
    bool json;                 /* --json: the summary as one JSON object */
    unsigned thread_count;     /* --threads N; 0: one per processor (troc_tasks_default_threads()) */
} troc__clear_options;

/* Columns of INPUT. */
typedef struct troc__input_columns {
    size_t debtor, creditor, amount; /* column indices */
    size_t id;                       /* column index when has_id */
    bool has_id;
} troc__input_columns;

typedef struct troc__clear_data {
    troc_csv *input;                  /* INPUT, kept to copy its rows into RESULT */
    troc__input_columns columns;      /* where INPUT's values are */
    troc_intern *firms;               /* INPUT's firms first, then members found only in ACCOUNTS; NULL
                                       * in plain mode once INPUT is read */
    uint32_t input_firm_count;        /* firms named in INPUT: the problem's firm_count */
    troc_obligation *obligations;     /* one per INPUT row, in the file's order */
    int64_t total_cents;              /* sum of all obligations */
    troc_csv *accounts_file;          /* ACCOUNTS, NULL in plain mode */
    troc_clearing_account *accounts;  /* one per firm of `firms`, NULL in plain mode */
    uint32_t *account_firms;          /* one per ACCOUNTS row: the firm index of its member */
    uint32_t *account_lines;          /* one per firm: line of its ACCOUNTS row, 0 when it has none */
    uint32_t firms_without_account;   /* INPUT's firms absent from ACCOUNTS */
} troc__clear_data;

/* How messages name an input file: "standard input" for "-". */
const char *troc__clear_file_name(const char *path);

/* Reads INPUT into data: firms, obligations, total. */
int troc__clear_read_input(const troc__clear_options *options, troc__clear_data *data);

/* Room for the text of a refusal, the file and line apart. */
#define TROC__CLEAR_MESSAGE_SIZE 512

/* What is wrong with a row, kept until the first one in the file is known
 * (rows are checked by several threads at once). */
typedef struct troc__clear_refusal {
    uint32_t line;                          /* physical line of the row */
    char message[TROC__CLEAR_MESSAGE_SIZE]; /* what is wrong and what to do */
} troc__clear_refusal;

/* clear_input.c: the rules a row must follow, each filling *refusal and
 * returning TROC_EXIT_USAGE when broken (nothing is printed).  check_row:
 * both names and the amount (into *cents_out); check_id: a non-empty id
 * when there is an id column. */
int troc__clear_check_row(const troc_csv *csv, const troc__input_columns *columns, size_t row, int64_t *cents_out,
                          troc__clear_refusal *refusal);
int troc__clear_check_id(const troc_csv *csv, const troc__input_columns *columns, size_t row,
                         troc__clear_refusal *refusal);
/* The refusals found across rows: the total passes its bound at `row`; the
 * id of `row` was already used at `first_row`. */
int troc__clear_refuse_total(const troc_csv *csv, size_t row, troc__clear_refusal *refusal);
int troc__clear_refuse_id(const troc_csv *csv, const troc__input_columns *columns, size_t row, size_t first_row,
                          troc__clear_refusal *refusal);
/* Prints a refusal as "troc: PATH line N: message"; returns TROC_EXIT_USAGE. */
int troc__clear_report(const char *path, const troc__clear_refusal *refusal);
/* Prints why interning failed (too many names, out of memory); returns the
 * exit status. */
int troc__clear_intern_fail(int rc);

/* clear_rows.c: checks INPUT's rows, fills data->obligations and
 * data->total_cents and interns the firms into data->firms (created here),
 * cutting each pass into parts run at the same time; the outcome, refusals
 * included, is the one a single pass in file order gives. */
int troc__clear_read_rows(const troc__clear_options *options, troc__clear_data *data,
                          const troc__input_columns *columns);

/* Compares INPUT's ids (when it has an id column), reading data only, so
 * that it may run beside the solve.  Returns 0, TROC_EXIT_USAGE with the
 * first duplicate in *refusal, or -ENOMEM; prints nothing. */
int troc__clear_compare_ids(const troc__clear_data *data, unsigned thread_count, troc__clear_refusal *refusal);

/* Reads ACCOUNTS (after INPUT) into data->accounts. */
int troc__clear_read_accounts(const troc__clear_options *options, troc__clear_data *data);

void troc__clear_data_free(troc__clear_data *data);

/* Proves the result before anything is made of it (troc_clearing_check());
 * returns 0, or an exit status once the failure is reported. */
typedef int troc__clear_prove_fn(void *context);

/* Writes RESULT (and BALANCES) each complete or not at all, telling
 * `progress` (NULL: no one) the share of RESULT's rows written, as stage
 * "writing".  `prove` runs once, before any file is renamed into place or
 * any byte goes to standard output; if it fails nothing is written. */
int troc__clear_write(const troc__clear_options *options, const troc__clear_data *data,
                      const troc_clearing_result *result, troc__clear_prove_fn *prove, void *prove_context,
                      troc_clearing_progress_fn *progress, void *progress_context);

#endif /* TROC_CLEAR_H */
