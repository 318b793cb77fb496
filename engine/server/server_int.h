/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's insides, shared by its modules:
 *
 *   listener  accepts on TCP and the Unix socket, refuses past the limit
 *   sources   connections in their handshake counted per peer address
 *   conn      one connection: frames in, handshake, channel, write queue,
 *             backpressure, timers
 *   dispatch  requests to reads and submits, and every reply
 *   verify    signatures and body decoding on libuv's thread pool
 *   writer    the single writer thread and group commit
 *   server    the loop, signals and the stop sequence
 *   clearing  clearing rounds: snapshot and solve on the pool, apply by the
 *             writer, timed rounds, previews and reads of rounds
 *   invoices  invoice lists
 *   backup    hot backups on a thread of their own
 *
 * A request goes through these lists, one at a time, linked by its `next`:
 *
 *   conn->pending (being verified, in arrival order)
 *     -> writer queue -> writer done list -> reply -> conn->free_requests
 *
 * Threads: everything here belongs to the loop thread except a request
 * while it is on the thread pool (verify) or in the writer's hands; the
 * writer's lists are guarded by its mutex.
 */
#ifndef TROC_SERVER_INT_H
#define TROC_SERVER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "arena.h"
#include "ledger/ledger.h"
#include "net/channel.h"
#include "net/handshake.h"
#include "server.h"
#include "sources.h"

/* The signals that stop the server in order: SIGINT, SIGTERM, SIGHUP. */
#define TROC__STOP_SIGNAL_COUNT 3

/* Bytes of a request's inline arena: enough to decode one signed transfer
 * and its request, so that the hot path never reaches the heap. */
#define TROC__REQUEST_INLINE_SIZE 6144

/* A connection's read buffer before a larger frame makes it grow. */
#define TROC__READ_BUFFER_SIZE (16u * 1024u)

/* Heap the scratch arena may take for one reply (a statement page, member
 * info or a submit reply holding every batch item's code). */
#define TROC__SCRATCH_LIMIT (64u * 1024u * 1024u)

/* An output buffer's first size, and the most it grows by at once: it
 * doubles up to this, then grows by this, so that a queue near its bound
 * holds at most this much unused. */
#define TROC__OUT_INITIAL_SIZE 4096u
#define TROC__OUT_GROWTH_MAX (1024u * 1024u)

/* Output buffers larger than this are freed once written, so that one large
 * reply does not pin memory for the life of the connection: what the
 * connections keep is charged to the server's budget, and idle ones must
 * leave most of it to the busy. */
#define TROC__OUT_KEEP_SIZE (32u * 1024u)

_Static_assert((unsigned long long)TROC_CONNECTIONS_MAX * (TROC__READ_BUFFER_SIZE + 2 * TROC__OUT_KEEP_SIZE) <=
                   TROC_SERVER_MEMORY_BYTES_MAX / 4,
               "idle connections keep at most a quarter of the server's memory budget");
_Static_assert((unsigned long long)TROC_CONNECTIONS_LOCAL_RESERVED * (TROC__READ_BUFFER_SIZE + 2 * TROC__OUT_KEEP_SIZE) <=
                   TROC_SERVER_MEMORY_BYTES_MIN / TROC_SERVER_MEMORY_LOCAL_SHARE,
               "the Unix socket's share of the smallest budget holds the buffers of its reserved slots");

typedef struct troc__conn troc__conn;
typedef struct troc__request troc__request;
typedef struct troc__clearing troc__clearing;
typedef struct troc__backup troc__backup;

/* What a clearing round requested by an admin action came to, kept with the
 * action's item until its request is answered. */
typedef struct troc__round_outcome {
    bool ran;                              /* false: not run, `detail` says why */
    bool applied;                          /* a round was journaled (false: nothing to clear) */
    troc_clearing_summary summary;         /* the round (run 0 when nothing was applied) */
    char detail[192];                      /* why it was not run; empty when it ran */
} troc__round_outcome;

/* A connected socket, TCP or Unix, seen as whichever libuv type a call
 * wants. */
typedef union troc__socket {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
} troc__socket;

/* One envelope of a submit, with what the ledger needs and answers. */
typedef struct troc__submit_item {
    troc_item item;                        /* envelope and decoded body */
    troc_item_result result;               /* the ledger's (or the verifier's) answer */
    ProtobufCBinaryData id;                /* the item's id from its body; len 0 if none */
    bool apply;                            /* well-formed: goes to the ledger */
    troc__round_outcome *clearing;         /* a clearing_run action: its round (in the arena) */
} troc__submit_item;

struct troc__request {
    troc__request *next;                   /* link in whichever list holds it */
    troc__conn *conn;                      /* owner; outlives its requests */
    uint64_t request_id;                   /* the client's, echoed in the reply */
    const Troc__V1__Submit *submit;        /* decoded submit (in the arena) */
    troc__submit_item *items;              /* one per envelope (in the arena) */
    size_t item_count;
    size_t apply_count;                    /* items handed to the ledger */
    size_t weight;                         /* transfers counted by group commit */
    bool verified;                         /* the pool is done with it */
    int storage_error;                     /* why the writer refused it; 0 when applied */
    bool storage_grew;                     /* the map grew and the commit was retried */
    int storage_grow_error;                /* why the full map could not grow; 0 if it did not try */
    uint32_t clearing_waits;               /* clearing_run items still waiting for their round */
    size_t charged;                        /* bytes charged to the budgets */
    uv_work_t work;                        /* verification on the pool */
    troc__arena arena;
    max_align_t inline_arena[TROC__REQUEST_INLINE_SIZE / sizeof(max_align_t)];
};

/* A buffer of sealed frames to write. */
typedef struct troc__out {
    uint8_t *data;
    size_t size;                           /* bytes queued */
    size_t capacity;
} troc__out;

typedef enum troc__conn_state {
    TROC__CONN_HELLO = 0,                  /* waiting for the client's hello (clear) */
    TROC__CONN_AUTH,                       /* waiting for the sealed ClientAuth */
    TROC__CONN_READY,                      /* serving requests */
    TROC__CONN_DRAINING,                   /* server stopping: answer what was read, read no more */
    TROC__CONN_CLOSING,                    /* last frame queued; once written, linger then close */
    TROC__CONN_CLOSED,                     /* handles closing; freed when its requests are back */
} troc__conn_state;

struct troc__conn {
    troc__conn *prev, *next;               /* the server's list of connections */
    troc__conn *dirty_next;                /* list of connections with output to flush */
    bool dirty;
    troc_server *server;
    uint64_t number;                       /* for logs: "connection 12" */
    char peer[64];                         /* "127.0.0.1:51234" or "unix" */
    troc__socket socket;
    uv_timer_t timer;                      /* handshake, idle and close timeouts */
    uv_write_t write_request;
    uint64_t write_progress_ms;            /* loop time the peer last took bytes of the write in flight */
    size_t write_pending;                  /* bytes of it libuv still held at the last check */
    int write_kernel_queued;               /* bytes the kernel held then, not yet taken by the peer
                                              (SIOCOUTQ); -1 when it cannot tell */
    uv_shutdown_t shutdown_request;        /* lingering close: our side is done */
    bool lingering;                        /* shut down, discarding input until the peer closes */
    int handles_open;                      /* socket and timer not yet closed */
    troc__conn_state state;
    bool local;                            /* accepted on the Unix socket, not TCP */
    bool handshaking;                      /* counted in the server's handshakes[local] (and, over
                                              TCP, in its sources) */
    troc__source source;                   /* the peer's address or /64 (TCP only) */
    const char *close_reason;              /* logged when closed */
    troc_handshake handshake;
    troc_channel channel;
    troc_role role;
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE]; /* the session's key */
    char member[TROC_NAME_LENGTH_MAX + 1];    /* the member, for ROLE_MEMBER */
    uint8_t *read_buffer;                  /* bytes received, frames not yet handled */
    size_t read_start, read_end, read_capacity;
    uint64_t frame_started_ms;             /* loop time a partial frame began to be read; 0: none */
    size_t buffer_bytes;                   /* read and output buffers' capacity, charged to the server */
    size_t frame_buffer_bytes;             /* of which the read buffer's growth past its first size */
    bool memory_waiting;                   /* on the server's list, waiting to grow for a large frame */
    size_t memory_wanted;                  /* bytes that growth takes */
    troc__conn *memory_wait_next;          /* link in the server's list */
    bool reading;                          /* uv_read_start in effect */
    bool processing;                       /* conn_process is on the stack */
    uint64_t last_frame_ms;                /* loop time of the last whole frame */
    uint32_t in_flight;                    /* requests read, not yet answered */
    size_t request_bytes;                  /* bytes charged by those requests */
    troc__request *pending_head, *pending_tail; /* submits being verified, in order */
    troc__request *free_requests;          /* request objects kept for reuse */
    troc__out out[2];                      /* queued frames; one may be in flight */
    int writing;                           /* index of out[] being written, or -1 */
};

/* Work the writer runs on its thread between two group commits (a
 * clearing round): `run` opens, applies and commits its own transaction,
 * stamped `timestamp_us` (troc__writer_now_us() when `run` began). */
typedef struct troc__writer_task troc__writer_task;
struct troc__writer_task {
    void (*run)(troc__writer_task *task, troc_ledger *ledger, int64_t timestamp_us);
};

/* The time the writer stamps its transactions with (wall clock, µs). */
int64_t troc__writer_now_us(void);

typedef struct troc__writer {
    troc_ledger *ledger;
    uv_thread_t thread;
    uv_mutex_t mutex;                      /* guards the lists and `stopping` */
    uv_cond_t wake;                        /* signalled when the queue or `stopping` changes */
    uv_async_t done_async;                 /* tells the loop that done holds requests */
    troc__request *queue_head, *queue_tail; /* verified requests to apply, in order */
    size_t queue_weight;                   /* transfers in the queue */
    bool idle;                             /* waiting for work: a push wakes it */
    bool gathering;                        /* waiting for a fuller group: woken when it is full */
    atomic_uint verifying;                 /* requests being verified (verify.c): more are coming */
    troc__request *done_head, *done_tail;  /* committed (or refused) requests */
    troc__writer_task *task;               /* a task to run before the next group, or NULL */
    bool stopping;
    bool started;
    /* Counters, written by the writer thread only; atomic so that the
     * loop may read them while the writer runs (troc_server_stats_get). */
    _Atomic uint64_t commits;
    _Atomic uint64_t items_committed;
    _Atomic uint64_t commit_items_max;
    _Atomic uint64_t commits_refused;
} troc__writer;

struct troc_server {
    uv_loop_t *loop;
    uint32_t connections_max;              /* bounds in effect (options, limits.h or descriptors) */
    uint32_t handshakes_max;               /* connections in their handshake, per listener */
    uint32_t handshakes_source_max;        /* of which one source may hold over TCP */
    uint32_t local_reserved;               /* slots only the Unix socket may take */
    uint32_t handshake_timeout_ms;
    uint32_t idle_timeout_ms;
    uint32_t frame_timeout_ms;
    char frame_timeout_reason[96];         /* why a connection is cut at the frame timeout */
    uint32_t write_timeout_ms;
    char write_timeout_reason[96];         /* why a connection is cut at the write timeout */
    size_t memory_bytes_max;               /* requests, read buffers and output together */
    size_t memory_local_reserved;          /* of which only the Unix socket's connections may
                                              take (0 without a Unix socket) */
    size_t frame_buffer_bytes_max;         /* of which read buffers grown for large frames */
    troc_ledger *ledger;
    const troc_keypair *territory_keypair;
    uv_tcp_t tcp_listener;
    bool has_tcp;
    int tcp_port;                          /* the port bound (port 0 asks the kernel for one) */
    char tcp_address[64];                  /* the address bound, as logged: "127.0.0.1:7400", "[::1]:7400" */
    uv_pipe_t pipe_listener;
    bool has_pipe;
    char socket_path[108];                 /* sizeof sockaddr_un.sun_path */
    uv_signal_t signals[TROC__STOP_SIGNAL_COUNT]; /* one per troc__stop_signals[] */
    bool has_signals;
    uv_async_t stop_async;                 /* troc_server_stop from anywhere */
    uv_timer_t shutdown_timer;             /* bounds the stop sequence */
    troc__writer writer;
    troc__clearing *clearing;              /* clearing rounds (clearing.c) */
    troc__backup *backup;                  /* the backup in progress (backup.c), or NULL */
    troc__conn *conns;                     /* served connections */
    uint32_t conn_count;
    uint32_t handshakes[2];                /* connections in their handshake: [0] TCP, [1] Unix socket */
    troc__sources sources;                 /* TCP connections in their handshake, per source */
    uint64_t source_refusals_logged_ms;    /* loop time of the last line logging them */
    uint64_t source_refusals_unlogged;     /* refused at a source's share since that line */
    bool source_refusals_logged;           /* such a line was written */
    uint32_t refusal_count;                /* "busy" replies in flight */
    troc__conn *dirty;                     /* connections with output to flush */
    size_t memory_bytes;                   /* charged: requests in flight and every buffer */
    size_t memory_bytes_local;             /* of which by the Unix socket's connections */
    size_t frame_buffer_bytes;             /* of which read buffers' growth for large frames */
    bool over_budget[2];                   /* past their budget, served connections take no
                                              frame: [0] over TCP, [1] on the Unix socket */
    troc__conn *memory_wait_head, *memory_wait_tail; /* waiting to grow for a large frame, in order */
    bool resume_all;                       /* back under budget: resume reading at the next flush */
    bool stopping;                         /* stop sequence begun */
    bool finished;                         /* writer joined, last handles closing */
    uint64_t conn_numbers;                 /* last connection number given */
    troc__arena scratch;                   /* building replies (loop thread) */
    max_align_t scratch_inline[4096 / sizeof(max_align_t)];
    troc_server_stats stats;
};

/* listener.c */
int troc__listener_open_tcp(troc_server *server, const char *listen);
int troc__listener_open_pipe(troc_server *server, const char *path);
void troc__listener_log_ready(const troc_server *server);
void troc__listener_close(troc_server *server);

/* conn.c */
troc__conn *troc__conn_accept(troc_server *server, uv_stream_t *listener, bool is_tcp);
void troc__conn_start(troc__conn *conn);
void troc__conn_discard(troc__conn *conn);
void troc__conn_send(troc__conn *conn, const Troc__V1__ServerFrame *frame);
void troc__conn_fail(troc__conn *conn, int error, const char *reason);
void troc__conn_close(troc__conn *conn, const char *reason);
void troc__conn_flush(troc__conn *conn);
void troc__conn_update_reading(troc__conn *conn);
void troc__conn_drain(troc__conn *conn);
void troc__conn_ready(troc__conn *conn);
troc__request *troc__conn_request_get(troc__conn *conn);
void troc__conn_request_put(troc__conn *conn, troc__request *request);

/* dispatch.c */
void troc__dispatch_auth(troc__conn *conn, const Troc__V1__ClientAuth *auth);
void troc__dispatch_request(troc__conn *conn, troc__request *request, const Troc__V1__Request *message);
void troc__dispatch_verified(troc__conn *conn);
void troc__dispatch_committed(troc_server *server, troc__request *list);
void troc__reply_error(troc__conn *conn, uint64_t request_id, int error, const char *message);
void troc__reply_submit(troc__conn *conn, troc__request *request);
void troc__send_response(troc__conn *conn, Troc__V1__Response *response);
void *troc__scratch_alloc(troc_server *server, size_t size);
void troc__scratch_reset(troc_server *server);
int troc__session_read_begin(troc__conn *conn, uint64_t request_id, troc_ledger_read **read_out);
const char *troc__session_member(troc__conn *conn, uint64_t request_id, const char *named);
void troc__reply_read_error(troc__conn *conn, uint64_t request_id, const char *member, int rc);

/* clearing.c */
int troc__clearing_open(troc_server *server, uint64_t every_ms);
bool troc__clearing_claim(troc_server *server, troc__request *request);
int troc__clearing_summary_message(troc_server *server, const troc__round_outcome *outcome,
                                   Troc__V1__ClearingSummary **message_out);
void troc__clearing_query(troc__conn *conn, troc__request *request, const Troc__V1__ClearingQuery *query);
void troc__clearing_stop(troc_server *server);
bool troc__clearing_idle(const troc_server *server);
void troc__clearing_close(troc_server *server);

/* backup.c */
void troc__backup_request(troc__conn *conn, troc__request *request, const Troc__V1__BackupRequest *message);
void troc__backup_stop(troc_server *server);

/* invoices.c */
void troc__invoices_read(troc__conn *conn, uint64_t request_id, const Troc__V1__InvoiceQuery *query);

/* verify.c */
int troc__verify_prepare(troc__request *request, const Troc__V1__Submit *submit);
int troc__verify_queue(uv_loop_t *loop, troc__request *request, uv_after_work_cb after);

/* writer.c */
int troc__writer_start(troc__writer *writer, uv_loop_t *loop, troc_ledger *ledger, uv_async_cb done);
void troc__writer_push(troc__writer *writer, troc__request *head, troc__request *tail);
troc__request *troc__writer_take_done(troc__writer *writer);
void troc__writer_push_task(troc__writer *writer, troc__writer_task *task);
void troc__writer_stop(troc__writer *writer);
/* Text of a storage error: LMDB's own words for its codes, troc's otherwise. */
const char *troc__storage_error_text(int error);
/* For a log line: what to do when `error` says the ledger is damaged
 * (corrupt pages, a stored total that does not add up), else "". */
const char *troc__storage_damage_hint(int error);

/* Why the ledger's full map could not grow (troc_ledger_grow's error),
 * and what to do, in words: for the log and for the clients refused. */
void troc__grow_error_text(int error, char *text, size_t size);

/* Runs `apply` (one write transaction, begun and committed or aborted by
 * it); on MDB_MAP_FULL grows the ledger's map and runs it again, as long as
 * the map keeps growing.  Returns apply's last result; *grew_out says
 * whether the map grew, *grow_error_out why it could not (0 if it could). */
int troc__writer_apply_growing(troc_ledger *ledger, int (*apply)(void *context), void *context, bool *grew_out,
                               int *grow_error_out);

/* server.c */
void troc__server_conn_opened(troc_server *server, troc__conn *conn);
void troc__server_conn_closed(troc_server *server, troc__conn *conn);
void troc__server_handshake_over(troc_server *server, troc__conn *conn);
void troc__server_charge(troc_server *server, troc__request *request);
void troc__server_uncharge(troc_server *server, troc__request *request);
void troc__server_charge_buffers(troc_server *server, troc__conn *conn, size_t buffer_bytes,
                                 size_t frame_buffer_bytes);
bool troc__server_frame_fits(const troc_server *server, const troc__conn *conn, size_t growth);
void troc__server_memory_wait(troc_server *server, troc__conn *conn);
void troc__server_memory_unwait(troc_server *server, troc__conn *conn);
void troc__server_mark_dirty(troc_server *server, troc__conn *conn);
void troc__server_flush(troc_server *server);
void troc__server_maybe_finish(troc_server *server);

#endif /* TROC_SERVER_INT_H */
