/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for both sides of the handshake.  The input is offered
 * as each frame of the handshake in turn:
 *
 *   - to the server as a client's hello: for any hello it accepts, its
 *     answer must be accepted by a client that said those exact bytes, and
 *     that client's proof must verify; for the genuine client hello the
 *     answer is the genuine server hello;
 *   - to the client as a server's hello: accepted only when its signed body
 *     and signature are the genuine ones (so the signature really is
 *     checked), with the territory key pinned and without;
 *   - to the server as the client's proof (ClientFrame{auth}, as the server
 *     reads it once unsealed): it verifies only for the member's key and
 *     the genuine signature.
 *
 * Randomness is fixed (fuzz_handshake.h), so that the genuine frames, which
 * make_seeds.c commits as seeds, hold on every run and the fuzzer starts
 * past the hash and signature checks instead of stopping at them.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fuzz_handshake.h"
#include "troc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The genuine exchange, and the parts of its frames that are signed. */
typedef struct genuine {
    fuzz_exchange exchange;
    uint8_t body[TROC_HANDSHAKE_FRAME_SIZE_MAX];    /* the server hello's signed body */
    size_t body_size;                               /* bytes */
    uint8_t server_signature[TROC_SIGNATURE_SIZE];  /* the territory's, over body */
    uint8_t client_signature[TROC_SIGNATURE_SIZE];  /* the member's proof */
} genuine;

static bool bytes_equal(const void *a, size_t a_size, const void *b, size_t b_size) {
    return a_size == b_size && (a_size == 0 || memcmp(a, b, a_size) == 0);
}

/* Copies the signed body and signature of a ServerFrame{hello}; false when
 * the bytes are not one or the fields do not fit. */
static bool server_hello_signed(const uint8_t *frame_bytes, size_t size, uint8_t *body, size_t *body_size,
                                uint8_t signature[TROC_SIGNATURE_SIZE]) {
    Troc__V1__ServerFrame *frame = troc__v1__server_frame__unpack(NULL, size, frame_bytes);
    bool ok = frame != NULL && frame->kind_case == TROC__V1__SERVER_FRAME__KIND_HELLO &&
              frame->hello->has_body && frame->hello->body.len <= TROC_HANDSHAKE_FRAME_SIZE_MAX &&
              frame->hello->has_signature && frame->hello->signature.len == TROC_SIGNATURE_SIZE;
    if (ok) {
        *body_size = frame->hello->body.len;
        if (*body_size > 0) memcpy(body, frame->hello->body.data, *body_size);
        memcpy(signature, frame->hello->signature.data, TROC_SIGNATURE_SIZE);
    }
    if (frame != NULL) troc__v1__server_frame__free_unpacked(frame, NULL);
    return ok;
}

static void genuine_init(genuine *g) {
    if (fuzz_crypto_init() != 0 || fuzz_exchange_run(&g->exchange) != 0) abort();
    const fuzz_exchange *x = &g->exchange;
    if (!server_hello_signed(x->server_hello, x->server_hello_size, g->body, &g->body_size, g->server_signature)) {
        abort();
    }
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, x->client_auth_size, x->client_auth);
    if (frame == NULL || frame->kind_case != TROC__V1__CLIENT_FRAME__KIND_AUTH) abort();
    memcpy(g->client_signature, frame->auth->signature.data, TROC_SIGNATURE_SIZE);
    troc__v1__client_frame__free_unpacked(frame, NULL);
}

/* The channels of two ends pair: what one seals, the other opens. */
static bool channels_pair(const troc_channel *a, const troc_channel *b) {
    return memcmp(a->send_key, b->receive_key, sizeof a->send_key) == 0 &&
           memcmp(a->receive_key, b->send_key, sizeof a->receive_key) == 0 && a->send_counter == 0 &&
           a->receive_counter == 0 && b->send_counter == 0 && b->receive_counter == 0;
}

/* Checks a decoded ClientFrame{auth} against the server's state as the
 * server does (dispatch.c passes the fields whether or not they are
 * present). */
static int proof_verify(const troc_handshake *server, const Troc__V1__ClientFrame *frame) {
    if (frame == NULL || frame->kind_case != TROC__V1__CLIENT_FRAME__KIND_AUTH) return TROC_EHANDSHAKE;
    const Troc__V1__ClientAuth *auth = frame->auth;
    return troc_handshake_server_verify(server, auth->public_key.data, auth->public_key.len, auth->signature.data,
                                        auth->signature.len);
}

/* Whether a client hello the server accepted names the genuine client's
 * key-exchange key. */
static bool names_genuine_kx_key(const fuzz_exchange *x, const uint8_t *data, size_t size) {
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, size, data);
    assert(frame != NULL && frame->kind_case == TROC__V1__CLIENT_FRAME__KIND_HELLO);
    const ProtobufCBinaryData key = frame->hello->kx_public_key;
    bool same = bytes_equal(key.data, key.len, x->client.kx_public_key, sizeof x->client.kx_public_key);
    troc__v1__client_frame__free_unpacked(frame, NULL);
    return same;
}

/* The input as a client's hello, to the server. */
static void as_client_hello(const genuine *g, const uint8_t *data, size_t size) {
    const fuzz_exchange *x = &g->exchange;
    troc_handshake server, client = x->client;
    troc_channel server_channel, client_channel;
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX], auth[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0, auth_size = 0;
    fuzz_random_rewind(FUZZ_STREAM_SERVER);
    int rc = troc_handshake_server_hello(&server, data, size, &x->territory, FUZZ_TERRITORY, FUZZ_UNIT,
                                         &server_channel, hello, &hello_size);
    if (rc != 0) return;
    /* The answer binds the hash of the input: a client that sent these
     * bytes accepts it, and its proof verifies, whatever key-exchange key
     * the input named. */
    troc_hash(data, size, client.client_hello_hash);
    rc = troc_handshake_client_auth(&client, hello, hello_size, x->territory.public_key, &x->member, &client_channel,
                                    auth, &auth_size);
    assert(rc == 0);
    assert(strcmp(client.territory, FUZZ_TERRITORY) == 0 && strcmp(client.unit, FUZZ_UNIT) == 0);
    Troc__V1__ClientFrame *proof = troc__v1__client_frame__unpack(NULL, auth_size, auth);
    assert(proof_verify(&server, proof) == 0);
    troc__v1__client_frame__free_unpacked(proof, NULL);
    /* Both ends share one channel only when the input named the key whose
     * secret the client holds. */
    assert(channels_pair(&client_channel, &server_channel) == names_genuine_kx_key(x, data, size));
    if (bytes_equal(data, size, x->client_hello, x->client_hello_size)) {
        assert(bytes_equal(hello, hello_size, x->server_hello, x->server_hello_size));
    }
    troc_handshake_clear(&server);
    troc_handshake_clear(&client);
    (void)rc;
}

/* The input as a server's hello, to the genuine client, with the territory
 * key pinned and without (a first connection). */
static void as_server_hello(const genuine *g, const uint8_t *data, size_t size) {
    const fuzz_exchange *x = &g->exchange;
    for (int pinned = 0; pinned < 2; pinned++) {
        troc_handshake client = x->client;
        troc_channel channel;
        uint8_t auth[TROC_HANDSHAKE_FRAME_SIZE_MAX];
        size_t auth_size = 0;
        int rc = troc_handshake_client_auth(&client, data, size, pinned ? x->territory.public_key : NULL, &x->member,
                                            &channel, auth, &auth_size);
        troc_handshake_clear(&client);
        if (rc != 0) continue;
        /* A frame may carry fields the client ignores, but what is signed
         * must be the genuine body under the genuine signature: anything
         * else accepted is a forgery that passed. */
        uint8_t body[TROC_HANDSHAKE_FRAME_SIZE_MAX], signature[TROC_SIGNATURE_SIZE];
        size_t body_size = 0;
        assert(server_hello_signed(data, size, body, &body_size, signature));
        assert(bytes_equal(body, body_size, g->body, g->body_size));
        assert(memcmp(signature, g->server_signature, sizeof signature) == 0);
        assert(strcmp(client.territory, FUZZ_TERRITORY) == 0 && strcmp(client.unit, FUZZ_UNIT) == 0);
        assert(memcmp(client.territory_key, x->territory.public_key, TROC_PUBLIC_KEY_SIZE) == 0);
        assert(channels_pair(&channel, &x->server_channel));
        assert(bytes_equal(auth, auth_size, x->client_auth, x->client_auth_size));
    }
}

/* The input as the client's proof, to the server of the genuine exchange:
 * Ed25519 as libsodium checks it admits one signature per key and
 * message, so only the member's genuine one verifies. */
static void as_client_auth(const genuine *g, const uint8_t *data, size_t size) {
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, size, data);
    if (frame == NULL) return;
    if (proof_verify(&g->exchange.server, frame) == 0) {
        const Troc__V1__ClientAuth *auth = frame->auth;
        assert(bytes_equal(auth->public_key.data, auth->public_key.len, g->exchange.member.public_key,
                           TROC_PUBLIC_KEY_SIZE));
        assert(bytes_equal(auth->signature.data, auth->signature.len, g->client_signature, TROC_SIGNATURE_SIZE));
    }
    troc__v1__client_frame__free_unpacked(frame, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static genuine g;
    static bool ready;
    if (!ready) {
        genuine_init(&g);
        ready = true;
    }
    as_client_hello(&g, data, size);
    as_server_hello(&g, data, size);
    as_client_auth(&g, data, size);
    return 0;
}
