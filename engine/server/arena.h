/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bump allocator that protobuf-c decodes into.  A request is decoded,
 * verified, applied and answered, then everything it allocated goes at once:
 * no free per field, no malloc per transfer.  The first block is given by the
 * owner (inline in the request); larger messages take further blocks from the
 * heap, up to a limit that bounds what one hostile frame can cost.
 */
#ifndef TROC_SERVER_ARENA_H
#define TROC_SERVER_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

typedef struct troc__arena_block troc__arena_block;

typedef struct troc__arena {
    ProtobufCAllocator allocator;          /* hand &arena->allocator to protobuf-c */
    uint8_t *first;                        /* the owner's block */
    size_t first_size;                     /* its size in bytes */
    uint8_t *cursor;                       /* next free byte of the current block */
    uint8_t *end;                          /* end of the current block */
    troc__arena_block *blocks;             /* heap blocks, newest first */
    size_t heap_bytes;                     /* bytes of the heap blocks */
    size_t limit;                          /* most heap_bytes may reach */
} troc__arena;

/* Prepares an arena over the owner's block `first` (aligned for any type). */
void troc__arena_init(troc__arena *arena, void *first, size_t first_size);

/* Sets how many heap bytes the arena may take before it refuses. */
void troc__arena_set_limit(troc__arena *arena, size_t limit);

/* `size` bytes aligned for any type, or NULL past the limit or when the heap
 * is exhausted. */
void *troc__arena_alloc(troc__arena *arena, size_t size);

/* Frees the heap blocks and makes the whole first block available again. */
void troc__arena_reset(troc__arena *arena);

#endif /* TROC_SERVER_ARENA_H */
