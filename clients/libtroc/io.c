/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sockets with deadlines.  Every descriptor is non-blocking and every wait
 * goes through poll() until a deadline computed once when the call began
 * (CLOCK_MONOTONIC, so that setting the clock changes nothing).  Each wait
 * gets only what is left of the call's time: a timeout restarted at every
 * wait would bound only silence, and a server sending a byte a second
 * could hold a client for ever.  Writes use MSG_NOSIGNAL: a peer that went
 * away is an -EPIPE to handle, not a SIGPIPE that kills the program.
 *
 * An address holding a '/' is a Unix socket path; otherwise it is
 * HOST:PORT, split at the last ':', with IPv6 hosts in brackets
 * ("[::1]:7400").  Host names are resolved with getaddrinfo() before the
 * connect timeout starts: it cannot be interrupted, so its time (the
 * resolver's own timeouts, from resolv.conf) is not bounded here.  The
 * resolved addresses are tried in turn, each with an equal share of what is
 * left of the timeout, so that one that never answers (its packets
 * dropped) leaves time for the next and the whole connect fits in the
 * timeout.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"

/* Addresses of one host name tried at most: each gets a share of the
 * connect timeout, and past a few the shares would be too small to be of
 * use (a name rarely has more than one IPv4 and one IPv6 address). */
#define CONNECT_ADDRESSES_MAX 8

static int64_t monotonic_ms(void) {
    struct timespec now;
    int rc = clock_gettime(CLOCK_MONOTONIC, &now);
    assert(rc == 0);
    (void)rc; /* read by the assertion only */
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

troc__deadline troc__deadline_in(int timeout_ms) {
    assert(timeout_ms > 0);
    return (troc__deadline){.at_ms = monotonic_ms() + timeout_ms, .timeout_ms = timeout_ms};
}

/* Waits until `fd` is ready for `events`, at most until `deadline`; 0,
 * TROC_ETIMEOUT or -errno.  The loop ends at the deadline: poll() is given
 * what is left of it each time round. */
static int wait_for(int fd, short events, troc__deadline deadline) {
    assert(fd >= 0 && deadline.timeout_ms > 0);
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int64_t left_ms = deadline.at_ms - monotonic_ms();
        if (left_ms <= 0) return TROC_ETIMEOUT;
        int n = poll(&pfd, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
        if (n > 0) return 0;
        if (n < 0 && errno != EINTR) return -errno;
    }
}

/* Finishes a non-blocking connect started on `fd`. */
static int connect_finish(int fd, troc__deadline deadline) {
    int rc = wait_for(fd, POLLOUT, deadline);
    if (rc != 0) return rc;
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -errno;
    return -error;
}

static int connect_unix(const char *path, troc__deadline deadline, int *fd_out, char *message, size_t message_size) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) {
        snprintf(message, message_size, "Unix socket path %s is too long", path);
        return TROC_EUSAGE;
    }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int rc = 0;
    if (connect(fd, (const struct sockaddr *)&address, sizeof address) != 0) {
        rc = errno == EINPROGRESS ? connect_finish(fd, deadline) : -errno;
    }
    if (rc != 0) {
        snprintf(message, message_size, "cannot connect to %s: %s", path, troc_strerror(rc));
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

#define NOT_HOST_PORT "is not HOST:PORT (or a Unix socket path holding a '/')"
#define IPV6_UNBRACKETED "has an IPv6 address without brackets: write it as [ADDRESS]:PORT, such as [::1]:7400"
#define IPV6_BRACKETS "is not HOST:PORT: write an IPv6 address as [ADDRESS]:PORT, such as [::1]:7400"

/* Splits "host:port" or "[v6]:port" into `host` and `port`; on failure
 * `*problem_out` says what is wrong, as trocd run --listen does.  An IPv6
 * address without brackets is told apart: split at its last ':' it would
 * be looked up as a host name ("::" for "::1"), and fail as a network
 * error rather than as the typing error it is. */
static int split_host_port(const char *address, char *host, size_t host_size, char *port, size_t port_size,
                           const char **problem_out) {
    *problem_out = NOT_HOST_PORT;
    const char *colon = strrchr(address, ':');
    if (address[0] != '[' && colon != NULL && memchr(address, ':', (size_t)(colon - address)) != NULL) {
        *problem_out = IPV6_UNBRACKETED;
        return TROC_EUSAGE;
    }
    if (address[0] == '[') *problem_out = IPV6_BRACKETS;
    if (colon == NULL || colon == address || colon[1] == '\0') return TROC_EUSAGE;
    const char *start = address;
    const char *end = colon;
    if (address[0] == '[') {
        if (colon[-1] != ']' || colon - address < 3) return TROC_EUSAGE;
        start = address + 1;
        end = colon - 1;
    }
    *problem_out = NOT_HOST_PORT;
    size_t host_length = (size_t)(end - start);
    size_t port_length = strlen(colon + 1);
    if (host_length >= host_size || port_length >= port_size) return TROC_EUSAGE;
    if (strspn(colon + 1, "0123456789") != port_length) return TROC_EUSAGE;
    long value = strtol(colon + 1, NULL, 10);
    if (value < 1 || value > 65535) return TROC_EUSAGE;
    memcpy(host, start, host_length);
    host[host_length] = '\0';
    memcpy(port, colon + 1, port_length + 1);
    return 0;
}

/* Tries one resolved address; the socket is left in *fd_out on success. */
static int connect_one(const struct addrinfo *info, troc__deadline deadline, int *fd_out) {
    int fd = socket(info->ai_family, info->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, info->ai_protocol);
    if (fd < 0) return -errno;
    int rc = 0;
    if (connect(fd, info->ai_addr, info->ai_addrlen) != 0) {
        rc = errno == EINPROGRESS ? connect_finish(fd, deadline) : -errno;
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* requests are small and awaited */
    *fd_out = fd;
    return 0;
}

/* The error of a failed name lookup.  A name that does not exist will not
 * exist on a retry either (TROC_ENOT_FOUND); a resolver that could not
 * answer now may answer later, as a lost route may come back
 * (-EHOSTUNREACH, which troc_error_is_retryable() counts). */
static int resolve_error(int gai) {
    switch (gai) {
    case EAI_AGAIN: return -EHOSTUNREACH;
    case EAI_MEMORY: return -ENOMEM;
    case EAI_SYSTEM: return errno > 0 ? -errno : -EIO;
    default: return TROC_ENOT_FOUND; /* EAI_NONAME, EAI_FAIL, EAI_NODATA, ... */
    }
}

/* An equal share of what is left before `deadline` for the first of
 * `count` addresses still to try. */
static troc__deadline deadline_share(troc__deadline deadline, int count) {
    assert(count >= 1);
    int64_t now_ms = monotonic_ms();
    int64_t left_ms = deadline.at_ms > now_ms ? deadline.at_ms - now_ms : 0;
    return (troc__deadline){.at_ms = now_ms + left_ms / count, .timeout_ms = deadline.timeout_ms};
}

static int connect_tcp(const char *address, int timeout_ms, troc__deadline *deadline_out, int *fd_out, char *message,
                       size_t message_size) {
    char host[TROC_ADDRESS_LENGTH_MAX + 1];
    char port[8];
    const char *problem = NULL;
    if (split_host_port(address, host, sizeof host, port, sizeof port, &problem) != 0) {
        snprintf(message, message_size, "'%s' %s", address, problem);
        return TROC_EUSAGE;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, port, &hints, &list);
    if (gai != 0) {
        int rc = resolve_error(gai);
        snprintf(message, message_size, "cannot resolve %s: %s", host, gai_strerror(gai));
        return rc;
    }
    *deadline_out = troc__deadline_in(timeout_ms); /* from here on, not during the lookup */
    int count = 0;
    for (const struct addrinfo *info = list; info != NULL && count < CONNECT_ADDRESSES_MAX; info = info->ai_next) {
        count++;
    }
    int rc = -EHOSTUNREACH;
    const struct addrinfo *info = list;
    for (int tried = 0; tried < count; tried++, info = info->ai_next) {
        rc = connect_one(info, deadline_share(*deadline_out, count - tried), fd_out);
        if (rc == 0) break;
    }
    freeaddrinfo(list);
    if (rc != 0) snprintf(message, message_size, "cannot connect to %s: %s", address, troc_strerror(rc));
    return rc;
}

int troc__io_connect(const char *address, int timeout_ms, troc__deadline *deadline_out, int *fd_out, char *message,
                     size_t message_size) {
    assert(address != NULL && deadline_out != NULL && fd_out != NULL && message != NULL);
    assert(timeout_ms > 0);
    *fd_out = -1;
    *deadline_out = troc__deadline_in(timeout_ms);
    if (strchr(address, '/') != NULL) return connect_unix(address, *deadline_out, fd_out, message, message_size);
    return connect_tcp(address, timeout_ms, deadline_out, fd_out, message, message_size);
}

int troc__io_write(int fd, const uint8_t *data, size_t size, troc__deadline deadline) {
    assert(fd >= 0 && (data != NULL || size == 0));
    size_t done = 0;
    while (done < size) {
        ssize_t n = send(fd, data + done, size - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        int rc = wait_for(fd, POLLOUT, deadline);
        if (rc != 0) return rc;
    }
    assert(done == size);
    return 0;
}

int troc__io_read(int fd, uint8_t *buffer, size_t capacity, troc__deadline deadline, size_t *read_out) {
    assert(fd >= 0 && buffer != NULL && capacity > 0);
    assert(read_out != NULL);
    for (;;) {
        ssize_t n = recv(fd, buffer, capacity, 0);
        if (n > 0) {
            *read_out = (size_t)n;
            return 0;
        }
        if (n == 0) return TROC_ECLOSED;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        int rc = wait_for(fd, POLLIN, deadline);
        if (rc != 0) return rc;
    }
}

bool troc__io_readable(int fd) {
    assert(fd >= 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n;
    do {
        n = poll(&pfd, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}
