/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame headers.  The size check happens on the header alone so that an
 * oversized frame is refused before any of its payload is buffered.
 */
#include "frame.h"

#include <assert.h>

#include "base/error.h"
#include "base/limits.h"

int troc_frame_peek(const uint8_t *data, size_t size, size_t *payload_size_out) {
    assert(data != NULL || size == 0);
    assert(payload_size_out != NULL);
    if (size < TROC_FRAME_HEADER_SIZE) return 0;
    uint32_t payload_size = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    if (payload_size == 0) return TROC_EFRAME;
    if (payload_size > TROC_FRAME_SIZE_MAX) return TROC_EFRAME_SIZE;
    *payload_size_out = payload_size;
    return size - TROC_FRAME_HEADER_SIZE >= payload_size ? 1 : 0;
}

void troc_frame_header_write(uint8_t header[TROC_FRAME_HEADER_SIZE], size_t payload_size) {
    assert(payload_size > 0 && payload_size <= TROC_FRAME_SIZE_MAX);
    header[0] = (uint8_t)(payload_size >> 24);
    header[1] = (uint8_t)(payload_size >> 16);
    header[2] = (uint8_t)(payload_size >> 8);
    header[3] = (uint8_t)payload_size;
}
