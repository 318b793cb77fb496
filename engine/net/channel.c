/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AEAD frames over the keys agreed in the handshake.  The counters make
 * every nonce unique per key without sending it; 2^64 frames will not be
 * reached, and the assertion says so.
 */
#include "channel.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "frame.h"

_Static_assert(TROC_CHANNEL_TAG_SIZE == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(TROC_CHANNEL_KEY_SIZE == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(TROC_CHANNEL_KEY_SIZE == crypto_kx_SESSIONKEYBYTES, "kx session key size");

static void nonce_from_counter(uint64_t counter, uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES]) {
    memset(nonce, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
    for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

size_t troc_channel_seal(troc_channel *channel, const uint8_t *plaintext, size_t plaintext_size, uint8_t *frame) {
    assert(channel != NULL && plaintext != NULL && frame != NULL);
    assert(plaintext_size >= 1 && plaintext_size <= TROC_CHANNEL_PLAINTEXT_MAX);
    assert(channel->send_counter < UINT64_MAX);
    size_t payload_size = plaintext_size + TROC_CHANNEL_TAG_SIZE;
    troc_frame_header_write(frame, payload_size);
    uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    nonce_from_counter(channel->send_counter++, nonce);
    unsigned long long written = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(frame + TROC_FRAME_HEADER_SIZE, &written, plaintext, plaintext_size,
                                              frame, TROC_FRAME_HEADER_SIZE, NULL, nonce, channel->send_key);
    assert(written == payload_size);
    return TROC_FRAME_HEADER_SIZE + payload_size;
}

int troc_channel_open(troc_channel *channel, const uint8_t *frame, size_t frame_size, uint8_t *plaintext,
                      size_t *plaintext_size_out) {
    assert(channel != NULL && frame != NULL && plaintext != NULL && plaintext_size_out != NULL);
    if (frame_size < TROC_FRAME_HEADER_SIZE + TROC_CHANNEL_TAG_SIZE + 1) return TROC_EFRAME;
    assert(channel->receive_counter < UINT64_MAX);
    uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    nonce_from_counter(channel->receive_counter, nonce);
    unsigned long long opened = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, &opened, NULL, frame + TROC_FRAME_HEADER_SIZE,
                                                  frame_size - TROC_FRAME_HEADER_SIZE, frame,
                                                  TROC_FRAME_HEADER_SIZE, nonce, channel->receive_key) != 0) {
        return TROC_EFRAME;
    }
    channel->receive_counter++;
    *plaintext_size_out = (size_t)opened;
    return 0;
}

void troc_channel_clear(troc_channel *channel) {
    sodium_memzero(channel, sizeof *channel);
}
