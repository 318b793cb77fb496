/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hot backups: a consistent, compacted copy of the ledger taken while it
 * keeps serving.
 *
 * The copy is LMDB's own (mdb_env_copyfd2 with MDB_CP_COMPACT): one read
 * transaction walks every database and writes its live pages, renumbered,
 * so the copy holds no free pages and is the state of one commit.  Writers
 * are never blocked by it; they only cannot reuse the pages freed while it
 * runs.  The copy holds the map lock shared like any read (ledger.c), so
 * the map is not grown under it.
 *
 * Where it goes.  DEST must not exist or be an empty directory; a symbolic
 * link is followed, and the copy goes where it leads.  The copy
 * is written into a temporary sibling, `PARENT/.NAME.partial-XXXXXX` (mode
 * 0700), as data.mdb, with the territory's key file beside it, because a
 * restored ledger cannot serve without its key (the daemon signs its
 * handshake and clearing rounds with it).  Both files are synced, the copy
 * is opened once (without a lock file) to check that it is a ledger of
 * this territory and to count its journal entries, the directory is synced
 * and renamed to DEST, and the parent is synced.  A failure removes the
 * temporary directory; a crash may leave one behind, whose name says what
 * it is, but never anything at DEST.
 *
 * Cancelling.  LMDB's copy cannot be interrupted, so it writes into a pipe
 * from a thread of its own, and this thread pumps the pipe into the file.
 * To stop early (the daemon is stopping, or the disk is full) the pump
 * closes the pipe: LMDB's next write fails with EPIPE (SIGPIPE is blocked
 * in the copying threads, which LMDB's own writer thread inherits) and the
 * copy returns at once.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"
#include "ledger_int.h"

/* Bytes moved from the pipe to the file at a time. */
#define PUMP_CHUNK_SIZE (1024u * 1024u)

/* The name of the copy's data file and of the key file inside a ledger. */
#define DATA_FILE "data.mdb"

/* The parts of a destination path, and the temporary directory beside it. */
typedef struct backup_paths {
    char destination[TROC_BACKUP_PATH_LENGTH_MAX + 1]; /* without trailing slashes */
    char parent[TROC_BACKUP_PATH_LENGTH_MAX + 1];
    char temporary[PATH_MAX];              /* PARENT/.NAME.partial-XXXXXX, once created */
    bool created;                          /* `temporary` exists */
} backup_paths;

/* The copy running on its own thread, into the write end of a pipe. */
typedef struct copy_job {
    MDB_env *env;
    int fd;                                /* the pipe's write end; closed by the thread */
    int rc;                                /* mdb_env_copyfd2's answer */
} copy_job;

__attribute__((format(printf, 3, 4))) static int fail(troc_backup_report *report, int rc, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(report->detail, sizeof report->detail, format, args);
    va_end(args);
    return rc;
}

static const char *error_text(int rc) {
    if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) return mdb_strerror(rc);
    return troc_strerror(rc);
}

/* Splits and checks `destination`: absolute, bounded, printable. */
static int paths_split(const char *destination, backup_paths *paths, troc_backup_report *report) {
    assert(destination != NULL && paths != NULL);
    size_t length = strlen(destination);
    if (length == 0 || destination[0] != '/') {
        return fail(report, TROC_EUSAGE, "the backup's destination must be an absolute path on the daemon's machine");
    }
    if (length > TROC_BACKUP_PATH_LENGTH_MAX || !troc_text_valid(destination, length)) {
        return fail(report, TROC_EUSAGE, "the backup's destination must be valid text of at most %d bytes",
                    TROC_BACKUP_PATH_LENGTH_MAX);
    }
    memcpy(paths->destination, destination, length + 1);
    while (length > 1 && paths->destination[length - 1] == '/') paths->destination[--length] = '\0';
    const char *slash = strrchr(paths->destination, '/');
    const char *name = slash + 1;
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return fail(report, TROC_EUSAGE, "the backup's destination must name a directory (not '/', '.' or '..')");
    }
    size_t parent_length = slash == paths->destination ? 1 : (size_t)(slash - paths->destination);
    assert(parent_length >= 1 && parent_length < length);
    memcpy(paths->parent, paths->destination, parent_length);
    paths->parent[parent_length] = '\0';
    int written = snprintf(paths->temporary, sizeof paths->temporary, "%s/.%s.partial-XXXXXX",
                           parent_length == 1 ? "" : paths->parent, name);
    assert(written > 0 && (size_t)written < sizeof paths->temporary);
    (void)written; /* read by the assertion only */
    return 0;
}

/* 0 when `path` holds nothing but "." and "..", TROC_ENOT_EMPTY otherwise. */
static int directory_empty(const char *path) {
    DIR *directory = opendir(path);
    if (directory == NULL) return -errno;
    int rc = 0;
    struct dirent *entry;
    /* Bounded by the directory's entries; stops at the first real one. */
    while (rc == 0 && (entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) rc = TROC_ENOT_EMPTY;
    }
    closedir(directory);
    return rc;
}

/* The destination must not exist or be an empty directory, in an existing
 * directory. */
static int destination_check(const backup_paths *paths, troc_backup_report *report) {
    struct stat st;
    if (stat(paths->parent, &st) != 0) {
        int rc = -errno;
        return fail(report, rc, "cannot use %s for the backup: %s", paths->parent, troc_strerror(rc));
    }
    if (!S_ISDIR(st.st_mode)) return fail(report, -ENOTDIR, "%s is not a directory", paths->parent);
    if (lstat(paths->destination, &st) != 0) {
        if (errno == ENOENT) return 0;
        int rc = -errno;
        return fail(report, rc, "cannot use %s for the backup: %s", paths->destination, troc_strerror(rc));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fail(report, -EEXIST, "%s exists and is not a directory; name a new or empty directory",
                    paths->destination);
    }
    int rc = directory_empty(paths->destination);
    if (rc == TROC_ENOT_EMPTY) {
        return fail(report, rc, "%s is not empty; name a new or empty directory", paths->destination);
    }
    if (rc != 0) return fail(report, rc, "cannot read %s: %s", paths->destination, troc_strerror(rc));
    return 0;
}

/* DEST a symbolic link: the copy goes where the link leads, so that a link
 * to an empty directory is taken as that directory, as cp or mkdir -p
 * would take it; the link itself stays as it is.  A link that leads
 * nowhere is refused as a link, not as "not a directory". */
static int destination_follow_link(backup_paths *paths, troc_backup_report *report) {
    struct stat st;
    if (lstat(paths->destination, &st) != 0 || !S_ISLNK(st.st_mode)) return 0;
    char *target = realpath(paths->destination, NULL);
    if (target == NULL) {
        int rc = -errno;
        return fail(report, rc, "%s is a symbolic link that leads nowhere (%s); point it at a new or empty "
                                "directory, or name the directory itself", paths->destination, troc_strerror(rc));
    }
    int rc = 0;
    if (strlen(target) > TROC_BACKUP_PATH_LENGTH_MAX) {
        rc = fail(report, TROC_EUSAGE, "%s is a symbolic link to a path longer than %d bytes; name a shorter one",
                  paths->destination, TROC_BACKUP_PATH_LENGTH_MAX);
    } else {
        rc = paths_split(target, paths, report);
    }
    free(target);
    return rc;
}

/* ------------------------------------------------------------ copying */

static void *copy_thread(void *argument) {
    copy_job *job = argument;
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, NULL);
    job->rc = mdb_env_copyfd2(job->env, job->fd, MDB_CP_COMPACT);
    close(job->fd);
    return NULL;
}

/* Moves what the pipe carries into `file` until the copy ends, the disk
 * refuses, or `cancel` is set; closes `pipe_fd` in every case. */
static int pump(int pipe_fd, int file, const atomic_bool *cancel, uint64_t *bytes_out) {
    assert(pipe_fd >= 0 && file >= 0 && bytes_out != NULL);
    uint8_t *chunk = malloc(PUMP_CHUNK_SIZE);
    int rc = chunk != NULL ? 0 : -ENOMEM;
    /* Bounded by the size of the ledger: every pass moves at least a byte
     * or ends. */
    while (rc == 0) {
        if (cancel != NULL && atomic_load(cancel)) {
            rc = -ECANCELED;
            break;
        }
        ssize_t got = read(pipe_fd, chunk, PUMP_CHUNK_SIZE);
        if (got == 0) break;
        if (got < 0) {
            if (errno != EINTR) rc = -errno;
            continue;
        }
        /* Bounded by `got`: each write moves at least a byte. */
        for (ssize_t done = 0; rc == 0 && done < got;) {
            ssize_t written = write(file, chunk + done, (size_t)(got - done));
            if (written < 0 && errno != EINTR) rc = -errno;
            if (written > 0) done += written;
        }
        if (rc == 0) *bytes_out += (uint64_t)got;
    }
    free(chunk);
    close(pipe_fd);                        /* on failure, makes LMDB's next write fail */
    return rc;
}

/* Copies the environment into `path` (a new file), synced. */
static int copy_data(troc_ledger *ledger, const char *path, const atomic_bool *cancel, uint64_t *bytes_out,
                     troc_backup_report *report) {
    assert(ledger != NULL && ledger->env != NULL && path != NULL);
    assert(*bytes_out == 0);
    int file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (file < 0) return fail(report, -errno, "cannot create %s: %s", path, strerror(errno));
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        int rc = -errno;
        close(file);
        return fail(report, rc, "cannot start the copy: %s", troc_strerror(rc));
    }
    copy_job job = {.env = ledger->env, .fd = pipe_fds[1]};
    pthread_t thread;
    int rc = -pthread_create(&thread, NULL, copy_thread, &job);
    if (rc != 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        close(file);
        return fail(report, rc, "cannot start the copy: %s", troc_strerror(rc));
    }
    int pumped = pump(pipe_fds[0], file, cancel, bytes_out);
    pthread_join(thread, NULL);
    rc = pumped;
    if (rc == 0 && job.rc != 0) rc = job.rc > 0 ? -job.rc : job.rc;
    if (rc == 0 && fsync(file) != 0) rc = -errno;
    if (close(file) != 0 && rc == 0) rc = -errno;
    if (rc == -ECANCELED) return fail(report, rc, "the backup was cancelled (the daemon is stopping)");
    if (rc != 0) return fail(report, rc, "cannot copy the ledger to %s: %s", path, error_text(rc));
    return 0;
}

/* Opens the copy without a lock file: it must be a ledger of this
 * territory; counts its journal entries. */
static int copy_check(const troc_ledger *ledger, const char *directory, uint64_t *entries_out,
                      troc_backup_report *report) {
    assert(ledger != NULL && directory != NULL && entries_out != NULL);
    troc_ledger *copy = NULL;
    int rc = troc__ledger_open_env(&copy, directory, 0, TROC__OPEN_READ_ONLY | TROC__OPEN_NO_LOCK);
    if (rc == 0 && memcmp(copy->territory_key, ledger->territory_key, TROC_PUBLIC_KEY_SIZE) != 0) rc = TROC_ECORRUPT;
    troc_ledger_read *read = NULL;
    troc_stats stats = {0};
    if (rc == 0) rc = troc_ledger_read_begin(copy, &read);
    if (rc == 0) rc = troc_ledger_stats(read, &stats);
    troc_ledger_read_end(read);
    troc_ledger_close(copy);
    if (rc != 0) return fail(report, TROC_ECORRUPT, "the copy in %s does not open as this ledger: %s", directory,
                             error_text(rc));
    assert(stats.journal_entries >= 1 && "a ledger holds at least its init entry");
    *entries_out = stats.journal_entries;
    return 0;
}

/* Copies data and key into the temporary directory, checks and syncs it. */
static int backup_write(troc_ledger *ledger, const backup_paths *paths, const atomic_bool *cancel,
                        troc_backup_report *report) {
    assert(paths->created);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", paths->temporary, DATA_FILE);
    int rc = pthread_rwlock_rdlock(&ledger->map_lock);
    if (rc != 0) return fail(report, -rc, "cannot start the copy: %s", troc_strerror(-rc));
    rc = copy_data(ledger, path, cancel, &report->bytes, report);
    pthread_rwlock_unlock(&ledger->map_lock);
    if (rc != 0) return rc;
    if (ledger->has_keypair) {
        snprintf(path, sizeof path, "%s/%s", paths->temporary, TROC__KEY_FILE);
        rc = troc_keyfile_write(path, &ledger->keypair);
        if (rc != 0) return fail(report, rc, "cannot write %s: %s", path, troc_strerror(rc));
    }
    rc = copy_check(ledger, paths->temporary, &report->journal_entries, report);
    if (rc == 0 && (rc = troc__directory_sync(paths->temporary)) != 0) {
        return fail(report, rc, "cannot sync %s: %s", paths->temporary, troc_strerror(rc));
    }
    return rc;
}

/* Removes the temporary directory and what the backup put in it. */
static void temporary_remove(const backup_paths *paths) {
    static const char *const names[] = {DATA_FILE, TROC__KEY_FILE, "lock.mdb"};
    char path[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", paths->temporary, names[i]);
        unlink(path);
    }
    rmdir(paths->temporary);
}

int troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                       troc_backup_report *report) {
    assert(ledger != NULL && destination != NULL && report != NULL);
    assert(!ledger->read_only);
    memset(report, 0, sizeof *report);
    backup_paths *paths = calloc(1, sizeof *paths);
    if (paths == NULL) return fail(report, -ENOMEM, "out of memory");
    int rc = paths_split(destination, paths, report);
    if (rc == 0) rc = destination_follow_link(paths, report);
    if (rc == 0) rc = destination_check(paths, report);
    if (rc == 0 && mkdtemp(paths->temporary) == NULL) {
        /* DEST may be empty and writable: what failed is its sibling, which
         * the operator may not know the copy needs. */
        int error = errno;
        bool permission = error == EACCES || error == EPERM;
        rc = fail(report, -error, "cannot create %s: %s (the copy is written next to %s, then renamed into place%s%s)",
                  paths->temporary, strerror(error), paths->destination,
                  permission ? ": the daemon needs write permission in " : "", permission ? paths->parent : "");
    }
    paths->created = rc == 0;
    if (rc == 0) rc = backup_write(ledger, paths, cancel, report);
    if (rc == 0 && rename(paths->temporary, paths->destination) != 0) {
        rc = errno == ENOTEMPTY || errno == EEXIST
                 ? fail(report, TROC_ENOT_EMPTY, "%s was filled during the backup", paths->destination)
                 : fail(report, -errno, "cannot rename the copy to %s: %s", paths->destination, strerror(errno));
    }
    if (rc == 0) {
        paths->created = false;
        int synced = troc__directory_sync(paths->parent);
        if (synced != 0) rc = fail(report, synced, "cannot sync %s: %s", paths->parent, troc_strerror(synced));
    }
    if (paths->created) temporary_remove(paths);
    free(paths);
    assert(rc != 0 || report->journal_entries > 0);
    return rc;
}
