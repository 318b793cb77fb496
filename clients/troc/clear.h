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

typedef struct troc__clear_options {
    const char *input_path;    /* INPUT.csv */
    const char *accounts_path; /* --with-credit ACCOUNTS.csv; NULL for plain set-off */
    const char *out_path;      /* --out RESULT.csv; "-" for standard output; NULL: summary only */
    const char *balances_path; /* --balances-out BALANCES.csv; NULL: not written */
    bool json;                 /* --json: the summary as one JSON object */
} troc__clear_options;

typedef struct troc__clear_data {
    troc_csv *input;                  /* INPUT, kept to copy its rows into RESULT */
    troc_intern *firms;               /* INPUT's firms first, then members found only in ACCOUNTS */
    uint32_t input_firm_count;        /* firms named in INPUT: the problem's firm_count */
    troc_obligation *obligations;     /* one per INPUT row, in the file's order */
    int64_t total_cents;              /* sum of all obligations */
    troc_csv *accounts_file;          /* ACCOUNTS, NULL in plain mode */
    troc_clearing_account *accounts;  /* one per firm of `firms`, NULL in plain mode */
    uint32_t *account_firms;          /* one per ACCOUNTS row: the firm index of its member */
    uint32_t *account_lines;          /* one per firm: line of its ACCOUNTS row, 0 when it has none */
    uint32_t firms_without_account;   /* INPUT's firms absent from ACCOUNTS */
} troc__clear_data;

/* Reads INPUT into data: firms, obligations, total. */
int troc__clear_read_input(const troc__clear_options *options, troc__clear_data *data);

/* Reads ACCOUNTS (after INPUT) into data->accounts. */
int troc__clear_read_accounts(const troc__clear_options *options, troc__clear_data *data);

void troc__clear_data_free(troc__clear_data *data);

/* Writes RESULT (and BALANCES) each complete or not at all. */
int troc__clear_write(const troc__clear_options *options, const troc__clear_data *data,
                      const troc_clearing_result *result);

#endif /* TROC_CLEAR_H */
