/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's loop, its budgets and its stop sequence.
 *
 * Budget.  Every request in flight is charged (its object and the heap its
 * arena took) to its connection and to the server, and so is every buffer
 * a connection holds: its read buffer and its output buffers, by capacity.
 * Past the budget (TROC_SERVER_MEMORY_BYTES_MAX) served connections stop
 * taking frames; they resume once the charge falls under three quarters of
 * it, so the daemon's memory stays bounded however many peers push at once.
 * Replies already owed are still queued (a connection can always finish
 * what it owes, and the writer always finishes its requests), so the
 * charge can pass the budget by those replies only, and by the buffers of
 * connections in their handshake, which are read whatever the budget
 * (conn.c): their number is bounded, their frames small.
 *
 * Two classes share the budget, with a hysteresis each.  With a Unix
 * socket, an eighth of the budget is its connections' alone: TCP
 * connections pause once they hold the other seven eighths, or once the
 * whole budget is taken; the Unix socket's pause only once they hold their
 * reserve and the whole budget is taken.  So peers over TCP that never
 * read their replies can fill their part, but not lock out a local
 * administrator; and the Unix socket's connections may use what TCP
 * leaves, without the charge passing the budget (but as above).
 *
 * Large frames.  A read buffer grows to a frame larger than its first size
 * only while the grown buffers stay within their share of the budget, and
 * the connection's class is not past its own.  A connection whose frame
 * does not fit stops reading and waits in line; the head of the line grows
 * as soon as it fits, at the end of any callback.  Nothing a waiter waits for waits in
 * turn: grown buffers are released as their frames are taken (or their
 * connections cut by the frame timeout), requests as the writer answers
 * them, replies as peers read them (or are cut when idle).
 *
 * Descriptors.  Every connection takes a descriptor, and so does every
 * "busy" answer in flight.  Past the process's limit accept fails with
 * EMFILE, and libuv then accepts and closes newcomers itself, unseen: no
 * busy answer, nothing logged, an administrator locked out like anyone.  So
 * at open the server (asked by trocd) raises its soft limit as far as the
 * hard one allows, and serves no more connections than the descriptors left
 * beside TROC_DESCRIPTORS_RESERVED hold, saying so in the log.
 *
 * Output.  Replies are queued into connections' buffers during a callback
 * and the connections are marked dirty; the end of each callback flushes
 * them, so that a group commit answering many requests of one connection
 * sends them in one write.
 *
 * Stop.  troc_server_stop (any thread, or SIGINT, SIGTERM or SIGHUP)
 * closes the listeners,
 * stops reading everywhere and lets every request already read be verified,
 * committed and answered; connections close as they go quiet.  After
 * TROC_SHUTDOWN_TIMEOUT_MS the remaining ones are cut (their requests still
 * finish in the writer, unanswered).  A clearing round in progress is
 * finished; rounds still queued are answered "not run".  When the last
 * connection is freed and no round is in progress, the writer thread is
 * joined and every handle closed, so uv_run returns and the loop closes
 * cleanly.
 */
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/error.h"
#include "log.h"
#include "server_int.h"

/* Reading resumes once the charge falls under this fraction of the bound. */
#define BUDGET_RESUME(bound) ((bound) / 4 * 3)

/* ------------------------------------------------------------ budgets */

/* Sets whether the connections of one class (`local`: the Unix socket's)
 * are past their budget, given whether they `reached` it and whether they
 * are now well under it (`under`); logs and counts each pause. */
static void server_budget_set(troc_server *server, bool local, bool reached, bool under) {
    if (reached && !server->over_budget[local]) {
        server->over_budget[local] = true;
        server->stats.memory_full++;
        troc_log("memory at its bound (%zu bytes of requests and buffers): reading paused on every %s",
                 server->memory_bytes,
                 local ? "connection, the Unix socket's included"
                 : server->memory_local_reserved > 0 ? "TCP connection (the Unix socket keeps its reserve)"
                                                     : "connection");
    } else if (server->over_budget[local] && under) {
        server->over_budget[local] = false;
        server->resume_all = true;
    }
}

/* The charge changed: pause the connections of a class at its budget,
 * resume them all once well under it. */
static void server_memory_changed(troc_server *server) {
    size_t total = server->memory_bytes, local = server->memory_bytes_local, tcp = total - local;
    size_t max = server->memory_bytes_max, reserve = server->memory_local_reserved;
    if (total > server->stats.memory_bytes_peak) server->stats.memory_bytes_peak = total;
    server_budget_set(server, false, tcp >= max - reserve || total >= max,
                      tcp < BUDGET_RESUME(max - reserve) && total < BUDGET_RESUME(max));
    if (reserve == 0) return; /* no Unix socket: no connection of its */
    server_budget_set(server, true, local >= reserve && total >= max,
                      local < BUDGET_RESUME(reserve) || total < BUDGET_RESUME(max));
}

/* Moves the charge of `conn` (to the server and to its class) from
 * `before` bytes to `after`. */
static void server_recharge(troc_server *server, const troc__conn *conn, size_t before, size_t after) {
    assert(server->memory_bytes >= before && server->memory_bytes_local <= server->memory_bytes);
    server->memory_bytes = server->memory_bytes - before + after;
    if (conn->local) {
        assert(server->memory_bytes_local >= before);
        server->memory_bytes_local = server->memory_bytes_local - before + after;
    }
    server_memory_changed(server);
}

void troc__server_charge(troc_server *server, troc__request *request) {
    assert(server != NULL && request != NULL);
    troc__conn *conn = request->conn;
    size_t target = sizeof *request + request->arena.heap_bytes;
    assert(conn->request_bytes >= request->charged);
    conn->request_bytes = conn->request_bytes - request->charged + target;
    size_t before = request->charged;
    request->charged = target;
    server_recharge(server, conn, before, target);
}

void troc__server_uncharge(troc_server *server, troc__request *request) {
    assert(server != NULL && request != NULL);
    troc__conn *conn = request->conn;
    assert(conn->request_bytes >= request->charged);
    conn->request_bytes -= request->charged;
    size_t before = request->charged;
    request->charged = 0;
    server_recharge(server, conn, before, 0);
}

/* Sets what `conn`'s buffers are charged: `buffer_bytes` in all, of which
 * `frame_buffer_bytes` for a read buffer grown for a large frame. */
void troc__server_charge_buffers(troc_server *server, troc__conn *conn, size_t buffer_bytes,
                                 size_t frame_buffer_bytes) {
    assert(server != NULL && conn != NULL && frame_buffer_bytes <= buffer_bytes);
    assert(server->frame_buffer_bytes >= conn->frame_buffer_bytes);
    server->frame_buffer_bytes = server->frame_buffer_bytes - conn->frame_buffer_bytes + frame_buffer_bytes;
    conn->frame_buffer_bytes = frame_buffer_bytes;
    size_t before = conn->buffer_bytes;
    conn->buffer_bytes = buffer_bytes;
    server_recharge(server, conn, before, buffer_bytes);
}

/* May `conn`'s read buffer grow by `growth` bytes for a large frame now?
 * Not past its class's budget, and within the read buffers' share of it:
 * the last growth may take the charge past the budget by one frame, but a
 * frame is never kept waiting while the charge stays just under it. */
bool troc__server_frame_fits(const troc_server *server, const troc__conn *conn, size_t growth) {
    assert(server != NULL && conn != NULL);
    return !server->over_budget[conn->local] && server->frame_buffer_bytes + growth <= server->frame_buffer_bytes_max;
}

/* Puts `conn` at the end of the line of connections waiting to grow. */
void troc__server_memory_wait(troc_server *server, troc__conn *conn) {
    assert(server != NULL && conn != NULL);
    if (conn->memory_waiting) return;
    conn->memory_waiting = true;
    conn->memory_wait_next = NULL;
    if (server->memory_wait_tail != NULL) server->memory_wait_tail->memory_wait_next = conn;
    else server->memory_wait_head = conn;
    server->memory_wait_tail = conn;
    server->stats.memory_waits++;
}

/* Takes `conn` out of the line (it is closing); bounded by the connections. */
void troc__server_memory_unwait(troc_server *server, troc__conn *conn) {
    assert(server != NULL && conn != NULL);
    if (!conn->memory_waiting) return;
    troc__conn *previous = NULL;
    for (troc__conn *c = server->memory_wait_head; c != conn; c = c->memory_wait_next) {
        assert(c != NULL);
        previous = c;
    }
    if (previous != NULL) previous->memory_wait_next = conn->memory_wait_next;
    else server->memory_wait_head = conn->memory_wait_next;
    if (server->memory_wait_tail == conn) server->memory_wait_tail = previous;
    conn->memory_waiting = false;
    conn->memory_wait_next = NULL;
}

/* Lets the connections at the head of the line grow, in order, while their
 * frames fit. */
static void server_memory_wake(troc_server *server) {
    /* Bounded: each turn takes a connection off the line, and one that
     * comes back (it could not grow after all) goes to its end. */
    for (uint32_t turn = 0; turn <= server->conn_count && server->memory_wait_head != NULL; turn++) {
        troc__conn *conn = server->memory_wait_head;
        if (!troc__server_frame_fits(server, conn, conn->memory_wanted)) return;
        troc__server_memory_unwait(server, conn);
        troc__conn_update_reading(conn);
    }
}

/* ------------------------------------------------------- connections */

void troc__server_conn_opened(troc_server *server, troc__conn *conn) {
    assert(server != NULL && conn != NULL);
    assert(!conn->handshaking);
    conn->handshaking = true;
    server->handshakes[conn->local]++;
    if (!conn->local) troc__sources_add(&server->sources, &conn->source);
    conn->next = server->conns;
    conn->prev = NULL;
    if (server->conns != NULL) server->conns->prev = conn;
    server->conns = conn;
    server->conn_count++;
    server->stats.connections_accepted++;
}

/* The connection left its handshake (session open, or freed): its slot is
 * no longer a stranger's. */
void troc__server_handshake_over(troc_server *server, troc__conn *conn) {
    assert(server != NULL && conn != NULL);
    if (!conn->handshaking) return;
    assert(server->handshakes[conn->local] > 0);
    server->handshakes[conn->local]--;
    if (!conn->local) troc__sources_remove(&server->sources, &conn->source);
    conn->handshaking = false;
}

static void server_finish(troc_server *server);

void troc__server_conn_closed(troc_server *server, troc__conn *conn) {
    assert(server != NULL && conn != NULL);
    assert(server->conn_count > 0);
    troc__server_handshake_over(server, conn);
    if (conn->prev != NULL) conn->prev->next = conn->next;
    else server->conns = conn->next;
    if (conn->next != NULL) conn->next->prev = conn->prev;
    if (conn->dirty) {
        troc__conn **link = &server->dirty;
        while (*link != conn) link = &(*link)->dirty_next;
        *link = conn->dirty_next;
    }
    server->conn_count--;
    troc__server_maybe_finish(server);
}

/* Finishes the stop sequence once nothing is left to wait for. */
void troc__server_maybe_finish(troc_server *server) {
    assert(server != NULL);
    if (server->stopping && server->conn_count == 0 && troc__clearing_idle(server)) server_finish(server);
}

void troc__server_mark_dirty(troc_server *server, troc__conn *conn) {
    assert(server != NULL && conn != NULL);
    if (conn->dirty) return;
    conn->dirty = true;
    conn->dirty_next = server->dirty;
    server->dirty = conn;
}

void troc__server_flush(troc_server *server) {
    assert(server != NULL);
    server_memory_wake(server);
    if (server->resume_all) {
        server->resume_all = false;
        for (troc__conn *conn = server->conns; conn != NULL; conn = conn->next) troc__conn_update_reading(conn);
    }
    while (server->dirty != NULL) {
        troc__conn *conn = server->dirty;
        server->dirty = conn->dirty_next;
        conn->dirty = false;
        conn->dirty_next = NULL;
        troc__conn_flush(conn);
    }
}

/* --------------------------------------------------------------- stop */

static void server_on_done(uv_async_t *async) {
    troc_server *server = async->data;
    troc__dispatch_committed(server, troc__writer_take_done(&server->writer));
    troc__server_flush(server);
}

/* Every connection is gone: join the writer and close the last handles. */
static void server_finish(troc_server *server) {
    if (server->finished) return;
    server->finished = true;
    troc__writer_stop(&server->writer);
    troc__clearing_close(server);
    uv_close((uv_handle_t *)&server->stop_async, NULL);
    uv_close((uv_handle_t *)&server->shutdown_timer, NULL);
    if (server->has_signals) {
        for (int i = 0; i < TROC__STOP_SIGNAL_COUNT; i++) uv_close((uv_handle_t *)&server->signals[i], NULL);
    }
}

/* The plural ending of a count's noun in a log line. */
static const char *plural(unsigned long long count) {
    return count == 1 ? "" : "s";
}

static void server_on_shutdown_timeout(uv_timer_t *timer) {
    troc_server *server = timer->data;
    troc_log("shutdown timeout: closing %u connection%s still busy", server->conn_count, plural(server->conn_count));
    for (troc__conn *conn = server->conns; conn != NULL; conn = conn->next) {
        troc__conn_close(conn, "shutdown timeout");
    }
}

/* Begins the stop sequence; `why` is logged, unless NULL: a server that
 * failed to start says why once, not that it stops. */
static void server_begin_stop(troc_server *server, const char *why) {
    if (server->stopping) return;
    server->stopping = true;
    if (why != NULL) {
        troc_log("stopping (%s): no new connections; answering the %u open one%s", why, server->conn_count,
                 plural(server->conn_count));
    }
    troc__listener_close(server);
    troc__clearing_stop(server);
    troc__backup_stop(server);
    for (troc__conn *conn = server->conns; conn != NULL; conn = conn->next) troc__conn_drain(conn);
    troc__server_flush(server);
    uv_timer_start(&server->shutdown_timer, server_on_shutdown_timeout, TROC_SHUTDOWN_TIMEOUT_MS, 0);
    troc__server_maybe_finish(server);
}

static void server_on_stop(uv_async_t *async) {
    server_begin_stop(async->data, "asked to stop");
}

/* The signals that stop the server in order, and their names for the log.
 * SIGHUP is one of them: the daemon has nothing to reload, and a trocd
 * whose terminal goes away (started from an ssh session) would otherwise
 * be killed outright, leaving its port file and socket behind. */
static const struct {
    int number;
    const char *name;
} stop_signals[] = {{SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"}};
_Static_assert(sizeof stop_signals / sizeof stop_signals[0] == TROC__STOP_SIGNAL_COUNT, "one handle per signal");

static void server_on_signal(uv_signal_t *handle, int signal_number) {
    const char *name = "a signal";
    for (int i = 0; i < TROC__STOP_SIGNAL_COUNT; i++) {
        if (stop_signals[i].number == signal_number) name = stop_signals[i].name;
    }
    server_begin_stop(handle->data, name);
}

void troc_server_stop(troc_server *server) {
    assert(server != NULL);
    uv_async_send(&server->stop_async);
}

/* -------------------------------------------------------------- open */

static int server_start_signals(troc_server *server) {
    int rc = 0, ready = 0;
    while (ready < TROC__STOP_SIGNAL_COUNT && (rc = uv_signal_init(server->loop, &server->signals[ready])) == 0) {
        server->signals[ready].data = server;
        ready++;
    }
    if (rc != 0) {
        for (int i = 0; i < ready; i++) uv_close((uv_handle_t *)&server->signals[i], NULL);
        return rc;
    }
    server->has_signals = true;
    for (int i = 0; i < TROC__STOP_SIGNAL_COUNT && rc == 0; i++) {
        rc = uv_signal_start(&server->signals[i], server_on_signal, stop_signals[i].number);
    }
    return rc;
}

/* Descriptors that serving `connections` connections takes. */
static uint64_t descriptors_needed(uint64_t connections) {
    return connections + TROC_REFUSALS_MAX + TROC_DESCRIPTORS_RESERVED;
}

/* Raises the soft descriptor limit towards what `needed` says, as far as the
 * hard limit allows; returns the soft limit in effect. */
static rlim_t descriptors_raise(struct rlimit limit, rlim_t needed) {
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return limit.rlim_cur;
    rlim_t previous = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed ? limit.rlim_max : needed;
    if (limit.rlim_cur == previous) return previous;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        troc_log("cannot raise the descriptor limit from %llu to %llu: %s", (unsigned long long)previous,
                 (unsigned long long)limit.rlim_cur, troc_strerror(-errno));
        return previous;
    }
    troc_log("raised the descriptor limit (ulimit -n) from %llu to %llu", (unsigned long long)previous,
             (unsigned long long)limit.rlim_cur);
    return limit.rlim_cur;
}

/* Lowers connections_max to what the descriptor limit holds (raised first
 * if asked), so that a newcomer past it is told "busy" rather than closed
 * unseen by libuv when accept fails. */
static int server_fit_descriptors(troc_server *server, bool raise) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        int rc = -errno;
        troc_log("cannot start the server: cannot read its descriptor limit: %s", troc_strerror(rc));
        return rc;
    }
    rlim_t needed = (rlim_t)descriptors_needed(server->connections_max);
    rlim_t soft = raise ? descriptors_raise(limit, needed) : limit.rlim_cur;
    if (soft == RLIM_INFINITY || soft >= needed) return 0;
    rlim_t others = (rlim_t)descriptors_needed(0);
    if (soft <= others) {
        troc_log("cannot start the server: its descriptor limit (ulimit -n) of %llu leaves no room for "
                 "connections beside the %llu it keeps for the ledger, the listeners, backups and busy answers; "
                 "raise it to %llu", (unsigned long long)soft, (unsigned long long)others,
                 (unsigned long long)needed);
        return -EMFILE;
    }
    uint32_t fit = (uint32_t)(soft - others);
    troc_log("serving at most %u connections instead of %u: the descriptor limit (ulimit -n) is %llu and %llu "
             "are kept for the ledger, the listeners, backups and busy answers; raise the limit to %llu "
             "(ulimit -n, LimitNOFILE= under systemd) to serve %u", fit, server->connections_max, (unsigned long long)soft,
             (unsigned long long)others, (unsigned long long)needed, server->connections_max);
    server->connections_max = fit;
    return 0;
}

/* A share of `total`: total / `share`, or `floor` if more, at most the
 * total. */
static uint32_t server_share(uint32_t total, uint32_t share, uint32_t floor) {
    if (floor > total) floor = total;
    return total / share > floor ? total / share : floor;
}

/* The shares of the connection limit: strangers in their handshake, each
 * source's part of them, and the slots and memory kept for the Unix socket
 * (see limits.h).  The table of sources holds at most one per connection
 * in its handshake over TCP. */
static int server_share_connections(troc_server *server, bool has_socket) {
    uint32_t max = server->connections_max;
    server->handshakes_max = server_share(max, TROC_HANDSHAKES_SHARE, TROC_HANDSHAKES_MIN);
    server->handshakes_source_max =
        server_share(server->handshakes_max, TROC_HANDSHAKES_SOURCE_SHARE, TROC_HANDSHAKES_SOURCE_MIN);
    uint32_t reserved = max / 4 < TROC_CONNECTIONS_LOCAL_RESERVED ? max / 4 : TROC_CONNECTIONS_LOCAL_RESERVED;
    server->local_reserved = has_socket ? reserved : 0;
    server->memory_local_reserved = has_socket ? server->memory_bytes_max / TROC_SERVER_MEMORY_LOCAL_SHARE : 0;
    assert(server->handshakes_max >= 1 && server->local_reserved < max);
    assert(server->handshakes_source_max >= 1 && server->handshakes_source_max <= server->handshakes_max);
    return troc__sources_init(&server->sources, server->handshakes_max);
}

/* Opens the listeners (each logs its own failure, naming its address),
 * then the rest.  "listening" is said by troc_server_run, once the caller
 * has done what it does between open and run (trocd writes its port file),
 * so that a start that fails never claims an address it then lets go. */
static int server_start(troc_server *server, const troc_server_options *options) {
    int rc = server_fit_descriptors(server, options->raise_descriptor_limit);
    if (rc != 0) return rc;
    rc = server_share_connections(server, options->socket_path != NULL);
    if (rc != 0) {
        troc_log("cannot start the server: %s", troc_strerror(rc));
        return rc;
    }
    if (options->listen != NULL) rc = troc__listener_open_tcp(server, options->listen);
    if (rc == 0 && options->socket_path != NULL) rc = troc__listener_open_pipe(server, options->socket_path);
    if (rc != 0) return rc;
    if (options->handle_signals) rc = server_start_signals(server);
    if (rc == 0) rc = troc__writer_start(&server->writer, server->loop, server->ledger, server_on_done);
    if (rc == 0) rc = troc__clearing_open(server, options->clear_every_ms);
    if (rc != 0) {
        troc_log("cannot start the server: %s", troc_strerror(rc));
        return rc;
    }
    return 0;
}

int troc_server_open(troc_server **server_out, uv_loop_t *loop, troc_ledger *ledger,
                     const troc_server_options *options) {
    assert(server_out != NULL && loop != NULL && ledger != NULL && options != NULL);
    if (options->listen == NULL && options->socket_path == NULL) {
        troc_log("cannot start the server: it has neither a TCP address nor a Unix socket to listen on");
        return -EINVAL;
    }
    if (options->connections_max > TROC_CONNECTIONS_MAX || options->handshake_timeout_ms > TROC_HANDSHAKE_TIMEOUT_MS ||
        options->idle_timeout_ms > TROC_IDLE_TIMEOUT_MS || options->frame_timeout_ms > TROC_FRAME_TIMEOUT_MS ||
        options->write_timeout_ms > TROC_WRITE_TIMEOUT_MS ||
        options->memory_bytes_max > TROC_SERVER_MEMORY_BYTES_MAX ||
        (options->memory_bytes_max != 0 && options->memory_bytes_max < TROC_SERVER_MEMORY_BYTES_MIN) ||
        (options->clear_every_ms != 0 && (options->clear_every_ms < TROC_CLEAR_EVERY_SECONDS_MIN * 1000ull ||
                                          options->clear_every_ms > TROC_CLEAR_EVERY_SECONDS_MAX * 1000ull))) {
        troc_log("cannot start the server: an option is beyond its bound in engine/base/limits.h");
        return -EINVAL;
    }
    troc_server *server = calloc(1, sizeof *server);
    if (server == NULL) return -ENOMEM;
    server->connections_max = options->connections_max ? options->connections_max : TROC_CONNECTIONS_MAX;
    server->handshake_timeout_ms =
        options->handshake_timeout_ms ? options->handshake_timeout_ms : TROC_HANDSHAKE_TIMEOUT_MS;
    server->idle_timeout_ms = options->idle_timeout_ms ? options->idle_timeout_ms : TROC_IDLE_TIMEOUT_MS;
    server->frame_timeout_ms = options->frame_timeout_ms ? options->frame_timeout_ms : TROC_FRAME_TIMEOUT_MS;
    snprintf(server->frame_timeout_reason, sizeof server->frame_timeout_reason,
             "frame not received in time: a frame must arrive whole within %.3g s of its first bytes",
             server->frame_timeout_ms / 1000.0);
    server->write_timeout_ms = options->write_timeout_ms ? options->write_timeout_ms : TROC_WRITE_TIMEOUT_MS;
    snprintf(server->write_timeout_reason, sizeof server->write_timeout_reason,
             "replies not read: the client took none of its replies for %.3g s", server->write_timeout_ms / 1000.0);
    server->memory_bytes_max = options->memory_bytes_max ? options->memory_bytes_max : TROC_SERVER_MEMORY_BYTES_MAX;
    server->frame_buffer_bytes_max = server->memory_bytes_max / TROC_SERVER_FRAME_BUFFERS_SHARE;
    /* A peer that goes away mid-write must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    server->loop = loop;
    server->ledger = ledger;
    server->territory_keypair = troc_ledger_territory_keypair(ledger);
    troc__arena_init(&server->scratch, server->scratch_inline, sizeof server->scratch_inline);
    troc__arena_set_limit(&server->scratch, TROC__SCRATCH_LIMIT);
    uv_async_init(loop, &server->stop_async, server_on_stop);
    server->stop_async.data = server;
    uv_timer_init(loop, &server->shutdown_timer);
    server->shutdown_timer.data = server;
    server->writer.done_async.data = server;
    int rc = server_start(server, options);
    if (rc != 0) {
        server_begin_stop(server, NULL);
        uv_run(loop, UV_RUN_DEFAULT); /* closes what was opened */
        troc_server_close(server);
        return rc;
    }
    *server_out = server;
    return 0;
}

int troc_server_tcp_port(const troc_server *server) {
    assert(server != NULL);
    return server->has_tcp ? server->tcp_port : 0;
}

int troc_server_run(troc_server *server) {
    assert(server != NULL);
    assert(!server->finished);
    troc__listener_log_ready(server);
    troc_log("serving territory %s", troc_ledger_territory(server->ledger));
    int rc = uv_run(server->loop, UV_RUN_DEFAULT);
    assert(server->finished);
    troc_server_stats stats;
    troc_server_stats_get(server, &stats);
    troc_log("stopped: %llu connection%s served (%llu refused), %llu request%s, %llu commit%s of %llu item%s "
             "(at most %llu in one), %llu commit%s refused",
             (unsigned long long)stats.connections_accepted, plural(stats.connections_accepted),
             (unsigned long long)stats.connections_refused, (unsigned long long)stats.requests,
             plural(stats.requests), (unsigned long long)stats.commits, plural(stats.commits),
             (unsigned long long)stats.items_committed, plural(stats.items_committed),
             (unsigned long long)stats.commit_items_max, (unsigned long long)stats.commits_refused,
             plural(stats.commits_refused));
    return rc < 0 ? rc : 0;
}

void troc_server_stats_get(const troc_server *server, troc_server_stats *stats_out) {
    assert(server != NULL && stats_out != NULL);
    *stats_out = server->stats;
    stats_out->commits = server->writer.commits;
    stats_out->items_committed = server->writer.items_committed;
    stats_out->commit_items_max = server->writer.commit_items_max;
    stats_out->commits_refused = server->writer.commits_refused;
}

void troc_server_close(troc_server *server) {
    if (server == NULL) return;
    if (!server->finished) {
        /* It never ran (troc_server_run returns finished): a server that
         * never said it serves does not say it stops. */
        server_begin_stop(server, NULL);
        uv_run(server->loop, UV_RUN_DEFAULT);
    }
    assert(server->finished && server->conn_count == 0);
    troc__arena_reset(&server->scratch);
    troc__sources_destroy(&server->sources);
    free(server);
}
