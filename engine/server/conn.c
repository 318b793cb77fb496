/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One connection: bytes in, frames out, and the bounds that keep a peer
 * from costing more than its share.
 *
 * Opening.  A newcomer is accepted first, then started (counted, timed,
 * read) only once the listener has checked its source (listener.c); one
 * it refuses is discarded before anything counted or logged it.
 *
 * Reading.  Bytes land in the connection's read buffer; each whole frame is
 * handled in place (the sealed payload is opened over itself) and decoded
 * into a request's arena, so the buffer is free again as soon as the frame
 * is.  A frame's size is checked on its 4-byte header alone: before the
 * handshake completes nothing larger than a handshake message is accepted,
 * after it nothing larger than TROC_FRAME_SIZE_MAX, and the buffer grows
 * to a large frame only once its header has passed that check, and only
 * when the server's budget has room for it (server.c): otherwise the
 * connection stops reading and waits in line for that room.
 *
 * Memory.  Every buffer is charged to the server by its capacity, whenever
 * it is allocated, grown, shrunk or freed (conn_account).  A read buffer
 * grown for a large frame shrinks back as soon as the frame is taken; an
 * output buffer larger than TROC__OUT_KEEP_SIZE is freed once written.
 *
 * Backpressure.  The connection is read only while it has fewer than
 * TROC_REQUESTS_IN_FLIGHT_MAX requests in flight, fewer than
 * TROC_CONNECTION_REQUEST_BYTES_MAX bytes charged by them, fewer than
 * TROC_WRITE_QUEUE_BYTES_MAX bytes of replies queued, while it is not
 * waiting for room for a large frame, and while its class (TCP, or the
 * Unix socket with its reserve) is under its memory budget (server.c), a
 * bound a connection in its handshake ignores.  Otherwise it stops reading
 * (uv_read_stop) and frames already buffered wait; it resumes when a reply
 * goes out or memory is released.  Replies it owes are queued whatever the
 * budget: a connection can always finish what it owes.
 *
 * Writing.  Replies are packed and sealed straight into one of two output
 * buffers: one is being written while the other fills, so a burst of
 * replies (a group commit) leaves in one write, and no reply allocates.
 *
 * Timers.  One timer per connection: the handshake must finish within
 * TROC_HANDSHAKE_TIMEOUT_MS; then a connection that sends no whole frame
 * for TROC_IDLE_TIMEOUT_MS while nothing of its is in flight is closed
 * (a peer trickling bytes does not count as active), and a frame must
 * arrive whole within TROC_FRAME_TIMEOUT_MS of its first bytes being read
 * (the time the connection is not read does not count), so that a peer
 * cannot pin a large read buffer by trickling.  A served connection whose
 * peer takes nothing of a write for TROC_WRITE_TIMEOUT_MS is cut too: its
 * unread replies count against the server's budget, which stops every
 * connection when full.  Progress, checked when the timer fires, is
 * libuv's write queue shrinking or the kernel's send queue draining
 * (SIOCOUTQ, on Linux).  libuv's alone is not enough: the kernel wakes the
 * writer only once a third of its send buffer (up to 4 MiB over TCP) has
 * drained, which takes a client reading 20 KB/s over a minute, so
 * steady slow readers were cut; the kernel's queue shrinks with every
 * byte the peer acknowledges (over TCP) or every buffer it reads whole
 * (on a Unix socket).  A connection closing gets TROC_CLOSE_LINGER_MS to
 * take its last frame.
 *
 * Closing.  Any protocol violation queues a ServerFrame{error} (sealed once
 * the channel exists).  Once it is written the connection lingers: it shuts
 * down its sending side and discards what the peer still sends until the
 * peer closes (or TROC_CLOSE_LINGER_MS passes), because closing a socket
 * with unread input makes the kernel reset the connection, and a reset can
 * destroy the error frame before the peer reads it.  The connection's
 * memory lives until both handles are closed and every request it sent has
 * come back from the thread pool and the writer.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#if defined(__linux__)
#include <linux/sockios.h>
#endif

#include "base/error.h"
#include "log.h"
#include "net/frame.h"
#include "server_int.h"

static void conn_process(troc__conn *conn);
static void conn_on_timer(uv_timer_t *timer);

static bool conn_open_for_frames(const troc__conn *conn) {
    return conn->state == TROC__CONN_HELLO || conn->state == TROC__CONN_AUTH || conn->state == TROC__CONN_READY;
}

static size_t conn_queued_bytes(const troc__conn *conn) {
    return conn->out[0].size + conn->out[1].size;
}

/* May the connection take another frame now?  A connection in its
 * handshake is read past the budget: its frames are at most
 * TROC_HANDSHAKE_FRAME_SIZE_MAX, read into the buffer of its first size,
 * and at most a share of the connections (TROC_HANDSHAKES_SHARE) are in
 * their handshake, each for TROC_HANDSHAKE_TIMEOUT_MS at most; what they
 * hold past the budget is bounded by that, while a newcomer left unread
 * would only time out, however soon the budget frees. */
static bool conn_may_read(const troc__conn *conn) {
    bool handshaking = conn->state == TROC__CONN_HELLO || conn->state == TROC__CONN_AUTH;
    return conn_open_for_frames(conn) && conn->in_flight < TROC_REQUESTS_IN_FLIGHT_MAX &&
           conn->request_bytes < TROC_CONNECTION_REQUEST_BYTES_MAX &&
           conn_queued_bytes(conn) < TROC_WRITE_QUEUE_BYTES_MAX && !conn->memory_waiting &&
           (handshaking || !conn->server->over_budget[conn->local]);
}

/* Charges the server what the connection's buffers hold now. */
static void conn_account(troc__conn *conn) {
    size_t held = conn->read_capacity + conn->out[0].capacity + conn->out[1].capacity;
    size_t grown = conn->read_capacity > TROC__READ_BUFFER_SIZE ? conn->read_capacity - TROC__READ_BUFFER_SIZE : 0;
    troc__server_charge_buffers(conn->server, conn, held, grown);
}

/* ------------------------------------------------------------- closing */

static void conn_maybe_free(troc__conn *conn) {
    if (conn->handles_open > 0 || conn->in_flight > 0) return;
    assert(conn->pending_head == NULL);
    while (conn->free_requests != NULL) {
        troc__request *next = conn->free_requests->next;
        free(conn->free_requests);
        conn->free_requests = next;
    }
    free(conn->read_buffer);
    free(conn->out[0].data);
    free(conn->out[1].data);
    conn->read_capacity = conn->out[0].capacity = conn->out[1].capacity = 0;
    conn_account(conn);
    troc_server *server = conn->server;
    troc__server_conn_closed(server, conn);
    free(conn);
}

static void conn_handle_closed(uv_handle_t *handle) {
    troc__conn *conn = handle->data;
    troc_server *server = conn->server;
    assert(conn->handles_open > 0);
    conn->handles_open--;
    conn_maybe_free(conn);
    troc__server_flush(server); /* memory it released may let others read */
}

void troc__conn_close(troc__conn *conn, const char *reason) {
    assert(conn != NULL && reason != NULL);
    if (conn->state == TROC__CONN_CLOSED) return;
    conn->state = TROC__CONN_CLOSED;
    conn->close_reason = reason;
    conn->reading = false;
    troc__server_memory_unwait(conn->server, conn);
    troc_log("connection %llu closed: %s", (unsigned long long)conn->number, reason);
    conn->server->stats.connections_closed++;
    troc_handshake_clear(&conn->handshake);
    troc_channel_clear(&conn->channel);
    uv_close(&conn->socket.handle, conn_handle_closed);
    uv_close((uv_handle_t *)&conn->timer, conn_handle_closed);
}

static void conn_on_alloc(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buffer);
static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buffer);

static void conn_on_shutdown(uv_shutdown_t *request, int status) {
    troc__conn *conn = request->data;
    if (status < 0 && conn->state != TROC__CONN_CLOSED) troc__conn_close(conn, conn->close_reason);
}

/* The last frame is written: say so with a FIN and wait for the peer's. */
static void conn_linger(troc__conn *conn) {
    assert(conn->state == TROC__CONN_CLOSING && !conn->lingering);
    conn->lingering = true;
    conn->shutdown_request.data = conn;
    if (uv_shutdown(&conn->shutdown_request, &conn->socket.stream, conn_on_shutdown) != 0 ||
        (!conn->reading && uv_read_start(&conn->socket.stream, conn_on_alloc, conn_on_read) != 0)) {
        troc__conn_close(conn, conn->close_reason);
        return;
    }
    conn->reading = true;
}

/* Closes a draining or closing connection once it has nothing left to
 * say, lingering first.  A draining one has answered all it read, but its
 * peer may have sent more: closing the socket with requests unread resets
 * the connection and throws away the replies the kernel had not yet
 * delivered, committed as they are.  So it ends as a closing one does: a
 * FIN after the last reply, then what comes in discarded until the peer
 * closes, for TROC_CLOSE_LINGER_MS at most. */
static void conn_close_if_done(troc__conn *conn) {
    bool quiet = conn->writing < 0 && conn_queued_bytes(conn) == 0;
    if (conn->state == TROC__CONN_DRAINING && quiet && conn->in_flight == 0) {
        conn->state = TROC__CONN_CLOSING;
        conn->close_reason = "server stopping";
        uv_timer_start(&conn->timer, conn_on_timer, TROC_CLOSE_LINGER_MS, 0);
    }
    if (conn->state == TROC__CONN_CLOSING && quiet && !conn->lingering) conn_linger(conn);
}

void troc__conn_fail(troc__conn *conn, int error, const char *reason) {
    assert(conn != NULL && reason != NULL);
    if (!conn_open_for_frames(conn) && conn->state != TROC__CONN_DRAINING) return;
    Troc__V1__Error message = TROC__V1__ERROR__INIT;
    message.has_code = 1;
    message.code = error;
    message.message = (char *)reason;
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_ERROR;
    frame.error = &message;
    troc__conn_send(conn, &frame);
    if (conn->state == TROC__CONN_CLOSED) return;
    conn->server->stats.connections_failed++;
    conn->state = TROC__CONN_CLOSING;
    conn->close_reason = reason;
    uv_timer_start(&conn->timer, conn_on_timer, TROC_CLOSE_LINGER_MS, 0);
    troc__conn_update_reading(conn);
}

/* ------------------------------------------------------------- writing */

/* Bytes written to the socket that the kernel still holds because the
 * peer has not taken them: over TCP, not yet sent or not yet
 * acknowledged; on a Unix socket, in buffers the peer has not read whole
 * (see SIOCOUTQ in tcp(7) and unix(7)).  -1 where the kernel cannot tell. */
static int conn_kernel_queued(const troc__conn *conn) {
#if defined(SIOCOUTQ)
    uv_os_fd_t fd;
    int queued = 0;
    if (uv_fileno(&conn->socket.handle, &fd) != 0 || ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return -1;
    return queued;
#else
    (void)conn;
    return -1;
#endif
}

/* The loop's time, read afresh for dating what begins now.  libuv reads
 * the clock once per turn of the loop, and a turn that answers many frames
 * can last seconds on a loaded host: a write begun at its end, dated from
 * its start, would charge the peer for time when there was nothing to
 * take, and cut a reader that never stalled. */
static uint64_t conn_now(const troc__conn *conn) {
    uv_update_time(conn->server->loop);
    return uv_now(conn->server->loop);
}

/* A write has begun: its clock runs from now, and the timer of a served
 * connection fires in time to check it. */
static void conn_watch_write(troc__conn *conn) {
    conn->write_progress_ms = conn_now(conn);
    conn->write_pending = uv_stream_get_write_queue_size(&conn->socket.stream);
    conn->write_kernel_queued = conn_kernel_queued(conn);
    if (conn->state != TROC__CONN_READY) return; /* the handshake's or the linger's timer is shorter */
    if (uv_timer_get_due_in(&conn->timer) > conn->server->write_timeout_ms) {
        uv_timer_start(&conn->timer, conn_on_timer, conn->server->write_timeout_ms, 0);
    }
}

static void conn_on_written(uv_write_t *write_request, int status) {
    troc__conn *conn = write_request->data;
    troc_server *server = conn->server;
    assert(conn->writing == 0 || conn->writing == 1);
    troc__out *out = &conn->out[conn->writing];
    out->size = 0;
    if (out->capacity > TROC__OUT_KEEP_SIZE) {
        free(out->data);
        *out = (troc__out){0};
        conn_account(conn);
    }
    conn->writing = -1;
    if (conn->state == TROC__CONN_CLOSED) return;
    if (status < 0) {
        troc__conn_close(conn, uv_strerror(status));
        return;
    }
    troc__conn_flush(conn);
    troc__conn_update_reading(conn);
    conn_close_if_done(conn);
    /* Reading resumed answers the frames buffered while it was paused: their
     * replies (and the memory released) must go out at the end of this
     * callback, as at the end of any other, not at the next event. */
    troc__server_flush(server);
}

void troc__conn_flush(troc__conn *conn) {
    assert(conn != NULL);
    if (conn->writing >= 0 || conn->state == TROC__CONN_CLOSED) return;
    int index = conn->out[0].size > 0 ? 0 : 1;
    troc__out *out = &conn->out[index];
    if (out->size == 0) return;
    assert(out->size <= UINT32_MAX);
    uv_buf_t buffer = uv_buf_init((char *)out->data, (unsigned)out->size);
    conn->writing = index;
    int rc = uv_write(&conn->write_request, &conn->socket.stream, &buffer, 1, conn_on_written);
    if (rc != 0) {
        conn->writing = -1;
        troc__conn_close(conn, uv_strerror(rc));
        return;
    }
    conn_watch_write(conn);
}

/* The buffer replies go to: the one not being written. */
static troc__out *conn_out_queue(troc__conn *conn) {
    if (conn->writing < 0) return conn->out[1].size > 0 ? &conn->out[1] : &conn->out[0];
    return &conn->out[1 - conn->writing];
}

/* Makes room for `more` bytes in `out`, one of the connection's buffers.
 * Never refused for the budget: replies are owed. */
static int out_reserve(troc__conn *conn, troc__out *out, size_t more) {
    if (out->capacity - out->size >= more) return 0;
    size_t capacity = out->capacity > 0 ? out->capacity : TROC__OUT_INITIAL_SIZE;
    /* Bounded: each turn adds at least the initial size. */
    while (capacity - out->size < more) capacity += capacity < TROC__OUT_GROWTH_MAX ? capacity : TROC__OUT_GROWTH_MAX;
    uint8_t *data = realloc(out->data, capacity);
    if (data == NULL) return -ENOMEM;
    out->data = data;
    out->capacity = capacity;
    conn_account(conn);
    return 0;
}

void troc__conn_send(troc__conn *conn, const Troc__V1__ServerFrame *frame) {
    assert(conn != NULL && frame != NULL);
    if (conn->state == TROC__CONN_CLOSED || conn->state == TROC__CONN_CLOSING) return;
    size_t size = troc__v1__server_frame__get_packed_size(frame);
    bool sealed = conn->state != TROC__CONN_HELLO;
    if (size == 0 || size > TROC_CHANNEL_PLAINTEXT_MAX) {
        troc_log("connection %llu: a reply of %zu bytes cannot be framed", (unsigned long long)conn->number, size);
        troc__conn_close(conn, "reply too large");
        return;
    }
    troc__out *out = conn_out_queue(conn);
    if (out_reserve(conn, out, TROC_FRAME_HEADER_SIZE + size + TROC_CHANNEL_TAG_SIZE) != 0) {
        troc__conn_close(conn, "out of memory for a reply");
        return;
    }
    uint8_t *start = out->data + out->size;
    size_t packed = troc__v1__server_frame__pack(frame, start + TROC_FRAME_HEADER_SIZE);
    assert(packed == size);
    if (sealed) {
        out->size += troc_channel_seal(&conn->channel, start + TROC_FRAME_HEADER_SIZE, packed, start);
    } else {
        troc_frame_header_write(start, packed);
        out->size += TROC_FRAME_HEADER_SIZE + packed;
    }
    troc__server_mark_dirty(conn->server, conn);
}

/* ------------------------------------------------------------- reading */

static void conn_on_alloc(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buffer) {
    (void)suggested_size;
    troc__conn *conn = handle->data;
    if (conn->lingering) {                 /* input is discarded: any buffer will do */
        static char discard[4096];
        *buffer = uv_buf_init(discard, sizeof discard);
        return;
    }
    if (conn->read_buffer == NULL) {
        conn->read_buffer = malloc(TROC__READ_BUFFER_SIZE);
        conn->read_capacity = conn->read_buffer != NULL ? TROC__READ_BUFFER_SIZE : 0;
        conn->read_start = conn->read_end = 0;
        conn_account(conn);
    }
    if (conn->read_start > 0 && conn->read_end == conn->read_capacity) {
        memmove(conn->read_buffer, conn->read_buffer + conn->read_start, conn->read_end - conn->read_start);
        conn->read_end -= conn->read_start;
        conn->read_start = 0;
    }
    *buffer = uv_buf_init((char *)conn->read_buffer + conn->read_end, (unsigned)(conn->read_capacity - conn->read_end));
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buffer) {
    (void)buffer;
    troc__conn *conn = stream->data;
    if (nread == 0 || conn->state == TROC__CONN_CLOSED) return;
    if (conn->lingering) {
        if (nread < 0) troc__conn_close(conn, conn->close_reason);
        return;
    }
    if (nread < 0) {
        if (nread == UV_ENOBUFS) troc__conn_close(conn, "out of memory for reading");
        else troc__conn_close(conn, nread == UV_EOF ? "peer closed the connection" : uv_strerror((int)nread));
        return;
    }
    conn->read_end += (size_t)nread;
    assert(conn->read_end <= conn->read_capacity);
    conn_process(conn);
    troc__server_flush(conn->server);
}

/* Largest payload the connection accepts in its current state. */
static size_t conn_frame_max(const troc__conn *conn) {
    if (conn->state == TROC__CONN_HELLO) return TROC_HANDSHAKE_FRAME_SIZE_MAX;
    if (conn->state == TROC__CONN_AUTH) return TROC_HANDSHAKE_FRAME_SIZE_MAX + TROC_CHANNEL_TAG_SIZE;
    return TROC_FRAME_SIZE_MAX;
}

/* Fits the read buffer to a frame of `payload_size` bytes that has begun to
 * arrive: its first size for a small frame, the frame's size for a large
 * one, so that a buffer grown for an earlier frame holds no more than this
 * one needs.  Returns 0, -EAGAIN when the budget has no room for the growth
 * yet (the connection then waits in the server's line), or -ENOMEM. */
static int conn_read_room(troc__conn *conn, size_t payload_size) {
    size_t need = TROC_FRAME_HEADER_SIZE + payload_size;
    assert(conn->read_end - conn->read_start < need);
    if (conn->read_start > 0) {
        memmove(conn->read_buffer, conn->read_buffer + conn->read_start, conn->read_end - conn->read_start);
        conn->read_end -= conn->read_start;
        conn->read_start = 0;
    }
    size_t target = need > TROC__READ_BUFFER_SIZE ? need : TROC__READ_BUFFER_SIZE;
    if (target == conn->read_capacity) return 0;
    if (target > conn->read_capacity && !troc__server_frame_fits(conn->server, conn, target - conn->read_capacity)) {
        conn->memory_wanted = target - conn->read_capacity;
        troc__server_memory_wait(conn->server, conn);
        return -EAGAIN;
    }
    uint8_t *resized = realloc(conn->read_buffer, target);
    if (resized == NULL) return target > conn->read_capacity ? -ENOMEM : 0; /* a smaller one is only a saving */
    conn->read_buffer = resized;
    conn->read_capacity = target;
    conn_account(conn);
    return 0;
}

/* Gives a read buffer grown for a large frame back once that frame is
 * taken and nothing of the next one tells its size. */
static void conn_read_shrink(troc__conn *conn) {
    size_t left = conn->read_end - conn->read_start;
    if (left == 0) conn->read_start = conn->read_end = 0;
    if (conn->read_capacity <= TROC__READ_BUFFER_SIZE || left >= TROC_FRAME_HEADER_SIZE) return;
    if (left == 0) {
        free(conn->read_buffer);
        conn->read_buffer = NULL;
        conn->read_capacity = 0;
    } else {
        memmove(conn->read_buffer, conn->read_buffer + conn->read_start, left);
        conn->read_start = 0;
        conn->read_end = left;
        uint8_t *smaller = realloc(conn->read_buffer, TROC__READ_BUFFER_SIZE);
        if (smaller == NULL) return; /* it keeps its size, still charged */
        conn->read_buffer = smaller;
        conn->read_capacity = TROC__READ_BUFFER_SIZE;
    }
    conn_account(conn);
}

static void conn_set_reading(troc__conn *conn) {
    if (conn->lingering) return;
    bool want = conn_may_read(conn);
    if (want && !conn->reading) {
        if (uv_read_start(&conn->socket.stream, conn_on_alloc, conn_on_read) != 0) {
            troc__conn_close(conn, "cannot read from the socket");
            return;
        }
        conn->reading = true;
    } else if (!want && conn->reading) {
        uv_read_stop(&conn->socket.stream);
        conn->reading = false;
        if (conn_open_for_frames(conn)) conn->server->stats.read_pauses++;
    }
}

/* Starts the clock of a frame that has begun to arrive on a connection
 * being read, and stops it otherwise: time not reading does not count, so
 * a connection paused for backpressure or waiting for memory starts
 * afresh when it is read again. */
static void conn_watch_frame(troc__conn *conn) {
    bool arriving = conn->state == TROC__CONN_READY && conn->reading && conn->read_end > conn->read_start;
    if (!arriving) {
        conn->frame_started_ms = 0;
        return;
    }
    if (conn->frame_started_ms != 0) return;
    conn->frame_started_ms = conn_now(conn);
    if (uv_timer_get_due_in(&conn->timer) > conn->server->frame_timeout_ms) {
        uv_timer_start(&conn->timer, conn_on_timer, conn->server->frame_timeout_ms, 0);
    }
}

/* ------------------------------------------------------------- frames */

/* The client's hello, in clear: answer with ours and expect its proof. */
static void conn_hello(troc__conn *conn, const uint8_t *payload, size_t payload_size) {
    troc_server *server = conn->server;
    uint8_t reply[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t reply_size = 0;
    int rc = troc_handshake_server_hello(&conn->handshake, payload, payload_size, server->territory_keypair,
                                         troc_ledger_territory(server->ledger), troc_ledger_unit(server->ledger),
                                         &conn->channel, reply, &reply_size);
    if (rc != 0) {
        troc__conn_fail(conn, TROC_EHANDSHAKE, "handshake failed: expected a valid ClientHello of version 1");
        return;
    }
    troc__out *out = conn_out_queue(conn);
    if (out_reserve(conn, out, TROC_FRAME_HEADER_SIZE + reply_size) != 0) {
        troc__conn_close(conn, "out of memory for a reply");
        return;
    }
    troc_frame_header_write(out->data + out->size, reply_size);
    memcpy(out->data + out->size + TROC_FRAME_HEADER_SIZE, reply, reply_size);
    out->size += TROC_FRAME_HEADER_SIZE + reply_size;
    troc__server_mark_dirty(server, conn);
    conn->state = TROC__CONN_AUTH;
}

/* The client's proof of its key, sealed. */
static void conn_auth(troc__conn *conn, const uint8_t *plaintext, size_t plaintext_size) {
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, plaintext_size, plaintext);
    if (frame == NULL) {
        troc__conn_fail(conn, TROC_EDECODE, "cannot decode the ClientAuth frame");
        return;
    }
    if (frame->kind_case != TROC__V1__CLIENT_FRAME__KIND_AUTH) {
        troc__conn_fail(conn, TROC_EPROTOCOL, "expected ClientAuth before any request");
    } else {
        troc__dispatch_auth(conn, frame->auth);
    }
    troc__v1__client_frame__free_unpacked(frame, NULL);
}

/* A request, sealed: decoded into a request's arena and dispatched. */
static void conn_request(troc__conn *conn, const uint8_t *plaintext, size_t plaintext_size) {
    troc__request *request = troc__conn_request_get(conn);
    if (request == NULL) {
        troc__conn_close(conn, "out of memory for a request");
        return;
    }
    troc__arena_set_limit(&request->arena, TROC_DECODE_EXPANSION_MAX * plaintext_size);
    Troc__V1__ClientFrame *frame =
        troc__v1__client_frame__unpack(&request->arena.allocator, plaintext_size, plaintext);
    troc__server_charge(conn->server, request);
    if (frame == NULL) {
        troc__conn_request_put(conn, request);
        troc__conn_fail(conn, TROC_EDECODE, "cannot decode the frame as a ClientFrame");
        return;
    }
    if (frame->kind_case != TROC__V1__CLIENT_FRAME__KIND_REQUEST) {
        troc__conn_request_put(conn, request);
        troc__conn_fail(conn, TROC_EPROTOCOL, "expected a Request after the handshake");
        return;
    }
    conn->server->stats.requests++;
    troc__dispatch_request(conn, request, frame->request);
}

/* One whole frame (header included) at `frame`. */
static void conn_frame(troc__conn *conn, uint8_t *frame, size_t frame_size) {
    if (conn->state == TROC__CONN_HELLO) {
        conn_hello(conn, frame + TROC_FRAME_HEADER_SIZE, frame_size - TROC_FRAME_HEADER_SIZE);
        return;
    }
    size_t plaintext_size = 0;
    uint8_t *plaintext = frame + TROC_FRAME_HEADER_SIZE;
    if (frame_size < TROC_FRAME_HEADER_SIZE + TROC_CHANNEL_TAG_SIZE + 1) {
        troc__conn_fail(conn, TROC_EFRAME, "a sealed frame too short to hold anything (its tag and one byte)");
        return;
    }
    if (troc_channel_open(&conn->channel, frame, frame_size, plaintext, &plaintext_size) != 0) {
        troc__conn_fail(conn, TROC_EFRAME, "a frame failed to authenticate (tampered, replayed or reordered)");
        return;
    }
    if (conn->state == TROC__CONN_AUTH) conn_auth(conn, plaintext, plaintext_size);
    else conn_request(conn, plaintext, plaintext_size);
}

/* Handles every whole frame buffered while the connection may take one,
 * then starts or stops reading as the bounds say. */
static void conn_process(troc__conn *conn) {
    if (conn->processing) return;
    conn->processing = true;
    while (conn_may_read(conn) && conn->read_end > conn->read_start) {
        size_t payload_size = 0;
        int rc = troc_frame_peek(conn->read_buffer + conn->read_start, conn->read_end - conn->read_start,
                                 &payload_size);
        if (rc == TROC_EFRAME) {
            troc__conn_fail(conn, TROC_EFRAME, "malformed frame: a frame cannot be empty");
        } else if (rc == TROC_EFRAME_SIZE || payload_size > conn_frame_max(conn)) {
            troc__conn_fail(conn, TROC_EFRAME_SIZE, "frame larger than allowed at this point of the protocol");
        } else if (rc == 0) {
            if (payload_size > 0 && conn_read_room(conn, payload_size) == -ENOMEM) {
                troc__conn_close(conn, "out of memory for a frame");
            }
            break;
        } else {
            uint8_t *frame = conn->read_buffer + conn->read_start;
            conn->read_start += TROC_FRAME_HEADER_SIZE + payload_size;
            conn->last_frame_ms = conn_now(conn);
            conn->frame_started_ms = 0;
            conn_frame(conn, frame, TROC_FRAME_HEADER_SIZE + payload_size);
        }
    }
    if (conn->state != TROC__CONN_CLOSED) {
        conn_read_shrink(conn);
        conn_set_reading(conn);
        conn_watch_frame(conn);
    }
    conn->processing = false;
}

void troc__conn_update_reading(troc__conn *conn) {
    assert(conn != NULL);
    if (conn->state == TROC__CONN_CLOSED) return;
    if (conn->processing) return;
    conn_process(conn);
}

/* -------------------------------------------------------------- timers */

/* How long the write in flight has gone without the peer taking any of
 * it.  The peer took some since the last check when libuv's queue shrank
 * (the kernel had room for more) or, libuv having written nothing
 * meanwhile, when the kernel's queue shrank (the peer acknowledged or
 * read some of it): that queue only grows by libuv's writes and only
 * shrinks by the peer's taking.  A kernel queue found empty means the
 * peer has taken all it was given: what waits is ours, libuv's next write
 * (after a loop that was held up, timers run before the writes it owes),
 * so the peer is not the one stalled. */
static uint64_t conn_write_stalled_ms(troc__conn *conn, uint64_t now) {
    size_t pending = uv_stream_get_write_queue_size(&conn->socket.stream);
    int queued = conn_kernel_queued(conn);
    bool kernel_drained =
        queued == 0 || (queued > 0 && conn->write_kernel_queued >= 0 && queued < conn->write_kernel_queued);
    if (pending < conn->write_pending || kernel_drained) conn->write_progress_ms = now;
    conn->write_pending = pending;
    conn->write_kernel_queued = queued;
    return now - conn->write_progress_ms;
}

/* A served connection's deadlines: the frame arriving, the peer taking
 * its replies, then idleness (which does not run while the server owes it
 * something: replies, or room for its frame).  Cuts it past one, else sets
 * the timer for the nearest. */
static void conn_check_ready(troc__conn *conn, uint64_t now) {
    troc_server *server = conn->server;
    uint64_t frame_age = conn->frame_started_ms != 0 ? now - conn->frame_started_ms : 0;
    if (conn->frame_started_ms != 0 && frame_age >= server->frame_timeout_ms) {
        troc__conn_fail(conn, TROC_ETIMEOUT, server->frame_timeout_reason);
        return;
    }
    uint64_t write_stalled = conn->writing >= 0 ? conn_write_stalled_ms(conn, now) : 0;
    if (write_stalled >= server->write_timeout_ms) {
        troc__conn_fail(conn, TROC_ETIMEOUT, server->write_timeout_reason);
        return;
    }
    uint64_t idle = now - conn->last_frame_ms;
    uint64_t timeout = server->idle_timeout_ms;
    bool owed = conn->in_flight > 0 || conn->memory_waiting;
    if (!owed && idle >= timeout) {
        troc__conn_fail(conn, TROC_ETIMEOUT, "idle for too long");
        return;
    }
    uint64_t wait = owed ? timeout : timeout - idle;
    if (conn->frame_started_ms != 0 && server->frame_timeout_ms - frame_age < wait) {
        wait = server->frame_timeout_ms - frame_age;
    }
    if (conn->writing >= 0 && server->write_timeout_ms - write_stalled < wait) {
        wait = server->write_timeout_ms - write_stalled;
    }
    uv_timer_start(&conn->timer, conn_on_timer, wait, 0);
}

static void conn_on_timer(uv_timer_t *timer) {
    troc__conn *conn = timer->data;
    uint64_t now = uv_now(conn->server->loop);
    switch (conn->state) {
    case TROC__CONN_HELLO:
    case TROC__CONN_AUTH:
        troc__conn_fail(conn, TROC_ETIMEOUT, "handshake not finished in time");
        break;
    case TROC__CONN_READY:
        conn_check_ready(conn, now);
        break;
    case TROC__CONN_CLOSING:
        troc__conn_close(conn, conn->close_reason);
        break;
    case TROC__CONN_DRAINING:
    case TROC__CONN_CLOSED:
        break;
    }
    troc__server_flush(conn->server);
}

/* The handshake is done: from now on the idle timeout applies. */
void troc__conn_ready(troc__conn *conn) {
    assert(conn != NULL && conn->state == TROC__CONN_AUTH);
    conn->state = TROC__CONN_READY;
    troc__server_handshake_over(conn->server, conn);
    uv_timer_start(&conn->timer, conn_on_timer, conn->server->idle_timeout_ms, 0);
}

/* ------------------------------------------------------------ requests */

troc__request *troc__conn_request_get(troc__conn *conn) {
    assert(conn != NULL);
    assert(conn->in_flight < TROC_REQUESTS_IN_FLIGHT_MAX);
    troc__request *request = conn->free_requests;
    if (request != NULL) {
        conn->free_requests = request->next;
    } else {
        request = malloc(sizeof *request);
        if (request == NULL) return NULL;
    }
    memset(request, 0, offsetof(troc__request, arena));
    request->conn = conn;
    troc__arena_init(&request->arena, request->inline_arena, sizeof request->inline_arena);
    conn->in_flight++;
    return request;
}

void troc__conn_request_put(troc__conn *conn, troc__request *request) {
    assert(conn != NULL && request != NULL && request->conn == conn);
    assert(conn->in_flight > 0);
    troc__arena_reset(&request->arena);
    troc__server_uncharge(conn->server, request);
    request->next = conn->free_requests;
    conn->free_requests = request;
    conn->in_flight--;
    if (conn->state == TROC__CONN_CLOSED) {
        conn_maybe_free(conn);
        return;
    }
    troc__conn_update_reading(conn);
    conn_close_if_done(conn);
}

/* ------------------------------------------------------- open and stop */

/* Names the peer for the log and notes its source (TCP). */
static void conn_peer_name(troc__conn *conn, bool is_tcp) {
    strcpy(conn->peer, is_tcp ? "an unknown address" : "unix socket");
    if (!is_tcp) return;
    struct sockaddr_storage address;
    int size = sizeof address;
    if (uv_tcp_getpeername(&conn->socket.tcp, (struct sockaddr *)&address, &size) != 0) {
        /* The peer left already: it shares the unknown source. */
        troc__source_from_address(NULL, &conn->source);
        return;
    }
    troc__source_from_address((struct sockaddr *)&address, &conn->source);
    char host[48] = "?";
    if (address.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&address, host, sizeof host);
        snprintf(conn->peer, sizeof conn->peer, "[%s]:%d", host, ntohs(((struct sockaddr_in6 *)&address)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&address, host, sizeof host);
        snprintf(conn->peer, sizeof conn->peer, "%s:%d", host, ntohs(((struct sockaddr_in *)&address)->sin_port));
    }
}

static void conn_discarded(uv_handle_t *handle) {
    free(handle->data);
}

/* The newcomer is accepted before it is counted: whether it may be served
 * depends on its source, which only an accepted socket tells. */
troc__conn *troc__conn_accept(troc_server *server, uv_stream_t *listener, bool is_tcp) {
    assert(server != NULL && listener != NULL);
    troc__conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        troc_log("cannot accept a connection: out of memory");
        return NULL;
    }
    conn->server = server;
    conn->writing = -1;
    conn->state = TROC__CONN_HELLO;
    conn->local = !is_tcp;
    conn->socket.handle.data = conn;
    conn->timer.data = conn;
    conn->write_request.data = conn;
    int rc = is_tcp ? uv_tcp_init(server->loop, &conn->socket.tcp) : uv_pipe_init(server->loop, &conn->socket.pipe, 0);
    if (rc != 0) {
        free(conn);
        return NULL;
    }
    rc = uv_accept(listener, &conn->socket.stream);
    if (rc != 0) {
        troc_log("accept failed: %s", uv_strerror(rc));
        troc__conn_discard(conn);
        return NULL;
    }
    conn_peer_name(conn, is_tcp);
    return conn;
}

/* Closes a connection accepted but never started (nothing counted it). */
void troc__conn_discard(troc__conn *conn) {
    assert(conn != NULL && conn->handles_open == 0 && !conn->handshaking);
    uv_close(&conn->socket.handle, conn_discarded);
}

/* Serves an accepted connection: counted, logged, its handshake timed. */
void troc__conn_start(troc__conn *conn) {
    assert(conn != NULL && conn->handles_open == 0);
    troc_server *server = conn->server;
    uv_timer_init(server->loop, &conn->timer);
    conn->handles_open = 2;
    conn->number = ++server->conn_numbers;
    troc__server_conn_opened(server, conn);
    if (!conn->local) uv_tcp_nodelay(&conn->socket.tcp, 1);
    troc_log("connection %llu open from %s", (unsigned long long)conn->number, conn->peer);
    conn->last_frame_ms = conn_now(conn);
    uv_timer_start(&conn->timer, conn_on_timer, server->handshake_timeout_ms, 0);
    conn_set_reading(conn);
}

void troc__conn_drain(troc__conn *conn) {
    assert(conn != NULL);
    if (conn->state == TROC__CONN_CLOSED || conn->state == TROC__CONN_CLOSING) return;
    if (conn->state != TROC__CONN_READY) {
        troc__conn_close(conn, "server stopping");
        return;
    }
    conn->state = TROC__CONN_DRAINING;
    uv_timer_stop(&conn->timer);
    conn_set_reading(conn);
    conn_close_if_done(conn);
}
