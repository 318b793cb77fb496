/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clearing rounds: an applied round with a page of its settlements, a dry
 * run (preview) on the current obligations, and the report of a round an
 * admin's CLEARING_RUN action ran (request.c copies it with the action's
 * result).  Each read is one synchronous ClearingQuery.
 */
#include <assert.h>
#include <string.h>

#include "client_int.h"

void troc__clearing_report_copy(const Troc__V1__ClearingSummary *from, troc_clearing_report *to) {
    assert(from != NULL && to != NULL);
    memset(to, 0, sizeof *to);
    to->run = from->has_run ? from->run : 0;
    to->applied = from->has_applied && from->applied;
    to->with_credit = from->has_with_credit && from->with_credit;
    to->timestamp_us = from->has_timestamp_us ? from->timestamp_us : 0;
    to->journal_seq = from->has_journal_seq ? from->journal_seq : 0;
    to->obligations = from->has_obligations ? from->obligations : 0;
    to->total_cents = from->has_total_cents ? from->total_cents : 0;
    to->cleared_cents = from->has_cleared_cents ? from->cleared_cents : 0;
    to->paid_cents = from->has_paid_cents ? from->paid_cents : 0;
    to->settlement_count = from->has_settlement_count ? from->settlement_count : 0;
    to->has_requested_by = from->has_requested_by && from->requested_by.len == TROC_ID_SIZE;
    if (to->has_requested_by) memcpy(to->requested_by, from->requested_by.data, TROC_ID_SIZE);
}

static void settlement_copy(const Troc__V1__Settlement *from, troc_clearing_settlement *to) {
    memset(to, 0, sizeof *to);
    if (from->has_invoice_id && from->invoice_id.len == TROC_ID_SIZE) {
        memcpy(to->invoice_id, from->invoice_id.data, TROC_ID_SIZE);
    }
    troc__copy_text(to->debtor, sizeof to->debtor, from->debtor);
    troc__copy_text(to->creditor, sizeof to->creditor, from->creditor);
    to->cleared_cents = from->has_cleared_cents ? from->cleared_cents : 0;
    to->paid_cents = from->has_paid_cents ? from->paid_cents : 0;
}

/* Sends `query` (with the page asked for) and copies the answer. */
static int clearing_call(troc_client *client, Troc__V1__ClearingQuery *query, troc_clearing_report *report,
                         troc_clearing_settlement *settlements, size_t offset, size_t capacity, size_t *count_out) {
    assert(client != NULL && count_out != NULL);
    *count_out = 0;
    if (report == NULL || capacity > TROC_PAGE_ROWS_MAX || (capacity > 0 && settlements == NULL) ||
        offset > UINT32_MAX) {
        return troc__client_fail(client, TROC_EUSAGE, "a report, and a page of 0 to %d settlements",
                                 TROC_PAGE_ROWS_MAX);
    }
    query->has_settlement_offset = offset > 0;
    query->settlement_offset = (uint32_t)offset;
    query->has_settlement_limit = capacity > 0;
    query->settlement_limit = (uint32_t)capacity;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_CLEARING;
    request.clearing = query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_CLEARING) return troc__client_wrong_answer(client);
    const Troc__V1__ClearingSummary *summary = response->clearing;
    if (summary->n_settlements > capacity) return troc__client_wrong_answer(client);
    troc__clearing_report_copy(summary, report);
    for (size_t i = 0; i < summary->n_settlements; i++) settlement_copy(summary->settlements[i], &settlements[i]);
    *count_out = summary->n_settlements;
    return 0;
}

int troc_client_clearing_round(troc_client *client, uint64_t run, troc_clearing_report *report,
                               troc_clearing_settlement *settlements, size_t offset, size_t capacity,
                               size_t *count_out) {
    Troc__V1__ClearingQuery query = TROC__V1__CLEARING_QUERY__INIT;
    query.has_run = run != 0;
    query.run = run;
    return clearing_call(client, &query, report, settlements, offset, capacity, count_out);
}

int troc_client_clearing_preview(troc_client *client, bool with_credit, troc_clearing_report *report,
                                 troc_clearing_settlement *settlements, size_t offset, size_t capacity,
                                 size_t *count_out) {
    Troc__V1__ClearingQuery query = TROC__V1__CLEARING_QUERY__INIT;
    query.has_preview = query.preview = 1;
    query.has_with_credit = with_credit;
    query.with_credit = with_credit;
    return clearing_call(client, &query, report, settlements, offset, capacity, count_out);
}
