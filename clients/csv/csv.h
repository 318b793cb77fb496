/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 4180 CSV files: a reader that holds a whole file in memory and a writer
 * that replaces its target only once it is complete.
 *
 * Reading.  A file is UTF-8 text (a leading byte-order mark is dropped), its
 * first record is the header, and every record has as many fields as the
 * header.  Records end with LF or CRLF; a field holding a comma, a quote or a
 * line break is quoted, with each quote doubled.  Lines holding nothing are
 * skipped.  Every field must be valid UTF-8 without control characters other
 * than tab (and line breaks inside quotes).  Anything else is refused with the
 * physical line number (1-based) at which the offending record starts.
 *
 * A read file is immutable: fields are (pointer, length) views into the
 * file's bytes, not NUL-terminated, valid until troc_csv_free().
 *
 * Writing.  The writer quotes a field only when it must (it holds a comma, a
 * quote, a line break, begins with U+FEFF, or is the only, empty field of its
 * row) and writes a
 * file under a temporary name in the target's directory, renamed over the
 * target by troc_csv_writer_commit(): a reader never sees a partial file.
 */
#ifndef TROC_CSV_H
#define TROC_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for an error message, the line number apart. */
#define TROC_CSV_MESSAGE_SIZE 256

/* Why a file was refused.  `line` is the physical line (1-based) where the
 * offending record starts, or 0 when the problem concerns the whole file
 * (cannot open it, empty, too large). */
typedef struct troc_csv_error {
    uint32_t line;
    char message[TROC_CSV_MESSAGE_SIZE];
} troc_csv_error;

/* A view of one field's text (quotes removed, doubled quotes made single). */
typedef struct troc_csv_field {
    const char *text; /* not NUL-terminated */
    size_t length;    /* bytes */
} troc_csv_field;

typedef struct troc_csv troc_csv;

/* How a file is read.  A large file without quotes is cut at line ends into
 * parts read at the same time; the result is the same whatever the parts
 * and threads, errors included (the first one in the file is reported). */
typedef struct troc_csv_read_options {
    unsigned thread_count; /* threads at most; 0: troc_tasks_default_threads() */
    size_t part_size_min;  /* bytes of a part at least; 0: the default (1 MiB) */
    /* The columns troc_csv_get() will read, by name as troc_csv_column_find()
     * matches them, NULL-terminated; NULL: all.  Every field is read and
     * checked all the same, and troc_csv_write_row_fields() copies every
     * column; what is spared is the position of the others' fields, 8 bytes
     * a field, and each row's line, 4 bytes (counted when asked instead:
     * troc_csv_row_line()), when every row can be copied whole (the file
     * holds no quote and no U+FEFF after its header: troc_csv_column_kept()
     * tells). */
    const char *const *columns_read;
} troc_csv_read_options;

/* Reads and checks a whole file.  Returns 0 and *csv_out, or fills *error and
 * returns -errno (cannot read), -ENOMEM, TROC_ELIMIT (a bound of limits.h
 * exceeded), TROC_EUTF8 (bad UTF-8 or a control character) or TROC_ECSV
 * (anything else: empty file, unterminated quote, a row with too few or too
 * many fields...). */
int troc_csv_read_file(const char *path, troc_csv **csv_out, troc_csv_error *error);

/* The same from `size` bytes in memory (copied). */
int troc_csv_read_memory(const char *data, size_t size, troc_csv **csv_out, troc_csv_error *error);

/* The same with options (NULL: the defaults). */
int troc_csv_read_file_with(const char *path, const troc_csv_read_options *options, troc_csv **csv_out,
                            troc_csv_error *error);
int troc_csv_read_memory_with(const char *data, size_t size, const troc_csv_read_options *options,
                              troc_csv **csv_out, troc_csv_error *error);
/* The same from an open descriptor (a pipe, standard input), read to its
 * end; the descriptor stays open. */
int troc_csv_read_fd_with(int fd, const troc_csv_read_options *options, troc_csv **csv_out, troc_csv_error *error);

void troc_csv_free(troc_csv *csv);

size_t troc_csv_column_count(const troc_csv *csv);

/* Data rows, the header excluded. */
size_t troc_csv_row_count(const troc_csv *csv);

/* Physical line (1-based) of the header: 1 unless blank lines precede it. */
uint32_t troc_csv_header_line(const troc_csv *csv);

/* The name of a column as written in the header. */
troc_csv_field troc_csv_header(const troc_csv *csv, size_t column);

/* For a message about a header read as one column that holds semicolons
 * or tabs: what the file most likely is (another separator); else NULL. */
const char *troc_csv_separator_hint(const troc_csv *csv);

/* Field `column` of data row `row` (0-based, the header excluded), of a
 * column troc_csv_column_kept(). */
troc_csv_field troc_csv_get(const troc_csv *csv, size_t row, size_t column);

/* Whether troc_csv_get() can read `column`: true unless the reader did not
 * name it in columns_read and did not need to keep it. */
bool troc_csv_column_kept(const troc_csv *csv, size_t column);

/* For a reader done with most of the fields: when the file's body holds no
 * quote and no U+FEFF (every row can be copied whole), keeps only where
 * each row starts and ends, 8 bytes a row instead of 8 a field kept, and
 * gives the rest back.  troc_csv_get() then reads any column by scanning
 * the row for it; nothing else changes.  Otherwise does nothing. */
void troc_csv_keep_rows_only(troc_csv *csv);

/* For a reader done with the fields for a while: gives the file's bytes
 * back, when they can be read again as they were (a regular file holding
 * no quote, so that no field was unescaped in place), and returns whether
 * it did.  Until troc_csv_reload_data(), only the counts (columns, rows)
 * and the header's line may be asked: no field, row, column name or row
 * line. */
bool troc_csv_release_data(troc_csv *csv);

/* Reads the bytes troc_csv_release_data() gave back from `path` again, on
 * up to thread_count threads, and checks that they are the same: the same
 * file (device and inode), of the same size, neither written to nor its
 * status changed since it was first read, before and after this reading.
 * Returns 0 (also when nothing was released), -errno, or -ESTALE with
 * "the file changed while troc was working on it" in *error. */
int troc_csv_reload_data(troc_csv *csv, const char *path, unsigned thread_count, troc_csv_error *error);

/* Physical line (1-based) where data row `row` starts.  Read with
 * columns_read from a file whose rows can all be copied whole, the line is
 * counted (the line feeds before the row), not stored: slow, for
 * messages. */
uint32_t troc_csv_row_line(const troc_csv *csv, size_t row);

/* Finds the column named `name`, ignoring ASCII case and spaces around the
 * header's text.  Returns 0 and the index, TROC_ENOT_FOUND, or TROC_ECSV when
 * two columns bear that name. */
int troc_csv_column_find(const troc_csv *csv, const char *name, size_t *column_out);

/* Whether the file began with a byte-order mark, and whether its header ended
 * with CRLF: a writer may follow the same conventions. */
bool troc_csv_has_bom(const troc_csv *csv);
bool troc_csv_uses_crlf(const troc_csv *csv);

/* Writer ---------------------------------------------------------------- */

/* Flags of troc_csv_writer_open_*(). */
#define TROC_CSV_WRITE_CRLF 1u /* end rows with CRLF rather than LF */
#define TROC_CSV_WRITE_BOM 2u  /* begin the file with a UTF-8 byte-order mark */

typedef struct troc_csv_writer troc_csv_writer;

/* Creates a temporary file next to `path` (same directory, so that the final
 * rename is atomic; next to the file a symbolic link names).  Returns 0,
 * -errno, -ENOMEM, -EISDIR, -EINVAL when `path` names something else than a
 * regular file (a device, a pipe) and -ENOENT for a link to nothing. */
int troc_csv_writer_open_file(const char *path, unsigned flags, troc_csv_writer **writer_out);

/* Writes to an already open descriptor (standard output), which finish
 * flushes and leaves open. */
int troc_csv_writer_open_fd(int fd, unsigned flags, troc_csv_writer **writer_out);

/* Collects rows in memory, for a part of a file formatted beside the
 * others: troc_csv_writer_append() then adds them to the real writer in
 * order.  Returns 0 or -ENOMEM. */
int troc_csv_writer_open_memory(unsigned flags, troc_csv_writer **writer_out);

/* The same, collecting into `buffer` (`capacity` bytes, lent: the caller
 * frees it once the writer is gone) until more is needed, then into a
 * buffer of its own.  Parts formatted side by side can then share one
 * block of huge pages instead of each taking whole ones (base/large.h). */
int troc_csv_writer_open_memory_in(unsigned flags, char *buffer, size_t capacity, troc_csv_writer **writer_out);

/* Bytes of the CSV's data as read: the file's size. */
size_t troc_csv_data_size(const troc_csv *csv);

/* Appends what a memory writer collected (its rows ended, as the writer's)
 * and frees it; its error, if any, becomes the writer's. */
void troc_csv_writer_append(troc_csv_writer *writer, troc_csv_writer *memory);

/* The same, but the memory writer is emptied, not freed: it collects its
 * next part in the buffer it has (free it with troc_csv_writer_abort()).
 * Parts formatted wave after wave then take no new buffers: taken and
 * freed again each time, glibc's heap grew by some 40 MB on a RESULT of
 * 1,000,000 rows, as its free space failed to serve the huge-page-aligned
 * buffers. */
void troc_csv_writer_append_kept(troc_csv_writer *writer, troc_csv_writer *memory);

/* Appends a field to the current row.  Write errors are kept and reported
 * by troc_csv_writer_finish(). */
void troc_csv_write_field(troc_csv_writer *writer, const char *text, size_t length);

/* Appends a NUL-terminated text, or an amount with two fractional digits. */
void troc_csv_write_text(troc_csv_writer *writer, const char *text);
void troc_csv_write_amount(troc_csv_writer *writer, int64_t cents);

/* Appends every field of data row `row` of csv to the current row, as
 * troc_csv_write_field() would one by one: a row read without quotes is
 * copied in one piece. */
void troc_csv_write_row_fields(troc_csv_writer *writer, const troc_csv *csv, size_t row);

/* Ends the current row (it must hold at least one field). */
void troc_csv_write_row_end(troc_csv_writer *writer);

/* Flushes, syncs and closes the temporary file: after 0 the file is complete
 * under its temporary name and only the rename remains.  Returns the first
 * write error (-errno) otherwise.  Every writer is finished, then committed
 * or aborted. */
int troc_csv_writer_finish(troc_csv_writer *writer);

/* Renames a finished file over its target and frees the writer, in every
 * case: on failure (-errno) the temporary file is removed. */
int troc_csv_writer_commit(troc_csv_writer *writer);

/* Removes the temporary file (if any) and frees the writer; NULL is
 * accepted. */
void troc_csv_writer_abort(troc_csv_writer *writer);

/* Installs a handler of SIGINT, SIGTERM and SIGHUP (those not ignored) that
 * removes the temporary files of the writers open at that moment, then
 * lets the signal take its default course: an interrupted command leaves
 * neither a partial file nor a temporary one.  Returns 0 or -errno. */
int troc_csv_remove_temporaries_on_signals(void);

#endif /* TROC_CSV_H */
