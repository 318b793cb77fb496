/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The handshake that opens every connection, as pure functions over bytes
 * (no I/O), shared by trocd, partner links and libtroc:
 *
 *   client -> ClientFrame{hello}   version, nonce, ephemeral X25519 key
 *   server -> ServerFrame{hello}   ServerHelloBody (territory, its key, unit,
 *                                  nonce, ephemeral key, hash of the client's
 *                                  hello) signed by the territory key
 *   ---- both sides derive the channel keys (crypto_kx); all further frames
 *        are sealed (channel.h) ----
 *   client -> ClientFrame{auth}    the client's Ed25519 key and its signature
 *                                  over the transcript
 *   server -> ServerFrame{auth_result}
 *
 * transcript = BLAKE2b-256(BLAKE2b-256(client hello frame bytes) ||
 *                          ServerHelloBody bytes)
 *
 * The client authenticates the server by the territory key's signature (and
 * compares that key with the one it expects or has pinned); the server
 * authenticates the client by its signature over a transcript holding the
 * server's fresh nonce, so a recorded handshake cannot be replayed.
 * Ephemeral keys give forward secrecy.
 */
#ifndef TROC_HANDSHAKE_H
#define TROC_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "channel.h"
#include "crypto/crypto.h"

#define TROC_PROTOCOL_VERSION 1
#define TROC_HANDSHAKE_NONCE_SIZE 32

/* Largest encoded hello or auth frame; handshake buffers are this big. */
#define TROC_HANDSHAKE_FRAME_SIZE_MAX 512

typedef struct troc_handshake {
    uint8_t kx_public_key[32];            /* our ephemeral X25519 key */
    uint8_t kx_secret_key[32];
    uint8_t client_hello_hash[TROC_HASH_SIZE];
    uint8_t transcript[TROC_HASH_SIZE];   /* what the client signs */
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    char territory[TROC_NAME_LENGTH_MAX + 1];
    char unit[TROC_UNIT_LENGTH_MAX + 1];
} troc_handshake;

/* Client, step 1: writes the encoded ClientFrame{hello} (a frame payload, in
 * clear) into `out` (TROC_HANDSHAKE_FRAME_SIZE_MAX bytes). */
int troc_handshake_client_hello(troc_handshake *handshake, uint8_t *out, size_t *size_out);

/* Client, step 2: checks the server's hello (the payload of its first
 * frame): signature, version, the hash of our hello, and, when
 * `expected_territory_key` is not NULL, that the territory key equals it
 * (TROC_ESERVER_KEY otherwise).  Derives `channel` and writes the encoded
 * ClientFrame{auth} signed by `identity` into `auth_out`
 * (TROC_HANDSHAKE_FRAME_SIZE_MAX bytes), to be sealed and sent.  On success
 * the handshake holds the territory's name, key and unit. */
int troc_handshake_client_auth(troc_handshake *handshake, const uint8_t *server_hello, size_t server_hello_size,
                               const uint8_t *expected_territory_key, const troc_keypair *identity,
                               troc_channel *channel, uint8_t *auth_out, size_t *auth_size_out);

/* Server, step 1: reads the client's hello payload and writes the encoded
 * ServerFrame{hello} into `out` (TROC_HANDSHAKE_FRAME_SIZE_MAX bytes), signed
 * by `territory_keypair`; derives `channel`.  TROC_EHANDSHAKE for a hello
 * that is malformed or of another version. */
int troc_handshake_server_hello(troc_handshake *handshake, const uint8_t *client_hello, size_t client_hello_size,
                                const troc_keypair *territory_keypair, const char *territory, const char *unit,
                                troc_channel *channel, uint8_t *out, size_t *size_out);

/* Server, step 2: verifies the client's proof (the fields of its decoded
 * ClientAuth).  Returns 0 when `signature` by `public_key` covers the
 * transcript, TROC_EHANDSHAKE otherwise.  Who the key belongs to is the
 * caller's question. */
int troc_handshake_server_verify(const troc_handshake *handshake, const uint8_t *public_key, size_t public_key_size,
                                 const uint8_t *signature, size_t signature_size);

/* Wipes the ephemeral secret. */
void troc_handshake_clear(troc_handshake *handshake);

#endif /* TROC_HANDSHAKE_H */
