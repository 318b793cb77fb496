/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the ledger's tests and bench: a fresh ledger in a temporary
 * directory, and signed items built from protobuf messages exactly as a
 * client would send them (packed, signed over the exact bytes, decoded
 * again as the server would).
 */
#ifndef TROC_LEDGER_SUPPORT_H
#define TROC_LEDGER_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "ledger/ledger.h"

typedef struct support {
    char directory[256];                   /* the ledger's temporary directory */
    troc_keypair admin;                    /* the admin key registered at init */
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    troc_ledger *ledger;
    int64_t now_us;                        /* node time given to the next write */
    uint64_t next_id;                      /* ids are a counter: reproducible */
    troc_ledger_write *batch;              /* between support_batch_begin and _commit: the write
                                              every submit applies to, committed once */
} support;

/* A signed item and what it owns. */
typedef struct support_item {
    troc_item item;
    uint8_t *body;
    uint8_t signature[TROC_SIGNATURE_SIZE];
    uint8_t signer[TROC_PUBLIC_KEY_SIZE];
    void *decoded;                         /* the unpacked body, freed with the item */
} support_item;

/* Creates a ledger in a new temporary directory and opens it. */
support *support_create(void);
/* Closes the ledger and removes its directory. */
void support_destroy(support *s);
/* Removes a directory and the files in it (one level). */
void support_remove_directory(const char *directory);
/* Closes the ledger (s->ledger becomes NULL) and replays its journal with
 * troc_ledger_verify on `threads` threads (0: one per processor) in a
 * scratch directory of its own: 0 when it replays to the same state, else
 * the error, the difference printed on stderr. */
int support_verify(support *s, unsigned threads);

/* The n-th of a sequence of distinct public keys that the ledger takes
 * (points of the curve, (n + 1) times its base), for members admitted
 * cheaply with signatures marked valid: no secret key is needed. */
void support_public_key(uint32_t n, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);

/* Next id (big-endian counter, time-ordered like the ids clients make). */
void support_id(support *s, uint8_t id[TROC_ID_SIZE]);

/* Packs `message`, signs it for `kind` with `key` (or, when key is NULL,
 * signs nothing and marks the signature valid: for tests that need many
 * members cheaply; the signer is then `fake_signer`), and decodes it. */
void support_sign(support *s, int kind, const void *message, const troc_keypair *key, const uint8_t *fake_signer,
                  support_item *out);
void support_item_free(support_item *item);

/* Applies one item in its own transaction and commits (or, in a batch,
 * applies it to the batch's); returns its code. */
int support_submit(support *s, support_item *item, troc_item_result *result);

/* A batch: every submit until support_batch_commit goes into one write, so
 * that a test building thousands of records commits (and syncs) once. */
void support_batch_begin(support *s);
void support_batch_commit(support *s);

/* Items.  balance_max < 0: none. */
void support_member_add_item(support *s, const char *name, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE],
                             int64_t credit_limit, int64_t balance_max, support_item *out);
void support_transfer_item(support *s, const troc_keypair *key, const uint8_t id[TROC_ID_SIZE], const char *payer,
                           const char *payee, int64_t amount, const char *memo, support_item *out);
/* A TransferBatch from `payer` signed with `key`: item i pays payees[i]
 * amounts[i] (memos[i] when memos is not NULL) under ids[i].  batch_id and
 * ids may be NULL: the next ids are taken. */
void support_batch_item(support *s, const troc_keypair *key, const uint8_t batch_id[TROC_ID_SIZE], const char *payer,
                        const char *const *payees, const int64_t *amounts, const char *const *memos,
                        const uint8_t (*ids)[TROC_ID_SIZE], size_t count, support_item *out);

/* Submits an item built as above; returns the code. */
int support_member_add(support *s, const char *name, const troc_keypair *key, int64_t credit_limit,
                       int64_t balance_max);
int support_pay(support *s, const troc_keypair *key, const char *payer, const char *payee, int64_t amount);
int support_limit_set(support *s, const char *name, int64_t credit_limit, const char *reason);
int support_freeze(support *s, const char *name, bool freeze, const char *reason);

/* Invoices.  support_invoice_issue() writes the invoice id to id_out. */
int support_invoice_issue(support *s, const troc_keypair *key, const char *creditor, const char *debtor,
                          int64_t amount, const char *ref, const char *due, uint8_t id_out[TROC_ID_SIZE]);
/* case: TROC__V1__INVOICE_ACTION__ACTION_ACCEPT, _REJECT (with reason) or _CANCEL. */
int support_invoice_act(support *s, const troc_keypair *key, int action_case, const uint8_t invoice_id[TROC_ID_SIZE],
                        const char *reason);
int support_pay_invoice(support *s, const troc_keypair *key, const char *payer, const char *payee, int64_t amount,
                        const uint8_t invoice_id[TROC_ID_SIZE]);

/* Applies a clearing round built from `snapshot` in its own transaction;
 * returns troc_ledger_apply_clearing()'s return (the transaction is
 * committed when it is 0, aborted otherwise).  In a batch it applies the
 * round to the batch's write, which support_batch_commit commits. */
int support_clearing_apply(support *s, const troc_clearing_snapshot *snapshot, bool with_credit,
                           const int64_t *cleared, const int64_t *paid, troc_item_result *result);
/* Takes a snapshot in its own read transaction. */
void support_clearing_snapshot(support *s, troc_clearing_snapshot *snapshot);
/* Index of the obligation of invoice `id` in `snapshot` (aborts when it is
 * not there). */
size_t support_obligation_at(const troc_clearing_snapshot *snapshot, const uint8_t id[TROC_ID_SIZE]);

/* Reads. */
int64_t support_balance(support *s, const char *member);
troc_stats support_stats(support *s);

#endif /* TROC_LEDGER_SUPPORT_H */
