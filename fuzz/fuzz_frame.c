/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for everything a peer's bytes meet before a request is
 * dispatched: the frame header check, the channel's open (with fixed keys,
 * so that inputs sealed by the seed generator reach the decoder), and the
 * protobuf decoding of ClientFrame and of every signed body kind.  Inputs
 * are a stream of frames; the harness walks them as the server would.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "net/channel.h"
#include "net/frame.h"
#include "troc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_bodies(const Troc__V1__Request *request) {
    if (request->kind_case != TROC__V1__REQUEST__KIND_SUBMIT) return;
    for (size_t i = 0; i < request->submit->n_envelopes; i++) {
        const Troc__V1__Envelope *envelope = request->submit->envelopes[i];
        if (!envelope->has_body) continue;
        const ProtobufCMessageDescriptor *descriptor = NULL;
        switch (envelope->kind) {
        case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER: descriptor = &troc__v1__transfer__descriptor; break;
        case TROC__V1__ENVELOPE_KIND__KIND_BATCH: descriptor = &troc__v1__transfer_batch__descriptor; break;
        case TROC__V1__ENVELOPE_KIND__KIND_ADMIN: descriptor = &troc__v1__admin_action__descriptor; break;
        case TROC__V1__ENVELOPE_KIND__KIND_INVOICE: descriptor = &troc__v1__invoice_action__descriptor; break;
        default: continue;
        }
        ProtobufCMessage *body = protobuf_c_message_unpack(descriptor, NULL, envelope->body.len, envelope->body.data);
        if (body != NULL) protobuf_c_message_free_unpacked(body, NULL);
    }
}

static void decode_plaintext(const uint8_t *plain, size_t size) {
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, size, plain);
    if (frame == NULL) return;
    if (frame->kind_case == TROC__V1__CLIENT_FRAME__KIND_REQUEST) decode_bodies(frame->request);
    troc__v1__client_frame__free_unpacked(frame, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t plain[TROC_FRAME_SIZE_MAX];
    troc_channel channel;
    memset(&channel, 0, sizeof channel);
    memset(channel.receive_key, 0x42, sizeof channel.receive_key);
    size_t offset = 0;
    /* The first frame is in clear (a hello), the rest sealed. */
    for (int frames = 0; frames < 64 && offset < size; frames++) {
        size_t payload = 0;
        int rc = troc_frame_peek(data + offset, size - offset, &payload);
        if (rc != 1) return 0;
        const uint8_t *frame = data + offset;
        size_t frame_size = TROC_FRAME_HEADER_SIZE + payload;
        offset += frame_size;
        if (frames == 0) {
            decode_plaintext(frame + TROC_FRAME_HEADER_SIZE, payload);
            continue;
        }
        size_t plain_size = 0;
        if (troc_channel_open(&channel, frame, frame_size, plain, &plain_size) != 0) return 0;
        assert(plain_size == payload - TROC_CHANNEL_TAG_SIZE);
        decode_plaintext(plain, plain_size);
    }
    return 0;
}
