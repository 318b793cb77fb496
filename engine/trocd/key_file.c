/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What trocd says of the territory's key file when the ledger refuses it:
 * `trocd run` cannot serve without it, and `trocd verify` warns of what
 * run would refuse, in the same words, so that the two never disagree.
 * Each message names the file and says what to do: restore it, or the
 * chmod that makes it private.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "trocd.h"

#define RESTORE_HINT "restore it from the ledger's backup (docs/operations.md, \"Backups\")"

bool troc__trocd_key_file_error(int rc) {
    return rc == -ENOENT || rc == -EPERM || rc == TROC_EKEYFILE;
}

void troc__trocd_key_file_describe(const char *data, int rc, char *message, size_t size) {
    char path[4096 + sizeof TROC_LEDGER_KEY_FILE];
    size_t length = strlen(data);
    snprintf(path, sizeof path, "%s%s" TROC_LEDGER_KEY_FILE, data, length > 0 && data[length - 1] == '/' ? "" : "/");
    struct stat st;
    if (rc == -ENOENT) {
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
