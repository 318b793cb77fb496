/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hot backups: one synchronous BackupRequest, answered once the daemon has
 * written the copy.  The path is checked here for what the daemon would
 * refuse anyway (empty, relative, too long), so that a mistake costs no
 * round trip; the daemon checks everything else (the directory, the disk)
 * and says what went wrong in its own words.
 */
#include <assert.h>
#include <string.h>

#include "client_int.h"

int troc_client_backup(troc_client *client, const char *path, troc_backup_info *info) {
    assert(client != NULL && info != NULL);
    /* Copied before `info` is cleared: `path` may be info->path, a retry's. */
    bool absolute = path != NULL && path[0] == '/';
    size_t length = absolute ? strnlen(path, TROC_BACKUP_PATH_LENGTH_MAX + 1) : 0;
    char destination[TROC_BACKUP_PATH_LENGTH_MAX + 1] = "";
    if (absolute && length <= TROC_BACKUP_PATH_LENGTH_MAX) memcpy(destination, path, length + 1);
    memset(info, 0, sizeof *info);
    client->message[0] = '\0';
    if (!absolute) {
        return troc__client_fail(client, TROC_EUSAGE,
                                 "the backup's destination must be an absolute path on the daemon's machine");
    }
    if (length > TROC_BACKUP_PATH_LENGTH_MAX) {
        return troc__client_fail(client, TROC_EUSAGE, "the backup's destination is longer than %d bytes",
                                 TROC_BACKUP_PATH_LENGTH_MAX);
    }
    Troc__V1__BackupRequest query = TROC__V1__BACKUP_REQUEST__INIT;
    query.path = destination;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BACKUP;
    request.backup = &query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_BACKUP) return troc__client_wrong_answer(client);
    const Troc__V1__BackupReply *reply = response->backup;
    troc__copy_text(info->path, sizeof info->path, reply->path != NULL ? reply->path : destination);
    info->journal_entries = reply->has_journal_entries ? reply->journal_entries : 0;
    info->bytes = reply->has_bytes ? reply->bytes : 0;
    return 0;
}
