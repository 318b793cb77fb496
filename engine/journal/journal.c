/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hash-chained journal (see journal.h).
 *
 * Database "journal": key = seq (8 bytes, big-endian), so that entries lie
 * in order and appends use MDB_APPEND (no search, pages filled densely).
 * Value:
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     seq, big-endian (repeated from the key so the hash covers it)
 *   8       8     timestamp_us, big-endian two's complement: node time of the commit
 *   16      32    hash of the previous entry (zeros for entry 1)
 *   48      1     envelope kind (proto EnvelopeKind)
 *   49      32    signer's Ed25519 public key
 *   81      64    signature over domain || 0x00 || territory id || body
 *   145     4     body size n, big-endian
 *   149     n     body, exactly as signed
 *
 * The hash of an entry is BLAKE2b-256 of its whole value.  Entries are
 * written in place with MDB_RESERVE: no copy through a heap buffer.
 *
 * Meta database, key "journal_head":
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     seq of the last entry, big-endian (0: empty journal)
 *   8       32    hash of the last entry (zeros: empty journal)
 *
 * Invariant: the head names the last entry of the database and its hash; it
 * is rewritten in the same transaction as the appends.
 */
#include "journal.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "base/error.h"
#include "byteorder.h"

#define HEAD_RECORD_SIZE (8 + TROC_HASH_SIZE)

_Static_assert(TROC_JOURNAL_ENTRY_HEADER_SIZE == 8 + 8 + TROC_HASH_SIZE + 1 + TROC_PUBLIC_KEY_SIZE +
                                                     TROC_SIGNATURE_SIZE + 4,
               "entry header layout");

int troc_journal_open(troc_journal *journal, MDB_txn *txn, MDB_dbi meta, unsigned flags) {
    assert(journal != NULL && txn != NULL);
    assert((flags & ~(unsigned)MDB_CREATE) == 0);
    journal->meta = meta;
    return mdb_dbi_open(txn, TROC_JOURNAL_DATABASE, flags, &journal->entries);
}

int troc_journal_head_read(const troc_journal *journal, MDB_txn *txn, troc_journal_head *head_out) {
    assert(journal != NULL && head_out != NULL);
    MDB_val key = {sizeof TROC_JOURNAL_HEAD_KEY - 1, (void *)TROC_JOURNAL_HEAD_KEY};
    MDB_val value;
    memset(head_out, 0, sizeof *head_out);
    int rc = mdb_get(txn, journal->meta, &key, &value);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc != 0) return rc;
    if (value.mv_size != HEAD_RECORD_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value.mv_data;
    head_out->seq = troc__be64_read(p);
    memcpy(head_out->hash, p + 8, TROC_HASH_SIZE);
    return 0;
}

int troc_journal_head_write(const troc_journal *journal, MDB_txn *txn, const troc_journal_head *head) {
    assert(journal != NULL && head != NULL);
    uint8_t record[HEAD_RECORD_SIZE];
    troc__be64_write(record, head->seq);
    memcpy(record + 8, head->hash, TROC_HASH_SIZE);
    MDB_val key = {sizeof TROC_JOURNAL_HEAD_KEY - 1, (void *)TROC_JOURNAL_HEAD_KEY};
    MDB_val value = {sizeof record, record};
    return mdb_put(txn, journal->meta, &key, &value, 0);
}

/* Writes the fixed part of an entry's value. */
static void header_encode(const troc_journal_entry *entry, uint8_t header[TROC_JOURNAL_ENTRY_HEADER_SIZE]) {
    assert(entry->body_size <= TROC_JOURNAL_BODY_SIZE_MAX);
    troc__be64_write(header, entry->seq);
    troc__be64_write_signed(header + 8, entry->timestamp_us);
    memcpy(header + 16, entry->previous_hash, TROC_HASH_SIZE);
    header[48] = entry->kind;
    memcpy(header + 49, entry->signer, TROC_PUBLIC_KEY_SIZE);
    memcpy(header + 81, entry->signature, TROC_SIGNATURE_SIZE);
    troc__be32_write(header + 145, (uint32_t)entry->body_size);
}

void troc_journal_entry_hash(const troc_journal_entry *entry, uint8_t hash[TROC_HASH_SIZE]) {
    assert(entry != NULL && hash != NULL);
    assert(entry->body != NULL || entry->body_size == 0);
    uint8_t header[TROC_JOURNAL_ENTRY_HEADER_SIZE];
    header_encode(entry, header);
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, TROC_HASH_SIZE);
    crypto_generichash_update(&state, header, sizeof header);
    if (entry->body_size > 0) crypto_generichash_update(&state, entry->body, entry->body_size);
    crypto_generichash_final(&state, hash, TROC_HASH_SIZE);
}

int troc_journal_append(const troc_journal *journal, MDB_txn *txn, troc_journal_head *head,
                        const troc_journal_entry *entry) {
    assert(journal != NULL && txn != NULL && head != NULL && entry != NULL);
    assert(entry->signer != NULL && entry->signature != NULL);
    if (entry->body_size > TROC_JOURNAL_BODY_SIZE_MAX) return -E2BIG;
    troc_journal_entry stored = *entry;
    stored.seq = head->seq + 1;
    memcpy(stored.previous_hash, head->hash, TROC_HASH_SIZE);
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, stored.seq);
    MDB_val key = {sizeof key_bytes, key_bytes};
    MDB_val value = {TROC_JOURNAL_ENTRY_HEADER_SIZE + stored.body_size, NULL};
    int rc = mdb_put(txn, journal->entries, &key, &value, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) return rc;
    uint8_t *p = value.mv_data;
    header_encode(&stored, p);
    if (stored.body_size > 0) memcpy(p + TROC_JOURNAL_ENTRY_HEADER_SIZE, stored.body, stored.body_size);
    crypto_generichash(head->hash, TROC_HASH_SIZE, p, value.mv_size, NULL, 0);
    head->seq = stored.seq;
    return 0;
}

/* Decodes a stored value; TROC_ECORRUPT when it is not an entry. */
static int entry_decode(const MDB_val *value, troc_journal_entry *entry_out) {
    if (value->mv_size < TROC_JOURNAL_ENTRY_HEADER_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    size_t body_size = troc__be32_read(p + 145);
    if (body_size != value->mv_size - TROC_JOURNAL_ENTRY_HEADER_SIZE) return TROC_ECORRUPT;
    entry_out->seq = troc__be64_read(p);
    entry_out->timestamp_us = troc__be64_read_signed(p + 8);
    memcpy(entry_out->previous_hash, p + 16, TROC_HASH_SIZE);
    entry_out->kind = p[48];
    entry_out->signer = p + 49;
    entry_out->signature = p + 81;
    entry_out->body = p + TROC_JOURNAL_ENTRY_HEADER_SIZE;
    entry_out->body_size = body_size;
    return 0;
}

int troc_journal_get(const troc_journal *journal, MDB_txn *txn, uint64_t seq, troc_journal_entry *entry_out) {
    assert(journal != NULL && txn != NULL && entry_out != NULL);
    assert(seq > 0);
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, seq);
    MDB_val key = {sizeof key_bytes, key_bytes};
    MDB_val value;
    int rc = mdb_get(txn, journal->entries, &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return rc;
    rc = entry_decode(&value, entry_out);
    if (rc == 0 && entry_out->seq != seq) rc = TROC_ECORRUPT;
    return rc;
}

/* Checks one entry's place in the chain after `previous`; advances it. */
static int chain_link(troc_journal_head *previous, const MDB_val *key, const MDB_val *value,
                      troc_journal_entry *entry) {
    int rc = entry_decode(value, entry);
    if (rc != 0) return rc;
    if (key->mv_size != 8 || troc__be64_read(key->mv_data) != entry->seq) return TROC_ECORRUPT;
    if (entry->seq != previous->seq + 1) return TROC_ECHAIN;
    if (sodium_memcmp(entry->previous_hash, previous->hash, TROC_HASH_SIZE) != 0) return TROC_ECHAIN;
    crypto_generichash(previous->hash, TROC_HASH_SIZE, value->mv_data, value->mv_size, NULL, 0);
    previous->seq = entry->seq;
    return 0;
}

int troc_journal_check(const troc_journal *journal, MDB_txn *txn, troc_journal_visit_fn *visit, void *context,
                       uint64_t *bad_seq_out) {
    assert(journal != NULL && txn != NULL && bad_seq_out != NULL);
    *bad_seq_out = 0;
    troc_journal_head stored_head, walked = {0};
    int rc = troc_journal_head_read(journal, txn, &stored_head);
    if (rc != 0) return rc;
    MDB_cursor *cursor = NULL;
    rc = mdb_cursor_open(txn, journal->entries, &cursor);
    if (rc != 0) return rc;
    MDB_val key, value;
    troc_journal_entry entry;
    int step = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    /* Bounded by the number of entries: each step advances the cursor. */
    while (step == 0) {
        rc = chain_link(&walked, &key, &value, &entry);
        if (rc != 0) {
            *bad_seq_out = walked.seq + 1;
            goto done;
        }
        if (visit != NULL && (rc = visit(context, &entry)) != 0) {
            *bad_seq_out = entry.seq;
            goto done;
        }
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    if (step != MDB_NOTFOUND) {
        rc = step;
        goto done;
    }
    if (walked.seq != stored_head.seq || sodium_memcmp(walked.hash, stored_head.hash, TROC_HASH_SIZE) != 0) {
        rc = TROC_ECHAIN;
        *bad_seq_out = walked.seq;
    }
done:
    mdb_cursor_close(cursor);
    return rc;
}
