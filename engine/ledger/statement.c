/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statements: each member's history of payments in and out, set-offs and
 * clearing payments, with the balance after each line.
 *
 * Writing is the hot path, so a movement between two members is written
 * once, as a posting appended to the "postings" database (keys are a dense
 * counter: MDB_APPEND through a cursor, no search, pages filled in order,
 * each written once).  Each of its two legs is a line of one member's
 * statement: it holds the line's number, the balance after it and the
 * member's previous posting, and the account record holds the member's
 * last posting.  A statement is read newest first by following these links.
 *
 * Line numbers run 1, 2, 3 ... per member with no gap.  To start a page at
 * an old line (the cursor before_seq) without walking the whole chain,
 * every TROC__CHECKPOINT_LINES-th line of a member is also indexed in
 * "checkpoints" (member id || line seq -> posting seq): a page starts from
 * the nearest checkpoint at or after it, at most TROC__CHECKPOINT_LINES - 1
 * links away.
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

/* Advances `slot`'s statement by one line, in posting `posting_seq`. */
static int leg_add(troc_ledger_write *write, troc__slot *slot, uint64_t posting_seq, troc__leg *leg) {
    leg->member_id = slot->member_id;
    leg->line_seq = ++slot->current.line_count;
    leg->balance_after_cents = slot->current.balance_cents;
    leg->previous_posting = slot->current.last_posting;
    slot->current.last_posting = posting_seq;
    slot->dirty = true;
    if (leg->line_seq % TROC__CHECKPOINT_LINES != 0) return 0;
    uint8_t key[12], value[8];
    troc__member_seq_key(slot->member_id, leg->line_seq, key);
    troc__seq_key(posting_seq, value);
    return troc__put(write, TROC__DB_CHECKPOINTS, key, sizeof key, value, sizeof value, 0);
}

int troc__posting_append(troc_ledger_write *write, troc_line_kind kind, const uint8_t id[TROC_ID_SIZE],
                         troc__slot *from, troc__slot *to, int64_t amount_cents, const char *memo,
                         size_t memo_length) {
    assert(write != NULL && from != NULL && to != NULL && from != to && id != NULL);
    assert(amount_cents > 0 && memo_length <= TROC_MEMO_LENGTH_MAX && (memo != NULL || memo_length == 0));
    uint64_t seq = ++write->state.postings;
    troc__posting posting = {
        .timestamp_us = write->timestamp_us,
        .journal_seq = write->head.seq + 1,
        .amount_cents = amount_cents,
        .kind = (uint8_t)kind,
        .memo = memo,
        .memo_length = memo_length,
    };
    memcpy(posting.id, id, TROC_ID_SIZE);
    int rc = leg_add(write, from, seq, &posting.legs[0]);
    if (rc == 0) rc = leg_add(write, to, seq, &posting.legs[1]);
    if (rc != 0) return rc;
    uint8_t key_bytes[8];
    troc__seq_key(seq, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value = {troc__posting_size(&posting), NULL};
    if (write->postings_cursor == NULL) {
        rc = mdb_cursor_open(write->txn, write->ledger->dbs[TROC__DB_POSTINGS], &write->postings_cursor);
        if (rc != 0) return troc__write_fail(write, rc);
    }
    rc = mdb_cursor_put(write->postings_cursor, &key, &value, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) return troc__write_fail(write, rc == MDB_KEYEXIST ? TROC_ECORRUPT : rc);
    troc__posting_encode(&posting, value.mv_data);
    return 0;
}

/* The name of member `member_id` into `name`. */
int troc__member_name(MDB_txn *txn, const troc_ledger *ledger, uint32_t member_id,
                      char name[TROC_NAME_LENGTH_MAX + 1]) {
    uint8_t key_bytes[4];
    troc__member_id_key(member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_PROFILES], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ECORRUPT;
    if (rc != 0) return rc;
    if (value.mv_size < 43) return TROC_ECORRUPT;
    const uint8_t *p = value.mv_data;
    size_t length = p[40];
    if (length < 1 || length > TROC_NAME_LENGTH_MAX || value.mv_size < 43 + length) return TROC_ECORRUPT;
    memcpy(name, p + 43, length);
    name[length] = '\0';
    return 0;
}

int troc__member_id(MDB_txn *txn, const troc_ledger *ledger, const char *name, uint32_t *member_id_out) {
    assert(name != NULL && member_id_out != NULL);
    size_t length = strlen(name);
    if (length == 0 || length > TROC_NAME_LENGTH_MAX) return TROC_ENOT_FOUND;
    MDB_val key = {length, (void *)name}, value;
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_MEMBERS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return rc;
    if (value.mv_size != 4) return TROC_ECORRUPT;
    *member_id_out = troc__be32_read(value.mv_data);
    return 0;
}

/* Reads posting `seq`. */
static int posting_get(troc_ledger_read *read, uint64_t seq, troc__posting *posting) {
    uint8_t key_bytes[8];
    troc__seq_key(seq, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    int rc = mdb_get(read->txn, read->ledger->dbs[TROC__DB_POSTINGS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ECORRUPT; /* a link to a posting that is not there */
    if (rc != 0) return rc;
    return troc__posting_decode(&value, posting);
}

/* The leg of `member_id` in `posting`, checked to be line `line_seq`. */
static const troc__leg *leg_of(const troc__posting *posting, uint32_t member_id, uint64_t line_seq) {
    int side = posting->legs[0].member_id == member_id ? 0 : 1;
    const troc__leg *leg = &posting->legs[side];
    return leg->member_id == member_id && leg->line_seq == line_seq ? leg : NULL;
}

/* Fills one public line from the member's leg of a posting. */
static int line_fill(troc_ledger_read *read, const troc__posting *posting, const troc__leg *leg,
                     troc_statement_line *line) {
    bool paying = leg == &posting->legs[0];
    line->seq = leg->line_seq;
    line->journal_seq = posting->journal_seq;
    line->timestamp_us = posting->timestamp_us;
    line->kind = (troc_line_kind)posting->kind;
    memcpy(line->id, posting->id, TROC_ID_SIZE);
    line->amount_cents = paying ? -posting->amount_cents : posting->amount_cents;
    line->balance_after_cents = leg->balance_after_cents;
    memcpy(line->memo, posting->memo, posting->memo_length);
    line->memo[posting->memo_length] = '\0';
    uint32_t counterparty = posting->legs[paying ? 1 : 0].member_id;
    return troc__member_name(read->txn, read->ledger, counterparty, line->counterparty);
}

/* The posting of line `target` of a member whose newest line is
 * (`newest`, `newest_posting`): from the nearest checkpoint at or after
 * it, walking back at most TROC__CHECKPOINT_LINES - 1 links. */
static int line_find(troc_ledger_read *read, uint32_t member_id, uint64_t newest, uint64_t newest_posting,
                     uint64_t target, uint64_t *posting_out) {
    uint64_t at = newest, posting_seq = newest_posting;
    uint64_t checkpoint = (target + TROC__CHECKPOINT_LINES - 1) / TROC__CHECKPOINT_LINES * TROC__CHECKPOINT_LINES;
    if (checkpoint < newest) {
        uint8_t key_bytes[12];
        troc__member_seq_key(member_id, checkpoint, key_bytes);
        MDB_val key = {sizeof key_bytes, key_bytes}, value;
        int rc = mdb_get(read->txn, read->ledger->dbs[TROC__DB_CHECKPOINTS], &key, &value);
        if (rc != 0) return rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc;
        if (value.mv_size != 8) return TROC_ECORRUPT;
        at = checkpoint;
        posting_seq = troc__be64_read(value.mv_data);
    }
    /* Bounded: at most TROC__CHECKPOINT_LINES - 1 steps (or from the newest line). */
    while (at > target) {
        troc__posting posting;
        int rc = posting_get(read, posting_seq, &posting);
        if (rc != 0) return rc;
        const troc__leg *leg = leg_of(&posting, member_id, at);
        if (leg == NULL) return TROC_ECORRUPT;
        posting_seq = leg->previous_posting;
        at--;
    }
    *posting_out = posting_seq;
    return 0;
}

int troc_ledger_statement(troc_ledger_read *read, const char *member, uint64_t before_seq,
                          troc_statement_line *lines, size_t capacity, size_t *count_out,
                          uint64_t *next_before_seq_out) {
    assert(read != NULL && member != NULL && lines != NULL && count_out != NULL && next_before_seq_out != NULL);
    assert(capacity >= 1 && capacity <= TROC_PAGE_ROWS_MAX);
    *count_out = 0;
    *next_before_seq_out = 0;
    uint32_t member_id;
    troc__account_record account;
    int rc = troc__member_id(read->txn, read->ledger, member, &member_id);
    if (rc == 0) rc = troc__account_get(read->txn, read->ledger, member_id, &account);
    if (rc != 0) return rc;
    uint64_t target = before_seq == 0 || before_seq > account.line_count ? account.line_count : before_seq - 1;
    if (target == 0) return 0;
    uint64_t posting_seq = 0;
    if ((rc = line_find(read, member_id, account.line_count, account.last_posting, target, &posting_seq)) != 0) {
        return rc;
    }
    size_t count = 0;
    /* Bounded by `capacity`. */
    while (count < capacity && target > 0) {
        troc__posting posting;
        if ((rc = posting_get(read, posting_seq, &posting)) != 0) return rc;
        const troc__leg *leg = leg_of(&posting, member_id, target);
        if (leg == NULL) return TROC_ECORRUPT;
        if ((rc = line_fill(read, &posting, leg, &lines[count])) != 0) return rc;
        count++;
        posting_seq = leg->previous_posting;
        target--;
    }
    *count_out = count;
    *next_before_seq_out = target > 0 ? target + 1 : 0;
    return 0;
}
