/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the columns troc's human outputs are laid out in
 * (clients/troc/table.c): a column keeps the width it is given for short
 * texts and widens to the widest text it prints, the heading included;
 * numbers stay flush right, words flush left, widths count characters
 * rather than bytes, and no line ends with a space.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../clients/troc/table.h"

/* Rows given as texts, three columns each. */
typedef struct rows {
    const char *const (*cells)[3];
} rows;

static void fill(const void *context, size_t index, troc_cli_row *row) {
    const rows *r = context;
    for (size_t i = 0; i < 3; i++) row->cell[i] = r->cells[index][i];
}

/* What troc__cli_table_print() writes, NUL-terminated; the caller frees it. */
static char *printed(const troc_cli_column *columns, const char *const (*cells)[3], size_t row_count) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    rows r = {cells};
    troc__cli_table_print(out, columns, 3, &r, row_count, fill);
    assert_int_equal(fclose(out), 0);
    return text;
}

static const troc_cli_column columns[] = {{"member", 6, false, 0}, {"balance", 10, true, 1}, {"memo", 0, false, 2}};

static void test_short_texts_keep_the_given_widths(void **state) {
    (void)state;
    static const char *const cells[][3] = {{"bob", "-1.50", "rent"}, {"alice", "20.00", "bread"}};
    char *text = printed(columns, cells, 2);
    assert_string_equal(text, "member    balance  memo\n"
                              "bob         -1.50  rent\n"
                              "alice       20.00  bread\n");
    free(text);
}

static void test_columns_widen_to_the_widest_text(void **state) {
    (void)state;
    static const char *const cells[][3] = {
        {"a-member-with-a-long-name", "-92233720368547758.08", "x"}, {"bob", "1.00", "y"}};
    char *text = printed(columns, cells, 2);
    assert_string_equal(text, "member                                  balance  memo\n"
                              "a-member-with-a-long-name -92233720368547758.08  x\n"
                              "bob                                        1.00  y\n");
    free(text);
}

static void test_no_line_ends_with_a_space(void **state) {
    (void)state;
    static const char *const cells[][3] = {{"bob", "1.00", ""}, {"al", NULL, NULL}, {"carol", "2.00", "rent"}};
    char *text = printed(columns, cells, 3);
    assert_string_equal(text, "member    balance  memo\n"
                              "bob          1.00\n"
                              "al\n"
                              "carol        2.00  rent\n");
    free(text);
}

static void test_widths_count_characters(void **state) {
    (void)state;
    static const char *const cells[][3] = {{"caf\xc3\xa9", "1.00", "\xc3\xa9t\xc3\xa9"}};
    static const troc_cli_column figures[] = {{NULL, 6, false, 2}, {NULL, 6, true, 2}, {NULL, 0, false, 1}};
    char *text = printed(figures, cells, 1);
    assert_string_equal(text, "  caf\xc3\xa9      1.00 \xc3\xa9t\xc3\xa9\n"); /* no heading line */
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_texts_keep_the_given_widths),
        cmocka_unit_test(test_columns_widen_to_the_widest_text),
        cmocka_unit_test(test_no_line_ends_with_a_space),
        cmocka_unit_test(test_widths_count_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
