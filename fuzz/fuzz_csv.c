/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness of the CSV reader.
 *
 * Any bytes are either refused with a message, or read into fields that are
 * well-formed UTF-8 without control characters (line breaks aside), and
 * that survive a round trip: written by the writer and read again, they
 * come back field for field.  An assertion failure is a finding.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Writes every record of csv to a memory file and reads it back. */
static troc_csv *round_trip(const troc_csv *csv) {
    int fd = memfd_create("fuzz_csv", 0);
    assert(fd >= 0);
    troc_csv_writer *writer = NULL;
    int rc = troc_csv_writer_open_fd(fd, troc_csv_uses_crlf(csv) ? TROC_CSV_WRITE_CRLF : 0u, &writer);
    assert(rc == 0);
    size_t columns = troc_csv_column_count(csv);
    for (size_t record = 0; record <= troc_csv_row_count(csv); record++) {
        for (size_t column = 0; column < columns; column++) {
            troc_csv_field field = field_of(csv, record, column);
            troc_csv_write_field(writer, field.text, field.length);
        }
        troc_csv_write_row_end(writer);
    }
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    troc_csv *csv = NULL;
    troc_csv_error error = {0};
    int rc = troc_csv_read_memory((const char *)data, size, &csv, &error);
    if (rc != 0) {
        assert(csv == NULL && error.message[0] != '\0');
        return 0;
    }
    size_t columns = troc_csv_column_count(csv), rows = troc_csv_row_count(csv);
    for (size_t record = 0; record <= rows; record++) {
        for (size_t column = 0; column < columns; column++) assert_text(field_of(csv, record, column));
    }
    troc_csv *back = round_trip(csv);
    assert(troc_csv_column_count(back) == columns && troc_csv_row_count(back) == rows);
    for (size_t record = 0; record <= rows; record++) {
        for (size_t column = 0; column < columns; column++) {
            troc_csv_field a = field_of(csv, record, column), b = field_of(back, record, column);
            assert(a.length == b.length && memcmp(a.text, b.text, a.length) == 0);
        }
    }
    troc_csv_free(back);
    troc_csv_free(csv);
    return 0;
}
