/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a clearing round, and reading one back (see clearing.c for the
 * snapshot and the round's shape).
 *
 * Applying runs in two passes over the settlements.  The first only reads:
 * it checks staleness and feasibility and sums, per member, the set-off in
 * and out and the net payment (arrays indexed by member id, allocated per
 * round: rounds are rare).  The second writes: postings, balances,
 * obligations.  So a round that does not hold leaves the transaction as it
 * was, and the caller may go on with it.
 *
 * The first pass also sums what the round's payments change of the
 * territory's debt, what they add and what they pay off apart (each sum
 * bounded as in write.c), for the debt after the round.  It refuses with
 * TROC_EOVERFLOW, as a transfer is refused with BALANCE_OVERFLOW, a round
 * whose paid total, added to the debt before it (the transaction's running
 * figure), passes INT64_MAX.  The debt after the round is at most that,
 * and so is the debt of every partly applied state of the second pass (a
 * payment adds at most what it pays): those must fit too, since the
 * account cache may be written out between any two payments (write.c).
 * So conservative a bound refuses a round whose payments would end within
 * int64 only when the debt is already near INT64_MAX; the exact bound
 * would need the debt after each payment, in the order of the second pass.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

typedef struct round_check {
    troc_ledger_write *write;
    const Troc__V1__ClearingRound *round;
    uint64_t snapshot_seq;                 /* UINT64_MAX: no staleness check (replay) */
    int64_t *setoff_in;                    /* per member id: set off as creditor */
    int64_t *setoff_out;                   /* per member id: set off as debtor */
    int64_t *paid_net;                     /* per member id: received minus paid */
    int64_t cleared_total;
    int64_t paid_total;
    int64_t debt_added;                    /* by the payments: new debt of the members they take into it */
    int64_t debt_paid_off;                 /* debt of the members they bring out of it */
} round_check;

static int64_t settlement_cleared(const Troc__V1__Settlement *s) { return s->has_cleared_cents ? s->cleared_cents : 0; }
static int64_t settlement_paid(const Troc__V1__Settlement *s) { return s->has_paid_cents ? s->paid_cents : 0; }

static bool add(int64_t *sum, int64_t value) {
    return !__builtin_add_overflow(*sum, value, sum);
}

/* Whether member_id's account is frozen (*frozen_out). */
static int frozen_check(round_check *c, uint32_t member_id, bool *frozen_out) {
    troc__slot *slot = NULL;
    int rc = troc__cache_reserve(c->write, 1);
    if (rc == 0) rc = troc__slot_by_id(c->write, member_id, &slot);
    if (rc != 0) return rc == TROC_ENOT_FOUND ? TROC_EINFEASIBLE : rc;
    *frozen_out = (slot->current.flags & TROC__ACCOUNT_FROZEN) != 0;
    return 0;
}

/* Checks one settlement and adds it to the sums.  A frozen account can
 * neither pay nor be paid: no part of an obligation of a frozen member may
 * be paid in credit, not even when the payments in and out would net to
 * nothing.  Replay skips that rule, so that a round journaled before it
 * existed replays as it was applied. */
static int settlement_check(round_check *c, const Troc__V1__Settlement *s) {
    if (s == NULL || !s->has_invoice_id || s->invoice_id.len != TROC_ID_SIZE) return TROC_EINFEASIBLE;
    int64_t cleared = settlement_cleared(s), paid = settlement_paid(s);
    if (cleared < 0 || paid < 0 || (cleared == 0 && paid == 0)) return TROC_EINFEASIBLE;
    if (paid > 0 && !c->round->with_credit) return TROC_EINFEASIBLE;
    troc__invoice_record invoice;
    int rc = troc__invoice_get(c->write->txn, c->write->ledger, s->invoice_id.data, &invoice);
    if (rc == TROC_ENOT_FOUND) return TROC_EINFEASIBLE;
    if (rc != 0) return troc__write_fail(c->write, rc);
    uint32_t members = c->write->state.member_count;
    if (invoice.debtor == 0 || invoice.debtor > members || invoice.creditor == 0 || invoice.creditor > members) {
        return troc__write_fail(c->write, TROC_ECORRUPT);
    }
    if (invoice.version > c->snapshot_seq) return TROC_ESTALE;
    if (invoice.state != TROC_INVOICE_OPEN) return TROC_EINFEASIBLE;
    if (cleared > invoice.remaining_cents || paid > invoice.remaining_cents - cleared) return TROC_EINFEASIBLE;
    if (paid > 0 && c->snapshot_seq != UINT64_MAX) {
        bool debtor_frozen = false, creditor_frozen = false;
        rc = frozen_check(c, invoice.debtor, &debtor_frozen);
        if (rc == 0) rc = frozen_check(c, invoice.creditor, &creditor_frozen);
        if (rc != 0) return rc;
        if (debtor_frozen || creditor_frozen) return TROC_EINFEASIBLE;
    }
    bool ok = add(&c->setoff_out[invoice.debtor], cleared) && add(&c->setoff_in[invoice.creditor], cleared) &&
              add(&c->paid_net[invoice.debtor], -paid) && add(&c->paid_net[invoice.creditor], paid) &&
              add(&c->cleared_total, cleared) && add(&c->paid_total, paid);
    return ok ? 0 : TROC_EINFEASIBLE;
}

/* A slot of the table of invoice ids below: every bit of the id mixed into
 * every bit of the hash (splitmix64's finalizer), since ids differ in
 * different bytes (a millisecond, a counter, random bits). */
static size_t id_slot(const uint8_t id[TROC_ID_SIZE], size_t mask) {
    uint64_t high, low;
    memcpy(&high, id, 8);
    memcpy(&low, id + 8, 8);
    uint64_t h = high ^ (low * 0x9e3779b97f4a7c15ull);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return (size_t)(h ^ (h >> 31)) & mask;
}

/* TROC_EINFEASIBLE when a settlement has no well-formed id or an
 * obligation is settled twice: the ids go into an open-addressing table
 * (sorting them cost a sixth of applying the round). */
static int duplicates_check(const Troc__V1__ClearingRound *round) {
    const size_t n = round->n_settlements;
    if (n >= UINT32_MAX / 2) return TROC_EINFEASIBLE; /* beyond any journal entry */
    size_t slots = 4;
    while (slots < 2 * n) slots *= 2;
    uint32_t *table = calloc(slots, sizeof *table); /* settlement index + 1, 0 when empty */
    if (table == NULL) return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Troc__V1__Settlement *s = round->settlements[i];
        if (s == NULL || !s->has_invoice_id || s->invoice_id.len != TROC_ID_SIZE) {
            rc = TROC_EINFEASIBLE;
            break;
        }
        size_t slot = id_slot(s->invoice_id.data, slots - 1);
        for (; table[slot] != 0 && rc == 0; slot = (slot + 1) & (slots - 1)) {
            const Troc__V1__Settlement *other = round->settlements[table[slot] - 1];
            if (memcmp(other->invoice_id.data, s->invoice_id.data, TROC_ID_SIZE) == 0) rc = TROC_EINFEASIBLE;
        }
        table[slot] = (uint32_t)(i + 1);
    }
    free(table);
    return rc;
}

/* In credit mode: every paid member ends within its limits (or, already
 * outside them, no further out). */
static int limits_check(round_check *c, uint32_t member_id) {
    troc__slot *slot = NULL;
    int rc = troc__cache_reserve(c->write, 1);
    if (rc == 0) rc = troc__slot_by_id(c->write, member_id, &slot);
    if (rc != 0) return rc == TROC_ENOT_FOUND ? TROC_EINFEASIBLE : rc;
    const troc__account_record *a = &slot->current;
    int64_t final = a->balance_cents;
    if (!add(&final, c->paid_net[member_id])) return TROC_EINFEASIBLE;
    int64_t lower = -a->credit_limit_cents < a->balance_cents ? -a->credit_limit_cents : a->balance_cents;
    if (final < lower) return TROC_EINFEASIBLE;
    if (a->flags & TROC__ACCOUNT_HAS_BALANCE_MAX) {
        int64_t upper = a->balance_max_cents > a->balance_cents ? a->balance_max_cents : a->balance_cents;
        if (final > upper) return TROC_EINFEASIBLE;
    }
    /* The debt added is at most what the round pays, a sum that fits. */
    int64_t debt_change = troc__debt_of(final) - troc__debt_of(a->balance_cents);
    if (debt_change > 0 && !add(&c->debt_added, debt_change)) return TROC_EOVERFLOW;
    if (debt_change < 0) c->debt_paid_off -= debt_change; /* at most the debt before: no overflow */
    return 0;
}

/* The territory's debt once the round's payments are made (its running
 * figure less what they pay off, plus what they add), or TROC_EOVERFLOW
 * when the running figure plus the paid total passes INT64_MAX (the bound
 * of every partly applied state: see the top of this file). */
static int debt_check(const round_check *c, int64_t *debt_after) {
    int64_t bound = c->write->debt_cents;
    if (!add(&bound, c->paid_total)) return TROC_EOVERFLOW;
    *debt_after = c->write->debt_cents - c->debt_paid_off;
    /* It pays off at most the debt there is, unless the stored total is
     * damaged (write.c, flush_sums_apply). */
    if (*debt_after < 0) return TROC_ECORRUPT;
    bool ok = add(debt_after, c->debt_added);
    assert(ok && *debt_after <= bound && "a round adds at most the debt it pays");
    (void)ok;
    return 0;
}

/* Pass one: checks the whole round, writing nothing; *debt_after gets the
 * territory's debt after it. */
static int round_check_all(round_check *c, int64_t *debt_after) {
    const Troc__V1__ClearingRound *round = c->round;
    if (round->has_requested_by && round->requested_by.len != TROC_ID_SIZE) return TROC_EINFEASIBLE;
    if (!round->has_cleared_cents || !round->has_paid_cents) return TROC_EINFEASIBLE;
    int rc = duplicates_check(round);
    for (size_t i = 0; i < round->n_settlements && rc == 0; i++) rc = settlement_check(c, round->settlements[i]);
    if (rc != 0) return rc;
    if (c->cleared_total != round->cleared_cents || c->paid_total != round->paid_cents) return TROC_EINFEASIBLE;
    uint32_t members = c->write->state.member_count;
    for (uint32_t m = 1; m <= members && rc == 0; m++) {
        if (c->setoff_in[m] != c->setoff_out[m]) return TROC_EINFEASIBLE; /* not a circulation */
        if (c->paid_net[m] != 0) rc = limits_check(c, m);
    }
    return rc == 0 ? debt_check(c, debt_after) : rc;
}

/* Pass two: the set-off and payment of one settlement. */
static int settlement_apply(troc_ledger_write *write, const Troc__V1__Settlement *s, int64_t *moved,
                            troc__index_removals *removals) {
    int64_t cleared = settlement_cleared(s), paid = settlement_paid(s);
    troc__invoice_record invoice;
    troc__slot *debtor = NULL, *creditor = NULL;
    int rc = troc__invoice_get(write->txn, write->ledger, s->invoice_id.data, &invoice);
    if (rc == 0) rc = troc__cache_reserve(write, 2);
    if (rc == 0) rc = troc__slot_by_id(write, invoice.debtor, &debtor);
    if (rc == 0) rc = troc__slot_by_id(write, invoice.creditor, &creditor);
    if (rc != 0) return troc__write_fail(write, rc == TROC_ENOT_FOUND ? TROC_ECORRUPT : rc);
    if (cleared > 0) {
        rc = troc__posting_append(write, TROC_LINE_SETOFF, s->invoice_id.data, debtor, creditor, cleared, NULL, 0);
    }
    if (rc == 0 && paid > 0) {
        bool ok = add(&debtor->current.balance_cents, -paid) && add(&creditor->current.balance_cents, paid);
        if (!ok) return troc__write_fail(write, TROC_EOVERFLOW);
        *moved += paid;
        rc = troc__posting_append(write, TROC_LINE_CLEARING_PAYMENT, s->invoice_id.data, debtor, creditor, paid,
                                  NULL, 0);
    }
    return rc != 0 ? rc : troc__invoice_reduce(write, s->invoice_id.data, &invoice, cleared, paid, removals);
}

/* Records the round under its run number. */
static int round_record(troc_ledger_write *write, const Troc__V1__ClearingRound *round) {
    troc__round_record record = {
        .journal_seq = write->head.seq + 1,
        .timestamp_us = write->timestamp_us,
        .with_credit = round->with_credit,
        .obligations = round->obligations,
        .total_cents = round->total_cents,
        .cleared_cents = round->cleared_cents,
        .paid_cents = round->paid_cents,
        .settlement_count = round->n_settlements,
        .has_requested_by = round->has_requested_by,
    };
    if (round->has_requested_by) memcpy(record.requested_by, round->requested_by.data, TROC_ID_SIZE);
    uint8_t key[8], value[TROC__ROUND_RECORD_SIZE];
    troc__seq_key(round->run, key);
    troc__round_encode(&record, value);
    write->state.clearing_runs = round->run;
    return troc__put(write, TROC__DB_ROUNDS, key, sizeof key, value, sizeof value, MDB_APPEND);
}

/* Checks, then applies a round (both passes) and journals it. */
static int round_apply(troc_ledger_write *write, const troc_item *item, uint64_t snapshot_seq,
                       troc_item_result *result) {
    const Troc__V1__NodeEvent *event = item->decoded.node;
    if (event == NULL || event->event_case != TROC__V1__NODE_EVENT__EVENT_CLEARING_ROUND ||
        event->clearing_round == NULL || !event->clearing_round->has_run) {
        return TROC_EINFEASIBLE;
    }
    if (!item->signature_valid || memcmp(item->signer, write->ledger->territory_key, TROC_PUBLIC_KEY_SIZE) != 0) {
        return TROC_ESIGNATURE;
    }
    const Troc__V1__ClearingRound *round = event->clearing_round;
    if (round->run != write->state.clearing_runs + 1) return TROC_ESTALE;
    size_t members = (size_t)write->state.member_count + 1;
    round_check c = {.write = write, .round = round, .snapshot_seq = snapshot_seq};
    c.setoff_in = calloc(members, sizeof *c.setoff_in);
    c.setoff_out = calloc(members, sizeof *c.setoff_out);
    c.paid_net = calloc(members, sizeof *c.paid_net);
    int64_t debt_after = 0;
    int rc = c.setoff_in == NULL || c.setoff_out == NULL || c.paid_net == NULL ? -ENOMEM
                                                                               : round_check_all(&c, &debt_after);
    free(c.setoff_in);
    free(c.setoff_out);
    free(c.paid_net);
    if (rc != 0) return rc;
    int64_t moved = 0;
    troc__index_removals removals;
    rc = troc__index_removals_init(&removals, round->n_settlements);
    if (rc != 0) return rc;
    for (size_t i = 0; i < round->n_settlements && rc == 0; i++) {
        rc = settlement_apply(write, round->settlements[i], &moved, &removals);
    }
    if (rc == 0) rc = troc__index_removals_apply(write, &removals);
    troc__index_removals_free(&removals);
    assert(rc != 0 || round->with_credit || moved == 0); /* plain mode never moves a balance */
    if (rc == 0) write->debt_cents = debt_after;
    if (rc == 0) rc = round_record(write, round);
    if (rc == 0) rc = troc__write_journal(write, item);
    if (rc != 0) return rc;
    result->code = TROC_RESULT_OK;
    result->journal_seq = write->head.seq;
    result->timestamp_us = write->timestamp_us;
    return 0;
}

int troc_ledger_apply_clearing(troc_ledger_write *write, const troc_item *item, uint64_t snapshot_seq,
                               troc_item_result *result) {
    assert(write != NULL && item != NULL && result != NULL);
    assert(write->ledger->writing && item->kind == TROC__V1__ENVELOPE_KIND__KIND_NODE);
    if (write->failed != 0) return write->failed;
    *result = (troc_item_result){.item_codes = result->item_codes, .code = TROC_RESULT_OK};
    return round_apply(write, item, snapshot_seq, result);
}

int troc__apply_node(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    assert(write != NULL && item != NULL && result != NULL);
    *result = (troc_item_result){.item_codes = result->item_codes, .code = TROC_RESULT_OK};
    return round_apply(write, item, UINT64_MAX, result);
}

/* ---------------------------------------------------------------- reads */

/* The journaled round is read field by field from its protobuf bytes, so
 * that a page of settlements costs a walk over the round plus the page's
 * own decoding, not the decoding of the whole round (its settlements, firm
 * names and potentials: tens of milliseconds at 100,000 settlements, on
 * the daemon's loop, for every page).  The walk accepts exactly what the
 * wire format allows and refuses the rest as corrupt. */
typedef struct wire {
    const uint8_t *at, *end;
} wire;

static bool wire_varint(wire *w, uint64_t *value) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && w->at < w->end; shift += 7) {
        const uint8_t byte = *w->at++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            *value = v;
            return true;
        }
    }
    return false;
}

/* Reads the next field: its number and, when it is length-delimited, its
 * bytes (NULL otherwise).  False when the field is malformed. */
static bool wire_field(wire *w, uint32_t *number, const uint8_t **bytes, size_t *size) {
    uint64_t key = 0, value = 0;
    if (!wire_varint(w, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return false;
    *number = (uint32_t)(key >> 3);
    *bytes = NULL;
    *size = 0;
    switch (key & 7) {
    case 0: return wire_varint(w, &value);
    case 1: return w->end - w->at >= 8 && (w->at += 8, true);
    case 5: return w->end - w->at >= 4 && (w->at += 4, true);
    case 2:
        if (!wire_varint(w, &value) || value > (uint64_t)(w->end - w->at)) return false;
        *bytes = w->at;
        *size = (size_t)value;
        w->at += value;
        return true;
    default: return false; /* groups (3, 4) and unknown wire types */
    }
}

/* The bytes of a NodeEvent's clearing round.  Its oneof must hold one
 * member, once (a decoder would merge repeats; the daemon writes none). */
static int round_bytes(const uint8_t *body, size_t body_size, wire *round) {
    wire w = {body, body + body_size};
    unsigned members = 0;
    while (w.at < w.end) {
        uint32_t number;
        const uint8_t *bytes;
        size_t size;
        if (!wire_field(&w, &number, &bytes, &size)) return TROC_ECORRUPT;
        if (number != TROC__V1__NODE_EVENT__EVENT_INIT && number != TROC__V1__NODE_EVENT__EVENT_CLEARING_ROUND) {
            continue;
        }
        if (bytes == NULL || number != TROC__V1__NODE_EVENT__EVENT_CLEARING_ROUND) return TROC_ECORRUPT;
        *round = (wire){bytes, bytes + size};
        members++;
    }
    return members == 1 ? 0 : TROC_ECORRUPT;
}

int troc__round_settlements_page(const uint8_t *body, size_t body_size, troc_settlement *out, size_t offset,
                                 size_t capacity, size_t *count_out) {
    assert(body != NULL || body_size == 0);
    assert(count_out != NULL && (capacity == 0 || out != NULL));
    *count_out = 0;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(&troc__v1__clearing_round__descriptor, "settlements");
    assert(field != NULL);
    wire w = {0}; /* round_bytes() sets it when it returns 0 */
    int rc = round_bytes(body, body_size, &w);
    size_t index = 0, count = 0;
    while (rc == 0 && w.at < w.end && count < capacity) {
        uint32_t number;
        const uint8_t *bytes;
        size_t size;
        if (!wire_field(&w, &number, &bytes, &size)) return TROC_ECORRUPT;
        if (number != field->id) continue;
        if (bytes == NULL) return TROC_ECORRUPT;
        if (index++ < offset) continue;
        Troc__V1__Settlement *s = troc__v1__settlement__unpack(NULL, size, bytes);
        if (s == NULL || !s->has_invoice_id || s->invoice_id.len != TROC_ID_SIZE) rc = TROC_ECORRUPT;
        if (rc == 0) {
            memcpy(out[count].invoice_id, s->invoice_id.data, TROC_ID_SIZE);
            out[count].cleared_cents = settlement_cleared(s);
            out[count].paid_cents = settlement_paid(s);
            count++;
        }
        if (s != NULL) troc__v1__settlement__free_unpacked(s, NULL);
    }
    *count_out = rc == 0 ? count : 0;
    return rc;
}

/* Copies settlements [offset, offset + capacity) of the round's entry. */
static int settlements_read(troc_ledger_read *read, uint64_t journal_seq, troc_settlement *out, size_t offset,
                            size_t capacity, size_t *count_out) {
    troc_journal_entry entry;
    int rc = troc_journal_get(&read->ledger->journal, read->txn, journal_seq, &entry);
    if (rc != 0) return rc == TROC_ENOT_FOUND ? TROC_ECORRUPT : rc;
    if (entry.kind != TROC__V1__ENVELOPE_KIND__KIND_NODE) return TROC_ECORRUPT;
    return troc__round_settlements_page(entry.body, entry.body_size, out, offset, capacity, count_out);
}

int troc_ledger_clearing_round(troc_ledger_read *read, uint64_t run, troc_clearing_summary *summary_out,
                               troc_settlement *settlements, size_t offset, size_t capacity, size_t *count_out) {
    assert(read != NULL && summary_out != NULL && count_out != NULL);
    assert(capacity == 0 || settlements != NULL);
    *count_out = 0;
    if (run == 0) {
        troc_stats stats;
        int rc = troc_ledger_stats(read, &stats);
        if (rc != 0) return rc;
        if (stats.clearing_runs == 0) return TROC_ENOT_FOUND;
        run = stats.clearing_runs;
    }
    uint8_t key_bytes[8];
    troc__seq_key(run, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    int rc = mdb_get(read->txn, read->ledger->dbs[TROC__DB_ROUNDS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return rc;
    troc__round_record round;
    if ((rc = troc__round_decode(&value, &round)) != 0) return rc;
    *summary_out = (troc_clearing_summary){
        .run = run, .journal_seq = round.journal_seq, .timestamp_us = round.timestamp_us,
        .with_credit = round.with_credit, .obligations = round.obligations, .total_cents = round.total_cents,
        .cleared_cents = round.cleared_cents, .paid_cents = round.paid_cents,
        .settlement_count = round.settlement_count, .has_requested_by = round.has_requested_by};
    memcpy(summary_out->requested_by, round.requested_by, TROC_ID_SIZE);
    if (capacity == 0 || offset >= round.settlement_count) return 0;
    return settlements_read(read, round.journal_seq, settlements, offset, capacity, count_out);
}
