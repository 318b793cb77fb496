/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The columns of troc's human outputs: statements, lists, a balance's or
 * the territory's figures.  One helper lays them all out, so that they all
 * behave alike: a column is as wide as its widest text (its heading
 * included), and never narrower than the width it is given, which is the
 * layout README shows for everyday values.  A member name of 64 characters
 * or an amount of 20 digits widens its column instead of pushing the rest
 * of its line out of line.
 */
#ifndef TROC_CLI_TABLE_H
#define TROC_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Columns a table has at most: the invoice list's eight. */
#define TROC_CLI_COLUMNS_MAX 8

/* Room to format one cell in: the longest is a statement's memo cell,
 * "clearing payment of invoice ID " and a memo of TROC_MEMO_LENGTH_MAX
 * bytes (cmd_read.c checks it). */
#define TROC_CLI_CELL_SIZE 384

typedef struct troc_cli_column {
    const char *heading; /* the heading line's text; NULL in every column: no heading line */
    int width_min;       /* characters at least, whatever the texts */
    bool right;          /* flush right (amounts, counts); flush left otherwise */
    int gap;             /* spaces before the column (before the first: the indent) */
} troc_cli_column;

/* One row as a fill function gives it: cell[i] is column i's text (NULL
 * reads as empty); text[] is room to format the texts that are not kept
 * elsewhere, valid until the next fill. */
typedef struct troc_cli_row {
    const char *cell[TROC_CLI_COLUMNS_MAX];
    char text[TROC_CLI_COLUMNS_MAX][TROC_CLI_CELL_SIZE];
} troc_cli_row;

/* Sets row->cell[] to row `index` of `rows`.  It is called twice per row,
 * once to measure and once to print, so it must give the same texts. */
typedef void troc_cli_row_fn(const void *rows, size_t index, troc_cli_row *row);

/* Prints the heading line (unless every heading is NULL), then the rows.
 * Empty cells at the end of a line are left out, and a last text flush
 * left is not padded: no line ends with a space. */
void troc__cli_table_print(FILE *out, const troc_cli_column *columns, size_t column_count, const void *rows,
                           size_t row_count, troc_cli_row_fn *fill);

#endif /* TROC_CLI_TABLE_H */
