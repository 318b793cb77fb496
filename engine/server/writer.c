/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The single writer and group commit.
 *
 * One dedicated thread (not the pool: it blocks on fsync) owns every write
 * transaction.  It sleeps until verified requests are queued, takes all of
 * them up to TROC_COMMIT_ITEMS_MAX transfers (at least one request, never a
 * request split in two), applies them in one LMDB write transaction and
 * commits it durably.  Only then does it move them to the done list and wake
 * the loop (uv_async_send), which replies.  Requests queued while a commit
 * is in flight form the next group: the more clients wait, the more each
 * fsync carries.
 *
 * Under load it waits for a fuller group.  A commit costs mostly per
 * transaction (every account page it dirties is copied, written and
 * synced, whatever the number of transfers on it), so when the daemon is
 * saturated -- at least TROC_COMMIT_GATHER_SIBLINGS requests being
 * verified, which will reach the queue within a verification's time --
 * the writer waits up to TROC_COMMIT_GATHER_WAIT_US for its group to hold
 * TROC_COMMIT_GATHER_ITEMS transfers, leaving the cores to verification
 * meanwhile.  A daemon with fewer requests in flight never waits, and a
 * push wakes a gathering writer only once its group is full or the
 * verifications have drained, so that pushes cost no wake-up each.
 *
 * Storage failure.  An error from begin, apply or commit (MDB_MAP_FULL,
 * -ENOSPC, -EIO, ...) aborts the transaction: nothing of the group is
 * applied and each of its items is answered STORAGE_FULL (map or disk full)
 * or UNAVAILABLE, with the reason logged.  On MDB_MAP_FULL the writer asks
 * the ledger to grow its map and, when it grew, applies the group again,
 * as long as the map keeps growing (a group larger than twice the map
 * needs several doublings).  The daemon stays up and keeps serving reads
 * either way.
 *
 * Tasks.  Between two groups the writer runs a task handed to it (a
 * clearing round, engine/server/clearing.c), which opens, applies and
 * commits a transaction of its own and tells its owner when it is done.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <lmdb.h>

#include "base/error.h"
#include "base/result.h"
#include "log.h"
#include "server_int.h"

int64_t troc__writer_now_us(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

const char *troc__storage_error_text(int error) {
    if (error >= MDB_KEYEXIST && error <= MDB_LAST_ERRCODE) return mdb_strerror(error);
    return troc_strerror(error);
}

const char *troc__storage_damage_hint(int error) {
    const bool damaged = error == TROC_ECORRUPT || error == MDB_CORRUPTED || error == MDB_PAGE_NOTFOUND;
    return damaged ? "; the ledger is damaged: stop trocd and run trocd verify (docs/operations.md)" : "";
}

/* Applies every item of `group` in one transaction and commits it. */
static int writer_apply(troc__writer *writer, troc__request *group, size_t *items_out) {
    troc_ledger_write *write = NULL;
    int rc = troc_ledger_write_begin(writer->ledger, troc__writer_now_us(), &write);
    if (rc != 0) return rc;
    size_t items = 0;
    for (troc__request *request = group; request != NULL; request = request->next) {
        for (size_t i = 0; i < request->item_count; i++) {
            troc__submit_item *item = &request->items[i];
            if (!item->apply) continue;
            item->result.journal_seq = 0;
            item->result.timestamp_us = 0;
            item->result.item_count = 0;
            rc = troc_ledger_apply(write, &item->item, &item->result);
            if (rc != 0) {
                troc_ledger_write_abort(write);
                return rc;
            }
            items++;
        }
    }
    *items_out = items;
    return troc_ledger_write_commit(write);
}

/* Answers every item of a group the storage refused. */
static void writer_refuse(troc__request *group, int error, bool grew, int grow_error) {
    int code = error == MDB_MAP_FULL || error == -ENOSPC ? TROC_RESULT_STORAGE_FULL : TROC_RESULT_UNAVAILABLE;
    for (troc__request *request = group; request != NULL; request = request->next) {
        request->storage_error = error;
        request->storage_grew = grew;
        request->storage_grow_error = grow_error;
        for (size_t i = 0; i < request->item_count; i++) {
            troc__submit_item *item = &request->items[i];
            if (!item->apply) continue;
            item->result.code = code;
            item->result.journal_seq = 0;
            item->result.timestamp_us = 0;
            item->result.item_count = 0;
        }
    }
}

/* Growths of the map one transaction may ask for: from
 * TROC_LEDGER_MAP_SIZE_MIN (1 MiB), 16 doublings reach 64 GiB and 8 more
 * steps 576 GiB, far beyond the largest group (TROC_COMMIT_ITEMS_MAX
 * transfers) or clearing round, so what fits on the disk is applied
 * whatever map the daemon started with. */
#define WRITER_GROWTHS_MAX 24

void troc__grow_error_text(int error, char *text, size_t size) {
    if (error == -ENOSPC) {
        snprintf(text, size, "the disk has less than %llu MiB free; free some space and submit it again",
                 (unsigned long long)(TROC_LEDGER_DISK_FREE_MIN >> 20));
    } else if (error == TROC_EBUSY) {
        snprintf(text, size, "a backup is being written; submit it again once the backup is done");
    } else {
        snprintf(text, size, "%s; submit it again later", troc__storage_error_text(error));
    }
}

int troc__writer_apply_growing(troc_ledger *ledger, int (*apply)(void *context), void *context, bool *grew_out,
                               int *grow_error_out) {
    assert(ledger != NULL && apply != NULL && grew_out != NULL && grow_error_out != NULL);
    *grew_out = false;
    *grow_error_out = 0;
    int rc = apply(context);
    /* Bounded by WRITER_GROWTHS_MAX: each pass doubles the map or stops. */
    for (int growths = 0; rc == MDB_MAP_FULL && growths < WRITER_GROWTHS_MAX; growths++) {
        int grow = troc_ledger_grow(ledger);
        if (grow != 0) {
            *grow_error_out = grow;
            char why[128];
            troc__grow_error_text(grow, why, sizeof why);
            troc_log("ledger map full and it cannot grow: %s", why);
            break;
        }
        *grew_out = true;
        troc_log("ledger map full: grew the map to %zu bytes, applying the transaction again",
                 troc_ledger_map_size(ledger));
        rc = apply(context);
    }
    return rc;
}

typedef struct group_apply {
    troc__writer *writer;
    troc__request *group;
    size_t items;
} group_apply;

static int group_apply_run(void *context) {
    group_apply *g = context;
    return writer_apply(g->writer, g->group, &g->items);
}

static void writer_commit(troc__writer *writer, troc__request *group, size_t weight) {
    group_apply g = {.writer = writer, .group = group};
    bool grew = false;
    int grow = 0;
    int rc = troc__writer_apply_growing(writer->ledger, group_apply_run, &g, &grew, &grow);
    size_t items = g.items;
    if (rc != 0) {
        writer_refuse(group, rc, grew, grow);
        writer->commits_refused++;
        troc_log("refused a batch of %zu transfers: %s%s", weight, troc__storage_error_text(rc),
                 troc__storage_damage_hint(rc));
        return;
    }
    writer->commits++;
    writer->items_committed += items;
    if (items > writer->commit_items_max) writer->commit_items_max = items;
}

/* Takes the next group off the queue (the caller holds the mutex): the
 * whole queue when it fits one commit (no walk through its requests), else
 * its first requests up to TROC_COMMIT_ITEMS_MAX transfers. */
static troc__request *writer_take_group(troc__writer *writer, troc__request **last_out, size_t *weight_out) {
    troc__request *group = writer->queue_head;
    troc__request *last = writer->queue_tail;
    size_t weight = writer->queue_weight;
    if (weight > TROC_COMMIT_ITEMS_MAX) {
        last = group;
        weight = group->weight;
        while (last->next != NULL && weight + last->next->weight <= TROC_COMMIT_ITEMS_MAX) {
            last = last->next;
            weight += last->weight;
        }
    }
    writer->queue_head = last->next;
    if (writer->queue_head == NULL) writer->queue_tail = NULL;
    last->next = NULL;
    assert(writer->queue_weight >= weight);
    writer->queue_weight -= weight;
    *last_out = last;
    *weight_out = weight;
    return group;
}

/* Whether a gathering writer should stop waiting (the caller holds the
 * mutex). */
static bool writer_gathered(const troc__writer *writer) {
    return writer->queue_weight >= TROC_COMMIT_GATHER_ITEMS || writer->stopping || writer->task != NULL ||
           atomic_load(&writer->verifying) < TROC_COMMIT_GATHER_SIBLINGS;
}

/* Waits, the mutex held, for a fuller group while the daemon is
 * saturated, at most TROC_COMMIT_GATHER_WAIT_US. */
static void writer_gather(troc__writer *writer) {
    if (writer_gathered(writer)) return;
    writer->gathering = true;
    uint64_t deadline = uv_hrtime() + (uint64_t)TROC_COMMIT_GATHER_WAIT_US * 1000u;
    /* Bounded by the deadline. */
    while (!writer_gathered(writer)) {
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&writer->wake, &writer->mutex, deadline - now) == UV_ETIMEDOUT) {
            break;
        }
    }
    writer->gathering = false;
}

static void writer_main(void *argument) {
    troc__writer *writer = argument;
    pthread_setname_np(pthread_self(), "troc-writer"); /* for top -H, perf and the benchmark */
    for (;;) {
        uv_mutex_lock(&writer->mutex);
        writer->idle = true;
        while (writer->queue_head == NULL && writer->task == NULL && !writer->stopping) {
            uv_cond_wait(&writer->wake, &writer->mutex);
        }
        writer->idle = false;
        if (writer->queue_head != NULL) writer_gather(writer);
        troc__writer_task *task = writer->task;
        writer->task = NULL;
        if (task != NULL) {
            uv_mutex_unlock(&writer->mutex);
            task->run(task, writer->ledger, troc__writer_now_us());
            continue;
        }
        if (writer->queue_head == NULL) {
            uv_mutex_unlock(&writer->mutex);
            break;
        }
        size_t weight = 0;
        troc__request *last = NULL;
        troc__request *group = writer_take_group(writer, &last, &weight);
        uv_mutex_unlock(&writer->mutex);
        writer_commit(writer, group, weight);
        uv_mutex_lock(&writer->mutex);
        if (writer->done_tail != NULL) writer->done_tail->next = group;
        else writer->done_head = group;
        writer->done_tail = last;
        uv_mutex_unlock(&writer->mutex);
        uv_async_send(&writer->done_async);
    }
}

int troc__writer_start(troc__writer *writer, uv_loop_t *loop, troc_ledger *ledger, uv_async_cb done) {
    assert(writer != NULL && loop != NULL && ledger != NULL && done != NULL);
    assert(!writer->started);
    writer->ledger = ledger;
    int rc = uv_mutex_init(&writer->mutex);
    if (rc != 0) return rc;
    rc = uv_cond_init(&writer->wake);
    if (rc != 0) goto fail_mutex;
    rc = uv_async_init(loop, &writer->done_async, done);
    if (rc != 0) goto fail_cond;
    rc = uv_thread_create(&writer->thread, writer_main, writer);
    if (rc != 0) goto fail_async;
    writer->started = true;
    return 0;
fail_async:
    uv_close((uv_handle_t *)&writer->done_async, NULL);
fail_cond:
    uv_cond_destroy(&writer->wake);
fail_mutex:
    uv_mutex_destroy(&writer->mutex);
    return rc;
}

void troc__writer_push(troc__writer *writer, troc__request *head, troc__request *tail) {
    assert(writer != NULL && writer->started);
    assert(head != NULL && tail != NULL && tail->next == NULL);
    size_t weight = 0;
    for (const troc__request *request = head; request != NULL; request = request->next) weight += request->weight;
    uv_mutex_lock(&writer->mutex);
    assert(!writer->stopping);
    if (writer->queue_tail != NULL) writer->queue_tail->next = head;
    else writer->queue_head = head;
    writer->queue_tail = tail;
    writer->queue_weight += weight;
    if (writer->idle || (writer->gathering && writer_gathered(writer))) uv_cond_signal(&writer->wake);
    uv_mutex_unlock(&writer->mutex);
}

void troc__writer_push_task(troc__writer *writer, troc__writer_task *task) {
    assert(writer != NULL && writer->started && task != NULL && task->run != NULL);
    uv_mutex_lock(&writer->mutex);
    assert(!writer->stopping && writer->task == NULL);
    writer->task = task;
    uv_cond_signal(&writer->wake);
    uv_mutex_unlock(&writer->mutex);
}

troc__request *troc__writer_take_done(troc__writer *writer) {
    assert(writer != NULL);
    uv_mutex_lock(&writer->mutex);
    troc__request *done = writer->done_head;
    writer->done_head = writer->done_tail = NULL;
    uv_mutex_unlock(&writer->mutex);
    return done;
}

void troc__writer_stop(troc__writer *writer) {
    assert(writer != NULL);
    if (!writer->started) return;
    uv_mutex_lock(&writer->mutex);
    writer->stopping = true;
    uv_cond_signal(&writer->wake);
    uv_mutex_unlock(&writer->mutex);
    uv_thread_join(&writer->thread);
    assert(writer->queue_head == NULL && writer->done_head == NULL && writer->task == NULL);
    uv_close((uv_handle_t *)&writer->done_async, NULL);
    uv_cond_destroy(&writer->wake);
    uv_mutex_destroy(&writer->mutex);
    writer->started = false;
}
