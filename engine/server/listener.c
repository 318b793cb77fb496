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
 * Past TROC_CONNECTIONS_MAX served connections (or the lower bound the
 * options set), a new one gets a clear
 * ServerFrame{error: TROC_EBUSY} and is closed (after a lingering close:
 * FIN, then the peer's input discarded until it closes, for at most
 * TROC_CLOSE_LINGER_MS); at most TROC_REFUSALS_MAX such refusals are in
 * flight, beyond which new connections are closed without a word.
 */
#include <assert.h>
#include <errno.h>
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

/* Encodes ServerFrame{error: busy} with its header; returns its size. */
static size_t busy_frame(uint8_t *out, size_t capacity) {
    Troc__V1__Error error = TROC__V1__ERROR__INIT;
    error.has_code = 1;
    error.code = TROC_EBUSY;
    error.message = "server busy: too many connections, retry later";
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_ERROR;
    frame.error = &error;
    size_t size = troc__v1__server_frame__get_packed_size(&frame);
    assert(TROC_FRAME_HEADER_SIZE + size <= capacity);
    troc_frame_header_write(out, size);
    return TROC_FRAME_HEADER_SIZE + troc__v1__server_frame__pack(&frame, out + TROC_FRAME_HEADER_SIZE);
}

/* Accepts a connection past the limit only to tell it so and close it. */
static void refuse(troc_server *server, uv_stream_t *listener, bool is_tcp) {
    refusal *r = calloc(1, sizeof *r);
    if (r == NULL) return;
    int rc = is_tcp ? uv_tcp_init(server->loop, &r->socket.tcp) : uv_pipe_init(server->loop, &r->socket.pipe, 0);
    if (rc != 0) {
        free(r);
        return;
    }
    uv_timer_init(server->loop, &r->timer);
    r->handles_open = 2;
    r->server = server;
    r->socket.handle.data = r;
    r->timer.data = r;
    r->write_request.data = r;
    server->refusal_count++;
    server->stats.connections_refused++;
    if (uv_accept(listener, &r->socket.stream) != 0 || server->refusal_count > TROC_REFUSALS_MAX) {
        refusal_close(r);
        return;
    }
    uv_timer_start(&r->timer, refusal_on_timer, TROC_CLOSE_LINGER_MS, 0);
    uv_buf_t buffer = uv_buf_init((char *)r->frame, (unsigned)busy_frame(r->frame, sizeof r->frame));
    if (uv_write(&r->write_request, &r->socket.stream, &buffer, 1, refusal_written) != 0) refusal_close(r);
}

static void on_connection(uv_stream_t *listener, int status, bool is_tcp) {
    troc_server *server = listener->data;
    if (status < 0) {
        troc_log("accept failed: %s", uv_strerror(status));
        return;
    }
    if (server->stopping) return;
    if (server->conn_count >= server->connections_max) {
        refuse(server, listener, is_tcp);
        return;
    }
    troc__conn_accept(server, listener, is_tcp);
}

static void on_tcp_connection(uv_stream_t *listener, int status) {
    on_connection(listener, status, true);
}

static void on_pipe_connection(uv_stream_t *listener, int status) {
    on_connection(listener, status, false);
}

/* Splits "HOST:PORT" or "[V6]:PORT" into an address. */
static int parse_listen(const char *listen, struct sockaddr_storage *address) {
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0') return -EINVAL;
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535) return -EINVAL;
    char host[64];
    const char *host_start = listen;
    size_t host_length = (size_t)(colon - listen);
    if (host_start[0] == '[' && colon[-1] == ']') {
        host_start++;
        host_length -= 2;
    }
    if (host_length == 0 || host_length >= sizeof host) return -EINVAL;
    memcpy(host, host_start, host_length);
    host[host_length] = '\0';
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)address) == 0) return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)address) == 0) return 0;
    return -EINVAL;
}

int troc__listener_open_tcp(troc_server *server, const char *listen) {
    assert(server != NULL && listen != NULL);
    assert(!server->has_tcp);
    struct sockaddr_storage address;
    int rc = parse_listen(listen, &address);
    if (rc != 0) return rc;
    rc = uv_tcp_init(server->loop, &server->tcp_listener);
    if (rc != 0) return rc;
    server->has_tcp = true;
    server->tcp_listener.data = server;
    rc = uv_tcp_bind(&server->tcp_listener, (const struct sockaddr *)&address, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&server->tcp_listener, TROC_LISTEN_BACKLOG, on_tcp_connection);
    if (rc != 0) return rc;
    struct sockaddr_storage bound;
    int bound_size = sizeof bound;
    rc = uv_tcp_getsockname(&server->tcp_listener, (struct sockaddr *)&bound, &bound_size);
    if (rc != 0) return rc;
    char host[64] = "";
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, host, sizeof host);
        server->tcp_port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        troc_log("listening on [%s]:%d", host, server->tcp_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, host, sizeof host);
        server->tcp_port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        troc_log("listening on %s:%d", host, server->tcp_port);
    }
    return 0;
}

/* True when something accepts connections on the Unix socket `path`. */
static bool socket_in_use(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return true;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s", path);
    bool in_use = connect(fd, (struct sockaddr *)&address, sizeof address) == 0 || errno != ECONNREFUSED;
    close(fd);
    return in_use;
}

static int pipe_bind(troc_server *server, const char *path) {
    mode_t previous = umask(0117);
    int rc = uv_pipe_bind(&server->pipe_listener, path);
    if (rc == UV_EADDRINUSE && !socket_in_use(path)) {
        struct stat info;
        if (lstat(path, &info) == 0 && S_ISSOCK(info.st_mode) && unlink(path) == 0) {
            troc_log("replaced the stale socket %s", path);
            rc = uv_pipe_bind(&server->pipe_listener, path);
        }
    }
    umask(previous);
    return rc;
}

int troc__listener_open_pipe(troc_server *server, const char *path) {
    assert(server != NULL && path != NULL);
    assert(!server->has_pipe);
    if (strlen(path) >= sizeof server->socket_path) return -ENAMETOOLONG;
    int rc = uv_pipe_init(server->loop, &server->pipe_listener, 0);
    if (rc != 0) return rc;
    server->has_pipe = true;
    server->pipe_listener.data = server;
    rc = pipe_bind(server, path);
    if (rc != 0) return rc;
    strcpy(server->socket_path, path);
    rc = uv_listen((uv_stream_t *)&server->pipe_listener, TROC_LISTEN_BACKLOG, on_pipe_connection);
    if (rc != 0) return rc;
    troc_log("listening on unix:%s", path);
    return 0;
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
