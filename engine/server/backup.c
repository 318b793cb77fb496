/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BackupRequest: a hot, compacted copy of the ledger into a directory on
 * the daemon's machine, asked for by an admin session
 * (engine/ledger/backup.c does the copy).
 *
 * The copy takes as long as writing the ledger out, so it runs on a thread
 * of its own: neither the loop (which keeps serving every connection) nor
 * the writer (which keeps committing) nor libuv's pool (which keeps
 * verifying signatures) waits for it.  When it ends, the thread wakes the
 * loop through an async handle that lives as long as the backup, and the
 * loop answers the request: a BackupReply with the copy's journal entries
 * and size, or an Error saying why (the destination is not empty, the disk
 * is full, ...).  The request stays in flight meanwhile, so its connection
 * is not closed as idle and the stop sequence waits for it.
 *
 * One backup runs at a time (TROC_BACKUPS_RUNNING_MAX); a second request
 * is answered TROC_EBUSY.  When the daemon stops, a backup in progress is
 * cancelled: its temporary directory is removed and the request answered
 * with -ECANCELED.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "base/error.h"
#include "log.h"
#include "server_int.h"

struct troc__backup {
    troc_server *server;
    troc__request *request;                /* the admin's request, answered when done */
    char destination[TROC_BACKUP_PATH_LENGTH_MAX + 1];
    uv_thread_t thread;
    uv_async_t done;                       /* the thread is done: join it, answer */
    atomic_bool cancel;                    /* set when the daemon stops */
    int rc;                                /* troc_ledger_backup's answer */
    troc_backup_report report;
    uint64_t started_ms;                   /* loop time at start, for the log */
};

static void backup_main(void *argument) {
    troc__backup *backup = argument;
    backup->rc = troc_ledger_backup(backup->server->ledger, backup->destination, &backup->cancel, &backup->report);
    uv_async_send(&backup->done);
}

static void backup_reply(troc__conn *conn, troc__backup *backup) {
    uint64_t request_id = backup->request->request_id;
    if (backup->rc != 0) {
        /* LMDB's own codes mean nothing to a client: the ledger failed. */
        int code = backup->rc >= MDB_KEYEXIST && backup->rc <= MDB_LAST_ERRCODE ? TROC_EUNAVAILABLE : backup->rc;
        troc__reply_error(conn, request_id, code, backup->report.detail);
        return;
    }
    Troc__V1__BackupReply reply = TROC__V1__BACKUP_REPLY__INIT;
    reply.path = backup->destination;
    reply.has_journal_entries = 1;
    reply.journal_entries = backup->report.journal_entries;
    reply.has_bytes = 1;
    reply.bytes = backup->report.bytes;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_BACKUP;
    response.backup = &reply;
    troc__send_response(conn, &response);
}

static void backup_free(uv_handle_t *handle) {
    free(handle->data);
}

static void backup_on_done(uv_async_t *async) {
    troc__backup *backup = async->data;
    troc_server *server = backup->server;
    assert(server->backup == backup);
    uv_thread_join(&backup->thread);
    double seconds = (double)(uv_now(server->loop) - backup->started_ms) / 1000.0;
    if (backup->rc == 0) {
        troc_log("backup to %s done: %llu journal entries, %llu bytes, %.3f s", backup->destination,
                 (unsigned long long)backup->report.journal_entries, (unsigned long long)backup->report.bytes, seconds);
    } else {
        troc_log("backup to %s failed: %s", backup->destination, backup->report.detail);
    }
    troc__request *request = backup->request;
    troc__conn *conn = request->conn;
    if (conn->state != TROC__CONN_CLOSED) backup_reply(conn, backup);
    server->backup = NULL;
    uv_close((uv_handle_t *)&backup->done, backup_free);
    troc__conn_request_put(conn, request);
    troc__server_flush(server);
}

/* Starts the backup holding `request`; 0, or an error after which the
 * caller answers. */
static int backup_start(troc__conn *conn, troc__request *request, const char *destination) {
    troc_server *server = conn->server;
    troc__backup *backup = calloc(1, sizeof *backup);
    if (backup == NULL) return -ENOMEM;
    backup->server = server;
    backup->request = request;
    snprintf(backup->destination, sizeof backup->destination, "%s", destination);
    atomic_init(&backup->cancel, false);
    backup->started_ms = uv_now(server->loop);
    backup->done.data = backup;
    int rc = uv_async_init(server->loop, &backup->done, backup_on_done);
    if (rc != 0) {
        free(backup);
        return rc;
    }
    rc = uv_thread_create(&backup->thread, backup_main, backup);
    if (rc != 0) {
        uv_close((uv_handle_t *)&backup->done, backup_free);
        return rc;
    }
    server->backup = backup;
    troc_log("connection %llu: backup to %s started", (unsigned long long)conn->number, destination);
    return 0;
}

/* Answers a request that may not start a backup now; false when it may. */
static bool backup_refused(troc__conn *conn, uint64_t request_id, const char *destination) {
    if (conn->role != TROC_ROLE_ADMIN) {
        troc__reply_error(conn, request_id, TROC_EDENIED, "backups are made by admin sessions");
        return true;
    }
    troc_ledger_read *read = NULL;
    if (troc__session_read_begin(conn, request_id, &read) != 0) return true; /* revoked, or unreadable */
    troc_ledger_read_end(read);
    if (destination == NULL || destination[0] == '\0') {
        troc__reply_error(conn, request_id, TROC_EUSAGE, "name the backup's destination directory");
        return true;
    }
    if (strlen(destination) > TROC_BACKUP_PATH_LENGTH_MAX) {
        troc__reply_error(conn, request_id, TROC_EUSAGE, "the backup's destination path is too long");
        return true;
    }
    if (conn->server->backup != NULL) {
        troc__reply_error(conn, request_id, TROC_EBUSY, "a backup is already running; ask again when it is done");
        return true;
    }
    return false;
}

void troc__backup_request(troc__conn *conn, troc__request *request, const Troc__V1__BackupRequest *message) {
    assert(conn != NULL && request != NULL && message != NULL);
    troc_server *server = conn->server;
    uint64_t request_id = request->request_id;
    if (!backup_refused(conn, request_id, message->path)) {
        int rc = backup_start(conn, request, message->path);
        if (rc == 0) return;                /* answered when the copy is done */
        troc__reply_error(conn, request_id, TROC_EUNAVAILABLE, "cannot start a backup now; retry later");
    }
    troc__scratch_reset(server);
    troc__conn_request_put(conn, request);
}

void troc__backup_stop(troc_server *server) {
    assert(server != NULL);
    _Static_assert(TROC_BACKUPS_RUNNING_MAX == 1, "one backup at a time: server->backup");
    if (server->backup == NULL) return;
    troc_log("stopping: cancelling the backup to %s", server->backup->destination);
    atomic_store(&server->backup->cancel, true);
}
