/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Both sides of the handshake described in handshake.h.  Every field of a
 * peer's hello is checked for presence and exact size before use; anything
 * else is TROC_EHANDSHAKE and the caller closes the connection.  Decoding
 * uses protobuf-c's default allocator: a handshake happens once per
 * connection, not per transfer.
 */
#include "handshake.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"
#include "troc.pb-c.h"

_Static_assert(crypto_kx_PUBLICKEYBYTES == 32 && crypto_kx_SECRETKEYBYTES == 32, "kx key sizes");

static bool binary_is(protobuf_c_boolean has, ProtobufCBinaryData data, size_t size) {
    return has && data.len == size && data.data != NULL;
}

/* transcript = BLAKE2b-256(hash of the client's hello || server hello body) */
static void transcript_compute(troc_handshake *handshake, const uint8_t *server_body, size_t server_body_size) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, TROC_HASH_SIZE);
    crypto_generichash_update(&state, handshake->client_hello_hash, TROC_HASH_SIZE);
    crypto_generichash_update(&state, server_body, server_body_size);
    crypto_generichash_final(&state, handshake->transcript, TROC_HASH_SIZE);
}

int troc_handshake_client_hello(troc_handshake *handshake, uint8_t *out, size_t *size_out) {
    assert(handshake != NULL && out != NULL && size_out != NULL);
    memset(handshake, 0, sizeof *handshake);
    crypto_kx_keypair(handshake->kx_public_key, handshake->kx_secret_key);
    uint8_t nonce[TROC_HANDSHAKE_NONCE_SIZE];
    randombytes_buf(nonce, sizeof nonce);
    Troc__V1__ClientHello hello = TROC__V1__CLIENT_HELLO__INIT;
    hello.has_version = 1;
    hello.version = TROC_PROTOCOL_VERSION;
    hello.has_nonce = 1;
    hello.nonce = (ProtobufCBinaryData){sizeof nonce, nonce};
    hello.has_kx_public_key = 1;
    hello.kx_public_key = (ProtobufCBinaryData){sizeof handshake->kx_public_key, handshake->kx_public_key};
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_HELLO;
    frame.hello = &hello;
    size_t size = troc__v1__client_frame__get_packed_size(&frame);
    assert(size <= TROC_HANDSHAKE_FRAME_SIZE_MAX);
    (void)size; /* read by the assertion only */
    *size_out = troc__v1__client_frame__pack(&frame, out);
    troc_hash(out, *size_out, handshake->client_hello_hash);
    return 0;
}

/* Checks the decoded server hello body and copies what the client keeps. */
static int client_accept_body(troc_handshake *handshake, const Troc__V1__ServerHelloBody *body,
                              const uint8_t *expected_territory_key) {
    if (!body->has_version || body->version != TROC_PROTOCOL_VERSION) return TROC_EHANDSHAKE;
    if (!binary_is(body->has_territory_key, body->territory_key, TROC_PUBLIC_KEY_SIZE) ||
        !binary_is(body->has_nonce, body->nonce, TROC_HANDSHAKE_NONCE_SIZE) ||
        !binary_is(body->has_kx_public_key, body->kx_public_key, 32) ||
        !binary_is(body->has_client_hello_hash, body->client_hello_hash, TROC_HASH_SIZE)) {
        return TROC_EHANDSHAKE;
    }
    if (body->territory == NULL || !troc_name_valid(body->territory, strlen(body->territory))) return TROC_EHANDSHAKE;
    if (body->unit == NULL || strlen(body->unit) > TROC_UNIT_LENGTH_MAX ||
        !troc_text_valid(body->unit, strlen(body->unit))) {
        return TROC_EHANDSHAKE;
    }
    if (sodium_memcmp(body->client_hello_hash.data, handshake->client_hello_hash, TROC_HASH_SIZE) != 0) {
        return TROC_EHANDSHAKE;
    }
    if (expected_territory_key != NULL &&
        sodium_memcmp(body->territory_key.data, expected_territory_key, TROC_PUBLIC_KEY_SIZE) != 0) {
        return TROC_ESERVER_KEY;
    }
    memcpy(handshake->territory_key, body->territory_key.data, TROC_PUBLIC_KEY_SIZE);
    strcpy(handshake->territory, body->territory);
    strcpy(handshake->unit, body->unit);
    return 0;
}

static int client_write_auth(troc_handshake *handshake, const troc_keypair *identity, uint8_t *auth_out,
                             size_t *auth_size_out) {
    uint8_t signature[TROC_SIGNATURE_SIZE];
    int rc = troc_sign(identity, TROC_DOMAIN_CLIENT_AUTH, handshake->territory_key, handshake->transcript,
                       TROC_HASH_SIZE, signature);
    if (rc != 0) return rc;
    Troc__V1__ClientAuth auth = TROC__V1__CLIENT_AUTH__INIT;
    auth.has_public_key = 1;
    auth.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)identity->public_key};
    auth.has_signature = 1;
    auth.signature = (ProtobufCBinaryData){TROC_SIGNATURE_SIZE, signature};
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_AUTH;
    frame.auth = &auth;
    assert(troc__v1__client_frame__get_packed_size(&frame) <= TROC_HANDSHAKE_FRAME_SIZE_MAX);
    *auth_size_out = troc__v1__client_frame__pack(&frame, auth_out);
    return 0;
}

int troc_handshake_client_auth(troc_handshake *handshake, const uint8_t *server_hello, size_t server_hello_size,
                               const uint8_t *expected_territory_key, const troc_keypair *identity,
                               troc_channel *channel, uint8_t *auth_out, size_t *auth_size_out) {
    assert(handshake != NULL && server_hello != NULL && identity != NULL && channel != NULL);
    assert(auth_out != NULL && auth_size_out != NULL);
    int rc = TROC_EHANDSHAKE;
    Troc__V1__ServerHelloBody *body = NULL;
    Troc__V1__ServerFrame *frame = troc__v1__server_frame__unpack(NULL, server_hello_size, server_hello);
    if (frame == NULL || frame->kind_case != TROC__V1__SERVER_FRAME__KIND_HELLO) goto done;
    const Troc__V1__ServerHello *hello = frame->hello;
    if (!hello->has_body || hello->body.data == NULL ||
        !binary_is(hello->has_signature, hello->signature, TROC_SIGNATURE_SIZE)) {
        goto done;
    }
    body = troc__v1__server_hello_body__unpack(NULL, hello->body.len, hello->body.data);
    if (body == NULL) goto done;
    rc = client_accept_body(handshake, body, expected_territory_key);
    if (rc != 0) goto done;
    rc = TROC_EHANDSHAKE;
    if (!troc_verify(handshake->territory_key, TROC_DOMAIN_SERVER_AUTH, handshake->territory_key, hello->body.data,
                     hello->body.len, hello->signature.data)) {
        goto done;
    }
    if (crypto_kx_client_session_keys(channel->receive_key, channel->send_key, handshake->kx_public_key,
                                      handshake->kx_secret_key, body->kx_public_key.data) != 0) {
        goto done;
    }
    channel->receive_counter = 0;
    channel->send_counter = 0;
    transcript_compute(handshake, hello->body.data, hello->body.len);
    rc = client_write_auth(handshake, identity, auth_out, auth_size_out);
done:
    if (body != NULL) troc__v1__server_hello_body__free_unpacked(body, NULL);
    if (frame != NULL) troc__v1__server_frame__free_unpacked(frame, NULL);
    return rc;
}

/* Encodes and signs the server's hello body into `out` as a ServerFrame. */
static int server_write_hello(troc_handshake *handshake, const troc_keypair *territory_keypair, const char *territory,
                              const char *unit, uint8_t *out, size_t *size_out) {
    uint8_t nonce[TROC_HANDSHAKE_NONCE_SIZE];
    randombytes_buf(nonce, sizeof nonce);
    Troc__V1__ServerHelloBody body = TROC__V1__SERVER_HELLO_BODY__INIT;
    body.has_version = 1;
    body.version = TROC_PROTOCOL_VERSION;
    body.territory = (char *)territory;
    body.has_territory_key = 1;
    body.territory_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)territory_keypair->public_key};
    body.unit = (char *)unit;
    body.has_nonce = 1;
    body.nonce = (ProtobufCBinaryData){sizeof nonce, nonce};
    body.has_kx_public_key = 1;
    body.kx_public_key = (ProtobufCBinaryData){32, handshake->kx_public_key};
    body.has_client_hello_hash = 1;
    body.client_hello_hash = (ProtobufCBinaryData){TROC_HASH_SIZE, handshake->client_hello_hash};
    uint8_t body_bytes[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    assert(troc__v1__server_hello_body__get_packed_size(&body) <= sizeof body_bytes);
    size_t body_size = troc__v1__server_hello_body__pack(&body, body_bytes);
    uint8_t signature[TROC_SIGNATURE_SIZE];
    int rc = troc_sign(territory_keypair, TROC_DOMAIN_SERVER_AUTH, territory_keypair->public_key, body_bytes,
                       body_size, signature);
    if (rc != 0) return rc;
    transcript_compute(handshake, body_bytes, body_size);
    Troc__V1__ServerHello hello = TROC__V1__SERVER_HELLO__INIT;
    hello.has_body = 1;
    hello.body = (ProtobufCBinaryData){body_size, body_bytes};
    hello.has_signature = 1;
    hello.signature = (ProtobufCBinaryData){TROC_SIGNATURE_SIZE, signature};
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_HELLO;
    frame.hello = &hello;
    assert(troc__v1__server_frame__get_packed_size(&frame) <= TROC_HANDSHAKE_FRAME_SIZE_MAX);
    *size_out = troc__v1__server_frame__pack(&frame, out);
    return 0;
}

int troc_handshake_server_hello(troc_handshake *handshake, const uint8_t *client_hello, size_t client_hello_size,
                                const troc_keypair *territory_keypair, const char *territory, const char *unit,
                                troc_channel *channel, uint8_t *out, size_t *size_out) {
    assert(handshake != NULL && client_hello != NULL && territory_keypair != NULL && channel != NULL);
    assert(territory != NULL && unit != NULL && out != NULL && size_out != NULL);
    memset(handshake, 0, sizeof *handshake);
    int rc = TROC_EHANDSHAKE;
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, client_hello_size, client_hello);
    if (frame == NULL || frame->kind_case != TROC__V1__CLIENT_FRAME__KIND_HELLO) goto done;
    const Troc__V1__ClientHello *hello = frame->hello;
    if (!hello->has_version || hello->version != TROC_PROTOCOL_VERSION ||
        !binary_is(hello->has_nonce, hello->nonce, TROC_HANDSHAKE_NONCE_SIZE) ||
        !binary_is(hello->has_kx_public_key, hello->kx_public_key, 32)) {
        goto done;
    }
    troc_hash(client_hello, client_hello_size, handshake->client_hello_hash);
    crypto_kx_keypair(handshake->kx_public_key, handshake->kx_secret_key);
    if (crypto_kx_server_session_keys(channel->receive_key, channel->send_key, handshake->kx_public_key,
                                      handshake->kx_secret_key, hello->kx_public_key.data) != 0) {
        goto done;
    }
    channel->receive_counter = 0;
    channel->send_counter = 0;
    memcpy(handshake->territory_key, territory_keypair->public_key, TROC_PUBLIC_KEY_SIZE);
    rc = server_write_hello(handshake, territory_keypair, territory, unit, out, size_out);
done:
    if (frame != NULL) troc__v1__client_frame__free_unpacked(frame, NULL);
    return rc;
}

int troc_handshake_server_verify(const troc_handshake *handshake, const uint8_t *public_key, size_t public_key_size,
                                 const uint8_t *signature, size_t signature_size) {
    assert(handshake != NULL);
    if (public_key == NULL || public_key_size != TROC_PUBLIC_KEY_SIZE || signature == NULL ||
        signature_size != TROC_SIGNATURE_SIZE) {
        return TROC_EHANDSHAKE;
    }
    bool ok = troc_verify(public_key, TROC_DOMAIN_CLIENT_AUTH, handshake->territory_key, handshake->transcript,
                          TROC_HASH_SIZE, signature);
    return ok ? 0 : TROC_EHANDSHAKE;
}

void troc_handshake_clear(troc_handshake *handshake) {
    sodium_memzero(handshake->kx_secret_key, sizeof handshake->kx_secret_key);
}
