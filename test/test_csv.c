/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the CSV reader and writer (clients/csv): every case of RFC
 * 4180 the reader accepts, every input it refuses with the exact line it
 * names, the writer's quoting, conventions and atomic replacement of its
 * target, and a round trip from reader to writer and back.  A file read in
 * parts on several threads gives what it gives read whole, refusals
 * included; rows formatted in memory parts and rows copied whole give what
 * field-by-field writing gives; a reader naming the columns it reads gets
 * them, and whole rows, as a full read does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "csv/csv.h"

static troc_csv *read_ok(const char *text) {
    troc_csv *csv = NULL;
    troc_csv_error error = {0};
    int rc = troc_csv_read_memory(text, strlen(text), &csv, &error);
    if (rc != 0) print_error("unexpected refusal: line %u: %s\n", error.line, error.message);
    assert_int_equal(rc, 0);
    assert_non_null(csv);
    return csv;
}

/* Reads `size` bytes that must be refused with `code` on `line`; returns
 * the message for further checks. */
static const char *read_refused(const char *data, size_t size, int code, uint32_t line) {
    static troc_csv_error error;
    troc_csv *csv = (troc_csv *)&error; /* must be left alone */
    memset(&error, 0, sizeof error);
    error.line = 999999;
    int rc = troc_csv_read_memory(data, size, &csv, &error);
    if (rc != code || error.line != line) {
        print_error("expected %s on line %u, got %s on line %u: %s\n", troc_err_name(code), line, troc_err_name(rc),
                    error.line, error.message);
    }
    assert_int_equal(rc, code);
    assert_int_equal(error.line, line);
    assert_true(csv == (troc_csv *)&error);
    assert_true(strlen(error.message) > 0);
    return error.message;
}

static const char *refused(const char *text, int code, uint32_t line) {
    return read_refused(text, strlen(text), code, line);
}

static void assert_field(const troc_csv *csv, size_t row, size_t column, const char *expected) {
    troc_csv_field field = troc_csv_get(csv, row, column);
    assert_int_equal(field.length, strlen(expected));
    assert_memory_equal(field.text, expected, field.length);
}

static void assert_header(const troc_csv *csv, size_t column, const char *expected) {
    troc_csv_field field = troc_csv_header(csv, column);
    assert_int_equal(field.length, strlen(expected));
    assert_memory_equal(field.text, expected, field.length);
}

/* Reader: accepted input ------------------------------------------------ */

static void test_simple_lf(void **state) {
    (void)state;
    troc_csv *csv = read_ok("id,debtor,creditor,amount\nd1,A,B,0.01\nd2,B,A,2\n");
    assert_int_equal(troc_csv_column_count(csv), 4);
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_header(csv, 0, "id");
    assert_header(csv, 3, "amount");
    assert_field(csv, 0, 0, "d1");
    assert_field(csv, 1, 3, "2");
    assert_int_equal(troc_csv_header_line(csv), 1);
    assert_int_equal(troc_csv_row_line(csv, 0), 2);
    assert_int_equal(troc_csv_row_line(csv, 1), 3);
    assert_false(troc_csv_uses_crlf(csv));
    assert_false(troc_csv_has_bom(csv));
    troc_csv_free(csv);
}

static void test_crlf_and_no_final_line_end(void **state) {
    (void)state;
    troc_csv *csv = read_ok("a,b\r\n1,2\r\n3,4");
    assert_true(troc_csv_uses_crlf(csv));
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_field(csv, 0, 1, "2");
    assert_field(csv, 1, 0, "3");
    assert_field(csv, 1, 1, "4");
    assert_int_equal(troc_csv_row_line(csv, 1), 3);
    troc_csv_free(csv);
}

static void test_quoted_fields(void **state) {
    (void)state;
    troc_csv *csv = read_ok("a,b,c\n"
                            "\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                            "\"\",\"\"\"\",\"crlf\r\ninside\"\n"
                            "after,\"a\"\"b\"\"c\",z\n");
    assert_int_equal(troc_csv_row_count(csv), 3);
    assert_field(csv, 0, 0, "x, y");
    assert_field(csv, 0, 1, "say \"hi\"");
    assert_field(csv, 0, 2, "two\nlines");
    assert_field(csv, 1, 0, "");
    assert_field(csv, 1, 1, "\"");
    assert_field(csv, 1, 2, "crlf\r\ninside");
    assert_field(csv, 2, 1, "a\"b\"c");
    /* Records start on physical lines 2, 4 and 6: each quoted line break
     * moves the next record down. */
    assert_int_equal(troc_csv_row_line(csv, 0), 2);
    assert_int_equal(troc_csv_row_line(csv, 1), 4);
    assert_int_equal(troc_csv_row_line(csv, 2), 6);
    troc_csv_free(csv);
}

static void test_empty_fields_and_spaces(void **state) {
    (void)state;
    troc_csv *csv = read_ok("a,b,c\n,,\n x , y,\"\"\n1,,\"\"");
    assert_int_equal(troc_csv_row_count(csv), 3);
    assert_field(csv, 0, 0, "");
    assert_field(csv, 0, 2, "");
    assert_field(csv, 1, 0, " x ");
    assert_field(csv, 1, 1, " y");
    assert_field(csv, 1, 2, "");
    assert_field(csv, 2, 1, "");
    assert_field(csv, 2, 2, "");
    troc_csv_free(csv);
}

static void test_bom_dropped(void **state) {
    (void)state;
    troc_csv *csv = read_ok("\xEF\xBB\xBFid,amount\r\nx,1\r\n");
    assert_true(troc_csv_has_bom(csv));
    assert_header(csv, 0, "id");
    size_t column = 9;
    assert_int_equal(troc_csv_column_find(csv, "id", &column), 0);
    assert_int_equal(column, 0);
    assert_int_equal(troc_csv_row_line(csv, 0), 2);
    troc_csv_free(csv);
}

static void test_blank_lines_skipped(void **state) {
    (void)state;
    troc_csv *csv = read_ok("\n\r\na,b\n\n1,2\r\n\r\n\n3,4\n\n");
    assert_int_equal(troc_csv_header_line(csv), 3);
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_int_equal(troc_csv_row_line(csv, 0), 5);
    assert_int_equal(troc_csv_row_line(csv, 1), 8);
    assert_false(troc_csv_uses_crlf(csv));
    assert_field(csv, 1, 1, "4");
    troc_csv_free(csv);
}

static void test_single_column_and_header_only(void **state) {
    (void)state;
    troc_csv *csv = read_ok("name\n\"\"\nx\n");
    assert_int_equal(troc_csv_column_count(csv), 1);
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_field(csv, 0, 0, "");
    assert_field(csv, 1, 0, "x");
    troc_csv_free(csv);
    csv = read_ok("debtor,creditor,amount\n");
    assert_int_equal(troc_csv_row_count(csv), 0);
    assert_int_equal(troc_csv_column_count(csv), 3);
    troc_csv_free(csv);
    csv = read_ok("debtor,creditor,amount");
    assert_int_equal(troc_csv_row_count(csv), 0);
    troc_csv_free(csv);
}

static void test_utf8_text(void **state) {
    (void)state;
    troc_csv *csv = read_ok("firme,note\nCaf\xC3\xA9 du Port,\"\xF0\x9F\x98\x80\tok\"\n\xE2\x82\xAC,\xEF\xBB\xBFx\n");
    assert_field(csv, 0, 0, "Caf\xC3\xA9 du Port");
    assert_field(csv, 0, 1, "\xF0\x9F\x98\x80\tok");
    assert_field(csv, 1, 0, "\xE2\x82\xAC");
    assert_field(csv, 1, 1, "\xEF\xBB\xBFx"); /* a BOM past the start is text */
    troc_csv_free(csv);
}

static void test_column_find(void **state) {
    (void)state;
    troc_csv *csv = read_ok(" Debtor ,CREDITOR,amount,memo,Memo\n");
    size_t column = 99;
    assert_int_equal(troc_csv_column_find(csv, "debtor", &column), 0);
    assert_int_equal(column, 0);
    assert_int_equal(troc_csv_column_find(csv, "creditor", &column), 0);
    assert_int_equal(column, 1);
    assert_int_equal(troc_csv_column_find(csv, "amount", &column), 0);
    assert_int_equal(column, 2);
    assert_int_equal(troc_csv_column_find(csv, "id", &column), TROC_ENOT_FOUND);
    assert_int_equal(troc_csv_column_find(csv, "debto", &column), TROC_ENOT_FOUND);
    assert_int_equal(troc_csv_column_find(csv, "memo", &column), TROC_ECSV);
    troc_csv_free(csv);
}

static void test_read_file(void **state) {
    (void)state;
    char path[] = "/tmp/troc-test-csv-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "a,b\n1,\"x\ny\"\n2,z\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    troc_csv *csv = NULL;
    troc_csv_error error;
    assert_int_equal(troc_csv_read_file(path, &csv, &error), 0);
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_field(csv, 0, 1, "x\ny");
    assert_int_equal(troc_csv_row_line(csv, 1), 4);
    troc_csv_free(csv);
    unlink(path);
}

/* A pipe's size is unknown: it is read by chunks, to its end, and the
 * descriptor is left open for its owner. */
static void test_read_fd_of_a_pipe(void **state) {
    (void)state;
    int ends[2];
    assert_int_equal(pipe(ends), 0);
    static const char text[] = "a,b\n1,\"x\ny\"\n2,z\n";
    assert_int_equal(write(ends[1], text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(ends[1]);
    troc_csv *csv = NULL;
    troc_csv_error error;
    assert_int_equal(troc_csv_read_fd_with(ends[0], NULL, &csv, &error), 0);
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_field(csv, 0, 1, "x\ny");
    assert_field(csv, 1, 1, "z");
    troc_csv_free(csv);
    assert_int_equal(fcntl(ends[0], F_GETFD), 0); /* still open */
    close(ends[0]);
}

/* Reader: refusals ------------------------------------------------------- */

static void test_refuses_empty(void **state) {
    (void)state;
    assert_non_null(strstr(read_refused("", 0, TROC_ECSV, 0), "empty"));
    refused("\xEF\xBB\xBF", TROC_ECSV, 0);
    refused("\n\r\n\n", TROC_ECSV, 0);
}

static void test_refuses_unterminated_quote(void **state) {
    (void)state;
    const char *message = refused("a,b\n1,2\n3,\"open\nstill open\n", TROC_ECSV, 3);
    assert_non_null(strstr(message, "never closed"));
    refused("\"a", TROC_ECSV, 1);
    refused("a,b\n1,\"x\"\"", TROC_ECSV, 2);
}

static void test_refuses_stray_quotes(void **state) {
    (void)state;
    assert_non_null(strstr(refused("a,b\n1,ab\"c\n", TROC_ECSV, 2), "quote"));
    assert_non_null(strstr(refused("a,b\n1,\"ab\"c\n", TROC_ECSV, 2), "after its closing quote"));
    refused("a,b\n1,\"ab\" \n", TROC_ECSV, 2);
}

static void test_refuses_bare_carriage_return(void **state) {
    (void)state;
    assert_non_null(strstr(refused("a,b\r1,2\r", TROC_ECSV, 1), "carriage return"));
    refused("a,b\n1,2\n3,4\r5,6\n", TROC_ECSV, 3);
    refused("a,b\n1,x\ry\n", TROC_ECSV, 2);
}

static void test_refuses_short_and_long_rows(void **state) {
    (void)state;
    const char *message = refused("a,b,c\n1,2,3\n4,5\n", TROC_ECSV, 3);
    assert_non_null(strstr(message, "2 fields"));
    assert_non_null(strstr(message, "header has 3"));
    message = refused("a,b,c\n1,2,3\n4,5,6,7\n", TROC_ECSV, 3);
    assert_non_null(strstr(message, "4 fields"));
    /* The line of a record after a multi-line quoted field. */
    refused("a,b\n\"x\n\ny\",1\n\n2\n", TROC_ECSV, 6);
    refused("a,b\n1,2\n   \n", TROC_ECSV, 3);
}

static void test_refuses_bad_utf8(void **state) {
    (void)state;
    const char *message = refused("a,b\n1,caf\xE9\n", TROC_EUTF8, 2);
    assert_non_null(strstr(message, "UTF-8"));
    assert_non_null(strstr(message, "field 2 (b)"));
    refused("a\xFF,b\n", TROC_EUTF8, 1);
    refused("a,b\n1,2\n\xC0\xAF,x\n", TROC_EUTF8, 3);          /* overlong */
    refused("a,b\n1,\"x\n\xED\xA0\x80\"\n", TROC_EUTF8, 2);    /* surrogate in a quoted field */
    refused("a,b\n1,\xE2\x82\n", TROC_EUTF8, 2);               /* truncated sequence */
    refused("a,b\n1,\xF4\x90\x80\x80\n", TROC_EUTF8, 2);       /* beyond U+10FFFF */
}

static void test_refuses_control_characters(void **state) {
    (void)state;
    assert_non_null(strstr(refused("a,b\n1,x\x01y\n", TROC_EUTF8, 2), "control character 0x01"));
    read_refused("a,b\n1,x\0y\n", 10, TROC_EUTF8, 2);
    refused("a,b\n1,2\n\"x\x1b[31m\",3\n", TROC_EUTF8, 3);
    refused("a,b\n1,\x7F\n", TROC_EUTF8, 2);
    /* C1 controls are valid UTF-8: named as the controls they are. */
    const char *message = refused("a,b\n1,x\xC2\x85\n", TROC_EUTF8, 2);
    assert_non_null(strstr(message, "field 2 (b) holds the control character U+0085"));
    assert_null(strstr(message, "not valid UTF-8"));
    assert_non_null(strstr(refused("a\xC2\x80,b\n", TROC_EUTF8, 1), "control character U+0080"));
    assert_non_null(strstr(refused("a,b\n1,\"x\ny\xC2\x9F\"\n", TROC_EUTF8, 2), "control character U+009F"));
    assert_non_null(strstr(refused("a,b\n1,\xC2\xA0\xC2\n", TROC_EUTF8, 2), "not valid UTF-8"));
}

/* Every byte value at every place of a field long enough to be scanned
 * several bytes at once: read whole when it is plain text (printable
 * ASCII or tab, neither comma nor quote), refused otherwise (a control,
 * a lone byte of UTF-8, a stray quote, or a comma or line feed that
 * breaks the row). */
static void test_every_byte_in_a_long_field(void **state) {
    (void)state;
    enum { LENGTH = 24 };
    for (unsigned byte = 0; byte < 256; byte++) {
        const bool plain = (byte >= 0x20 && byte < 0x7F && byte != ',' && byte != '"') || byte == '\t';
        for (size_t at = 0; at < LENGTH; at++) {
            char text[64], field[LENGTH + 1];
            memset(field, 'a', LENGTH);
            field[at] = (char)byte;
            field[LENGTH] = '\0';
            /* A field on either side: a comma or a line feed inside changes
             * the row's count of fields. */
            memcpy(text, "a,b,c\nx,", 8);
            memcpy(text + 8, field, LENGTH);
            memcpy(text + 8 + LENGTH, ",y\n", 3);
            const size_t size = 8 + LENGTH + 3;
            troc_csv *csv = NULL;
            troc_csv_error error = {0};
            const int rc = troc_csv_read_memory(text, size, &csv, &error);
            if ((rc == 0) != plain) fail_msg("byte 0x%02X at %zu: %s", byte, at, rc == 0 ? "read" : error.message);
            if (rc != 0) continue;
            troc_csv_field read = troc_csv_get(csv, 0, 1);
            assert_int_equal(read.length, LENGTH);
            assert_memory_equal(read.text, field, LENGTH);
            troc_csv_free(csv);
        }
    }
}

static char *repeat(char c, size_t count, const char *prefix, const char *suffix) {
    size_t prefix_length = strlen(prefix), suffix_length = strlen(suffix);
    char *text = malloc(prefix_length + count + suffix_length + 1);
    assert_non_null(text);
    memcpy(text, prefix, prefix_length);
    memset(text + prefix_length, c, count);
    memcpy(text + prefix_length + count, suffix, suffix_length + 1);
    return text;
}

static void test_refuses_past_limits(void **state) {
    (void)state;
    char *text = repeat('x', TROC_CSV_FIELD_LENGTH_MAX, "a,b\n1,", "\n");
    troc_csv *csv = read_ok(text); /* exactly the maximum */
    troc_csv_free(csv);
    free(text);
    text = repeat('x', TROC_CSV_FIELD_LENGTH_MAX + 1, "a,b\n1,2\n3,", "\n");
    assert_non_null(strstr(refused(text, TROC_ELIMIT, 3), "longer than"));
    free(text);
    /* A line of many short fields, each within bounds. */
    text = repeat(',', TROC_CSV_LINE_LENGTH_MAX + 1, "a\n", "\n");
    assert_non_null(strstr(refused(text, TROC_ELIMIT, 2), "record is longer"));
    free(text);
    text = repeat(',', TROC_CSV_COLUMNS_MAX, "", "\n");
    assert_non_null(strstr(refused(text, TROC_ELIMIT, 1), "columns"));
    free(text);
    text = repeat(',', TROC_CSV_COLUMNS_MAX - 1, "", "\n");
    csv = read_ok(text);
    assert_int_equal(troc_csv_column_count(csv), TROC_CSV_COLUMNS_MAX);
    troc_csv_free(csv);
    free(text);
    troc_csv_error error;
    troc_csv *none = NULL;
    assert_int_equal(troc_csv_read_memory("", TROC_CSV_FILE_SIZE_MAX + 1, &none, &error), TROC_ELIMIT);
    assert_null(none);
}

static void test_refuses_too_many_rows(void **state) {
    (void)state;
    size_t rows = TROC_CSV_ROWS_MAX + 1;
    char *text = malloc(2 + 2 * rows + 1);
    assert_non_null(text);
    memcpy(text, "a\n", 2);
    for (size_t i = 0; i < rows; i++) memcpy(text + 2 + 2 * i, "1\n", 2);
    text[2 + 2 * rows] = '\0';
    assert_non_null(strstr(refused(text, TROC_ELIMIT, (uint32_t)rows + 1), "rows"));
    troc_csv *csv = NULL;
    troc_csv_error error;
    assert_int_equal(troc_csv_read_memory(text, 2 + 2 * (rows - 1), &csv, &error), 0);
    assert_int_equal(troc_csv_row_count(csv), TROC_CSV_ROWS_MAX);
    troc_csv_free(csv);
    free(text);
}

static void test_refuses_unreadable_file(void **state) {
    (void)state;
    troc_csv *csv = NULL;
    troc_csv_error error;
    assert_int_equal(troc_csv_read_file("/nonexistent/troc/input.csv", &csv, &error), -ENOENT);
    assert_int_equal(error.line, 0);
    assert_non_null(strstr(error.message, "No such file"));
    assert_int_equal(troc_csv_read_file("/tmp", &csv, &error), -EISDIR);
    assert_null(csv);
}

/* Writer ----------------------------------------------------------------- */

typedef struct temp_dir {
    char path[64];
} temp_dir;

static void temp_dir_create(temp_dir *dir) {
    strcpy(dir->path, "/tmp/troc-test-csv-XXXXXX");
    assert_non_null(mkdtemp(dir->path));
}

/* Entries of the directory other than . and .. */
static int temp_dir_count(const temp_dir *dir) {
    DIR *d = opendir(dir->path);
    assert_non_null(d);
    int count = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) count++;
    }
    closedir(d);
    return count;
}

static void temp_dir_remove(temp_dir *dir) {
    DIR *d = opendir(dir->path);
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir->path, e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) unlink(path);
    }
    closedir(d);
    assert_int_equal(rmdir(dir->path), 0);
}

static char *slurp(const char *path, size_t *size_out) {
    static char buffer[4096];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    assert_true(n >= 0);
    close(fd);
    buffer[n] = '\0';
    *size_out = (size_t)n;
    return buffer;
}

static void write_sample(troc_csv_writer *writer) {
    troc_csv_write_text(writer, "plain");
    troc_csv_write_text(writer, "a,b");
    troc_csv_write_text(writer, "say \"hi\"");
    troc_csv_write_text(writer, "two\nlines");
    troc_csv_write_row_end(writer);
    troc_csv_write_text(writer, "");
    troc_csv_write_text(writer, " spaced ");
    troc_csv_write_text(writer, "cr\rhere");
    troc_csv_write_amount(writer, -12050);
    troc_csv_write_row_end(writer);
    troc_csv_write_field(writer, "", 0);
    troc_csv_write_row_end(writer);
}

/* A first field beginning with U+FEFF, unlike a byte-order mark, is kept. */
static void test_writer_keeps_leading_feff(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir.path);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, 0, &writer), 0);
    troc_csv_write_text(writer, "\xEF\xBB\xBF"
                                "a");
    troc_csv_write_text(writer, "b");
    troc_csv_write_row_end(writer);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    troc_csv *csv = NULL;
    troc_csv_error error;
    assert_int_equal(troc_csv_read_file(path, &csv, &error), 0);
    assert_false(troc_csv_has_bom(csv));
    assert_header(csv, 0, "\xEF\xBB\xBF"
                          "a");
    troc_csv_free(csv);
    temp_dir_remove(&dir);
}

/* A process interrupted while it writes (the handler installed) leaves no
 * temporary file: a child opens two writers, says so through a pipe and
 * waits; the parent sees both temporary files, signals it, and finds the
 * directory empty and the child killed by that signal.  A signal the
 * process ignores stays ignored. */
static void interrupt_writer(int signal_number, bool ignored) {
    temp_dir dir;
    temp_dir_create(&dir);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Set either way: a test run under nohup inherits SIGHUP ignored. */
        signal(signal_number, ignored ? SIG_IGN : SIG_DFL);
        char paths[2][128];
        troc_csv_writer *writers[2] = {NULL, NULL};
        int rc = troc_csv_remove_temporaries_on_signals();
        for (int i = 0; i < 2 && rc == 0; i++) {
            snprintf(paths[i], sizeof paths[i], "%s/out%d.csv", dir.path, i);
            rc = troc_csv_writer_open_file(paths[i], 0, &writers[i]);
            if (rc == 0) write_sample(writers[i]);
        }
        char byte = rc == 0 ? 'y' : 'n';
        if (write(ready[1], &byte, 1) != 1) _exit(3);
        for (;;) pause();
    }
    close(ready[1]);
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    assert_int_equal(byte, 'y');
    assert_int_equal(temp_dir_count(&dir), 2);
    assert_int_equal(kill(child, signal_number), 0);
    if (ignored) {
        usleep(100000); /* the signal is ignored: the child is still there */
        assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
        assert_int_equal(temp_dir_count(&dir), 2);
        assert_int_equal(kill(child, SIGKILL), 0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), ignored ? SIGKILL : signal_number);
    assert_int_equal(temp_dir_count(&dir), ignored ? 2 : 0);
    temp_dir_remove(&dir);
}

static void test_interrupted_writer_leaves_no_temporary(void **state) {
    (void)state;
    interrupt_writer(SIGINT, false);
    interrupt_writer(SIGTERM, false);
    interrupt_writer(SIGHUP, false);
    interrupt_writer(SIGHUP, true);
}

/* A writer replaces the file a symbolic link names (the link stays) and
 * keeps the replaced file's permissions; it refuses a name that is not a
 * regular file (a pipe here), which renaming would replace by one, and a
 * link to nothing. */
static void test_writer_follows_links_keeps_modes(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char real[128], link[128], fifo[128], dangling[128];
    snprintf(real, sizeof real, "%s/real.csv", dir.path);
    snprintf(link, sizeof link, "%s/link.csv", dir.path);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir.path);
    snprintf(dangling, sizeof dangling, "%s/dangling.csv", dir.path);
    FILE *old = fopen(real, "w");
    assert_non_null(old);
    fputs("old\n", old);
    fclose(old);
    assert_int_equal(chmod(real, 0600), 0);
    assert_int_equal(symlink("real.csv", link), 0);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(link, 0, &writer), 0);
    troc_csv_write_text(writer, "new");
    troc_csv_write_row_end(writer);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    struct stat status;
    assert_int_equal(lstat(link, &status), 0);
    assert_true(S_ISLNK(status.st_mode));
    assert_int_equal(stat(real, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0600);
    size_t size = 0;
    assert_string_equal(slurp(real, &size), "new\n");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(troc_csv_writer_open_file(fifo, 0, &writer), -EINVAL);
    assert_int_equal(symlink("nowhere.csv", dangling), 0);
    assert_int_equal(troc_csv_writer_open_file(dangling, 0, &writer), -ENOENT);
    assert_int_equal(stat(fifo, &status), 0);
    assert_true(S_ISFIFO(status.st_mode));
    assert_int_equal(temp_dir_count(&dir), 4); /* nothing left behind */
    temp_dir_remove(&dir);
}

static void test_writer_quotes_when_needed(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir.path);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, 0, &writer), 0);
    write_sample(writer);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    size_t size = 0;
    const char *text = slurp(path, &size);
    assert_string_equal(text, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                              ", spaced ,\"cr\rhere\",-120.50\n"
                              "\"\"\n");
    assert_int_equal(temp_dir_count(&dir), 1);
    temp_dir_remove(&dir);
}

static void test_writer_crlf_bom_and_round_trip(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir.path);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, TROC_CSV_WRITE_CRLF | TROC_CSV_WRITE_BOM, &writer), 0);
    troc_csv_write_text(writer, "a");
    troc_csv_write_text(writer, "b");
    troc_csv_write_text(writer, "c");
    troc_csv_write_text(writer, "d");
    troc_csv_write_row_end(writer);
    write_sample(writer);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    size_t size = 0;
    const char *text = slurp(path, &size);
    static const char start[] = "\xEF\xBB\xBF"
                                "a,b,c,d\r\nplain,";
    assert_memory_equal(text, start, sizeof start - 1);
    /* Read back: the last sample row has one field, so it is its own
     * file's business; check the two full rows. */
    troc_csv *csv = NULL;
    troc_csv_error error;
    size_t cut = (size_t)(strstr(text, "\"\"\r\n") - text);
    assert_int_equal(troc_csv_read_memory(text, cut, &csv, &error), 0);
    assert_true(troc_csv_has_bom(csv));
    assert_true(troc_csv_uses_crlf(csv));
    assert_int_equal(troc_csv_row_count(csv), 2);
    assert_field(csv, 0, 2, "say \"hi\"");
    assert_field(csv, 0, 3, "two\nlines");
    assert_field(csv, 1, 0, "");
    assert_field(csv, 1, 1, " spaced ");
    assert_field(csv, 1, 2, "cr\rhere");
    assert_field(csv, 1, 3, "-120.50");
    troc_csv_free(csv);
    temp_dir_remove(&dir);
}

/* Reading in parts ------------------------------------------------------- */

/* Reads `size` bytes whole on one thread and in parts of a few bytes on
 * four: both must give the same rows, lines, conventions, or refusal. */
static void assert_parts_agree(const char *data, size_t size) {
    const troc_csv_read_options whole = {.thread_count = 1, .part_size_min = SIZE_MAX};
    const troc_csv_read_options parts = {.thread_count = 4, .part_size_min = 7};
    troc_csv *a = NULL, *b = NULL;
    troc_csv_error error_a = {0}, error_b = {0};
    int rc_a = troc_csv_read_memory_with(data, size, &whole, &a, &error_a);
    int rc_b = troc_csv_read_memory_with(data, size, &parts, &b, &error_b);
    assert_int_equal(rc_a, rc_b);
    if (rc_a != 0) {
        assert_int_equal(error_a.line, error_b.line);
        assert_string_equal(error_a.message, error_b.message);
        return;
    }
    assert_int_equal(troc_csv_row_count(a), troc_csv_row_count(b));
    assert_int_equal(troc_csv_column_count(a), troc_csv_column_count(b));
    assert_int_equal(troc_csv_header_line(a), troc_csv_header_line(b));
    assert_int_equal(troc_csv_has_bom(a), troc_csv_has_bom(b));
    assert_int_equal(troc_csv_uses_crlf(a), troc_csv_uses_crlf(b));
    for (size_t row = 0; row < troc_csv_row_count(a); row++) {
        assert_int_equal(troc_csv_row_line(a, row), troc_csv_row_line(b, row));
        for (size_t column = 0; column < troc_csv_column_count(a); column++) {
            troc_csv_field fa = troc_csv_get(a, row, column), fb = troc_csv_get(b, row, column);
            assert_int_equal(fa.length, fb.length);
            assert_memory_equal(fa.text, fb.text, fa.length);
        }
    }
    troc_csv_free(a);
    troc_csv_free(b);
}

/* A file of `rows` rows, some blank lines among them, with `broken` (a
 * whole line, NULL for none) in place of row `at`. */
static char *sample_rows(size_t rows, const char *line_end, size_t at, const char *broken) {
    size_t capacity = 64 + rows * 64 + (broken != NULL ? strlen(broken) : 0);
    char *text = malloc(capacity);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, capacity, "\xEF\xBB\xBFid,debtor,creditor,amount%s", line_end);
    for (size_t row = 0; row < rows; row++) {
        if (row % 17 == 5) used += (size_t)snprintf(text + used, capacity - used, "%s", line_end);
        if (row == at && broken != NULL) {
            used += (size_t)snprintf(text + used, capacity - used, "%s%s", broken, line_end);
            continue;
        }
        used += (size_t)snprintf(text + used, capacity - used, "i%zu,f\xC3\xA9%zu,g%zu,%zu.%02zu%s", row, row % 7,
                                 row % 5, row + 1, row % 100, row + 1 < rows ? line_end : "");
    }
    text[used] = '\0';
    return text;
}

static void test_parts_agree(void **state) {
    (void)state;
    static const char *const broken[] = {NULL, "x,y", "a,b,c,d,e", "a,\xC3,b,1", "a,b\rc,d,1", "a,b,c,\"1\"x"};
    static const char *const ends[] = {"\n", "\r\n"};
    for (size_t e = 0; e < 2; e++) {
        for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
            for (size_t at = 0; at < 200; at += 61) {
                char *text = sample_rows(200, ends[e], at, broken[i]);
                assert_parts_agree(text, strlen(text));
                free(text);
            }
        }
    }
    /* Quotes (one of them around a line feed) keep a file in one part. */
    const char *quoted = "a,b\n1,2\n3,\"x\ny\"\n\n5,\"z\"\"\"\n7,8\n9,10\n";
    assert_parts_agree(quoted, strlen(quoted));
    troc_csv *csv = NULL;
    troc_csv_error error;
    const troc_csv_read_options parts = {.thread_count = 4, .part_size_min = 2};
    assert_int_equal(troc_csv_read_memory_with(quoted, strlen(quoted), &parts, &csv, &error), 0);
    assert_int_equal(troc_csv_row_count(csv), 5);
    assert_field(csv, 1, 1, "x\ny");
    assert_int_equal(troc_csv_row_line(csv, 2), 6);
    troc_csv_free(csv);
    /* A header alone, and a last row without a line end. */
    const char *header_only = "a,b\n", *no_final_line_end = "a,b\n1,2\n\n\n3,4";
    assert_parts_agree(header_only, strlen(header_only));
    assert_parts_agree(no_final_line_end, strlen(no_final_line_end));
}

/* Plain records (no quote, printable ASCII) are read by a faster path than
 * the others: random ones of 0 to 20 bytes a field, across its eight-byte
 * steps, with LF or CRLF, mixed with records it leaves to the general path
 * (a tab, a non-ASCII letter, a quoted field), each read as the plain split
 * of its line, on the right line. */
static void test_plain_records_read_as_split(void **state) {
    (void)state;
    enum { ROWS = 400, COLUMNS = 3, FIELD_MAX = 20 };
    static const char *const oddities[] = {"\t", "\xC3\xA9", "\"q\""};
    static const char *const unquoted[] = {"\t", "\xC3\xA9", "q"};
    uint32_t seed = 77;
    for (int round = 0; round < 8; round++) {
        const char *end = round % 2 == 0 ? "\n" : "\r\n";
        char *text = malloc(16 + ROWS * COLUMNS * (FIELD_MAX + 4) * 2);
        char (*expected)[COLUMNS][FIELD_MAX + 4] = malloc(ROWS * sizeof *expected);
        assert_non_null(text);
        assert_non_null(expected);
        size_t length = (size_t)sprintf(text, "a,b,c%s", end);
        for (size_t row = 0; row < ROWS; row++) {
            for (size_t column = 0; column < COLUMNS; column++) {
                seed = seed * 1103515245u + 12345u;
                size_t field = (seed >> 16) % (FIELD_MAX + 1), odd = (seed >> 8) % 64;
                char *out = expected[row][column];
                for (size_t i = 0; i < field; i++) {
                    seed = seed * 1103515245u + 12345u;
                    out[i] = " azAZ09.-_"[(seed >> 16) % 10];
                }
                out[field] = '\0';
                if (odd < 3) {
                    length += (size_t)sprintf(text + length, "%s", oddities[odd]);
                    strcpy(out, unquoted[odd]);
                } else {
                    memcpy(text + length, out, field);
                    length += field;
                }
                if (column + 1 < COLUMNS) text[length++] = ',';
                else length += (size_t)sprintf(text + length, "%s", end);
            }
        }
        if (round >= 4) length -= strlen(end); /* no line end after the last row */
        troc_csv *csv = NULL;
        troc_csv_error error;
        const troc_csv_read_options parts = {.thread_count = 2, .part_size_min = round % 4 < 2 ? 0 : 97};
        assert_int_equal(troc_csv_read_memory_with(text, length, &parts, &csv, &error), 0);
        assert_int_equal(troc_csv_row_count(csv), ROWS);
        assert_int_equal(troc_csv_uses_crlf(csv), round % 2 == 1);
        for (size_t row = 0; row < ROWS; row++) {
            for (size_t column = 0; column < COLUMNS; column++) assert_field(csv, row, column, expected[row][column]);
            assert_int_equal(troc_csv_row_line(csv, row), row + 2);
        }
        troc_csv_free(csv);
        free(expected);
        free(text);
    }
}

/* A regular file of several megabytes is read in parts on the threads
 * (pread from the descriptor's offset, which is then left at the end): the
 * same records as the same bytes read from memory, and the same refusal
 * for a NUL byte in a later part. */
static void test_read_file_in_parts(void **state) {
    (void)state;
    char *text = sample_rows(600000, "\n", SIZE_MAX, NULL);
    const size_t size = strlen(text);
    assert_true(size > 3 * 4 * 1024 * 1024); /* several parts of csv_read.c's READ_PART_SIZE */
    static const char prefix[] = "bytes before the offset the reader starts at\n";
    char path[] = "/tmp/troc-test-csv-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) text[size / 2] = '\0'; /* a NUL in a later part */
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, prefix, sizeof prefix - 1, 0), (ssize_t)(sizeof prefix - 1));
        assert_int_equal(pwrite(fd, text, size, sizeof prefix - 1), (ssize_t)size);
        assert_int_equal(lseek(fd, sizeof prefix - 1, SEEK_SET), (off_t)(sizeof prefix - 1));
        const troc_csv_read_options options = {.thread_count = 2};
        troc_csv *from_file = NULL, *from_memory = NULL;
        troc_csv_error file_error, memory_error;
        int rc_file = troc_csv_read_fd_with(fd, &options, &from_file, &file_error);
        int rc_memory = troc_csv_read_memory_with(text, size, &options, &from_memory, &memory_error);
        assert_int_equal(rc_file, rc_memory);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)(sizeof prefix - 1 + size));
        if (pass == 1) {
            assert_int_not_equal(rc_file, 0);
            assert_int_equal(file_error.line, memory_error.line);
            assert_string_equal(file_error.message, memory_error.message);
            continue;
        }
        assert_int_equal(rc_file, 0);
        assert_int_equal(troc_csv_row_count(from_file), 600000);
        assert_int_equal(troc_csv_row_count(from_file), troc_csv_row_count(from_memory));
        for (size_t row = 0; row < troc_csv_row_count(from_file); row += 997) {
            for (size_t column = 0; column < troc_csv_column_count(from_file); column++) {
                troc_csv_field a = troc_csv_get(from_file, row, column), b = troc_csv_get(from_memory, row, column);
                assert_int_equal(a.length, b.length);
                assert_memory_equal(a.text, b.text, a.length);
            }
        }
        troc_csv_field last = troc_csv_get(from_file, 599999, 0);
        assert_int_equal(last.length, strlen("i599999"));
        assert_memory_equal(last.text, "i599999", last.length);
        troc_csv_free(from_file);
        troc_csv_free(from_memory);
    }
    close(fd);
    unlink(path);
    free(text);
}

/* Writing in parts and whole rows ---------------------------------------- */

/* Everything a memory writer holds, read back by appending it to a file
 * writer on a temporary file. */
static char *memory_text(const char *directory, troc_csv_writer **parts, size_t count, unsigned flags,
                         size_t *size_out) {
    char path[256];
    snprintf(path, sizeof path, "%s/parts.csv", directory);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, flags, &writer), 0);
    for (size_t i = 0; i < count; i++) troc_csv_writer_append(writer, parts[i]);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    char *text = strdup(slurp(path, size_out));
    assert_non_null(text);
    return text;
}

/* Writes three samples through `memory`, kept from part to part, into the
 * file `name` of `directory`, and frees it; the file must read `whole`. */
static void expect_kept_parts(const char *directory, const char *name, unsigned flags, troc_csv_writer *memory,
                              const char *whole, size_t whole_size) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, flags, &writer), 0);
    for (int i = 0; i < 3; i++) {
        write_sample(memory);
        troc_csv_writer_append_kept(writer, memory);
    }
    troc_csv_writer_abort(memory);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    size_t size = 0;
    const char *text = slurp(path, &size);
    assert_int_equal(size, whole_size);
    assert_memory_equal(text, whole, size);
}

static void test_writer_memory_parts(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char path[256];
    snprintf(path, sizeof path, "%s/whole.csv", dir.path);
    const unsigned flags = TROC_CSV_WRITE_CRLF | TROC_CSV_WRITE_BOM;
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, flags, &writer), 0);
    for (int i = 0; i < 3; i++) write_sample(writer);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    size_t whole_size = 0;
    char *whole = strdup(slurp(path, &whole_size));
    troc_csv_writer *parts[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(troc_csv_writer_open_memory(TROC_CSV_WRITE_CRLF, &parts[i]), 0);
        write_sample(parts[i]);
    }
    size_t size = 0;
    char *text = memory_text(dir.path, parts, 3, flags, &size);
    assert_int_equal(size, whole_size);
    assert_memory_equal(text, whole, size);
    free(text);
    /* One memory writer kept from part to part collects each afresh. */
    troc_csv_writer *kept = NULL;
    assert_int_equal(troc_csv_writer_open_memory(TROC_CSV_WRITE_CRLF, &kept), 0);
    expect_kept_parts(dir.path, "kept.csv", flags, kept, whole, whole_size);
    /* In lent buffers: one roomy enough, and one too small, which the
     * writer outgrows into a buffer of its own.  The lent bytes are the
     * caller's to free (AddressSanitizer would see a writer free them),
     * and the roomy one still holds the last part. */
    static const size_t lent_sizes[] = {4096, 16};
    for (size_t s = 0; s < sizeof lent_sizes / sizeof lent_sizes[0]; s++) {
        char *lent = malloc(lent_sizes[s]);
        assert_non_null(lent);
        troc_csv_writer *in_lent = NULL;
        assert_int_equal(troc_csv_writer_open_memory_in(TROC_CSV_WRITE_CRLF, lent, lent_sizes[s], &in_lent), 0);
        snprintf(path, sizeof path, "lent-%zu.csv", lent_sizes[s]);
        expect_kept_parts(dir.path, path, flags, in_lent, whole, whole_size);
        if (lent_sizes[s] == 4096) assert_memory_equal(lent, whole + 3, 8); /* after the byte-order mark */
        free(lent);
    }
    free(whole);
    temp_dir_remove(&dir);
}

/* troc_csv_write_row_fields() writes each row as the fields would be: rows
 * read with quotes, a field beginning with U+FEFF, empty fields, one
 * column. */
static void test_write_row_fields(void **state) {
    (void)state;
    static const char *const inputs[] = {
        "a,b,c\n1,2,3\n\"x,y\",\"\",z\n,,\n\xEF\xBB\xBFw,v,u\nq,\"r\"\"s\",t\n",
        "only\nx\n\"\"\ny\n",
    };
    temp_dir dir;
    temp_dir_create(&dir);
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        troc_csv *csv = read_ok(inputs[i]);
        troc_csv_writer *by_field = NULL, *by_row = NULL;
        assert_int_equal(troc_csv_writer_open_memory(0, &by_field), 0);
        assert_int_equal(troc_csv_writer_open_memory(0, &by_row), 0);
        for (size_t row = 0; row < troc_csv_row_count(csv); row++) {
            for (size_t column = 0; column < troc_csv_column_count(csv); column++) {
                troc_csv_field field = troc_csv_get(csv, row, column);
                troc_csv_write_field(by_field, field.text, field.length);
            }
            troc_csv_write_row_fields(by_row, csv, row);
            troc_csv_write_amount(by_field, 123);
            troc_csv_write_amount(by_row, 123);
            troc_csv_write_row_end(by_field);
            troc_csv_write_row_end(by_row);
        }
        size_t size_field = 0, size_row = 0;
        char *text_field = memory_text(dir.path, &by_field, 1, 0, &size_field);
        char *text_row = memory_text(dir.path, &by_row, 1, 0, &size_row);
        assert_int_equal(size_field, size_row);
        assert_memory_equal(text_field, text_row, size_field);
        free(text_field);
        free(text_row);
        troc_csv_free(csv);
    }
    temp_dir_remove(&dir);
}

/* Reading some columns only ----------------------------------------------- */

/* Rows written whole with troc_csv_write_row_fields(), each followed by an
 * amount, as troc clear writes RESULT. */
static char *rows_written(const char *directory, const troc_csv *csv, size_t *size_out) {
    troc_csv_writer *rows = NULL;
    assert_int_equal(troc_csv_writer_open_memory(0, &rows), 0);
    for (size_t row = 0; row < troc_csv_row_count(csv); row++) {
        troc_csv_write_row_fields(rows, csv, row);
        troc_csv_write_amount(rows, 123);
        troc_csv_write_row_end(rows);
    }
    return memory_text(directory, &rows, 1, 0, size_out);
}

/* b reads the same rows, lines and fields as a, where it keeps them, and
 * writes the same whole rows. */
static void assert_read_alike(const char *directory, const troc_csv *a, const troc_csv *b) {
    const size_t columns = troc_csv_column_count(a), rows = troc_csv_row_count(a);
    assert_int_equal(troc_csv_column_count(b), columns);
    assert_int_equal(troc_csv_row_count(b), rows);
    for (size_t column = 0; column < columns; column++) {
        if (!troc_csv_column_kept(b, column)) continue;
        for (size_t row = 0; row < rows; row++) {
            troc_csv_field fa = troc_csv_get(a, row, column), fb = troc_csv_get(b, row, column);
            assert_int_equal(fa.length, fb.length);
            assert_memory_equal(fa.text, fb.text, fa.length);
        }
    }
    for (size_t row = 0; row < rows; row++) assert_int_equal(troc_csv_row_line(a, row), troc_csv_row_line(b, row));
    assert_int_equal(troc_csv_header_line(a), troc_csv_header_line(b));
    size_t size_a = 0, size_b = 0;
    char *text_a = rows_written(directory, a, &size_a), *text_b = rows_written(directory, b, &size_b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(text_a, text_b, size_a);
    free(text_a);
    free(text_b);
}

/* Reads `text` whole and, in parts on four threads, naming the columns
 * debtor and amount (and one the file lacks): the second gets the same
 * rows, lines and kept fields (the named ones among them, whatever their
 * case), and writes the same whole rows; the same again once the second
 * keeps its rows only (a file that kept some columns only then reads them
 * all).  Returns how many columns it kept, or -1 for a refusal (the same
 * for both). */
static int read_columns_alike(const char *directory, const char *text) {
    static const char *const named[] = {"DEBTOR", "amount", "absent", NULL};
    const troc_csv_read_options all = {.thread_count = 1};
    const troc_csv_read_options some = {.thread_count = 4, .part_size_min = 7, .columns_read = named};
    troc_csv *a = NULL, *b = NULL;
    troc_csv_error error_a = {0}, error_b = {0};
    int rc_a = troc_csv_read_memory_with(text, strlen(text), &all, &a, &error_a);
    int rc_b = troc_csv_read_memory_with(text, strlen(text), &some, &b, &error_b);
    assert_int_equal(rc_a, rc_b);
    if (rc_a != 0) {
        assert_int_equal(error_a.line, error_b.line);
        assert_string_equal(error_a.message, error_b.message);
        return -1;
    }
    const size_t columns = troc_csv_column_count(a), rows = troc_csv_row_count(a);
    assert_int_equal(troc_csv_column_count(b), columns);
    assert_int_equal(troc_csv_row_count(b), rows);
    int kept = 0;
    for (size_t column = 0; column < columns; column++) {
        assert_true(troc_csv_column_kept(a, column));
        troc_csv_field name = troc_csv_header(b, column);
        bool named_column = (name.length == 6 && memcmp(name.text, "debtor", 6) == 0) ||
                            (name.length == 6 && memcmp(name.text, "amount", 6) == 0);
        if (column == 0 || column == columns - 1 || named_column) assert_true(troc_csv_column_kept(b, column));
        kept += troc_csv_column_kept(b, column);
    }
    assert_read_alike(directory, a, b);
    troc_csv_keep_rows_only(b);
    for (size_t column = 0; column < columns; column++) {
        if (kept < (int)columns) assert_true(troc_csv_column_kept(b, column));
    }
    assert_read_alike(directory, a, b);
    troc_csv_free(a);
    troc_csv_free(b);
    return kept;
}

/* Six columns, 300 rows, with `replaced` (a whole line) as row `at`. */
static char *six_columns(size_t at, const char *replaced) {
    size_t capacity = 64 + 300 * 64 + (replaced != NULL ? strlen(replaced) : 0);
    char *text = malloc(capacity);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, capacity, "id,debtor,creditor,amount,memo,due\n");
    for (size_t row = 0; row < 300; row++) {
        if (row == at && replaced != NULL) {
            used += (size_t)snprintf(text + used, capacity - used, "%s\n", replaced);
            continue;
        }
        used += (size_t)snprintf(text + used, capacity - used, "i%zu,f%zu,g%zu,%zu.50,m\xC3\xA9mo %zu,2026-12-%02zu\n",
                                 row, row % 7, row % 5, row + 1, row, row % 28 + 1);
    }
    text[used] = '\0';
    return text;
}

static void test_columns_read(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    /* A plain file: the named columns, the first and the last; with empty
     * fields, and with CRLF line ends. */
    char *text = six_columns(0, NULL);
    assert_int_equal(read_columns_alike(dir.path, text), 4);
    free(text);
    text = six_columns(100, ",f1,,2.00,,");
    assert_int_equal(read_columns_alike(dir.path, text), 4);
    free(text);
    assert_int_equal(read_columns_alike(dir.path, "id,debtor,amount\r\n1,a,2.00\r\n\r\n3,,4\r\n,x,\r\n"), 3);
    assert_int_equal(read_columns_alike(dir.path, "\n\nid,debtor,amount\n\n1,a,2.00\n\n\n3,,4\n,x,"), 3);
    /* A quote, or a U+FEFF (which the writer quotes), anywhere after the
     * header: every column. */
    text = six_columns(250, "q,f1,g1,2.00,\"a, b\",2026-12-01");
    assert_int_equal(read_columns_alike(dir.path, text), 6);
    free(text);
    text = six_columns(250, "q,f1,g1,2.00,\xEF\xBB\xBFmemo,2026-12-01");
    assert_int_equal(read_columns_alike(dir.path, text), 6);
    free(text);
    text = six_columns(250, "q,f1,g1,2.00,m\xEF\xBC\x8C\xEF\xBB\xBF,2026-12-01"); /* U+FF0C, then U+FEFF */
    assert_int_equal(read_columns_alike(dir.path, text), 6);
    free(text);
    /* Other characters of U+F000 to U+FFFF (bytes EF ..) are not U+FEFF. */
    text = six_columns(250, "q,f1,g1,2.00,m\xEF\xBC\x8C\xEF\xBF\xBD,2026-12-01"); /* U+FF0C, U+FFFD */
    assert_int_equal(read_columns_alike(dir.path, text), 4);
    free(text);
    /* The same refusals, far into the file. */
    static const char *const broken[] = {"q,f1,g1,2.00,memo", "q,f1,g1,2.00,m\xC3,d", "q,f1,g1,2.00,m\"x,d"};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        text = six_columns(280, broken[i]);
        assert_int_equal(read_columns_alike(dir.path, text), -1);
        free(text);
    }
    /* A header alone, and a file of one column. */
    assert_int_equal(read_columns_alike(dir.path, "id,debtor,creditor,amount,memo\n"), 4);
    assert_int_equal(read_columns_alike(dir.path, "memo\nx\ny\n"), 1);
    temp_dir_remove(&dir);
}

/* Replaces the file at `path` with `text`. */
static void write_text_file(const char *path, const char *text) {
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

/* Reads `path`, gives its bytes back, then calls change() and expects the
 * reload to answer `expected`. */
static void expect_reload(const char *path, void (*change)(const char *path), int expected) {
    troc_csv *csv = NULL;
    troc_csv_error error = {0};
    assert_int_equal(troc_csv_read_file_with(path, NULL, &csv, &error), 0);
    assert_true(troc_csv_release_data(csv));
    assert_false(troc_csv_release_data(csv)); /* nothing left to give back */
    assert_int_equal(troc_csv_row_count(csv), 2);
    if (change != NULL) change(path);
    assert_int_equal(troc_csv_reload_data(csv, path, 2, &error), expected);
    if (expected == -ESTALE) assert_string_equal(error.message, "the file changed while troc was working on it");
    if (expected == 0) {
        assert_header(csv, 3, "amount");
        assert_field(csv, 1, 3, "2.50");
        assert_int_equal(troc_csv_row_line(csv, 1), 3);
        assert_int_equal(troc_csv_reload_data(csv, path, 2, &error), 0); /* not released: nothing to do */
    }
    troc_csv_free(csv);
}

static const char reload_text[] = "id,debtor,creditor,amount\n1,a,b,1.00\n2,b,a,2.50\n";

/* The same size and contents, then its modification time set back:
 * only its status change time tells (coarse clocks: a tick later). */
static void rewrite_same(const char *path) {
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    usleep(20000);
    write_text_file(path, reload_text);
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void rewrite_one_byte(const char *path) {
    char text[sizeof reload_text];
    memcpy(text, reload_text, sizeof text);
    text[sizeof text - 3] = '1'; /* 2.50 -> 2.51 */
    write_text_file(path, text);
    const struct timespec times[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void grow(const char *path) {
    FILE *file = fopen(path, "a");
    assert_non_null(file);
    assert_int_equal(fputs("3,a,b,1.00\n", file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

/* Another file of the same bytes renamed into its place. */
static void replace(const char *path) {
    char other[600];
    snprintf(other, sizeof other, "%s.new", path);
    write_text_file(other, reload_text);
    assert_int_equal(rename(other, path), 0);
}

static void remove_file(const char *path) {
    assert_int_equal(unlink(path), 0);
}

/* A file's bytes given back and read again are the same; a file changed
 * in between in any way is refused; a file holding a quote (its fields
 * unescaped in place) or read from memory keeps its bytes. */
static void test_release_and_reload(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char path[128];
    snprintf(path, sizeof path, "%s/input.csv", dir.path);
    write_text_file(path, reload_text);
    expect_reload(path, NULL, 0);
    void (*changes[])(const char *) = {rewrite_same, rewrite_one_byte, grow, replace};
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        write_text_file(path, reload_text);
        expect_reload(path, changes[i], -ESTALE);
    }
    write_text_file(path, reload_text);
    expect_reload(path, remove_file, -ENOENT);
    /* A quote anywhere, the header included: the bytes stay. */
    static const char *const quoted[] = {"id,debtor,creditor,\"amount\"\n1,a,b,1.00\n",
                                         "id,debtor,creditor,amount\n1,\"a\",b,1.00\n"};
    for (size_t i = 0; i < 2; i++) {
        write_text_file(path, quoted[i]);
        troc_csv *csv = NULL;
        troc_csv_error error;
        assert_int_equal(troc_csv_read_file_with(path, NULL, &csv, &error), 0);
        assert_false(troc_csv_release_data(csv));
        assert_field(csv, 0, 3, "1.00");
        troc_csv_free(csv);
    }
    unlink(path);
    troc_csv *memory = NULL;
    troc_csv_error error;
    assert_int_equal(troc_csv_read_memory(reload_text, sizeof reload_text - 1, &memory, &error), 0);
    assert_false(troc_csv_release_data(memory));
    troc_csv_free(memory);
    temp_dir_remove(&dir);
}

static void test_writer_replaces_target_only_on_commit(void **state) {
    (void)state;
    temp_dir dir;
    temp_dir_create(&dir);
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir.path);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old\n", 4), 4);
    close(fd);
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file(path, 0, &writer), 0);
    troc_csv_write_text(writer, "new");
    troc_csv_write_row_end(writer);
    assert_int_equal(troc_csv_writer_finish(writer), 0);
    size_t size = 0;
    assert_string_equal(slurp(path, &size), "old\n");
    assert_int_equal(temp_dir_count(&dir), 2); /* the target and the temporary file */
    assert_int_equal(troc_csv_writer_commit(writer), 0);
    assert_string_equal(slurp(path, &size), "new\n");
    assert_int_equal(temp_dir_count(&dir), 1);
    /* Aborted: the target keeps its content, nothing else is left. */
    assert_int_equal(troc_csv_writer_open_file(path, 0, &writer), 0);
    troc_csv_write_text(writer, "lost");
    troc_csv_write_row_end(writer);
    troc_csv_writer_abort(writer);
    assert_string_equal(slurp(path, &size), "new\n");
    assert_int_equal(temp_dir_count(&dir), 1);
    temp_dir_remove(&dir);
}

static void test_writer_reports_errors(void **state) {
    (void)state;
    troc_csv_writer *writer = NULL;
    assert_int_equal(troc_csv_writer_open_file("/nonexistent/troc/out.csv", 0, &writer), -ENOENT);
    assert_null(writer);
    assert_int_equal(troc_csv_writer_open_file("/tmp/", 0, &writer), -EISDIR);
    int fd = open("/dev/full", O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(troc_csv_writer_open_fd(fd, 0, &writer), 0);
    troc_csv_write_text(writer, "x");
    troc_csv_write_row_end(writer);
    assert_int_equal(troc_csv_writer_finish(writer), -ENOSPC);
    assert_int_equal(troc_csv_writer_commit(writer), -ENOSPC);
    close(fd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_lf),
        cmocka_unit_test(test_crlf_and_no_final_line_end),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_empty_fields_and_spaces),
        cmocka_unit_test(test_bom_dropped),
        cmocka_unit_test(test_blank_lines_skipped),
        cmocka_unit_test(test_single_column_and_header_only),
        cmocka_unit_test(test_utf8_text),
        cmocka_unit_test(test_column_find),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_read_fd_of_a_pipe),
        cmocka_unit_test(test_refuses_empty),
        cmocka_unit_test(test_refuses_unterminated_quote),
        cmocka_unit_test(test_refuses_stray_quotes),
        cmocka_unit_test(test_refuses_bare_carriage_return),
        cmocka_unit_test(test_refuses_short_and_long_rows),
        cmocka_unit_test(test_refuses_bad_utf8),
        cmocka_unit_test(test_refuses_control_characters),
        cmocka_unit_test(test_every_byte_in_a_long_field),
        cmocka_unit_test(test_refuses_past_limits),
        cmocka_unit_test(test_refuses_too_many_rows),
        cmocka_unit_test(test_refuses_unreadable_file),
        cmocka_unit_test(test_writer_quotes_when_needed),
        cmocka_unit_test(test_writer_crlf_bom_and_round_trip),
        cmocka_unit_test(test_writer_keeps_leading_feff),
        cmocka_unit_test(test_writer_replaces_target_only_on_commit),
        cmocka_unit_test(test_writer_reports_errors),
        cmocka_unit_test(test_interrupted_writer_leaves_no_temporary),
        cmocka_unit_test(test_writer_follows_links_keeps_modes),
        cmocka_unit_test(test_parts_agree),
        cmocka_unit_test(test_plain_records_read_as_split),
        cmocka_unit_test(test_read_file_in_parts),
        cmocka_unit_test(test_writer_memory_parts),
        cmocka_unit_test(test_write_row_fields),
        cmocka_unit_test(test_columns_read),
        cmocka_unit_test(test_release_and_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
