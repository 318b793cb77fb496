/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listening sockets: TCP on HOST:PORT and, optionally, a Unix socket for
 * local administration.  Both carry the same protocol, encrypted channel
 * included: one code path, and a key-holder proof on every connection.
 *
 * The Unix socket is created with mode 0660 (umask set around bind, so it
 * never exists with looser permissions): the daemon's user and group may
 * connect; the handshake still decides who is who.  A socket file left by a
 * killed daemon is replaced only after a connection to it is refused, so two
 * daemons never share a path.
 *
 * A listen address is parsed by one function, which trocd also calls
 * (troc_server_check_listen) to refuse a malformed one as bad usage before
 * it opens the ledger.  A listener that cannot start logs its own address,
 * the system's reason and what to do: the caller, holding only an error
 * code, could not tell which listener failed.
 *
 * Past TROC_CONNECTIONS_MAX served connections (or the lower bound the
 * options or the descriptor limit set, see server.c), a new one gets a clear
 * ServerFrame{error: TROC_EBUSY} and is closed.  So does one over TCP once
 * TCP holds all but TROC_CONNECTIONS_LOCAL_RESERVED slots (kept for the Unix
 * socket, when there is one), and one arriving while its listener has its
 * share of connections still in their handshake (TROC_HANDSHAKES_SHARE):
 * strangers cannot take the slots of sessions that proved their key, nor
 * lock out the local administrators.  Over TCP, so does one whose source
 * (its IPv4 address or IPv6 /64, sources.h) already holds its part of that
 * share (TROC_HANDSHAKES_SOURCE_SHARE): one stranger reconnecting as fast
 * as it is cut cannot keep the whole share and lock out every honest
 * newcomer.  The source is known only once the socket is accepted, so
 * that refusal takes the accepted socket over; it is logged at most once
 * per TROC_REFUSALS_LOG_INTERVAL_MS, with a count of the others, where a
 * line per attempt would flood the log.  A refused connection is closed
 * after a lingering close (FIN, then the peer's input discarded until it
 * closes, for at most TROC_CLOSE_LINGER_MS); at most TROC_REFUSALS_MAX
 * refusals are in flight, beyond which new connections are closed without
 * a word.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "log.h"
#include "net/frame.h"
#include "server_int.h"

typedef struct refusal {
    troc__socket socket;
    uv_timer_t timer;                      /* bounds the lingering close */
    uv_write_t write_request;
    uv_shutdown_t shutdown_request;
    troc_server *server;
    int handles_open;
    bool closing;
    uint8_t frame[128];                    /* the clear "busy" frame */
} refusal;

static void refusal_closed(uv_handle_t *handle) {
    refusal *r = handle->data;
    assert(r->handles_open > 0);
    if (--r->handles_open > 0) return;
    assert(r->server->refusal_count > 0);
    r->server->refusal_count--;
    free(r);
}

static void refusal_close(refusal *r) {
    if (r->closing) return;
    r->closing = true;
    uv_close(&r->socket.handle, refusal_closed);
    uv_close((uv_handle_t *)&r->timer, refusal_closed);
}

static void refusal_on_timer(uv_timer_t *timer) {
    refusal_close(timer->data);
}

static void refusal_on_alloc(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buffer) {
    (void)handle;
    (void)suggested_size;
    static char discard[512];
    *buffer = uv_buf_init(discard, sizeof discard);
}

static void refusal_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buffer) {
    (void)buffer;
    if (nread < 0) refusal_close(stream->data);
}

static void refusal_on_shutdown(uv_shutdown_t *request, int status) {
    (void)request;
    (void)status;
}

/* The frame is written: send a FIN and discard input until the peer closes,
 * so that a reset cannot destroy the frame before the peer reads it. */
static void refusal_written(uv_write_t *write_request, int status) {
    refusal *r = write_request->data;
    if (r->closing) return;
    r->shutdown_request.data = r;
    if (status < 0 || uv_shutdown(&r->shutdown_request, &r->socket.stream, refusal_on_shutdown) != 0 ||
        uv_read_start(&r->socket.stream, refusal_on_alloc, refusal_on_read) != 0) {
        refusal_close(r);
    }
}

/* Encodes ServerFrame{error: busy} saying `why` with its header; returns
 * its size. */
static size_t busy_frame(uint8_t *out, size_t capacity, const char *why) {
    Troc__V1__Error error = TROC__V1__ERROR__INIT;
    error.has_code = 1;
    error.code = TROC_EBUSY;
    error.message = (char *)why;
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_ERROR;
    frame.error = &error;
    size_t size = troc__v1__server_frame__get_packed_size(&frame);
    assert(TROC_FRAME_HEADER_SIZE + size <= capacity);
    (void)capacity; /* read by the assertion only */
    troc_frame_header_write(out, size);
    return TROC_FRAME_HEADER_SIZE + troc__v1__server_frame__pack(&frame, out + TROC_FRAME_HEADER_SIZE);
}

/* A refusal, counted, with its handles initialised (the socket neither
 * accepted nor opened yet); NULL when there is no memory for one. */
static refusal *refusal_new(troc_server *server, bool is_tcp) {
    refusal *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    int rc = is_tcp ? uv_tcp_init(server->loop, &r->socket.tcp) : uv_pipe_init(server->loop, &r->socket.pipe, 0);
    if (rc != 0) {
        free(r);
        return NULL;
    }
    uv_timer_init(server->loop, &r->timer);
    r->handles_open = 2;
    r->server = server;
    r->socket.handle.data = r;
    r->timer.data = r;
    r->write_request.data = r;
    server->refusal_count++;
    server->stats.connections_refused++;
    return r;
}

/* Tells the refused peer `why`, then closes (a lingering close). */
static void refusal_send(refusal *r, const char *why) {
    uv_timer_start(&r->timer, refusal_on_timer, TROC_CLOSE_LINGER_MS, 0);
    uv_buf_t buffer = uv_buf_init((char *)r->frame, (unsigned)busy_frame(r->frame, sizeof r->frame, why));
    if (uv_write(&r->write_request, &r->socket.stream, &buffer, 1, refusal_written) != 0) refusal_close(r);
}

/* Accepts a connection past a limit only to tell it `why` and close it. */
static void refuse(troc_server *server, uv_stream_t *listener, bool is_tcp, const char *why) {
    refusal *r = refusal_new(server, is_tcp);
    if (r == NULL) return;
    if (uv_accept(listener, &r->socket.stream) != 0 || server->refusal_count > TROC_REFUSALS_MAX) {
        refusal_close(r);
        return;
    }
    refusal_send(r, why);
}

/* Refuses a TCP connection already accepted into `conn`, which the caller
 * then discards.  The refusal takes a descriptor of its own for the socket
 * (a libuv handle cannot change hands), so it lingers as any refusal does,
 * within TROC_REFUSALS_MAX, and the connection's memory goes at once. */
static void refuse_accepted(troc_server *server, troc__conn *conn, const char *why) {
    refusal *r = refusal_new(server, true);
    if (r == NULL) return;
    uv_os_fd_t fd = -1;
    int copy = -1;
    if (server->refusal_count > TROC_REFUSALS_MAX || uv_fileno(&conn->socket.handle, &fd) != 0 ||
        (copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        refusal_close(r);
        return;
    }
    if (uv_tcp_open(&r->socket.tcp, copy) != 0) {
        close(copy);
        refusal_close(r);
        return;
    }
    refusal_send(r, why);
}

/* Why a newcomer on TCP (or the Unix socket) cannot be served now, or
 * NULL: TCP leaves the local reserve to the Unix socket, and each listener
 * has its share of connections in their handshake. */
static const char *busy_reason(const troc_server *server, bool is_tcp) {
    uint32_t limit = server->connections_max - (is_tcp ? server->local_reserved : 0);
    if (server->conn_count >= limit) return "server busy: too many connections, retry later";
    if (server->handshakes[is_tcp ? 0 : 1] >= server->handshakes_max) {
        return "server busy: too many connections in their handshake, retry later";
    }
    return NULL;
}

/* Logs a refusal at a source's share, at most once per
 * TROC_REFUSALS_LOG_INTERVAL_MS (limits.h): the line names the source
 * refused now and counts the others refused since the last line. */
static void log_source_refused(troc_server *server, const troc__conn *conn) {
    uint64_t now = uv_now(server->loop);
    if (server->source_refusals_logged && now - server->source_refusals_logged_ms < TROC_REFUSALS_LOG_INTERVAL_MS) {
        server->source_refusals_unlogged++;
        return;
    }
    char source[TROC__SOURCE_NAME_SIZE];
    troc__source_name(&conn->source, source, sizeof source);
    char others[96] = "";
    if (server->source_refusals_unlogged > 0) {
        snprintf(others, sizeof others, "; %llu more refused for this since the last such line",
                 (unsigned long long)server->source_refusals_unlogged);
    }
    troc_log("refused a connection from %s: it has %u connections in their handshake, the most one address may "
             "hold%s", source, server->handshakes_source_max, others);
    server->source_refusals_logged = true;
    server->source_refusals_logged_ms = now;
    server->source_refusals_unlogged = 0;
}

/* A newcomer over TCP whose source already holds its share of the
 * handshakes (a stranger reconnecting as fast as it is cut) is refused as
 * any newcomer past a share is, so that it cannot take the whole share
 * from the rest. */
static bool source_refused(troc_server *server, troc__conn *conn) {
    if (conn->local) return false;
    if (troc__sources_count(&server->sources, &conn->source) < server->handshakes_source_max) return false;
    server->stats.connections_refused_source++;
    log_source_refused(server, conn);
    refuse_accepted(server, conn, "server busy: too many connections in their handshake from your address, "
                                  "retry later");
    return true;
}

static void on_connection(uv_stream_t *listener, int status, bool is_tcp) {
    troc_server *server = listener->data;
    if (status < 0) {
        troc_log("accept failed: %s", uv_strerror(status));
        return;
    }
    if (server->stopping) return;
    const char *why = busy_reason(server, is_tcp);
    if (why != NULL) {
        refuse(server, listener, is_tcp, why);
        return;
    }
    troc__conn *conn = troc__conn_accept(server, listener, is_tcp);
    if (conn == NULL) return;
    if (source_refused(server, conn)) {
        troc__conn_discard(conn);
        return;
    }
    troc__conn_start(conn);
}

static void on_tcp_connection(uv_stream_t *listener, int status) {
    on_connection(listener, status, true);
}

static void on_pipe_connection(uv_stream_t *listener, int status) {
    on_connection(listener, status, false);
}

/* Splits "HOST:PORT" or "[V6]:PORT" into its host and port text; on
 * -EINVAL, *problem_out says what is wrong (see troc_server_check_listen). */
static int split_listen(const char *listen, char host[static 64], const char **port_out, const char **problem_out) {
    const char *host_start = listen, *host_end = NULL;
    if (listen[0] == '[') {
        host_start = listen + 1;
        host_end = strchr(host_start, ']');
        if (host_end == NULL) {
            *problem_out = "has a '[' that no ']' closes: write an IPv6 address as [ADDRESS]:PORT, such as [::1]:7400";
            return -EINVAL;
        }
        if (host_end[1] != '\0' && host_end[1] != ':') {
            *problem_out = "has something other than :PORT after ']': write an IPv6 address as [ADDRESS]:PORT, "
                           "such as [::1]:7400";
            return -EINVAL;
        }
        *port_out = host_end[1] == ':' ? host_end + 2 : host_end + 1;
    } else {
        host_end = strrchr(listen, ':');
        if (host_end != NULL && strchr(listen, ':') != host_end) {
            *problem_out = "has an IPv6 address without brackets: write it as [ADDRESS]:PORT, such as [::1]:7400";
            return -EINVAL;
        }
        *port_out = host_end != NULL ? host_end + 1 : listen + strlen(listen);
        if (host_end == NULL) host_end = *port_out;
    }
    if (**port_out == '\0') {
        *problem_out = "has no port: give HOST:PORT, such as 127.0.0.1:7400 (port 0 picks a free one)";
        return -EINVAL;
    }
    size_t host_length = (size_t)(host_end - host_start);
    if (host_length == 0) {
        *problem_out = "has no host: give HOST:PORT, such as 127.0.0.1:7400 (0.0.0.0:7400 for every interface)";
        return -EINVAL;
    }
    /* Longer than any numeric address: not one; the check below says so. */
    if (host_length >= 64) host_length = 63;
    memcpy(host, host_start, host_length);
    host[host_length] = '\0';
    return 0;
}

/* Parses "HOST:PORT" or "[V6]:PORT", HOST numeric, into an address; on
 * -EINVAL, *problem_out says what is wrong. */
static int parse_listen(const char *listen, struct sockaddr_storage *address, const char **problem_out) {
    char host[64];
    const char *port_text = NULL;
    int rc = split_listen(listen, host, &port_text, problem_out);
    if (rc != 0) return rc;
    size_t digits = strspn(port_text, "0123456789");
    unsigned long port = digits > 0 && digits <= 5 ? strtoul(port_text, NULL, 10) : 0;
    if (digits == 0 || digits > 5 || port_text[digits] != '\0' || port > 65535) {
        *problem_out = "has a port that is not a number from 0 to 65535";
        return -EINVAL;
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)address) == 0) return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)address) == 0) return 0;
    *problem_out = "has a host that is not a numeric address: give an IPv4 or IPv6 address (127.0.0.1, 0.0.0.0, "
                   "[::1], [::]), not a name";
    return -EINVAL;
}

int troc_server_check_listen(const char *listen, const char **problem_out) {
    assert(listen != NULL && problem_out != NULL);
    struct sockaddr_storage address;
    *problem_out = NULL;
    return parse_listen(listen, &address, problem_out);
}

int troc_server_check_socket_path(const char *path, const char **problem_out) {
    assert(path != NULL && problem_out != NULL);
    struct sockaddr_un address;
    _Static_assert(sizeof address.sun_path == sizeof ((troc_server *)NULL)->socket_path,
                   "the server keeps a socket path as long as the kernel takes");
    *problem_out = NULL;
    if (path[0] == '\0') {
        *problem_out = "is empty: give the path of the Unix socket to create";
        return -EINVAL;
    }
    if (strlen(path) >= sizeof address.sun_path) {
        *problem_out = "is longer than 107 bytes, the most a Unix socket's path may have: choose a shorter one";
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Logs why a listener could not start: the address, the system's reason
 * and, when there is one, what to do about it. */
static void log_listen_failed(const char *prefix, const char *address, int rc, const char *hint) {
    troc_log("cannot listen on %s%s: %s%s%s", prefix, address, troc_strerror(rc), hint != NULL ? "; " : "",
             hint != NULL ? hint : "");
}

static const char *tcp_failure_hint(int rc) {
    switch (rc) {
    case UV_EADDRINUSE:
        return "another process (another trocd?) listens on this address: stop it, or give another --listen";
    case UV_EACCES: return "ports below 1024 need privileges: choose a port from 1024";
    case UV_EADDRNOTAVAIL:
        return "no interface of this machine has this address: give one of its own (127.0.0.1, 0.0.0.0)";
    default: return NULL;
    }
}

/* Remembers the port the kernel bound and the address to log once every
 * listener is up. */
static int tcp_note_bound(troc_server *server) {
    struct sockaddr_storage bound;
    int bound_size = sizeof bound;
    int rc = uv_tcp_getsockname(&server->tcp_listener, (struct sockaddr *)&bound, &bound_size);
    if (rc != 0) return rc;
    char host[INET6_ADDRSTRLEN] = ""; /* with brackets and a port, within tcp_address */
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, host, sizeof host);
        server->tcp_port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        snprintf(server->tcp_address, sizeof server->tcp_address, "[%s]:%d", host, server->tcp_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, host, sizeof host);
        server->tcp_port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        snprintf(server->tcp_address, sizeof server->tcp_address, "%s:%d", host, server->tcp_port);
    }
    return 0;
}

int troc__listener_open_tcp(troc_server *server, const char *listen) {
    assert(server != NULL && listen != NULL);
    assert(!server->has_tcp);
    struct sockaddr_storage address;
    const char *problem = NULL;
    int rc = parse_listen(listen, &address, &problem);
    if (rc != 0) {
        troc_log("cannot listen on %s: the address %s", listen, problem);
        return rc;
    }
    rc = uv_tcp_init(server->loop, &server->tcp_listener);
    if (rc != 0) {
        log_listen_failed("", listen, rc, NULL);
        return rc;
    }
    server->has_tcp = true;
    server->tcp_listener.data = server;
    rc = uv_tcp_bind(&server->tcp_listener, (const struct sockaddr *)&address, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&server->tcp_listener, TROC_LISTEN_BACKLOG, on_tcp_connection);
    if (rc == 0) rc = tcp_note_bound(server);
    if (rc != 0) log_listen_failed("", listen, rc, tcp_failure_hint(rc));
    return rc;
}

/* 0 when something accepts connections on the Unix socket `path`, else
 * the errno of the attempt (ECONNREFUSED: nothing serves it). */
static int socket_connect_error(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s", path);
    int error = connect(fd, (struct sockaddr *)&address, sizeof address) == 0 ? 0 : errno;
    close(fd);
    return error;
}

/* `path` exists: replaces it when it is a socket nothing serves (left by a
 * daemon that was killed); otherwise says why not in *hint_out. */
static int pipe_replace_stale(troc_server *server, const char *path, const char **hint_out) {
    struct stat info;
    if (lstat(path, &info) == 0 && !S_ISSOCK(info.st_mode)) {
        *hint_out = "the path exists and is not a socket: move it away, or give another --socket";
        return UV_EADDRINUSE;
    }
    int error = socket_connect_error(path);
    if (error == 0) {
        *hint_out = "another process (another trocd?) serves this socket: stop it, or give another --socket";
        return UV_EADDRINUSE;
    }
    if (error != ECONNREFUSED && error != ENOENT) {
        *hint_out = "the socket exists and this process cannot tell whether another serves it: if none does, "
                    "remove it, or give another --socket";
        return UV_EADDRINUSE;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        *hint_out = "the stale socket left by a daemon that stopped cannot be removed: remove it, or give another "
                    "--socket";
        return UV_EADDRINUSE;
    }
    troc_log("replaced the stale socket %s", path);
    return uv_pipe_bind(&server->pipe_listener, path);
}

/* libuv reports a missing directory as UV_EACCES: tell the two apart, as
 * their remedies differ. */
static bool socket_directory_exists(const char *path) {
    char directory[sizeof ((troc_server *)NULL)->socket_path];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) return true;
    size_t length = slash == path ? 1 : (size_t)(slash - path);
    assert(length < sizeof directory);
    memcpy(directory, path, length);
    directory[length] = '\0';
    struct stat info;
    return stat(directory, &info) == 0 || errno != ENOENT;
}

static int pipe_bind(troc_server *server, const char *path, const char **hint_out) {
    mode_t previous = umask(0117);
    int rc = uv_pipe_bind(&server->pipe_listener, path);
    if (rc == UV_EADDRINUSE) rc = pipe_replace_stale(server, path, hint_out);
    umask(previous);
    if (rc == UV_EACCES && !socket_directory_exists(path)) rc = UV_ENOENT;
    if (rc == UV_EACCES) *hint_out = "the daemon's user may not create a file in that directory";
    else if (rc == UV_ENOENT) *hint_out = "the socket's directory does not exist: create it, or give another --socket";
    return rc;
}

int troc__listener_open_pipe(troc_server *server, const char *path) {
    assert(server != NULL && path != NULL);
    assert(!server->has_pipe);
    const char *hint = NULL;
    int rc = troc_server_check_socket_path(path, &hint);
    if (rc != 0) {
        troc_log("cannot listen on unix:%s: the path %s", path, hint);
        return rc;
    }
    rc = uv_pipe_init(server->loop, &server->pipe_listener, 0);
    if (rc != 0) {
        log_listen_failed("unix:", path, rc, NULL);
        return rc;
    }
    server->has_pipe = true;
    server->pipe_listener.data = server;
    rc = pipe_bind(server, path, &hint);
    if (rc == 0) {
        strcpy(server->socket_path, path);
        rc = uv_listen((uv_stream_t *)&server->pipe_listener, TROC_LISTEN_BACKLOG, on_pipe_connection);
    }
    if (rc != 0) log_listen_failed("unix:", path, rc, hint);
    return rc;
}

void troc__listener_log_ready(const troc_server *server) {
    assert(server != NULL);
    if (server->has_tcp) troc_log("listening on %s", server->tcp_address);
    if (server->has_pipe) troc_log("listening on unix:%s", server->socket_path);
}

void troc__listener_close(troc_server *server) {
    assert(server != NULL);
    if (server->has_tcp && !uv_is_closing((uv_handle_t *)&server->tcp_listener)) {
        uv_close((uv_handle_t *)&server->tcp_listener, NULL);
    }
    if (server->has_pipe && !uv_is_closing((uv_handle_t *)&server->pipe_listener)) {
        uv_close((uv_handle_t *)&server->pipe_listener, NULL);
        if (server->socket_path[0] != '\0') unlink(server->socket_path);
        server->socket_path[0] = '\0';
    }
}
