/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CSV writer: RFC 4180 output through a buffer of its own, into a
 * temporary file that replaces its target only once complete.
 *
 * The temporary file is ".NAME.tmp-PID-N" in the target's directory, so that
 * the final rename(2) is atomic: whoever opens NAME sees either the old file
 * or the whole new one, never a part.  It is created with O_EXCL (a leftover
 * of an earlier run is never reused), with the permissions of the file it
 * replaces (else mode 0666 less the umask like any new file), and synced
 * before the rename so that a crash cannot leave a renamed but empty file
 * behind.  While it is written, every WRITEBACK_BYTES written start the
 * disk's work on them (sync_file_range(2), which waits for nothing), so
 * that the final sync waits for the last few megabytes rather than all of
 * them.  A symbolic link is followed: the file it names is replaced.  A
 * name that is not a regular file (a device, a pipe) is refused.
 *
 * An interrupted run (Ctrl-C, SIGTERM, SIGHUP) would leave the temporary
 * file behind: once troc_csv_remove_temporaries_on_signals() has installed
 * its handler, the files being written are listed in a small static table
 * (paths copied into it, so that the handler reads no memory that could be
 * freed under it) and the handler removes them before the signal takes its
 * default course.
 *
 * A memory writer collects rows in a buffer that doubles as needed, for a
 * part of a file formatted beside the others; append() adds its bytes to
 * the real writer, straight from its buffer when they exceed the writer's.
 *
 * A field is quoted only when it must be: when it holds a comma, a quote or a
 * line break, when it begins with U+FEFF (which would be taken for a
 * byte-order mark at the start of a file), or when it is the only field of
 * its row and empty (an empty line would be read back as no row at all).  Write errors are sticky: the
 * first one is kept, later writes are dropped, and finish() reports it, so
 * that callers check once.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/large.h"
#include "csv.h"
#include "csv_int.h"

/* Bytes gathered before each write(2). */
#define WRITE_BUFFER_SIZE (256u * 1024u)

/* Bytes of a temporary file written between two starts of writeback. */
#define WRITEBACK_BYTES (8u * 1024u * 1024u)

/* First buffer of a memory writer (it doubles as needed). */
#define MEMORY_BUFFER_SIZE (64u * 1024u)

/* Names tried for the temporary file before giving up: each is taken only
 * if a file of that name was left by an earlier run with the same pid. */
#define TEMPORARY_NAME_ATTEMPTS 100

/* Temporary files listed for the signal handler: more at once than any
 * command writes (troc clear writes two). */
#define LIVE_TEMPORARIES_MAX 8

typedef struct live_temporary {
    atomic_int state; /* FREE, TAKEN (path being copied), LIVE */
    char path[PATH_MAX];
} live_temporary;

enum { TEMPORARY_FREE, TEMPORARY_TAKEN, TEMPORARY_LIVE };

static live_temporary live_temporaries[LIVE_TEMPORARIES_MAX];
static atomic_bool signals_handled;

struct troc_csv_writer {
    int fd;               /* destination, -1 once closed or for a memory writer */
    bool owns_file;       /* fd is our temporary file: sync, close, rename it */
    bool memory;          /* collects everything in buffer, which grows */
    bool lent;            /* buffer is the caller's (troc_csv_writer_open_memory_in()) */
    bool last_field_empty; /* the last field of the current row was empty */
    int error;            /* first write error (-errno), 0 if none */
    unsigned flags;       /* TROC_CSV_WRITE_* */
    size_t used;          /* bytes waiting in buffer */
    size_t capacity;      /* bytes of buffer */
    size_t fields;        /* fields written in the current row */
    off_t written;        /* bytes written to fd */
    off_t writeback_from; /* bytes of fd whose writeback has not been started */
    char *target_path;    /* final name, NULL for a descriptor */
    char *temporary_path; /* the file being written, NULL for a descriptor */
    char *buffer;         /* bytes not yet written */
    int live_slot;        /* its entry in live_temporaries, -1 if none */
};

/* Lists a temporary file for the handler (when it is installed and there
 * is room: past that, an interrupted run leaves the file, as without the
 * handler).  Returns its slot or -1. */
static int temporary_list(const char *path) {
    size_t length = strlen(path);
    if (!atomic_load(&signals_handled) || length >= PATH_MAX) return -1;
    for (int slot = 0; slot < LIVE_TEMPORARIES_MAX; slot++) {
        int expected = TEMPORARY_FREE;
        if (!atomic_compare_exchange_strong(&live_temporaries[slot].state, &expected, TEMPORARY_TAKEN)) continue;
        memcpy(live_temporaries[slot].path, path, length + 1);
        atomic_store(&live_temporaries[slot].state, TEMPORARY_LIVE);
        return slot;
    }
    return -1;
}

static void temporary_unlist(troc_csv_writer *writer) {
    if (writer->live_slot < 0) return;
    atomic_store(&live_temporaries[writer->live_slot].state, TEMPORARY_FREE);
    writer->live_slot = -1;
}

/* Removes the listed files, then lets the signal do what it does by
 * default (the handler was installed with SA_RESETHAND).  unlink(2) and
 * raise(3) are async-signal-safe. */
static void remove_temporaries(int signal_number) {
    for (int slot = 0; slot < LIVE_TEMPORARIES_MAX; slot++) {
        if (atomic_load(&live_temporaries[slot].state) == TEMPORARY_LIVE) unlink(live_temporaries[slot].path);
    }
    raise(signal_number);
}

int troc_csv_remove_temporaries_on_signals(void) {
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = remove_temporaries;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction before;
        if (sigaction(signals[i], NULL, &before) != 0) return -errno;
        if (before.sa_handler == SIG_IGN) continue; /* run under nohup: keep ignoring */
        if (sigaction(signals[i], &action, NULL) != 0) return -errno;
    }
    atomic_store(&signals_handled, true);
    return 0;
}

static void write_all(troc_csv_writer *writer, const char *bytes, size_t length) {
    size_t done = 0;
    while (done < length && writer->error == 0) {
        ssize_t n = write(writer->fd, bytes + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) writer->error = -errno;
        if (n > 0) done += (size_t)n;
    }
    writer->written += (off_t)done;
    if (writer->owns_file && writer->written - writer->writeback_from >= (off_t)WRITEBACK_BYTES) {
        /* Only a schedule: fsync() in finish() is what makes the file
         * durable, so a failure here changes nothing and is not kept. */
        (void)sync_file_range(writer->fd, writer->writeback_from, writer->written - writer->writeback_from,
                              SYNC_FILE_RANGE_WRITE);
        writer->writeback_from = writer->written;
    }
}

static void flush(troc_csv_writer *writer) {
    assert(!writer->memory);
    write_all(writer, writer->buffer, writer->used);
    writer->used = 0;
}

/* A memory writer's buffer at least doubles, to hold `length` more bytes. */
static bool grow(troc_csv_writer *writer, size_t length) {
    size_t capacity = writer->capacity * 2;
    while (capacity - writer->used < length) capacity *= 2;
    char *buffer = NULL;
    if (writer->lent) { /* outgrown: a buffer of its own from now on */
        buffer = troc_large_malloc(capacity);
        if (buffer != NULL) memcpy(buffer, writer->buffer, writer->used);
    } else {
        buffer = troc_large_realloc(writer->buffer, writer->used, capacity);
    }
    if (buffer == NULL) {
        if (writer->error == 0) writer->error = -ENOMEM;
        return false;
    }
    writer->lent = false;
    writer->buffer = buffer;
    writer->capacity = capacity;
    return true;
}

static void put_slow(troc_csv_writer *writer, const char *bytes, size_t length) {
    if (writer->error != 0) return;
    if (writer->memory) {
        if (!grow(writer, length)) return;
        memcpy(writer->buffer + writer->used, bytes, length);
        writer->used += length;
        return;
    }
    flush(writer);
    if (length >= writer->capacity) {
        write_all(writer, bytes, length); /* straight from the caller's bytes */
        return;
    }
    memcpy(writer->buffer, bytes, length);
    writer->used = length;
}

static inline void put(troc_csv_writer *writer, const char *bytes, size_t length) {
    if (length <= writer->capacity - writer->used) {
        memcpy(writer->buffer + writer->used, bytes, length);
        writer->used += length;
        return;
    }
    put_slow(writer, bytes, length);
}

/* A writer collecting into `lent` (`capacity` bytes, the caller's), or, with
 * lent NULL, into a buffer of its own. */
static int writer_create(unsigned flags, bool memory, char *lent, size_t capacity, troc_csv_writer **writer_out) {
    assert((flags & ~(TROC_CSV_WRITE_CRLF | TROC_CSV_WRITE_BOM)) == 0);
    troc_csv_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) return -ENOMEM;
    writer->lent = lent != NULL;
    writer->capacity = lent != NULL ? capacity : memory ? MEMORY_BUFFER_SIZE : WRITE_BUFFER_SIZE;
    writer->buffer = lent != NULL ? lent : troc_large_malloc(writer->capacity);
    if (writer->buffer == NULL) {
        free(writer);
        return -ENOMEM;
    }
    writer->fd = -1;
    writer->live_slot = -1;
    writer->memory = memory;
    writer->flags = flags;
    if (flags & TROC_CSV_WRITE_BOM) put(writer, "\xEF\xBB\xBF", 3);
    *writer_out = writer;
    return 0;
}

/* ".NAME.tmp-PID-N" next to `path`. */
static char *temporary_name(const char *path, unsigned attempt) {
    const char *slash = strrchr(path, '/');
    int directory_length = slash == NULL ? 0 : (int)(slash - path + 1);
    const char *base = path + directory_length;
    int length = snprintf(NULL, 0, "%.*s.%s.tmp-%ld-%u", directory_length, path, base, (long)getpid(), attempt);
    char *name = malloc((size_t)length + 1);
    if (name != NULL) {
        snprintf(name, (size_t)length + 1, "%.*s.%s.tmp-%ld-%u", directory_length, path, base, (long)getpid(),
                 attempt);
    }
    return name;
}

static int create_temporary(troc_csv_writer *writer, const char *path) {
    for (unsigned attempt = 0; attempt < TEMPORARY_NAME_ATTEMPTS; attempt++) {
        char *name = temporary_name(path, attempt);
        if (name == NULL) return -ENOMEM;
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            writer->fd = fd;
            writer->temporary_path = name;
            writer->live_slot = temporary_list(name);
            return 0;
        }
        int rc = -errno;
        free(name);
        if (rc != -EEXIST) return rc;
    }
    return -EEXIST;
}

/* The file a writer replaces: `path`, or the file a symbolic link of that
 * name points to (the link stays a link).  Only a regular file, or a name
 * not yet taken, is replaced: renaming over a device or a pipe (/dev/null,
 * /dev/stdout) would put a file in its place.  *mode_out is the replaced
 * file's permissions, kept by the new one, or -1 for a new file. */
static int replaced_file(const char *path, char **target_out, int *mode_out) {
    struct stat status;
    *mode_out = -1;
    if (lstat(path, &status) != 0) {
        if (errno != ENOENT) return -errno;
        *target_out = strdup(path);
        return *target_out == NULL ? -ENOMEM : 0;
    }
    char *target = S_ISLNK(status.st_mode) ? realpath(path, NULL) : strdup(path);
    if (target == NULL) return errno == ENOMEM ? -ENOMEM : -ENOENT; /* a link to nothing */
    if (stat(target, &status) != 0 || !S_ISREG(status.st_mode)) {
        int rc = S_ISDIR(status.st_mode) ? -EISDIR : -EINVAL;
        free(target);
        return rc;
    }
    *mode_out = (int)(status.st_mode & 07777);
    *target_out = target;
    return 0;
}

int troc_csv_writer_open_file(const char *path, unsigned flags, troc_csv_writer **writer_out) {
    assert(path != NULL && writer_out != NULL);
    size_t length = strlen(path);
    if (length == 0 || path[length - 1] == '/') return -EISDIR;
    troc_csv_writer *writer = NULL;
    int rc = writer_create(flags, false, NULL, 0, &writer);
    if (rc != 0) return rc;
    writer->owns_file = true;
    int mode = -1;
    rc = replaced_file(path, &writer->target_path, &mode);
    if (rc == 0) rc = create_temporary(writer, writer->target_path);
    if (rc == 0 && mode >= 0 && fchmod(writer->fd, (mode_t)mode) != 0) rc = -errno;
    if (rc != 0) {
        troc_csv_writer_abort(writer);
        return rc;
    }
    *writer_out = writer;
    return 0;
}

int troc_csv_writer_open_fd(int fd, unsigned flags, troc_csv_writer **writer_out) {
    assert(fd >= 0 && writer_out != NULL);
    troc_csv_writer *writer = NULL;
    int rc = writer_create(flags, false, NULL, 0, &writer);
    if (rc != 0) return rc;
    writer->fd = fd;
    *writer_out = writer;
    return 0;
}

int troc_csv_writer_open_memory(unsigned flags, troc_csv_writer **writer_out) {
    assert(writer_out != NULL);
    return writer_create(flags, true, NULL, 0, writer_out);
}

int troc_csv_writer_open_memory_in(unsigned flags, char *buffer, size_t capacity, troc_csv_writer **writer_out) {
    assert(buffer != NULL && capacity > 0 && writer_out != NULL);
    return writer_create(flags, true, buffer, capacity, writer_out);
}

void troc_csv_writer_append_kept(troc_csv_writer *writer, troc_csv_writer *memory) {
    assert(writer != NULL && memory != NULL && memory->memory);
    assert(writer->fields == 0 && memory->fields == 0);
    if (writer->error == 0) writer->error = memory->error;
    put(writer, memory->buffer, memory->used);
    memory->used = 0;
    memory->error = 0;
}

void troc_csv_writer_append(troc_csv_writer *writer, troc_csv_writer *memory) {
    troc_csv_writer_append_kept(writer, memory);
    troc_csv_writer_abort(memory);
}

void troc__csv_write_fields(troc_csv_writer *writer, const char *text, size_t length, size_t field_count) {
    assert(writer != NULL && field_count >= 2);
    if (writer->fields > 0) put(writer, ",", 1);
    put(writer, text, length);
    writer->fields += field_count;
    writer->last_field_empty = false; /* unused past the first field */
}

void troc_csv_write_field(troc_csv_writer *writer, const char *text, size_t length) {
    assert(writer != NULL);
    assert(text != NULL || length == 0);
    if (writer->fields > 0) put(writer, ",", 1);
    writer->fields++;
    writer->last_field_empty = length == 0;
    /* A field starting with U+FEFF is quoted: first in a file, it would be
     * read back as a byte-order mark and dropped. */
    bool quote = length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0;
    for (size_t i = 0; i < length && !quote; i++) {
        char c = text[i];
        /* Every byte that needs quoting is at most ',' (0x2C). */
        quote = (unsigned char)c <= ',' && (c == ',' || c == '"' || c == '\n' || c == '\r');
    }
    if (!quote) {
        put(writer, text, length);
        return;
    }
    put(writer, "\"", 1);
    const char *end = text + length;
    while (text < end) {
        const char *q = memchr(text, '"', (size_t)(end - text));
        size_t run = q == NULL ? (size_t)(end - text) : (size_t)(q - text) + 1;
        put(writer, text, run);
        if (q != NULL) put(writer, "\"", 1);
        text += run;
    }
    put(writer, "\"", 1);
}

void troc_csv_write_text(troc_csv_writer *writer, const char *text) {
    assert(text != NULL);
    troc_csv_write_field(writer, text, strlen(text));
}

void troc_csv_write_amount(troc_csv_writer *writer, int64_t cents) {
    assert(writer != NULL);
    /* Digits, a point and perhaps a minus: never quoted, never empty. */
    if (writer->fields > 0) put(writer, ",", 1);
    if (writer->capacity - writer->used >= TROC_AMOUNT_TEXT_SIZE) {
        /* Straight into the buffer (its NUL is overwritten by what follows). */
        writer->used += troc_amount_write(cents, writer->buffer + writer->used);
    } else {
        char text[TROC_AMOUNT_TEXT_SIZE];
        const size_t length = troc_amount_write(cents, text);
        put(writer, text, length);
    }
    writer->fields++;
    writer->last_field_empty = false;
}

void troc_csv_write_row_end(troc_csv_writer *writer) {
    assert(writer != NULL);
    assert(writer->fields > 0);
    if (writer->fields == 1 && writer->last_field_empty) put(writer, "\"\"", 2);
    if (writer->flags & TROC_CSV_WRITE_CRLF) {
        put(writer, "\r\n", 2);
    } else {
        put(writer, "\n", 1);
    }
    writer->fields = 0;
}

int troc_csv_writer_finish(troc_csv_writer *writer) {
    assert(writer != NULL && !writer->memory);
    assert(writer->fields == 0);
    flush(writer);
    if (writer->owns_file && writer->fd >= 0) {
        if (writer->error == 0 && fsync(writer->fd) != 0) writer->error = -errno;
        if (close(writer->fd) != 0 && writer->error == 0) writer->error = -errno;
        writer->fd = -1;
    }
    return writer->error;
}

int troc_csv_writer_commit(troc_csv_writer *writer) {
    assert(writer != NULL);
    assert(writer->used == 0 && (!writer->owns_file || writer->fd < 0)); /* finished */
    int rc = writer->error;
    if (rc == 0 && writer->owns_file) {
        if (rename(writer->temporary_path, writer->target_path) == 0) {
            temporary_unlist(writer);
            free(writer->temporary_path);
            writer->temporary_path = NULL;
        } else {
            rc = -errno;
        }
    }
    troc_csv_writer_abort(writer);
    return rc;
}

void troc_csv_writer_abort(troc_csv_writer *writer) {
    if (writer == NULL) return;
    if (writer->owns_file && writer->fd >= 0) close(writer->fd);
    if (writer->temporary_path != NULL) unlink(writer->temporary_path);
    temporary_unlist(writer);
    free(writer->temporary_path);
    free(writer->target_path);
    if (!writer->lent) free(writer->buffer);
    free(writer);
}
