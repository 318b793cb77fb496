/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for both sides of the handshake: the input is offered
 * to the server as a client's hello and to the client as a server's hello.
 * Neither may crash, and a forged server hello must never be accepted (its
 * signature cannot verify under a key the fuzzer does not hold, so any
 * success is a bug).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static troc_keypair territory, member;
    static int ready;
    if (!ready) {
        if (troc_crypto_init() != 0) return 0;
        troc_keypair_generate(&territory);
        troc_keypair_generate(&member);
        ready = 1;
    }
    troc_handshake server, client;
    troc_channel channel;
    uint8_t out[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t out_size = 0;
    (void)troc_handshake_server_hello(&server, data, size, &territory, "fuzz", "EUR", &channel, out, &out_size);
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0;
    troc_handshake_client_hello(&client, hello, &hello_size);
    int rc = troc_handshake_client_auth(&client, data, size, territory.public_key, &member, &channel, out, &out_size);
    assert(rc != 0);
    (void)rc;
    return 0;
}
