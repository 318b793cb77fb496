/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The journal: an append-only, hash-chained log of every committed event,
 * kept in a named database of the ledger's LMDB environment and written in
 * the same transaction as the state it explains.  Each entry holds the node
 * time, the signed envelope exactly as received (kind, signer, signature,
 * body bytes) and the hash of the entry before it; the hash of the last
 * entry (the head) is kept in the ledger's meta database.  Anyone holding a
 * copy can re-check the chain and every signature, and replay the entries
 * to rebuild the state.
 *
 * The journal knows nothing of what the bodies mean: it depends on crypto
 * (hashes) and LMDB only.
 */
#ifndef TROC_JOURNAL_H
#define TROC_JOURNAL_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "crypto/crypto.h"

/* Name of the journal's database in the environment. */
#define TROC_JOURNAL_DATABASE "journal"

/* Key of the head record in the meta database. */
#define TROC_JOURNAL_HEAD_KEY "journal_head"

/* Bytes of an entry before its body (see the layout in journal.c). */
#define TROC_JOURNAL_ENTRY_HEADER_SIZE 149

/* One entry.  The pointers point into LMDB's memory (valid until the
 * transaction ends) when the entry was read, into the caller's when it is
 * appended. */
typedef struct troc_journal_entry {
    uint64_t seq;                             /* 1, 2, 3 ... */
    int64_t timestamp_us;                     /* node time of the commit */
    uint8_t previous_hash[TROC_HASH_SIZE];    /* hash of entry seq - 1; zeros for entry 1 */
    uint8_t kind;                             /* envelope kind (proto EnvelopeKind) */
    const uint8_t *signer;                    /* TROC_PUBLIC_KEY_SIZE bytes */
    const uint8_t *signature;                 /* TROC_SIGNATURE_SIZE bytes */
    const uint8_t *body;                      /* the exact signed body */
    size_t body_size;
} troc_journal_entry;

/* The last entry: its number (0 for an empty journal) and its hash (zeros). */
typedef struct troc_journal_head {
    uint64_t seq;
    uint8_t hash[TROC_HASH_SIZE];
} troc_journal_head;

/* Handles of the two databases the journal writes. */
typedef struct troc_journal {
    MDB_dbi entries;                          /* seq -> entry */
    MDB_dbi meta;                             /* the ledger's meta database, for the head */
} troc_journal;

/* Opens (with MDB_CREATE in `flags`: creates) the entries database inside
 * `txn`; `meta` is the already open meta database. */
int troc_journal_open(troc_journal *journal, MDB_txn *txn, MDB_dbi meta, unsigned flags);

/* Reads the head; an empty journal has seq 0 and a zero hash.  TROC_ECORRUPT
 * when the stored head is not a head record. */
int troc_journal_head_read(const troc_journal *journal, MDB_txn *txn, troc_journal_head *head_out);

/* Stores the head (once per transaction, after the appends). */
int troc_journal_head_write(const troc_journal *journal, MDB_txn *txn, const troc_journal_head *head);

/* Appends one entry after `head` (the caller's copy of the head, advanced
 * here): sets the entry's seq and previous hash from it.  The caller stores
 * the head with troc_journal_head_write() before committing.  Returns 0,
 * -E2BIG for a body above TROC_JOURNAL_BODY_SIZE_MAX, or an LMDB error. */
int troc_journal_append(const troc_journal *journal, MDB_txn *txn, troc_journal_head *head,
                        const troc_journal_entry *entry);

/* Reads entry `seq`: TROC_ENOT_FOUND when there is none, TROC_ECORRUPT when
 * its record is malformed. */
int troc_journal_get(const troc_journal *journal, MDB_txn *txn, uint64_t seq, troc_journal_entry *entry_out);

/* Hash of an entry as stored (what the next entry's previous_hash holds). */
void troc_journal_entry_hash(const troc_journal_entry *entry, uint8_t hash[TROC_HASH_SIZE]);

/* Walks the whole journal in order, checking that numbers run 1, 2, 3 ...,
 * that each entry holds the hash of the one before, and that the last one
 * is the stored head.  Calls `visit` for each entry (after its link was
 * checked); a non-zero return from `visit` stops the walk and is returned.
 * Returns 0, TROC_ECHAIN or TROC_ECORRUPT (with the offending entry's number
 * in *bad_seq_out), or an LMDB error. */
typedef int troc_journal_visit_fn(void *context, const troc_journal_entry *entry);
int troc_journal_check(const troc_journal *journal, MDB_txn *txn, troc_journal_visit_fn *visit, void *context,
                       uint64_t *bad_seq_out);

#endif /* TROC_JOURNAL_H */
