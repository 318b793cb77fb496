/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness of the CSV reader.
 *
 * Any bytes are either refused with a message, or read into fields that are
 * well-formed UTF-8 without control characters (line breaks aside), and
 * that survive a round trip: written by the writer and read again, they
 * come back field for field, whether written one by one or a row at a
 * time.  Read again in parts of a few bytes on one or two threads, naming
 * one column as the only one read, the input gives the same rows, lines
 * and refusals as read in one part, the same fields in the columns that
 * read kept, and the same rows written whole.  An assertion failure is a
 * finding.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/text.h"
#include "csv/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void assert_text(troc_csv_field field) {
    size_t start = 0;
    for (size_t i = 0; i <= field.length; i++) {
        if (i < field.length && field.text[i] != '\n' && field.text[i] != '\r') continue;
        assert(troc_text_valid(field.text + start, i - start));
        start = i + 1;
    }
}

static troc_csv_field field_of(const troc_csv *csv, size_t record, size_t column) {
    return record == 0 ? troc_csv_header(csv, column) : troc_csv_get(csv, record - 1, column);
}

/* Writes csv to a memory file and reads it back: the header field by
 * field, the data rows either so too or whole with
 * troc_csv_write_row_fields() (which copies a row read without quotes in
 * one piece) into a memory writer appended after the header, as troc
 * clear's parts do. */
static troc_csv *round_trip(const troc_csv *csv, bool whole_rows) {
    int fd = memfd_create("fuzz_csv", 0);
    assert(fd >= 0);
    const unsigned flags = troc_csv_uses_crlf(csv) ? TROC_CSV_WRITE_CRLF : 0u;
    troc_csv_writer *writer = NULL, *rows = NULL;
    int rc = troc_csv_writer_open_fd(fd, flags, &writer);
    assert(rc == 0);
    rc = whole_rows ? troc_csv_writer_open_memory(flags, &rows) : 0;
    assert(rc == 0);
    size_t columns = troc_csv_column_count(csv);
    for (size_t record = 0; record <= troc_csv_row_count(csv); record++) {
        if (record > 0 && whole_rows) {
            troc_csv_write_row_fields(rows, csv, record - 1);
            troc_csv_write_row_end(rows);
            continue;
        }
        for (size_t column = 0; column < columns; column++) {
            troc_csv_field field = field_of(csv, record, column);
            troc_csv_write_field(writer, field.text, field.length);
        }
        troc_csv_write_row_end(writer);
    }
    if (whole_rows) troc_csv_writer_append(writer, rows);
    rc = troc_csv_writer_finish(writer);
    assert(rc == 0);
    rc = troc_csv_writer_commit(writer);
    assert(rc == 0);
    off_t size = lseek(fd, 0, SEEK_END);
    char *bytes = malloc((size_t)size + 1);
    assert(bytes != NULL);
    ssize_t n = pread(fd, bytes, (size_t)size, 0);
    assert(n == size);
    close(fd);
    troc_csv *back = NULL;
    troc_csv_error error;
    rc = troc_csv_read_memory(bytes, (size_t)size, &back, &error);
    assert(rc == 0);
    free(bytes);
    return back;
}

/* a and b hold the same fields, in the columns b kept. */
static void assert_same_fields(const troc_csv *a, const troc_csv *b) {
    size_t columns = troc_csv_column_count(a), rows = troc_csv_row_count(a);
    assert(troc_csv_column_count(b) == columns && troc_csv_row_count(b) == rows);
    for (size_t record = 0; record <= rows; record++) {
        for (size_t column = 0; column < columns; column++) {
            if (record > 0 && !troc_csv_column_kept(b, column)) continue;
            troc_csv_field fa = field_of(a, record, column), fb = field_of(b, record, column);
            assert(fa.length == fb.length && memcmp(fa.text, fb.text, fa.length) == 0);
        }
    }
}

/* Reads the input again cut into parts of a few bytes, on one thread or
 * two, naming one column of the header as the only one read (all picked
 * by the input's size, so that a finding replays): the reader promises the
 * same result whatever the parts, a refusal with its line and message
 * included, and the named column and the first and last kept.  Returns
 * that read, or NULL after a refusal. */
static troc_csv *read_in_parts(const uint8_t *data, size_t size, int rc_whole, const troc_csv_error *error_whole,
                               const troc_csv *whole) {
    static char name[TROC_CSV_FIELD_LENGTH_MAX + 1];
    const char *columns_read[2] = {NULL, NULL};
    size_t named = 0;
    if (whole != NULL) {
        named = size % troc_csv_column_count(whole);
        troc_csv_field header = troc_csv_header(whole, named);
        while (header.length > 0 && (header.text[0] == ' ' || header.text[0] == '\t')) header.text++, header.length--;
        while (header.length > 0 && (header.text[header.length - 1] == ' ' || header.text[header.length - 1] == '\t')) {
            header.length--;
        }
        memcpy(name, header.text, header.length); /* as troc_csv_column_find() compares names: spaces around cut */
        name[header.length] = '\0';
        columns_read[0] = name;
    }
    const troc_csv_read_options options = {.thread_count = 1 + (unsigned)(size / 32 % 2),
                                           .part_size_min = 1 + size % 32,
                                           .columns_read = size % 3 != 0 ? columns_read : NULL};
    troc_csv *csv = NULL;
    troc_csv_error error = {0};
    int rc = troc_csv_read_memory_with((const char *)data, size, &options, &csv, &error);
    assert(rc == rc_whole);
    if (rc != 0) {
        assert(csv == NULL && error.line == error_whole->line && strcmp(error.message, error_whole->message) == 0);
        return NULL;
    }
    assert_same_fields(whole, csv);
    const size_t columns = troc_csv_column_count(csv);
    assert(troc_csv_column_kept(csv, 0) && troc_csv_column_kept(csv, columns - 1) && troc_csv_column_kept(csv, named));
    assert(troc_csv_header_line(csv) == troc_csv_header_line(whole));
    assert(troc_csv_has_bom(csv) == troc_csv_has_bom(whole) && troc_csv_uses_crlf(csv) == troc_csv_uses_crlf(whole));
    for (size_t row = 0; row < troc_csv_row_count(csv); row++) {
        assert(troc_csv_row_line(csv, row) == troc_csv_row_line(whole, row));
    }
    return csv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    troc_csv *csv = NULL;
    troc_csv_error error = {0};
    int rc = troc_csv_read_memory((const char *)data, size, &csv, &error);
    troc_csv *parts = read_in_parts(data, size, rc, &error, csv);
    if (rc != 0) {
        assert(csv == NULL && error.message[0] != '\0');
        return 0;
    }
    size_t columns = troc_csv_column_count(csv), rows = troc_csv_row_count(csv);
    for (size_t record = 0; record <= rows; record++) {
        for (size_t column = 0; column < columns; column++) assert_text(field_of(csv, record, column));
    }
    troc_csv *back = round_trip(csv, false);
    assert_same_fields(csv, back);
    troc_csv_free(back);
    back = round_trip(parts, true);
    assert_same_fields(csv, back);
    troc_csv_free(back);
    troc_csv_free(parts);
    troc_csv_free(csv);
    return 0;
}
