/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The working directory of a harness that runs a ledger and a server:
 * one name per process, PARENT/PREFIX-PID.
 *
 * libFuzzer leaves through _Exit when it finds a crash or a timeout, so a
 * harness's atexit handler, which removes its directory, does not run on
 * exactly the runs worth keeping; a long campaign would pile up ledgers in
 * /dev/shm or /tmp.  Naming the directory after the process lets the next
 * harness of the same kind tell a leftover (its process is gone) from the
 * directory of a harness still running (another libFuzzer worker), and
 * remove only the leftovers before it makes its own.
 */
#ifndef TROC_FUZZ_WORKDIR_H
#define TROC_FUZZ_WORKDIR_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int fuzz_workdir_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes `path` and all it holds; a missing path is not an error. */
static inline void fuzz_workdir_remove(const char *path) {
    nftw(path, fuzz_workdir_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The process an entry PREFIX-PID of the parent belongs to, or 0 when the
 * name is not of that form (mkdtemp names of older harnesses are left). */
static inline pid_t fuzz_workdir_owner(const char *name, const char *prefix) {
    size_t length = strlen(prefix);
    if (strncmp(name, prefix, length) != 0 || name[length] != '-' || name[length + 1] == '\0') return 0;
    long pid = 0;
    for (const char *c = name + length + 1; *c != '\0'; c++) {
        if (*c < '0' || *c > '9' || pid > 10000000) return 0;
        pid = pid * 10 + (*c - '0');
    }
    return (pid_t)pid;
}

/* Removes the directories PARENT/PREFIX-PID of processes that no longer
 * run (and one of this process's id: a leftover of a dead process whose id
 * came back), then creates this process's own into `out`.  Returns 0, or
 * -1 when it cannot be created. */
static inline int fuzz_workdir_create(const char *parent, const char *prefix, char *out, size_t size) {
    DIR *directory = opendir(parent);
    /* Bounded by the entries of the parent. */
    for (struct dirent *entry; directory != NULL && (entry = readdir(directory)) != NULL;) {
        pid_t owner = fuzz_workdir_owner(entry->d_name, prefix);
        if (owner <= 0) continue;
        bool gone = owner == getpid() || (kill(owner, 0) != 0 && errno == ESRCH);
        if (!gone) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", parent, entry->d_name);
        fuzz_workdir_remove(path);
    }
    if (directory != NULL) closedir(directory);
    int written = snprintf(out, size, "%s/%s-%ld", parent, prefix, (long)getpid());
    if (written < 0 || (size_t)written >= size) return -1;
    return mkdir(out, 0700);
}

#endif /* TROC_FUZZ_WORKDIR_H */
