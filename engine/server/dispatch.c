/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests to ledger calls, and every reply.
 *
 * The session.  After the handshake the client's key decides the session:
 * an admin key reads every account; a member key reads only its member's.
 * The role is looked up again inside every read's transaction, so a key
 * revoked while its session is open loses it at its next read.
 *
 * Submits.  A submit is checked for size here, verified and decoded on the
 * thread pool (verify.c), then handed to the writer in the connection's
 * order; its reply is built only when the writer has committed (or refused)
 * the group holding it.  Reads run on the loop thread in their own LMDB read
 * transaction: a few B-tree lookups, much shorter than a round trip.
 *
 * Replies are built from protobuf-c structs allocated in the server's
 * scratch arena, packed and sealed straight into the connection's output
 * buffer, and the arena is reset: no allocation survives a reply.
 *
 * Clearing.  A submit holding an accepted AdminAction{clearing_run} is not
 * answered at its commit: clearing.c runs the round and answers it once
 * the round is committed (or refused).  Invoice lists (invoices.c) and
 * clearing queries (clearing.c) use the session helpers below.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lmdb.h>

#include "base/error.h"
#include "base/result.h"
#include "base/text.h"
#include "log.h"
#include "server_int.h"

static void *scratch_alloc(troc_server *server, size_t size) {
    void *pointer = troc__arena_alloc(&server->scratch, size);
    if (pointer == NULL) troc_log("out of memory building a reply of %zu bytes", size);
    return pointer;
}

static void send_response(troc__conn *conn, Troc__V1__Response *response) {
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_RESPONSE;
    frame.response = response;
    troc__conn_send(conn, &frame);
}

/* Releases what a reply took from the scratch arena. */
static void scratch_reset(troc_server *server) {
    troc__arena_reset(&server->scratch);
    troc__arena_set_limit(&server->scratch, TROC__SCRATCH_LIMIT);
}

void troc__reply_error(troc__conn *conn, uint64_t request_id, int error, const char *message) {
    assert(conn != NULL && message != NULL);
    assert(error < 0);
    Troc__V1__Error body = TROC__V1__ERROR__INIT;
    body.has_code = 1;
    body.code = error;
    body.message = (char *)message;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_ERROR;
    response.error = &body;
    send_response(conn, &response);
}

/* ----------------------------------------------------------- the session */

static const char *role_name(troc_role role) {
    return role == TROC_ROLE_ADMIN ? "admin" : role == TROC_ROLE_MEMBER ? "member" : "none";
}

void troc__dispatch_auth(troc__conn *conn, const Troc__V1__ClientAuth *auth) {
    assert(conn != NULL && auth != NULL);
    assert(conn->state == TROC__CONN_AUTH);
    if (troc_handshake_server_verify(&conn->handshake, auth->public_key.data, auth->public_key.len,
                                     auth->signature.data, auth->signature.len) != 0) {
        troc__conn_fail(conn, TROC_EHANDSHAKE, "handshake failed: the client's proof does not verify");
        return;
    }
    troc_handshake_clear(&conn->handshake);
    troc_ledger_read *read = NULL;
    troc_role role = TROC_ROLE_NONE;
    char member[TROC_NAME_LENGTH_MAX + 1] = "";
    int rc = troc_ledger_read_begin(conn->server->ledger, &read);
    if (rc == 0) {
        rc = troc_ledger_key_role(read, auth->public_key.data, &role, member);
        troc_ledger_read_end(read);
    }
    if (rc != 0) {
        troc_log("connection %llu: cannot look up its key: %s%s", (unsigned long long)conn->number,
                 troc__storage_error_text(rc), troc__storage_damage_hint(rc));
        troc__conn_fail(conn, TROC_EUNAVAILABLE, "the ledger cannot be read now; retry later");
        return;
    }
    Troc__V1__AuthResult result = TROC__V1__AUTH_RESULT__INIT;
    result.has_role = 1;
    result.role = (Troc__V1__Role)role;
    result.member = role == TROC_ROLE_MEMBER ? member : NULL;
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_AUTH_RESULT;
    frame.auth_result = &result;
    troc__conn_send(conn, &frame);
    char key_hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(auth->public_key.data, key_hex);
    if (role == TROC_ROLE_NONE) {
        troc_log("connection %llu: key %.16s... is not registered or was revoked", (unsigned long long)conn->number,
                 key_hex);
        troc__conn_fail(conn, TROC_EDENIED, "this key is not registered (or was revoked) in this territory");
        return;
    }
    conn->role = role;
    memcpy(conn->public_key, auth->public_key.data, TROC_PUBLIC_KEY_SIZE);
    strcpy(conn->member, member);
    troc__conn_ready(conn);
    troc_log("connection %llu: %s session%s%s (key %.16s...)", (unsigned long long)conn->number, role_name(role),
             role == TROC_ROLE_MEMBER ? " of " : "", member, key_hex);
}

/* Begins a read for `conn` and checks its key still holds its role. */
static int session_read_begin(troc__conn *conn, uint64_t request_id, troc_ledger_read **read_out) {
    int rc = troc_ledger_read_begin(conn->server->ledger, read_out);
    if (rc != 0) {
        troc__reply_error(conn, request_id, TROC_EUNAVAILABLE, "the ledger cannot be read now; retry later");
        return rc;
    }
    troc_role role = TROC_ROLE_NONE;
    char member[TROC_NAME_LENGTH_MAX + 1] = "";
    rc = troc_ledger_key_role(*read_out, conn->public_key, &role, member);
    if (rc == 0 && (role != conn->role || strcmp(member, conn->member) != 0)) rc = TROC_EDENIED;
    if (rc != 0) {
        troc_ledger_read_end(*read_out);
        *read_out = NULL;
        if (rc == TROC_EDENIED) troc__conn_fail(conn, TROC_EDENIED, "this session's key was revoked");
        else troc__reply_error(conn, request_id, TROC_EUNAVAILABLE, "the ledger cannot be read now; retry later");
    }
    return rc;
}

/* Which member a read is about: the one named, or the member's own; NULL
 * (after replying why) when the session may not read it. */
static const char *session_member(troc__conn *conn, uint64_t request_id, const char *named) {
    if (named == NULL || named[0] == '\0') {
        if (conn->role == TROC_ROLE_MEMBER) return conn->member;
        troc__reply_error(conn, request_id, TROC_EUSAGE, "an admin session must name the member to read");
        return NULL;
    }
    if (!troc_name_valid(named, strlen(named))) {
        troc__reply_error(conn, request_id, TROC_ENAME, "illegal member name (use 1 to 64 of a-z 0-9 . _ -)");
        return NULL;
    }
    if (conn->role == TROC_ROLE_MEMBER && strcmp(named, conn->member) != 0) {
        troc__reply_error(conn, request_id, TROC_EDENIED, "a member session reads only its own account");
        return NULL;
    }
    return named;
}

/* Replies to a failed ledger read of `member`. */
static void reply_read_error(troc__conn *conn, uint64_t request_id, const char *member, int rc) {
    if (rc == TROC_ENOT_FOUND) {
        char message[TROC_NAME_LENGTH_MAX + 32];
        snprintf(message, sizeof message, "unknown member '%s'", member);
        troc__reply_error(conn, request_id, TROC_ENOT_FOUND, message);
        return;
    }
    troc_log("connection %llu: read failed: %s%s", (unsigned long long)conn->number, troc__storage_error_text(rc),
             troc__storage_damage_hint(rc));
    troc__reply_error(conn, request_id, TROC_EUNAVAILABLE, "the ledger cannot be read now; retry later");
}

/* The helpers above, for the other modules that answer requests. */
void troc__send_response(troc__conn *conn, Troc__V1__Response *response) { send_response(conn, response); }
void *troc__scratch_alloc(troc_server *server, size_t size) { return scratch_alloc(server, size); }
void troc__scratch_reset(troc_server *server) { scratch_reset(server); }

int troc__session_read_begin(troc__conn *conn, uint64_t request_id, troc_ledger_read **read_out) {
    return session_read_begin(conn, request_id, read_out);
}

const char *troc__session_member(troc__conn *conn, uint64_t request_id, const char *named) {
    return session_member(conn, request_id, named);
}

void troc__reply_read_error(troc__conn *conn, uint64_t request_id, const char *member, int rc) {
    reply_read_error(conn, request_id, member, rc);
}

/* --------------------------------------------------------------- reads */

static void balance_from_account(Troc__V1__Balance *balance, troc_account *account) {
    balance->member = account->member;
    balance->has_balance_cents = 1;
    balance->balance_cents = account->balance_cents;
    balance->has_credit_limit_cents = 1;
    balance->credit_limit_cents = account->credit_limit_cents;
    balance->has_balance_max_cents = account->has_balance_max;
    balance->balance_max_cents = account->balance_max_cents;
    balance->has_frozen = 1;
    balance->frozen = account->frozen;
}

static void read_balance(troc__conn *conn, uint64_t request_id, const Troc__V1__BalanceQuery *query) {
    const char *member = session_member(conn, request_id, query->member);
    troc_ledger_read *read = NULL;
    if (member == NULL || session_read_begin(conn, request_id, &read) != 0) return;
    troc_account account;
    int rc = troc_ledger_account(read, member, &account);
    troc_ledger_read_end(read);
    if (rc != 0) {
        reply_read_error(conn, request_id, member, rc);
        return;
    }
    Troc__V1__Balance balance = TROC__V1__BALANCE__INIT;
    balance_from_account(&balance, &account);
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_BALANCE;
    response.balance = &balance;
    send_response(conn, &response);
}

/* Fills `message` from one statement line (strings stay in `line`). */
static void statement_line_message(Troc__V1__StatementLine *message, troc_statement_line *line) {
    troc__v1__statement_line__init(message);
    message->has_seq = 1;
    message->seq = line->seq;
    message->has_timestamp_us = 1;
    message->timestamp_us = line->timestamp_us;
    message->has_kind = 1;
    message->kind = (Troc__V1__LineKind)line->kind;
    message->has_id = 1;
    message->id = (ProtobufCBinaryData){TROC_ID_SIZE, line->id};
    message->counterparty = line->counterparty;
    message->has_amount_cents = 1;
    message->amount_cents = line->amount_cents;
    message->has_balance_after_cents = 1;
    message->balance_after_cents = line->balance_after_cents;
    message->memo = line->memo[0] != '\0' ? line->memo : NULL;
}

static void read_history(troc__conn *conn, uint64_t request_id, const Troc__V1__HistoryQuery *query) {
    troc_server *server = conn->server;
    const char *member = session_member(conn, request_id, query->member);
    if (member == NULL) return;
    size_t capacity = query->has_limit && query->limit > 0 ? query->limit : TROC_PAGE_ROWS_MAX;
    if (capacity > TROC_PAGE_ROWS_MAX) capacity = TROC_PAGE_ROWS_MAX;
    troc_statement_line *lines = scratch_alloc(server, capacity * sizeof *lines);
    Troc__V1__StatementLine *messages = scratch_alloc(server, capacity * sizeof *messages);
    Troc__V1__StatementLine **pointers = scratch_alloc(server, capacity * sizeof *pointers);
    if (lines == NULL || messages == NULL || pointers == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for this page; ask for fewer lines");
        return;
    }
    troc_ledger_read *read = NULL;
    if (session_read_begin(conn, request_id, &read) != 0) return;
    size_t count = 0;
    uint64_t next_before_seq = 0;
    int rc = troc_ledger_statement(read, member, query->has_before_seq ? query->before_seq : 0, lines, capacity,
                                   &count, &next_before_seq);
    troc_ledger_read_end(read);
    if (rc != 0) {
        reply_read_error(conn, request_id, member, rc);
        return;
    }
    assert(count <= capacity);
    for (size_t i = 0; i < count; i++) {
        statement_line_message(&messages[i], &lines[i]);
        pointers[i] = &messages[i];
    }
    Troc__V1__History history = TROC__V1__HISTORY__INIT;
    history.member = (char *)member;
    history.n_lines = count;
    history.lines = pointers;
    history.has_next_before_seq = next_before_seq != 0;
    history.next_before_seq = next_before_seq;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_HISTORY;
    response.history = &history;
    send_response(conn, &response);
}

/* Builds MemberInfo's repeated fields from `info` in the scratch arena. */
static int member_info_lists(troc_server *server, troc_member_info *info, Troc__V1__MemberInfo *message) {
    Troc__V1__MemberKeyInfo *keys = scratch_alloc(server, (info->key_count + 1) * sizeof *keys);
    Troc__V1__MemberKeyInfo **key_pointers = scratch_alloc(server, (info->key_count + 1) * sizeof *key_pointers);
    Troc__V1__LimitChange *changes = scratch_alloc(server, (info->limit_change_count + 1) * sizeof *changes);
    Troc__V1__LimitChange **change_pointers =
        scratch_alloc(server, (info->limit_change_count + 1) * sizeof *change_pointers);
    if (keys == NULL || key_pointers == NULL || changes == NULL || change_pointers == NULL) return -ENOMEM;
    for (size_t i = 0; i < info->key_count; i++) {
        troc__v1__member_key_info__init(&keys[i]);
        keys[i].has_public_key = 1;
        keys[i].public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, info->keys[i].public_key};
        keys[i].has_revoked = 1;
        keys[i].revoked = info->keys[i].revoked;
        key_pointers[i] = &keys[i];
    }
    for (size_t i = 0; i < info->limit_change_count; i++) {
        troc_limit_change *change = &info->limit_changes[i];
        troc__v1__limit_change__init(&changes[i]);
        changes[i].has_timestamp_us = 1;
        changes[i].timestamp_us = change->timestamp_us;
        changes[i].has_admin_key = 1;
        changes[i].admin_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, change->admin_key};
        changes[i].has_credit_limit_cents = 1;
        changes[i].credit_limit_cents = change->credit_limit_cents;
        changes[i].has_balance_max_cents = change->has_balance_max;
        changes[i].balance_max_cents = change->balance_max_cents;
        changes[i].reason = change->reason;
        change_pointers[i] = &changes[i];
    }
    message->n_keys = info->key_count;
    message->keys = key_pointers;
    message->n_limit_changes = info->limit_change_count;
    message->limit_changes = change_pointers;
    return 0;
}

static void read_member(troc__conn *conn, uint64_t request_id, const Troc__V1__MemberQuery *query) {
    troc_server *server = conn->server;
    const char *member = session_member(conn, request_id, query->member);
    if (member == NULL) return;
    troc_member_info *info = scratch_alloc(server, sizeof *info);
    if (info == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for member info");
        return;
    }
    troc_ledger_read *read = NULL;
    if (session_read_begin(conn, request_id, &read) != 0) return;
    int rc = troc_ledger_member_info(read, member, info);
    troc_ledger_read_end(read);
    if (rc != 0) {
        reply_read_error(conn, request_id, member, rc);
        return;
    }
    Troc__V1__Balance balance = TROC__V1__BALANCE__INIT;
    balance_from_account(&balance, &info->account);
    Troc__V1__MemberInfo message = TROC__V1__MEMBER_INFO__INIT;
    message.account = &balance;
    message.has_admitted_us = 1;
    message.admitted_us = info->admitted_us;
    message.freeze_reason = info->freeze_reason[0] != '\0' ? info->freeze_reason : NULL;
    if (member_info_lists(server, info, &message) != 0) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for member info");
        return;
    }
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_MEMBER;
    response.member = &message;
    send_response(conn, &response);
}

static void read_members(troc__conn *conn, uint64_t request_id, const Troc__V1__MemberListQuery *query) {
    troc_server *server = conn->server;
    if (conn->role != TROC_ROLE_ADMIN) {
        troc__reply_error(conn, request_id, TROC_EDENIED, "the member list is for admin sessions");
        return;
    }
    const char *after = query->after != NULL ? query->after : "";
    if (after[0] != '\0' && !troc_name_valid(after, strlen(after))) {
        troc__reply_error(conn, request_id, TROC_ENAME, "illegal member name after which to list");
        return;
    }
    size_t capacity = query->has_limit && query->limit > 0 ? query->limit : TROC_PAGE_ROWS_MAX;
    if (capacity > TROC_PAGE_ROWS_MAX) capacity = TROC_PAGE_ROWS_MAX;
    troc_account *accounts = scratch_alloc(server, capacity * sizeof *accounts);
    Troc__V1__Balance *messages = scratch_alloc(server, capacity * sizeof *messages);
    Troc__V1__Balance **pointers = scratch_alloc(server, capacity * sizeof *pointers);
    if (accounts == NULL || messages == NULL || pointers == NULL) {
        troc__reply_error(conn, request_id, -ENOMEM, "out of memory for this page; ask for fewer members");
        return;
    }
    unsigned only = query->over_limit_only ? TROC_MEMBERS_OVER_LIMIT : 0u;
    if (query->frozen_only) only |= TROC_MEMBERS_FROZEN;
    char next[TROC_NAME_LENGTH_MAX + 1];
    size_t count = 0;
    troc_ledger_read *read = NULL;
    if (session_read_begin(conn, request_id, &read) != 0) return;
    int rc = troc_ledger_members(read, after, only, accounts, capacity, &count, next);
    troc_ledger_read_end(read);
    if (rc != 0) {
        reply_read_error(conn, request_id, "", rc);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        troc__v1__balance__init(&messages[i]);
        balance_from_account(&messages[i], &accounts[i]);
        pointers[i] = &messages[i];
    }
    Troc__V1__MemberList list = TROC__V1__MEMBER_LIST__INIT;
    list.n_members = count;
    list.members = pointers;
    list.next_after = next[0] != '\0' ? next : NULL;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_MEMBERS;
    response.members = &list;
    send_response(conn, &response);
}

static void read_stats(troc__conn *conn, uint64_t request_id) {
    if (conn->role != TROC_ROLE_ADMIN) {
        troc__reply_error(conn, request_id, TROC_EDENIED, "statistics are for admin sessions");
        return;
    }
    troc_ledger_read *read = NULL;
    if (session_read_begin(conn, request_id, &read) != 0) return;
    troc_stats stats;
    int rc = troc_ledger_stats(read, &stats);
    troc_ledger_read_end(read);
    if (rc != 0) {
        reply_read_error(conn, request_id, "", rc);
        return;
    }
    troc_ledger *ledger = conn->server->ledger;
    Troc__V1__Stats message = TROC__V1__STATS__INIT;
    message.territory = (char *)troc_ledger_territory(ledger);
    message.unit = (char *)troc_ledger_unit(ledger);
    message.has_members = 1;
    message.members = stats.members;
    message.has_transfers = 1;
    message.transfers = stats.transfers;
    message.has_balance_sum_cents = 1;
    message.balance_sum_cents = stats.balance_sum_cents;
    message.has_debt_cents = 1;
    message.debt_cents = stats.debt_cents;
    message.has_accounts_over_limit = 1;
    message.accounts_over_limit = stats.accounts_over_limit;
    message.has_frozen = 1;
    message.frozen = stats.frozen;
    message.has_journal_entries = 1;
    message.journal_entries = stats.journal_entries;
    message.has_invoices_pending = 1;
    message.invoices_pending = stats.invoices_pending;
    message.has_obligations_open = 1;
    message.obligations_open = stats.obligations_open;
    message.has_obligations_cents = 1;
    message.obligations_cents = stats.obligations_cents;
    message.has_clearing_runs = 1;
    message.clearing_runs = stats.clearing_runs;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_STATS;
    response.stats = &message;
    send_response(conn, &response);
}

/* ------------------------------------------------------------- submits */

/* Detail of a refusal by the writer, in the scratch arena. */
static char *storage_detail(troc_server *server, const troc__request *request) {
    char *detail = scratch_alloc(server, 256);
    if (detail == NULL) return NULL;
    if (request->storage_error == MDB_MAP_FULL && request->storage_grow_error != 0) {
        char why[128];
        troc__grow_error_text(request->storage_grow_error, why, sizeof why);
        snprintf(detail, 256, "the ledger could not commit this batch: %s, and the map cannot grow: %s",
                 troc__storage_error_text(MDB_MAP_FULL), why);
        return detail;
    }
    snprintf(detail, 256, "the ledger could not commit this batch: %s%s%s",
             troc__storage_error_text(request->storage_error),
             request->storage_grew ? " (even after growing its map)" : "",
             request->storage_error == -ENOSPC ? "; free some space on the disk and submit it again" : "");
    return detail;
}

/* Fills one ItemResult from the ledger's (or the verifier's) answer. */
static int item_result_message(troc_server *server, Troc__V1__ItemResult *message, troc__submit_item *item,
                               char *detail) {
    troc__v1__item_result__init(message);
    troc_item_result *result = &item->result;
    message->has_code = 1;
    message->code = (Troc__V1__ResultCode)result->code;
    message->has_id = item->id.len > 0;
    message->id = item->id;
    message->has_journal_seq = result->journal_seq != 0;
    message->journal_seq = result->journal_seq;
    message->has_timestamp_us = result->timestamp_us != 0;
    message->timestamp_us = result->timestamp_us;
    if (result->code == TROC_RESULT_STORAGE_FULL || result->code == TROC_RESULT_UNAVAILABLE) message->detail = detail;
    if (item->clearing != NULL && result->code == TROC_RESULT_OK) {
        if (!item->clearing->ran) message->detail = item->clearing->detail;
        int rc = troc__clearing_summary_message(server, item->clearing, &message->clearing);
        if (rc != 0) return rc;
    }
    if (result->item_count > 0) {
        assert(result->item_codes != NULL && result->item_count <= TROC_BATCH_ITEMS_MAX);
        Troc__V1__ResultCode *codes = scratch_alloc(server, result->item_count * sizeof *codes);
        if (codes == NULL) return -ENOMEM;
        for (size_t i = 0; i < result->item_count; i++) codes[i] = (Troc__V1__ResultCode)result->item_codes[i];
        message->n_item_codes = result->item_count;
        message->item_codes = codes;
    }
    return 0;
}

void troc__reply_submit(troc__conn *conn, troc__request *request) {
    troc_server *server = conn->server;
    size_t count = request->item_count;
    Troc__V1__ItemResult *results = scratch_alloc(server, count * sizeof *results);
    Troc__V1__ItemResult **pointers = scratch_alloc(server, count * sizeof *pointers);
    char *detail = request->storage_error != 0 ? storage_detail(server, request) : NULL;
    int rc = results != NULL && pointers != NULL ? 0 : -ENOMEM;
    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = item_result_message(server, &results[i], &request->items[i], detail);
        pointers[i] = &results[i];
    }
    if (rc != 0) {
        /* The items are committed: an error answering the request would
         * read as a refusal, nothing applied, and a client might pay
         * again with new ids.  Closing the connection leaves the outcome
         * unknown, so the client resends the same ids and reads their
         * results. */
        scratch_reset(server);
        troc__conn_fail(conn, rc, "out of memory for the reply to committed items: connect again and resend them "
                                  "with the same ids to read their results");
        return;
    }
    Troc__V1__SubmitReply reply = TROC__V1__SUBMIT_REPLY__INIT;
    reply.n_results = count;
    reply.results = pointers;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = request->request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_SUBMIT;
    response.submit = &reply;
    send_response(conn, &response);
    scratch_reset(server);
}

static void on_verified(uv_work_t *work, int status) {
    troc__request *request = work->data;
    troc__conn *conn = request->conn;
    troc_server *server = conn->server; /* dispatching may free a closed connection */
    assert(status == 0);
    (void)status; /* read by the assertion only */
    assert(!request->verified);
    request->verified = true;
    troc__server_charge(server, request);
    troc__dispatch_verified(conn);
    troc__server_flush(server);
}

/* Verified submits leave the head of the connection's queue in arrival
 * order: to the writer, or answered at once when nothing in them can be
 * applied. */
void troc__dispatch_verified(troc__conn *conn) {
    assert(conn != NULL);
    troc__request *head = NULL, *tail = NULL;
    while (conn->pending_head != NULL && conn->pending_head->verified) {
        troc__request *request = conn->pending_head;
        conn->pending_head = request->next;
        if (conn->pending_head == NULL) conn->pending_tail = NULL;
        request->next = NULL;
        if (request->apply_count == 0) {
            if (conn->state != TROC__CONN_CLOSED) troc__reply_submit(conn, request);
            /* Returning the last request of a closed connection frees it:
             * nothing may touch `conn` after that. */
            bool last = conn->pending_head == NULL && head == NULL;
            troc__conn_request_put(conn, request);
            if (last) return;
            continue;
        }
        if (tail != NULL) tail->next = request;
        else head = request;
        tail = request;
    }
    if (head != NULL) troc__writer_push(&conn->server->writer, head, tail);
}

void troc__dispatch_committed(troc_server *server, troc__request *list) {
    assert(server != NULL);
    while (list != NULL) {
        troc__request *request = list;
        list = request->next;
        request->next = NULL;
        troc__conn *conn = request->conn;
        if (troc__clearing_claim(server, request)) continue; /* answered when its round is done */
        if (conn->state != TROC__CONN_CLOSED) troc__reply_submit(conn, request);
        troc__conn_request_put(conn, request);
    }
}

static void submit(troc__conn *conn, troc__request *request, const Troc__V1__Submit *message) {
    int rc = troc__verify_prepare(request, message);
    if (rc != 0) {
        troc__reply_error(conn, request->request_id, rc,
                          rc == TROC_ELIMIT ? "too many envelopes in one submit (at most 256)"
                                            : "a submit must hold at least one envelope");
        troc__conn_request_put(conn, request);
        return;
    }
    if (conn->pending_tail != NULL) conn->pending_tail->next = request;
    else conn->pending_head = request;
    conn->pending_tail = request;
    request->work.data = request;
    rc = troc__verify_queue(conn->server->loop, request, on_verified);
    assert(rc == 0);
}

/* -------------------------------------------------------------- routing */

void troc__dispatch_request(troc__conn *conn, troc__request *request, const Troc__V1__Request *message) {
    assert(conn != NULL && request != NULL && message != NULL);
    assert(conn->state == TROC__CONN_READY);
    uint64_t id = message->has_request_id ? message->request_id : 0;
    request->request_id = id;
    switch (message->kind_case) {
    case TROC__V1__REQUEST__KIND_SUBMIT:
        submit(conn, request, message->submit);
        return;
    case TROC__V1__REQUEST__KIND_BALANCE:
        read_balance(conn, id, message->balance);
        break;
    case TROC__V1__REQUEST__KIND_HISTORY:
        read_history(conn, id, message->history);
        break;
    case TROC__V1__REQUEST__KIND_MEMBER:
        read_member(conn, id, message->member);
        break;
    case TROC__V1__REQUEST__KIND_STATS:
        read_stats(conn, id);
        break;
    case TROC__V1__REQUEST__KIND_MEMBERS:
        read_members(conn, id, message->members);
        break;
    case TROC__V1__REQUEST__KIND_INVOICES:
        troc__invoices_read(conn, id, message->invoices);
        break;
    case TROC__V1__REQUEST__KIND_CLEARING:
        troc__clearing_query(conn, request, message->clearing); /* keeps the request for a preview */
        return;
    case TROC__V1__REQUEST__KIND_BACKUP:
        troc__backup_request(conn, request, message->backup); /* keeps the request until the copy is done */
        return;
    default:
        troc__reply_error(conn, id, TROC_EPROTOCOL, "this server does not serve this kind of request");
        break;
    }
    scratch_reset(conn->server);
    troc__conn_request_put(conn, request);
}
