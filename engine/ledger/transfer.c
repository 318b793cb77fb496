/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transfers: one payment in credit from payer to payee, alone (a Transfer
 * signed by one of the payer's keys) or as an item of a TransferBatch
 * signed once by the payer.  This is the hot path.
 *
 * Checks run in this order, each refusal with its own result code:
 *   1. shape: the body decoded, id of 16 bytes, payer, payee, amount present
 *      (MALFORMED); the signature verified (BAD_SIGNATURE);
 *   2. idempotency: an id already used answers the stored result, or
 *      ID_REUSED (ids.c);
 *   3. fields: names (INVALID_NAME), payer != payee (SAME_ACCOUNT), amount in
 *      (0, TROC_AMOUNT_CENTS_MAX] (AMOUNT_NOT_POSITIVE, AMOUNT_TOO_LARGE),
 *      memo (MEMO_TOO_LONG, INVALID_TEXT);
 *   4. authority: the signer is a registered, unrevoked key (UNKNOWN_KEY),
 *      the payer exists (UNKNOWN_PAYER) and holds the key (KEY_NOT_OWNED);
 *   5. the payee exists (UNKNOWN_PAYEE); the invoice it pays, if any,
 *      exists (UNKNOWN_INVOICE), is an open obligation (INVOICE_NOT_OPEN) of
 *      the payer (NOT_DEBTOR) to the payee (NOT_CREDITOR), and the amount is
 *      at most what remains (EXCEEDS_OBLIGATION);
 *   6. state: neither account is frozen
 *      (PAYER_FROZEN, PAYEE_FROZEN), the payer stays at or above
 *      -credit_limit (EXCEEDS_CREDIT_LIMIT), the payee at or below its
 *      balance_max (EXCEEDS_BALANCE_MAX), and no balance overflows, nor
 *      the territory's debt (BALANCE_OVERFLOW).
 * A refused transfer changes nothing.  An accepted one changes two cached
 * accounts and writes an id record and a posting (statement.c): two LMDB
 * puts, both appends when ids are time-ordered, plus the journal entry (one
 * per batch for batch items).
 *
 * The territory's debt (the sum of negative balances, kept in meta) must
 * fit int64 like every balance: 9,224 members at a credit line of
 * TROC_AMOUNT_CENTS_MAX could take it past INT64_MAX while every balance
 * fits.  The write transaction keeps it current with every movement
 * applied so far (write->debt_cents: earlier items of the same batch and
 * of the same transaction included), so the check is one addition of what
 * the transfer changes: the payer's new debt less the debt the payee's
 * balance pays off, both at most the amount.  A transfer that only moves
 * debt from one member to another (a member in debt pays another) passes
 * even at INT64_MAX.
 *
 * A batch is journaled when at least one item is answered OK; its id is
 * then remembered with every item's code.  When no item is, nothing is
 * stored and the batch's code is its first item's.
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "base/text.h"
#include "ledger_int.h"

/* One transfer's fields, whichever envelope carried them. */
typedef struct transfer {
    const troc_item *item;                 /* the envelope that carries it */
    uint16_t item_index;                   /* its index in a batch, else 0 */
    const uint8_t *id;
    const char *payer;
    const char *payee;
    int64_t amount_cents;
    const char *memo;                      /* may be NULL */
    const uint8_t *invoice_id;             /* NULL: a plain payment */
} transfer;

int troc__text_check(const troc_ledger_write *write, const char *text, size_t length_max, int too_long) {
    size_t length = text != NULL ? strnlen(text, length_max + 1) : 0;
    if (length > length_max) return too_long;
    if (length == 0) return TROC_RESULT_OK;
    const bool valid = write->ledger->replaying
                           ? troc_text_valid_with_c1(text, length)
                           : troc_text_valid(text, length) && !troc_text_has_bidi_control(text, length);
    return valid ? TROC_RESULT_OK : TROC_RESULT_INVALID_TEXT;
}

int troc__reason_check(const troc_ledger_write *write, const char *reason) {
    if (reason == NULL || reason[0] == '\0') return TROC_RESULT_REASON_REQUIRED;
    const int code = troc__text_check(write, reason, TROC_REASON_LENGTH_MAX, TROC_RESULT_REASON_TOO_LONG);
    if (code != TROC_RESULT_OK) return code;
    if (!write->ledger->replaying && troc_text_blank(reason, strlen(reason))) return TROC_RESULT_REASON_REQUIRED;
    return TROC_RESULT_OK;
}

static int fields_check(const troc_ledger_write *write, const transfer *t) {
    size_t payer_length = strnlen(t->payer, TROC_NAME_LENGTH_MAX + 1);
    size_t payee_length = strnlen(t->payee, TROC_NAME_LENGTH_MAX + 1);
    if (!troc_name_valid(t->payer, payer_length) || !troc_name_valid(t->payee, payee_length)) {
        return TROC_RESULT_INVALID_NAME;
    }
    if (payer_length == payee_length && memcmp(t->payer, t->payee, payer_length) == 0) {
        return TROC_RESULT_SAME_ACCOUNT;
    }
    if (t->amount_cents <= 0) return TROC_RESULT_AMOUNT_NOT_POSITIVE;
    if (t->amount_cents > TROC_AMOUNT_CENTS_MAX) return TROC_RESULT_AMOUNT_TOO_LARGE;
    return troc__text_check(write, t->memo, TROC_MEMO_LENGTH_MAX, TROC_RESULT_MEMO_TOO_LONG);
}

/* Checks the two accounts' state for `amount`; returns a result code and,
 * when it is OK, the two balances and the territory's debt after it. */
static int state_check(const troc_ledger_write *write, const troc__slot *payer, const troc__slot *payee,
                       int64_t amount, int64_t *payer_after, int64_t *payee_after, int64_t *debt_after) {
    if (payer->current.flags & TROC__ACCOUNT_FROZEN) return TROC_RESULT_PAYER_FROZEN;
    if (payee->current.flags & TROC__ACCOUNT_FROZEN) return TROC_RESULT_PAYEE_FROZEN;
    if (__builtin_sub_overflow(payer->current.balance_cents, amount, payer_after)) {
        return TROC_RESULT_BALANCE_OVERFLOW;
    }
    if (*payer_after < -payer->current.credit_limit_cents) return TROC_RESULT_EXCEEDS_CREDIT_LIMIT;
    if (__builtin_add_overflow(payee->current.balance_cents, amount, payee_after)) {
        return TROC_RESULT_BALANCE_OVERFLOW;
    }
    if ((payee->current.flags & TROC__ACCOUNT_HAS_BALANCE_MAX) && *payee_after > payee->current.balance_max_cents) {
        return TROC_RESULT_EXCEEDS_BALANCE_MAX;
    }
    /* Each term lies in [0, amount]: the difference cannot overflow. */
    int64_t debt_change = (troc__debt_of(*payer_after) - troc__debt_of(payer->current.balance_cents)) -
                          (troc__debt_of(payee->current.balance_cents) - troc__debt_of(*payee_after));
    if (__builtin_add_overflow(write->debt_cents, debt_change, debt_after)) return TROC_RESULT_BALANCE_OVERFLOW;
    return TROC_RESULT_OK;
}

/* Moves the amount when the state allows it (and pays the invoice it
 * names); *code_out says whether. */
static int execute(troc_ledger_write *write, troc__slot *payer, const transfer *t, int *code_out) {
    troc__slot *payee = NULL;
    int rc = troc__slot_by_name(write, t->payee, strlen(t->payee), &payee);
    if (rc == TROC_ENOT_FOUND) {
        *code_out = TROC_RESULT_UNKNOWN_PAYEE;
        return 0;
    }
    if (rc != 0) return rc;
    troc__invoice_record invoice;
    if (t->invoice_id != NULL) {
        rc = troc__invoice_payment_check(write, t->invoice_id, payer->member_id, payee->member_id, t->amount_cents,
                                         &invoice, code_out);
        if (rc != 0 || *code_out != TROC_RESULT_OK) return rc;
    }
    int64_t payer_after, payee_after, debt_after;
    *code_out = state_check(write, payer, payee, t->amount_cents, &payer_after, &payee_after, &debt_after);
    if (*code_out != TROC_RESULT_OK) return 0;
    payer->current.balance_cents = payer_after;
    payee->current.balance_cents = payee_after;
    write->debt_cents = debt_after;
    size_t memo_length = t->memo != NULL ? strlen(t->memo) : 0;
    rc = troc__posting_append(write, TROC_LINE_TRANSFER, t->id, payer, payee, t->amount_cents, t->memo,
                              memo_length);
    write->state.transfers++;
    if (rc == 0 && t->invoice_id != NULL) rc = troc__invoice_reduce(write, t->invoice_id, &invoice, 0, t->amount_cents, NULL);
    return rc;
}

/* Resolves and authorises the payer: its member id, or a refusal code
 * (UNKNOWN_KEY for a key that is not registered or revoked, UNKNOWN_PAYER,
 * KEY_NOT_OWNED when the key is someone else's). */
static int payer_resolve(troc_ledger_write *write, const char *payer, const uint8_t *signer, uint32_t *payer_id,
                         int *code_out) {
    size_t length = strnlen(payer, TROC_NAME_LENGTH_MAX + 1);
    if (!troc_name_valid(payer, length)) {
        *code_out = TROC_RESULT_INVALID_NAME;
        return 0;
    }
    *payer_id = troc__directory_find(&write->ledger->members, payer, length);
    if (*payer_id != 0 && troc__directory_key_is(&write->ledger->members, *payer_id, signer)) {
        *code_out = TROC_RESULT_OK; /* the payer's usual key: no lookup */
        return 0;
    }
    troc__key_owner owner;
    int rc = troc__key_owner_get(write->txn, write->ledger, signer, &owner);
    if (rc == TROC_ENOT_FOUND || (rc == 0 && (owner.flags & TROC__KEY_REVOKED))) {
        *code_out = TROC_RESULT_UNKNOWN_KEY;
        return 0;
    }
    if (rc != 0) return troc__write_fail(write, rc);
    if (*payer_id == 0) *code_out = TROC_RESULT_UNKNOWN_PAYER;
    else if (owner.owner != *payer_id) *code_out = TROC_RESULT_KEY_NOT_OWNED;
    else *code_out = TROC_RESULT_OK;
    return 0;
}

/* Applies one transfer: claims its id (an id used before answers its
 * stored result into `answer`), checks its fields, authorises the payer
 * when `signer` is given (a batch authorised it once), then moves the
 * amount.  *code_out gets the transfer's code; a refused transfer releases
 * its id. */
static int transfer_apply(troc_ledger_write *write, const transfer *t, const uint8_t *signer, uint32_t payer_id,
                          troc_item_result *answer, int *code_out) {
    troc__id_record record = {.journal_seq = write->head.seq + 1,
                              .kind = TROC__V1__ENVELOPE_KIND__KIND_TRANSFER,
                              .code = TROC_RESULT_OK,
                              .item_index = t->item_index};
    troc__id_record existing;
    int rc = troc__ids_claim(write, t->id, &record, &existing);
    if (rc == 1) {
        troc__id_match match = {t->item, t->payer, t->payee, t->amount_cents, t->memo, t->invoice_id};
        rc = troc__ids_answer(write, &existing, &match, answer);
        *code_out = answer->code;
        return rc;
    }
    if (rc != 0) return rc;
    *code_out = fields_check(write, t);
    if (*code_out == TROC_RESULT_OK && signer != NULL) rc = payer_resolve(write, t->payer, signer, &payer_id, code_out);
    troc__slot *payer = NULL;
    if (rc == 0 && *code_out == TROC_RESULT_OK) rc = troc__slot_by_id(write, payer_id, &payer);
    if (rc == 0 && *code_out == TROC_RESULT_OK) rc = execute(write, payer, t, code_out);
    if (rc == 0 && *code_out != TROC_RESULT_OK) rc = troc__ids_release(write, t->id);
    return rc;
}

static bool id_present(protobuf_c_boolean has, ProtobufCBinaryData id) {
    return has && id.len == TROC_ID_SIZE && id.data != NULL;
}

int troc__apply_transfer(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    const Troc__V1__Transfer *body = item->decoded.transfer;
    if (body == NULL || !id_present(body->has_id, body->id) || body->payer == NULL || body->payee == NULL ||
        !body->has_amount_cents || (body->has_invoice_id && !id_present(body->has_invoice_id, body->invoice_id))) {
        result->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    if (!item->signature_valid) {
        result->code = TROC_RESULT_BAD_SIGNATURE;
        return 0;
    }
    transfer t = {item, 0, body->id.data, body->payer, body->payee, body->amount_cents, body->memo,
                  body->has_invoice_id ? body->invoice_id.data : NULL};
    int code = TROC_RESULT_OK;
    int rc = troc__cache_reserve(write, 2);
    if (rc == 0) rc = transfer_apply(write, &t, item->signer, 0, result, &code);
    if (rc != 0 || result->journal_seq != 0 || code != TROC_RESULT_OK) {
        result->code = code;
        return rc;
    }
    if ((rc = troc__write_journal(write, item)) != 0) return rc;
    result->code = TROC_RESULT_OK;
    result->journal_seq = write->head.seq;
    result->timestamp_us = write->timestamp_us;
    return 0;
}

/* The transfer of batch item `index`, or a refusal code for its shape. */
static int batch_item(const Troc__V1__TransferBatch *batch, size_t index, transfer *t) {
    const Troc__V1__BatchItem *item = batch->items[index];
    if (item == NULL || !id_present(item->has_id, item->id) || item->payee == NULL || !item->has_amount_cents) {
        return TROC_RESULT_MALFORMED;
    }
    /* The batch's id is recorded after its items: an item may not take it. */
    if (memcmp(item->id.data, batch->id.data, TROC_ID_SIZE) == 0) return TROC_RESULT_ID_REUSED;
    *t = (transfer){NULL, (uint16_t)index, item->id.data, batch->payer, item->payee, item->amount_cents, item->memo,
                    NULL};
    return TROC_RESULT_OK;
}

/* Applies every item; returns how many were answered OK in *ok_out. */
static int batch_items_apply(troc_ledger_write *write, const troc_item *item, const Troc__V1__TransferBatch *batch,
                             uint32_t payer_id, troc_item_result *result, size_t *ok_out) {
    size_t ok = 0;
    for (size_t i = 0; i < batch->n_items; i++) {
        transfer t;
        int code = batch_item(batch, i, &t);
        t.item = item;
        int rc = code == TROC_RESULT_OK ? troc__cache_reserve(write, 2) : 0;
        troc_item_result answer = {.item_codes = NULL};
        if (rc == 0 && code == TROC_RESULT_OK) rc = transfer_apply(write, &t, NULL, payer_id, &answer, &code);
        if (rc != 0) return rc;
        assert(code >= 0 && code <= UINT8_MAX);
        result->item_codes[i] = (uint16_t)code;
        if (code == TROC_RESULT_OK) ok++;
    }
    result->item_count = batch->n_items;
    *ok_out = ok;
    return 0;
}

/* Journals the batch and remembers its id with every item's code. */
static int batch_record(troc_ledger_write *write, const troc_item *item, const Troc__V1__TransferBatch *batch,
                        troc_item_result *result) {
    int rc = troc__write_journal(write, item);
    if (rc != 0) return rc;
    uint8_t codes[TROC_BATCH_ITEMS_MAX];
    for (size_t i = 0; i < result->item_count; i++) codes[i] = (uint8_t)result->item_codes[i];
    troc__id_record record = {.journal_seq = write->head.seq,
                              .kind = TROC__V1__ENVELOPE_KIND__KIND_BATCH,
                              .code = TROC_RESULT_OK,
                              .item_count = (uint16_t)result->item_count,
                              .item_codes = codes};
    MDB_val key = {TROC_ID_SIZE, batch->id.data}, value = {troc__id_record_size(&record), NULL};
    rc = mdb_put(write->txn, write->ledger->dbs[TROC__DB_IDS], &key, &value, MDB_NOOVERWRITE | MDB_RESERVE);
    assert(rc != MDB_KEYEXIST && "the batch id was free when the batch began");
    if (rc != 0) return troc__write_fail(write, rc);
    troc__id_record_encode(&record, value.mv_data);
    result->code = TROC_RESULT_OK;
    result->journal_seq = write->head.seq;
    result->timestamp_us = write->timestamp_us;
    return 0;
}

int troc__apply_batch(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    const Troc__V1__TransferBatch *batch = item->decoded.batch;
    result->code = TROC_RESULT_OK;
    /* A body that did not decode has no codes array: it is malformed
     * before anything needs one. */
    if (batch == NULL || !id_present(batch->has_id, batch->id) || batch->payer == NULL || batch->n_items == 0) {
        result->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    assert(result->item_codes != NULL);
    if (batch->n_items > TROC_BATCH_ITEMS_MAX) {
        result->code = TROC_RESULT_BATCH_TOO_LARGE;
    } else if (!item->signature_valid) {
        result->code = TROC_RESULT_BAD_SIGNATURE;
    }
    if (result->code != TROC_RESULT_OK) return 0;
    troc__id_record existing;
    int rc = troc__ids_get(write->txn, write->ledger, batch->id.data, &existing);
    if (rc == 0) return troc__ids_answer(write, &existing, &(troc__id_match){.item = item}, result);
    if (rc != TROC_ENOT_FOUND) return troc__write_fail(write, rc);
    uint32_t payer_id = 0;
    int code = TROC_RESULT_OK;
    if ((rc = troc__cache_reserve(write, 1)) != 0) return rc;
    if ((rc = payer_resolve(write, batch->payer, item->signer, &payer_id, &code)) != 0) return rc;
    if (code != TROC_RESULT_OK) {
        result->code = code;
        return 0;
    }
    size_t ok = 0;
    if ((rc = batch_items_apply(write, item, batch, payer_id, result, &ok)) != 0) return rc;
    if (ok == 0) {
        result->code = result->item_codes[0];
        return 0;
    }
    return batch_record(write, item, batch, result);
}
