/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads: a balance, a page of the statement, a member's record and the
 * territory's statistics.  Each is one synchronous request; the answer is
 * copied into the caller's plain structs, with every string bounded by the
 * struct's field (names and memos the ledger validated never exceed them;
 * anything longer from a broken server is cut, not overflowed).
 */
#include <assert.h>
#include <string.h>

#include "client_int.h"

/* A member record holds everything the ledger lists. */
_Static_assert(TROC_MEMBER_RECORD_KEYS_MAX >= TROC_MEMBER_KEY_RECORDS_MAX, "every key record fits");
_Static_assert(TROC_MEMBER_RECORD_CHANGES_MAX >= TROC_LIMIT_CHANGES_LISTED_MAX, "every listed change fits");

int troc__client_wrong_answer(troc_client *client) {
    troc__client_reset(client);
    return troc__client_fail(client, TROC_EPROTOCOL, "%s answered with another kind of reply", client->address);
}

static void balance_copy(const Troc__V1__Balance *from, troc_balance *to) {
    memset(to, 0, sizeof *to);
    troc__copy_text(to->member, sizeof to->member, from->member);
    to->balance_cents = from->has_balance_cents ? from->balance_cents : 0;
    to->credit_limit_cents = from->has_credit_limit_cents ? from->credit_limit_cents : 0;
    to->has_balance_max = from->has_balance_max_cents;
    to->balance_max_cents = from->has_balance_max_cents ? from->balance_max_cents : 0;
    to->frozen = from->has_frozen && from->frozen;
}

/* TROC_ENAME for "": no name, not the session's own (NULL is), which the
 * wire could not tell apart (an empty string is an absent one). */
static int member_check(troc_client *client, const char *member) {
    if (member == NULL || member[0] != '\0') return 0;
    return troc__client_fail(client, TROC_ENAME, "\"\" is not a member's name; pass NULL for the session's own");
}

int troc_client_balance(troc_client *client, const char *member, troc_balance *balance) {
    assert(client != NULL && balance != NULL);
    if (member_check(client, member) != 0) return TROC_ENAME;
    Troc__V1__BalanceQuery query = TROC__V1__BALANCE_QUERY__INIT;
    query.member = (char *)member;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_BALANCE) return troc__client_wrong_answer(client);
    balance_copy(response->balance, balance);
    return 0;
}

int troc_client_member_list(troc_client *client, const char *after, unsigned only, troc_balance *members,
                            size_t capacity, size_t *count_out, char next_after_out[TROC_NAME_LENGTH_MAX + 1]) {
    assert(client != NULL && count_out != NULL && next_after_out != NULL);
    *count_out = 0;
    if (members == NULL || capacity == 0 || capacity > TROC_PAGE_ROWS_MAX) {
        next_after_out[0] = '\0';
        return troc__client_fail(client, TROC_EUSAGE, "a page holds 1 to %d members", TROC_PAGE_ROWS_MAX);
    }
    if ((only & ~(TROC_MEMBER_LIST_OVER_LIMIT | TROC_MEMBER_LIST_FROZEN)) != 0) {
        next_after_out[0] = '\0';
        return troc__client_fail(client, TROC_EUSAGE, "unknown member list filter 0x%x", only);
    }
    Troc__V1__MemberListQuery query = TROC__V1__MEMBER_LIST_QUERY__INIT;
    query.after = after != NULL && after[0] != '\0' ? (char *)after : NULL;
    query.has_limit = 1;
    query.limit = (uint32_t)capacity;
    query.has_over_limit_only = (only & TROC_MEMBER_LIST_OVER_LIMIT) != 0;
    query.over_limit_only = query.has_over_limit_only;
    query.has_frozen_only = (only & TROC_MEMBER_LIST_FROZEN) != 0;
    query.frozen_only = query.has_frozen_only;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBERS;
    request.members = &query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    next_after_out[0] = '\0'; /* only once sent: `after` may be this very buffer (the paging loop) */
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_MEMBERS) return troc__client_wrong_answer(client);
    const Troc__V1__MemberList *list = response->members;
    if (list->n_members > capacity) return troc__client_wrong_answer(client);
    for (size_t i = 0; i < list->n_members; i++) balance_copy(list->members[i], &members[i]);
    *count_out = list->n_members;
    troc__copy_text(next_after_out, TROC_NAME_LENGTH_MAX + 1, list->next_after);
    return 0;
}

static void line_copy(const Troc__V1__StatementLine *from, troc_history_line *to) {
    memset(to, 0, sizeof *to);
    to->seq = from->has_seq ? from->seq : 0;
    to->timestamp_us = from->has_timestamp_us ? from->timestamp_us : 0;
    to->kind = from->has_kind ? (troc_history_kind)from->kind : TROC_HISTORY_TRANSFER;
    if (from->has_id && from->id.len == TROC_ID_SIZE) memcpy(to->id, from->id.data, TROC_ID_SIZE);
    troc__copy_text(to->counterparty, sizeof to->counterparty, from->counterparty);
    to->amount_cents = from->has_amount_cents ? from->amount_cents : 0;
    to->balance_after_cents = from->has_balance_after_cents ? from->balance_after_cents : 0;
    troc__copy_text(to->memo, sizeof to->memo, from->memo);
}

int troc_client_history(troc_client *client, const char *member, uint64_t before_seq, troc_history_line *lines,
                        size_t lines_max, size_t *count_out, uint64_t *next_before_seq_out) {
    assert(client != NULL && count_out != NULL && next_before_seq_out != NULL);
    *count_out = 0;
    *next_before_seq_out = 0;
    if (lines == NULL || lines_max == 0 || lines_max > TROC_PAGE_ROWS_MAX) {
        return troc__client_fail(client, TROC_EUSAGE, "a page holds 1 to %d lines", TROC_PAGE_ROWS_MAX);
    }
    if (member_check(client, member) != 0) return TROC_ENAME;
    Troc__V1__HistoryQuery query = TROC__V1__HISTORY_QUERY__INIT;
    query.member = (char *)member;
    query.has_before_seq = before_seq != 0;
    query.before_seq = before_seq;
    query.has_limit = 1;
    query.limit = (uint32_t)lines_max;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_HISTORY;
    request.history = &query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_HISTORY) return troc__client_wrong_answer(client);
    const Troc__V1__History *history = response->history;
    if (history->n_lines > lines_max) return troc__client_wrong_answer(client);
    for (size_t i = 0; i < history->n_lines; i++) line_copy(history->lines[i], &lines[i]);
    *count_out = history->n_lines;
    *next_before_seq_out = history->has_next_before_seq ? history->next_before_seq : 0;
    return 0;
}

static void member_info_copy(const Troc__V1__MemberInfo *from, troc_member_record *to) {
    memset(to, 0, sizeof *to);
    if (from->account != NULL) balance_copy(from->account, &to->account);
    to->admitted_us = from->has_admitted_us ? from->admitted_us : 0;
    troc__copy_text(to->freeze_reason, sizeof to->freeze_reason, from->freeze_reason);
    for (size_t i = 0; i < from->n_keys && to->key_count < TROC_MEMBER_RECORD_KEYS_MAX; i++) {
        const Troc__V1__MemberKeyInfo *key = from->keys[i];
        if (!key->has_public_key || key->public_key.len != TROC_PUBLIC_KEY_SIZE) continue;
        troc_key_record *out = &to->keys[to->key_count++];
        memcpy(out->public_key, key->public_key.data, TROC_PUBLIC_KEY_SIZE);
        out->revoked = key->has_revoked && key->revoked;
    }
    for (size_t i = 0; i < from->n_limit_changes && i < TROC_MEMBER_RECORD_CHANGES_MAX; i++) {
        const Troc__V1__LimitChange *change = from->limit_changes[i];
        troc_limit_record *out = &to->limit_changes[to->limit_change_count++];
        out->timestamp_us = change->has_timestamp_us ? change->timestamp_us : 0;
        if (change->has_admin_key && change->admin_key.len == TROC_PUBLIC_KEY_SIZE) {
            memcpy(out->admin_key, change->admin_key.data, TROC_PUBLIC_KEY_SIZE);
        }
        out->credit_limit_cents = change->has_credit_limit_cents ? change->credit_limit_cents : 0;
        out->has_balance_max = change->has_balance_max_cents;
        out->balance_max_cents = change->has_balance_max_cents ? change->balance_max_cents : 0;
        troc__copy_text(out->reason, sizeof out->reason, change->reason);
    }
    to->truncated = from->n_keys > TROC_MEMBER_RECORD_KEYS_MAX || from->n_limit_changes > TROC_MEMBER_RECORD_CHANGES_MAX;
}

int troc_client_member_record(troc_client *client, const char *member, troc_member_record *info) {
    assert(client != NULL && info != NULL);
    if (member_check(client, member) != 0) return TROC_ENAME;
    Troc__V1__MemberQuery query = TROC__V1__MEMBER_QUERY__INIT;
    query.member = (char *)member;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBER;
    request.member = &query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_MEMBER) return troc__client_wrong_answer(client);
    member_info_copy(response->member, info);
    return 0;
}

static void stats_copy(const Troc__V1__Stats *from, troc_territory_stats *to) {
    memset(to, 0, sizeof *to);
    troc__copy_text(to->territory, sizeof to->territory, from->territory);
    troc__copy_text(to->unit, sizeof to->unit, from->unit);
    to->members = from->members;
    to->transfers = from->transfers;
    to->balance_sum_cents = from->balance_sum_cents;
    to->debt_cents = from->debt_cents;
    to->accounts_over_limit = from->accounts_over_limit;
    to->frozen = from->frozen;
    to->journal_entries = from->journal_entries;
    to->invoices_pending = from->invoices_pending;
    to->obligations_open = from->obligations_open;
    to->obligations_cents = from->obligations_cents;
    to->clearing_runs = from->clearing_runs;
}

int troc_client_stats(troc_client *client, troc_territory_stats *stats) {
    assert(client != NULL && stats != NULL);
    Troc__V1__StatsQuery query = TROC__V1__STATS_QUERY__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_STATS;
    request.stats = &query;
    const Troc__V1__Response *response = NULL;
    int rc = troc__client_call(client, &request, &response);
    if (rc != 0) return rc;
    if (response->kind_case != TROC__V1__RESPONSE__KIND_STATS) return troc__client_wrong_answer(client);
    stats_copy(response->stats, stats);
    return 0;
}
