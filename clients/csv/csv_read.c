/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CSV reader: RFC 4180 with UTF-8 text, in one pass over a file held
 * whole in memory.
 *
 * The file is read in one go into one buffer (a regular file of several
 * megabytes in parts, on the threads that parse it below).  Each field
 * becomes a span (32-bit offset and length) into that buffer; a quoted
 * field is unescaped in place (its text only ever shrinks, so it never
 * overtakes the bytes still to be read).  The spans of all records sit in one array sized before the
 * rows are read, from an upper bound on the number of records, so reading
 * allocates three blocks whatever the file holds: the bytes, the spans and
 * the line numbers.  A row read without quotes lies in the buffer as the
 * writer would write it, and troc_csv_write_row_fields() copies it whole.
 *
 * A reader that names the columns it will read (columns_read) is spared the
 * spans of the others, 8 bytes a field, when the file allows it: when its
 * body holds no quote and no U+FEFF, every row is copied whole, and all a
 * row needs beyond the named fields is where it starts and ends, which the
 * spans of its first and last fields tell.  Each record then keeps the
 * spans of those columns only, in column order (csv->slot maps a column to
 * its place in the record).  Once its reader has done with most fields,
 * such a file can keep one span per row, the whole row
 * (troc_csv_keep_rows_only()): a field is then found again by scanning its
 * row for commas, which only plain rows allow.
 *
 * A file read from a path that holds no quote (so that no field was
 * unescaped in place) can give its bytes back while its reader has no use
 * for them (troc_csv_release_data()) and read them again later
 * (troc_csv_reload_data()): the file must then be the one read first,
 * unchanged (device, inode, size, modification and status change times,
 * before and after the second reading), or the reload is refused.
 *
 * The scanner classifies each byte with a 256-entry table.  Plain bytes
 * (printable ASCII and tab) are skipped, eight at a time while all eight
 * are printable ASCII other than a comma or a quote (tested on a 64-bit
 * word at once); a field holding any other byte is checked afterwards for
 * control characters and well-formed UTF-8, so that the check costs
 * nothing on ASCII data.  The common record, printable ASCII fields without
 * quotes ending with a line end, is read first by parse_plain_record(),
 * which finds each field's end in those words and nothing else; on
 * anything it does not expect it keeps nothing, and the general reader
 * reads the record from its start.
 *
 * A large file is read in parts at the same time: the body (what follows
 * the header) is cut just after line feeds into up to PARTS_MAX parts; each
 * part's line feeds are counted first (at the same time), which numbers its
 * first line and bounds its records, so that every part writes its records
 * straight into its own slots of the one span array; the parts are then
 * moved together and the first refusal in file order is kept.  A line feed
 * inside a quoted field is not the end of a record, so a body holding a
 * quote anywhere is read as one part.
 *
 * Rules beyond RFC 4180, chosen for files exported by spreadsheets and
 * accounting tools: a UTF-8 byte-order mark at the start is dropped; lines
 * may end with LF or CRLF (a lone CR is refused); lines holding nothing are
 * skipped; a quote inside an unquoted field, or text after a closing quote,
 * is refused rather than guessed at.  Every refusal names the physical line
 * where the record starts.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/large.h"
#include "base/limits.h"
#include "base/text.h"
#include "csv.h"
#include "csv_int.h"
#include "tasks.h"

/* Bytes read at once from a file whose size is not known (a pipe). */
#define READ_CHUNK_SIZE (1024u * 1024u)

/* A regular file of more than one such part is read in parts of this size
 * on the reading threads: copying it costs a page fault per page of fresh
 * memory, and on a virtual machine whose host takes back freed memory
 * those faults are most of the reading (docs/benchmarks.md). */
#define READ_PART_SIZE (4u * 1024u * 1024u)

/* Bytes of body a part holds at least: below this, one thread reads the
 * whole file faster than two start.  Files are cut into at most PARTS_MAX
 * parts, more than the threads, so that a thread the rest of the machine
 * slows down takes fewer. */
#define PART_SIZE_MIN (1024u * 1024u)
#define PARTS_MAX 16

/* Bytes of a column name quoted in an error message. */
#define MESSAGE_NAME_LENGTH_MAX 40

typedef struct span {
    uint32_t offset; /* first byte in troc_csv.data */
    uint32_t length; /* bytes */
} span;

/* What tells a file from another, or from itself changed: written to, its
 * status changes (ctime), which no one can set back. */
typedef struct file_identity {
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec modified, changed;
} file_identity;

/* csv->slot of a column whose spans are not kept. */
#define SLOT_NONE UINT16_MAX

struct troc_csv {
    char *data;          /* the file's bytes, quoted fields unescaped in place */
    span header[TROC_CSV_COLUMNS_MAX]; /* the header's fields, every one (troc_csv_header()) */
    uint32_t header_line; /* physical line of the header */
    size_t size;         /* bytes in data */
    size_t column_count; /* fields of every record, from the header */
    size_t row_count;    /* data rows, header excluded */
    size_t stride;       /* spans kept per record: column_count, or fewer when every row is plain */
    uint16_t slot[TROC_CSV_COLUMNS_MAX]; /* per column: its span's place in a record, or SLOT_NONE */
    span *spans;         /* (row_count + 1) * stride fields, header first */
    uint32_t *lines;     /* row_count + 1 physical lines where records start, header first; NULL
                          * when lines_counted or rows_only */
    bool rows_plain;     /* the body holds no quote and no U+FEFF: every row can be copied whole */
    bool lines_counted;  /* rows_plain, and the reader named its columns: no lines kept (row_line()) */
    bool quoted;         /* the file holds a quote: fields may have been unescaped in place */
    bool rows_only;      /* spans hold one span per record, the whole row (troc_csv_keep_rows_only()) */
    bool bom;            /* the file began with a UTF-8 byte-order mark */
    bool crlf;           /* the header ended with CRLF */
    /* Read from a regular file and held as read (no quote anywhere, so no
     * field unescaped in place): troc_csv_release_data() may give the bytes
     * back, and troc_csv_reload_data() read them again from `file`. */
    bool reloadable;
    file_identity file;
};

enum byte_class { PLAIN, COMMA, QUOTE, LINE_FEED, CARRIAGE_RETURN, SUSPECT };

/* A part: a stretch of the body (the bytes after the header) read by one
 * thread, whole records from just after a line feed to just after another. */
typedef struct chunk {
    size_t begin, end;    /* bytes of csv->data */
    size_t line_feeds;    /* in [begin, end) */
    uint32_t first_line;  /* physical line of data[begin] */
    size_t first_record;  /* slot of its first record in spans and lines */
    size_t capacity;      /* records it has slots for */
    size_t row_count;     /* records read */
    int rc;               /* 0, or why the part was refused */
    troc_csv_error error; /* the refusal */
} chunk;

typedef struct parser {
    char *data;               /* the buffer being read (and unescaped) */
    size_t size;              /* bytes in data */
    size_t at;                /* next byte to read */
    uint32_t line;            /* physical line of data[at], 1-based */
    bool crlf;                /* the last record ended with CRLF */
    const span *header;       /* column names once the header is read, else NULL */
    size_t column_count;      /* entries of header */
    troc_csv_error *error;    /* where a refusal is described */
    uint8_t classes[256];     /* enum byte_class of each byte value */
} parser;

static int fail(parser *p, int code, uint32_t line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(parser *p, int code, uint32_t line, const char *format, ...) {
    assert(code < 0);
    p->error->line = line;
    va_list args;
    va_start(args, format);
    vsnprintf(p->error->message, sizeof p->error->message, format, args);
    va_end(args);
    return code;
}

static void parser_init(parser *p, char *data, size_t size, troc_csv_error *error) {
    memset(p, 0, sizeof *p);
    p->data = data;
    p->size = size;
    p->line = 1;
    p->error = error;
    for (unsigned c = 0; c < 256; c++) {
        bool plain = (c >= 0x20 && c < 0x7F) || c == '\t';
        p->classes[c] = plain ? PLAIN : SUSPECT;
    }
    p->classes[','] = COMMA;
    p->classes['"'] = QUOTE;
    p->classes['\n'] = LINE_FEED;
    p->classes['\r'] = CARRIAGE_RETURN;
}

/* What a one-column header holding semicolons or tabs most likely means:
 * the file uses another separator.  NULL otherwise. */
static const char *separator_hint_of(const char *header, size_t length, size_t column_count) {
    if (column_count != 1) return NULL;
    if (memchr(header, ';', length) != NULL) {
        return "columns are separated by commas; this header seems to use semicolons";
    }
    if (memchr(header, '\t', length) != NULL) return "columns are separated by commas; this header seems to use tabs";
    return NULL;
}

const char *troc_csv_separator_hint(const troc_csv *csv) {
    troc_csv_field header = troc_csv_header(csv, 0);
    return separator_hint_of(header.text, header.length, troc_csv_column_count(csv));
}

/* "field 3" or "field 3 (memo)" for messages, naming the column once the
 * header is known; the name is cut at a character boundary. */
static const char *field_name(const parser *p, size_t column, char *buffer, size_t size) {
    if (p->header == NULL || column >= p->column_count) {
        snprintf(buffer, size, "field %zu", column + 1);
        return buffer;
    }
    const char *name = p->data + p->header[column].offset;
    size_t length = p->header[column].length;
    if (length > MESSAGE_NAME_LENGTH_MAX) {
        length = MESSAGE_NAME_LENGTH_MAX;
        while (length > 0 && ((unsigned char)name[length] & 0xC0) == 0x80) length--;
    }
    snprintf(buffer, size, "field %zu (%.*s)", column + 1, (int)length, name);
    return buffer;
}

/* A field holding a byte other than printable ASCII or tab: refuses control
 * characters (line breaks are allowed, they can only come from a quoted
 * field) and ill-formed UTF-8, checked between line breaks.  A C1 control
 * (U+0080 to U+009F, always encoded C2 80 to C2 9F) is valid UTF-8 and is
 * named as the control character it is: calling it invalid UTF-8 would send
 * the reader to re-save a file that is UTF-8 already.  Such a character
 * mostly comes from Windows-1252 text (0x85 is an ellipsis there) converted
 * as if it were Latin-1. */
static int check_text(parser *p, uint32_t line, size_t column, const char *text, size_t length) {
    char name[MESSAGE_NAME_LENGTH_MAX + 32];
    size_t start = 0;
    for (size_t i = 0; i <= length; i++) {
        unsigned char c = i < length ? (unsigned char)text[i] : '\n';
        bool line_break = c == '\n' || c == '\r';
        if (c == 0) {
            return fail(p, TROC_EUTF8, line, "%s holds a NUL byte (a UTF-16 file? save it as UTF-8)",
                        field_name(p, column, name, sizeof name));
        }
        if ((c < 0x20 && c != '\t' && !line_break) || c == 0x7F) {
            return fail(p, TROC_EUTF8, line, "%s holds the control character 0x%02X",
                        field_name(p, column, name, sizeof name), c);
        }
        unsigned char next = i + 1 < length ? (unsigned char)text[i + 1] : 0;
        if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
            return fail(p, TROC_EUTF8, line,
                        "%s holds the control character U+%04X (C1): remove it, or, if the file was converted "
                        "from Windows-1252 as if it were Latin-1, convert the original again from Windows-1252",
                        field_name(p, column, name, sizeof name), (unsigned)next);
        }
        if (!line_break) continue;
        if (!troc_text_valid(text + start, i - start)) {
            return fail(p, TROC_EUTF8, line, "%s is not valid UTF-8 text (save the file as UTF-8)",
                        field_name(p, column, name, sizeof name));
        }
        start = i + 1;
    }
    return 0;
}

static int finish_field(parser *p, uint32_t line, size_t column, size_t start, size_t length, bool suspect,
                        span *field) {
    assert(start + length <= p->size);
    if (length > TROC_CSV_FIELD_LENGTH_MAX) {
        char name[MESSAGE_NAME_LENGTH_MAX + 32];
        return fail(p, TROC_ELIMIT, line, "%s is longer than %d bytes", field_name(p, column, name, sizeof name),
                    TROC_CSV_FIELD_LENGTH_MAX);
    }
    if (suspect) {
        int rc = check_text(p, line, column, p->data + start, length);
        if (rc != 0) return rc;
    }
    field->offset = (uint32_t)start;
    field->length = (uint32_t)length;
    return 0;
}

/* The high bit set in each byte of x that is not plain printable ASCII
 * (0x20 to 0x7E) other than a comma or a quote, a field's text the
 * scanner may skip whole (tab is plain too, but left to the byte by byte
 * loop); 0 when all eight are.  Exact for the lowest byte flagged (in
 * memory order), not always for those after it. */
static inline uint64_t special_bytes(uint64_t x) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    /* With no byte at 0x80 or above, (v - ones) & ~v & highs is nonzero
     * exactly when a byte of v is zero, and (x - 0x20 ones) & ~x & highs
     * when a byte of x is below 0x20; a borrow runs only past a byte
     * already flagged. */
    const uint64_t comma = x ^ (ones * ','), quote = x ^ (ones * '"'), rubout = x ^ (ones * 0x7F);
    const uint64_t special = ((x - ones * 0x20) & ~x) | ((comma - ones) & ~comma) | ((quote - ones) & ~quote) |
                             ((rubout - ones) & ~rubout);
    return (x | special) & highs;
}

static inline bool block_plain(uint64_t x) {
    return special_bytes(x) == 0;
}

/* The hot loop of the reader: locals rather than p's fields, which the
 * compiler would otherwise store back at every byte.  Runs of plain bytes
 * are skipped eight at a time. */
static int scan_unquoted(parser *p, uint32_t line, size_t column, span *field) {
    const char *data = p->data;
    const uint8_t *classes = p->classes;
    size_t start = p->at, at = p->at, size = p->size;
    bool suspect = false;
    while (size - at >= 8) {
        uint64_t block;
        memcpy(&block, data + at, sizeof block);
        if (!block_plain(block)) break;
        at += 8;
    }
    while (at < size) {
        uint8_t class = classes[(unsigned char)data[at]];
        if (class == SUSPECT) {
            suspect = true;
        } else if (class != PLAIN) {
            break;
        }
        at++;
    }
    p->at = at;
    if (p->at < p->size && p->data[p->at] == '"') {
        char name[MESSAGE_NAME_LENGTH_MAX + 32];
        return fail(p, TROC_ECSV, line,
                    "%s holds a quote but does not start with one (quote the whole field and double each quote "
                    "inside it)",
                    field_name(p, column, name, sizeof name));
    }
    return finish_field(p, line, column, start, p->at - start, suspect, field);
}

/* A field that starts with a quote: copies its text down over the quotes
 * (a doubled quote becomes one) and counts the line breaks it holds. */
static int scan_quoted(parser *p, uint32_t line, size_t column, span *field) {
    assert(p->data[p->at] == '"');
    char name[MESSAGE_NAME_LENGTH_MAX + 32];
    char *data = p->data;
    const uint8_t *classes = p->classes;
    uint32_t open_line = p->line, lines = 0;
    size_t start = p->at + 1, read = start, write = start, size = p->size;
    bool suspect = false;
    for (;;) {
        if (read == size) {
            /* Bad text in what the field holds is a fault whether or not
             * the quote would close later: it is reported first, so that a
             * reading stopped at a NUL byte gives the answer the whole file
             * would. */
            int rc = suspect ? finish_field(p, line, column, start, write - start, true, field) : 0;
            if (rc != 0) return rc;
            return fail(p, TROC_ECSV, line, "%s: the quote opened on line %u is never closed",
                        field_name(p, column, name, sizeof name), open_line);
        }
        char c = data[read];
        if (c == '"') {
            if (read + 1 < size && data[read + 1] == '"') {
                data[write++] = '"';
                read += 2;
                continue;
            }
            read++;
            break;
        }
        lines += c == '\n';
        suspect |= classes[(unsigned char)c] == SUSPECT;
        data[write++] = c;
        read++;
    }
    p->line += lines;
    p->at = read;
    if (p->at < p->size && p->data[p->at] != ',' && p->data[p->at] != '\n' && p->data[p->at] != '\r') {
        return fail(p, TROC_ECSV, line,
                    "%s has text after its closing quote (a quote inside a quoted field is written as two quotes)",
                    field_name(p, column, name, sizeof name));
    }
    return finish_field(p, line, column, start, write - start, suspect, field);
}

/* Consumes what follows a field: a comma (the record goes on), a line end
 * or the end of the data (the record ends). */
static int end_of_field(parser *p, uint32_t line, bool *record_ended) {
    if (p->at == p->size) {
        *record_ended = true;
        return 0;
    }
    char c = p->data[p->at];
    *record_ended = c != ',';
    if (c == ',' || c == '\n') {
        p->at++;
        p->line += c == '\n';
        p->crlf = false;
        return 0;
    }
    assert(c == '\r');
    if (p->at + 1 < p->size && p->data[p->at + 1] == '\n') {
        p->at += 2;
        p->line++;
        p->crlf = true;
        return 0;
    }
    return fail(p, TROC_ECSV, line, "a carriage return not followed by a line feed (lines must end with LF or CRLF)");
}

/* Reads one record and counts its fields in *count_out: field i goes to
 * fields[slot[i]] (slot NULL: to fields[i]) for i below `capacity`; fields
 * past it, or whose slot is SLOT_NONE, are read and counted, not kept. */
static int parse_record(parser *p, span *fields, size_t capacity, const uint16_t *slot, size_t *count_out) {
    assert(p->at < p->size);
    uint32_t line = p->line;
    size_t record_start = p->at;
    size_t count = 0;
    bool ended = false;
    while (!ended) {
        span discarded;
        size_t place = count >= capacity ? SLOT_NONE : slot == NULL ? count : slot[count];
        span *field = place != SLOT_NONE ? &fields[place] : &discarded;
        int rc = p->at < p->size && p->data[p->at] == '"' ? scan_quoted(p, line, count, field)
                                                           : scan_unquoted(p, line, count, field);
        if (rc == 0) rc = end_of_field(p, line, &ended);
        if (rc != 0) return rc;
        count++;
        if (p->at - record_start > TROC_CSV_LINE_LENGTH_MAX) {
            return fail(p, TROC_ELIMIT, line, "the record is longer than %u bytes", TROC_CSV_LINE_LENGTH_MAX);
        }
    }
    *count_out = count;
    return 0;
}

/* The first byte of x (in memory order) that a plain field cannot hold, or
 * 8 if there is none. */
static inline unsigned first_special(uint64_t x) {
    const uint64_t special = special_bytes(x);
    return special == 0 ? 8u : (unsigned)__builtin_ctzll(special) / 8u;
}

/* The common record, read faster: printable ASCII fields without quotes,
 * exactly the header's count of them, ending with a line feed (or CRLF).
 * Returns false, having kept nothing of it, on anything else (a quote, a
 * tab, a control or non-ASCII byte, a field too many or too few, the end
 * of the part, a field or record too long): parse_record() then reads the
 * record from its start, and finds what to refuse. */
static bool parse_plain_record(parser *p, span *fields, size_t columns, const uint16_t *slot) {
    const char *data = p->data;
    const size_t size = p->size, record_start = p->at;
    size_t at = record_start, start = at, count = 0;
    for (;;) {
        unsigned skip = 8;
        while (skip == 8 && size - at >= 8) {
            uint64_t block;
            memcpy(&block, data + at, sizeof block);
            skip = first_special(block);
            at += skip;
        }
        while (skip == 8 && at < size && p->classes[(unsigned char)data[at]] == PLAIN && data[at] != '\t') at++;
        if (at == size || count == columns || at - start > TROC_CSV_FIELD_LENGTH_MAX) return false;
        const char c = data[at];
        bool crlf = false;
        if (c == '\r' && at + 1 < size && data[at + 1] == '\n') crlf = true;
        else if (c != ',' && c != '\n') return false;
        const uint16_t place = slot[count++];
        if (place != SLOT_NONE) fields[place] = (span){.offset = (uint32_t)start, .length = (uint32_t)(at - start)};
        at += crlf ? 2 : 1;
        if (c != ',') {
            if (count != columns || at - record_start > TROC_CSV_LINE_LENGTH_MAX) return false;
            p->at = at;
            p->line++;
            p->crlf = crlf;
            return true;
        }
        start = at;
    }
}

/* Skips lines that hold nothing; returns whether a record follows. */
static bool skip_blank_lines(parser *p) {
    for (;;) {
        if (p->at < p->size && p->data[p->at] == '\n') {
            p->at++;
        } else if (p->at + 1 < p->size && p->data[p->at] == '\r' && p->data[p->at + 1] == '\n') {
            p->at += 2;
        } else {
            return p->at < p->size;
        }
        p->line++;
    }
}

/* Line feeds in data[begin, end). */
static size_t count_line_feeds(const char *data, size_t begin, size_t end) {
    size_t count = 0;
    for (const char *at = data + begin, *stop = data + end; at < stop; at++) {
        at = memchr(at, '\n', (size_t)(stop - at));
        if (at == NULL) break;
        count++;
    }
    return count;
}

/* Upper bound on the records of a part: each but the last ends with a line
 * feed, and each holds at least max(columns - 1, 1) bytes. */
static size_t part_bound(const chunk *part, size_t column_count) {
    size_t bytes_per_row = column_count > 1 ? column_count - 1 : 1;
    size_t bound = (part->end - part->begin) / bytes_per_row + 1;
    return part->line_feeds + 1 < bound ? part->line_feeds + 1 : bound;
}

/* Reads the header into csv->spans[0..count) (allocated here for the
 * header alone; rows come later). */
static int parse_header(parser *p, troc_csv *csv) {
    span header[TROC_CSV_COLUMNS_MAX];
    uint32_t line = p->line;
    size_t count = 0;
    int rc = parse_record(p, header, TROC_CSV_COLUMNS_MAX, NULL, &count);
    if (rc != 0) return rc;
    if (count > TROC_CSV_COLUMNS_MAX) {
        return fail(p, TROC_ELIMIT, line, "the header has %zu columns, more than %d", count, TROC_CSV_COLUMNS_MAX);
    }
    csv->header_line = line;
    memcpy(csv->header, header, count * sizeof(span));
    csv->column_count = count;
    csv->crlf = p->crlf;
    return 0;
}

/* Cuts the body [begin, size) into parts that end after a line feed, of at
 * least PART_SIZE_MIN bytes each.  A quote could hide a line feed inside a
 * field, so a body holding one is a single part. */
static size_t plan_parts(const troc_csv *csv, size_t begin, size_t part_size_min, bool body_quoted, chunk *parts) {
    const size_t size = csv->size, body = size - begin;
    size_t count = body / (part_size_min > 0 ? part_size_min : 1);
    if (count > PARTS_MAX) count = PARTS_MAX;
    if (count < 2 || body_quoted) count = 1;
    size_t made = 0, at = begin;
    for (size_t i = 1; i < count; i++) {
        size_t target = begin + body / count * i;
        if (target < at) continue;
        const char *line_feed = memchr(csv->data + target, '\n', size - target);
        if (line_feed == NULL || (size_t)(line_feed - csv->data) + 1 >= size) break;
        parts[made++] = (chunk){.begin = at, .end = (size_t)(line_feed - csv->data) + 1};
        at = parts[made - 1].end;
    }
    parts[made++] = (chunk){.begin = at, .end = size};
    return made;
}

typedef struct reading {
    troc_csv *csv;
    chunk *parts;
    const span *header;
} reading;

static void count_part(void *context, size_t index) {
    reading *r = context;
    chunk *part = &r->parts[index];
    part->line_feeds = count_line_feeds(r->csv->data, part->begin, part->end);
}

/* Whether text is only spaces and tabs. */
static bool is_blank_text(const char *text, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (text[i] != ' ' && text[i] != '\t') return false;
    }
    return true;
}

/* Reads the records of one part into its slots of csv->spans and lines. */
static void parse_part(void *context, size_t index) {
    reading *r = context;
    troc_csv *csv = r->csv;
    chunk *part = &r->parts[index];
    parser p;
    parser_init(&p, csv->data, part->end, &part->error);
    p.at = part->begin;
    p.line = part->first_line;
    p.header = r->header;
    p.column_count = csv->column_count;
    const size_t columns = csv->column_count, stride = csv->stride;
    part->rc = 0;
    while (skip_blank_lines(&p)) {
        uint32_t line = p.line;
        if (part->row_count == part->capacity) {
            assert(part->capacity == TROC_CSV_ROWS_MAX);
            part->rc = fail(&p, TROC_ELIMIT, line, "more than %d rows", TROC_CSV_ROWS_MAX);
            return;
        }
        size_t record = part->first_record + part->row_count, count = columns;
        const bool quoted = p.data[p.at] == '"'; /* read now: parsing unescapes in place */
        if (!parse_plain_record(&p, csv->spans + record * stride, columns, csv->slot)) {
            part->rc = parse_record(&p, csv->spans + record * stride, columns, csv->slot, &count);
        }
        if (part->rc != 0) return;
        if (count != columns) {
            const span *first = &csv->spans[record * stride]; /* column 0's, always kept */
            const char *hint = separator_hint_of(p.data + r->header[0].offset, r->header[0].length, columns);
            if (count == 1 && !quoted && is_blank_text(p.data + first->offset, first->length)) {
                hint = "the line holds only spaces or tabs: delete them";
            }
            if (hint == NULL) hint = count < columns ? "a field is missing" : "is a comma inside a field not quoted?";
            part->rc = fail(&p, TROC_ECSV, line, "%zu field%s, but the header has %zu (%s)", count,
                            count == 1 ? "" : "s", columns, hint);
            return;
        }
        if (csv->lines != NULL) csv->lines[record] = line;
        part->row_count++;
    }
    assert(p.at == part->end);
}

/* Sizes every part, allocates the spans and lines of all records and
 * numbers each part's first line and first record. */
static int prepare_parts(troc_csv *csv, reading *r, size_t count, uint32_t body_line, unsigned threads,
                         troc_csv_error *error) {
    troc_tasks_run(threads, count, count_part, r);
    size_t records = 1;
    uint32_t line = body_line;
    for (size_t i = 0; i < count; i++) {
        chunk *part = &r->parts[i];
        part->first_line = line;
        part->first_record = records;
        part->capacity = part_bound(part, csv->column_count);
        if (count == 1 && part->capacity > TROC_CSV_ROWS_MAX) part->capacity = TROC_CSV_ROWS_MAX;
        records += part->capacity;
        line += (uint32_t)part->line_feeds;
    }
    size_t span_count = 0, span_bytes = 0;
    if (__builtin_mul_overflow(records, csv->stride, &span_count) ||
        __builtin_mul_overflow(span_count, sizeof(span), &span_bytes)) {
        span_bytes = SIZE_MAX;
    }
    csv->spans = span_bytes == SIZE_MAX ? NULL : troc_large_malloc(span_bytes);
    if (!csv->lines_counted) csv->lines = troc_large_malloc(records * sizeof(uint32_t));
    if (csv->spans == NULL || (!csv->lines_counted && csv->lines == NULL)) {
        error->line = 0;
        snprintf(error->message, sizeof error->message, "out of memory");
        return -ENOMEM;
    }
    for (size_t column = 0; column < csv->column_count; column++) {
        if (csv->slot[column] != SLOT_NONE) csv->spans[csv->slot[column]] = csv->header[column];
    }
    if (csv->lines != NULL) csv->lines[0] = csv->header_line;
    return 0;
}

/* Moves each part's records down behind the previous part's, and keeps
 * the first error in file order. */
static int join_parts(troc_csv *csv, const chunk *parts, size_t count, troc_csv_error *error) {
    const size_t stride = csv->stride;
    size_t records = 1;
    for (size_t i = 0; i < count; i++) {
        const chunk *part = &parts[i];
        if (part->rc != 0) {
            *error = part->error;
            return part->rc;
        }
        if (part->first_record != records && part->row_count > 0) {
            memmove(csv->spans + records * stride, csv->spans + part->first_record * stride,
                    part->row_count * stride * sizeof(span));
            if (csv->lines != NULL) {
                memmove(csv->lines + records, csv->lines + part->first_record, part->row_count * sizeof(uint32_t));
            }
        }
        records += part->row_count;
    }
    csv->row_count = records - 1;
    assert(csv->row_count <= TROC_CSV_ROWS_MAX);
    return 0;
}

static bool names_match(troc_csv_field field, const char *name);

/* Whether the header names `column` among `names` (NULL-terminated). */
static bool column_named(const troc_csv *csv, size_t column, const char *const *names) {
    for (; *names != NULL; names++) {
        if (names_match(troc_csv_header(csv, column), *names)) return true;
    }
    return false;
}

/* Chooses the spans each record keeps (see the top of the file): every
 * column's, unless the reader named the columns it reads (columns_read)
 * and every row is plain; then those columns' and the first and last. */
static void choose_slots(troc_csv *csv, const char *const *columns_read) {
    const size_t columns = csv->column_count;
    const bool spare = columns_read != NULL && csv->rows_plain;
    csv->stride = 0;
    for (size_t column = 0; column < columns; column++) {
        bool kept = !spare || column == 0 || column == columns - 1 || column_named(csv, column, columns_read);
        csv->slot[column] = kept ? (uint16_t)csv->stride++ : SLOT_NONE;
    }
}

/* Whether text holds U+FEFF (EF BB BF).  A byte EF is rare in CSV text
 * (it leads only U+F000 to U+FFFF), and memchr finds it several times
 * faster than memmem finds the three bytes: 1 against 7 ms on the
 * benchmark's 37 MB. */
static bool holds_feff(const char *text, size_t size) {
    const char *end = text + size;
    for (const char *at = memchr(text, 0xEF, size); at != NULL; at = memchr(at, 0xEF, (size_t)(end - at))) {
        if (end - at >= 3 && memcmp(at, "\xEF\xBB\xBF", 3) == 0) return true;
        at++;
    }
    return false;
}

static int parse(troc_csv *csv, const troc_csv_read_options *options, troc_csv_error *error) {
    parser p;
    parser_init(&p, csv->data, csv->size, error);
    if (p.size >= 3 && memcmp(p.data, "\xEF\xBB\xBF", 3) == 0) {
        p.at = 3;
        csv->bom = true;
    }
    if (!skip_blank_lines(&p)) return fail(&p, TROC_ECSV, 0, "empty file: no header row");
    int rc = parse_header(&p, csv);
    if (rc != 0) return rc;
    const size_t part_size_min = options != NULL && options->part_size_min > 0 ? options->part_size_min : PART_SIZE_MIN;
    const unsigned threads = options != NULL ? options->thread_count : 0;
    const char *body = csv->data + p.at;
    const size_t body_size = csv->size - p.at;
    const bool body_quoted = memchr(body, '"', body_size) != NULL;
    csv->rows_plain = !body_quoted && !holds_feff(body, body_size);
    csv->quoted = body_quoted || memchr(csv->data, '"', p.at) != NULL;
    choose_slots(csv, options != NULL ? options->columns_read : NULL);
    /* A plain row holds no line feed: its line can be counted when asked
     * (for a message), 4 bytes a row less while the file is read and
     * checked.  Only for a reader that named its columns: the others may
     * ask every row's line. */
    csv->lines_counted = csv->rows_plain && options != NULL && options->columns_read != NULL;
    chunk parts[PARTS_MAX];
    size_t count = plan_parts(csv, p.at, part_size_min, body_quoted, parts);
    reading r = {.csv = csv, .parts = parts, .header = csv->header};
    rc = prepare_parts(csv, &r, count, p.line, threads, error);
    if (rc == 0 && count > 1 && r.parts[count - 1].first_record + r.parts[count - 1].capacity > TROC_CSV_ROWS_MAX + 1u) {
        /* Near the row limit: one part, whose capacity the limit caps. */
        free(csv->spans);
        free(csv->lines);
        csv->spans = NULL;
        csv->lines = NULL;
        parts[0] = (chunk){.begin = p.at, .end = csv->size};
        count = 1;
        rc = prepare_parts(csv, &r, count, p.line, threads, error);
    }
    if (rc != 0) return rc;
    troc_tasks_run(threads, count, parse_part, &r);
    return join_parts(csv, parts, count, error);
}

/* Reads from fd to its end into a buffer of `capacity` bytes at first,
 * doubled as needed up to one byte past TROC_CSV_FILE_SIZE_MAX. */
static int read_all(int fd, size_t capacity, char **data_out, size_t *size_out) {
    size_t size = 0;
    char *data = troc_large_malloc(capacity);
    if (data == NULL) return -ENOMEM;
    for (;;) {
        if (size == capacity) {
            size_t grown_capacity = capacity * 2 < TROC_CSV_FILE_SIZE_MAX + 1 ? capacity * 2 : TROC_CSV_FILE_SIZE_MAX + 1;
            char *grown = capacity > TROC_CSV_FILE_SIZE_MAX ? NULL : troc_large_realloc(data, size, grown_capacity);
            if (grown == NULL) {
                free(data);
                return capacity > TROC_CSV_FILE_SIZE_MAX ? TROC_ELIMIT : -ENOMEM;
            }
            data = grown;
            capacity = grown_capacity;
        }
        ssize_t n = read(fd, data + size, capacity - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int rc = -errno;
            free(data);
            return rc;
        }
        /* A NUL byte is refused wherever it stands, and the parser reports
         * the first fault of the file (a quoted field cut short with it
         * included: see scan_quoted): reading on past the first NUL cannot
         * change the answer, only cost the rest (/dev/zero: 2 GiB). */
        bool nul = n > 0 && memchr(data + size, '\0', (size_t)n) != NULL;
        size += (size_t)n;
        if (n == 0 || nul) {
            *data_out = data;
            *size_out = size;
            return 0;
        }
    }
}

/* What read_in_parts() returns when the file did not hold the bytes its
 * size promised (it changed while read). */
#define FILE_CHANGED 1

typedef struct file_parts {
    int fd;
    off_t start; /* the file offset of data[0] */
    size_t size;
    char *data;
    int *outcome; /* per part: 0, FILE_CHANGED or -errno */
} file_parts;

static void read_part(void *context, size_t part) {
    file_parts *f = context;
    size_t done = part * READ_PART_SIZE;
    const size_t end = done + READ_PART_SIZE < f->size ? done + READ_PART_SIZE : f->size;
    f->outcome[part] = 0;
    while (done < end) {
        ssize_t n = pread(f->fd, f->data + done, end - done, f->start + (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            f->outcome[part] = n < 0 ? -errno : FILE_CHANGED;
            return;
        }
        done += (size_t)n;
    }
}

/* Reads a regular file of `size` bytes from the current offset in parts
 * on the threads into a buffer of size + 1, and leaves the offset at its
 * end.  Returns 0, -errno, or FILE_CHANGED when the file did not hold
 * exactly `size` bytes, the offset then unchanged. */
static int read_in_parts(int fd, size_t size, unsigned threads, char **data_out) {
    file_parts f = {.fd = fd, .start = lseek(fd, 0, SEEK_CUR), .size = size};
    if (f.start < 0) return -errno;
    const size_t count = (size + READ_PART_SIZE - 1) / READ_PART_SIZE;
    f.data = troc_large_malloc(size + 1);
    f.outcome = calloc(count, sizeof *f.outcome);
    int rc = f.data == NULL || f.outcome == NULL ? -ENOMEM : 0;
    if (rc == 0) troc_tasks_run(threads, count, read_part, &f);
    for (size_t part = 0; part < count && rc == 0; part++) rc = f.outcome[part];
    if (rc == 0) {
        ssize_t n = 0; /* nothing past the size: the file did not grow */
        do n = pread(fd, f.data + size, 1, f.start + (off_t)size);
        while (n < 0 && errno == EINTR);
        rc = n < 0 ? -errno : n > 0 ? FILE_CHANGED : 0;
    }
    if (rc == 0 && lseek(fd, f.start + (off_t)size, SEEK_SET) < 0) rc = -errno;
    free(f.outcome);
    if (rc != 0) {
        free(f.data);
        return rc;
    }
    *data_out = f.data;
    return 0;
}

/* Reads an open file to its end into one buffer: a regular file of more
 * than one part on the threads, any other in one read when its size is
 * known. */
static int read_whole_fd(int fd, unsigned threads, char **data_out, size_t *size_out, troc_csv_error *error) {
    int rc = 0;
    struct stat status;
    if (fstat(fd, &status) != 0) {
        rc = -errno;
    } else if (S_ISDIR(status.st_mode)) {
        rc = -EISDIR;
    } else if (S_ISREG(status.st_mode) && status.st_size > (off_t)TROC_CSV_FILE_SIZE_MAX) {
        rc = TROC_ELIMIT;
    } else if (S_ISREG(status.st_mode) && (size_t)status.st_size > READ_PART_SIZE) {
        rc = read_in_parts(fd, (size_t)status.st_size, threads, data_out);
        if (rc == 0) *size_out = (size_t)status.st_size;
        /* It changed while read: read it again, to its end, whatever size. */
        if (rc == FILE_CHANGED) rc = read_all(fd, (size_t)status.st_size + 1, data_out, size_out);
    } else {
        /* One byte more than the size, so that the read that sees the end of
         * the file needs no second buffer; pipes are read by chunks. */
        size_t capacity = S_ISREG(status.st_mode) ? (size_t)status.st_size + 1 : READ_CHUNK_SIZE;
        rc = read_all(fd, capacity, data_out, size_out);
    }
    if (rc == 0) return 0;
    error->line = 0;
    if (rc == TROC_ELIMIT) {
        snprintf(error->message, sizeof error->message, "the file is larger than %llu bytes",
                 (unsigned long long)TROC_CSV_FILE_SIZE_MAX);
    } else {
        snprintf(error->message, sizeof error->message, "cannot read the file: %s", troc_strerror(rc));
    }
    return rc;
}

/* Parses a buffer the new troc_csv takes over (freed on failure too). */
static int read_buffer(char *data, size_t size, const troc_csv_read_options *options, troc_csv **csv_out,
                       troc_csv_error *error) {
    troc_csv *csv = calloc(1, sizeof *csv);
    if (csv == NULL) {
        free(data);
        error->line = 0;
        snprintf(error->message, sizeof error->message, "out of memory");
        return -ENOMEM;
    }
    csv->data = data;
    csv->size = size;
    int rc = parse(csv, options, error);
    if (rc != 0) {
        troc_csv_free(csv);
        return rc;
    }
    *csv_out = csv;
    return 0;
}

int troc_csv_read_fd_with(int fd, const troc_csv_read_options *options, troc_csv **csv_out, troc_csv_error *error) {
    assert(fd >= 0 && csv_out != NULL);
    assert(error != NULL);
    char *data = NULL;
    size_t size = 0;
    int rc = read_whole_fd(fd, options != NULL ? options->thread_count : 0, &data, &size, error);
    if (rc != 0) return rc;
    return read_buffer(data, size, options, csv_out, error);
}

/* The identity of an open regular file, false for anything else. */
static bool identify(int fd, file_identity *identity) {
    struct stat status;
    if (fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) return false;
    *identity = (file_identity){.device = status.st_dev, .inode = status.st_ino, .size = status.st_size,
                                .modified = status.st_mtim, .changed = status.st_ctim};
    return true;
}

static bool same_identity(const file_identity *a, const file_identity *b) {
    return a->device == b->device && a->inode == b->inode && a->size == b->size &&
           a->modified.tv_sec == b->modified.tv_sec && a->modified.tv_nsec == b->modified.tv_nsec &&
           a->changed.tv_sec == b->changed.tv_sec && a->changed.tv_nsec == b->changed.tv_nsec;
}

static int open_fail(troc_csv_error *error) {
    const int rc = -errno;
    error->line = 0;
    snprintf(error->message, sizeof error->message, "cannot read the file: %s", troc_strerror(rc));
    return rc;
}

int troc_csv_read_file_with(const char *path, const troc_csv_read_options *options, troc_csv **csv_out,
                            troc_csv_error *error) {
    assert(path != NULL && csv_out != NULL);
    assert(error != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return open_fail(error);
    const int rc = troc_csv_read_fd_with(fd, options, csv_out, error);
    if (rc == 0) {
        /* Identified once read: what a reload must find again. */
        troc_csv *csv = *csv_out;
        csv->reloadable = !csv->quoted && identify(fd, &csv->file);
    }
    close(fd);
    return rc;
}

bool troc_csv_release_data(troc_csv *csv) {
    assert(csv != NULL);
    if (!csv->reloadable || csv->data == NULL) return false;
    free(csv->data);
    csv->data = NULL;
    return true;
}

int troc_csv_reload_data(troc_csv *csv, const char *path, unsigned thread_count, troc_csv_error *error) {
    assert(csv != NULL && path != NULL && error != NULL);
    if (csv->data != NULL) return 0;
    assert(csv->reloadable);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return open_fail(error);
    file_identity before, after;
    char *data = NULL;
    size_t size = 0;
    int rc = identify(fd, &before) && same_identity(&before, &csv->file) ? 0 : -ESTALE;
    if (rc == 0) rc = read_whole_fd(fd, thread_count, &data, &size, error);
    /* Unchanged after the reading too: the bytes are those read first. */
    if (rc == 0 && (size != csv->size || !identify(fd, &after) || !same_identity(&after, &csv->file))) rc = -ESTALE;
    close(fd);
    if (rc == -ESTALE) {
        error->line = 0;
        snprintf(error->message, sizeof error->message, "the file changed while troc was working on it");
    }
    if (rc != 0) {
        free(data);
        return rc;
    }
    csv->data = data;
    return 0;
}

int troc_csv_read_file(const char *path, troc_csv **csv_out, troc_csv_error *error) {
    return troc_csv_read_file_with(path, NULL, csv_out, error);
}

int troc_csv_read_memory_with(const char *data, size_t size, const troc_csv_read_options *options,
                              troc_csv **csv_out, troc_csv_error *error) {
    assert(data != NULL || size == 0);
    assert(csv_out != NULL && error != NULL);
    if (size > TROC_CSV_FILE_SIZE_MAX) {
        error->line = 0;
        snprintf(error->message, sizeof error->message, "the data is larger than %llu bytes",
                 (unsigned long long)TROC_CSV_FILE_SIZE_MAX);
        return TROC_ELIMIT;
    }
    char *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) {
        error->line = 0;
        snprintf(error->message, sizeof error->message, "out of memory");
        return -ENOMEM;
    }
    if (size > 0) memcpy(copy, data, size);
    return read_buffer(copy, size, options, csv_out, error);
}

int troc_csv_read_memory(const char *data, size_t size, troc_csv **csv_out, troc_csv_error *error) {
    return troc_csv_read_memory_with(data, size, NULL, csv_out, error);
}

void troc_csv_free(troc_csv *csv) {
    if (csv == NULL) return;
    free(csv->data);
    free(csv->spans);
    free(csv->lines);
    free(csv);
}

size_t troc_csv_column_count(const troc_csv *csv) {
    assert(csv != NULL);
    return csv->column_count;
}

size_t troc_csv_row_count(const troc_csv *csv) {
    assert(csv != NULL);
    return csv->row_count;
}

size_t troc_csv_data_size(const troc_csv *csv) {
    assert(csv != NULL);
    return csv->size;
}

uint32_t troc_csv_header_line(const troc_csv *csv) {
    assert(csv != NULL);
    return csv->header_line;
}

/* Field `column` of a plain row, found by its commas. */
static troc_csv_field field_in_row(const troc_csv *csv, size_t record, size_t column) {
    const span *row = &csv->spans[record];
    const char *text = csv->data + row->offset, *end = text + row->length;
    for (size_t c = 0; c < column; c++) {
        const char *comma = memchr(text, ',', (size_t)(end - text));
        assert(comma != NULL);
        text = comma + 1;
    }
    const char *comma = memchr(text, ',', (size_t)(end - text));
    return (troc_csv_field){.text = text, .length = (size_t)((comma != NULL ? comma : end) - text)};
}

static troc_csv_field field_at(const troc_csv *csv, size_t record, size_t column) {
    assert(record <= csv->row_count && column < csv->column_count);
    assert(csv->data != NULL); /* not released */
    if (csv->rows_only) return field_in_row(csv, record, column);
    assert(csv->slot[column] != SLOT_NONE);
    const span *s = &csv->spans[record * csv->stride + csv->slot[column]];
    return (troc_csv_field){.text = csv->data + s->offset, .length = s->length};
}

troc_csv_field troc_csv_header(const troc_csv *csv, size_t column) {
    assert(csv != NULL && column < csv->column_count);
    assert(csv->data != NULL); /* not released */
    const span *s = &csv->header[column];
    return (troc_csv_field){.text = csv->data + s->offset, .length = s->length};
}

bool troc_csv_column_kept(const troc_csv *csv, size_t column) {
    assert(csv != NULL && column < csv->column_count);
    return csv->rows_only || csv->slot[column] != SLOT_NONE;
}

void troc_csv_keep_rows_only(troc_csv *csv) {
    assert(csv != NULL);
    if (!csv->rows_plain || csv->rows_only || csv->stride < 2) return;
    const size_t stride = csv->stride, first = csv->slot[0], last = csv->slot[csv->column_count - 1];
    /* In place: record r's span lands at r, at or before its fields. */
    for (size_t record = 0; record <= csv->row_count; record++) {
        const span *fields = &csv->spans[record * stride];
        const uint32_t offset = fields[first].offset, end = fields[last].offset + fields[last].length;
        csv->spans[record] = (span){.offset = offset, .length = end - offset};
    }
    csv->rows_only = true;
    csv->stride = 1;
    span *smaller = realloc(csv->spans, (csv->row_count + 1) * sizeof *smaller);
    if (smaller != NULL) csv->spans = smaller;
    free(csv->lines);
    csv->lines = NULL;
}

troc_csv_field troc_csv_get(const troc_csv *csv, size_t row, size_t column) {
    assert(row < csv->row_count);
    return field_at(csv, row + 1, column);
}

uint32_t troc_csv_row_line(const troc_csv *csv, size_t row) {
    assert(row < csv->row_count);
    if (csv->lines != NULL) return csv->lines[row + 1];
    assert(csv->rows_plain && csv->data != NULL); /* lines_counted or rows_only; not released */
    /* No field of a plain row holds a line feed: its line is one more than
     * the line feeds before it (a rare question: refusals).  Its first
     * field, column 0's, is kept first and starts the row. */
    uint32_t line = 1;
    const char *at = csv->data, *end = csv->data + csv->spans[(row + 1) * csv->stride].offset;
    while ((at = memchr(at, '\n', (size_t)(end - at))) != NULL) {
        line++;
        at++;
    }
    return line;
}

/* Whether a data record can be copied as it was read: no field was quoted
 * (then its fields follow each other, one comma apart), and none begins
 * with U+FEFF, which the writer quotes.  Asked only of a file whose body
 * holds a quote or a U+FEFF, whose records keep every span. */
static bool record_plain(const troc_csv *csv, size_t record) {
    assert(csv->stride == csv->column_count);
    const span *fields = &csv->spans[record * csv->column_count];
    for (size_t column = 0; column < csv->column_count; column++) {
        const span *field = &fields[column];
        if (column > 0 && field->offset != fields[column - 1].offset + fields[column - 1].length + 1) return false;
        if (field->length >= 3 && memcmp(csv->data + field->offset, "\xEF\xBB\xBF", 3) == 0) return false;
        if (field->offset > 0 && csv->data[field->offset - 1] == '"') return false;
    }
    return true;
}

void troc_csv_write_row_fields(troc_csv_writer *writer, const troc_csv *csv, size_t row) {
    assert(writer != NULL && csv != NULL);
    assert(row < csv->row_count);
    const size_t record = row + 1, columns = csv->column_count;
    assert(csv->data != NULL); /* not released */
    if (csv->rows_only) {
        assert(columns >= 2); /* one column keeps one span per row already */
        const span *whole = &csv->spans[record];
        troc__csv_write_fields(writer, csv->data + whole->offset, whole->length, columns);
        return;
    }
    if (columns >= 2 && (csv->rows_plain || record_plain(csv, record))) {
        const span *fields = &csv->spans[record * csv->stride];
        const span *first = &fields[csv->slot[0]], *last = &fields[csv->slot[columns - 1]];
        troc__csv_write_fields(writer, csv->data + first->offset, last->offset + last->length - first->offset,
                               columns);
        return;
    }
    for (size_t column = 0; column < columns; column++) {
        troc_csv_field value = field_at(csv, record, column);
        troc_csv_write_field(writer, value.text, value.length);
    }
}

static char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether `field`, without the spaces around it, is `name` up to ASCII
 * case. */
static bool names_match(troc_csv_field field, const char *name) {
    const char *text = field.text;
    size_t length = field.length;
    while (length > 0 && (text[0] == ' ' || text[0] == '\t')) text++, length--;
    while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t')) length--;
    if (strlen(name) != length) return false;
    for (size_t i = 0; i < length; i++) {
        if (ascii_lower(text[i]) != ascii_lower(name[i])) return false;
    }
    return true;
}

int troc_csv_column_find(const troc_csv *csv, const char *name, size_t *column_out) {
    assert(csv != NULL && name != NULL);
    assert(column_out != NULL);
    int rc = TROC_ENOT_FOUND;
    for (size_t column = 0; column < csv->column_count; column++) {
        if (!names_match(troc_csv_header(csv, column), name)) continue;
        if (rc == 0) return TROC_ECSV;
        *column_out = column;
        rc = 0;
    }
    return rc;
}

bool troc_csv_has_bom(const troc_csv *csv) {
    assert(csv != NULL);
    return csv->bom;
}

bool troc_csv_uses_crlf(const troc_csv *csv) {
    assert(csv != NULL);
    return csv->crlf;
}
