/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Invoices and obligations (design decision 6).  A creditor issues an
 * invoice to a debtor (InvoiceAction{issue}, signed by one of the
 * creditor's keys; the invoice takes the action's id); the debtor accepts
 * it, and it becomes an open obligation, or rejects it with a reason; the
 * creditor may cancel it while it is pending.  An open obligation is paid
 * in credit by transfers that name it (fully or in part, never beyond what
 * remains: EXCEEDS_OBLIGATION), and set off or paid by clearing rounds
 * (clearing.c); when nothing remains it is settled.
 *
 * Every change stamps the invoice with the journal seq of its entry (its
 * version), which is how a clearing round knows that nothing it touches
 * changed since its snapshot.  Indexes: each invoice is listed for its
 * debtor and its creditor among all their invoices and, while pending or
 * open, among their live ones; open obligations are also listed in the
 * order they were accepted (the snapshot's order).  Running totals in meta
 * count pending invoices, open obligations and what remains of them.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "base/text.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

int troc__invoice_get(MDB_txn *txn, const troc_ledger *ledger, const uint8_t id[TROC_ID_SIZE],
                      troc__invoice_record *invoice_out) {
    assert(txn != NULL && id != NULL && invoice_out != NULL);
    MDB_val key = {TROC_ID_SIZE, (void *)id}, value;
    int rc = mdb_get(txn, ledger->dbs[TROC__DB_INVOICES], &key, &value);
    if (rc == MDB_NOTFOUND) return TROC_ENOT_FOUND;
    if (rc != 0) return rc;
    return troc__invoice_decode(&value, invoice_out);
}

/* Stores an invoice, stamped with the entry being applied. */
static int invoice_put(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], troc__invoice_record *invoice) {
    invoice->version = write->head.seq + 1;
    invoice->changed_us = write->timestamp_us;
    uint8_t value[TROC__INVOICE_RECORD_SIZE_MAX];
    size_t size = troc__invoice_encode(invoice, value);
    return troc__put(write, TROC__DB_INVOICES, id, TROC_ID_SIZE, value, size, 0);
}

/* Adds (`add`) or removes the invoice's two keys in an index database. */
static int index_update(troc_ledger_write *write, troc__db db, const uint8_t id[TROC_ID_SIZE],
                        const troc__invoice_record *invoice, bool add) {
    const uint32_t members[2] = {invoice->debtor, invoice->creditor};
    const uint8_t roles[2] = {TROC__ROLE_DEBTOR, TROC__ROLE_CREDITOR};
    for (int i = 0; i < 2; i++) {
        uint8_t key[13];
        troc__invoice_index_key(members[i], invoice->issued_seq, roles[i], key);
        int rc = 0;
        if (add) {
            rc = troc__put(write, db, key, sizeof key, id, TROC_ID_SIZE, 0);
        } else {
            MDB_val k = {sizeof key, key};
            rc = mdb_del(write->txn, write->ledger->dbs[db], &k, NULL);
            if (rc != 0) return troc__write_fail(write, rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

/* The open-obligations index, keyed by the acceptance's journal seq. */
static int obligation_index_update(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE],
                                   const troc__invoice_record *invoice, bool add) {
    uint8_t key[8];
    troc__seq_key(invoice->accepted_seq, key);
    if (add) return troc__put(write, TROC__DB_OBLIGATIONS, key, sizeof key, id, TROC_ID_SIZE, MDB_APPEND);
    MDB_val k = {sizeof key, key};
    int rc = mdb_del(write->txn, write->ledger->dbs[TROC__DB_OBLIGATIONS], &k, NULL);
    return rc != 0 ? troc__write_fail(write, rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc) : 0;
}

/* ------------------------------------------------------------ payments */

int troc__invoice_payment_check(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], uint32_t payer_id,
                                uint32_t payee_id, int64_t amount_cents, troc__invoice_record *invoice_out,
                                int *code_out) {
    int rc = troc__invoice_get(write->txn, write->ledger, id, invoice_out);
    if (rc == TROC_ENOT_FOUND) {
        *code_out = TROC_RESULT_UNKNOWN_INVOICE;
        return 0;
    }
    if (rc != 0) return troc__write_fail(write, rc);
    if (invoice_out->debtor != payer_id && invoice_out->creditor != payer_id) {
        *code_out = TROC_RESULT_UNKNOWN_INVOICE; /* not party to it: as if it did not exist */
    } else if (invoice_out->state != TROC_INVOICE_OPEN) {
        *code_out = TROC_RESULT_INVOICE_NOT_OPEN;
    } else if (invoice_out->debtor != payer_id) {
        *code_out = TROC_RESULT_NOT_DEBTOR;
    } else if (invoice_out->creditor != payee_id) {
        *code_out = TROC_RESULT_NOT_CREDITOR;
    } else if (amount_cents > invoice_out->remaining_cents) {
        *code_out = TROC_RESULT_EXCEEDS_OBLIGATION;
    } else {
        *code_out = TROC_RESULT_OK;
    }
    return 0;
}

/* A clearing round settles tens of thousands of obligations, and deleting
 * their index entries one by one, in the round's order, was most of its
 * cost: each deletion searched its B-tree from the root and dirtied a page
 * of its own.  So a round collects them, sorts them and deletes them in key
 * order through one cursor per index: consecutive deletions fall on the
 * same pages, and LMDB's cursor finds a key on the page it is already on
 * without searching from the root.  The entries removed are the same. */

int troc__index_removals_init(troc__index_removals *removals, size_t obligations) {
    *removals = (troc__index_removals){0};
    removals->live = malloc((2 * obligations + 1) * sizeof *removals->live);
    removals->open = malloc((obligations + 1) * sizeof *removals->open);
    if (removals->live == NULL || removals->open == NULL) {
        troc__index_removals_free(removals);
        return -ENOMEM;
    }
    return 0;
}

void troc__index_removals_free(troc__index_removals *removals) {
    free(removals->live);
    free(removals->open);
    *removals = (troc__index_removals){0};
}

/* Sorts `count` keys of `width` bytes in memcmp order: a radix sort, least
 * significant byte first, skipping the bytes all keys share (the high
 * bytes of member ids and journal seqs). */
static int keys_sort(uint8_t *keys, size_t count, size_t width) {
    uint8_t *scratch = malloc(count * width + 1);
    if (scratch == NULL) return -ENOMEM;
    uint8_t *from = keys, *to = scratch;
    for (size_t byte = width; byte-- > 0;) {
        size_t starts[256] = {0};
        for (size_t i = 0; i < count; i++) starts[from[i * width + byte]]++;
        if (count == 0 || starts[from[byte]] == count) continue;
        for (size_t value = 0, sum = 0; value < 256; value++) {
            const size_t n = starts[value];
            starts[value] = sum;
            sum += n;
        }
        for (size_t i = 0; i < count; i++) memcpy(to + starts[from[i * width + byte]]++ * width, from + i * width, width);
        uint8_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != keys) memcpy(keys, from, count * width);
    free(scratch);
    return 0;
}

static int delete_sorted(troc_ledger_write *write, troc__db db, uint8_t *keys, size_t count, size_t width) {
    int rc = keys_sort(keys, count, width);
    if (rc != 0) return troc__write_fail(write, rc);
    MDB_cursor *cursor = NULL;
    rc = mdb_cursor_open(write->txn, write->ledger->dbs[db], &cursor);
    for (size_t i = 0; i < count && rc == 0; i++) {
        MDB_val key = {width, keys + i * width};
        rc = mdb_cursor_get(cursor, &key, NULL, MDB_SET);
        if (rc == 0) rc = mdb_cursor_del(cursor, 0);
    }
    if (cursor != NULL) mdb_cursor_close(cursor);
    return rc != 0 ? troc__write_fail(write, rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc) : 0;
}

int troc__index_removals_apply(troc_ledger_write *write, troc__index_removals *removals) {
    int rc = delete_sorted(write, TROC__DB_OBLIGATIONS, &removals->open[0][0], removals->open_count, 8);
    if (rc == 0) rc = delete_sorted(write, TROC__DB_LIVE_INVOICES, &removals->live[0][0], removals->live_count, 13);
    removals->open_count = removals->live_count = 0;
    return rc;
}

int troc__invoice_reduce(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], troc__invoice_record *invoice,
                         int64_t cleared_cents, int64_t paid_cents, troc__index_removals *removals) {
    assert(invoice->state == TROC_INVOICE_OPEN && cleared_cents >= 0 && paid_cents >= 0);
    int64_t reduction = cleared_cents + paid_cents;
    assert(reduction > 0 && reduction <= invoice->remaining_cents);
    invoice->remaining_cents -= reduction;
    invoice->cleared_cents += cleared_cents;
    invoice->paid_cents += paid_cents;
    write->state.obligations_cents -= reduction;
    int rc = 0;
    if (invoice->remaining_cents == 0) {
        invoice->state = TROC_INVOICE_SETTLED;
        write->state.obligations_open--;
        if (removals != NULL) {
            troc__seq_key(invoice->accepted_seq, removals->open[removals->open_count++]);
            troc__invoice_index_key(invoice->debtor, invoice->issued_seq, TROC__ROLE_DEBTOR,
                                    removals->live[removals->live_count++]);
            troc__invoice_index_key(invoice->creditor, invoice->issued_seq, TROC__ROLE_CREDITOR,
                                    removals->live[removals->live_count++]);
        } else {
            rc = obligation_index_update(write, id, invoice, false);
            if (rc == 0) rc = index_update(write, TROC__DB_LIVE_INVOICES, id, invoice, false);
        }
    }
    assert(write->state.obligations_cents >= 0);
    return rc != 0 ? rc : invoice_put(write, id, invoice);
}

/* ------------------------------------------------------------- actions */

/* What every handler receives. */
typedef struct action {
    troc_ledger_write *write;
    const uint8_t *id;                     /* the action's id: the invoice id of an issue */
    uint32_t signer_member;                /* the member whose key signed */
    int code;
} action;

/* Field checks of an issue; a result code. */
static int issue_fields_check(const troc_ledger_write *write, const Troc__V1__InvoiceIssue *issue) {
    size_t creditor = strnlen(issue->creditor, TROC_NAME_LENGTH_MAX + 1);
    size_t debtor = strnlen(issue->debtor, TROC_NAME_LENGTH_MAX + 1);
    if (!troc_name_valid(issue->creditor, creditor) || !troc_name_valid(issue->debtor, debtor)) {
        return TROC_RESULT_INVALID_NAME;
    }
    if (strcmp(issue->creditor, issue->debtor) == 0) return TROC_RESULT_SAME_ACCOUNT;
    if (issue->amount_cents <= 0) return TROC_RESULT_AMOUNT_NOT_POSITIVE;
    if (issue->amount_cents > TROC_AMOUNT_CENTS_MAX) return TROC_RESULT_AMOUNT_TOO_LARGE;
    int code = troc__text_check(write, issue->ref, TROC_INVOICE_REF_LENGTH_MAX, TROC_RESULT_REF_TOO_LONG);
    if (code == TROC_RESULT_OK && issue->due != NULL && !troc_date_valid(issue->due)) code = TROC_RESULT_INVALID_DATE;
    return code;
}

static int member_of(action *a, const char *name, uint32_t *member_id, int unknown_code) {
    int rc = troc__member_id(a->write->txn, a->write->ledger, name, member_id);
    if (rc == TROC_ENOT_FOUND) {
        a->code = unknown_code;
        return 0;
    }
    return rc != 0 ? troc__write_fail(a->write, rc) : 0;
}

static int issue(action *a, const Troc__V1__InvoiceIssue *issue) {
    if (issue == NULL || issue->creditor == NULL || issue->debtor == NULL || !issue->has_amount_cents) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    a->code = issue_fields_check(a->write, issue);
    uint32_t creditor = 0, debtor = 0;
    int rc = 0;
    if (a->code == TROC_RESULT_OK) rc = member_of(a, issue->creditor, &creditor, TROC_RESULT_UNKNOWN_MEMBER);
    if (rc == 0 && a->code == TROC_RESULT_OK && creditor != a->signer_member) a->code = TROC_RESULT_KEY_NOT_OWNED;
    if (rc == 0 && a->code == TROC_RESULT_OK) rc = member_of(a, issue->debtor, &debtor, TROC_RESULT_UNKNOWN_MEMBER);
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    troc__invoice_record invoice = {
        .creditor = creditor,
        .debtor = debtor,
        .amount_cents = issue->amount_cents,
        .remaining_cents = issue->amount_cents,
        .issued_us = a->write->timestamp_us,
        .issued_seq = a->write->head.seq + 1,
        .state = TROC_INVOICE_PENDING,
    };
    snprintf(invoice.ref, sizeof invoice.ref, "%s", issue->ref != NULL ? issue->ref : "");
    snprintf(invoice.due, sizeof invoice.due, "%s", issue->due != NULL ? issue->due : "");
    a->write->state.invoices_pending++;
    rc = index_update(a->write, TROC__DB_MEMBER_INVOICES, a->id, &invoice, true);
    if (rc == 0) rc = index_update(a->write, TROC__DB_LIVE_INVOICES, a->id, &invoice, true);
    return rc != 0 ? rc : invoice_put(a->write, a->id, &invoice);
}

/* Loads the invoice an accept, reject or cancel names, checking who may act
 * on it and that it is pending.  To a member not party to it, the invoice
 * does not exist (a member cannot see invoices it is not party to). */
static int pending_find(action *a, const Troc__V1__InvoiceRef *ref_body, const uint8_t **id_out,
                        troc__invoice_record *invoice, bool by_debtor) {
    if (ref_body == NULL || !ref_body->has_invoice_id || ref_body->invoice_id.len != TROC_ID_SIZE) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    *id_out = ref_body->invoice_id.data;
    int rc = troc__invoice_get(a->write->txn, a->write->ledger, *id_out, invoice);
    if (rc == TROC_ENOT_FOUND) {
        a->code = TROC_RESULT_UNKNOWN_INVOICE;
        return 0;
    }
    if (rc != 0) return troc__write_fail(a->write, rc);
    if (invoice->debtor != a->signer_member && invoice->creditor != a->signer_member) {
        a->code = TROC_RESULT_UNKNOWN_INVOICE;
    } else if (by_debtor && invoice->debtor != a->signer_member) {
        a->code = TROC_RESULT_NOT_DEBTOR;
    } else if (!by_debtor && invoice->creditor != a->signer_member) {
        a->code = TROC_RESULT_NOT_CREDITOR;
    } else if (invoice->state != TROC_INVOICE_PENDING) {
        a->code = TROC_RESULT_INVOICE_NOT_PENDING;
    }
    return 0;
}

static int accept(action *a, const Troc__V1__InvoiceRef *body) {
    const uint8_t *id = NULL;
    troc__invoice_record invoice;
    int rc = pending_find(a, body, &id, &invoice, true);
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    troc__state *state = &a->write->state;
    /* Every round takes all open obligations into one problem, which the
     * solver bounds: past either bound no round could run, for anyone.  A
     * ledger written before the total was bounded may hold more (replay
     * applies its accepts as they were; live, it takes no more). */
    const int64_t room = TROC_CLEARING_TOTAL_CENTS_MAX - state->obligations_cents;
    int64_t total = 0;
    if (state->obligations_open >= TROC_OBLIGATIONS_OPEN_MAX ||
        __builtin_add_overflow(state->obligations_cents, invoice.remaining_cents, &total) ||
        (!a->write->ledger->replaying && invoice.remaining_cents > room)) {
        a->code = TROC_RESULT_OBLIGATIONS_FULL;
        return 0;
    }
    state->obligations_cents = total;
    invoice.state = TROC_INVOICE_OPEN;
    invoice.accepted_seq = a->write->head.seq + 1;
    state->invoices_pending--;
    state->obligations_open++;
    rc = obligation_index_update(a->write, id, &invoice, true);
    return rc != 0 ? rc : invoice_put(a->write, id, &invoice);
}

/* Rejects (by the debtor, with a reason) or cancels (by the creditor). */
static int close_pending(action *a, const Troc__V1__InvoiceRef *body, const char *reason, troc_invoice_state state) {
    const uint8_t *id = NULL;
    troc__invoice_record invoice;
    int rc = pending_find(a, body, &id, &invoice, state == TROC_INVOICE_REJECTED);
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    invoice.state = (uint8_t)state;
    snprintf(invoice.reason, sizeof invoice.reason, "%s", reason != NULL ? reason : "");
    a->write->state.invoices_pending--;
    rc = index_update(a->write, TROC__DB_LIVE_INVOICES, id, &invoice, false);
    return rc != 0 ? rc : invoice_put(a->write, id, &invoice);
}

static int reject(action *a, const Troc__V1__InvoiceReject *body) {
    if (body == NULL) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    a->code = troc__reason_check(a->write, body->reason);
    if (a->code != TROC_RESULT_OK) return 0;
    Troc__V1__InvoiceRef ref = TROC__V1__INVOICE_REF__INIT;
    ref.has_invoice_id = body->has_invoice_id;
    ref.invoice_id = body->invoice_id;
    return close_pending(a, &ref, body->reason, TROC_INVOICE_REJECTED);
}

/* The member whose key signed; sets the action's code when none. */
static int signer_member(action *a, const uint8_t *signer) {
    troc__key_owner owner;
    int rc = troc__key_owner_get(a->write->txn, a->write->ledger, signer, &owner);
    if (rc == TROC_ENOT_FOUND || (rc == 0 && ((owner.flags & TROC__KEY_REVOKED) || owner.owner == TROC__OWNER_ADMIN))) {
        a->code = rc == 0 && owner.owner == TROC__OWNER_ADMIN ? TROC_RESULT_KEY_NOT_OWNED : TROC_RESULT_UNKNOWN_KEY;
        return 0;
    }
    if (rc != 0) return troc__write_fail(a->write, rc);
    a->signer_member = owner.owner;
    return 0;
}

int troc__apply_invoice(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    const Troc__V1__InvoiceAction *body = item->decoded.invoice;
    bool well_formed = body != NULL && body->has_id && body->id.len == TROC_ID_SIZE &&
                       body->action_case != TROC__V1__INVOICE_ACTION__ACTION__NOT_SET;
    int rc = troc__action_open(write, item, well_formed, well_formed ? body->id.data : NULL, result);
    if (rc != 0) return rc > 0 ? 0 : rc;
    action a = {.write = write, .id = body->id.data, .code = TROC_RESULT_OK};
    if ((rc = signer_member(&a, item->signer)) != 0) return rc;
    if (a.code == TROC_RESULT_OK) {
        switch (body->action_case) {
        case TROC__V1__INVOICE_ACTION__ACTION_ISSUE: rc = issue(&a, body->issue); break;
        case TROC__V1__INVOICE_ACTION__ACTION_ACCEPT: rc = accept(&a, body->accept); break;
        case TROC__V1__INVOICE_ACTION__ACTION_REJECT: rc = reject(&a, body->reject); break;
        case TROC__V1__INVOICE_ACTION__ACTION_CANCEL:
            rc = close_pending(&a, body->cancel, NULL, TROC_INVOICE_CANCELLED);
            break;
        default: a.code = TROC_RESULT_MALFORMED; break;
        }
    }
    if (rc != 0) return rc;
    if (a.code != TROC_RESULT_OK) {
        result->code = a.code;
        return 0;
    }
    return troc__action_record(write, item, body->id.data, result);
}

/* --------------------------------------------------------------- reads */

static int invoice_fill(troc_ledger_read *read, const uint8_t id[TROC_ID_SIZE], const troc__invoice_record *record,
                        troc_invoice *out) {
    memcpy(out->id, id, TROC_ID_SIZE);
    out->amount_cents = record->amount_cents;
    /* A rejected or cancelled invoice is owed by no one: what the record
     * kept from before is not shown as remaining. */
    const bool void_invoice = record->state == TROC_INVOICE_REJECTED || record->state == TROC_INVOICE_CANCELLED;
    out->remaining_cents = void_invoice ? 0 : record->remaining_cents;
    out->paid_cents = record->paid_cents;
    out->cleared_cents = record->cleared_cents;
    out->state = (troc_invoice_state)record->state;
    memcpy(out->ref, record->ref, sizeof out->ref);
    memcpy(out->due, record->due, sizeof out->due);
    memcpy(out->reject_reason, record->reason, sizeof out->reject_reason);
    out->issued_us = record->issued_us;
    out->issued_seq = record->issued_seq;
    out->version = record->version;
    int rc = troc__member_name(read->txn, read->ledger, record->creditor, out->creditor);
    return rc != 0 ? rc : troc__member_name(read->txn, read->ledger, record->debtor, out->debtor);
}

int troc_ledger_invoice(troc_ledger_read *read, const uint8_t id[TROC_ID_SIZE], troc_invoice *invoice_out) {
    assert(read != NULL && id != NULL && invoice_out != NULL);
    troc__invoice_record record;
    int rc = troc__invoice_get(read->txn, read->ledger, id, &record);
    return rc != 0 ? rc : invoice_fill(read, id, &record, invoice_out);
}

/* Positions `cursor` on the newest index key of `member_id` before
 * `issued_seq` (UINT64_MAX: the newest of all). */
static int index_start(MDB_cursor *cursor, uint32_t member_id, uint64_t issued_seq, MDB_val *key, MDB_val *value) {
    uint8_t start[13];
    troc__invoice_index_key(member_id, issued_seq, 0, start);
    *key = (MDB_val){sizeof start, start};
    int rc = mdb_cursor_get(cursor, key, value, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) return mdb_cursor_get(cursor, key, value, MDB_LAST);
    return rc != 0 ? rc : mdb_cursor_get(cursor, key, value, MDB_PREV);
}

/* The page after `after_id`: where to start, checking it is the member's. */
static int after_seq(troc_ledger_read *read, uint32_t member_id, const uint8_t *after_id, uint64_t *seq_out) {
    *seq_out = UINT64_MAX;
    if (after_id == NULL) return 0;
    troc__invoice_record after;
    int rc = troc__invoice_get(read->txn, read->ledger, after_id, &after);
    if (rc != 0) return rc;
    if (after.debtor != member_id && after.creditor != member_id) return TROC_ENOT_FOUND;
    *seq_out = after.issued_seq;
    return 0;
}

int troc_ledger_invoices(troc_ledger_read *read, const char *member, unsigned roles, bool live_only,
                         const uint8_t *after_id, troc_invoice *invoices, size_t capacity, size_t *count_out,
                         bool *more_out) {
    assert(read != NULL && member != NULL && invoices != NULL && count_out != NULL && more_out != NULL);
    assert(capacity >= 1 && capacity <= TROC_PAGE_ROWS_MAX);
    *count_out = 0;
    *more_out = false;
    if (roles == 0) roles = TROC_INVOICES_AS_DEBTOR | TROC_INVOICES_AS_CREDITOR;
    uint32_t member_id;
    uint64_t start_seq;
    int rc = troc__member_id(read->txn, read->ledger, member, &member_id);
    if (rc == 0) rc = after_seq(read, member_id, after_id, &start_seq);
    if (rc != 0) return rc;
    troc__db db = live_only ? TROC__DB_LIVE_INVOICES : TROC__DB_MEMBER_INVOICES;
    MDB_cursor *cursor = NULL;
    if ((rc = mdb_cursor_open(read->txn, read->ledger->dbs[db], &cursor)) != 0) return rc;
    MDB_val key, value;
    size_t count = 0;
    int step = index_start(cursor, member_id, start_seq, &key, &value);
    /* Bounded by the member's invoices: each step moves the cursor back. */
    while (step == 0 && key.mv_size == 13 && troc__be32_read(key.mv_data) == member_id) {
        uint8_t role = ((const uint8_t *)key.mv_data)[12];
        bool wanted = (role == TROC__ROLE_DEBTOR && (roles & TROC_INVOICES_AS_DEBTOR)) ||
                      (role == TROC__ROLE_CREDITOR && (roles & TROC_INVOICES_AS_CREDITOR));
        if (wanted && count == capacity) {
            *more_out = true;
            break;
        }
        if (wanted && value.mv_size != TROC_ID_SIZE) rc = TROC_ECORRUPT;
        if (wanted && rc == 0) rc = troc_ledger_invoice(read, value.mv_data, &invoices[count]);
        if (rc != 0) break;
        if (wanted) count++;
        step = mdb_cursor_get(cursor, &key, &value, MDB_PREV);
    }
    if (rc == 0 && step != 0 && step != MDB_NOTFOUND) rc = step;
    mdb_cursor_close(cursor);
    *count_out = count;
    return rc;
}
