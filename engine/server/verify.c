/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signature verification and body decoding on libuv's thread pool, so that
 * the loop keeps reading and the single writer only sees verified items.
 *
 * Each envelope is first checked for shape: a known kind (transfer, batch,
 * admin or invoice action), a 32-byte signer, a 64-byte signature and a
 * body.  A misshapen envelope is answered MALFORMED without reaching the
 * ledger.  A well-shaped one is verified over the exact body bytes with the
 * kind's domain and the territory's id (nothing is re-serialized), its body
 * decoded into the request's arena, and it goes to the ledger with the
 * verdict: the ledger answers BAD_SIGNATURE, or the stored original result
 * for an id it already holds.
 *
 * While a request is on the pool, only the pool's thread touches it; the
 * loop takes it back in the after-work callback.
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "server_int.h"

/* What the body decoding of one envelope may take from the arena, beyond
 * the decoded request itself: the body expanded, and for a batch the
 * ledger's array of per-item codes. */
#define BATCH_CODES_SIZE (TROC_BATCH_ITEMS_MAX * sizeof(uint16_t))

int troc__verify_prepare(troc__request *request, const Troc__V1__Submit *submit) {
    assert(request != NULL && submit != NULL);
    assert(request->item_count == 0);
    size_t count = submit->n_envelopes;
    if (count == 0) return TROC_EUSAGE;
    if (count > TROC_SUBMIT_ENVELOPES_MAX) return TROC_ELIMIT;
    size_t body_bytes = 0;
    for (size_t i = 0; i < count; i++) body_bytes += submit->envelopes[i]->body.len;
    troc__arena *arena = &request->arena;
    troc__arena_set_limit(arena, arena->limit + count * (sizeof(troc__submit_item) + BATCH_CODES_SIZE) +
                                     TROC_DECODE_EXPANSION_MAX * body_bytes);
    request->items = troc__arena_alloc(arena, count * sizeof *request->items);
    if (request->items == NULL) return -ENOMEM;
    memset(request->items, 0, count * sizeof *request->items);
    request->submit = submit;
    request->item_count = count;
    return 0;
}

static troc_domain domain_of(Troc__V1__EnvelopeKind kind) {
    switch (kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH: return TROC_DOMAIN_BATCH;
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN: return TROC_DOMAIN_ADMIN;
    case TROC__V1__ENVELOPE_KIND__KIND_INVOICE: return TROC_DOMAIN_INVOICE;
    default: return TROC_DOMAIN_TRANSFER;
    }
}

static bool envelope_shaped(const Troc__V1__Envelope *envelope) {
    bool kind_known = envelope->has_kind && (envelope->kind == TROC__V1__ENVELOPE_KIND__KIND_TRANSFER ||
                                             envelope->kind == TROC__V1__ENVELOPE_KIND__KIND_BATCH ||
                                             envelope->kind == TROC__V1__ENVELOPE_KIND__KIND_ADMIN ||
                                             envelope->kind == TROC__V1__ENVELOPE_KIND__KIND_INVOICE);
    return kind_known && envelope->has_signer && envelope->signer.len == TROC_PUBLIC_KEY_SIZE &&
           envelope->has_signature && envelope->signature.len == TROC_SIGNATURE_SIZE && envelope->has_body &&
           envelope->body.len > 0;
}

/* Decodes the body of `item` into the arena; sets its id and weight. */
static void decode_body(troc__request *request, troc__submit_item *item) {
    ProtobufCAllocator *allocator = &request->arena.allocator;
    const uint8_t *body = item->item.body;
    size_t size = item->item.body_size;
    ProtobufCBinaryData no_id = {0, NULL};
    item->id = no_id;
    request->weight += 1;
    switch (item->item.kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER: {
        Troc__V1__Transfer *transfer = troc__v1__transfer__unpack(allocator, size, body);
        item->item.decoded.transfer = transfer;
        if (transfer != NULL && transfer->has_id) item->id = transfer->id;
        break;
    }
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH: {
        Troc__V1__TransferBatch *batch = troc__v1__transfer_batch__unpack(allocator, size, body);
        item->item.decoded.batch = batch;
        if (batch == NULL) break;
        if (batch->has_id) item->id = batch->id;
        if (batch->n_items > 1) request->weight += batch->n_items - 1;
        item->result.item_codes = troc__arena_alloc(&request->arena, BATCH_CODES_SIZE);
        break;
    }
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN: {
        Troc__V1__AdminAction *admin = troc__v1__admin_action__unpack(allocator, size, body);
        item->item.decoded.admin = admin;
        if (admin != NULL && admin->has_id) item->id = admin->id;
        break;
    }
    default: {
        Troc__V1__InvoiceAction *invoice = troc__v1__invoice_action__unpack(allocator, size, body);
        item->item.decoded.invoice = invoice;
        if (invoice != NULL && invoice->has_id) item->id = invoice->id;
        break;
    }
    }
}

static void verify_envelope(troc__request *request, troc__submit_item *item, const Troc__V1__Envelope *envelope,
                            const uint8_t *territory_key) {
    item->result.code = TROC_RESULT_MALFORMED;
    item->apply = false;
    if (!envelope_shaped(envelope)) return;
    item->item.kind = envelope->kind;
    item->item.body = envelope->body.data;
    item->item.body_size = envelope->body.len;
    item->item.signer = envelope->signer.data;
    item->item.signature = envelope->signature.data;
    item->item.signature_valid = troc_verify(envelope->signer.data, domain_of(envelope->kind), territory_key,
                                             envelope->body.data, envelope->body.len, envelope->signature.data);
    decode_body(request, item);
    if (item->item.kind == TROC__V1__ENVELOPE_KIND__KIND_BATCH && item->item.decoded.batch != NULL &&
        item->result.item_codes == NULL) {
        return;
    }
    item->apply = true;
    request->apply_count++;
}

static void verify_work(uv_work_t *work) {
    troc__request *request = work->data;
    assert(request != NULL && request->submit != NULL);
    const uint8_t *territory_key = request->conn->server->territory_keypair->public_key;
    for (size_t i = 0; i < request->item_count; i++) {
        verify_envelope(request, &request->items[i], request->submit->envelopes[i], territory_key);
    }
    assert(request->apply_count <= request->item_count);
    unsigned verifying = atomic_fetch_sub(&request->conn->server->writer.verifying, 1u);
    assert(verifying > 0);
    (void)verifying;
}

int troc__verify_queue(uv_loop_t *loop, troc__request *request, uv_after_work_cb after) {
    assert(loop != NULL && request != NULL && after != NULL);
    assert(request->work.data == request);
    troc__writer *writer = &request->conn->server->writer;
    atomic_fetch_add(&writer->verifying, 1u);
    int rc = uv_queue_work(loop, &request->work, verify_work, after);
    if (rc != 0) atomic_fetch_sub(&writer->verifying, 1u);
    return rc;
}
