/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The write transaction of one group commit: begin, apply items, commit.
 *
 * Speed comes from doing little per item.  Every account an item touches
 * gets a slot of a preallocated cache once per transaction, is changed in
 * memory, and is written once at commit, in member id order through one
 * cursor.  Members are found by name in the member directory (directory.c,
 * one hash probe), whose entry of a member points to its slot in the
 * current transaction (an epoch makes every slot stale at once when a
 * transaction begins: nothing is cleared) and keeps its account record as
 * last committed, so that a slot is filled without reading LMDB.  Those
 * records change only at a successful commit; a transaction that writes
 * accounts out before its commit (its cache full) makes the directory
 * forget them, and LMDB answers for them until they are committed.
 *
 * The running totals of meta that depend on accounts (debt, accounts over
 * their limit, frozen accounts) are updated from the difference between
 * each slot's stored and current record when it is written: never by
 * scanning accounts.  The balance sum is always zero, as checked below.
 *
 * The debt (the sum of negative balances) must fit int64, which no single
 * balance's check ensures: every movement checks it against the
 * transaction's running figure, write->debt_cents, and is refused when it
 * would overflow (transfer.c, round.c).  The cache is written out
 * (troc__cache_reserve) between two movements, or between two payments of
 * a round, whose check bounds the debt of every state it passes through
 * (round.c): the debt of every state written fits too.  When slots are
 * written, their debt changes are summed apart, what was added and what
 * was paid off, then applied to the stored total, which becomes the debt
 * of the state written: in member id order, a payer's new debt may come
 * before the payee's debt it paid off, and one running sum could pass
 * INT64_MAX on its way where the two sums cannot (the first is at most
 * the debt after, the second at most the debt before).  A stored total
 * that the sums take below zero or past INT64_MAX was damaged (the start
 * check cannot add up every balance): the transaction fails with
 * TROC_ECORRUPT instead of stopping the daemon.
 * A flush in the middle of a round writes a state the running figure has
 * not reached yet (a round sets it once all its payments are made), so
 * the stored total and the running figure are asserted equal at commit
 * only, after the last flush, when every movement is complete.
 *
 * Balances sum to zero.  A flush comes between movements (or between a
 * round's payments), each of which has changed both its sides, so what the
 * balances it writes rose by, summed, equals what they fell by: both are
 * summed apart and asserted equal; that is the check, and the stored
 * balance sum, which it keeps at zero, is never changed (commit asserts
 * it, and the start check reads it).  The sums are of sizes, in uint64: a
 * balance is at least -TROC_AMOUNT_CENTS_MAX after a whole movement, and
 * in the middle of a round at least that less the round's paid total (at
 * most TROC_CLEARING_TOTAL_CENTS_MAX, the cap on open obligations: a
 * member may pay before it is paid), and at most INT64_MAX, so one change
 * may not fit int64, and neither may a signed running sum, in member id
 * order.  A balance rises by at most the debt it pays off plus the credit
 * it gains, so the increases add up to at most the debt before the flush
 * plus the debt after (the credit after equals it), at most 2 * INT64_MAX
 * < UINT64_MAX since the debt of every state written fits; so do the
 * decreases, being equal.
 *
 * A transaction that journaled nothing ends without a commit (no sync for
 * a batch of refusals or of idempotent answers): every commit holds at
 * least one journal entry, and the last one carries the commit's time,
 * which replay relies on.
 *
 * The first LMDB error (MDB_MAP_FULL, -EIO, ...) marks the transaction
 * failed: further applies return it, and commit aborts.  Nothing of a
 * failed transaction remains, in LMDB or in the directory (the members it
 * admitted are removed again).  LMDB reports a system error as a positive
 * errno (ENOSPC when a disk is full at commit); it is passed on as -errno,
 * as every troc error is.
 *
 * A disk that fills during a commit's write usually gives LMDB a short
 * pwrite, which it reports as EIO, not ENOSPC.  So a commit failing with
 * EIO while the disk has less free space than one LMDB page (the least a
 * commit that grows the data file writes) is reported as -ENOSPC: the
 * short write was for lack of room, and the operator's remedy is to free
 * some.  Otherwise EIO stands.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/error.h"
#include "base/result.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

/* An LMDB result as troc passes errors on: its own MDB_* codes unchanged,
 * a system error as -errno. */
static int storage_error(int rc) {
    return rc > 0 ? -rc : rc;
}

/* True when the disk holding `directory` has less room than one page
 * for this process (root may use the blocks reserved for it). */
static bool disk_full(const char *directory) {
    struct statvfs vfs;
    if (statvfs(directory, &vfs) != 0) return false;
    unsigned long long blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
    return blocks * vfs.f_frsize < (unsigned long long)sysconf(_SC_PAGESIZE);
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

/* Forgets every slot: the directory's entries still name them, but with
 * an older epoch.  At the (very distant) wrap of the epoch, the entries'
 * epochs are cleared so that none can match by chance. */
static void cache_reset(troc_ledger_write *write) {
    write->slot_count = 0;
    if (++write->slot_epoch != 0) return;
    troc__directory *directory = &write->ledger->members;
    for (uint32_t id = 1; id <= directory->count; id++) directory->entries[id].slot_epoch = 0;
    write->slot_epoch = 1;
}

/* Gives member `member_id` the next slot, holding `record`. */
static troc__slot *slot_create(troc_ledger_write *write, uint32_t member_id, const troc__account_record *record) {
    assert(write->slot_count < TROC_WRITE_ACCOUNTS_MAX);
    troc__member_entry *entry = &write->ledger->members.entries[member_id];
    troc__slot *slot = &write->slots[write->slot_count];
    *slot = (troc__slot){.stored = *record, .current = *record, .member_id = member_id, .dirty = false};
    entry->slot = write->slot_count++;
    entry->slot_epoch = write->slot_epoch;
    return slot;
}

int troc__slot_admit(troc_ledger_write *write, uint32_t member_id, const char *name, size_t name_length,
                     troc__slot **slot_out) {
    assert(write != NULL && slot_out != NULL);
    assert(name_length >= 1 && name_length <= TROC_NAME_LENGTH_MAX);
    int rc = troc__directory_add(&write->ledger->members, member_id, name, name_length);
    if (rc != 0) return troc__write_fail(write, rc);
    *slot_out = slot_create(write, member_id, &(troc__account_record){.balance_cents = 0});
    (*slot_out)->admitted = true;
    return 0;
}

/* Reads record `member_id` of `db` into `value`. */
static int member_record_get(MDB_txn *txn, const troc_ledger *ledger, troc__db db, uint32_t member_id,
                             MDB_val *value) {
    uint8_t key_bytes[4];
    troc__member_id_key(member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes};
    int rc = mdb_get(txn, ledger->dbs[db], &key, value);
    return rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc; /* a member without an account */
}

int troc__account_get(MDB_txn *txn, const troc_ledger *ledger, uint32_t member_id, troc__account_record *record_out) {
    assert(txn != NULL && ledger != NULL && record_out != NULL);
    MDB_val value;
    int rc = member_record_get(txn, ledger, TROC__DB_ACCOUNTS, member_id, &value);
    if (rc == 0) rc = troc__account_decode(&value, record_out);
    if (rc == 0) rc = member_record_get(txn, ledger, TROC__DB_BALANCES, member_id, &value);
    return rc == 0 ? troc__balance_decode(&value, record_out) : rc;
}

int troc__slot_by_id(troc_ledger_write *write, uint32_t member_id, troc__slot **slot_out) {
    assert(write != NULL && slot_out != NULL);
    const troc__directory *directory = &write->ledger->members;
    *slot_out = NULL;
    if (member_id < 1 || member_id > directory->count) return TROC_ENOT_FOUND;
    const troc__member_entry *entry = &directory->entries[member_id];
    if (entry->slot_epoch == write->slot_epoch) {
        assert(entry->slot < write->slot_count && write->slots[entry->slot].member_id == member_id);
        *slot_out = &write->slots[entry->slot];
        return 0;
    }
    if (entry->account_cached) {
        *slot_out = slot_create(write, member_id, &directory->accounts[member_id]);
        return 0;
    }
    troc__account_record record;
    int rc = troc__account_get(write->txn, write->ledger, member_id, &record);
    if (rc != 0) return troc__write_fail(write, rc);
    *slot_out = slot_create(write, member_id, &record);
    return 0;
}

int troc__slot_by_name(troc_ledger_write *write, const char *name, size_t name_length, troc__slot **slot_out) {
    assert(write != NULL && name != NULL && slot_out != NULL);
    *slot_out = NULL;
    uint32_t member_id = troc__directory_find(&write->ledger->members, name, name_length);
    return member_id != 0 ? troc__slot_by_id(write, member_id, slot_out) : TROC_ENOT_FOUND;
}

/* The changes of the slots one flush writes, each summed apart (see the
 * top of this file). */
typedef struct flush_sums {
    uint64_t increases_cents;              /* what the balances that rose rose by */
    uint64_t decreases_cents;              /* what the balances that fell fell by */
    int64_t debt_added_cents;              /* new debt of accounts going further into it */
    int64_t debt_paid_off_cents;           /* debt of accounts coming out of it */
} flush_sums;

/* Updates the running totals for one slot's change; its balance and debt
 * changes go into `sums`.  Returns false when the debt sums overflow, which
 * only a damaged stored debt lets happen (see flush_sums_apply). */
static bool totals_update(troc_ledger_write *write, const troc__slot *slot, flush_sums *sums) {
    const troc__account_record *old = &slot->stored, *now = &slot->current;
    troc__state *state = &write->state;
    /* The size of the change, in uint64 (it may not fit int64): the
     * difference modulo 2^64 of the larger and the smaller is exact. */
    const bool rose = now->balance_cents >= old->balance_cents;
    uint64_t change = rose ? (uint64_t)now->balance_cents - (uint64_t)old->balance_cents
                           : (uint64_t)old->balance_cents - (uint64_t)now->balance_cents;
    uint64_t *changes = rose ? &sums->increases_cents : &sums->decreases_cents;
    int64_t debt_change = troc__debt_of(now->balance_cents) - troc__debt_of(old->balance_cents);
    bool ok = !__builtin_add_overflow(*changes, change, changes) &&
              (debt_change >= 0
                   ? !__builtin_add_overflow(sums->debt_added_cents, debt_change, &sums->debt_added_cents)
                   : !__builtin_sub_overflow(sums->debt_paid_off_cents, debt_change, &sums->debt_paid_off_cents));
    state->accounts_over_limit += (uint64_t)troc__account_over_limit(now) - (uint64_t)troc__account_over_limit(old);
    state->frozen += (uint64_t)((now->flags & TROC__ACCOUNT_FROZEN) != 0) -
                     (uint64_t)((old->flags & TROC__ACCOUNT_FROZEN) != 0);
    return ok;
}

/* Checks that a flush wrote whole movements and applies its debt changes
 * to the stored total, which then is the debt of the state written
 * (possibly in the middle of a round: not yet the running figure, see the
 * top of this file).  Every movement and round checked the debt of the
 * states it passes through against a figure that started from the stored
 * total, so that total going below zero or past INT64_MAX means it was not
 * the sum of the negative balances: a damaged ledger, which the start
 * check cannot see (it reads no balance it has no reason to), and which
 * must fail the transaction, not stop the daemon at every restart. */
static int flush_sums_apply(troc_ledger_write *write, const flush_sums *sums) {
    assert(sums->increases_cents == sums->decreases_cents && "a flush moved credit in or out of the territory");
    int64_t *total = &write->state.debt_cents;
    bool ok = !__builtin_sub_overflow(*total, sums->debt_paid_off_cents, total) && *total >= 0 &&
              !__builtin_add_overflow(*total, sums->debt_added_cents, total);
    return ok ? 0 : TROC_ECORRUPT;
}

/* Sorts `count` member ids (LSD radix sort, a byte per pass, through
 * `scratch` of as many entries): no comparison calls, no allocation. */
static void member_ids_sort(uint32_t *ids, uint32_t *scratch, uint32_t count) {
    for (unsigned shift = 0; shift < 32; shift += 8) {
        uint32_t offsets[257] = {0};
        for (uint32_t i = 0; i < count; i++) offsets[((ids[i] >> shift) & 0xffu) + 1]++;
        for (unsigned digit = 0; digit < 256; digit++) offsets[digit + 1] += offsets[digit];
        for (uint32_t i = 0; i < count; i++) scratch[offsets[(ids[i] >> shift) & 0xffu]++] = ids[i];
        uint32_t *swap = ids;
        ids = scratch;
        scratch = swap;
    }
    /* Four passes: the sorted ids are back in the caller's `ids`. */
}

static bool balance_changed(const troc__account_record *a, const troc__account_record *b) {
    return a->balance_cents != b->balance_cents || a->line_count != b->line_count || a->last_posting != b->last_posting;
}

static bool account_changed(const troc__account_record *a, const troc__account_record *b) {
    return a->credit_limit_cents != b->credit_limit_cents || a->balance_max_cents != b->balance_max_cents ||
           a->admitted_us != b->admitted_us || a->flags != b->flags || a->active_key_count != b->active_key_count ||
           a->key_record_count != b->key_record_count;
}

/* Writes what changed of one slot: its balance through `balances` (the
 * common case), its account record (admin actions). */
static int slot_write(troc_ledger_write *write, troc__slot *slot, MDB_cursor *balances) {
    uint8_t key_bytes[4], value_bytes[TROC__ACCOUNT_RECORD_SIZE];
    _Static_assert(TROC__ACCOUNT_RECORD_SIZE >= TROC__BALANCE_RECORD_SIZE, "one buffer holds either record");
    troc__member_id_key(slot->member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value = {TROC__BALANCE_RECORD_SIZE, value_bytes};
    int rc = 0;
    if (slot->admitted || balance_changed(&slot->stored, &slot->current)) {
        troc__balance_encode(&slot->current, value_bytes);
        rc = mdb_cursor_put(balances, &key, &value, 0);
        if (rc != 0) return troc__write_fail(write, rc);
    }
    if (slot->admitted || account_changed(&slot->stored, &slot->current)) {
        troc__account_encode(&slot->current, value_bytes);
        rc = troc__put(write, TROC__DB_ACCOUNTS, key_bytes, sizeof key_bytes, value_bytes, TROC__ACCOUNT_RECORD_SIZE,
                       0);
    }
    return rc;
}

/* Writes every changed slot, in member id order, balances through one
 * cursor: keys that follow each other on a page are found without a
 * search from the root. */
static int cache_flush(troc_ledger_write *write) {
    uint32_t count = 0;
    for (uint32_t i = 0; i < write->slot_count; i++) {
        if (write->slots[i].dirty) write->flush_order[count++] = write->slots[i].member_id;
    }
    if (count == 0) return 0;
    member_ids_sort(write->flush_order, write->flush_order + TROC_WRITE_ACCOUNTS_MAX, count);
    MDB_cursor *balances = NULL;
    int rc = mdb_cursor_open(write->txn, write->ledger->dbs[TROC__DB_BALANCES], &balances);
    if (rc != 0) return troc__write_fail(write, rc);
    flush_sums sums = {0, 0, 0, 0};
    bool sums_fit = true;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        troc__slot *slot = &write->slots[write->ledger->members.entries[write->flush_order[i]].slot];
        rc = slot_write(write, slot, balances);
        if (rc != 0) break;
        sums_fit &= totals_update(write, slot, &sums);
        slot->stored = slot->current;
        slot->dirty = false;
        slot->admitted = false;
    }
    mdb_cursor_close(balances);
    if (rc != 0) return rc; /* a failed transaction only aborts */
    rc = sums_fit ? flush_sums_apply(write, &sums) : TROC_ECORRUPT;
    return rc != 0 ? troc__write_fail(write, rc) : 0;
}

int troc__cache_reserve(troc_ledger_write *write, uint32_t count) {
    assert(count <= TROC_WRITE_ACCOUNTS_MAX);
    if (write->failed != 0) return write->failed;
    if (write->slot_count + count <= TROC_WRITE_ACCOUNTS_MAX) return 0;
    /* What is written now is not committed: the directory forgets those
     * records (reading them again in this transaction finds what it wrote). */
    troc__member_entry *entries = write->ledger->members.entries;
    for (uint32_t i = 0; i < write->slot_count; i++) {
        if (write->slots[i].dirty) entries[write->slots[i].member_id].account_cached = false;
    }
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
    assert(ledger->members.count == write->state.member_count && "the directory holds the committed members");
    write->members_committed = write->state.member_count;
    write->failed = 0;
    write->changed = false;
    write->ids_cursor = NULL; /* cursors of a write transaction close with it */
    write->postings_cursor = NULL;
    write->debt_cents = write->state.debt_cents;
    cache_reset(write);
    troc__write_set_time(write, timestamp_us);
    ledger->writing = true;
    *write_out = write;
    return 0;
}

/* Ends the transaction (already committed, or aborted here): forgets its
 * slots and, unless it committed, the members it admitted.  A commit's
 * accounts are the directory's committed records from now on. */
static void write_end(troc_ledger_write *write, bool committed) {
    troc__directory *directory = &write->ledger->members;
    if (!committed) troc__directory_truncate(directory, write->members_committed);
    for (uint32_t i = 0; committed && i < write->slot_count; i++) {
        const troc__slot *slot = &write->slots[i];
        assert(!slot->dirty && "a commit writes every changed account");
        directory->accounts[slot->member_id] = slot->current;
        directory->entries[slot->member_id].account_cached = true;
    }
    write->txn = NULL;
    cache_reset(write);
    write->ledger->writing = false;
}

void troc_ledger_write_abort(troc_ledger_write *write) {
    assert(write != NULL && write->ledger->writing);
    mdb_txn_abort(write->txn);
    write_end(write, false);
}

/* Writes the accounts, the totals and the journal head. */
static int commit_prepare(troc_ledger_write *write) {
    int rc = cache_flush(write);
    if (rc != 0) return rc;
    assert(write->state.balance_sum_cents == 0 && "balances must sum to zero");
    assert(write->state.debt_cents == write->debt_cents &&
           "every movement's change of the debt was checked and counted");
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
    write_end(write, rc == 0);
    if (rc == EIO && disk_full(write->ledger->directory)) rc = ENOSPC; /* a short write: see above */
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
