/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames: how troc's messages are delimited on a stream socket.
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       4     payload size N, big-endian, 1 <= N <= TROC_FRAME_SIZE_MAX
 *   4       N     payload: a protobuf ClientFrame or ServerFrame in clear
 *                 during the handshake, then an AEAD ciphertext of one
 *                 (channel.h) for the rest of the connection
 *
 * A frame that declares a size of zero or above the maximum is malformed:
 * the reader closes the connection without reading further.
 */
#ifndef TROC_FRAME_H
#define TROC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TROC_FRAME_HEADER_SIZE 4

/* Looks at the first bytes received.  Returns 1 and the payload size when a
 * whole frame is present, 0 when more bytes are needed, TROC_EFRAME for a
 * zero size and TROC_EFRAME_SIZE for a size above TROC_FRAME_SIZE_MAX (as
 * soon as the header has arrived, so a peer cannot make us wait for it). */
int troc_frame_peek(const uint8_t *data, size_t size, size_t *payload_size_out);

/* Writes the 4-byte header for a payload of `payload_size` bytes, which must
 * be within the limits. */
void troc_frame_header_write(uint8_t header[TROC_FRAME_HEADER_SIZE], size_t payload_size);

#endif /* TROC_FRAME_H */
