/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for reading a page of a journaled clearing round from
 * its protobuf bytes (engine/ledger/round.c walks the wire format itself,
 * so that a page costs only its own decoding).  The first two bytes choose
 * the page (offset, capacity), the rest is the NodeEvent body.  No input
 * may crash or read out of bounds (the harness runs under ASan and UBSan),
 * and whenever both the walk and protobuf-c's decoder accept the body, the
 * page must hold exactly the settlements protobuf-c decodes there.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ledger/ledger_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The page's settlements against protobuf-c's whole decoding. */
static void page_compare(const uint8_t *body, size_t body_size, const troc_settlement *page, size_t offset,
                         size_t count) {
    Troc__V1__NodeEvent *event = troc__v1__node_event__unpack(NULL, body_size, body);
    if (event == NULL) return; /* the walk reads only what a page needs */
    assert(event->event_case == TROC__V1__NODE_EVENT__EVENT_CLEARING_ROUND);
    const Troc__V1__ClearingRound *round = event->clearing_round;
    size_t available = offset < round->n_settlements ? round->n_settlements - offset : 0;
    assert(count <= available);
    for (size_t i = 0; i < count; i++) {
        const Troc__V1__Settlement *s = round->settlements[offset + i];
        assert(s->has_invoice_id && s->invoice_id.len == TROC_ID_SIZE);
        assert(memcmp(page[i].invoice_id, s->invoice_id.data, TROC_ID_SIZE) == 0);
        assert(page[i].cleared_cents == (s->has_cleared_cents ? s->cleared_cents : 0));
        assert(page[i].paid_cents == (s->has_paid_cents ? s->paid_cents : 0));
    }
    troc__v1__node_event__free_unpacked(event, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const size_t offset = data[0], capacity = data[1] % 32;
    troc_settlement page[32];
    size_t count = 0;
    if (troc__round_settlements_page(data + 2, size - 2, page, offset, capacity, &count) != 0) {
        assert(count == 0);
        return 0;
    }
    assert(count <= capacity);
    page_compare(data + 2, size - 2, page, offset, count);
    return 0;
}
