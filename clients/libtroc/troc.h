/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtroc: the C client library of troc, a mutual-credit clearing engine.
 *
 * This is the only header an integration (an ERP, a point of sale, the
 * `troc` command line, the load generator) includes.  It talks to a
 * territory's `trocd` over TCP or a Unix socket: it connects, checks the
 * territory's key, authenticates with a member's or an administrator's key,
 * signs items (transfers, batches, admin and invoice actions) and submits
 * them, and reads balances, statements, member records, statistics,
 * invoices and clearing rounds.
 *
 * Conventions
 *   - Every fallible function returns an int: 0 on success, a negative error
 *     code on failure (troc's own TROC_E* codes below, or -errno).  Use
 *     troc_strerror() for text and troc_client_error_message() for the
 *     details of the last failure on a client.
 *   - A refusal by the ledger (a payment over the payer's credit line) is
 *     not an error: the submit succeeds and the item's result code says why
 *     it was refused (TROC_RESULT_*, named by troc_result_name()).
 *   - Amounts are int64 cents.  Convert text with troc_amount_parse() and
 *     troc_amount_format(), which are exact (never floating point).
 *   - Types are opaque; results are plain structs the caller owns, except
 *     where a pointer is documented as "valid until the next call on the
 *     client".
 *   - Passing NULL where a pointer is required (a client, a key, an
 *     envelope, a place for a result) is a programming error: an assertion
 *     aborts the program, and troc keeps its assertions in release builds.
 *     NULL is allowed only where a function says so (a sign function's
 *     key, a read's member, ...); a few inputs that usually come from
 *     outside the program (an address, a path, the item to sign) are
 *     refused with TROC_EUSAGE instead.
 *   - One client is one connection and is used by one thread at a time.
 *     A troc_key is only read once made: one const key may sign in many
 *     threads at once (each with its own client).  An envelope, like a
 *     client, is used by one thread at a time.  The functions without a
 *     client (troc_init, troc_id_*, troc_public_key_*, troc_amount_*,
 *     troc_strerror, troc_err_name, troc_result_*) may be called from any
 *     thread; troc_id_generate's ids increase within each thread.
 *   - Inside troc's own tree, include the engine's headers (base/error.h,
 *     base/result.h) before this one: it then uses their definitions, of
 *     which it holds a checked copy for integrators.
 *
 * Retrying after a lost connection
 *   Every item carries a 128-bit id chosen by the client, and the ledger
 *   answers a resubmitted id (with the same body) with the original result
 *   instead of applying it twice.  So when a submit fails with an error for
 *   which troc_error_is_retryable() is true, the outcome is unknown and the
 *   remedy is always the same: reconnect and submit the very same envelope
 *   again (troc_client_submit's `retries` does exactly that).  A program
 *   that may itself stop in between should store the id (or the envelope's
 *   inputs with the id) before submitting, and submit the same id again
 *   when it starts.  docs/libtroc.md shows the pattern.
 *
 * Minimal use (see clients/libtroc/example.c):
 *
 *   troc_client *client;
 *   troc_client_create(&client);
 *   if (troc_client_set_key_file(client, "alice.key") != 0 ||
 *       troc_client_connect(client, "127.0.0.1:7400") != 0) {
 *       ... troc_client_error_message(client) says why ...
 *   }
 *   troc_envelope *payment;
 *   troc_envelope_create(&payment);
 *   troc_transfer transfer = {.payee = "bob", .amount_cents = 2050};
 *   troc_sign_transfer(client, NULL, &transfer, payment);
 *   troc_submit_result result;
 *   troc_client_submit(client, (const troc_envelope *const[]){payment}, 1, &result, 1);
 *   ... result.code == TROC_RESULT_OK ...
 */
#ifndef TROC_H
#define TROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ sizes */

/* These equal the engine's definitions (engine/base/limits.h,
 * engine/crypto/crypto.h); C allows an identical redefinition, and the
 * compiler rejects a different one wherever both are seen. */
#define TROC_PUBLIC_KEY_SIZE 32
#define TROC_SEED_SIZE 32
#define TROC_ID_SIZE 16
#define TROC_PUBLIC_KEY_HEX_SIZE (2 * TROC_PUBLIC_KEY_SIZE + 1)
#define TROC_ID_HEX_SIZE (2 * TROC_ID_SIZE + 1)
#define TROC_NAME_LENGTH_MAX 64
#define TROC_UNIT_LENGTH_MAX 16
#define TROC_MEMO_LENGTH_MAX 256
#define TROC_REASON_LENGTH_MAX 512
#define TROC_INVOICE_REF_LENGTH_MAX 128
#define TROC_AMOUNT_TEXT_SIZE 32
#define TROC_AMOUNT_CENTS_MAX 1000000000000000LL
#define TROC_BATCH_ITEMS_MAX 4096
#define TROC_SUBMIT_ENVELOPES_MAX 256
#define TROC_PAGE_ROWS_MAX 1000
#define TROC_REQUESTS_IN_FLIGHT_MAX 256
#define TROC_BACKUP_PATH_LENGTH_MAX 1024

/* ------------------------------------------------------------ errors */

/* troc's error codes (the same values as the engine's base/error.h).  Other
 * negative values are -errno (-ECONNREFUSED, -ENOENT, ...). */
#ifndef TROC_ERROR_H
#define TROC_ERROR_H
typedef enum troc_error {
    TROC_EAMOUNT = -20001,      /* not an amount */
    TROC_EOVERFLOW = -20002,    /* amount out of range */
    TROC_ENAME = -20003,        /* illegal name */
    TROC_EUTF8 = -20004,        /* text is not valid UTF-8 */
    TROC_EHEX = -20005,         /* not a hexadecimal value of the expected length */
    TROC_EKEYFILE = -20006,     /* not a troc key file */
    TROC_ESIGNATURE = -20007,   /* signature does not verify */
    TROC_EFRAME = -20008,       /* malformed frame */
    TROC_EFRAME_SIZE = -20009,  /* frame larger than the maximum */
    TROC_EDECODE = -20010,      /* cannot decode message */
    TROC_EPROTOCOL = -20011,    /* protocol violation */
    TROC_EHANDSHAKE = -20012,   /* handshake failed */
    TROC_ESERVER_KEY = -20013,  /* the territory's key differs from the one expected (set or pinned) */
    TROC_ECLOSED = -20014,      /* connection closed */
    TROC_ECORRUPT = -20015,     /* stored data is corrupt */
    TROC_ECHAIN = -20016,       /* journal hash chain is broken */
    TROC_ENOT_FOUND = -20017,   /* not found */
    TROC_ENOT_EMPTY = -20018,   /* directory is not empty */
    TROC_ECSV = -20019,         /* malformed CSV */
    TROC_ELIMIT = -20020,       /* a limit was exceeded */
    TROC_EUSAGE = -20021,       /* bad usage of an API or command */
    TROC_EBUSY = -20022,        /* server busy */
    TROC_ETIMEOUT = -20023,     /* timed out */
    TROC_EDENIED = -20024,      /* permission denied for this session */
    TROC_EREPLAY = -20025,      /* replayed state differs from the stored state */
    TROC_EUNAVAILABLE = -20026, /* storage unavailable (disk or map full) */
    TROC_EINFEASIBLE = -20027,  /* clearing result is not feasible */
    TROC_ENOT_OPTIMAL = -20028, /* clearing result is not optimal */
    TROC_ESTALE = -20029,       /* the ledger changed since the snapshot */
    TROC_EFORMAT = -20030,      /* a ledger in another storage format */
    TROC_EKNOWN_TERRITORIES = -20031, /* the known-territories file cannot be used (found, read or written) */
} troc_error;

/* Text for any error code (never NULL). */
const char *troc_strerror(int error);

/* Symbolic name ("TROC_ECLOSED", "ECONNREFUSED"); never NULL. */
const char *troc_err_name(int error);
#endif

/* ----------------------------------------------------------- results */

/* The ledger's answer to one item (the same values as the engine's
 * base/result.h and proto/troc.proto's ResultCode; never renumbered). */
#ifndef TROC_RESULT_H
#define TROC_RESULT_H
typedef enum troc_result {
    TROC_RESULT_OK = 0,
    TROC_RESULT_ID_REUSED = 1,            /* the id was used with a different body */
    TROC_RESULT_MALFORMED = 2,
    TROC_RESULT_BAD_SIGNATURE = 3,
    TROC_RESULT_UNKNOWN_KEY = 4,
    TROC_RESULT_KEY_NOT_OWNED = 5,        /* the signing key belongs to another member */
    TROC_RESULT_NOT_ADMIN = 6,
    TROC_RESULT_INVALID_NAME = 7,
    TROC_RESULT_INVALID_TEXT = 8,
    TROC_RESULT_MEMO_TOO_LONG = 9,
    TROC_RESULT_UNKNOWN_PAYER = 10,
    TROC_RESULT_UNKNOWN_PAYEE = 11,
    TROC_RESULT_SAME_ACCOUNT = 12,
    TROC_RESULT_AMOUNT_NOT_POSITIVE = 13,
    TROC_RESULT_AMOUNT_TOO_LARGE = 14,
    TROC_RESULT_PAYER_FROZEN = 15,
    TROC_RESULT_PAYEE_FROZEN = 16,
    TROC_RESULT_EXCEEDS_CREDIT_LIMIT = 17,
    TROC_RESULT_EXCEEDS_BALANCE_MAX = 18,
    TROC_RESULT_BALANCE_OVERFLOW = 19,
    TROC_RESULT_MEMBER_EXISTS = 20,
    TROC_RESULT_UNKNOWN_MEMBER = 21,
    TROC_RESULT_KEY_IN_USE = 22,
    TROC_RESULT_KEY_NOT_FOUND = 23,
    TROC_RESULT_LAST_KEY = 24,
    TROC_RESULT_TOO_MANY_KEYS = 25,
    TROC_RESULT_REASON_REQUIRED = 26,
    TROC_RESULT_REASON_TOO_LONG = 27,
    TROC_RESULT_INVALID_LIMIT = 28,
    TROC_RESULT_ALREADY_FROZEN = 29,
    TROC_RESULT_NOT_FROZEN = 30,
    TROC_RESULT_BATCH_TOO_LARGE = 31,
    TROC_RESULT_WRONG_TERRITORY = 32,     /* reserved, never answered: an item signed for another
                                             territory fails its signature (bad_signature) */
    TROC_RESULT_UNKNOWN_INVOICE = 33,
    TROC_RESULT_NOT_DEBTOR = 34,
    TROC_RESULT_NOT_CREDITOR = 35,
    TROC_RESULT_INVOICE_NOT_PENDING = 36,
    TROC_RESULT_INVOICE_NOT_OPEN = 37,
    TROC_RESULT_EXCEEDS_OBLIGATION = 38,
    TROC_RESULT_REF_TOO_LONG = 39,
    TROC_RESULT_INVALID_DATE = 40,
    TROC_RESULT_STORAGE_FULL = 41,
    TROC_RESULT_UNAVAILABLE = 42,
    TROC_RESULT_NOTHING_CHANGED = 43,
    TROC_RESULT_OBLIGATIONS_FULL = 44,
} troc_result;

/* Lower-case name ("exceeds_credit_limit"); "unknown" for other values. */
const char *troc_result_name(int result);

/* One-line explanation; never NULL. */
const char *troc_result_text(int result);
#endif

/* True when `error` means the connection was lost or timed out, so that the
 * outcome of a submit is unknown and resubmitting the same envelopes on a
 * new connection is the remedy. */
bool troc_error_is_retryable(int error);

/* ----------------------------------------------------- text helpers */

/* Initialises the library (libsodium).  Idempotent and thread-safe; the
 * create and read functions below call it themselves, so it is needed only
 * before troc_id_generate() in a program that calls nothing else first.
 * Returns 0 or -EIO. */
int troc_init(void);

/* Parses exactly `length` bytes of a decimal amount with at most two
 * fractional digits ("12", "-0.5", "1234.56") into cents.  TROC_EAMOUNT for
 * other text, TROC_EOVERFLOW when it does not fit. */
int troc_amount_parse(const char *text, size_t length, int64_t *cents_out);

/* Writes `cents` as "-120.50" into `buffer` and returns `buffer`. */
char *troc_amount_format(int64_t cents, char buffer[TROC_AMOUNT_TEXT_SIZE]);

/* Public keys as 64 lower-case hex digits; parsing takes either case and
 * returns TROC_EHEX for anything but 64 hex digits. */
void troc_public_key_to_hex(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], char hex[TROC_PUBLIC_KEY_HEX_SIZE]);
int troc_public_key_from_hex(const char *hex, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);

/* Item ids as 32 lower-case hex digits; parsing takes either case and
 * returns TROC_EHEX for anything but 32 hex digits. */
void troc_id_to_hex(const uint8_t id[TROC_ID_SIZE], char hex[TROC_ID_HEX_SIZE]);
int troc_id_from_hex(const char *hex, uint8_t id[TROC_ID_SIZE]);

/* A fresh 128-bit id (call troc_init() first): 48 bits of milliseconds since
 * the epoch, then 80 random bits, strictly increasing across the calls of
 * one thread.  Time-ordered ids keep the ledger's id index cheap to grow;
 * any unique 16 bytes are accepted, though. */
void troc_id_generate(uint8_t id[TROC_ID_SIZE]);

/* ------------------------------------------------------------- keys */

/* An Ed25519 key pair: a member's, an administrator's, or any payer's when
 * items are signed for others (the load generator). */
typedef struct troc_key troc_key;

/* Reads a key file written by `troc keygen`.  TROC_EKEYFILE when the file
 * is not one (not a regular file, or not a key's text), -EPERM when its
 * group or others may read it, -errno otherwise.  A FIFO or a device is
 * refused without being read. */
int troc_key_read(const char *path, troc_key **key_out);

/* The key pair of a 32-byte seed (what a key file holds). */
int troc_key_from_seed(const uint8_t seed[TROC_SEED_SIZE], troc_key **key_out);

/* A new random key pair (kept in memory only). */
int troc_key_generate(troc_key **key_out);

void troc_key_public(const troc_key *key, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);

/* Wipes and frees; NULL is allowed. */
void troc_key_free(troc_key *key);

/* ----------------------------------------------------------- client */

typedef struct troc_client troc_client;

typedef enum troc_session_role {
    TROC_SESSION_NONE = 0,   /* not connected */
    TROC_SESSION_MEMBER = 1, /* reads only its own account */
    TROC_SESSION_ADMIN = 2,  /* reads everything */
} troc_session_role;

/* Default timeouts, in milliseconds. */
#define TROC_CLIENT_CONNECT_TIMEOUT_MS 10000
#define TROC_CLIENT_READ_TIMEOUT_MS 30000

/* Creates an unconnected client with the default settings: no key, no
 * expected territory key, the default known-territories file, the default
 * timeouts.  -ENOMEM on allocation failure. */
int troc_client_create(troc_client **client_out);

/* Closes the connection (if any), wipes the key and frees; NULL is allowed. */
void troc_client_free(troc_client *client);

/* The key this client authenticates with and signs with by default (a copy
 * is kept).  The file's errors are troc_key_read's: TROC_EKEYFILE (not a
 * key file), -EPERM (group or others may read it), -ENOENT and other
 * -errno; TROC_EUSAGE for a NULL path or key. */
int troc_client_set_key(troc_client *client, const troc_key *key);
int troc_client_set_key_file(troc_client *client, const char *path);

/* The territory key the server must present; NULL removes it.  When set,
 * the known-territories file is neither read nor written.  It also lets
 * items be signed before connecting (the territory key is the territory's
 * id, which every signature covers). */
int troc_client_set_server_key(troc_client *client, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE]);

/* The known-territories file: one line per server address and territory
 * key.  When no server key is set, the key a server presents is compared
 * with the line for its address (TROC_ESERVER_KEY when it differs, with both
 * keys in troc_client_error_message()), or appended to the file after the
 * first successful connection (trust on first use).  NULL disables pinning.
 * The default is $XDG_CONFIG_HOME/troc/known_territories, else
 * $HOME/.config/troc/known_territories, HOME being the user's home directory
 * from the password database when the variable is unset.  When no default
 * can be found, connecting without a server key fails
 * (TROC_EKNOWN_TERRITORIES) until the caller sets a file, or NULL.
 *
 * Pinning creates the file (mode 0600) and its directory (mode 0700), and
 * for the default under HOME also .config; never a missing home or
 * configuration directory, nor the parents of the caller's file.  A first
 * connection whose key cannot be recorded (a file or directory that cannot
 * be written or created) is closed and fails with TROC_EKNOWN_TERRITORIES,
 * naming the file and the cause: left unrecorded, the key would be taken on
 * trust at every connection.  So does a file that cannot be read, or holds
 * a malformed line (which is named).  Make the file writable (or fix it),
 * set the server key, name another file, or disable pinning. */
int troc_client_set_known_territories(troc_client *client, const char *path);

/* Timeouts, in milliseconds, each bounding a whole call rather than each
 * silence within it, so that a server answering slowly or a byte at a time
 * costs at most that long, then TROC_ETIMEOUT (and the connection is
 * closed):
 *   - the connect timeout bounds a connect with its handshake, all of the
 *     host's addresses included (each tried with an equal share of what is
 *     left);
 *   - the read timeout bounds writing one request and reading its reply (a
 *     submit, a read, troc_client_receive), or one troc_client_flush.
 * Resolving a host name comes first and is not bounded by the connect
 * timeout: getaddrinfo() cannot be interrupted, and takes as long as the
 * system's resolver allows (timeout and attempts in resolv.conf(5)); give
 * an IP address or a socket path to avoid it.  A submit's retries each
 * connect and wait anew.  0 means the default; both must be positive
 * otherwise. */
int troc_client_set_timeouts(troc_client *client, int connect_timeout_ms, int read_timeout_ms);

/* Connects to `address`: "HOST:PORT" ("[::1]:7400" for IPv6) or, when it
 * contains a '/', the path of a Unix socket ("./trocd.sock"), any path that
 * fits in a sockaddr_un (107 bytes).  Runs the handshake: checks the
 * territory's key (see above), then authenticates with the client's key.  A
 * socket path holding a space, a '#' or a control character cannot be
 * pinned (the known-territories file separates its fields with spaces):
 * connecting to one needs the server key set, or pinning disabled
 * (TROC_EKNOWN_TERRITORIES otherwise).
 * Errors: -errno from the socket (-ECONNREFUSED, ...), TROC_ENOT_FOUND (the
 * host name does not exist, or the resolver failed for good; a resolver
 * that cannot answer for now gives -EHOSTUNREACH, which may be retried),
 * TROC_ETIMEOUT, TROC_EHANDSHAKE, TROC_ESERVER_KEY, TROC_EDENIED (the key is
 * not an active key of this territory: never registered, or revoked), TROC_EBUSY (the server has too many
 * connections), TROC_ECLOSED, -ECONNRESET or -EPIPE (the server closed the
 * connection before answering: it may be too busy to say so, or stopping;
 * retryable like TROC_EBUSY), TROC_EKNOWN_TERRITORIES (the known-territories
 * file cannot be found, read or written, holds a malformed line, or cannot
 * hold this address: see above), TROC_EUSAGE (no key set, a malformed
 * address). */
int troc_client_connect(troc_client *client, const char *address);

/* Closes the connection and connects again to the same address with the
 * same settings: the last one troc_client_connect was given (TROC_EUSAGE
 * when there is none, or it was refused as malformed). */
int troc_client_reconnect(troc_client *client);

/* Closes the connection; the settings stay, so connect may be called
 * again.  Pipelined requests still in flight are forgotten.  NULL is
 * allowed. */
void troc_client_close(troc_client *client);

/* True while the connection is up and takes requests; false from the moment
 * it fails, even while troc_client_receive still hands over what pipelined
 * requests got before the failure, and once the server has closed it (with
 * nothing in flight, this looks at the socket without waiting).
 *
 * trocd closes a connection that sends nothing for 5 minutes while nothing
 * of its is in flight (TROC_IDLE_TIMEOUT_MS in docs/protocol.md), and a
 * daemon stopping closes them all; a long-lived client must expect it.
 * The next call then sends nothing and fails with TROC_ECLOSED, its
 * message saying to reconnect: call troc_client_reconnect() and call
 * again (reads change nothing and are safe to repeat; a submit's `retries`
 * does it by itself). */
bool troc_client_connected(const troc_client *client);

/* Details of the last failure on this client ("cannot connect to
 * 127.0.0.1:7400: Connection refused").  Read it right after a call that
 * failed: a call that succeeds does not always clear it (connect, submit
 * and the reads do; the setters, the sign functions, send and flush do
 * not), and a failure without details (-ENOMEM) leaves the older text.
 * "" when no call has left details.  Valid until the next call on the
 * client. */
const char *troc_client_error_message(const troc_client *client);

/* After connect: who this session is, and which territory it reached. */
troc_session_role troc_client_role(const troc_client *client);
const char *troc_client_member(const troc_client *client);         /* "" for an admin session */
const char *troc_client_territory(const troc_client *client);      /* "" before connecting */
const char *troc_client_unit(const troc_client *client);           /* "EUR"; "" before connecting */
/* The territory's key: the server's once connected, else the one set with
 * troc_client_set_server_key, else NULL. */
const uint8_t *troc_client_territory_key(const troc_client *client);

/* ---------------------------------------------------- signed items */

/* One signed item ready to submit (the envelope of the protocol: the body's
 * exact bytes, the signature and the signer's key).  Reusable: signing into
 * an envelope replaces its content and reuses its memory, so a program that
 * signs many items does not allocate per item. */
typedef struct troc_envelope troc_envelope;

/* An empty envelope: 0, or -ENOMEM. */
int troc_envelope_create(troc_envelope **envelope_out);

/* Frees; NULL is allowed. */
void troc_envelope_free(troc_envelope *envelope);

/* The item's id (the batch id for a batch); zeros for an empty envelope. */
void troc_envelope_id(const troc_envelope *envelope, uint8_t id[TROC_ID_SIZE]);

/* Every sign function below signs with `key`, or with the client's own key
 * when `key` is NULL, for the client's territory (troc_client_territory_key
 * must not be NULL: connect first, or set the server key).  It checks only
 * what it needs to encode the item (required fields present, no field its
 * kind does not use, the item fits in a frame: TROC_EUSAGE or
 * TROC_EFRAME_SIZE otherwise, with the reason in
 * troc_client_error_message); the ledger checks everything else (names,
 * amounts, text, lengths, authority) and answers with a result code.  On
 * failure the envelope is left empty, so it cannot be submitted by
 * mistake. */

/* A payment in credit.  Pays (part of) an invoice's obligation when
 * invoice_id is set. */
typedef struct troc_transfer {
    const uint8_t *id;         /* TROC_ID_SIZE bytes, or NULL for a fresh random id */
    const char *payer;         /* NULL: the session's member */
    const char *payee;
    int64_t amount_cents;      /* > 0 */
    const char *memo;          /* NULL or "": none */
    const uint8_t *invoice_id; /* NULL, or the TROC_ID_SIZE-byte id of the invoice paid */
} troc_transfer;

int troc_sign_transfer(troc_client *client, const troc_key *key, const troc_transfer *transfer,
                       troc_envelope *envelope);

/* Many payments from one payer signed once: each item is applied or refused
 * on its own (troc_submit_result.item_codes). */
typedef struct troc_batch_item {
    const uint8_t *id;         /* TROC_ID_SIZE bytes, or NULL for a fresh random id */
    const char *payee;
    int64_t amount_cents;
    const char *memo;          /* NULL or "": none */
} troc_batch_item;

/* `batch_id` NULL: a fresh random id; `payer` NULL: the session's member;
 * 1 <= item_count <= TROC_BATCH_ITEMS_MAX. */
int troc_sign_batch(troc_client *client, const troc_key *key, const uint8_t *batch_id, const char *payer,
                    const troc_batch_item *items, size_t item_count, troc_envelope *envelope);

typedef enum troc_admin_kind {
    TROC_ADMIN_MEMBER_ADD = 1, /* member, public_key, credit limit (default 0), balance max (default none) */
    TROC_ADMIN_KEY_ADD = 2,    /* member, public_key */
    TROC_ADMIN_KEY_REVOKE = 3, /* member, public_key */
    TROC_ADMIN_LIMIT_SET = 4,  /* member, reason, and at least one of: credit limit, balance max or its removal */
    TROC_ADMIN_FREEZE = 5,     /* member, reason */
    TROC_ADMIN_UNFREEZE = 6,   /* member, reason */
    TROC_ADMIN_CLEARING_RUN = 7, /* no member; with_credit: run a clearing round now (see below) */
} troc_admin_kind;

/* An administrator's action.  A field a kind does not use must be left
 * zero (TROC_EUSAGE otherwise), so that a mistake is not silently
 * dropped. */
typedef struct troc_admin_action {
    troc_admin_kind kind;
    const uint8_t *id;               /* TROC_ID_SIZE bytes, or NULL for a fresh random id */
    const char *member;
    const uint8_t *public_key;       /* TROC_PUBLIC_KEY_SIZE bytes */
    bool has_credit_limit;
    int64_t credit_limit_cents;      /* how far below zero the balance may go */
    bool has_balance_max;
    int64_t balance_max_cents;       /* how far above zero it may go */
    bool remove_balance_max;         /* LIMIT_SET: no maximum any more */
    const char *reason;              /* recorded with the change; the ledger requires one for
                                        LIMIT_SET, FREEZE and UNFREEZE (reason_required) */
    bool with_credit;                /* CLEARING_RUN: also pay what set-off leaves, in credit */
} troc_admin_action;

/* A CLEARING_RUN action is answered only once the round it asks for is
 * committed (or could not be run): its troc_submit_result then carries the round's
 * report in `clearing` (NULL, with the reason in `detail`, when the round
 * could not be run).  Submitting the same envelope again answers with the
 * same round.  A large round takes seconds: raise the read timeout
 * (troc_client_set_timeouts) for territories with many obligations. */

int troc_sign_admin(troc_client *client, const troc_key *key, const troc_admin_action *action,
                    troc_envelope *envelope);

typedef enum troc_invoice_kind {
    TROC_INVOICE_ISSUE = 1,  /* creditor (NULL: the session's member), debtor, amount, ref, due */
    TROC_INVOICE_ACCEPT = 2, /* invoice_id: the debtor accepts; it becomes an obligation */
    TROC_INVOICE_REJECT = 3, /* invoice_id, reason (required: the ledger answers reason_required) */
    TROC_INVOICE_CANCEL = 4, /* invoice_id: the creditor cancels before acceptance */
} troc_invoice_kind;

/* A member's invoice action.  Pay an obligation with a troc_transfer whose
 * invoice_id is set.  Fields a kind does not use must be left zero. */
typedef struct troc_invoice_action {
    troc_invoice_kind kind;
    const uint8_t *id;         /* the action's id (an issued invoice takes it), or NULL: random */
    const char *creditor;
    const char *debtor;
    int64_t amount_cents;
    const char *ref;           /* the issuer's reference, optional */
    const char *due;           /* YYYY-MM-DD, optional (NULL or "": none) */
    const uint8_t *invoice_id; /* TROC_ID_SIZE bytes */
    const char *reason;
} troc_invoice_action;

int troc_sign_invoice(troc_client *client, const troc_key *key, const troc_invoice_action *action,
                      troc_envelope *envelope);

/* ----------------------------------------------------------- submit */

/* A clearing round: an applied one, one that found nothing to clear, or a
 * dry run (see troc_client_clearing_round and troc_client_clearing_preview
 * below). */
typedef struct troc_clearing_report {
    uint64_t run;                  /* the round's number; 0 when nothing was applied */
    bool applied;                  /* journaled (false: a preview, or nothing to clear) */
    bool with_credit;              /* credit mode: remaining obligations paid in credit */
    int64_t timestamp_us;          /* node time of its commit; 0 when not applied */
    uint64_t journal_seq;          /* its journal entry; 0 when not applied */
    int64_t obligations;           /* open obligations in its snapshot */
    int64_t total_cents;           /* what they summed to */
    int64_t cleared_cents;         /* set off */
    int64_t paid_cents;            /* paid in credit (credit mode) */
    uint64_t settlement_count;     /* obligations it settled, in part or in full */
    bool has_requested_by;
    uint8_t requested_by[TROC_ID_SIZE]; /* the admin action that asked for it (none: a timed round) */
} troc_clearing_report;

/* The ledger's answer to one envelope. */
typedef struct troc_submit_result {
    int code;                  /* TROC_RESULT_OK or the refusal's cause (troc_result) */
    uint8_t id[TROC_ID_SIZE];  /* the item's id, as answered */
    uint64_t journal_seq;      /* where it was journaled; 0 when refused */
    int64_t timestamp_us;      /* node time of the commit, microseconds since 1970 */
    const char *detail;        /* the ledger's explanation of a refusal, or NULL */
    const int *item_codes;     /* a batch: one troc_result per item, in order (see below); else NULL */
    size_t item_count;         /* a batch: its number of items; else 0 */
    const troc_clearing_report *clearing; /* an admin CLEARING_RUN: the round it ran; else NULL */
} troc_submit_result;
/* detail, item_codes and clearing are valid until the next call on the
 * client.
 * A batch's `code` is TROC_RESULT_OK when at least one item was applied
 * (each item's own code says which); the first item's code when every item
 * was refused; or the cause that refused the batch as a whole, before any
 * item was looked at (bad_signature, unknown_key, key_not_owned,
 * unknown_payer, invalid_name, malformed, batch_too_large, id_reused for a
 * batch id used with another body), which item_codes then repeats for
 * every item.  Only a whole batch's code of 64 or more (none exists yet: a
 * newer daemon's) comes with no item codes, item_count 0. */

/* Submits `count` envelopes (1..TROC_SUBMIT_ENVELOPES_MAX) in one request
 * and waits for the results, one per envelope, in order.  On an error for
 * which troc_error_is_retryable() is true it reconnects and submits the same
 * envelopes again, at most `retries` times.  A request-level refusal by the
 * server is returned as an error (TROC_EDENIED, TROC_EUNAVAILABLE, ...) with
 * the server's text in troc_client_error_message().  No request may be in
 * flight from troc_client_send (TROC_EUSAGE).
 * Whenever the request may have reached the server without its answer
 * coming back, the error is one troc_error_is_retryable() accepts (the
 * outcome is unknown: see above), whatever else failed: a reply that
 * cannot be read gives TROC_ECLOSED, and a reconnect that fails keeps the
 * error that lost the request, its own reason added to the message (and
 * ends the retries when it cannot succeed, as for a refused key).  Any
 * other error means that nothing was applied. */
int troc_client_submit(troc_client *client, const troc_envelope *const *envelopes, size_t count,
                       troc_submit_result *results, int retries);

/* ------------------------------------------------------- pipelining */

/* The pipelined interface, for programs that submit at full speed (the
 * load generator): send many requests without waiting, then receive the
 * replies as they come, matched by request id.  Sending encodes and seals
 * into a preallocated buffer (no allocation per request) that is written
 * out when it fills, on troc_client_flush() and before waiting in
 * troc_client_receive().  At most TROC_REQUESTS_IN_FLIGHT_MAX requests may
 * be in flight (TROC_EBUSY beyond: receive a reply first), the server's own
 * bound, so that neither side can block the other.
 *
 * When the connection fails (the server closes it or stops, a write or a
 * read fails or times out), no reply the server sent is lost, and no
 * request is left unaccounted for: every request given an id gets exactly
 * one outcome from troc_client_receive.  First come the replies the server
 * sent before the failure (those libtroc had read, and those still in the
 * socket), in the order they came; then each other request in flight, the
 * oldest first, as an error whose reply.request_id names it: its outcome
 * is unknown, and the remedy is to submit its envelopes again, with the
 * same ids, on a new connection (the ledger applies an id once).  Receive
 * until troc_client_in_flight() is 0; troc_client_connected() is false
 * from the failure on, and nothing more is sent (TROC_ECLOSED).
 * troc_client_close() or troc_client_reconnect() forgets what is left. */

/* Queues a submit of `count` envelopes; writes its request id (1, 2, ...
 * for the client's life: a reconnect does not start them again).  On failure
 * (TROC_EBUSY, TROC_EUSAGE, or the connection's failure while writing out
 * the buffer, which is full) this request has no id and was not sent; the
 * ones sent before still have their outcomes to receive. */
int troc_client_send(troc_client *client, const troc_envelope *const *envelopes, size_t count,
                     uint64_t *request_id_out);

/* Writes out everything queued.  A failure leaves the replies to receive,
 * as above. */
int troc_client_flush(troc_client *client);

/* Requests sent whose outcome troc_client_receive has not yet given: no
 * reply yet, or, after a failure, not yet reported unknown. */
size_t troc_client_in_flight(const troc_client *client);

/* One reply to a submit. */
typedef struct troc_reply {
    uint64_t request_id;
    int error;                         /* 0, or a request-level refusal (then no results) */
    size_t result_count;
    const troc_submit_result *results; /* valid until the next call on the client */
} troc_reply;

/* Flushes, then waits for the next reply: the two together take at most
 * the read timeout (TROC_ETIMEOUT, and the connection is closed).
 * TROC_EUSAGE when nothing is in flight, TROC_ECLOSED when not connected.
 * A failed write does not end the call: the replies already sent are still
 * read.  After a failure, an error with reply->request_id other than 0
 * means that request's outcome is unknown (see above); the error is the
 * failure's (troc_error_is_retryable() is true for a lost connection or a
 * timeout; TROC_EPROTOCOL and the like for a server that sent what cannot
 * be read), and reply->result_count is 0. */
int troc_client_receive(troc_client *client, troc_reply *reply);

/* ------------------------------------------------------------ reads */

typedef struct troc_balance {
    char member[TROC_NAME_LENGTH_MAX + 1];
    int64_t balance_cents;      /* negative: the member owes the network */
    int64_t credit_limit_cents; /* the balance may go down to -credit_limit_cents */
    bool has_balance_max;
    int64_t balance_max_cents;  /* the balance may go up to this, when has_balance_max */
    bool frozen;
} troc_balance;

/* A member's balance and limits; `member` NULL: the session's own, which
 * only a member session has (an admin session must name the member:
 * TROC_EUSAGE).  A member session may read only its own (TROC_EDENIED,
 * whether the other member exists or not); in an admin session,
 * TROC_ENOT_FOUND for an unknown member.  TROC_ENAME for a name that is
 * not one (1 to 64 of a-z 0-9 . _ -), "" included.  The other reads naming
 * a member answer the same way. */
int troc_client_balance(troc_client *client, const char *member, troc_balance *balance);

/* Which members troc_client_member_list() keeps (0: all). */
#define TROC_MEMBER_LIST_OVER_LIMIT 0x1u /* outside their limits: below the credit line or above the maximum */
#define TROC_MEMBER_LIST_FROZEN 0x2u

/* One page of the territory's members and their accounts, in name order,
 * after `after` (NULL or "": from the first), keeping those that match
 * every flag of `only`: at most `capacity` (1..TROC_PAGE_ROWS_MAX).  The
 * daemon looks at a bounded number of members for one page, so a filtered
 * page may hold fewer than asked, none even, and still not be the last:
 * *next_after_out is the name to continue after, "" when no member the
 * filters keep follows (set after a full page, another one does, unless
 * the daemon's bound stopped the search first).  `after` and
 * next_after_out may be the same buffer.  Admin sessions only
 * (TROC_EDENIED). */
int troc_client_member_list(troc_client *client, const char *after, unsigned only, troc_balance *members,
                            size_t capacity, size_t *count_out, char next_after_out[TROC_NAME_LENGTH_MAX + 1]);

typedef enum troc_history_kind {
    TROC_HISTORY_TRANSFER = 0,         /* a payment in or out */
    TROC_HISTORY_SETOFF = 1,           /* an obligation set off by clearing */
    TROC_HISTORY_CLEARING_PAYMENT = 2, /* an obligation paid in credit by clearing */
} troc_history_kind;

typedef struct troc_history_line {
    uint64_t seq;                   /* the member's line number, from 1 */
    int64_t timestamp_us;
    troc_history_kind kind;
    uint8_t id[TROC_ID_SIZE];       /* transfer id, or invoice id for clearing lines */
    char counterparty[TROC_NAME_LENGTH_MAX + 1];
    int64_t amount_cents;           /* + received, - paid */
    int64_t balance_after_cents;
    char memo[TROC_MEMO_LENGTH_MAX + 1];
} troc_history_line;

/* One page of a member's statement, newest first: at most `lines_max`
 * (1..TROC_PAGE_ROWS_MAX) lines older than `before_seq` (0: from the
 * newest).  *next_before_seq_out is the before_seq of the next older page,
 * 0 when there is none.  `member` NULL: the session's own (a member
 * session's; an admin session must name one: TROC_EUSAGE); "" is
 * TROC_ENAME. */
int troc_client_history(troc_client *client, const char *member, uint64_t before_seq, troc_history_line *lines,
                        size_t lines_max, size_t *count_out, uint64_t *next_before_seq_out);

#define TROC_MEMBER_RECORD_KEYS_MAX 64
#define TROC_MEMBER_RECORD_CHANGES_MAX 32

typedef struct troc_key_record {
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    bool revoked;
} troc_key_record;

typedef struct troc_limit_record {
    int64_t timestamp_us;
    uint8_t admin_key[TROC_PUBLIC_KEY_SIZE]; /* who made it */
    int64_t credit_limit_cents;
    bool has_balance_max;
    int64_t balance_max_cents;
    char reason[TROC_REASON_LENGTH_MAX + 1];
} troc_limit_record;

typedef struct troc_member_record {
    troc_balance account;
    int64_t admitted_us;
    char freeze_reason[TROC_REASON_LENGTH_MAX + 1]; /* "" when not frozen */
    size_t key_count;                               /* keys[0 .. key_count) */
    troc_key_record keys[TROC_MEMBER_RECORD_KEYS_MAX];
    size_t limit_change_count;                      /* newest first */
    troc_limit_record limit_changes[TROC_MEMBER_RECORD_CHANGES_MAX];
    bool truncated;                                 /* the server listed more than fit */
} troc_member_record;

/* A member's record: account, keys, admission, freeze reason, the latest
 * limit changes.  `member` NULL: the session's own (a member session's; an
 * admin session must name one: TROC_EUSAGE); "" is TROC_ENAME. */
int troc_client_member_record(troc_client *client, const char *member, troc_member_record *info);

typedef struct troc_territory_stats {
    char territory[TROC_NAME_LENGTH_MAX + 1];
    char unit[TROC_UNIT_LENGTH_MAX + 1];
    uint64_t members;
    uint64_t transfers;
    int64_t balance_sum_cents;     /* always 0 */
    int64_t debt_cents;            /* sum of negative balances, as a positive number */
    uint64_t accounts_over_limit;  /* outside their (lowered) limits: below the credit line or above the maximum */
    uint64_t frozen;
    uint64_t journal_entries;
    uint64_t invoices_pending;
    uint64_t obligations_open;
    int64_t obligations_cents;
    uint64_t clearing_runs;
} troc_territory_stats;

/* The territory's statistics; admin sessions only (TROC_EDENIED). */
int troc_client_stats(troc_client *client, troc_territory_stats *stats);

/* --------------------------------------------------------- invoices */

typedef enum troc_invoice_status {
    TROC_INVOICE_STATUS_PENDING = 0,   /* issued, waiting for the debtor to accept or reject it */
    TROC_INVOICE_STATUS_OPEN = 1,      /* accepted: an obligation, paid or cleared over time */
    TROC_INVOICE_STATUS_SETTLED = 2,   /* nothing remains owed */
    TROC_INVOICE_STATUS_REJECTED = 3,
    TROC_INVOICE_STATUS_CANCELLED = 4,
} troc_invoice_status;

typedef struct troc_invoice_record {
    uint8_t id[TROC_ID_SIZE];          /* the id of the action that issued it */
    char creditor[TROC_NAME_LENGTH_MAX + 1];
    char debtor[TROC_NAME_LENGTH_MAX + 1];
    int64_t amount_cents;
    int64_t remaining_cents;           /* amount - paid - cleared; 0 once rejected or cancelled */
    int64_t paid_cents;                /* paid in credit (transfers, clearing payments) */
    int64_t cleared_cents;             /* set off by clearing rounds */
    troc_invoice_status status;
    char ref[TROC_INVOICE_REF_LENGTH_MAX + 1]; /* the issuer's reference; may be "" */
    char due[11];                      /* "YYYY-MM-DD" or "" */
    char reject_reason[TROC_REASON_LENGTH_MAX + 1];
    int64_t issued_us;
} troc_invoice_record;

/* Which side of its invoices a list shows (0: both). */
#define TROC_INVOICES_AS_DEBTOR 0x1u
#define TROC_INVOICES_AS_CREDITOR 0x2u

typedef struct troc_invoice_query {
    const char *member;        /* NULL: the session's own; an admin session must name one */
    unsigned roles;            /* TROC_INVOICES_AS_DEBTOR and/or _AS_CREDITOR; 0: both */
    bool open_only;            /* only pending and open ones */
    const uint8_t *after_id;   /* NULL: from the newest; else those issued before this invoice */
} troc_invoice_query;

/* One page of a member's invoices, newest first: at most `capacity`
 * (1..TROC_PAGE_ROWS_MAX).  *more_out is true when older ones follow: ask
 * for them with after_id set to the id of the last one received.  A member
 * session reads only its own (TROC_EDENIED); TROC_ENOT_FOUND for an
 * unknown member or after_id. */
int troc_client_invoices(troc_client *client, const troc_invoice_query *query, troc_invoice_record *invoices,
                         size_t capacity, size_t *count_out, bool *more_out);

/* One invoice.  TROC_ENOT_FOUND when it does not exist or (for a member
 * session) the member is neither its debtor nor its creditor. */
int troc_client_invoice(troc_client *client, const uint8_t id[TROC_ID_SIZE], troc_invoice_record *invoice);

/* --------------------------------------------------------- clearing */

/* One obligation a round settled (in the round's order: oldest accepted
 * first). */
typedef struct troc_clearing_settlement {
    uint8_t invoice_id[TROC_ID_SIZE];
    char debtor[TROC_NAME_LENGTH_MAX + 1];
    char creditor[TROC_NAME_LENGTH_MAX + 1];
    int64_t cleared_cents;             /* set off */
    int64_t paid_cents;                /* paid in credit */
} troc_clearing_settlement;

/* Applied round `run` (0: the latest) and up to `capacity` (0 ..
 * TROC_PAGE_ROWS_MAX) of its settlements from the `offset`-th.  Admin
 * sessions only (TROC_EDENIED); TROC_ENOT_FOUND when there is no such
 * round.  `settlements` may be NULL when capacity is 0. */
int troc_client_clearing_round(troc_client *client, uint64_t run, troc_clearing_report *report,
                               troc_clearing_settlement *settlements, size_t offset, size_t capacity,
                               size_t *count_out);

/* A dry run: the round the daemon would apply now (in credit mode with
 * `with_credit`), solved on the current obligations, applying nothing; the
 * report has applied false and run 0.  Same paging and rights as above.
 * It waits its turn behind a round in progress (TROC_EBUSY when too many
 * wait). */
int troc_client_clearing_preview(troc_client *client, bool with_credit, troc_clearing_report *report,
                                 troc_clearing_settlement *settlements, size_t offset, size_t capacity,
                                 size_t *count_out);

/* ----------------------------------------------------------- backup */

/* A copy of the ledger the daemon made. */
typedef struct troc_backup_info {
    char path[TROC_BACKUP_PATH_LENGTH_MAX + 1]; /* the directory it is in, on the daemon's machine */
    uint64_t journal_entries;                   /* journal entries in the copy */
    uint64_t bytes;                             /* size of its data file */
} troc_backup_info;

/* Asks the daemon for a hot, compacted copy of the ledger in `path`, an
 * absolute path on the daemon's machine that must not exist or be an empty
 * directory (its parent must exist).  The daemon keeps serving meanwhile;
 * the copy holds the ledger and the territory's secret key (mode 0600), and
 * `trocd verify --data PATH` checks it.  Admin sessions only (TROC_EDENIED).
 * Waits until the copy is written, at most the read timeout: raise it with
 * troc_client_set_timeouts() for a large ledger (a copy runs at about the
 * disk's speed).  Errors, with the daemon's words in
 * troc_client_error_message(): TROC_EUSAGE (not an absolute path),
 * TROC_ENOT_EMPTY, TROC_EBUSY (another backup is running), -EEXIST (a file
 * is there), -ENOENT (no such parent directory), -ENOSPC, -ECANCELED (the
 * daemon stopped), TROC_EUNAVAILABLE.  `path` may be info->path. */
int troc_client_backup(troc_client *client, const char *path, troc_backup_info *info);

#ifdef __cplusplus
}
#endif

#endif /* TROC_H */
