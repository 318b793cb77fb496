/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clearing rounds in the ledger: the snapshot the solver works on, the
 * round built from its solution, applying it, and reading it back.  The
 * solver itself (engine/clearing) runs off the writer's path, between a
 * snapshot (one read transaction) and the apply (the writer's transaction).
 *
 * A round is a NodeEvent{clearing_round} signed by the territory key: its
 * run number, mode, totals, every settlement (invoice id, set off, paid in
 * credit) and the solver's certificate (firms and potentials).  Applying it
 * first checks, writing nothing:
 *   - staleness: it is the next run, and every obligation it touches is
 *     still open with the version the snapshot saw (TROC_ESTALE: solve
 *     again);
 *   - that it holds: amounts within what remains, set-offs forming a
 *     circulation (every firm's set-off in equals its set-off out, so net
 *     positions do not move), no payment in plain mode, in credit mode
 *     every final balance within the account's limits as they are now (one
 *     already outside may not move further out), totals that add up, no
 *     duplicate (TROC_EINFEASIBLE);
 *   - that the territory's debt (the sum of negative balances) plus
 *     everything the round pays fits int64, a bound of the debt after
 *     each of its payments (TROC_EOVERFLOW, as a transfer that would
 *     overflow the debt is refused with BALANCE_OVERFLOW; see round.c).
 * Then it applies every settlement: a set-off posting (kind SETOFF, balances
 * unchanged) and a payment posting (kind CLEARING_PAYMENT) per obligation,
 * obligations reduced or settled, the round recorded under its run number
 * and journaled.  Replay applies the journaled round through the same code
 * without the staleness check (the state it finds is the one it was applied
 * to).  Rounds are rare: their working arrays are allocated per round.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

/* ------------------------------------------------------------- snapshot */

static int state_get(MDB_txn *txn, const troc_ledger *ledger, troc__state *state) {
    MDB_val key = {sizeof "state" - 1, "state"}, value;
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_META], &key, &value);
    if (rc != 0) return rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc;
    return troc__state_decode(&value, state);
}

/* The firm index of `member_id` in the snapshot, adding the firm. */
static int firm_index(troc_ledger_read *read, troc_clearing_snapshot *s, uint32_t *index_of, size_t *capacity,
                      uint32_t member_id, uint32_t *index_out) {
    if (index_of[member_id] != 0) {
        *index_out = index_of[member_id] - 1;
        return 0;
    }
    if (s->firm_count == *capacity) {
        size_t next = *capacity * 2 + 16;
        troc_clearing_firm *grown = realloc(s->firms, next * sizeof *grown);
        if (grown == NULL) return -ENOMEM;
        s->firms = grown;
        *capacity = next;
    }
    troc_clearing_firm *firm = &s->firms[s->firm_count];
    troc__account_record account;
    int rc = troc__account_get(read->txn, read->ledger, member_id, &account);
    if (rc != 0) return rc;
    if ((rc = troc__member_name(read->txn, read->ledger, member_id, firm->name)) != 0) return rc;
    firm->member_id = member_id;
    firm->balance_cents = account.balance_cents;
    firm->credit_limit_cents = account.credit_limit_cents;
    firm->balance_max_cents = (account.flags & TROC__ACCOUNT_HAS_BALANCE_MAX) ? account.balance_max_cents : INT64_MAX;
    firm->frozen = (account.flags & TROC__ACCOUNT_FROZEN) != 0;
    index_of[member_id] = ++s->firm_count;
    *index_out = s->firm_count - 1;
    return 0;
}

/* Adds the obligation of index entry (key, value) to the snapshot. */
static int obligation_add(troc_ledger_read *read, troc_clearing_snapshot *s, uint32_t *index_of,
                          size_t *firm_capacity, uint32_t member_count, const MDB_val *value) {
    if (value->mv_size != TROC_ID_SIZE) return TROC_ECORRUPT;
    troc__invoice_record invoice;
    int rc = troc__invoice_get(read->txn, read->ledger, value->mv_data, &invoice);
    if (rc != 0) return rc == TROC_ENOT_FOUND ? TROC_ECORRUPT : rc;
    if (invoice.state != TROC_INVOICE_OPEN || invoice.remaining_cents <= 0 || invoice.debtor > member_count ||
        invoice.creditor > member_count) {
        return TROC_ECORRUPT;
    }
    troc_clearing_obligation *o = &s->obligations[s->obligation_count];
    memcpy(o->invoice_id, value->mv_data, TROC_ID_SIZE);
    o->remaining_cents = invoice.remaining_cents;
    o->version = invoice.version;
    rc = firm_index(read, s, index_of, firm_capacity, invoice.debtor, &o->debtor);
    if (rc == 0) rc = firm_index(read, s, index_of, firm_capacity, invoice.creditor, &o->creditor);
    if (rc != 0) return rc;
    if (__builtin_add_overflow(s->total_cents, o->remaining_cents, &s->total_cents)) return TROC_EOVERFLOW;
    s->obligation_count++;
    return 0;
}

/* Walks the open obligations, oldest accepted first. */
static int obligations_walk(troc_ledger_read *read, troc_clearing_snapshot *s, const troc__state *state,
                            uint32_t *index_of) {
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(read->txn, read->ledger->dbs[TROC__DB_OBLIGATIONS], &cursor);
    if (rc != 0) return rc;
    size_t firm_capacity = 0;
    MDB_val key, value;
    int step = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    /* Bounded by the open obligations counted in the state. */
    while (rc == 0 && step == 0) {
        if (s->obligation_count == state->obligations_open) {
            rc = TROC_ECORRUPT;
            break;
        }
        rc = obligation_add(read, s, index_of, &firm_capacity, state->member_count, &value);
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    if (rc == 0 && step != MDB_NOTFOUND) rc = step;
    if (rc == 0 && s->obligation_count != state->obligations_open) rc = TROC_ECORRUPT;
    mdb_cursor_close(cursor);
    return rc;
}

int troc_ledger_clearing_snapshot(troc_ledger_read *read, troc_clearing_snapshot *snapshot_out) {
    assert(read != NULL && snapshot_out != NULL);
    memset(snapshot_out, 0, sizeof *snapshot_out);
    troc__state state;
    troc_journal_head head;
    int rc = state_get(read->txn, read->ledger, &state);
    if (rc == 0) rc = troc_journal_head_read(&read->ledger->journal, read->txn, &head);
    if (rc != 0) return rc;
    snapshot_out->journal_seq = head.seq;
    snapshot_out->run = state.clearing_runs + 1;
    uint32_t *index_of = calloc((size_t)state.member_count + 1, sizeof *index_of);
    size_t count = state.obligations_open > 0 ? state.obligations_open : 1;
    snapshot_out->obligations = malloc(count * sizeof *snapshot_out->obligations);
    if (index_of == NULL || snapshot_out->obligations == NULL) {
        rc = -ENOMEM;
    } else {
        rc = obligations_walk(read, snapshot_out, &state, index_of);
    }
    free(index_of);
    if (rc != 0) troc_clearing_snapshot_free(snapshot_out);
    return rc;
}

void troc_clearing_snapshot_free(troc_clearing_snapshot *snapshot) {
    if (snapshot == NULL) return;
    free(snapshot->firms);
    free(snapshot->obligations);
    memset(snapshot, 0, sizeof *snapshot);
}

/* ---------------------------------------------------------------- build */

/* Sums and counts the settlements; TROC_EINFEASIBLE for a negative amount,
 * TROC_EOVERFLOW when a total does not fit. */
static int build_totals(const troc_clearing_snapshot *s, const int64_t *cleared, const int64_t *paid,
                        int64_t *cleared_total, int64_t *paid_total, size_t *settlements) {
    *cleared_total = *paid_total = 0;
    *settlements = 0;
    for (size_t i = 0; i < s->obligation_count; i++) {
        int64_t c = cleared[i], p = paid != NULL ? paid[i] : 0;
        if (c < 0 || p < 0) return TROC_EINFEASIBLE;
        if (__builtin_add_overflow(*cleared_total, c, cleared_total) ||
            __builtin_add_overflow(*paid_total, p, paid_total)) {
            return TROC_EOVERFLOW;
        }
        if (c > 0 || p > 0) (*settlements)++;
    }
    return 0;
}

/* Packs, signs and decodes the event into `out`. */
static int round_seal(const troc_ledger *ledger, const Troc__V1__NodeEvent *event, troc_clearing_round_item *out) {
    size_t size = troc__v1__node_event__get_packed_size(event);
    if (size > TROC_JOURNAL_BODY_SIZE_MAX) return -E2BIG;
    out->body = malloc(size > 0 ? size : 1);
    if (out->body == NULL) return -ENOMEM;
    troc__v1__node_event__pack(event, out->body);
    int rc = troc_sign(&ledger->keypair, TROC_DOMAIN_NODE, ledger->territory_key, out->body, size, out->signature);
    if (rc != 0) return rc;
    Troc__V1__NodeEvent *decoded = troc__v1__node_event__unpack(NULL, size, out->body);
    if (decoded == NULL) return -ENOMEM;
    out->event = decoded;
    out->item = (troc_item){.kind = TROC__V1__ENVELOPE_KIND__KIND_NODE,
                            .body = out->body,
                            .body_size = size,
                            .signer = ledger->keypair.public_key,
                            .signature = out->signature,
                            .signature_valid = true};
    out->item.decoded.node = decoded;
    return 0;
}

/* Fills the round's settlements and certificate (arrays allocated by the
 * caller) and seals it. */
static int round_fill(const troc_ledger *ledger, const troc_clearing_snapshot *s, const int64_t *cleared,
                      const int64_t *paid, const int64_t *potentials, Troc__V1__ClearingRound *round,
                      Troc__V1__Settlement *settlements, Troc__V1__Settlement **pointers, char **firms,
                      troc_clearing_round_item *out) {
    size_t n = 0;
    for (size_t i = 0; i < s->obligation_count; i++) {
        int64_t p = paid != NULL ? paid[i] : 0;
        if (cleared[i] == 0 && p == 0) continue;
        Troc__V1__Settlement init = TROC__V1__SETTLEMENT__INIT;
        settlements[n] = init;
        settlements[n].has_invoice_id = 1;
        settlements[n].invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)s->obligations[i].invoice_id};
        settlements[n].has_cleared_cents = cleared[i] != 0;
        settlements[n].cleared_cents = cleared[i];
        settlements[n].has_paid_cents = p != 0;
        settlements[n].paid_cents = p;
        pointers[n] = &settlements[n];
        n++;
    }
    for (uint32_t f = 0; f < s->firm_count; f++) firms[f] = (char *)s->firms[f].name;
    round->n_settlements = n;
    round->settlements = pointers;
    round->n_firms = s->firm_count;
    round->firms = firms;
    round->n_potentials = (size_t)s->firm_count + 1;
    round->potentials = (int64_t *)potentials;
    Troc__V1__NodeEvent event = TROC__V1__NODE_EVENT__INIT;
    event.event_case = TROC__V1__NODE_EVENT__EVENT_CLEARING_ROUND;
    event.clearing_round = round;
    return round_seal(ledger, &event, out);
}

int troc_ledger_clearing_round_build(const troc_ledger *ledger, const troc_clearing_snapshot *snapshot,
                                     bool with_credit, const uint8_t *requested_by, const int64_t *cleared,
                                     const int64_t *paid, const int64_t *potentials, troc_clearing_round_item *out) {
    assert(ledger != NULL && ledger->has_keypair && snapshot != NULL && out != NULL);
    assert((cleared != NULL || snapshot->obligation_count == 0) && potentials != NULL);
    memset(out, 0, sizeof *out);
    int64_t cleared_total, paid_total;
    size_t count;
    int rc = build_totals(snapshot, cleared, paid, &cleared_total, &paid_total, &count);
    if (rc != 0) return rc;
    Troc__V1__ClearingRound round = TROC__V1__CLEARING_ROUND__INIT;
    round.has_run = 1;
    round.run = snapshot->run;
    round.has_with_credit = 1;
    round.with_credit = with_credit;
    round.has_requested_by = requested_by != NULL;
    round.requested_by = (ProtobufCBinaryData){requested_by != NULL ? TROC_ID_SIZE : 0, (uint8_t *)requested_by};
    round.has_obligations = round.has_total_cents = round.has_cleared_cents = round.has_paid_cents = 1;
    round.obligations = (int64_t)snapshot->obligation_count;
    round.total_cents = snapshot->total_cents;
    round.cleared_cents = cleared_total;
    round.paid_cents = paid_total;
    Troc__V1__Settlement *settlements = malloc((count > 0 ? count : 1) * sizeof *settlements);
    Troc__V1__Settlement **pointers = malloc((count > 0 ? count : 1) * sizeof *pointers);
    char **firms = malloc(((size_t)snapshot->firm_count + 1) * sizeof *firms);
    rc = settlements == NULL || pointers == NULL || firms == NULL
             ? -ENOMEM
             : round_fill(ledger, snapshot, cleared, paid, potentials, &round, settlements, pointers, firms, out);
    free(settlements);
    free(pointers);
    free(firms);
    if (rc != 0) troc_clearing_round_item_free(out);
    return rc;
}

void troc_clearing_round_item_free(troc_clearing_round_item *round) {
    if (round == NULL) return;
    if (round->event != NULL) troc__v1__node_event__free_unpacked(round->event, NULL);
    free(round->body);
    memset(round, 0, sizeof *round);
}
