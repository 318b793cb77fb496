/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed items.  A body (Transfer, TransferBatch, AdminAction,
 * InvoiceAction) is encoded once into the envelope's own buffer, and those
 * exact bytes are signed (engine/crypto: domain, territory id, body) and
 * later sent; nothing is re-encoded after signing.
 *
 * The envelope's buffers grow to the largest item signed into it and are
 * then reused, so signing a stream of items into a few envelopes does not
 * allocate.  Bodies point at the caller's strings while they are encoded;
 * nothing of the caller's is kept.
 *
 * Checks here are only those the encoding needs (fields present, fields a
 * kind does not use left zero, sizes within a frame).  Names, amounts, text
 * and authority are the ledger's to judge: it answers each with its own
 * result code, which a client must handle anyway.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

#define ENVELOPE_BODY_CAPACITY_FIRST 512

int troc_envelope_create(troc_envelope **envelope_out) {
    assert(envelope_out != NULL);
    *envelope_out = NULL;
    troc_envelope *envelope = calloc(1, sizeof *envelope);
    if (envelope == NULL) return -ENOMEM;
    envelope->body = malloc(ENVELOPE_BODY_CAPACITY_FIRST);
    if (envelope->body == NULL) {
        free(envelope);
        return -ENOMEM;
    }
    envelope->body_capacity = ENVELOPE_BODY_CAPACITY_FIRST;
    envelope->message = (Troc__V1__Envelope)TROC__V1__ENVELOPE__INIT;
    *envelope_out = envelope;
    return 0;
}

void troc_envelope_free(troc_envelope *envelope) {
    if (envelope == NULL) return;
    free(envelope->body);
    free(envelope->batch_items);
    free(envelope->batch_item_pointers);
    free(envelope->batch_ids);
    free(envelope);
}

void troc_envelope_id(const troc_envelope *envelope, uint8_t id[TROC_ID_SIZE]) {
    assert(envelope != NULL && id != NULL);
    memcpy(id, envelope->id, TROC_ID_SIZE);
}

/* Empties the envelope: a failed signing must not leave the previous item
 * ready to be submitted again by mistake. */
static void envelope_empty(troc_envelope *envelope) {
    envelope->message.has_body = 0;
    envelope->message.body.len = 0;
    envelope->batch_item_count = 0;
    memset(envelope->id, 0, sizeof envelope->id);
}

typedef struct signing {
    const troc_keypair *keypair;
    const uint8_t *territory_key;
} signing;

static int signing_resolve(troc_client *client, const troc_key *key, signing *out) {
    out->keypair = key != NULL ? &key->keypair : client->has_key ? &client->keypair : NULL;
    out->territory_key = troc_client_territory_key(client);
    if (out->keypair == NULL) return troc__client_fail(client, TROC_EUSAGE, "no key to sign with");
    if (out->territory_key == NULL) {
        return troc__client_fail(client, TROC_EUSAGE, "territory unknown: connect first, or set the server key");
    }
    return 0;
}

/* The session's member, the default payer or creditor; NULL for an admin
 * or closed session. */
static const char *session_member(const troc_client *client) {
    return client->fd >= 0 && client->role == TROC_SESSION_MEMBER ? client->member : NULL;
}

static void id_choose(const uint8_t *given, uint8_t id[TROC_ID_SIZE]) {
    if (given != NULL) {
        memcpy(id, given, TROC_ID_SIZE);
    } else {
        troc_id_generate(id);
    }
}

/* Encodes `body` into the envelope, signs those bytes and fills the
 * Envelope message. */
static int envelope_seal(troc_client *client, troc_envelope *envelope, const signing *signer,
                         Troc__V1__EnvelopeKind kind, troc_domain domain, const ProtobufCMessage *body,
                         const uint8_t id[TROC_ID_SIZE]) {
    size_t size = protobuf_c_message_get_packed_size(body);
    if (size > TROC__ENVELOPE_BODY_SIZE_MAX) {
        return troc__client_fail(client, TROC_EFRAME_SIZE, "item of %zu bytes does not fit in a frame", size);
    }
    if (size > envelope->body_capacity) {
        size_t capacity = size > 2 * envelope->body_capacity ? size : 2 * envelope->body_capacity;
        uint8_t *body_bytes = realloc(envelope->body, capacity);
        if (body_bytes == NULL) return -ENOMEM;
        envelope->body = body_bytes;
        envelope->body_capacity = capacity;
    }
    size_t packed = protobuf_c_message_pack(body, envelope->body);
    assert(packed == size && packed > 0);
    int rc = troc_sign(signer->keypair, domain, signer->territory_key, envelope->body, packed, envelope->signature);
    if (rc != 0) return rc;
    memcpy(envelope->signer, signer->keypair->public_key, TROC_PUBLIC_KEY_SIZE);
    memcpy(envelope->id, id, TROC_ID_SIZE);
    Troc__V1__Envelope *message = &envelope->message;
    message->has_kind = 1;
    message->kind = kind;
    message->has_body = 1;
    message->body = (ProtobufCBinaryData){packed, envelope->body};
    message->has_signer = 1;
    message->signer = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, envelope->signer};
    message->has_signature = 1;
    message->signature = (ProtobufCBinaryData){TROC_SIGNATURE_SIZE, envelope->signature};
    return 0;
}

static bool text_given(const char *text) {
    return text != NULL && text[0] != '\0';
}

int troc_sign_transfer(troc_client *client, const troc_key *key, const troc_transfer *transfer,
                       troc_envelope *envelope) {
    assert(client != NULL && envelope != NULL);
    envelope_empty(envelope);
    signing signer;
    if (transfer == NULL) return troc__client_fail(client, TROC_EUSAGE, "no transfer given");
    int rc = signing_resolve(client, key, &signer);
    if (rc != 0) return rc;
    const char *payer = transfer->payer != NULL ? transfer->payer : session_member(client);
    if (payer == NULL) return troc__client_fail(client, TROC_EUSAGE, "no payer: name one, or connect as a member");
    if (transfer->payee == NULL) return troc__client_fail(client, TROC_EUSAGE, "no payee");
    uint8_t id[TROC_ID_SIZE];
    id_choose(transfer->id, id);
    Troc__V1__Transfer body = TROC__V1__TRANSFER__INIT;
    body.has_id = 1;
    body.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    body.payer = (char *)payer;
    body.payee = (char *)transfer->payee;
    body.has_amount_cents = 1;
    body.amount_cents = transfer->amount_cents;
    if (text_given(transfer->memo)) body.memo = (char *)transfer->memo;
    if (transfer->invoice_id != NULL) {
        body.has_invoice_id = 1;
        body.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, (uint8_t *)transfer->invoice_id};
    }
    return envelope_seal(client, envelope, &signer, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, TROC_DOMAIN_TRANSFER,
                         &body.base, id);
}

/* Makes the envelope's batch scratch hold `count` items. */
static int batch_reserve(troc_envelope *envelope, size_t count) {
    if (count <= envelope->batch_capacity) return 0;
    Troc__V1__BatchItem *items = calloc(count, sizeof *items);
    Troc__V1__BatchItem **pointers = calloc(count, sizeof *pointers);
    uint8_t(*ids)[TROC_ID_SIZE] = calloc(count, sizeof *ids);
    if (items == NULL || pointers == NULL || ids == NULL) {
        free(items);
        free(pointers);
        free(ids);
        return -ENOMEM;
    }
    free(envelope->batch_items);
    free(envelope->batch_item_pointers);
    free(envelope->batch_ids);
    envelope->batch_items = items;
    envelope->batch_item_pointers = pointers;
    envelope->batch_ids = ids;
    envelope->batch_capacity = count;
    return 0;
}

/* Points the scratch BatchItems at the caller's items. */
static int batch_items_fill(troc_client *client, troc_envelope *envelope, const troc_batch_item *items, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (items[i].payee == NULL) return troc__client_fail(client, TROC_EUSAGE, "batch item %zu has no payee", i);
        Troc__V1__BatchItem *item = &envelope->batch_items[i];
        *item = (Troc__V1__BatchItem)TROC__V1__BATCH_ITEM__INIT;
        id_choose(items[i].id, envelope->batch_ids[i]);
        item->has_id = 1;
        item->id = (ProtobufCBinaryData){TROC_ID_SIZE, envelope->batch_ids[i]};
        item->payee = (char *)items[i].payee;
        item->has_amount_cents = 1;
        item->amount_cents = items[i].amount_cents;
        if (text_given(items[i].memo)) item->memo = (char *)items[i].memo;
        envelope->batch_item_pointers[i] = item;
    }
    return 0;
}

int troc_sign_batch(troc_client *client, const troc_key *key, const uint8_t *batch_id, const char *payer,
                    const troc_batch_item *items, size_t item_count, troc_envelope *envelope) {
    assert(client != NULL && envelope != NULL);
    envelope_empty(envelope);
    if (items == NULL || item_count == 0 || item_count > TROC_BATCH_ITEMS_MAX) {
        return troc__client_fail(client, TROC_EUSAGE, "a batch holds 1 to %d items", TROC_BATCH_ITEMS_MAX);
    }
    signing signer;
    int rc = signing_resolve(client, key, &signer);
    if (rc != 0) return rc;
    if (payer == NULL) payer = session_member(client);
    if (payer == NULL) return troc__client_fail(client, TROC_EUSAGE, "no payer: name one, or connect as a member");
    rc = batch_reserve(envelope, item_count);
    if (rc == 0) rc = batch_items_fill(client, envelope, items, item_count);
    if (rc != 0) return rc;
    uint8_t id[TROC_ID_SIZE];
    id_choose(batch_id, id);
    Troc__V1__TransferBatch body = TROC__V1__TRANSFER_BATCH__INIT;
    body.has_id = 1;
    body.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    body.payer = (char *)payer;
    body.n_items = item_count;
    body.items = envelope->batch_item_pointers;
    rc = envelope_seal(client, envelope, &signer, TROC__V1__ENVELOPE_KIND__KIND_BATCH, TROC_DOMAIN_BATCH, &body.base,
                       id);
    if (rc == 0) envelope->batch_item_count = item_count;
    return rc;
}

/* ---------------------------------------------------------------- admin */

/* Optional fields, as bits, so that each kind can say which it takes. */
enum {
    FIELD_PUBLIC_KEY = 1u << 0,
    FIELD_CREDIT_LIMIT = 1u << 1,
    FIELD_BALANCE_MAX = 1u << 2,
    FIELD_REMOVE_BALANCE_MAX = 1u << 3,
    FIELD_REASON = 1u << 4,
    FIELD_CREDITOR = 1u << 5,
    FIELD_DEBTOR = 1u << 6,
    FIELD_AMOUNT = 1u << 7,
    FIELD_REF = 1u << 8,
    FIELD_DUE = 1u << 9,
    FIELD_INVOICE_ID = 1u << 10,
    FIELD_WITH_CREDIT = 1u << 11,
};

static const unsigned admin_fields[] = {
    [TROC_ADMIN_MEMBER_ADD] = FIELD_PUBLIC_KEY | FIELD_CREDIT_LIMIT | FIELD_BALANCE_MAX,
    [TROC_ADMIN_KEY_ADD] = FIELD_PUBLIC_KEY,
    [TROC_ADMIN_KEY_REVOKE] = FIELD_PUBLIC_KEY,
    [TROC_ADMIN_LIMIT_SET] = FIELD_CREDIT_LIMIT | FIELD_BALANCE_MAX | FIELD_REMOVE_BALANCE_MAX | FIELD_REASON,
    [TROC_ADMIN_FREEZE] = FIELD_REASON,
    [TROC_ADMIN_UNFREEZE] = FIELD_REASON,
    [TROC_ADMIN_CLEARING_RUN] = FIELD_WITH_CREDIT,
};

static unsigned admin_fields_given(const troc_admin_action *action) {
    unsigned given = 0;
    if (action->public_key != NULL) given |= FIELD_PUBLIC_KEY;
    if (action->has_credit_limit || action->credit_limit_cents != 0) given |= FIELD_CREDIT_LIMIT;
    if (action->has_balance_max || action->balance_max_cents != 0) given |= FIELD_BALANCE_MAX;
    if (action->remove_balance_max) given |= FIELD_REMOVE_BALANCE_MAX;
    if (action->reason != NULL) given |= FIELD_REASON;
    if (action->with_credit) given |= FIELD_WITH_CREDIT;
    return given;
}

/* Checks the action's shape: a known kind, a member, the public key where
 * one is needed, something to change in a limit change, no field the kind
 * does not use, no contradiction. */
static int admin_check(troc_client *client, const troc_admin_action *action) {
    if (action->kind < TROC_ADMIN_MEMBER_ADD || action->kind > TROC_ADMIN_CLEARING_RUN) {
        return troc__client_fail(client, TROC_EUSAGE, "unknown admin action kind %d", (int)action->kind);
    }
    bool clearing = action->kind == TROC_ADMIN_CLEARING_RUN;
    if (!clearing && action->member == NULL) return troc__client_fail(client, TROC_EUSAGE, "the action names no member");
    if (clearing && action->member != NULL) {
        return troc__client_fail(client, TROC_EUSAGE, "a clearing run names no member");
    }
    unsigned allowed = admin_fields[action->kind];
    unsigned given = admin_fields_given(action);
    if ((given & ~allowed) != 0) {
        return troc__client_fail(client, TROC_EUSAGE, "the action sets a field its kind does not use");
    }
    if ((allowed & FIELD_PUBLIC_KEY) != 0 && action->public_key == NULL) {
        return troc__client_fail(client, TROC_EUSAGE, "the action needs a public key");
    }
    if ((!action->has_credit_limit && action->credit_limit_cents != 0) ||
        (!action->has_balance_max && action->balance_max_cents != 0)) {
        return troc__client_fail(client, TROC_EUSAGE, "a limit's value is set but its has_ flag is not");
    }
    if (action->has_balance_max && action->remove_balance_max) {
        return troc__client_fail(client, TROC_EUSAGE, "set the balance maximum or remove it, not both");
    }
    if (action->kind == TROC_ADMIN_LIMIT_SET && !action->has_credit_limit && !action->has_balance_max &&
        !action->remove_balance_max) {
        /* The ledger would refuse it as malformed, without saying why. */
        return troc__client_fail(client, TROC_EUSAGE,
                                 "a limit change needs a credit limit, a balance maximum, or the maximum's removal");
    }
    return 0;
}

/* The sub-messages an AdminAction may point to, in the caller's storage. */
typedef struct admin_parts {
    Troc__V1__MemberAdd add;
    Troc__V1__MemberKey key;
    Troc__V1__LimitSet limit;
    Troc__V1__Freeze freeze;
    Troc__V1__ClearingRun clearing;
} admin_parts;

/* Sets the AdminAction's oneof from `action`. */
static void admin_body(const troc_admin_action *action, Troc__V1__AdminAction *body, admin_parts *parts) {
    ProtobufCBinaryData public_key = {TROC_PUBLIC_KEY_SIZE, (uint8_t *)action->public_key};
    Troc__V1__MemberAdd *add = &parts->add;
    Troc__V1__MemberKey *key = &parts->key;
    Troc__V1__LimitSet *limit = &parts->limit;
    Troc__V1__Freeze *freeze = &parts->freeze;
    switch (action->kind) {
    case TROC_ADMIN_CLEARING_RUN:
        parts->clearing.has_with_credit = action->with_credit;
        parts->clearing.with_credit = action->with_credit;
        body->action_case = TROC__V1__ADMIN_ACTION__ACTION_CLEARING_RUN;
        body->clearing_run = &parts->clearing;
        break;
    case TROC_ADMIN_MEMBER_ADD:
        add->name = (char *)action->member;
        add->has_public_key = 1;
        add->public_key = public_key;
        add->has_credit_limit_cents = action->has_credit_limit;
        add->credit_limit_cents = action->credit_limit_cents;
        add->has_balance_max_cents = action->has_balance_max;
        add->balance_max_cents = action->balance_max_cents;
        body->action_case = TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD;
        body->member_add = add;
        break;
    case TROC_ADMIN_KEY_ADD:
    case TROC_ADMIN_KEY_REVOKE:
        key->name = (char *)action->member;
        key->has_public_key = 1;
        key->public_key = public_key;
        if (action->kind == TROC_ADMIN_KEY_ADD) {
            body->action_case = TROC__V1__ADMIN_ACTION__ACTION_KEY_ADD;
            body->key_add = key;
        } else {
            body->action_case = TROC__V1__ADMIN_ACTION__ACTION_KEY_REVOKE;
            body->key_revoke = key;
        }
        break;
    case TROC_ADMIN_LIMIT_SET:
        limit->name = (char *)action->member;
        limit->has_credit_limit_cents = action->has_credit_limit;
        limit->credit_limit_cents = action->credit_limit_cents;
        limit->has_balance_max_cents = action->has_balance_max;
        limit->balance_max_cents = action->balance_max_cents;
        limit->has_remove_balance_max = action->remove_balance_max;
        limit->remove_balance_max = action->remove_balance_max;
        limit->reason = (char *)action->reason;
        body->action_case = TROC__V1__ADMIN_ACTION__ACTION_LIMIT_SET;
        body->limit_set = limit;
        break;
    case TROC_ADMIN_FREEZE:
    case TROC_ADMIN_UNFREEZE:
        freeze->name = (char *)action->member;
        freeze->reason = (char *)action->reason;
        body->action_case = action->kind == TROC_ADMIN_FREEZE ? TROC__V1__ADMIN_ACTION__ACTION_FREEZE
                                                              : TROC__V1__ADMIN_ACTION__ACTION_UNFREEZE;
        if (action->kind == TROC_ADMIN_FREEZE) {
            body->freeze = freeze;
        } else {
            body->unfreeze = freeze;
        }
        break;
    }
}

int troc_sign_admin(troc_client *client, const troc_key *key, const troc_admin_action *action,
                    troc_envelope *envelope) {
    assert(client != NULL && envelope != NULL);
    envelope_empty(envelope);
    if (action == NULL) return troc__client_fail(client, TROC_EUSAGE, "no action given");
    signing signer;
    int rc = signing_resolve(client, key, &signer);
    if (rc == 0) rc = admin_check(client, action);
    if (rc != 0) return rc;
    uint8_t id[TROC_ID_SIZE];
    id_choose(action->id, id);
    Troc__V1__AdminAction body = TROC__V1__ADMIN_ACTION__INIT;
    body.has_id = 1;
    body.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    admin_parts parts = {TROC__V1__MEMBER_ADD__INIT, TROC__V1__MEMBER_KEY__INIT, TROC__V1__LIMIT_SET__INIT,
                         TROC__V1__FREEZE__INIT, TROC__V1__CLEARING_RUN__INIT};
    admin_body(action, &body, &parts);
    return envelope_seal(client, envelope, &signer, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, TROC_DOMAIN_ADMIN,
                         &body.base, id);
}

/* -------------------------------------------------------------- invoice */

static const unsigned invoice_fields[] = {
    [TROC_INVOICE_ISSUE] = FIELD_CREDITOR | FIELD_DEBTOR | FIELD_AMOUNT | FIELD_REF | FIELD_DUE,
    [TROC_INVOICE_ACCEPT] = FIELD_INVOICE_ID,
    [TROC_INVOICE_REJECT] = FIELD_INVOICE_ID | FIELD_REASON,
    [TROC_INVOICE_CANCEL] = FIELD_INVOICE_ID,
};

static unsigned invoice_fields_given(const troc_invoice_action *action) {
    unsigned given = 0;
    if (action->creditor != NULL) given |= FIELD_CREDITOR;
    if (action->debtor != NULL) given |= FIELD_DEBTOR;
    if (action->amount_cents != 0) given |= FIELD_AMOUNT;
    if (action->ref != NULL) given |= FIELD_REF;
    if (action->due != NULL) given |= FIELD_DUE;
    if (action->invoice_id != NULL) given |= FIELD_INVOICE_ID;
    if (action->reason != NULL) given |= FIELD_REASON;
    return given;
}

static int invoice_check(troc_client *client, const troc_invoice_action *action) {
    if (action->kind < TROC_INVOICE_ISSUE || action->kind > TROC_INVOICE_CANCEL) {
        return troc__client_fail(client, TROC_EUSAGE, "unknown invoice action kind %d", (int)action->kind);
    }
    unsigned allowed = invoice_fields[action->kind];
    if ((invoice_fields_given(action) & ~allowed) != 0) {
        return troc__client_fail(client, TROC_EUSAGE, "the action sets a field its kind does not use");
    }
    if (action->kind == TROC_INVOICE_ISSUE && action->debtor == NULL) {
        return troc__client_fail(client, TROC_EUSAGE, "an invoice needs a debtor");
    }
    if (action->kind != TROC_INVOICE_ISSUE && action->invoice_id == NULL) {
        return troc__client_fail(client, TROC_EUSAGE, "the action needs the invoice's id");
    }
    return 0;
}

/* Sets the InvoiceAction's oneof; `creditor` is resolved by the caller. */
static void invoice_body(const troc_invoice_action *action, const char *creditor, Troc__V1__InvoiceAction *body,
                         Troc__V1__InvoiceIssue *issue, Troc__V1__InvoiceRef *ref, Troc__V1__InvoiceReject *reject) {
    ProtobufCBinaryData invoice_id = {TROC_ID_SIZE, (uint8_t *)action->invoice_id};
    switch (action->kind) {
    case TROC_INVOICE_ISSUE:
        issue->creditor = (char *)creditor;
        issue->debtor = (char *)action->debtor;
        issue->has_amount_cents = 1;
        issue->amount_cents = action->amount_cents;
        issue->ref = (char *)action->ref;
        /* "" is no date, as troc_invoice_record gives it back. */
        issue->due = action->due != NULL && action->due[0] != '\0' ? (char *)action->due : NULL;
        body->action_case = TROC__V1__INVOICE_ACTION__ACTION_ISSUE;
        body->issue = issue;
        break;
    case TROC_INVOICE_ACCEPT:
    case TROC_INVOICE_CANCEL:
        ref->has_invoice_id = 1;
        ref->invoice_id = invoice_id;
        body->action_case = action->kind == TROC_INVOICE_ACCEPT ? TROC__V1__INVOICE_ACTION__ACTION_ACCEPT
                                                                : TROC__V1__INVOICE_ACTION__ACTION_CANCEL;
        if (action->kind == TROC_INVOICE_ACCEPT) {
            body->accept = ref;
        } else {
            body->cancel = ref;
        }
        break;
    case TROC_INVOICE_REJECT:
        reject->has_invoice_id = 1;
        reject->invoice_id = invoice_id;
        reject->reason = (char *)action->reason;
        body->action_case = TROC__V1__INVOICE_ACTION__ACTION_REJECT;
        body->reject = reject;
        break;
    }
}

int troc_sign_invoice(troc_client *client, const troc_key *key, const troc_invoice_action *action,
                      troc_envelope *envelope) {
    assert(client != NULL && envelope != NULL);
    envelope_empty(envelope);
    if (action == NULL) return troc__client_fail(client, TROC_EUSAGE, "no action given");
    signing signer;
    int rc = signing_resolve(client, key, &signer);
    if (rc == 0) rc = invoice_check(client, action);
    if (rc != 0) return rc;
    const char *creditor = action->creditor != NULL ? action->creditor : session_member(client);
    if (action->kind == TROC_INVOICE_ISSUE && creditor == NULL) {
        return troc__client_fail(client, TROC_EUSAGE, "no creditor: name one, or connect as a member");
    }
    uint8_t id[TROC_ID_SIZE];
    id_choose(action->id, id);
    Troc__V1__InvoiceAction body = TROC__V1__INVOICE_ACTION__INIT;
    body.has_id = 1;
    body.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    Troc__V1__InvoiceIssue issue = TROC__V1__INVOICE_ISSUE__INIT;
    Troc__V1__InvoiceRef ref = TROC__V1__INVOICE_REF__INIT;
    Troc__V1__InvoiceReject reject = TROC__V1__INVOICE_REJECT__INIT;
    invoice_body(action, creditor, &body, &issue, &ref, &reject);
    return envelope_seal(client, envelope, &signer, TROC__V1__ENVELOPE_KIND__KIND_INVOICE, TROC_DOMAIN_INVOICE,
                         &body.base, id);
}
