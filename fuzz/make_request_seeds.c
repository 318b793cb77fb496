/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed inputs of the request, server and reply harnesses into
 * fuzz/corpus/requests, fuzz/corpus/server and fuzz/corpus/replies (run it
 * from the source tree: `build-fuzz/fuzz/make_request_seeds fuzz/corpus`).
 *
 * Request seeds are packed Requests of every kind, their envelopes signed
 * by libtroc with the harness's fixed keys (fuzz_keys.h): transfers,
 * batches, every admin action, every invoice action, a payment of an
 * invoice, every read query, the backup included, and a cycle of invoices
 * cleared in one input.  Server seeds are the same kind of requests as a
 * session's stream of plaintexts (fuzz_server.c), signed for real for the
 * harness's fixed territory key.  Reply seeds are the
 * answers a server gives to each call the reply harness makes, in its
 * layout (a call byte, then sized ServerFrames).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "fuzz_keys.h"

static const char *corpus;
static troc_client *signer;                /* signs items; never connected */
static troc_client *territory_signer;      /* signs for the server harness's territory */
static troc_key *keys[FUZZ_MEMBERS + 1];   /* [0] the admin's */

static void write_file(const char *directory, const char *name, const uint8_t *data, size_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", corpus, directory, name);
    FILE *file = fopen(path, "wb");
    if (file == NULL || fwrite(data, 1, size, file) != size || fclose(file) != 0) {
        perror(path);
        exit(1);
    }
}

/* ------------------------------------------------------------ requests */

static void request_write(const char *name, Troc__V1__Request *request, bool member_session) {
    static uint8_t packed[1 << 16];
    request->has_request_id = 1;
    request->request_id = member_session ? FUZZ_REQUEST_MEMBER : FUZZ_REQUEST_ADMIN;
    size_t size = troc__v1__request__pack(request, packed);
    write_file("requests", name, packed, size);
}

/* A submit request of up to 8 signed envelopes, and the messages it
 * points to. */
typedef struct submit_request {
    Troc__V1__Envelope *messages[8];
    Troc__V1__Submit submit;
    Troc__V1__Request request;
} submit_request;

static Troc__V1__Request *submit_request_fill(submit_request *r, troc_envelope **envelopes, size_t count) {
    assert(count <= 8);
    for (size_t i = 0; i < count; i++) r->messages[i] = &envelopes[i]->message;
    r->submit = (Troc__V1__Submit)TROC__V1__SUBMIT__INIT;
    r->submit.n_envelopes = count;
    r->submit.envelopes = r->messages;
    r->request = (Troc__V1__Request)TROC__V1__REQUEST__INIT;
    r->request.kind_case = TROC__V1__REQUEST__KIND_SUBMIT;
    r->request.submit = &r->submit;
    return &r->request;
}

/* Writes a submit of `count` signed envelopes. */
static void submit_write(const char *name, troc_envelope **envelopes, size_t count, bool member_session) {
    submit_request r;
    request_write(name, submit_request_fill(&r, envelopes, count), member_session);
}

static troc_envelope *envelope_new(void) {
    troc_envelope *envelope = NULL;
    if (troc_envelope_create(&envelope) != 0) exit(1);
    return envelope;
}

static troc_envelope *invoice_sign(const troc_key *key, const troc_invoice_action *action) {
    troc_envelope *envelope = envelope_new();
    if (troc_sign_invoice(signer, key, action, envelope) != 0) {
        fprintf(stderr, "make_request_seeds: cannot sign an invoice action: %s\n", troc_client_error_message(signer));
        exit(1);
    }
    return envelope;
}

/* Every input of the request harness starts from a ledger that holds its
 * members and nothing else, so a seed that acts on an invoice issues it
 * first, in the same submit: m1 bills m0. */
static troc_envelope *invoice_issued(const uint8_t invoice_id[TROC_ID_SIZE]) {
    return invoice_sign(keys[2], &(troc_invoice_action){.kind = TROC_INVOICE_ISSUE, .id = invoice_id,
                                                         .creditor = "m1", .debtor = "m0", .amount_cents = 2500,
                                                         .ref = "F-1", .due = "2030-01-31"});
}

static void seeds_payments(const uint8_t invoice_id[TROC_ID_SIZE]) {
    troc_envelope *e[3] = {envelope_new(), envelope_new(), NULL};
    troc_transfer transfer = {.payer = "m0", .payee = "m1", .amount_cents = 1234, .memo = "bread"};
    troc_sign_transfer(signer, keys[1], &transfer, e[0]);
    submit_write("transfer", e, 1, true);
    troc_transfer other = {.payer = "m1", .payee = "m2", .amount_cents = 99};
    troc_sign_transfer(signer, keys[2], &other, e[1]);
    e[2] = e[0];
    submit_write("transfers-with-a-duplicate", e, 3, false);
    troc_batch_item items[3] = {{.payee = "m1", .amount_cents = 1}, {.payee = "m2", .amount_cents = 2, .memo = "x"},
                                {.payee = "m3", .amount_cents = 3}};
    troc_sign_batch(signer, keys[1], NULL, "m0", items, 3, e[1]);
    submit_write("batch", &e[1], 1, true);
    troc_envelope_free(e[0]);
    troc_transfer pay = {.payer = "m0", .payee = "m1", .amount_cents = 500, .invoice_id = invoice_id};
    troc_sign_transfer(signer, keys[1], &pay, e[1]);
    troc_envelope *paid[3] = {invoice_issued(invoice_id),
                              invoice_sign(keys[1], &(troc_invoice_action){.kind = TROC_INVOICE_ACCEPT,
                                                                           .invoice_id = invoice_id}),
                              e[1]};
    submit_write("invoice-payment", paid, 3, true);
    for (int i = 0; i < 3; i++) troc_envelope_free(paid[i]);
}

/* Writes a submit of `before` (an action the seed's own needs first, or
 * NULL) and `action`, signed by the administrator. */
static void admin_write(const char *name, const troc_admin_action *before, const troc_admin_action *action) {
    troc_envelope *envelopes[2] = {envelope_new(), envelope_new()};
    size_t count = 0;
    const troc_admin_action *actions[2] = {before, action};
    for (size_t i = 0; i < 2; i++) {
        if (actions[i] == NULL) continue;
        if (troc_sign_admin(signer, keys[0], actions[i], envelopes[count++]) != 0) {
            fprintf(stderr, "make_request_seeds: cannot sign %s: %s\n", name, troc_client_error_message(signer));
            exit(1);
        }
    }
    submit_write(name, envelopes, count, false);
    troc_envelope_free(envelopes[0]);
    troc_envelope_free(envelopes[1]);
}

static void seeds_admin(void) {
    troc_key *newcomer = fuzz_key(FUZZ_MEMBERS);
    uint8_t fresh[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(newcomer, fresh);
    troc_key_free(newcomer);
    troc_admin_action key_add = {.kind = TROC_ADMIN_KEY_ADD, .member = "m3", .public_key = fresh};
    troc_admin_action freeze = {.kind = TROC_ADMIN_FREEZE, .member = "m2", .reason = "fee"};
    admin_write("admin-member-add", NULL,
                &(troc_admin_action){.kind = TROC_ADMIN_MEMBER_ADD, .member = "m4", .public_key = fresh,
                                     .has_credit_limit = true, .credit_limit_cents = 1000});
    admin_write("admin-key-add", NULL, &key_add);
    admin_write("admin-key-revoke", &key_add,
                &(troc_admin_action){.kind = TROC_ADMIN_KEY_REVOKE, .member = "m3", .public_key = fresh});
    admin_write("admin-limit", NULL,
                &(troc_admin_action){.kind = TROC_ADMIN_LIMIT_SET, .member = "m1", .has_credit_limit = true,
                                     .credit_limit_cents = 500, .has_balance_max = true,
                                     .balance_max_cents = 90000, .reason = "review"});
    admin_write("admin-freeze", NULL, &freeze);
    admin_write("admin-unfreeze", &freeze,
                &(troc_admin_action){.kind = TROC_ADMIN_UNFREEZE, .member = "m2", .reason = "paid"});
    admin_write("admin-clearing-run", NULL, &(troc_admin_action){.kind = TROC_ADMIN_CLEARING_RUN});
    admin_write("admin-clearing-run-credit", NULL,
                &(troc_admin_action){.kind = TROC_ADMIN_CLEARING_RUN, .with_credit = true});
}

/* Writes a submit of the issue of the invoice (unless `action` is the
 * issue) and `action`. */
static void invoice_write(const char *name, const uint8_t invoice_id[TROC_ID_SIZE], const troc_key *key,
                          const troc_invoice_action *action) {
    troc_envelope *envelopes[2] = {NULL, NULL};
    size_t count = 0;
    if (action->kind != TROC_INVOICE_ISSUE) envelopes[count++] = invoice_issued(invoice_id);
    envelopes[count++] = action->kind == TROC_INVOICE_ISSUE ? invoice_issued(invoice_id) : invoice_sign(key, action);
    submit_write(name, envelopes, count, true);
    troc_envelope_free(envelopes[0]);
    troc_envelope_free(envelopes[1]);
}

/* An invoice m1 bills m0, its acceptance, and the other actions. */
static void seeds_invoices(const uint8_t invoice_id[TROC_ID_SIZE]) {
    invoice_write("invoice-issue", invoice_id, keys[2], &(troc_invoice_action){.kind = TROC_INVOICE_ISSUE});
    invoice_write("invoice-accept", invoice_id, keys[1],
                  &(troc_invoice_action){.kind = TROC_INVOICE_ACCEPT, .invoice_id = invoice_id});
    invoice_write("invoice-reject", invoice_id, keys[1],
                  &(troc_invoice_action){.kind = TROC_INVOICE_REJECT, .invoice_id = invoice_id, .reason = "no"});
    invoice_write("invoice-cancel", invoice_id, keys[2],
                  &(troc_invoice_action){.kind = TROC_INVOICE_CANCEL, .invoice_id = invoice_id});
}

static void seeds_reads(const uint8_t invoice_id[TROC_ID_SIZE]) {
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    Troc__V1__BalanceQuery balance = TROC__V1__BALANCE_QUERY__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &balance;
    request_write("balance-own", &request, true);
    balance.member = "m1";
    request_write("balance-of-m1", &request, false);
    Troc__V1__HistoryQuery history = TROC__V1__HISTORY_QUERY__INIT;
    history.member = "m0";
    history.has_limit = history.has_before_seq = 1;
    history.limit = 10;
    history.before_seq = 3;
    request.kind_case = TROC__V1__REQUEST__KIND_HISTORY;
    request.history = &history;
    request_write("history", &request, false);
    Troc__V1__MemberQuery member = TROC__V1__MEMBER_QUERY__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBER;
    request.member = &member;
    request_write("member-own", &request, true);
    Troc__V1__StatsQuery stats = TROC__V1__STATS_QUERY__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_STATS;
    request.stats = &stats;
    request_write("stats", &request, false);
    Troc__V1__InvoiceQuery invoices = TROC__V1__INVOICE_QUERY__INIT;
    invoices.member = "m0";
    invoices.has_open_only = invoices.open_only = 1;
    request.kind_case = TROC__V1__REQUEST__KIND_INVOICES;
    request.invoices = &invoices;
    request_write("invoices-of-m0", &request, false);
    Troc__V1__InvoiceQuery one = TROC__V1__INVOICE_QUERY__INIT;
    one.has_invoice_id = 1;
    one.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)invoice_id};
    request.invoices = &one;
    request_write("invoice-by-id", &request, true);
}

static void seeds_admin_reads(void) {
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    Troc__V1__ClearingQuery clearing = TROC__V1__CLEARING_QUERY__INIT;
    clearing.has_settlement_limit = 1;
    clearing.settlement_limit = 20;
    request.kind_case = TROC__V1__REQUEST__KIND_CLEARING;
    request.clearing = &clearing;
    request_write("clearing-latest", &request, false);
    clearing.has_preview = clearing.preview = 1;
    clearing.has_with_credit = clearing.with_credit = 1;
    request_write("clearing-preview", &request, false);
    Troc__V1__BackupRequest backup = TROC__V1__BACKUP_REQUEST__INIT;
    backup.path = "/backups/today";
    request.kind_case = TROC__V1__REQUEST__KIND_BACKUP;
    request.backup = &backup;
    request_write("backup", &request, false);
    backup.path = "relative/dir";
    request_write("backup-relative", &request, false);
    Troc__V1__MemberListQuery members = TROC__V1__MEMBER_LIST_QUERY__INIT;
    members.after = "m0";
    members.has_limit = 1;
    members.limit = 5;
    members.has_over_limit_only = members.over_limit_only = 1;
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBERS;
    request.members = &members;
    request_write("members-over-limit", &request, false);
    Troc__V1__Submit empty = TROC__V1__SUBMIT__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_SUBMIT;
    request.submit = &empty;
    request_write("submit-empty", &request, false);
    Troc__V1__Request nothing = TROC__V1__REQUEST__INIT;
    request_write("no-kind", &nothing, true);
}

/* Three invoices that form a cycle m0 -> m1 -> m2 -> m0 (debtor to
 * creditor), each issued by its creditor and accepted by its debtor, then
 * an administrator's clearing run: in one submit, so that one input, from
 * a ledger that holds only its members, reaches the solver and applies a
 * round.  Returns the count of envelopes written into `e` (7). */
static size_t cycle_sign(troc_client *client, troc_envelope *e[7]) {
    static const int creditor[3] = {1, 2, 0}, debtor[3] = {0, 1, 2};
    static const int64_t amount[3] = {3000, 2000, 2500};
    for (int i = 0; i < 3; i++) {
        uint8_t id[TROC_ID_SIZE];
        memset(id, 0xc1 + i, sizeof id);
        troc_invoice_action issue = {.kind = TROC_INVOICE_ISSUE, .id = id,
                                     .creditor = fuzz_member_names[creditor[i]],
                                     .debtor = fuzz_member_names[debtor[i]], .amount_cents = amount[i]};
        troc_invoice_action accept = {.kind = TROC_INVOICE_ACCEPT, .invoice_id = id};
        if (troc_sign_invoice(client, keys[1 + creditor[i]], &issue, e[i]) != 0 ||
            troc_sign_invoice(client, keys[1 + debtor[i]], &accept, e[3 + i]) != 0) {
            exit(1);
        }
    }
    troc_admin_action run = {.kind = TROC_ADMIN_CLEARING_RUN};
    if (troc_sign_admin(client, keys[0], &run, e[6]) != 0) exit(1);
    return 7;
}

static void seeds_cycle(void) {
    troc_envelope *e[7];
    for (int i = 0; i < 7; i++) e[i] = envelope_new();
    submit_write("clearing-cycle", e, cycle_sign(signer, e), false);
    for (int i = 0; i < 7; i++) troc_envelope_free(e[i]);
}

/* -------------------------------------------------------------- server */

/* A server seed: ClientFrames, each after its 2-byte big-endian size. */
static uint8_t stream[1 << 16];
static size_t stream_size;

static void stream_request(Troc__V1__Request *request, uint64_t request_id) {
    request->has_request_id = 1;
    request->request_id = request_id;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = request;
    size_t size = troc__v1__client_frame__get_packed_size(&frame);
    if (size > UINT16_MAX || stream_size + 2 + size > sizeof stream) exit(1);
    troc__v1__client_frame__pack(&frame, stream + stream_size + 2);
    stream[stream_size] = (uint8_t)(size >> 8);
    stream[stream_size + 1] = (uint8_t)size;
    stream_size += 2 + size;
}

static void stream_submit(troc_envelope **envelopes, size_t count, uint64_t request_id) {
    submit_request r;
    stream_request(submit_request_fill(&r, envelopes, count), request_id);
}

static void stream_write(const char *name) {
    write_file("server", name, stream, stream_size);
    stream_size = 0;
}

/* A payment; then in one submit a payment, a batch, a payment signed by
 * someone else than its payer, one whose signature is broken and an
 * administrator's limit change: the verification's every outcome. */
static void seeds_server_submits(void) {
    troc_envelope *e[5];
    for (int i = 0; i < 5; i++) e[i] = envelope_new();
    troc_transfer transfer = {.payer = "m0", .payee = "m1", .amount_cents = 1234, .memo = "bread"};
    if (troc_sign_transfer(territory_signer, keys[1], &transfer, e[0]) != 0) exit(1);
    stream_submit(e, 1, 1);
    stream_write("submit-transfer");
    troc_transfer other = {.payer = "m1", .payee = "m2", .amount_cents = 99};
    troc_batch_item items[3] = {{.payee = "m1", .amount_cents = 1}, {.payee = "m2", .amount_cents = 2, .memo = "x"},
                                {.payee = "m3", .amount_cents = 3}};
    troc_admin_action limit = {.kind = TROC_ADMIN_LIMIT_SET, .member = "m3", .has_credit_limit = true,
                               .credit_limit_cents = 500, .reason = "review"};
    if (troc_sign_transfer(territory_signer, keys[2], &other, e[0]) != 0 ||
        troc_sign_batch(territory_signer, keys[1], NULL, "m0", items, 3, e[1]) != 0 ||
        troc_sign_transfer(territory_signer, keys[3], &transfer, e[2]) != 0 ||
        troc_sign_transfer(territory_signer, keys[1], &transfer, e[3]) != 0 ||
        troc_sign_admin(territory_signer, keys[0], &limit, e[4]) != 0) {
        exit(1);
    }
    e[3]->message.signature.data[0] ^= 1;
    stream_submit(e, 5, 3);
    stream_write("submit-mixed");
    troc_envelope *cycle[7];
    for (int i = 0; i < 7; i++) cycle[i] = envelope_new();
    stream_submit(cycle, cycle_sign(territory_signer, cycle), 5);
    stream_write("clearing-cycle");
    for (int i = 0; i < 7; i++) troc_envelope_free(cycle[i]);
    for (int i = 0; i < 5; i++) troc_envelope_free(e[i]);
}

/* Every read an administrator may make, pipelined. */
static void seeds_server_reads(void) {
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    Troc__V1__BalanceQuery balance = TROC__V1__BALANCE_QUERY__INIT;
    balance.member = "m0";
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &balance;
    stream_request(&request, 1);
    Troc__V1__HistoryQuery history = TROC__V1__HISTORY_QUERY__INIT;
    history.member = "m1";
    history.has_limit = 1;
    history.limit = 10;
    request.kind_case = TROC__V1__REQUEST__KIND_HISTORY;
    request.history = &history;
    stream_request(&request, 2);
    Troc__V1__MemberQuery member = TROC__V1__MEMBER_QUERY__INIT;
    member.member = "m2";
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBER;
    request.member = &member;
    stream_request(&request, 3);
    Troc__V1__InvoiceQuery invoices = TROC__V1__INVOICE_QUERY__INIT;
    invoices.member = "m0";
    request.kind_case = TROC__V1__REQUEST__KIND_INVOICES;
    request.invoices = &invoices;
    stream_request(&request, 4);
    Troc__V1__MemberListQuery members = TROC__V1__MEMBER_LIST_QUERY__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_MEMBERS;
    request.members = &members;
    stream_request(&request, 5);
    Troc__V1__ClearingQuery clearing = TROC__V1__CLEARING_QUERY__INIT;
    clearing.has_preview = clearing.preview = 1;
    request.kind_case = TROC__V1__REQUEST__KIND_CLEARING;
    request.clearing = &clearing;
    stream_request(&request, 6);
    stream_write("reads");
}

/* ------------------------------------------------------------- replies */

/* Appends a sized ServerFrame{response} to `out`. */
static size_t reply_append(uint8_t *out, Troc__V1__Response *response) {
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_RESPONSE;
    frame.response = response;
    size_t size = troc__v1__server_frame__pack(&frame, out + 2);
    out[0] = (uint8_t)(size >> 8);
    out[1] = (uint8_t)size;
    return 2 + size;
}

static void reply_write(const char *name, uint8_t call, Troc__V1__Response *response) {
    static uint8_t input[1 << 16];
    input[0] = call;
    response->has_request_id = 1;
    response->request_id = 1;
    size_t size = 1 + reply_append(input + 1, response);
    write_file("replies", name, input, size);
}

static void seeds_replies_reads(void) {
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    Troc__V1__Balance balance = TROC__V1__BALANCE__INIT;
    balance.member = "m0";
    balance.has_balance_cents = balance.has_credit_limit_cents = balance.has_balance_max_cents = 1;
    balance.balance_cents = -1200;
    balance.credit_limit_cents = 5000;
    balance.balance_max_cents = 90000;
    response.kind_case = TROC__V1__RESPONSE__KIND_BALANCE;
    response.balance = &balance;
    reply_write("balance", 0, &response);
    Troc__V1__Error error = TROC__V1__ERROR__INIT;
    error.has_code = 1;
    error.code = TROC_EDENIED;
    error.message = "a member session reads only its own account";
    response.kind_case = TROC__V1__RESPONSE__KIND_ERROR;
    response.error = &error;
    reply_write("balance-denied", 1, &response);
    Troc__V1__StatementLine line = TROC__V1__STATEMENT_LINE__INIT, *lines[2] = {&line, &line};
    line.has_seq = line.has_amount_cents = line.has_balance_after_cents = 1;
    line.seq = 2;
    line.amount_cents = -1200;
    line.counterparty = "m1";
    line.memo = "bread";
    Troc__V1__History history = TROC__V1__HISTORY__INIT;
    history.member = "m0";
    history.n_lines = 2;
    history.lines = lines;
    history.has_next_before_seq = 1;
    history.next_before_seq = 1;
    response.kind_case = TROC__V1__RESPONSE__KIND_HISTORY;
    response.history = &history;
    reply_write("history", 2, &response);
    Troc__V1__Stats stats = TROC__V1__STATS__INIT;
    stats.territory = "fuzz";
    stats.unit = "EUR";
    stats.has_members = stats.has_transfers = 1;
    stats.members = 4;
    stats.transfers = 10;
    response.kind_case = TROC__V1__RESPONSE__KIND_STATS;
    response.stats = &stats;
    reply_write("stats", 4, &response);
    Troc__V1__Balance *listed[] = {&balance};
    Troc__V1__MemberList members = TROC__V1__MEMBER_LIST__INIT;
    members.n_members = 1;
    members.members = listed;
    members.next_after = "m0";
    response.kind_case = TROC__V1__RESPONSE__KIND_MEMBERS;
    response.members = &members;
    reply_write("members", 13, &response);
}

static void seeds_replies_records(void) {
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(keys[1], key);
    Troc__V1__MemberKeyInfo key_info = TROC__V1__MEMBER_KEY_INFO__INIT, *key_infos[1] = {&key_info};
    key_info.has_public_key = 1;
    key_info.public_key = (ProtobufCBinaryData){sizeof key, key};
    Troc__V1__LimitChange change = TROC__V1__LIMIT_CHANGE__INIT, *changes[1] = {&change};
    change.has_credit_limit_cents = 1;
    change.credit_limit_cents = 5000;
    change.reason = "admitted";
    Troc__V1__Balance account = TROC__V1__BALANCE__INIT;
    account.member = "m0";
    Troc__V1__MemberInfo member = TROC__V1__MEMBER_INFO__INIT;
    member.account = &account;
    member.n_keys = 1;
    member.keys = key_infos;
    member.n_limit_changes = 1;
    member.limit_changes = changes;
    response.kind_case = TROC__V1__RESPONSE__KIND_MEMBER;
    response.member = &member;
    reply_write("member", 3, &response);
    uint8_t id[TROC_ID_SIZE] = {1};
    Troc__V1__Invoice invoice = TROC__V1__INVOICE__INIT, *invoices[2] = {&invoice, &invoice};
    invoice.has_id = invoice.has_amount_cents = invoice.has_remaining_cents = invoice.has_state = 1;
    invoice.id = (ProtobufCBinaryData){sizeof id, id};
    invoice.creditor = "m1";
    invoice.debtor = "m0";
    invoice.amount_cents = invoice.remaining_cents = 2500;
    invoice.state = TROC__V1__INVOICE_STATE__INVOICE_OPEN;
    invoice.ref = "F-1";
    invoice.due = "2030-01-31";
    Troc__V1__InvoiceList list = TROC__V1__INVOICE_LIST__INIT;
    list.n_invoices = 2;
    list.invoices = invoices;
    list.has_more = list.more = 1;
    response.kind_case = TROC__V1__RESPONSE__KIND_INVOICES;
    response.invoices = &list;
    reply_write("invoices", 5, &response);
    list.n_invoices = 1;
    reply_write("invoice", 6, &response);
    Troc__V1__BackupReply backup = TROC__V1__BACKUP_REPLY__INIT;
    backup.path = "/backups/fuzz";
    backup.has_journal_entries = backup.has_bytes = 1;
    backup.journal_entries = 42;
    backup.bytes = 65536;
    response.kind_case = TROC__V1__RESPONSE__KIND_BACKUP;
    response.backup = &backup;
    reply_write("backup", 12, &response);
}

static void seeds_replies_clearing(void) {
    uint8_t id[TROC_ID_SIZE] = {2};
    Troc__V1__Settlement settlement = TROC__V1__SETTLEMENT__INIT, *settlements[2] = {&settlement, &settlement};
    settlement.has_invoice_id = settlement.has_cleared_cents = 1;
    settlement.invoice_id = (ProtobufCBinaryData){sizeof id, id};
    settlement.debtor = "m0";
    settlement.creditor = "m1";
    settlement.cleared_cents = 700;
    Troc__V1__ClearingSummary summary = TROC__V1__CLEARING_SUMMARY__INIT;
    summary.has_run = summary.has_applied = summary.has_cleared_cents = summary.has_settlement_count = 1;
    summary.run = 3;
    summary.applied = 1;
    summary.cleared_cents = 1400;
    summary.settlement_count = 2;
    summary.n_settlements = 2;
    summary.settlements = settlements;
    summary.has_requested_by = 1;
    summary.requested_by = (ProtobufCBinaryData){sizeof id, id};
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.kind_case = TROC__V1__RESPONSE__KIND_CLEARING;
    response.clearing = &summary;
    reply_write("clearing-round", 7, &response);
    summary.applied = 0;
    reply_write("clearing-preview", 8, &response);
}

/* Submit replies: one result; three (a batch's codes, a detail, a round);
 * three pipelined replies out of order. */
static void seeds_replies_submits(void) {
    static uint8_t input[1 << 16];
    uint8_t id[TROC_ID_SIZE] = {3};
    Troc__V1__ResultCode codes[3] = {TROC__V1__RESULT_CODE__RESULT_OK, TROC__V1__RESULT_CODE__RESULT_UNKNOWN_PAYEE,
                                     TROC__V1__RESULT_CODE__RESULT_OK};
    Troc__V1__ClearingSummary round = TROC__V1__CLEARING_SUMMARY__INIT;
    round.has_run = round.has_applied = 1;
    round.run = 1;
    round.applied = 1;
    Troc__V1__ItemResult ok = TROC__V1__ITEM_RESULT__INIT, batch = TROC__V1__ITEM_RESULT__INIT,
                         full = TROC__V1__ITEM_RESULT__INIT;
    ok.has_code = ok.has_id = ok.has_journal_seq = ok.has_timestamp_us = 1;
    ok.id = (ProtobufCBinaryData){sizeof id, id};
    ok.journal_seq = 7;
    ok.timestamp_us = 1700000000000000;
    ok.clearing = &round;
    batch = ok;
    batch.clearing = NULL;
    batch.n_item_codes = 3;
    batch.item_codes = codes;
    full.has_code = 1;
    full.code = TROC__V1__RESULT_CODE__RESULT_STORAGE_FULL;
    full.detail = "the ledger could not commit this batch: No space left on device";
    Troc__V1__ItemResult *results[3] = {&ok, &batch, &full};
    Troc__V1__SubmitReply reply = TROC__V1__SUBMIT_REPLY__INIT;
    reply.n_results = 1;
    reply.results = results;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.kind_case = TROC__V1__RESPONSE__KIND_SUBMIT;
    response.submit = &reply;
    reply_write("submit", 9, &response);
    reply.n_results = 3;
    reply_write("submit-three", 10, &response);
    reply.n_results = 1;
    input[0] = 11;
    size_t size = 1;
    uint64_t order[3] = {3, 1, 2};
    for (int i = 0; i < 3; i++) {
        response.has_request_id = 1;
        response.request_id = order[i];
        size += reply_append(input + size, &response);
    }
    write_file("replies", "pipelined", input, size);
}

int main(int argc, char **argv) {
    if (argc != 2 || troc_init() != 0 || troc_client_create(&signer) != 0 ||
        troc_client_create(&territory_signer) != 0) {
        fputs("usage: make_request_seeds CORPUS_DIR\n", stderr);
        return 2;
    }
    corpus = argv[1];
    for (int i = 0; i <= FUZZ_MEMBERS; i++) keys[i] = fuzz_key(i - 1);
    uint8_t territory[TROC_PUBLIC_KEY_SIZE] = {0};
    troc_client_set_server_key(signer, territory);
    troc_key *territory_key = fuzz_key(FUZZ_TERRITORY);
    troc_key_public(territory_key, territory);
    troc_key_free(territory_key);
    troc_client_set_server_key(territory_signer, territory);
    uint8_t invoice_id[TROC_ID_SIZE];
    memset(invoice_id, 0xa1, sizeof invoice_id);
    seeds_payments(invoice_id);
    seeds_admin();
    seeds_invoices(invoice_id);
    seeds_reads(invoice_id);
    seeds_admin_reads();
    seeds_cycle();
    seeds_server_submits();
    seeds_server_reads();
    seeds_replies_reads();
    seeds_replies_records();
    seeds_replies_clearing();
    seeds_replies_submits();
    return 0;
}
