/* SPDX-License-Identifier: Apache-2.0 */
/*
 * InvoiceQuery: a page of a member's invoices, or one invoice by its id.
 *
 * Who reads what.  A member session reads the invoices it is party to, as
 * debtor or creditor, and nothing else: an invoice of others is answered
 * "not found", exactly like an id that does not exist, so that a member
 * cannot learn which invoices other members exchange.  An admin session
 * reads every invoice; a list is always one member's (the admin names it),
 * because that is how the ledger indexes them.
 *
 * A page is at most TROC_PAGE_ROWS_MAX invoices, newest first, read in one
 * transaction on the loop thread (a cursor walk over one member's index);
 * `more` says whether older ones follow, and the client asks for them with
 * after_id set to the last invoice it received.
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "server_int.h"

/* Fills `message` from `invoice` (strings stay in `invoice`). */
static void invoice_message(Troc__V1__Invoice *message, troc_invoice *invoice) {
    troc__v1__invoice__init(message);
    message->has_id = 1;
    message->id = (ProtobufCBinaryData){TROC_ID_SIZE, invoice->id};
    message->creditor = invoice->creditor;
    message->debtor = invoice->debtor;
    message->has_amount_cents = 1;
    message->amount_cents = invoice->amount_cents;
    message->has_remaining_cents = 1;
    message->remaining_cents = invoice->remaining_cents;
    message->has_state = 1;
    message->state = (Troc__V1__InvoiceState)invoice->state;
    message->ref = invoice->ref[0] != '\0' ? invoice->ref : NULL;
    message->due = invoice->due[0] != '\0' ? invoice->due : NULL;
    message->has_issued_us = 1;
    message->issued_us = invoice->issued_us;
    message->has_paid_cents = 1;
    message->paid_cents = invoice->paid_cents;
    message->has_cleared_cents = 1;
    message->cleared_cents = invoice->cleared_cents;
    message->reject_reason = invoice->reject_reason[0] != '\0' ? invoice->reject_reason : NULL;
}

/* Sends the `count` invoices as an InvoiceList. */
static void reply_list(troc__conn *conn, uint64_t request_id, troc_invoice *invoices, size_t count, bool more) {
    troc_server *server = conn->server;
    Troc__V1__Invoice *messages = troc__scratch_alloc(server, (count + 1) * sizeof *messages);
    Troc__V1__Invoice **pointers = troc__scratch_alloc(server, (count + 1) * sizeof *pointers);
    if (messages == NULL || pointers == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for this page; ask for fewer invoices");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        invoice_message(&messages[i], &invoices[i]);
        pointers[i] = &messages[i];
    }
    Troc__V1__InvoiceList list = TROC__V1__INVOICE_LIST__INIT;
    list.n_invoices = count;
    list.invoices = pointers;
    list.has_more = 1;
    list.more = more;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_INVOICES;
    response.invoices = &list;
    troc__send_response(conn, &response);
}

static void reply_unknown_invoice(troc__conn *conn, uint64_t request_id) {
    troc__reply_error(conn, request_id, TROC_ENOT_FOUND, "unknown invoice (or not one of this member's)");
}

/* One invoice by id, if the session may see it. */
static void read_one(troc__conn *conn, uint64_t request_id, ProtobufCBinaryData id) {
    if (id.len != TROC_ID_SIZE) {
        troc__reply_error(conn, request_id, TROC_EUSAGE, "an invoice id is 16 bytes");
        return;
    }
    troc_invoice *invoice = troc__scratch_alloc(conn->server, sizeof *invoice);
    if (invoice == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for an invoice");
        return;
    }
    troc_ledger_read *read = NULL;
    if (troc__session_read_begin(conn, request_id, &read) != 0) return;
    int rc = troc_ledger_invoice(read, id.data, invoice);
    troc_ledger_read_end(read);
    bool party = rc == 0 && (conn->role == TROC_ROLE_ADMIN || strcmp(invoice->debtor, conn->member) == 0 ||
                             strcmp(invoice->creditor, conn->member) == 0);
    if (rc == TROC_ENOT_FOUND || (rc == 0 && !party)) {
        reply_unknown_invoice(conn, request_id);
    } else if (rc != 0) {
        troc__reply_read_error(conn, request_id, "", rc);
    } else {
        reply_list(conn, request_id, invoice, 1, false);
    }
}

void troc__invoices_read(troc__conn *conn, uint64_t request_id, const Troc__V1__InvoiceQuery *query) {
    assert(conn != NULL && query != NULL);
    assert(conn->role == TROC_ROLE_ADMIN || conn->role == TROC_ROLE_MEMBER);
    if (query->has_invoice_id) {
        read_one(conn, request_id, query->invoice_id);
        return;
    }
    const char *member = troc__session_member(conn, request_id, query->member);
    if (member == NULL) return;
    if (query->has_after_id && query->after_id.len != TROC_ID_SIZE) {
        troc__reply_error(conn, request_id, TROC_EUSAGE, "after_id is an invoice id of 16 bytes");
        return;
    }
    size_t capacity = query->has_limit && query->limit > 0 ? query->limit : TROC_PAGE_ROWS_MAX;
    if (capacity > TROC_PAGE_ROWS_MAX) capacity = TROC_PAGE_ROWS_MAX;
    troc_invoice *invoices = troc__scratch_alloc(conn->server, capacity * sizeof *invoices);
    if (invoices == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for this page; ask for fewer invoices");
        return;
    }
    unsigned roles = (query->has_as_debtor && query->as_debtor ? TROC_INVOICES_AS_DEBTOR : 0u) |
                     (query->has_as_creditor && query->as_creditor ? TROC_INVOICES_AS_CREDITOR : 0u);
    troc_ledger_read *read = NULL;
    if (troc__session_read_begin(conn, request_id, &read) != 0) return;
    size_t count = 0;
    bool more = false;
    int rc = troc_ledger_invoices(read, member, roles, query->has_open_only && query->open_only,
                                  query->has_after_id ? query->after_id.data : NULL, invoices, capacity, &count,
                                  &more);
    troc_ledger_read_end(read);
    if (rc == TROC_ENOT_FOUND && query->has_after_id) {
        troc__reply_error(conn, request_id, TROC_ENOT_FOUND,
                          "unknown member, or the invoice to list after is not one of its invoices");
        return;
    }
    if (rc != 0) {
        troc__reply_read_error(conn, request_id, member, rc);
        return;
    }
    assert(count <= capacity);
    reply_list(conn, request_id, invoices, count, more);
}
