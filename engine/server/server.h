/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's server: a libuv loop that accepts connections on TCP and on
 * a Unix socket, runs the handshake (engine/net), answers reads from the
 * ledger and hands signed items, verified on libuv's thread pool, to a
 * single writer thread that applies them by group commit.  A reply is
 * never sent before the commit holding its request is durable.
 *
 * Lifecycle:
 *
 *   uv_loop_init(&loop);
 *   troc_server_open(&server, &loop, ledger, &options);  // binds
 *   troc_server_run(server);       // logs "listening on ...", serves until troc_server_stop or a signal
 *   troc_server_close(server);
 *   uv_loop_close(&loop);          // 0: the server closed every handle it opened
 *
 * Every bound (connections, requests in flight, queued bytes, memory,
 * timeouts) is in engine/base/limits.h; docs/protocol.md describes what a
 * peer sees.
 */
#ifndef TROC_SERVER_H
#define TROC_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "ledger/ledger.h"

typedef struct troc_server troc_server;

typedef struct troc_server_options {
    const char *listen;                    /* "HOST:PORT" (port 0: a free port); NULL: no TCP */
    const char *socket_path;               /* a Unix socket (mode 0660) to create; NULL: none */
    bool handle_signals;                   /* stop on SIGINT, SIGTERM and SIGHUP */
    bool raise_descriptor_limit;           /* raise the process's soft RLIMIT_NOFILE as far as
                                              connections_max needs and the hard limit allows */
    uint32_t connections_max;              /* 0: TROC_CONNECTIONS_MAX; may only be lower */
    uint32_t handshake_timeout_ms;         /* 0: TROC_HANDSHAKE_TIMEOUT_MS; may only be lower */
    uint32_t idle_timeout_ms;              /* 0: TROC_IDLE_TIMEOUT_MS; may only be lower */
    uint32_t frame_timeout_ms;             /* 0: TROC_FRAME_TIMEOUT_MS; may only be lower */
    uint32_t write_timeout_ms;             /* 0: TROC_WRITE_TIMEOUT_MS; may only be lower */
    size_t memory_bytes_max;               /* 0: TROC_SERVER_MEMORY_BYTES_MAX; may only be lower, and
                                              not below TROC_SERVER_MEMORY_BYTES_MIN */
    uint64_t clear_every_ms;               /* run a clearing round this often; 0: only when asked.
                                              Within TROC_CLEAR_EVERY_SECONDS_MIN..MAX seconds */
} troc_server_options;

/* Counters of what the server did, for logs and tests. */
typedef struct troc_server_stats {
    uint64_t connections_accepted;         /* connections served (not refused) */
    uint64_t connections_refused;          /* told "busy" past a limit (or closed without a word) */
    uint64_t connections_refused_source;   /* of which because their source held its share of the
                                              handshakes over TCP */
    uint64_t connections_closed;           /* served connections closed, for any reason */
    uint64_t connections_failed;           /* of which closed after an error frame (protocol, timeout) */
    uint64_t requests;                     /* requests read after the handshake */
    uint64_t commits;                      /* write transactions committed */
    uint64_t items_committed;              /* envelopes applied by those commits */
    uint64_t commit_items_max;             /* envelopes in the largest commit */
    uint64_t commits_refused;              /* group commits refused for storage */
    uint64_t read_pauses;                  /* times a connection stopped being read (backpressure) */
    uint64_t memory_bytes_peak;            /* most bytes charged at once: requests and buffers */
    uint64_t memory_waits;                 /* times a connection waited for memory to read a large frame */
    uint64_t memory_full;                  /* times a class of connections (TCP, the Unix socket's) reached
                                              its budget: its served connections paused */
    uint64_t clearing_rounds;              /* clearing rounds applied */
    uint64_t clearing_empty;               /* rounds that found nothing to clear (not journaled) */
    uint64_t clearing_stale;               /* round attempts the ledger refused as stale: solved again */
    uint64_t clearing_failed;              /* rounds that could not be run (a storage error, ...) */
    uint64_t clearing_previews;            /* dry runs answered */
} troc_server_stats;

/* Checks a listen address without binding it: "HOST:PORT" with HOST a
 * numeric IPv4 address, or "[ADDRESS]:PORT" with an IPv6 one; PORT from 0
 * to 65535.  Returns 0, or -EINVAL with *problem_out set to what is wrong,
 * worded to follow the address ("has no port: give HOST:PORT, ..."), so
 * that a command line can refuse it before it opens anything. */
int troc_server_check_listen(const char *listen, const char **problem_out);

/* Checks the path of a Unix socket to create without creating it: not
 * empty, and short enough for sockaddr_un.  Returns 0, or -EINVAL or
 * -ENAMETOOLONG with *problem_out set to what is wrong, worded to follow
 * the path ("is empty: ..."). */
int troc_server_check_socket_path(const char *path, const char **problem_out);

/* Binds the listeners and starts the writer thread.  "listening on" is
 * logged by troc_server_run, not here, so that a caller whose own start
 * fails after this (trocd's port file) closes the server without having
 * claimed its addresses.  When the descriptor limit
 * (RLIMIT_NOFILE, raised first if the options say so) cannot hold
 * connections_max connections beside TROC_DESCRIPTORS_RESERVED and
 * TROC_REFUSALS_MAX, the server serves fewer and logs how many; a limit
 * with no room for any is -EMFILE.  The ledger stays the caller's and
 * must outlive the server.  A failure is logged with its cause (which
 * address, what the system said, what to do) and leaves nothing open and
 * nothing else logged.  Errors: -EINVAL for a malformed listen address or
 * a bound above its limit, libuv's codes for bind failures (UV_EADDRINUSE,
 * ...). */
int troc_server_open(troc_server **server_out, uv_loop_t *loop, troc_ledger *ledger,
                     const troc_server_options *options);

/* The TCP port actually bound (useful with port 0), or 0 without TCP. */
int troc_server_tcp_port(const troc_server *server);

/* Logs "listening on" each address, then serves until troc_server_stop or
 * a signal; then stops accepting and reading, lets the requests already
 * read be committed and answered (for at most TROC_SHUTDOWN_TIMEOUT_MS),
 * closes every connection and handle and returns 0. */
int troc_server_run(troc_server *server);

/* Asks the server to stop.  Safe from any thread and from a signal
 * handler. */
void troc_server_stop(troc_server *server);

/* The counters; complete once troc_server_run has returned.  While it
 * runs, only from the loop's thread (the writer's counters are read
 * atomically, one by one). */
void troc_server_stats_get(const troc_server *server, troc_server_stats *stats_out);

/* Frees the server after troc_server_run returned (or when it never ran:
 * then it closes the handles and runs the loop until they are, logging
 * nothing). */
void troc_server_close(troc_server *server);

#endif /* TROC_SERVER_H */
