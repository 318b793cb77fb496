/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtroc's insides, shared by its modules and its unit tests; never
 * installed.  The engine's headers come first so that troc.h's copies of
 * their definitions are checked against them by the compiler.
 *
 *   key.c       key pairs, ids in hex, library-wide helpers
 *   known.c     the known-territories file (pinning)
 *   io.c        sockets with timeouts: connect, write, read
 *   client.c    settings, connect and handshake, session accessors
 *   envelope.c  building and signing items
 *   request.c   frames out and in, submit, the pipelined interface
 *   reads.c     balance, statement, member record, statistics
 *   invoices.c  invoice lists and one invoice
 *   clearing.c  clearing rounds and previews
 *   backup.c    hot backups made by the daemon
 */
#ifndef TROC_CLIENT_INT_H
#define TROC_CLIENT_INT_H

#include <protobuf-c/protobuf-c.h>
#include <stdarg.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/result.h"
#include "crypto/crypto.h"
#include "net/channel.h"
#include "net/frame.h"
#include "troc.h"
#include "troc.pb-c.h"

/* Bytes of one whole frame: header and largest payload. */
#define TROC__CLIENT_FRAME_BUFFER_SIZE (TROC_FRAME_HEADER_SIZE + TROC_FRAME_SIZE_MAX)

/* Replies are decoded into this arena, reset after each reply, so that
 * receiving does not allocate per request; a reply that needs more (a full
 * statement page of long memos) takes the rest from malloc. */
#define TROC__CLIENT_ARENA_SIZE (1024u * 1024u)

/* Room for the text of the last failure: the longest name a file, an
 * address, two keys and what to do. */
#define TROC__CLIENT_MESSAGE_SIZE 1024

/* Room for the known-territories file's path. */
#define TROC__CLIENT_PATH_SIZE 4096

/* Result codes a batch refused whole can be answered with item codes for:
 * every code the ledger has, with room for those a newer daemon adds. */
#define TROC__CLIENT_RESULT_CODES 64
_Static_assert(TROC_RESULT_OBLIGATIONS_FULL < TROC__CLIENT_RESULT_CODES, "every result code has a row of item codes");
_Static_assert(TROC_BATCH_ITEMS_MAX <= UINT16_MAX, "a batch's item count fits the in-flight table");

/* Protobuf encoding of the wrappers around the envelopes of one submit
 * (ClientFrame, Request with its id, Submit) and of one Envelope around its
 * body (kind, signature, signer): generous upper bounds, used to refuse a
 * body that could never be sent. */
#define TROC__ENVELOPE_OVERHEAD_MAX 256
#define TROC__ENVELOPE_BODY_SIZE_MAX (TROC_CHANNEL_PLAINTEXT_MAX - 2 * TROC__ENVELOPE_OVERHEAD_MAX)

typedef struct troc__arena {
    uint8_t *memory;
    size_t size; /* bytes of memory */
    size_t used; /* bytes handed out since the last reset */
} troc__arena;

struct troc_key {
    troc_keypair keypair;
};

struct troc_envelope {
    Troc__V1__Envelope message;             /* points into the fields below */
    uint8_t id[TROC_ID_SIZE];
    uint8_t signature[TROC_SIGNATURE_SIZE];
    uint8_t signer[TROC_PUBLIC_KEY_SIZE];
    uint8_t *body;                          /* message.body.len bytes used */
    size_t body_capacity;
    Troc__V1__BatchItem *batch_items;       /* encoding scratch of a batch, reused */
    Troc__V1__BatchItem **batch_item_pointers;
    uint8_t (*batch_ids)[TROC_ID_SIZE];
    size_t batch_capacity;                  /* items the three arrays hold */
    size_t batch_item_count;                /* items of the batch signed into it; 0 for another item, or empty */
};

struct troc_client {
    /* Settings, kept across reconnections. */
    troc_keypair keypair;
    bool has_key;
    uint8_t server_key[TROC_PUBLIC_KEY_SIZE];
    bool has_server_key;
    char known_path[TROC__CLIENT_PATH_SIZE]; /* "" : no pinning */
    int known_directories_max;               /* missing directories at the end of its path pinning may create */
    int known_default_error;                 /* why the default known_path is missing; 0 once the caller chose */
    int connect_timeout_ms;
    int read_timeout_ms;
    char address[TROC_ADDRESS_LENGTH_MAX + 1];

    /* The connection. */
    int fd;                                  /* -1 when closed */
    troc_channel channel;
    troc_session_role role;
    char member[TROC_NAME_LENGTH_MAX + 1];
    char territory[TROC_NAME_LENGTH_MAX + 1];
    char unit[TROC_UNIT_LENGTH_MAX + 1];
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    uint64_t next_request_id;                /* ids are 1, 2, ... for the client's life, across connections */
    uint64_t in_flight[TROC_REQUESTS_IN_FLIGHT_MAX];
    size_t in_flight_count;
    uint16_t (*in_flight_batch_items)[TROC_SUBMIT_ENVELOPES_MAX]; /* for in_flight[i]: the item count of each
                                                                     of its envelopes (0: not a batch) */
    uint16_t reply_batch_items[TROC_SUBMIT_ENVELOPES_MAX]; /* those of the request the last reply answered */
    int lost_error;                          /* the failure that ended the connection while requests were in
                                                flight; 0 while it takes requests (see request.c) */
    bool requests_sent;                      /* a request was queued on this connection: one it closes with
                                                nothing in flight was idle, not fresh */

    /* Buffers, allocated once at create. */
    uint8_t *input;                          /* bytes received: [input_start, input_end) unread */
    size_t input_start;
    size_t input_end;
    uint8_t *output;                         /* sealed frames not yet written */
    size_t output_size;
    uint8_t *plaintext;                      /* one frame's plaintext, either way */
    troc__arena arena;
    ProtobufCAllocator allocator;            /* over the arena */
    Troc__V1__ServerFrame *reply;            /* the last decoded frame, freed at the next */
    Troc__V1__Envelope *envelope_pointers[TROC_SUBMIT_ENVELOPES_MAX];
    troc_submit_result results[TROC_SUBMIT_ENVELOPES_MAX];
    troc_clearing_report reports[TROC_SUBMIT_ENVELOPES_MAX]; /* results[i].clearing points here */
    int *uniform_codes;                      /* TROC__CLIENT_RESULT_CODES rows of TROC_BATCH_ITEMS_MAX codes, row c
                                                all c: the item codes of a batch refused whole (request.c) */
    bool uniform_filled[TROC__CLIENT_RESULT_CODES]; /* rows written so far (a row is written on first use) */

    char message[TROC__CLIENT_MESSAGE_SIZE]; /* the last failure's text */
    char lost_message[TROC__CLIENT_MESSAGE_SIZE]; /* lost_error's text, repeated for each unanswered request */
};

/* ------------------------------------------------------------ key.c */

/* Copies at most size - 1 bytes of `text` (NULL: "") and terminates. */
void troc__copy_text(char *destination, size_t size, const char *text);

/* Formats the last failure's text into client->message and returns `error`,
 * so that a function can `return troc__client_fail(client, rc, ...)`. */
int troc__client_fail(troc_client *client, int error, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------- known.c */

/* The default file: $XDG_CONFIG_HOME/troc/known_territories, else
 * $HOME/.config/troc/known_territories, else the same under the user's home
 * directory from the password database (cron jobs and services often run
 * without HOME).  *directories_max_out is how many directories at the end
 * of its path pinning may create: "troc" and the configuration directory
 * ($XDG_CONFIG_HOME, or ~/.config), never the one above.  Writes "" and returns -ENOENT when no absolute directory
 * is found, -ENAMETOOLONG when the path does not fit. */
int troc__known_default_path(char *path, size_t path_size, int *directories_max_out);

/* Looks `address` up.  Returns 0 with *found_out false when the file or the
 * line does not exist; with *found_out true, the pinned key and the line's
 * number.  TROC_ECORRUPT for a malformed line (its number in *line_out),
 * TROC_ELIMIT when the address is not in the first
 * TROC_KNOWN_TERRITORIES_LINES_MAX lines, whether more follow or not (a
 * file that long cannot take another line either), -errno when the file
 * cannot be read. */
int troc__known_lookup(const char *path, const char *address, uint8_t key_out[TROC_PUBLIC_KEY_SIZE], bool *found_out,
                       int *line_out);

/* Appends "ADDRESS KEY" to the file, creating it (mode 0600, with a header
 * comment) when absent, and up to `directories_max` (0 to 2) missing
 * directories at the end of its path (mode 0700): -ENOENT, with nothing
 * created, when more are missing.  TROC_EUSAGE for an address that cannot
 * be a line's first field, -errno when the file cannot be written. */
int troc__known_pin(const char *path, int directories_max, const char *address,
                    const uint8_t key[TROC_PUBLIC_KEY_SIZE]);

/* True when `address` can be a line's first field: 1 to
 * TROC_ADDRESS_LENGTH_MAX bytes, no space, control character or '#'. */
bool troc__known_address_valid(const char *address);

/* ------------------------------------------------------------- io.c */

/* When a call must be over, computed once as it begins: a connect with its
 * handshake gets the connect timeout, reading one reply or writing one
 * request the read timeout.  Every wait inside the call gets only what is
 * left, so that a server trickling bytes cannot stretch the call. */
typedef struct troc__deadline {
    int64_t at_ms;  /* CLOCK_MONOTONIC, milliseconds */
    int timeout_ms; /* the timeout it was computed from, for messages */
} troc__deadline;

/* The deadline `timeout_ms` (> 0) from now. */
troc__deadline troc__deadline_in(int timeout_ms);

/* Connects to HOST:PORT or a Unix socket path (one holding a '/'); the
 * descriptor is non-blocking.  A host name is resolved first, in a time the
 * timeout does not bound (getaddrinfo cannot be interrupted); `timeout_ms`
 * starts after it, and *deadline_out is when it ends, for the handshake to
 * finish by.  On failure the text of the cause is in `message`. */
int troc__io_connect(const char *address, int timeout_ms, troc__deadline *deadline_out, int *fd_out, char *message,
                     size_t message_size);

/* Writes all `size` bytes before `deadline`.  TROC_ETIMEOUT, or -errno
 * (-EPIPE, -ECONNRESET). */
int troc__io_write(int fd, const uint8_t *data, size_t size, troc__deadline deadline);

/* Reads what is available (at least one byte), waiting at most until
 * `deadline`.  TROC_ECLOSED at end of stream, TROC_ETIMEOUT, -errno. */
int troc__io_read(int fd, uint8_t *buffer, size_t capacity, troc__deadline deadline, size_t *read_out);

/* True when reading `fd` would not wait: bytes, the end of the stream or
 * an error are there.  Waits for nothing. */
bool troc__io_readable(int fd);

/* -------------------------------------------------------- request.c */

/* Appends one frame to the output buffer: sealed with the channel when
 * `sealed`, in clear otherwise (the handshake's first frame). */
int troc__client_queue(troc_client *client, const uint8_t *payload, size_t payload_size, bool sealed);

/* Writes out everything queued before `deadline`.  On failure the
 * connection is closed, or, with requests in flight, takes no more and is
 * only read from (request.c says why). */
int troc__client_flush_until(troc_client *client, troc__deadline deadline);

/* Reads the next whole frame before `deadline` and decodes it into
 * client->reply (sealed: opened with the channel first).  A connection-level
 * error frame from the server is returned as its code, with its text. */
int troc__client_read_frame(troc_client *client, troc__deadline deadline, bool sealed);

/* Reads the next whole frame before `deadline` without decoding it;
 * *payload_out (opened with the channel when `sealed`) stays valid until the
 * next read.  On failure the connection is closed. */
int troc__client_read_payload(troc_client *client, troc__deadline deadline, bool sealed, const uint8_t **payload_out,
                              size_t *payload_size_out);

/* Decodes a ServerFrame payload into client->reply, as
 * troc__client_read_frame does. */
int troc__client_decode(troc_client *client, const uint8_t *payload, size_t payload_size);

/* Frees client->reply and resets the arena. */
void troc__client_reply_release(troc_client *client);

/* Sends `request` (its id is assigned here), waits for the response with
 * the same id and returns it in *response_out (valid until the next call on
 * the client); sending and waiting together take at most the read timeout.
 * A request-level Error is returned as its code.  Nothing may be in
 * flight. */
int troc__client_call(troc_client *client, Troc__V1__Request *request, const Troc__V1__Response **response_out);

/* Releases everything a connection holds (socket, channel keys, buffers'
 * contents, in-flight ids, the last reply); the settings stay. */
void troc__client_reset(troc_client *client);

/* Closes the socket and forgets the session, but keeps the last decoded
 * reply (the results handed over point into it) and the ids in flight
 * (those still to be reported unanswered). */
void troc__client_disconnect(troc_client *client);

/* ------------------------------------------------------- clearing.c */

/* Copies a ClearingSummary's report (not its settlements). */
void troc__clearing_report_copy(const Troc__V1__ClearingSummary *from, troc_clearing_report *to);

/* ---------------------------------------------------------- reads.c */

/* Drops the connection after a reply of the wrong kind and says so. */
int troc__client_wrong_answer(troc_client *client);

#endif /* TROC_CLIENT_INT_H */
