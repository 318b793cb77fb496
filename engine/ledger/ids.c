/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Idempotency (design decision 4).  Every accepted item's 128-bit id is
 * remembered in the "ids" database with its result and the journal entry
 * that holds it; an id names one item across transfers, batch items, admin
 * and invoice actions.  Resubmitting the same id with the same item answers
 * the stored result (same journal seq and timestamp); with another item,
 * TROC_RESULT_ID_REUSED.  A refused item leaves no record, so it may be
 * resubmitted and succeed later.
 *
 * "The same item" is decided against the journal, which holds every
 * accepted item exactly: a batch, an admin or an invoice action must have
 * the same body bytes; a transfer (alone or as a batch item) the same
 * meaning (payer, payee, amount, memo, invoice), so that a transfer
 * resubmitted alone or inside another batch is recognised (an id used
 * twice within one batch is ID_REUSED for the second).  No hash is
 * computed on the hot path; the comparison costs a journal read and a
 * decode, only when an id comes back.
 *
 * Transfers claim their id first and release it if the transfer is then
 * refused: acceptance is the common case on the hot path.  A claim is an
 * append through a cursor when the id is above every stored id (clients
 * that make time-ordered ids, like libtroc, get this: no search, pages
 * filled in order), else one put with MDB_NOOVERWRITE through the same
 * cursor, which returns the existing record when there is one.  Random
 * ids work, but each then costs a search and dirties a page of its own.
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "ledger_int.h"

int troc__ids_claim(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], const troc__id_record *record,
                    troc__id_record *existing) {
    assert(write != NULL && id != NULL && record != NULL && existing != NULL);
    assert(record->item_count == 0);
    uint8_t value_bytes[TROC__ID_RECORD_HEADER_SIZE];
    troc__id_record_encode(record, value_bytes);
    MDB_val key = {TROC_ID_SIZE, (void *)id}, value = {sizeof value_bytes, value_bytes};
    int rc = 0;
    if (write->ids_cursor == NULL) {
        rc = mdb_cursor_open(write->txn, write->ledger->dbs[TROC__DB_IDS], &write->ids_cursor);
    }
    if (rc != 0) return troc__write_fail(write, rc);
    /* An id above every stored one is new: appended without a search.
     * Otherwise (MDB_KEYEXIST here only means "not above"), a search by
     * the same cursor, which the append left on the last page: an id made
     * in the same millisecond as the last ones (their order within a
     * millisecond is random) is found on that page without a search from
     * the root. */
    rc = mdb_cursor_put(write->ids_cursor, &key, &value, MDB_APPEND);
    if (rc == MDB_KEYEXIST) rc = mdb_cursor_put(write->ids_cursor, &key, &value, MDB_NOOVERWRITE);
    if (rc == 0) return 0;
    if (rc != MDB_KEYEXIST) return troc__write_fail(write, rc);
    rc = troc__id_record_decode(&value, existing);
    return rc != 0 ? troc__write_fail(write, rc) : 1;
}

int troc__ids_release(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE]) {
    assert(write != NULL && id != NULL);
    MDB_val key = {TROC_ID_SIZE, (void *)id};
    int rc = mdb_del(write->txn, write->ledger->dbs[TROC__DB_IDS], &key, NULL);
    return rc != 0 ? troc__write_fail(write, rc) : 0;
}

int troc__ids_get(MDB_txn *txn, const troc_ledger *ledger, const uint8_t id[TROC_ID_SIZE], troc__id_record *record) {
    assert(txn != NULL && id != NULL && record != NULL);
    MDB_val key = {TROC_ID_SIZE, (void *)id}, value;
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_IDS], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return rc;
    return troc__id_record_decode(&value, record);
}

static bool text_equal(const char *a, const char *b) {
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Is the stored transfer (payer, fields) the one `match` describes? */
static bool transfer_equal(const troc__id_match *match, const char *payer, const char *payee, int64_t amount_cents,
                           const char *memo, protobuf_c_boolean has_invoice, ProtobufCBinaryData invoice) {
    bool invoice_equal = match->invoice_id == NULL
                             ? !has_invoice
                             : has_invoice && invoice.len == TROC_ID_SIZE &&
                                   memcmp(invoice.data, match->invoice_id, TROC_ID_SIZE) == 0;
    return invoice_equal && text_equal(payer, match->payer) && text_equal(payee, match->payee) &&
           amount_cents == match->amount_cents && text_equal(memo, match->memo);
}

/* Compares a transfer with the one journaled in `entry` (alone, or as item
 * `index` of a batch). */
static bool transfer_matches(const troc_journal_entry *entry, uint16_t index, const troc__id_match *match) {
    bool same = false;
    if (entry->kind == TROC__V1__ENVELOPE_KIND__KIND_TRANSFER) {
        Troc__V1__Transfer *t = troc__v1__transfer__unpack(NULL, entry->body_size, entry->body);
        if (t == NULL) return false;
        same = transfer_equal(match, t->payer, t->payee, t->amount_cents, t->memo, t->has_invoice_id, t->invoice_id);
        troc__v1__transfer__free_unpacked(t, NULL);
    } else if (entry->kind == TROC__V1__ENVELOPE_KIND__KIND_BATCH) {
        Troc__V1__TransferBatch *b = troc__v1__transfer_batch__unpack(NULL, entry->body_size, entry->body);
        if (b == NULL) return false;
        if (index < b->n_items) {
            const Troc__V1__BatchItem *i = b->items[index];
            same = transfer_equal(match, b->payer, i->payee, i->amount_cents, i->memo, 0, (ProtobufCBinaryData){0});
        }
        troc__v1__transfer_batch__free_unpacked(b, NULL);
    }
    return same;
}

int troc__ids_answer(troc_ledger_write *write, const troc__id_record *existing, const troc__id_match *match,
                     troc_item_result *result) {
    assert(write != NULL && existing != NULL && match != NULL && match->item != NULL && result != NULL);
    if (existing->journal_seq > write->head.seq) {
        /* An id used twice within the batch being applied. */
        result->code = TROC_RESULT_ID_REUSED;
        return 0;
    }
    troc_journal_entry entry;
    int rc = troc_journal_get(&write->ledger->journal, write->txn, existing->journal_seq, &entry);
    if (rc != 0) return troc__write_fail(write, rc == TROC_ENOT_FOUND ? TROC_ECORRUPT : rc);
    bool same;
    if (match->payer != NULL) {
        same = existing->kind == TROC__V1__ENVELOPE_KIND__KIND_TRANSFER &&
               transfer_matches(&entry, existing->item_index, match);
    } else {
        same = existing->kind == match->item->kind && entry.kind == match->item->kind &&
               entry.body_size == match->item->body_size &&
               memcmp(entry.body, match->item->body, entry.body_size) == 0;
    }
    if (!same) {
        result->code = TROC_RESULT_ID_REUSED;
        return 0;
    }
    result->code = existing->code;
    result->journal_seq = existing->journal_seq;
    result->timestamp_us = entry.timestamp_us;
    if (existing->item_count > 0) {
        assert(result->item_codes != NULL);
        for (size_t i = 0; i < existing->item_count; i++) result->item_codes[i] = existing->item_codes[i];
        result->item_count = existing->item_count;
    }
    return 0;
}
