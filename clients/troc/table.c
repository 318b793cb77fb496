/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Columns that fit what they hold (table.h).  A table is printed in two
 * passes over its rows: the first measures every cell, the second prints.
 * The rows are formatted twice rather than kept, so that a list of 10,000
 * lines needs no more memory than one row.
 *
 * Widths are counted in characters of UTF-8 (bytes that do not continue a
 * sequence), not bytes, so that a memo or reference in another script
 * pads as it reads; printf's %-*s would count bytes.
 */
#include <assert.h>
#include <string.h>

#include "table.h"

/* Characters of `text`. */
static int text_width(const char *text) {
    int width = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if ((*p & 0xC0) != 0x80) width++;
    }
    return width;
}

static void spaces(FILE *out, int count) {
    for (int i = 0; i < count; i++) fputc(' ', out);
}

static const char *cell_text(const char *const *cells, size_t i) {
    return cells[i] != NULL ? cells[i] : "";
}

/* Prints one line; the cells past the last that holds text are left out,
 * and that one is not padded on its right. */
static void line_print(FILE *out, const troc_cli_column *columns, const int *widths, size_t column_count,
                       const char *const *cells) {
    size_t end = column_count;
    while (end > 0 && cell_text(cells, end - 1)[0] == '\0') end--;
    for (size_t i = 0; i < end; i++) {
        const char *text = cell_text(cells, i);
        const int room = widths[i] - text_width(text);
        assert(room >= 0);
        spaces(out, columns[i].gap);
        if (columns[i].right) spaces(out, room);
        fputs(text, out);
        if (!columns[i].right && i + 1 < end) spaces(out, room);
    }
    fputc('\n', out);
}

void troc__cli_table_print(FILE *out, const troc_cli_column *columns, size_t column_count, const void *rows,
                           size_t row_count, troc_cli_row_fn *fill) {
    assert(out != NULL && columns != NULL && fill != NULL);
    assert(column_count > 0 && column_count <= TROC_CLI_COLUMNS_MAX);
    int widths[TROC_CLI_COLUMNS_MAX];
    const char *headings[TROC_CLI_COLUMNS_MAX];
    bool has_heading = false;
    for (size_t i = 0; i < column_count; i++) {
        assert(columns[i].width_min >= 0 && columns[i].gap >= 0);
        headings[i] = columns[i].heading;
        has_heading = has_heading || headings[i] != NULL;
        widths[i] = columns[i].width_min;
        const int heading_width = text_width(cell_text(headings, i));
        if (heading_width > widths[i]) widths[i] = heading_width;
    }
    troc_cli_row row;
    for (size_t r = 0; r < row_count; r++) {
        memset(row.cell, 0, sizeof row.cell);
        fill(rows, r, &row);
        for (size_t i = 0; i < column_count; i++) {
            const int width = text_width(cell_text(row.cell, i));
            if (width > widths[i]) widths[i] = width;
        }
    }
    if (has_heading) line_print(out, columns, widths, column_count, headings);
    for (size_t r = 0; r < row_count; r++) {
        memset(row.cell, 0, sizeof row.cell);
        fill(rows, r, &row);
        line_print(out, columns, widths, column_count, row.cell);
    }
}
