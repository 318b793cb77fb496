/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel: after the handshake, every frame's payload is
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       N-16  ChaCha20-Poly1305 (IETF) ciphertext of one protobuf frame
 *   N-16    16    Poly1305 tag
 *
 * with a key per direction from crypto_kx over ephemeral X25519 keys, and a
 * nonce that is the direction's frame counter (4 zero bytes, then the
 * counter as 8 bytes little-endian), never sent.  The frame header is the
 * associated data.  A tampered, replayed, reordered, dropped or truncated
 * frame therefore fails to open, and the connection is closed.
 */
#ifndef TROC_CHANNEL_H
#define TROC_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

#define TROC_CHANNEL_KEY_SIZE 32
#define TROC_CHANNEL_TAG_SIZE 16

/* Largest plaintext that fits in one sealed frame. */
#define TROC_CHANNEL_PLAINTEXT_MAX (TROC_FRAME_SIZE_MAX - TROC_CHANNEL_TAG_SIZE)

typedef struct troc_channel {
    uint8_t receive_key[TROC_CHANNEL_KEY_SIZE];
    uint8_t send_key[TROC_CHANNEL_KEY_SIZE];
    uint64_t receive_counter; /* frames opened so far */
    uint64_t send_counter;    /* frames sealed so far */
} troc_channel;

/* Writes header and ciphertext of `plaintext` into `frame`, which has room
 * for TROC_FRAME_HEADER_SIZE + plaintext_size + TROC_CHANNEL_TAG_SIZE bytes;
 * returns the frame's total size.  plaintext_size must be in
 * [1, TROC_CHANNEL_PLAINTEXT_MAX]. */
size_t troc_channel_seal(troc_channel *channel, const uint8_t *plaintext, size_t plaintext_size, uint8_t *frame);

/* Opens one whole frame (header included, as troc_frame_peek found it) into
 * `plaintext` (room for payload size - TROC_CHANNEL_TAG_SIZE bytes).
 * Returns 0 and the plaintext size, or TROC_EFRAME when the payload is too
 * short or does not authenticate. */
int troc_channel_open(troc_channel *channel, const uint8_t *frame, size_t frame_size, uint8_t *plaintext,
                      size_t *plaintext_size_out);

/* Wipes the keys. */
void troc_channel_clear(troc_channel *channel);

#endif /* TROC_CHANNEL_H */
