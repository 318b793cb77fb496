/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every on-disk record of the ledger, encoded and decoded in this one file.
 * Integers are big-endian (signed ones as two's complement); keys are
 * fixed-width big-endian integers so that LMDB's byte order is numeric
 * order.  Text is stored without a NUL, after its length.  Decoders check
 * sizes and lengths: a record that does not parse is TROC_ECORRUPT, never
 * trusted.
 *
 * Database "meta" (ASCII keys):
 *   "format"          4 bytes: TROC__FORMAT_VERSION, big-endian
 *   "territory"       the territory's name (1..64 bytes)
 *   "unit"            the unit code (1..16 bytes)
 *   "territory_key"   32 bytes: the territory's Ed25519 public key
 *   "state"           the state record below
 *   "journal_head"    owned by engine/journal (seq, hash)
 *
 * State record (meta "state"), 96 bytes:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     last_timestamp_us: node time of the last commit
 *   8       4     member_count: members admitted (ids 1 .. member_count)
 *   12      4     zero (reserved)
 *   16      8     transfers accepted (batch items included)
 *   24      8     balance_sum_cents (always 0)
 *   32      8     debt_cents: sum of negative balances, positive
 *   40      8     accounts_over_limit
 *   48      8     frozen accounts
 *   56      8     postings: the last posting's seq
 *   64      8     invoices_pending
 *   72      8     obligations_open
 *   80      8     obligations_cents: what remains of the open obligations
 *   88      8     clearing_runs: the last round's run number
 *
 * Database "members": key = member name (1..64 bytes); value = member id,
 * 4 bytes big-endian.
 *
 * A member's account is two records under its member id, so that the part
 * every transfer changes is small: a commit rewrites the pages holding the
 * balances of the members it touched, and 24-byte records put twice as many
 * members on a page as the whole account would.
 *
 * Database "balances": key = member id (4 bytes); value, 24 bytes:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     balance_cents
 *   8       8     line_count: statement lines so far
 *   16      8     last_posting: posting seq of the last line (0: none)
 *
 * Database "accounts": key = member id (4 bytes); value, 40 bytes:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     credit_limit_cents (>= 0; the balance may go down to its negative)
 *   8       8     balance_max_cents (meaningful with flag 0x2, else 0)
 *   16      8     admitted_us
 *   24      4     flags: 0x1 frozen, 0x2 has balance_max
 *   28      4     active_key_count
 *   32      4     key_record_count (active and revoked)
 *   36      4     zero (reserved)
 *
 * Database "profiles": key = member id (4 bytes); value:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     frozen_us (0: not frozen)
 *   8       32    frozen_by: admin key that froze the account (zeros: not frozen)
 *   40      1     name length n (1..64)
 *   41      2     freeze reason length r (0..512)
 *   43      n     name
 *   43+n    r     freeze reason
 *
 * Database "keys": key = public key (32 bytes); value, 5 bytes:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       4     owner: member id, or 0xFFFFFFFF for an admin key
 *   4       1     flags: 0x1 revoked
 *
 * Database "member_keys": key = member id (4) || public key (32); value,
 * 16 bytes:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     added_us
 *   8       8     revoked_us (0 while active)
 *
 * Database "limits": key = member id (4) || journal seq (8) of the admin
 * action; value:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     timestamp_us
 *   8       8     credit_limit_cents set
 *   16      8     balance_max_cents set (meaningful with flag 0x1)
 *   24      1     flags: 0x1 has balance_max
 *   25      32    admin key that set it
 *   57      2     reason length r
 *   59      r     reason
 *
 * Database "ids": key = item id (16 bytes); value:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     journal seq of the entry holding the item
 *   8       1     envelope kind (a batch item is KIND_TRANSFER)
 *   9       1     result code
 *   10      2     item index (a batch item: its index in the batch; else 0)
 *   12      2     item count c (batches; else 0)
 *   14      c     one result code per batch item
 *
 * Database "postings": key = posting seq (8 bytes), dense from 1, so that
 * postings are appended (MDB_APPEND: no search, full pages).  A posting is
 * one movement between two members, read as one line of each one's
 * statement; each side links to its member's previous posting.  Value:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     timestamp_us
 *   8       8     journal seq of the entry that made it
 *   16      8     amount_cents (> 0): from leg 0 (pays, owes) to leg 1
 *   24      16    id: transfer id, or invoice id for clearing postings
 *   40      1     kind: 0 transfer, 1 set-off, 2 clearing payment
 *   41      1     zero (reserved)
 *   42      2     memo length m (0..256)
 *   44      28    leg 0: member id (4), line seq in its statement (8),
 *                 balance after (8), its previous posting seq (8, 0: none)
 *   72      28    leg 1: likewise
 *   100     m     memo
 *
 * Database "checkpoints": key = member id (4) || line seq (8), for every
 * line seq that is a multiple of TROC__CHECKPOINT_LINES; value = the
 * posting seq of that line (8 bytes).  A statement page that starts deep in
 * the past starts from the nearest checkpoint instead of the newest line.
 *
 * Database "invoices": key = invoice id (16 bytes, the id of the action that
 * issued it); value:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       4     creditor member id
 *   4       4     debtor member id
 *   8       8     amount_cents
 *   16      8     remaining_cents (amount - paid - cleared)
 *   24      8     paid_cents (in credit: transfers, clearing payments)
 *   32      8     cleared_cents (set off by clearing)
 *   40      8     issued_us
 *   48      8     issued seq: journal seq of the issue
 *   56      8     accepted seq: journal seq of the acceptance (0 before)
 *   64      8     version: journal seq of the last change
 *   72      8     changed_us: time of the last change
 *   80      1     state: 0 pending, 1 open, 2 settled, 3 rejected, 4 cancelled
 *   81      1     ref length r (0..128)
 *   82      1     due length d (0 or 10)
 *   83      2     reject reason length n (0..512)
 *   85      r     ref;  then d bytes: due (YYYY-MM-DD);  then n bytes: reason
 *
 * Databases "member_invoices" (every invoice) and "live_invoices" (pending
 * and open ones only): key = member id (4) || issued seq (8) || role (1:
 * 1 debtor, 2 creditor); value = invoice id (16).  Each invoice has one key
 * for its debtor and one for its creditor in each.
 *
 * Database "obligations": key = accepted seq (8); value = invoice id (16).
 * The open obligations in the order they were accepted, oldest first: the
 * order of a clearing snapshot.
 *
 * Database "rounds": key = run (8); value, 74 bytes:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     journal seq of the round's NodeEvent (it holds the settlements)
 *   8       8     timestamp_us
 *   16      1     with_credit (0 or 1)
 *   17      8     obligations in the snapshot
 *   25      8     total_cents of the snapshot
 *   33      8     cleared_cents
 *   41      8     paid_cents
 *   49      8     settlements
 *   57      1     1 when requested by an admin action, else 0
 *   58      16    that action's id (zeros when none)
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

_Static_assert(TROC__PROFILE_SIZE_MAX == 43 + TROC_NAME_LENGTH_MAX + TROC_REASON_LENGTH_MAX, "profile layout");
_Static_assert(TROC_REASON_LENGTH_MAX <= UINT16_MAX && TROC_MEMO_LENGTH_MAX <= UINT16_MAX, "2-byte lengths");
_Static_assert(TROC_BATCH_ITEMS_MAX <= UINT16_MAX, "2-byte item count");

void troc__member_id_key(uint32_t member_id, uint8_t out[4]) {
    troc__be32_write(out, member_id);
}

void troc__member_seq_key(uint32_t member_id, uint64_t seq, uint8_t out[12]) {
    troc__be32_write(out, member_id);
    troc__be64_write(out + 4, seq);
}

void troc__member_pubkey_key(uint32_t member_id, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], uint8_t out[36]) {
    troc__be32_write(out, member_id);
    memcpy(out + 4, public_key, TROC_PUBLIC_KEY_SIZE);
}

void troc__balance_encode(const troc__account_record *record, uint8_t out[TROC__BALANCE_RECORD_SIZE]) {
    assert(record != NULL && out != NULL);
    assert((record->line_count == 0) == (record->last_posting == 0));
    troc__be64_write_signed(out, record->balance_cents);
    troc__be64_write(out + 8, record->line_count);
    troc__be64_write(out + 16, record->last_posting);
}

int troc__balance_decode(const MDB_val *value, troc__account_record *record_out) {
    assert(value != NULL && record_out != NULL);
    if (value->mv_size != TROC__BALANCE_RECORD_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    record_out->balance_cents = troc__be64_read_signed(p);
    record_out->line_count = troc__be64_read(p + 8);
    record_out->last_posting = troc__be64_read(p + 16);
    return (record_out->line_count == 0) == (record_out->last_posting == 0) ? 0 : TROC_ECORRUPT;
}

void troc__account_encode(const troc__account_record *record, uint8_t out[TROC__ACCOUNT_RECORD_SIZE]) {
    assert(record->credit_limit_cents >= 0);
    assert(record->flags <= (TROC__ACCOUNT_FROZEN | TROC__ACCOUNT_HAS_BALANCE_MAX));
    troc__be64_write_signed(out, record->credit_limit_cents);
    troc__be64_write_signed(out + 8, record->balance_max_cents);
    troc__be64_write_signed(out + 16, record->admitted_us);
    troc__be32_write(out + 24, record->flags);
    troc__be32_write(out + 28, record->active_key_count);
    troc__be32_write(out + 32, record->key_record_count);
    troc__be32_write(out + 36, 0);
}

int troc__account_decode(const MDB_val *value, troc__account_record *record_out) {
    assert(value != NULL && record_out != NULL);
    if (value->mv_size != TROC__ACCOUNT_RECORD_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    record_out->credit_limit_cents = troc__be64_read_signed(p);
    record_out->balance_max_cents = troc__be64_read_signed(p + 8);
    record_out->admitted_us = troc__be64_read_signed(p + 16);
    record_out->flags = troc__be32_read(p + 24);
    record_out->active_key_count = troc__be32_read(p + 28);
    record_out->key_record_count = troc__be32_read(p + 32);
    bool sane = record_out->credit_limit_cents >= 0 && record_out->balance_max_cents >= 0 &&
                record_out->flags <= (TROC__ACCOUNT_FROZEN | TROC__ACCOUNT_HAS_BALANCE_MAX) &&
                record_out->active_key_count <= record_out->key_record_count &&
                record_out->key_record_count <= TROC_MEMBER_KEY_RECORDS_MAX;
    return sane ? 0 : TROC_ECORRUPT;
}

void troc__state_encode(const troc__state *state, uint8_t out[TROC__STATE_RECORD_SIZE]) {
    assert(state != NULL && out != NULL);
    troc__be64_write_signed(out, state->last_timestamp_us);
    troc__be32_write(out + 8, state->member_count);
    troc__be32_write(out + 12, 0);
    troc__be64_write(out + 16, state->transfers);
    troc__be64_write_signed(out + 24, state->balance_sum_cents);
    troc__be64_write_signed(out + 32, state->debt_cents);
    troc__be64_write(out + 40, state->accounts_over_limit);
    troc__be64_write(out + 48, state->frozen);
    troc__be64_write(out + 56, state->postings);
    troc__be64_write(out + 64, state->invoices_pending);
    troc__be64_write(out + 72, state->obligations_open);
    troc__be64_write_signed(out + 80, state->obligations_cents);
    troc__be64_write(out + 88, state->clearing_runs);
}

int troc__state_decode(const MDB_val *value, troc__state *state_out) {
    assert(value != NULL && state_out != NULL);
    if (value->mv_size != TROC__STATE_RECORD_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    state_out->last_timestamp_us = troc__be64_read_signed(p);
    state_out->member_count = troc__be32_read(p + 8);
    state_out->transfers = troc__be64_read(p + 16);
    state_out->balance_sum_cents = troc__be64_read_signed(p + 24);
    state_out->debt_cents = troc__be64_read_signed(p + 32);
    state_out->accounts_over_limit = troc__be64_read(p + 40);
    state_out->frozen = troc__be64_read(p + 48);
    state_out->postings = troc__be64_read(p + 56);
    state_out->invoices_pending = troc__be64_read(p + 64);
    state_out->obligations_open = troc__be64_read(p + 72);
    state_out->obligations_cents = troc__be64_read_signed(p + 80);
    state_out->clearing_runs = troc__be64_read(p + 88);
    return 0;
}

size_t troc__profile_encode(const troc__profile *profile, uint8_t out[TROC__PROFILE_SIZE_MAX]) {
    size_t name_length = strlen(profile->name);
    size_t reason_length = strlen(profile->freeze_reason);
    assert(name_length >= 1 && name_length <= TROC_NAME_LENGTH_MAX);
    assert(reason_length <= TROC_REASON_LENGTH_MAX);
    troc__be64_write_signed(out, profile->frozen_us);
    memcpy(out + 8, profile->frozen_by, TROC_PUBLIC_KEY_SIZE);
    out[40] = (uint8_t)name_length;
    troc__be16_write(out + 41, (uint16_t)reason_length);
    memcpy(out + 43, profile->name, name_length);
    memcpy(out + 43 + name_length, profile->freeze_reason, reason_length);
    return 43 + name_length + reason_length;
}

int troc__profile_decode(const MDB_val *value, troc__profile *profile_out) {
    assert(value != NULL && profile_out != NULL);
    if (value->mv_size < 43) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    size_t name_length = p[40];
    size_t reason_length = troc__be16_read(p + 41);
    if (name_length < 1 || name_length > TROC_NAME_LENGTH_MAX || reason_length > TROC_REASON_LENGTH_MAX ||
        value->mv_size != 43 + name_length + reason_length) {
        return TROC_ECORRUPT;
    }
    profile_out->frozen_us = troc__be64_read_signed(p);
    memcpy(profile_out->frozen_by, p + 8, TROC_PUBLIC_KEY_SIZE);
    memcpy(profile_out->name, p + 43, name_length);
    profile_out->name[name_length] = '\0';
    memcpy(profile_out->freeze_reason, p + 43 + name_length, reason_length);
    profile_out->freeze_reason[reason_length] = '\0';
    return 0;
}

void troc__key_owner_encode(const troc__key_owner *owner, uint8_t out[TROC__KEY_OWNER_SIZE]) {
    assert(owner->flags <= TROC__KEY_REVOKED);
    troc__be32_write(out, owner->owner);
    out[4] = (uint8_t)owner->flags;
}

int troc__key_owner_decode(const MDB_val *value, troc__key_owner *owner_out) {
    assert(value != NULL && owner_out != NULL);
    if (value->mv_size != TROC__KEY_OWNER_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    owner_out->owner = troc__be32_read(p);
    owner_out->flags = p[4];
    return owner_out->flags <= TROC__KEY_REVOKED && owner_out->owner != 0 ? 0 : TROC_ECORRUPT;
}

void troc__member_key_encode(const troc__member_key_record *record, uint8_t out[TROC__MEMBER_KEY_RECORD_SIZE]) {
    assert(record != NULL && out != NULL);
    troc__be64_write_signed(out, record->added_us);
    troc__be64_write_signed(out + 8, record->revoked_us);
}

int troc__member_key_decode(const MDB_val *value, troc__member_key_record *record_out) {
    assert(value != NULL && record_out != NULL);
    if (value->mv_size != TROC__MEMBER_KEY_RECORD_SIZE) return TROC_ECORRUPT;
    record_out->added_us = troc__be64_read_signed(value->mv_data);
    record_out->revoked_us = troc__be64_read_signed((const uint8_t *)value->mv_data + 8);
    return 0;
}

size_t troc__limit_size(const troc__limit_record *record) {
    assert(record->reason_length <= TROC_REASON_LENGTH_MAX);
    return TROC__LIMIT_RECORD_HEADER_SIZE + record->reason_length;
}

void troc__limit_encode(const troc__limit_record *record, uint8_t *out) {
    assert(record->credit_limit_cents >= 0 && record->balance_max_cents >= 0);
    assert(record->reason_length <= TROC_REASON_LENGTH_MAX);
    troc__be64_write_signed(out, record->timestamp_us);
    troc__be64_write_signed(out + 8, record->credit_limit_cents);
    troc__be64_write_signed(out + 16, record->balance_max_cents);
    out[24] = record->has_balance_max ? 1 : 0;
    memcpy(out + 25, record->admin_key, TROC_PUBLIC_KEY_SIZE);
    troc__be16_write(out + 57, (uint16_t)record->reason_length);
    if (record->reason_length > 0) memcpy(out + 59, record->reason, record->reason_length);
}

int troc__limit_decode(const MDB_val *value, troc__limit_record *record_out) {
    assert(value != NULL && record_out != NULL);
    if (value->mv_size < TROC__LIMIT_RECORD_HEADER_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    record_out->timestamp_us = troc__be64_read_signed(p);
    record_out->credit_limit_cents = troc__be64_read_signed(p + 8);
    record_out->balance_max_cents = troc__be64_read_signed(p + 16);
    record_out->has_balance_max = p[24] != 0;
    memcpy(record_out->admin_key, p + 25, TROC_PUBLIC_KEY_SIZE);
    record_out->reason_length = troc__be16_read(p + 57);
    record_out->reason = (const char *)p + 59;
    if (record_out->reason_length > TROC_REASON_LENGTH_MAX ||
        value->mv_size != TROC__LIMIT_RECORD_HEADER_SIZE + record_out->reason_length) {
        return TROC_ECORRUPT;
    }
    return 0;
}

size_t troc__id_record_size(const troc__id_record *record) {
    assert(record->item_count <= TROC_BATCH_ITEMS_MAX);
    return TROC__ID_RECORD_HEADER_SIZE + record->item_count;
}

void troc__id_record_encode(const troc__id_record *record, uint8_t *out) {
    assert(record != NULL && out != NULL);
    assert(record->item_codes != NULL || record->item_count == 0);
    troc__be64_write(out, record->journal_seq);
    out[8] = record->kind;
    out[9] = record->code;
    troc__be16_write(out + 10, record->item_index);
    troc__be16_write(out + 12, record->item_count);
    if (record->item_count > 0) memcpy(out + 14, record->item_codes, record->item_count);
}

int troc__id_record_decode(const MDB_val *value, troc__id_record *record_out) {
    assert(value != NULL && record_out != NULL);
    if (value->mv_size < TROC__ID_RECORD_HEADER_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    record_out->journal_seq = troc__be64_read(p);
    record_out->kind = p[8];
    record_out->code = p[9];
    record_out->item_index = troc__be16_read(p + 10);
    record_out->item_count = troc__be16_read(p + 12);
    record_out->item_codes = p + 14;
    if (record_out->item_count > TROC_BATCH_ITEMS_MAX || record_out->item_index >= TROC_BATCH_ITEMS_MAX ||
        value->mv_size != TROC__ID_RECORD_HEADER_SIZE + (size_t)record_out->item_count ||
        record_out->journal_seq == 0) {
        return TROC_ECORRUPT;
    }
    return 0;
}

void troc__seq_key(uint64_t seq, uint8_t out[8]) {
    troc__be64_write(out, seq);
}

size_t troc__posting_size(const troc__posting *posting) {
    assert(posting->memo_length <= TROC_MEMO_LENGTH_MAX);
    return TROC__POSTING_HEADER_SIZE + posting->memo_length;
}

static void leg_encode(const troc__leg *leg, uint8_t *out) {
    troc__be32_write(out, leg->member_id);
    troc__be64_write(out + 4, leg->line_seq);
    troc__be64_write_signed(out + 12, leg->balance_after_cents);
    troc__be64_write(out + 20, leg->previous_posting);
}

static void leg_decode(const uint8_t *p, troc__leg *leg) {
    leg->member_id = troc__be32_read(p);
    leg->line_seq = troc__be64_read(p + 4);
    leg->balance_after_cents = troc__be64_read_signed(p + 12);
    leg->previous_posting = troc__be64_read(p + 20);
}

void troc__posting_encode(const troc__posting *posting, uint8_t *out) {
    assert(posting->memo_length <= TROC_MEMO_LENGTH_MAX && posting->amount_cents > 0);
    assert(posting->kind <= TROC_LINE_CLEARING_PAYMENT);
    troc__be64_write_signed(out, posting->timestamp_us);
    troc__be64_write(out + 8, posting->journal_seq);
    troc__be64_write_signed(out + 16, posting->amount_cents);
    memcpy(out + 24, posting->id, TROC_ID_SIZE);
    out[40] = posting->kind;
    out[41] = 0;
    troc__be16_write(out + 42, (uint16_t)posting->memo_length);
    leg_encode(&posting->legs[0], out + 44);
    leg_encode(&posting->legs[1], out + 72);
    if (posting->memo_length > 0) memcpy(out + 100, posting->memo, posting->memo_length);
}

int troc__posting_decode(const MDB_val *value, troc__posting *posting_out) {
    assert(value != NULL && posting_out != NULL);
    if (value->mv_size < TROC__POSTING_HEADER_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    posting_out->timestamp_us = troc__be64_read_signed(p);
    posting_out->journal_seq = troc__be64_read(p + 8);
    posting_out->amount_cents = troc__be64_read_signed(p + 16);
    memcpy(posting_out->id, p + 24, TROC_ID_SIZE);
    posting_out->kind = p[40];
    posting_out->memo_length = troc__be16_read(p + 42);
    leg_decode(p + 44, &posting_out->legs[0]);
    leg_decode(p + 72, &posting_out->legs[1]);
    posting_out->memo = (const char *)p + 100;
    if (posting_out->kind > TROC_LINE_CLEARING_PAYMENT || posting_out->memo_length > TROC_MEMO_LENGTH_MAX ||
        value->mv_size != TROC__POSTING_HEADER_SIZE + posting_out->memo_length || posting_out->amount_cents <= 0) {
        return TROC_ECORRUPT;
    }
    return 0;
}

void troc__invoice_index_key(uint32_t member_id, uint64_t issued_seq, uint8_t role, uint8_t out[13]) {
    assert(role == TROC__ROLE_DEBTOR || role == TROC__ROLE_CREDITOR || role == 0 || role == 0xff);
    troc__be32_write(out, member_id);
    troc__be64_write(out + 4, issued_seq);
    out[12] = role;
}

size_t troc__invoice_encode(const troc__invoice_record *invoice, uint8_t out[TROC__INVOICE_RECORD_SIZE_MAX]) {
    size_t ref = strlen(invoice->ref), due = strlen(invoice->due), reason = strlen(invoice->reason);
    assert(ref <= TROC_INVOICE_REF_LENGTH_MAX && (due == 0 || due == TROC__DATE_SIZE));
    assert(reason <= TROC_REASON_LENGTH_MAX && invoice->state <= TROC_INVOICE_CANCELLED);
    troc__be32_write(out, invoice->creditor);
    troc__be32_write(out + 4, invoice->debtor);
    troc__be64_write_signed(out + 8, invoice->amount_cents);
    troc__be64_write_signed(out + 16, invoice->remaining_cents);
    troc__be64_write_signed(out + 24, invoice->paid_cents);
    troc__be64_write_signed(out + 32, invoice->cleared_cents);
    troc__be64_write_signed(out + 40, invoice->issued_us);
    troc__be64_write(out + 48, invoice->issued_seq);
    troc__be64_write(out + 56, invoice->accepted_seq);
    troc__be64_write(out + 64, invoice->version);
    troc__be64_write_signed(out + 72, invoice->changed_us);
    out[80] = invoice->state;
    out[81] = (uint8_t)ref;
    out[82] = (uint8_t)due;
    troc__be16_write(out + 83, (uint16_t)reason);
    memcpy(out + 85, invoice->ref, ref);
    memcpy(out + 85 + ref, invoice->due, due);
    memcpy(out + 85 + ref + due, invoice->reason, reason);
    return TROC__INVOICE_RECORD_HEADER_SIZE + ref + due + reason;
}

int troc__invoice_decode(const MDB_val *value, troc__invoice_record *invoice_out) {
    assert(value != NULL && invoice_out != NULL);
    if (value->mv_size < TROC__INVOICE_RECORD_HEADER_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    size_t ref = p[81], due = p[82], reason = troc__be16_read(p + 83);
    if (ref > TROC_INVOICE_REF_LENGTH_MAX || (due != 0 && due != TROC__DATE_SIZE) || reason > TROC_REASON_LENGTH_MAX ||
        value->mv_size != TROC__INVOICE_RECORD_HEADER_SIZE + ref + due + reason || p[80] > TROC_INVOICE_CANCELLED) {
        return TROC_ECORRUPT;
    }
    invoice_out->creditor = troc__be32_read(p);
    invoice_out->debtor = troc__be32_read(p + 4);
    invoice_out->amount_cents = troc__be64_read_signed(p + 8);
    invoice_out->remaining_cents = troc__be64_read_signed(p + 16);
    invoice_out->paid_cents = troc__be64_read_signed(p + 24);
    invoice_out->cleared_cents = troc__be64_read_signed(p + 32);
    invoice_out->issued_us = troc__be64_read_signed(p + 40);
    invoice_out->issued_seq = troc__be64_read(p + 48);
    invoice_out->accepted_seq = troc__be64_read(p + 56);
    invoice_out->version = troc__be64_read(p + 64);
    invoice_out->changed_us = troc__be64_read_signed(p + 72);
    invoice_out->state = p[80];
    memcpy(invoice_out->ref, p + 85, ref);
    invoice_out->ref[ref] = '\0';
    memcpy(invoice_out->due, p + 85 + ref, due);
    invoice_out->due[due] = '\0';
    memcpy(invoice_out->reason, p + 85 + ref + due, reason);
    invoice_out->reason[reason] = '\0';
    return 0;
}

void troc__round_encode(const troc__round_record *round, uint8_t out[TROC__ROUND_RECORD_SIZE]) {
    assert(round != NULL && round->journal_seq > 0);
    troc__be64_write(out, round->journal_seq);
    troc__be64_write_signed(out + 8, round->timestamp_us);
    out[16] = round->with_credit ? 1 : 0;
    troc__be64_write_signed(out + 17, round->obligations);
    troc__be64_write_signed(out + 25, round->total_cents);
    troc__be64_write_signed(out + 33, round->cleared_cents);
    troc__be64_write_signed(out + 41, round->paid_cents);
    troc__be64_write(out + 49, round->settlement_count);
    out[57] = round->has_requested_by ? 1 : 0;
    if (round->has_requested_by) {
        memcpy(out + 58, round->requested_by, TROC_ID_SIZE);
    } else {
        memset(out + 58, 0, TROC_ID_SIZE);
    }
}

int troc__round_decode(const MDB_val *value, troc__round_record *round_out) {
    assert(value != NULL && round_out != NULL);
    if (value->mv_size != TROC__ROUND_RECORD_SIZE) return TROC_ECORRUPT;
    const uint8_t *p = value->mv_data;
    round_out->journal_seq = troc__be64_read(p);
    round_out->timestamp_us = troc__be64_read_signed(p + 8);
    round_out->with_credit = p[16] != 0;
    round_out->obligations = troc__be64_read_signed(p + 17);
    round_out->total_cents = troc__be64_read_signed(p + 25);
    round_out->cleared_cents = troc__be64_read_signed(p + 33);
    round_out->paid_cents = troc__be64_read_signed(p + 41);
    round_out->settlement_count = troc__be64_read(p + 49);
    round_out->has_requested_by = p[57] != 0;
    memcpy(round_out->requested_by, p + 58, TROC_ID_SIZE);
    return 0;
}
