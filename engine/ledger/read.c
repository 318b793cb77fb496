/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The read path: read transactions (any thread, many at once: the
 * environment is opened with MDB_NOTLS), who holds a key, balances and
 * limits, member information and the running totals.  Nothing here writes;
 * a read sees the state of the last commit before it began.  Each read
 * holds the ledger's map lock shared, so that the map is never grown
 * (remapped) under it (ledger.c).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

int troc_ledger_read_begin(troc_ledger *ledger, troc_ledger_read **read_out) {
    assert(ledger != NULL && read_out != NULL);
    troc_ledger_read *read = malloc(sizeof *read);
    if (read == NULL) return -ENOMEM;
    read->ledger = ledger;
    int rc = -pthread_rwlock_rdlock(&ledger->map_lock);
    if (rc != 0) {
        free(read);
        return rc;
    }
    rc = mdb_txn_begin(ledger->env, NULL, MDB_RDONLY, &read->txn);
    if (rc != 0) {
        pthread_rwlock_unlock(&ledger->map_lock);
        free(read);
        return rc > 0 ? -rc : rc; /* LMDB reports system errors as positive errno */
    }
    *read_out = read;
    return 0;
}

void troc_ledger_read_end(troc_ledger_read *read) {
    if (read == NULL) return;
    mdb_txn_abort(read->txn);
    pthread_rwlock_unlock(&read->ledger->map_lock);
    free(read);
}

int troc_ledger_key_role(troc_ledger_read *read, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], troc_role *role_out,
                         char member_out[TROC_NAME_LENGTH_MAX + 1]) {
    assert(read != NULL && public_key != NULL && role_out != NULL && member_out != NULL);
    *role_out = TROC_ROLE_NONE;
    member_out[0] = '\0';
    troc__key_owner owner;
    int rc = troc__key_owner_get(read->txn, read->ledger, public_key, &owner);
    if (rc == TROC_ENOT_FOUND || (rc == 0 && (owner.flags & TROC__KEY_REVOKED))) return 0;
    if (rc != 0) return rc;
    if (owner.owner == TROC__OWNER_ADMIN) {
        *role_out = TROC_ROLE_ADMIN;
        return 0;
    }
    rc = troc__member_name(read->txn, read->ledger, owner.owner, member_out);
    if (rc == 0) *role_out = TROC_ROLE_MEMBER;
    return rc;
}

static void account_fill(const char *member, const troc__account_record *record, troc_account *account) {
    snprintf(account->member, sizeof account->member, "%s", member);
    account->balance_cents = record->balance_cents;
    account->credit_limit_cents = record->credit_limit_cents;
    account->has_balance_max = (record->flags & TROC__ACCOUNT_HAS_BALANCE_MAX) != 0;
    account->balance_max_cents = account->has_balance_max ? record->balance_max_cents : 0;
    account->frozen = (record->flags & TROC__ACCOUNT_FROZEN) != 0;
}

int troc_ledger_account(troc_ledger_read *read, const char *member, troc_account *account_out) {
    assert(read != NULL && member != NULL && account_out != NULL);
    uint32_t member_id;
    int rc = troc__member_id(read->txn, read->ledger, member, &member_id);
    if (rc != 0) return rc;
    troc__account_record record;
    if ((rc = troc__account_get(read->txn, read->ledger, member_id, &record)) != 0) return rc;
    account_fill(member, &record, account_out);
    return 0;
}

/* Whether an account is one a member list keeps. */
static bool account_kept(const troc__account_record *record, unsigned only) {
    if ((only & TROC_MEMBERS_OVER_LIMIT) && !troc__account_over_limit(record)) return false;
    return !(only & TROC_MEMBERS_FROZEN) || (record->flags & TROC__ACCOUNT_FROZEN);
}

int troc_ledger_members(troc_ledger_read *read, const char *after, unsigned only, troc_account *accounts,
                        size_t capacity, size_t *count_out, char next_out[TROC_NAME_LENGTH_MAX + 1]) {
    assert(read != NULL && after != NULL && accounts != NULL && count_out != NULL && next_out != NULL);
    assert(capacity >= 1 && strlen(after) <= TROC_NAME_LENGTH_MAX);
    *count_out = 0;
    next_out[0] = '\0';
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(read->txn, read->ledger->dbs[TROC__DB_MEMBERS], &cursor);
    if (rc != 0) return rc;
    MDB_val key = {strlen(after), (void *)after}, value;
    int step = key.mv_size > 0 ? mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
                               : mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    if (step == 0 && key.mv_size == strlen(after) && memcmp(key.mv_data, after, key.mv_size) == 0) {
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    /* Past a full page it looks on for one more member kept, so that a
     * page says there is more only when there is (or when the bound on
     * members looked at stops it first). */
    char name[TROC_NAME_LENGTH_MAX + 1] = "";
    bool more = false;
    for (size_t looked = 0; step == 0 && looked < TROC_MEMBERS_SCAN_MAX; looked++) {
        if (key.mv_size == 0 || key.mv_size > TROC_NAME_LENGTH_MAX || value.mv_size != 4) {
            rc = TROC_ECORRUPT;
            break;
        }
        troc__account_record record;
        if ((rc = troc__account_get(read->txn, read->ledger, troc__be32_read(value.mv_data), &record)) != 0) break;
        const bool kept = account_kept(&record, only);
        if (kept && *count_out == capacity) {
            more = true;
            break;
        }
        memcpy(name, key.mv_data, key.mv_size);
        name[key.mv_size] = '\0';
        if (kept) account_fill(name, &record, &accounts[(*count_out)++]);
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    if (rc == 0 && step != 0 && step != MDB_NOTFOUND) rc = step;
    /* Go on after the last member looked at: any after the last one
     * returned were not kept. */
    if (rc == 0 && (more || step == 0)) snprintf(next_out, TROC_NAME_LENGTH_MAX + 1, "%s", name);
    mdb_cursor_close(cursor);
    return rc;
}

/* Lists the member's keys (active and revoked) in key order. */
static int member_keys_list(troc_ledger_read *read, uint32_t member_id, troc_member_info *info) {
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(read->txn, read->ledger->dbs[TROC__DB_MEMBER_KEYS], &cursor);
    if (rc != 0) return rc;
    uint8_t start[36] = {0};
    troc__be32_write(start, member_id);
    MDB_val key = {sizeof start, start}, value;
    int step = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    info->key_count = 0;
    while (step == 0 && key.mv_size == 36 && troc__be32_read(key.mv_data) == member_id) {
        if (info->key_count == TROC_MEMBER_KEY_RECORDS_MAX) break;
        troc_member_key *out = &info->keys[info->key_count];
        troc__member_key_record record;
        if ((rc = troc__member_key_decode(&value, &record)) != 0) break;
        memcpy(out->public_key, (const uint8_t *)key.mv_data + 4, TROC_PUBLIC_KEY_SIZE);
        out->added_us = record.added_us;
        out->revoked_us = record.revoked_us;
        out->revoked = record.revoked_us != 0;
        info->key_count++;
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    if (rc == 0 && step != 0 && step != MDB_NOTFOUND) rc = step;
    mdb_cursor_close(cursor);
    return rc;
}

static void limit_change_fill(const MDB_val *key, const troc__limit_record *record, troc_limit_change *change) {
    change->timestamp_us = record->timestamp_us;
    change->journal_seq = troc__be64_read((const uint8_t *)key->mv_data + 4);
    memcpy(change->admin_key, record->admin_key, TROC_PUBLIC_KEY_SIZE);
    change->credit_limit_cents = record->credit_limit_cents;
    change->has_balance_max = record->has_balance_max;
    change->balance_max_cents = record->has_balance_max ? record->balance_max_cents : 0;
    memcpy(change->reason, record->reason, record->reason_length);
    change->reason[record->reason_length] = '\0';
}

/* Lists the member's limit changes, newest first. */
static int limit_changes_list(troc_ledger_read *read, uint32_t member_id, troc_member_info *info) {
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(read->txn, read->ledger->dbs[TROC__DB_LIMITS], &cursor);
    if (rc != 0) return rc;
    uint8_t start[12];
    troc__member_seq_key(member_id, UINT64_MAX, start);
    MDB_val key = {sizeof start, start}, value;
    int step = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    step = step == MDB_NOTFOUND ? mdb_cursor_get(cursor, &key, &value, MDB_LAST)
                                : (step == 0 ? mdb_cursor_get(cursor, &key, &value, MDB_PREV) : step);
    info->limit_change_count = 0;
    info->limit_changes_truncated = false;
    while (step == 0 && key.mv_size == 12 && troc__be32_read(key.mv_data) == member_id) {
        if (info->limit_change_count == TROC_LIMIT_CHANGES_LISTED_MAX) {
            info->limit_changes_truncated = true;
            break;
        }
        troc__limit_record record;
        if ((rc = troc__limit_decode(&value, &record)) != 0) break;
        limit_change_fill(&key, &record, &info->limit_changes[info->limit_change_count++]);
        step = mdb_cursor_get(cursor, &key, &value, MDB_PREV);
    }
    if (rc == 0 && step != 0 && step != MDB_NOTFOUND) rc = step;
    mdb_cursor_close(cursor);
    return rc;
}

int troc_ledger_member_info(troc_ledger_read *read, const char *member, troc_member_info *info_out) {
    assert(read != NULL && member != NULL && info_out != NULL);
    uint32_t member_id;
    int rc = troc__member_id(read->txn, read->ledger, member, &member_id);
    if (rc != 0) return rc;
    troc__account_record record;
    if ((rc = troc__account_get(read->txn, read->ledger, member_id, &record)) != 0) return rc;
    account_fill(member, &record, &info_out->account);
    info_out->admitted_us = record.admitted_us;
    uint8_t key_bytes[4];
    troc__member_id_key(member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    rc = mdb_get(read->txn, read->ledger->dbs[TROC__DB_PROFILES], &key, &value);
    if (rc != 0) return rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc;
    troc__profile profile;
    if ((rc = troc__profile_decode(&value, &profile)) != 0) return rc;
    info_out->frozen_us = profile.frozen_us;
    memcpy(info_out->frozen_by, profile.frozen_by, TROC_PUBLIC_KEY_SIZE);
    memcpy(info_out->freeze_reason, profile.freeze_reason, sizeof info_out->freeze_reason);
    if ((rc = member_keys_list(read, member_id, info_out)) != 0) return rc;
    return limit_changes_list(read, member_id, info_out);
}

int troc_ledger_stats(troc_ledger_read *read, troc_stats *stats_out) {
    assert(read != NULL && stats_out != NULL);
    memset(stats_out, 0, sizeof *stats_out);
    MDB_val key = {sizeof "state" - 1, "state"}, value;
    int rc = mdb_get(read->txn, read->ledger->dbs[TROC__DB_META], &key, &value);
    if (rc != 0) return rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc;
    troc__state state;
    if ((rc = troc__state_decode(&value, &state)) != 0) return rc;
    troc_journal_head head;
    if ((rc = troc_journal_head_read(&read->ledger->journal, read->txn, &head)) != 0) return rc;
    stats_out->members = state.member_count;
    stats_out->transfers = state.transfers;
    stats_out->balance_sum_cents = state.balance_sum_cents;
    stats_out->debt_cents = state.debt_cents;
    stats_out->accounts_over_limit = state.accounts_over_limit;
    stats_out->frozen = state.frozen;
    stats_out->journal_entries = head.seq;
    stats_out->last_timestamp_us = state.last_timestamp_us;
    stats_out->invoices_pending = state.invoices_pending;
    stats_out->obligations_open = state.obligations_open;
    stats_out->obligations_cents = state.obligations_cents;
    stats_out->clearing_runs = state.clearing_runs;
    return 0;
}
