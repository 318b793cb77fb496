/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test and bench helpers for the ledger (see ledger_support.h).  Failures
 * here are bugs of the test itself: they abort with assert().
 */
#include "ledger_support.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/result.h"

support *support_create(void) {
    int rc = troc_crypto_init();
    assert(rc == 0);
    support *s = calloc(1, sizeof *s);
    assert(s != NULL);
    const char *tmp = getenv("TMPDIR");
    snprintf(s->directory, sizeof s->directory, "%s/troc-test-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    char *made = mkdtemp(s->directory);
    assert(made != NULL);
    (void)made;
    troc_keypair_generate(&s->admin);
    const uint8_t(*admins)[TROC_PUBLIC_KEY_SIZE] = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])&s->admin.public_key;
    troc_ledger_init_options options = {
        .territory = "lyon", .unit = "EUR", .admin_keys = admins, .admin_key_count = 1};
    rc = troc_ledger_init(s->directory, &options, s->territory_key);
    assert(rc == 0);
    rc = troc_ledger_open(&s->ledger, s->directory);
    assert(rc == 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 + 1000000;
    s->next_id = 1;
    (void)rc;
    return s;
}

void support_remove_directory(const char *directory) {
    DIR *dir = opendir(directory);
    if (dir != NULL) {
        struct dirent *entry;
        char path[512];
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(directory);
}

int support_verify(support *s, unsigned threads) {
    troc_ledger_close(s->ledger);
    s->ledger = NULL;
    char scratch[] = "/tmp/troc-support-verify-XXXXXX";
    if (mkdtemp(scratch) == NULL) return -errno;
    troc_verify_report report;
    int rc = troc_ledger_verify(s->directory, scratch, threads, &report, NULL, NULL);
    if (rc != 0) fprintf(stderr, "verify: %s\n", report.difference);
    support_remove_directory(scratch);
    return rc;
}

size_t support_obligation_at(const troc_clearing_snapshot *snapshot, const uint8_t id[TROC_ID_SIZE]) {
    for (size_t i = 0; i < snapshot->obligation_count; i++) {
        if (memcmp(snapshot->obligations[i].invoice_id, id, TROC_ID_SIZE) == 0) return i;
    }
    fprintf(stderr, "support_obligation_at: the invoice is not in the snapshot\n");
    abort();
}

void support_destroy(support *s) {
    if (s == NULL) return;
    troc_ledger_close(s->ledger);
    support_remove_directory(s->directory);
    free(s);
}

void support_id(support *s, uint8_t id[TROC_ID_SIZE]) {
    memset(id, 0, TROC_ID_SIZE);
    uint64_t n = s->next_id++;
    for (int i = 0; i < 8; i++) id[7 - i] = (uint8_t)(n >> (8 * i));
    id[8] = 0x5a; /* not all zeros past the counter */
}

static troc_domain domain_of(int kind) {
    switch (kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER: return TROC_DOMAIN_TRANSFER;
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH: return TROC_DOMAIN_BATCH;
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN: return TROC_DOMAIN_ADMIN;
    case TROC__V1__ENVELOPE_KIND__KIND_INVOICE: return TROC_DOMAIN_INVOICE;
    default: return TROC_DOMAIN_NODE;
    }
}

void support_sign(support *s, int kind, const void *message, const troc_keypair *key, const uint8_t *fake_signer,
                  support_item *out) {
    const ProtobufCMessage *m = message;
    memset(out, 0, sizeof *out);
    size_t size = protobuf_c_message_get_packed_size(m);
    out->body = malloc(size + 1);
    assert(out->body != NULL);
    protobuf_c_message_pack(m, out->body);
    if (key != NULL) {
        int rc = troc_sign(key, domain_of(kind), s->territory_key, out->body, size, out->signature);
        assert(rc == 0);
        (void)rc;
        memcpy(out->signer, key->public_key, TROC_PUBLIC_KEY_SIZE);
    } else {
        assert(fake_signer != NULL && "an unsigned item needs the key it claims");
        if (fake_signer != NULL) memcpy(out->signer, fake_signer, TROC_PUBLIC_KEY_SIZE);
    }
    out->decoded = protobuf_c_message_unpack(m->descriptor, NULL, size, out->body);
    assert(out->decoded != NULL);
    out->item = (troc_item){.kind = (Troc__V1__EnvelopeKind)kind,
                            .body = out->body,
                            .body_size = size,
                            .signer = out->signer,
                            .signature = out->signature,
                            .signature_valid = true};
    out->item.decoded.transfer = out->decoded; /* the union's members share the pointer */
}

void support_public_key(uint32_t n, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    uint8_t scalar[crypto_core_ed25519_SCALARBYTES] = {0};
    uint64_t multiple = (uint64_t)n + 1;
    for (size_t i = 0; i < sizeof multiple; i++) scalar[i] = (uint8_t)(multiple >> (8 * i));
    int rc = crypto_scalarmult_ed25519_base_noclamp(public_key, scalar);
    assert(rc == 0);
    (void)rc;
}

void support_item_free(support_item *item) {
    if (item->decoded != NULL) protobuf_c_message_free_unpacked(item->decoded, NULL);
    free(item->body);
    memset(item, 0, sizeof *item);
}

int support_submit(support *s, support_item *item, troc_item_result *result) {
    static uint16_t codes[TROC_BATCH_ITEMS_MAX];
    troc_item_result local = {.item_codes = codes};
    if (result == NULL) result = &local;
    if (result->item_codes == NULL) result->item_codes = codes;
    troc_ledger_write *write = s->batch;
    int rc = write != NULL ? 0 : troc_ledger_write_begin(s->ledger, s->now_us, &write);
    assert(rc == 0);
    rc = troc_ledger_apply(write, &item->item, result);
    assert(rc == 0);
    if (write != s->batch) rc = troc_ledger_write_commit(write);
    assert(rc == 0);
    s->now_us += 1000;
    (void)rc;
    return result->code;
}

void support_batch_begin(support *s) {
    assert(s->batch == NULL);
    int rc = troc_ledger_write_begin(s->ledger, s->now_us, &s->batch);
    assert(rc == 0);
    (void)rc;
}

void support_batch_commit(support *s) {
    assert(s->batch != NULL);
    int rc = troc_ledger_write_commit(s->batch);
    assert(rc == 0);
    (void)rc;
    s->batch = NULL;
}

void support_member_add_item(support *s, const char *name, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE],
                             int64_t credit_limit, int64_t balance_max, support_item *out) {
    uint8_t id[TROC_ID_SIZE];
    support_id(s, id);
    Troc__V1__MemberAdd add = TROC__V1__MEMBER_ADD__INIT;
    add.name = (char *)name;
    add.has_public_key = 1;
    add.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)public_key};
    add.has_credit_limit_cents = 1;
    add.credit_limit_cents = credit_limit;
    add.has_balance_max_cents = balance_max >= 0;
    add.balance_max_cents = balance_max >= 0 ? balance_max : 0;
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD;
    action.member_add = &add;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, &action, &s->admin, NULL, out);
}

void support_transfer_item(support *s, const troc_keypair *key, const uint8_t id[TROC_ID_SIZE], const char *payer,
                           const char *payee, int64_t amount, const char *memo, support_item *out) {
    uint8_t own_id[TROC_ID_SIZE];
    if (id == NULL) {
        support_id(s, own_id);
        id = own_id;
    }
    Troc__V1__Transfer transfer = TROC__V1__TRANSFER__INIT;
    transfer.has_id = 1;
    transfer.id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)id};
    transfer.payer = (char *)payer;
    transfer.payee = (char *)payee;
    transfer.has_amount_cents = 1;
    transfer.amount_cents = amount;
    transfer.memo = (char *)memo;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, &transfer, key, NULL, out);
}

void support_batch_item(support *s, const troc_keypair *key, const uint8_t batch_id[TROC_ID_SIZE], const char *payer,
                        const char *const *payees, const int64_t *amounts, const char *const *memos,
                        const uint8_t (*ids)[TROC_ID_SIZE], size_t count, support_item *out) {
    Troc__V1__BatchItem *items = calloc(count + 1, sizeof *items); /* + 1: a batch may be empty */
    Troc__V1__BatchItem **pointers = calloc(count + 1, sizeof *pointers);
    uint8_t(*own_ids)[TROC_ID_SIZE] = calloc(count + 1, TROC_ID_SIZE);
    assert(items != NULL && pointers != NULL && own_ids != NULL);
    for (size_t i = 0; i < count; i++) {
        troc__v1__batch_item__init(&items[i]);
        if (ids == NULL) support_id(s, own_ids[i]);
        items[i].has_id = 1;
        items[i].id = (ProtobufCBinaryData){TROC_ID_SIZE, ids != NULL ? (uint8_t *)ids[i] : own_ids[i]};
        items[i].payee = (char *)payees[i];
        items[i].has_amount_cents = 1;
        items[i].amount_cents = amounts[i];
        items[i].memo = memos != NULL ? (char *)memos[i] : NULL;
        pointers[i] = &items[i];
    }
    uint8_t own_batch_id[TROC_ID_SIZE];
    if (batch_id == NULL) {
        support_id(s, own_batch_id);
        batch_id = own_batch_id;
    }
    Troc__V1__TransferBatch batch = TROC__V1__TRANSFER_BATCH__INIT;
    batch.has_id = 1;
    batch.id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)batch_id};
    batch.payer = (char *)payer;
    batch.n_items = count;
    batch.items = pointers;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_BATCH, &batch, key, NULL, out);
    free(items);
    free(pointers);
    free(own_ids);
}

int support_member_add(support *s, const char *name, const troc_keypair *key, int64_t credit_limit,
                       int64_t balance_max) {
    support_item item;
    support_member_add_item(s, name, key->public_key, credit_limit, balance_max, &item);
    int code = support_submit(s, &item, NULL);
    support_item_free(&item);
    return code;
}

int support_pay(support *s, const troc_keypair *key, const char *payer, const char *payee, int64_t amount) {
    support_item item;
    support_transfer_item(s, key, NULL, payer, payee, amount, NULL, &item);
    int code = support_submit(s, &item, NULL);
    support_item_free(&item);
    return code;
}

static int admin_submit(support *s, Troc__V1__AdminAction *action) {
    uint8_t id[TROC_ID_SIZE];
    support_id(s, id);
    action->has_id = 1;
    action->id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    support_item item;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, action, &s->admin, NULL, &item);
    int code = support_submit(s, &item, NULL);
    support_item_free(&item);
    return code;
}

int support_limit_set(support *s, const char *name, int64_t credit_limit, const char *reason) {
    Troc__V1__LimitSet set = TROC__V1__LIMIT_SET__INIT;
    set.name = (char *)name;
    set.has_credit_limit_cents = 1;
    set.credit_limit_cents = credit_limit;
    set.reason = (char *)reason;
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_LIMIT_SET;
    action.limit_set = &set;
    return admin_submit(s, &action);
}

int support_freeze(support *s, const char *name, bool freeze, const char *reason) {
    Troc__V1__Freeze f = TROC__V1__FREEZE__INIT;
    f.name = (char *)name;
    f.reason = (char *)reason;
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.action_case = freeze ? TROC__V1__ADMIN_ACTION__ACTION_FREEZE : TROC__V1__ADMIN_ACTION__ACTION_UNFREEZE;
    if (freeze) {
        action.freeze = &f;
    } else {
        action.unfreeze = &f;
    }
    return admin_submit(s, &action);
}

int64_t support_balance(support *s, const char *member) {
    troc_ledger_read *read = NULL;
    int rc = troc_ledger_read_begin(s->ledger, &read);
    assert(rc == 0);
    troc_account account;
    rc = troc_ledger_account(read, member, &account);
    assert(rc == 0);
    troc_ledger_read_end(read);
    (void)rc;
    return account.balance_cents;
}

troc_stats support_stats(support *s) {
    troc_ledger_read *read = NULL;
    int rc = troc_ledger_read_begin(s->ledger, &read);
    assert(rc == 0);
    troc_stats stats;
    rc = troc_ledger_stats(read, &stats);
    assert(rc == 0);
    troc_ledger_read_end(read);
    (void)rc;
    return stats;
}

static int invoice_submit(support *s, const troc_keypair *key, Troc__V1__InvoiceAction *action, uint8_t *id_out) {
    uint8_t id[TROC_ID_SIZE];
    support_id(s, id);
    if (id_out != NULL) memcpy(id_out, id, TROC_ID_SIZE);
    action->has_id = 1;
    action->id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    support_item item;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_INVOICE, action, key, NULL, &item);
    int code = support_submit(s, &item, NULL);
    support_item_free(&item);
    return code;
}

int support_invoice_issue(support *s, const troc_keypair *key, const char *creditor, const char *debtor,
                          int64_t amount, const char *ref, const char *due, uint8_t id_out[TROC_ID_SIZE]) {
    Troc__V1__InvoiceIssue issue = TROC__V1__INVOICE_ISSUE__INIT;
    issue.creditor = (char *)creditor;
    issue.debtor = (char *)debtor;
    issue.has_amount_cents = 1;
    issue.amount_cents = amount;
    issue.ref = (char *)ref;
    issue.due = (char *)due;
    Troc__V1__InvoiceAction action = TROC__V1__INVOICE_ACTION__INIT;
    action.action_case = TROC__V1__INVOICE_ACTION__ACTION_ISSUE;
    action.issue = &issue;
    return invoice_submit(s, key, &action, id_out);
}

int support_invoice_act(support *s, const troc_keypair *key, int action_case, const uint8_t invoice_id[TROC_ID_SIZE],
                        const char *reason) {
    Troc__V1__InvoiceRef ref = TROC__V1__INVOICE_REF__INIT;
    ref.has_invoice_id = 1;
    ref.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)invoice_id};
    Troc__V1__InvoiceReject reject = TROC__V1__INVOICE_REJECT__INIT;
    reject.has_invoice_id = 1;
    reject.invoice_id = ref.invoice_id;
    reject.reason = (char *)reason;
    Troc__V1__InvoiceAction action = TROC__V1__INVOICE_ACTION__INIT;
    action.action_case = (Troc__V1__InvoiceAction__ActionCase)action_case;
    if (action_case == TROC__V1__INVOICE_ACTION__ACTION_ACCEPT) action.accept = &ref;
    if (action_case == TROC__V1__INVOICE_ACTION__ACTION_CANCEL) action.cancel = &ref;
    if (action_case == TROC__V1__INVOICE_ACTION__ACTION_REJECT) action.reject = &reject;
    return invoice_submit(s, key, &action, NULL);
}

int support_pay_invoice(support *s, const troc_keypair *key, const char *payer, const char *payee, int64_t amount,
                        const uint8_t invoice_id[TROC_ID_SIZE]) {
    uint8_t id[TROC_ID_SIZE];
    support_id(s, id);
    Troc__V1__Transfer t = TROC__V1__TRANSFER__INIT;
    t.has_id = 1;
    t.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    t.payer = (char *)payer;
    t.payee = (char *)payee;
    t.has_amount_cents = 1;
    t.amount_cents = amount;
    t.has_invoice_id = 1;
    t.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)invoice_id};
    support_item item;
    support_sign(s, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, &t, key, NULL, &item);
    int code = support_submit(s, &item, NULL);
    support_item_free(&item);
    return code;
}

void support_clearing_snapshot(support *s, troc_clearing_snapshot *snapshot) {
    troc_ledger_read *read = NULL;
    int rc = troc_ledger_read_begin(s->ledger, &read);
    assert(rc == 0);
    rc = troc_ledger_clearing_snapshot(read, snapshot);
    assert(rc == 0);
    troc_ledger_read_end(read);
    (void)rc;
}

int support_clearing_apply(support *s, const troc_clearing_snapshot *snapshot, bool with_credit,
                           const int64_t *cleared, const int64_t *paid, troc_item_result *result) {
    int64_t *potentials = calloc((size_t)snapshot->firm_count + 1, sizeof *potentials);
    troc_clearing_round_item round;
    int rc =
        troc_ledger_clearing_round_build(s->ledger, snapshot, with_credit, NULL, cleared, paid, potentials, &round);
    free(potentials);
    if (rc != 0) return rc;
    troc_item_result local = {0};
    if (result == NULL) result = &local;
    troc_ledger_write *write = s->batch;
    if (write == NULL) {
        rc = troc_ledger_write_begin(s->ledger, s->now_us, &write);
        assert(rc == 0);
    }
    rc = troc_ledger_apply_clearing(write, &round.item, snapshot->journal_seq, result);
    if (write != s->batch && rc == 0) {
        rc = troc_ledger_write_commit(write);
        assert(rc == 0);
    } else if (write != s->batch) {
        troc_ledger_write_abort(write);
    }
    troc_clearing_round_item_free(&round);
    s->now_us += 1000;
    return rc;
}
