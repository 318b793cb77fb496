/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The territory's ledger: a deterministic state machine over one LMDB
 * environment.  It holds members and their keys, accounts with credit lines,
 * transfers, statements, invoices and obligations, clearing rounds, and the
 * hash-chained journal of every committed event (engine/journal), all
 * written in the same LMDB transaction so that state and journal never
 * disagree.
 *
 * Threading: one writer at a time (the server's writer thread) uses the
 * write functions; any thread may hold read transactions.  The ledger knows
 * nothing of sockets or libuv.
 *
 * Items reach the ledger already verified: the server checks each
 * envelope's signature off the writer's path and decodes its body.  The
 * ledger then authorises (is the signer one of the payer's keys? an admin
 * key?), validates every field, applies or refuses the item, and journals
 * what it applied.  A refused item changes nothing and is not journaled.
 * Replaying the journal into an empty ledger rebuilds the same state: that
 * is what `trocd verify` checks.
 */
#ifndef TROC_LEDGER_H
#define TROC_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "crypto/crypto.h"
#include "troc.pb-c.h"

typedef struct troc_ledger troc_ledger;
typedef struct troc_ledger_write troc_ledger_write;
typedef struct troc_ledger_read troc_ledger_read;

/* ------------------------------------------------------------ lifecycle */

typedef struct troc_ledger_init_options {
    const char *territory;                 /* a valid name */
    const char *unit;                      /* e.g. "EUR"; at most TROC_UNIT_LENGTH_MAX bytes */
    const uint8_t (*admin_keys)[TROC_PUBLIC_KEY_SIZE];
    size_t admin_key_count;                /* 1 .. TROC_ADMIN_KEYS_MAX */
} troc_ledger_init_options;

/* Creates a new ledger in `directory` (created if absent; TROC_ENOT_EMPTY if
 * it holds anything): the LMDB environment, the territory's key pair (a key
 * file in the directory, mode 0600) and the first journal entry.  Writes the
 * territory's public key to `territory_key_out`. */
int troc_ledger_init(const char *directory, const troc_ledger_init_options *options,
                     uint8_t territory_key_out[TROC_PUBLIC_KEY_SIZE]);

/* Opens an existing ledger (clearing stale reader slots left by a killed
 * process).  TROC_ENOT_FOUND when `directory` holds no ledger. */
int troc_ledger_open(troc_ledger **ledger_out, const char *directory);

void troc_ledger_close(troc_ledger *ledger);

/* What the handshake needs. */
const troc_keypair *troc_ledger_territory_keypair(const troc_ledger *ledger);
const char *troc_ledger_territory(const troc_ledger *ledger);
const char *troc_ledger_unit(const troc_ledger *ledger);

/* ----------------------------------------------------------- write path */

/* One verified item: the envelope as received and its decoded body. */
typedef struct troc_item {
    Troc__V1__EnvelopeKind kind;           /* TRANSFER, BATCH, ADMIN or INVOICE */
    const uint8_t *body;                   /* the exact signed bytes */
    size_t body_size;
    const uint8_t *signer;                 /* TROC_PUBLIC_KEY_SIZE bytes */
    const uint8_t *signature;              /* TROC_SIGNATURE_SIZE bytes */
    bool signature_valid;                  /* the verifier's verdict */
    union {                                /* decoded body per kind; NULL if it did not decode */
        const Troc__V1__Transfer *transfer;
        const Troc__V1__TransferBatch *batch;
        const Troc__V1__AdminAction *admin;
        const Troc__V1__InvoiceAction *invoice;
    } decoded;
} troc_item;

/* The answer to one item. */
typedef struct troc_item_result {
    int code;                              /* troc_result (base/result.h) */
    uint64_t journal_seq;                  /* where it was journaled; 0 if refused */
    int64_t timestamp_us;                  /* node time of the commit */
    uint16_t *item_codes;                  /* caller's array of TROC_BATCH_ITEMS_MAX, for batches */
    size_t item_count;                     /* codes written to item_codes */
} troc_item_result;

/* Starts the write transaction of one group commit.  `timestamp_us` is the
 * node time given to everything in it (kept monotonic by the ledger). */
int troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out);

/* Applies one item inside the transaction.  Returns 0 whether the item was
 * accepted or refused (see result->code), or an LMDB / system error
 * (MDB_MAP_FULL, -EIO, ...) after which the transaction can only be aborted.
 * An item whose id was already used answers with the stored original result
 * (same body) or TROC_RESULT_ID_REUSED (different body). */
int troc_ledger_apply(troc_ledger_write *write, const troc_item *item, troc_item_result *result);

/* Commits durably (LMDB's default synced commit), after asserting that
 * balances sum to zero.  On failure nothing of the transaction remains. */
int troc_ledger_write_commit(troc_ledger_write *write);

void troc_ledger_write_abort(troc_ledger_write *write);

/* Grows the LMDB map (when the disk has room) after MDB_MAP_FULL; no
 * transaction may be open.  Returns 0, or an error when it cannot grow. */
int troc_ledger_grow(troc_ledger *ledger);

/* ------------------------------------------------------------ read path */

int troc_ledger_read_begin(troc_ledger *ledger, troc_ledger_read **read_out);
void troc_ledger_read_end(troc_ledger_read *read);

typedef enum troc_role {
    TROC_ROLE_NONE = 0,                    /* unknown or revoked key */
    TROC_ROLE_MEMBER = 1,
    TROC_ROLE_ADMIN = 2,
} troc_role;

/* Who holds `public_key`: an admin, a member (its name, NUL-terminated, in
 * member_out), or nobody. */
int troc_ledger_key_role(troc_ledger_read *read, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], troc_role *role_out,
                         char member_out[TROC_NAME_LENGTH_MAX + 1]);

typedef struct troc_account {
    char member[TROC_NAME_LENGTH_MAX + 1];
    int64_t balance_cents;
    int64_t credit_limit_cents;            /* the balance may go down to -credit_limit_cents */
    int64_t balance_max_cents;             /* meaningful when has_balance_max */
    bool has_balance_max;
    bool frozen;
} troc_account;

/* TROC_ENOT_FOUND for an unknown member. */
int troc_ledger_account(troc_ledger_read *read, const char *member, troc_account *account_out);

#endif /* TROC_LEDGER_H */
