/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The write transaction of one group commit: begin, apply items, commit.
 *
 * Speed comes from doing little per item.  Every account an item touches is
 * read from LMDB once per transaction into a slot of a preallocated cache
 * (open addressing by name and by member id, no allocation), changed in
 * memory, and written once at commit.  The running totals of meta (member
 * count, transfers, debt, accounts over their limit, frozen accounts, the
 * balance sum) are updated from the difference between each slot's stored
 * and current record when it is written: never by scanning accounts.
 *
 * Balances sum to zero: each written slot adds current - stored to the
 * transaction's balance delta, which must be zero at commit, and the stored
 * sum must stay zero; both are asserted.  A transaction that journaled
 * nothing ends without a commit (no sync for a batch of refusals or of
 * idempotent answers): every commit holds at least one journal entry, and
 * the last one carries the commit's time, which replay relies on.
 *
 * The first LMDB error (MDB_MAP_FULL, -EIO, ...) marks the transaction
 * failed: further applies return it, and commit aborts.  Nothing of a
 * failed transaction remains.  LMDB reports a system error as a positive
 * errno (ENOSPC when a disk is full at commit); it is passed on as -errno,
 * as every troc error is.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

#define INDEX_MASK (TROC__CACHE_INDEX_SIZE - 1u)

_Static_assert((TROC__CACHE_INDEX_SIZE & INDEX_MASK) == 0, "cache index size is a power of two");

/* An LMDB result as troc passes errors on: its own MDB_* codes unchanged,
 * a system error as -errno. */
static int storage_error(int rc) {
    return rc > 0 ? -rc : rc;
}

int troc__write_fail(troc_ledger_write *write, int error) {
    assert(error != 0);
    error = storage_error(error);
    if (write->failed == 0) write->failed = error;
    return error;
}

void troc__write_set_time(troc_ledger_write *write, int64_t timestamp_us) {
    assert(write != NULL);
    write->timestamp_us = timestamp_us > write->state.last_timestamp_us ? timestamp_us
                                                                        : write->state.last_timestamp_us;
}

int troc__put(troc_ledger_write *write, troc__db db, const void *key, size_t key_size, const void *value,
              size_t value_size, unsigned flags) {
    assert(db < TROC__DB_COUNT && key != NULL);
    MDB_val k = {key_size, (void *)key}, v = {value_size, (void *)value};
    int rc = mdb_put(write->txn, write->ledger->dbs[db], &k, &v, flags);
    if (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE)) return rc;
    return rc != 0 ? troc__write_fail(write, rc) : 0;
}

int troc__key_owner_get(MDB_txn *txn, const troc_ledger *ledger, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE],
                        troc__key_owner *owner_out) {
    assert(txn != NULL && public_key != NULL);
    MDB_val key = {TROC_PUBLIC_KEY_SIZE, (void *)public_key}, value;
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_KEYS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return rc;
    return troc__key_owner_decode(&value, owner_out);
}

/* ------------------------------------------------------------- cache */

static uint32_t name_hash(const char *name, size_t length) {
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < length; i++) hash = (hash ^ (uint8_t)name[i]) * 16777619u;
    return hash;
}

static uint32_t id_hash(uint32_t member_id) {
    return member_id * 2654435761u;
}

static troc__slot *slot_find_by_name(troc_ledger_write *write, const char *name, size_t length) {
    uint32_t position = name_hash(name, length) & INDEX_MASK;
    /* Bounded: the index is at most half full, so an empty entry is near. */
    for (uint32_t probe = 0; probe < TROC__CACHE_INDEX_SIZE; probe++) {
        uint32_t entry = write->name_index[(position + probe) & INDEX_MASK];
        if (entry == 0) return NULL;
        troc__slot *slot = &write->slots[entry - 1];
        if (slot->name_length == length && memcmp(slot->name, name, length) == 0) return slot;
    }
    return NULL;
}

static troc__slot *slot_find_by_id(troc_ledger_write *write, uint32_t member_id) {
    uint32_t position = id_hash(member_id) & INDEX_MASK;
    for (uint32_t probe = 0; probe < TROC__CACHE_INDEX_SIZE; probe++) {
        uint32_t entry = write->id_index[(position + probe) & INDEX_MASK];
        if (entry == 0) return NULL;
        if (write->slots[entry - 1].member_id == member_id) return &write->slots[entry - 1];
    }
    return NULL;
}

static void index_insert(uint32_t *index, uint32_t position, uint32_t entry) {
    /* Bounded: the index is at most half full. */
    for (uint32_t probe = 0; probe < TROC__CACHE_INDEX_SIZE; probe++) {
        uint32_t *cell = &index[(position + probe) & INDEX_MASK];
        if (*cell == 0) {
            *cell = entry;
            return;
        }
    }
    assert(!"cache index full");
}

troc__slot *troc__slot_create(troc_ledger_write *write, uint32_t member_id, const char *name, size_t name_length,
                              const troc__account_record *record) {
    assert(write->slot_count < TROC_WRITE_ACCOUNTS_MAX);
    assert(name_length >= 1 && name_length <= TROC_NAME_LENGTH_MAX);
    troc__slot *slot = &write->slots[write->slot_count++];
    memset(slot, 0, sizeof *slot);
    slot->member_id = member_id;
    slot->name_length = (uint8_t)name_length;
    memcpy(slot->name, name, name_length);
    slot->name[name_length] = '\0';
    if (record != NULL) slot->stored = slot->current = *record;
    index_insert(write->name_index, name_hash(name, name_length) & INDEX_MASK, write->slot_count);
    index_insert(write->id_index, id_hash(member_id) & INDEX_MASK, write->slot_count);
    return slot;
}

/* Reads a member's account record. */
static int account_read(troc_ledger_write *write, uint32_t member_id, troc__account_record *record) {
    uint8_t key_bytes[4];
    troc__member_id_key(member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    int rc = mdb_get(write->txn, write->ledger->dbs[TROC__DB_ACCOUNTS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ECORRUPT; /* a member without an account */
    if (rc != 0) return rc;
    return troc__account_decode(&value, record);
}

int troc__slot_by_name(troc_ledger_write *write, const char *name, size_t name_length, troc__slot **slot_out) {
    assert(write != NULL && slot_out != NULL);
    *slot_out = slot_find_by_name(write, name, name_length);
    if (*slot_out != NULL) return 0;
    assert(write->slot_count < TROC_WRITE_ACCOUNTS_MAX);
    if (name_length == 0 || name_length > TROC_NAME_LENGTH_MAX) return TROC_ENOT_FOUND;
    MDB_val key = {name_length, (void *)name}, value;
    int rc = mdb_get(write->txn, write->ledger->dbs[TROC__DB_MEMBERS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return troc__write_fail(write, rc);
    if (value.mv_size != 4) return troc__write_fail(write, TROC_ECORRUPT);
    uint32_t member_id = troc__be32_read(value.mv_data);
    troc__account_record record;
    if ((rc = account_read(write, member_id, &record)) != 0) return troc__write_fail(write, rc);
    *slot_out = troc__slot_create(write, member_id, name, name_length, &record);
    return 0;
}

int troc__slot_by_id(troc_ledger_write *write, uint32_t member_id, troc__slot **slot_out) {
    assert(write != NULL && slot_out != NULL);
    *slot_out = slot_find_by_id(write, member_id);
    if (*slot_out != NULL) return 0;
    assert(write->slot_count < TROC_WRITE_ACCOUNTS_MAX);
    uint8_t key_bytes[4];
    troc__member_id_key(member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    int rc = mdb_get(write->txn, write->ledger->dbs[TROC__DB_PROFILES], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return troc__write_fail(write, rc);
    troc__profile profile;
    troc__account_record record;
    if ((rc = troc__profile_decode(&value, &profile)) != 0) return troc__write_fail(write, rc);
    if ((rc = account_read(write, member_id, &record)) != 0) return troc__write_fail(write, rc);
    *slot_out = troc__slot_create(write, member_id, profile.name, strlen(profile.name), &record);
    return 0;
}

static bool over_limit(const troc__account_record *record) {
    if (record->balance_cents < -record->credit_limit_cents) return true;
    return (record->flags & TROC__ACCOUNT_HAS_BALANCE_MAX) && record->balance_cents > record->balance_max_cents;
}

static int64_t debt_of(const troc__account_record *record) {
    return record->balance_cents < 0 ? -record->balance_cents : 0;
}

/* Updates the running totals for one slot's change. */
static void totals_update(troc_ledger_write *write, const troc__slot *slot) {
    const troc__account_record *old = &slot->stored, *now = &slot->current;
    troc__state *state = &write->state;
    int64_t delta = now->balance_cents - old->balance_cents;
    bool ok = !__builtin_add_overflow(write->balance_delta_cents, delta, &write->balance_delta_cents) &&
              !__builtin_add_overflow(state->balance_sum_cents, delta, &state->balance_sum_cents) &&
              !__builtin_add_overflow(state->debt_cents, debt_of(now) - debt_of(old), &state->debt_cents);
    assert(ok && "balances are bounded by the overflow checks of every change");
    (void)ok;
    state->accounts_over_limit += (uint64_t)over_limit(now) - (uint64_t)over_limit(old);
    state->frozen += (uint64_t)((now->flags & TROC__ACCOUNT_FROZEN) != 0) -
                     (uint64_t)((old->flags & TROC__ACCOUNT_FROZEN) != 0);
}

/* Writes every changed slot. */
static int cache_flush(troc_ledger_write *write) {
    for (uint32_t i = 0; i < write->slot_count; i++) {
        troc__slot *slot = &write->slots[i];
        if (!slot->dirty) continue;
        uint8_t key[4], value[TROC__ACCOUNT_RECORD_SIZE];
        troc__member_id_key(slot->member_id, key);
        troc__account_encode(&slot->current, value);
        int rc = troc__put(write, TROC__DB_ACCOUNTS, key, sizeof key, value, sizeof value, 0);
        if (rc != 0) return rc;
        totals_update(write, slot);
        slot->stored = slot->current;
        slot->dirty = false;
    }
    return 0;
}

static void cache_reset(troc_ledger_write *write) {
    if (write->slot_count == 0) return;
    memset(write->name_index, 0, TROC__CACHE_INDEX_SIZE * sizeof *write->name_index);
    memset(write->id_index, 0, TROC__CACHE_INDEX_SIZE * sizeof *write->id_index);
    write->slot_count = 0;
}

int troc__cache_reserve(troc_ledger_write *write, uint32_t count) {
    assert(count <= TROC_WRITE_ACCOUNTS_MAX);
    if (write->failed != 0) return write->failed;
    if (write->slot_count + count <= TROC_WRITE_ACCOUNTS_MAX) return 0;
    int rc = cache_flush(write);
    if (rc != 0) return rc;
    cache_reset(write);
    return 0;
}

/* ------------------------------------------------------ transactions */

static int state_read(troc_ledger_write *write) {
    MDB_val key = {sizeof "state" - 1, "state"}, value;
    int rc = mdb_get(write->txn, write->ledger->dbs[TROC__DB_META], &key, &value);
    if (rc == MDB_NOTFOUND) {
        memset(&write->state, 0, sizeof write->state); /* a ledger being created */
        return 0;
    }
    if (rc != 0) return rc;
    return troc__state_decode(&value, &write->state);
}

int troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out) {
    assert(ledger != NULL && write_out != NULL);
    assert(!ledger->writing && !ledger->read_only);
    troc_ledger_write *write = &ledger->write;
    int rc = mdb_txn_begin(ledger->env, NULL, 0, &write->txn);
    if (rc != 0) return storage_error(rc);
    if ((rc = state_read(write)) != 0 || (rc = troc_journal_head_read(&ledger->journal, write->txn, &write->head))) {
        mdb_txn_abort(write->txn);
        write->txn = NULL;
        return storage_error(rc);
    }
    write->failed = 0;
    write->changed = false;
    write->ids_cursor = NULL; /* cursors of a write transaction close with it */
    write->postings_cursor = NULL;
    write->balance_delta_cents = 0;
    cache_reset(write);
    troc__write_set_time(write, timestamp_us);
    ledger->writing = true;
    *write_out = write;
    return 0;
}

void troc_ledger_write_abort(troc_ledger_write *write) {
    assert(write != NULL && write->ledger->writing);
    mdb_txn_abort(write->txn);
    write->txn = NULL;
    cache_reset(write);
    write->ledger->writing = false;
}

/* Writes the accounts, the totals and the journal head. */
static int commit_prepare(troc_ledger_write *write) {
    int rc = cache_flush(write);
    if (rc != 0) return rc;
    assert(write->balance_delta_cents == 0 && "a transaction moved credit in or out of the territory");
    assert(write->state.balance_sum_cents == 0 && "balances must sum to zero");
    write->state.last_timestamp_us = write->timestamp_us;
    uint8_t state[TROC__STATE_RECORD_SIZE];
    troc__state_encode(&write->state, state);
    rc = troc__put(write, TROC__DB_META, "state", sizeof "state" - 1, state, sizeof state, 0);
    if (rc != 0) return rc;
    rc = troc_journal_head_write(&write->ledger->journal, write->txn, &write->head);
    return rc != 0 ? troc__write_fail(write, rc) : 0;
}

int troc_ledger_write_commit(troc_ledger_write *write) {
    assert(write != NULL && write->ledger->writing);
    int rc = write->failed;
    if (rc == 0 && !write->changed) {
        troc_ledger_write_abort(write);
        return 0;
    }
    if (rc == 0) rc = commit_prepare(write);
    if (rc != 0) {
        troc_ledger_write_abort(write);
        return rc;
    }
    rc = mdb_txn_commit(write->txn); /* frees the transaction, committed or not */
    write->txn = NULL;
    cache_reset(write);
    write->ledger->writing = false;
    return storage_error(rc);
}

int troc__write_journal(troc_ledger_write *write, const troc_item *item) {
    assert(item->signer != NULL && item->signature != NULL);
    troc_journal_entry entry = {
        .timestamp_us = write->timestamp_us,
        .kind = (uint8_t)item->kind,
        .signer = item->signer,
        .signature = item->signature,
        .body = item->body,
        .body_size = item->body_size,
    };
    int rc = troc_journal_append(&write->ledger->journal, write->txn, &write->head, &entry);
    if (rc != 0) return troc__write_fail(write, rc);
    write->changed = true;
    return 0;
}

int troc_ledger_apply(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    assert(write != NULL && item != NULL && result != NULL);
    assert(write->ledger->writing);
    if (write->failed != 0) return write->failed;
    result->code = TROC_RESULT_OK;
    result->journal_seq = 0;
    result->timestamp_us = 0;
    result->item_count = 0;
    int rc;
    switch (item->kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER: rc = troc__apply_transfer(write, item, result); break;
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH: rc = troc__apply_batch(write, item, result); break;
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN: rc = troc__apply_admin(write, item, result); break;
    case TROC__V1__ENVELOPE_KIND__KIND_INVOICE: rc = troc__apply_invoice(write, item, result); break;
    default: /* node events go through troc_ledger_apply_clearing() */
        result->code = TROC_RESULT_MALFORMED;
        rc = 0;
    }
    if (rc != 0) return troc__write_fail(write, rc);
    assert((result->code == TROC_RESULT_OK) == (result->journal_seq != 0));
    return 0;
}
