/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What trocd says of the territory's key file when the ledger refuses it:
 * `trocd run` cannot serve without it, and `trocd verify` warns of what
 * run would refuse, in the same words, so that the two never disagree.
 * Each message names the file and says what to do: restore it, the chmod
 * that makes it private, or run as the user that may read it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "trocd.h"

#define RESTORE_HINT "restore it from the ledger's backup (docs/operations.md, \"Backups\")"

/* DATA/territory.key into `path`. */
static void key_file_path(const char *data, char *path, size_t size) {
    size_t length = strlen(data);
    snprintf(path, size, "%s%s" TROC_LEDGER_KEY_FILE, data, length > 0 && data[length - 1] == '/' ? "" : "/");
}

/* -EACCES may be about the ledger's files (data.mdb, lock.mdb), opened
 * first, or about the key file, read last: it is the key file's when the
 * others may be read and written and it may not. */
static bool key_file_denied(const char *data) {
    static const char *const ledger_files[] = {"data.mdb", "lock.mdb"};
    char path[4096 + sizeof TROC_LEDGER_KEY_FILE];
    for (size_t i = 0; i < sizeof ledger_files / sizeof ledger_files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", data, ledger_files[i]);
        if (access(path, R_OK | W_OK) != 0) return false;
    }
    key_file_path(data, path, sizeof path);
    return access(path, R_OK) != 0 && errno == EACCES;
}

bool troc__trocd_key_file_error(const char *data, int rc) {
    if (rc == -EACCES) return key_file_denied(data);
    return rc == -ENOENT || rc == -EPERM || rc == TROC_EKEYFILE;
}

void troc__trocd_key_file_describe(const char *data, int rc, char *message, size_t size) {
    char path[4096 + sizeof TROC_LEDGER_KEY_FILE];
    key_file_path(data, path, sizeof path);
    struct stat st;
    if (rc == -EACCES) {
        snprintf(message, size, "the territory's key file %s cannot be read by this user (%s); run trocd as the "
                 "user that owns the ledger, or make that user the file's owner (chown), keeping it mode 600",
                 path, troc_strerror(rc));
    } else if (rc == -ENOENT) {
        snprintf(message, size, "the territory's key file %s is missing; " RESTORE_HINT, path);
    } else if (rc == TROC_EKEYFILE && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        snprintf(message, size, "the territory's key file %s is not this territory's key (or not a key file); "
                 RESTORE_HINT, path);
    } else {
        char problem[1024 + sizeof path];
        troc_keyfile_describe_error(path, rc, problem, sizeof problem);
        snprintf(message, size, "the territory's key file %s", problem);
    }
}
