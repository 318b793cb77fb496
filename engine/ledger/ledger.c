/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ledger's lifecycle: creating a territory's ledger (init), opening and
 * closing it, and growing its LMDB map.
 *
 * One LMDB environment per ledger, in the data directory (data.mdb and
 * lock.mdb), beside the territory's key file (territory.key, mode 0600).
 * The environment is opened with MDB_NOTLS so that a read transaction is not
 * tied to the thread that began it (the server reads from its loop and its
 * thread pool), and with LMDB's default synced commits: a commit that
 * returned is on disk.  Stale reader slots of a killed process are cleared
 * at every open (mdb_reader_check).  The lock file's blocks are allocated
 * before LMDB maps it (lock_file_reserve), so that a full disk is an error
 * rather than SIGBUS.  The data file is never written through a map (no
 * MDB_WRITEMAP): LMDB writes it with pwrite, whose failures it returns.
 * A writable open checks the ledger cheaply before loading anything from
 * it (start_check.c): a damaged ledger is refused as TROC_ECORRUPT rather
 * than written to.
 *
 * Growing the map (mdb_env_set_mapsize) unmaps and maps the file again, so
 * it must not run while a read transaction of this process is open: LMDB
 * leaves that to the caller.  Every read holds `map_lock` shared (read.c,
 * backup.c) and growth holds it exclusively, waiting at most
 * TROC_LEDGER_GROW_WAIT_MS (a backup's read lasts the whole copy).
 *
 * Init writes the first journal entry, a NodeEvent{init} signed by the new
 * territory key, through troc__ledger_apply_init(), the same function
 * replay uses to start a scratch ledger: the initial state is itself a
 * fold of the journal.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

/* Named databases beyond ours: the journal's, and room for later ones. */
#define MAX_DBS (TROC__DB_COUNT + 8)

const char *const troc__db_names[TROC__DB_COUNT] = {
    [TROC__DB_META] = "meta",         [TROC__DB_MEMBERS] = "members",         [TROC__DB_BALANCES] = "balances",
    [TROC__DB_ACCOUNTS] = "accounts", [TROC__DB_PROFILES] = "profiles",       [TROC__DB_KEYS] = "keys",
    [TROC__DB_MEMBER_KEYS] = "member_keys",
    [TROC__DB_IDS] = "ids",           [TROC__DB_POSTINGS] = "postings",       [TROC__DB_CHECKPOINTS] = "checkpoints",
    [TROC__DB_LIMITS] = "limits",     [TROC__DB_INVOICES] = "invoices",
    [TROC__DB_MEMBER_INVOICES] = "member_invoices",                       [TROC__DB_LIVE_INVOICES] = "live_invoices",
    [TROC__DB_OBLIGATIONS] = "obligations",                               [TROC__DB_ROUNDS] = "rounds",
};

/* The next map size after `size`. */
static size_t map_size_next(size_t size) {
    size_t step = size < TROC_LEDGER_MAP_GROWTH_MAX ? size : (size_t)TROC_LEDGER_MAP_GROWTH_MAX;
    size_t next = size + step;
    return next < TROC_LEDGER_MAP_SIZE_MAX ? next : (size_t)TROC_LEDGER_MAP_SIZE_MAX;
}

/* The map size to open with: the initial size, grown until the data file
 * takes at most half of it. */
static size_t map_size_policy(const char *directory) {
    char path[PATH_MAX];
    struct stat st;
    size_t size = TROC_LEDGER_MAP_SIZE_INITIAL;
    if (snprintf(path, sizeof path, "%s/data.mdb", directory) >= (int)sizeof path) return size;
    if (stat(path, &st) != 0) return size;
    /* Bounded: each step grows the size until TROC_LEDGER_MAP_SIZE_MAX. */
    while (size < TROC_LEDGER_MAP_SIZE_MAX && size / 2 < (size_t)st.st_size) size = map_size_next(size);
    return size;
}

/* Opens every database in one transaction (creating them when asked). */
static int databases_open(troc_ledger *ledger, bool create) {
    MDB_txn *txn = NULL;
    unsigned txn_flags = ledger->read_only ? MDB_RDONLY : 0;
    unsigned dbi_flags = create ? MDB_CREATE : 0;
    int rc = mdb_txn_begin(ledger->env, NULL, txn_flags, &txn);
    if (rc != 0) return rc;
    for (int i = 0; i < TROC__DB_COUNT && rc == 0; i++) {
        rc = mdb_dbi_open(txn, troc__db_names[i], dbi_flags, &ledger->dbs[i]);
    }
    if (rc == 0) rc = troc_journal_open(&ledger->journal, txn, ledger->dbs[TROC__DB_META], dbi_flags);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc;
    }
    return mdb_txn_commit(txn);
}

/* Gets meta record `name`, which must hold size_min .. size_max bytes. */
static int meta_get(MDB_txn *txn, const troc_ledger *ledger, const char *name, size_t size_min, size_t size_max,
                    MDB_val *value) {
    MDB_val key = {strlen(name), (void *)name};
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_META], &key, value);
    if (rc == MDB_NOTFOUND) return TROC_ECORRUPT;
    if (rc != 0) return rc;
    return value->mv_size >= size_min && value->mv_size <= size_max ? 0 : TROC_ECORRUPT;
}

/* Loads territory, unit and territory key from meta, checking the format. */
static int meta_load(troc_ledger *ledger) {
    MDB_txn *txn = NULL;
    MDB_val value;
    int rc = mdb_txn_begin(ledger->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return rc;
    if ((rc = meta_get(txn, ledger, "format", 4, 4, &value)) != 0) goto done;
    if (troc__be32_read(value.mv_data) != TROC__FORMAT_VERSION) {
        rc = TROC_EFORMAT;
        goto done;
    }
    if ((rc = meta_get(txn, ledger, "territory", 1, TROC_NAME_LENGTH_MAX, &value)) != 0) goto done;
    memcpy(ledger->territory, value.mv_data, value.mv_size);
    ledger->territory[value.mv_size] = '\0';
    if ((rc = meta_get(txn, ledger, "unit", 1, TROC_UNIT_LENGTH_MAX, &value)) != 0) goto done;
    memcpy(ledger->unit, value.mv_data, value.mv_size);
    ledger->unit[value.mv_size] = '\0';
    if ((rc = meta_get(txn, ledger, "territory_key", TROC_PUBLIC_KEY_SIZE, TROC_PUBLIC_KEY_SIZE, &value)) != 0) {
        goto done;
    }
    memcpy(ledger->territory_key, value.mv_data, TROC_PUBLIC_KEY_SIZE);
done:
    mdb_txn_abort(txn);
    return rc;
}

/* Allocates the write transaction's cache (once, at open). */
static int write_cache_allocate(troc_ledger *ledger) {
    troc_ledger_write *write = &ledger->write;
    write->ledger = ledger;
    write->slot_epoch = 1;
    write->slots = calloc(TROC_WRITE_ACCOUNTS_MAX, sizeof *write->slots);
    write->flush_order = calloc(2 * TROC_WRITE_ACCOUNTS_MAX, sizeof *write->flush_order);
    if (write->slots == NULL || write->flush_order == NULL) return -ENOMEM;
    return 0;
}

/* Loads the member directory of a writable ledger (none when creating). */
static int directory_open(troc_ledger *ledger) {
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ledger->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return rc;
    MDB_val key = {sizeof "state" - 1, "state"}, value;
    troc__state state = {0};
    rc = mdb_get(txn, ledger->dbs[TROC__DB_META], &key, &value);
    if (rc == MDB_NOTFOUND) rc = 0; /* a ledger whose init did not finish: no member */
    else if (rc == 0) rc = troc__state_decode(&value, &state);
    if (rc == 0) {
        rc = troc__directory_load(&ledger->members, txn, ledger->dbs[TROC__DB_MEMBERS], ledger->dbs[TROC__DB_KEYS],
                                  state.member_count);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* Allocates the blocks of DIR/lock.mdb before LMDB maps it.  LMDB sizes a
 * new lock file with ftruncate, which allocates nothing, then writes it
 * through a shared map: on a full disk that write raises SIGBUS and kills
 * the process without a word.  With the blocks allocated here a full disk
 * is -ENOSPC, told like any other.  A file that has a size keeps it (LMDB
 * derives its reader slots from it, and another process may have mapped
 * it) and only has its holes filled.  A read-only open on a read-only file
 * system has no lock file, as in LMDB. */
static int lock_file_reserve(const char *directory, bool read_only) {
    char path[PATH_MAX + 16];
    if (snprintf(path, sizeof path, "%s/lock.mdb", directory) >= (int)sizeof path) return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return read_only && errno == EROFS ? 0 : -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0) rc = -posix_fallocate(fd, 0, st.st_size > 0 ? st.st_size : (off_t)TROC_LEDGER_LOCK_FILE_SIZE);
    close(fd);
    return rc;
}

/* A data file shorter than the pages its meta page counts (a copy cut
 * short: a full disk, an interrupted transfer) would be read through a
 * mapping past its end, and the first page beyond it would kill the
 * process (SIGBUS): it is refused as corrupt before any is read. */
static int data_file_whole(MDB_env *env, const MDB_envinfo *info) {
    MDB_stat stat_info;
    int rc = mdb_env_stat(env, &stat_info);
    if (rc != 0) return rc;
    mdb_filehandle_t fd;
    if ((rc = mdb_env_get_fd(env, &fd)) != 0) return rc;
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    const uint64_t needed = ((uint64_t)info->me_last_pgno + 1) * stat_info.ms_psize;
    return (uint64_t)st.st_size < needed ? TROC_ECORRUPT : 0;
}

/* Creates and opens the LMDB environment with the given flags. */
static int environment_open(troc_ledger *ledger, size_t map_size_bytes, unsigned flags) {
    unsigned env_flags = MDB_NOTLS;
    if (flags & TROC__OPEN_SCRATCH) env_flags |= MDB_NOSYNC;
    if (flags & TROC__OPEN_READ_ONLY) env_flags |= MDB_RDONLY;
    if (flags & TROC__OPEN_NO_LOCK) env_flags |= MDB_NOLOCK;
    int rc = mdb_env_create(&ledger->env);
    if (rc != 0) return rc;
    ledger->map_size_bytes = map_size_bytes != 0 ? map_size_bytes : map_size_policy(ledger->directory);
    if ((rc = mdb_env_set_maxdbs(ledger->env, MAX_DBS)) != 0) return rc;
    if ((rc = mdb_env_set_mapsize(ledger->env, ledger->map_size_bytes)) != 0) return rc;
    if (!(flags & TROC__OPEN_NO_LOCK) && (rc = lock_file_reserve(ledger->directory, ledger->read_only)) != 0) {
        return rc;
    }
    if ((rc = mdb_env_open(ledger->env, ledger->directory, env_flags, 0600)) != 0) return rc;
    MDB_envinfo info;
    if ((rc = mdb_env_info(ledger->env, &info)) != 0) return rc;
    ledger->map_size_bytes = info.me_mapsize;
    if ((rc = data_file_whole(ledger->env, &info)) != 0) return rc;
    if (flags & TROC__OPEN_NO_LOCK) return 0;
    return mdb_reader_check(ledger->env, &ledger->stale_readers);
}

/* One writer per ledger.  A second process writing the same environment
 * (say, two trocd started on one directory) would keep its own caches of
 * balances, running sums and the journal head and corrupt the state, so a
 * writable open takes an exclusive lock on the ledger's directory itself,
 * held until close; the second open gets -EBUSY.  The directory, not a
 * file in it: a lock file can be deleted by someone who takes it for a
 * stale one, and the next open would lock a new file while the first
 * writer still runs.  flock locks belong to the open file description and
 * are released by the kernel when a process dies, so a killed trocd never
 * leaves a stale lock behind. */
static int writer_lock_take(troc_ledger *ledger) {
    int fd = open(ledger->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return rc;
    }
    ledger->lock_fd = fd;
    return 0;
}

int troc__directory_sync(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int troc__ledger_open_env(troc_ledger **ledger_out, const char *directory, size_t map_size_bytes, unsigned flags) {
    assert(ledger_out != NULL && directory != NULL);
    *ledger_out = NULL;
    troc_ledger *ledger = calloc(1, sizeof *ledger);
    if (ledger == NULL) return -ENOMEM;
    ledger->lock_fd = -1;
    ledger->replaying = (flags & TROC__OPEN_SCRATCH) != 0;
    int rc = 0;
    if (snprintf(ledger->directory, sizeof ledger->directory, "%s", directory) >= (int)sizeof ledger->directory) {
        rc = -ENAMETOOLONG;
        goto fail;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/data.mdb", directory);
    if (!(flags & TROC__OPEN_CREATE) && access(path, F_OK) != 0) {
        rc = errno == ENOENT ? TROC_ENOT_FOUND : -errno;
        goto fail;
    }
    /* An empty data file is a ledger lost (a copy that failed at once), not
     * one to create: LMDB would write fresh meta pages into it. */
    struct stat data_stat;
    if (!(flags & TROC__OPEN_CREATE) && stat(path, &data_stat) == 0 && S_ISREG(data_stat.st_mode) &&
        data_stat.st_size == 0) {
        rc = TROC_ECORRUPT;
        goto fail;
    }
    ledger->read_only = (flags & TROC__OPEN_READ_ONLY) != 0;
    if ((rc = -pthread_rwlock_init(&ledger->map_lock, NULL)) != 0) goto fail;
    ledger->map_lock_ready = true;
    if (!ledger->read_only && (rc = writer_lock_take(ledger)) != 0) goto fail;
    if ((rc = environment_open(ledger, map_size_bytes, flags)) != 0) goto fail;
    if ((rc = databases_open(ledger, (flags & TROC__OPEN_CREATE) != 0)) != 0) goto fail;
    if (!(flags & TROC__OPEN_CREATE) && (rc = meta_load(ledger)) != 0) goto fail;
    if (!ledger->read_only && (rc = write_cache_allocate(ledger)) != 0) goto fail;
    *ledger_out = ledger;
    return 0;
fail:
    troc_ledger_close(ledger);
    return troc__lmdb_error(rc);
}

int troc__ledger_key_read(const troc_ledger *ledger, const char *directory, troc_keypair *keypair) {
    assert(ledger != NULL && directory != NULL && keypair != NULL);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", directory, TROC__KEY_FILE);
    int rc = troc_keyfile_read(path, keypair);
    if (rc == 0 && memcmp(keypair->public_key, ledger->territory_key, TROC_PUBLIC_KEY_SIZE) != 0) {
        rc = TROC_EKEYFILE;
    }
    return rc;
}

/* The writer is about to append to what it opened: the start check runs
 * before anything is loaded from the data (the member directory trusts
 * the state's member count) or written to it. */
int troc_ledger_open_sized(troc_ledger **ledger_out, const char *directory, size_t map_size_bytes,
                           char problem[TROC_LEDGER_PROBLEM_SIZE]) {
    assert(ledger_out != NULL && directory != NULL);
    *ledger_out = NULL;
    char ignored[TROC_LEDGER_PROBLEM_SIZE];
    if (problem == NULL) problem = ignored;
    problem[0] = '\0';
    troc_ledger *ledger = NULL;
    int rc = troc__ledger_open_env(&ledger, directory, map_size_bytes, 0);
    if (rc != 0) return rc;
    if ((rc = troc__ledger_start_check(ledger, problem, TROC_LEDGER_PROBLEM_SIZE)) != 0) goto fail;
    if ((rc = directory_open(ledger)) != 0) goto fail;
    if ((rc = troc__ledger_key_read(ledger, directory, &ledger->keypair)) != 0) goto fail;
    ledger->has_keypair = true;
    *ledger_out = ledger;
    return 0;
fail:
    troc_ledger_close(ledger);
    return troc__lmdb_error(rc);
}

int troc_ledger_open(troc_ledger **ledger_out, const char *directory) {
    return troc_ledger_open_sized(ledger_out, directory, 0, NULL);
}

void troc_ledger_close(troc_ledger *ledger) {
    if (ledger == NULL) return;
    if (ledger->writing) troc_ledger_write_abort(&ledger->write);
    if (ledger->env != NULL) mdb_env_close(ledger->env);
    if (ledger->map_lock_ready) pthread_rwlock_destroy(&ledger->map_lock);
    if (ledger->lock_fd >= 0) close(ledger->lock_fd);
    free(ledger->write.slots);
    free(ledger->write.flush_order);
    troc__directory_free(&ledger->members);
    memset(&ledger->keypair, 0, sizeof ledger->keypair);
    free(ledger);
}

const troc_keypair *troc_ledger_territory_keypair(const troc_ledger *ledger) {
    assert(ledger != NULL && ledger->has_keypair);
    return &ledger->keypair;
}

const char *troc_ledger_territory(const troc_ledger *ledger) {
    assert(ledger != NULL);
    return ledger->territory;
}

const char *troc_ledger_unit(const troc_ledger *ledger) {
    assert(ledger != NULL);
    return ledger->unit;
}

size_t troc_ledger_map_size(const troc_ledger *ledger) {
    assert(ledger != NULL);
    return ledger->map_size_bytes;
}

int troc_ledger_stale_readers(const troc_ledger *ledger) {
    assert(ledger != NULL);
    return ledger->stale_readers;
}

/* Takes the map lock exclusively, waiting at most TROC_LEDGER_GROW_WAIT_MS
 * for the reads in progress: 0, or TROC_EBUSY. */
static int map_lock_exclusive(troc_ledger *ledger) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += TROC_LEDGER_GROW_WAIT_MS / 1000;
    deadline.tv_nsec += (long)(TROC_LEDGER_GROW_WAIT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = pthread_rwlock_timedwrlock(&ledger->map_lock, &deadline);
    if (rc == ETIMEDOUT) return TROC_EBUSY;
    assert(rc == 0);
    return 0;
}

int troc_ledger_grow(troc_ledger *ledger) {
    assert(ledger != NULL && !ledger->writing);
    if (ledger->map_size_bytes >= TROC_LEDGER_MAP_SIZE_MAX) return TROC_ELIMIT;
    struct statvfs vfs;
    if (statvfs(ledger->directory, &vfs) != 0) return -errno;
    if ((unsigned long long)vfs.f_bavail * vfs.f_frsize < TROC_LEDGER_DISK_FREE_MIN) return -ENOSPC;
    size_t next = map_size_next(ledger->map_size_bytes);
    int rc = map_lock_exclusive(ledger);
    if (rc != 0) return rc;
    rc = mdb_env_set_mapsize(ledger->env, next);
    pthread_rwlock_unlock(&ledger->map_lock);
    if (rc != 0) return troc__lmdb_error(rc);
    ledger->map_size_bytes = next;
    assert(ledger->map_size_bytes <= TROC_LEDGER_MAP_SIZE_MAX);
    return 0;
}
