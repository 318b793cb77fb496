/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Invoices: a page of a member's invoices, and one invoice by its id.  Each
 * is one synchronous InvoiceQuery; the answer is copied into the caller's
 * plain structs, every string bounded by its field.
 */
#include <assert.h>
#include <string.h>

#include "client_int.h"

_Static_assert(TROC_INVOICE_STATUS_CANCELLED == (int)TROC__V1__INVOICE_STATE__INVOICE_CANCELLED,
               "invoice states mirror the protocol's");

static void invoice_copy(const Troc__V1__Invoice *from, troc_invoice_record *to) {
    memset(to, 0, sizeof *to);
    if (from->has_id && from->id.len == TROC_ID_SIZE) memcpy(to->id, from->id.data, TROC_ID_SIZE);
    troc__copy_text(to->creditor, sizeof to->creditor, from->creditor);
    troc__copy_text(to->debtor, sizeof to->debtor, from->debtor);
    to->amount_cents = from->has_amount_cents ? from->amount_cents : 0;
    to->remaining_cents = from->has_remaining_cents ? from->remaining_cents : 0;
    to->paid_cents = from->has_paid_cents ? from->paid_cents : 0;
    to->cleared_cents = from->has_cleared_cents ? from->cleared_cents : 0;
    to->status = from->has_state ? (troc_invoice_status)from->state : TROC_INVOICE_STATUS_PENDING;
    troc__copy_text(to->ref, sizeof to->ref, from->ref);
    troc__copy_text(to->due, sizeof to->due, from->due);
    troc__copy_text(to->reject_reason, sizeof to->reject_reason, from->reject_reason);
    to->issued_us = from->has_issued_us ? from->issued_us : 0;
}

/* Sends `query` and returns the InvoiceList it got. */
static int invoice_call(troc_client *client, Troc__V1__InvoiceQuery *query, const Troc__V1__InvoiceList **list_out) {
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_INVOICES;
    request.invoices = query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_INVOICES) return troc__client_wrong_answer(client);
    *list_out = response->invoices;
    return 0;
}

int troc_client_invoices(troc_client *client, const troc_invoice_query *query, troc_invoice_record *invoices,
                         size_t capacity, size_t *count_out, bool *more_out) {
    assert(client != NULL && count_out != NULL && more_out != NULL);
    *count_out = 0;
    *more_out = false;
    if (query == NULL || invoices == NULL || capacity == 0 || capacity > TROC_PAGE_ROWS_MAX) {
        return troc__client_fail(client, TROC_EUSAGE, "a query, and a page of 1 to %d invoices", TROC_PAGE_ROWS_MAX);
    }
    if ((query->roles & ~(TROC_INVOICES_AS_DEBTOR | TROC_INVOICES_AS_CREDITOR)) != 0) {
        return troc__client_fail(client, TROC_EUSAGE, "roles holds unknown bits");
    }
    Troc__V1__InvoiceQuery message = TROC__V1__INVOICE_QUERY__INIT;
    message.member = (char *)query->member;
    message.has_open_only = query->open_only;
    message.open_only = query->open_only;
    message.has_as_debtor = message.as_debtor = (query->roles & TROC_INVOICES_AS_DEBTOR) != 0;
    message.has_as_creditor = message.as_creditor = (query->roles & TROC_INVOICES_AS_CREDITOR) != 0;
    message.has_after_id = query->after_id != NULL;
    message.after_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)query->after_id};
    message.has_limit = 1;
    message.limit = (uint32_t)capacity;
    const Troc__V1__InvoiceList *list = NULL;
    int rc = invoice_call(client, &message, &list);
    if (rc != 0) return rc;
    if (list->n_invoices > capacity) return troc__client_wrong_answer(client);
    for (size_t i = 0; i < list->n_invoices; i++) invoice_copy(list->invoices[i], &invoices[i]);
    *count_out = list->n_invoices;
    *more_out = list->has_more && list->more;
    return 0;
}

int troc_client_invoice(troc_client *client, const uint8_t id[TROC_ID_SIZE], troc_invoice_record *invoice) {
    assert(client != NULL && invoice != NULL);
    if (id == NULL) return troc__client_fail(client, TROC_EUSAGE, "no invoice id given");
    Troc__V1__InvoiceQuery message = TROC__V1__INVOICE_QUERY__INIT;
    message.has_invoice_id = 1;
    message.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)id};
    const Troc__V1__InvoiceList *list = NULL;
    int rc = invoice_call(client, &message, &list);
    if (rc != 0) return rc;
    if (list->n_invoices != 1) return troc__client_wrong_answer(client);
    invoice_copy(list->invoices[0], invoice);
    return 0;
}
