/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Arena allocation for protobuf-c.  Allocation rounds every size up to the
 * alignment of max_align_t and takes it from the current block; when the
 * block is full a heap block of at least ARENA_BLOCK_MIN bytes (or the size
 * asked, if larger) is linked in front.  protobuf-c's free calls are no-ops:
 * the arena is released as a whole by troc__arena_reset.
 *
 * Invariant: heap_bytes <= limit, and cursor <= end inside the current block.
 */
#include "arena.h"

#include <assert.h>
#include <stdalign.h>
#include <stdlib.h>

#define ARENA_ALIGN (alignof(max_align_t))
#define ARENA_BLOCK_MIN (64u * 1024u)

struct troc__arena_block {
    troc__arena_block *next;
    max_align_t data[];                    /* the block's bytes */
};

static void *arena_protobuf_alloc(void *data, size_t size) {
    return troc__arena_alloc(data, size);
}

static void arena_protobuf_free(void *data, void *pointer) {
    (void)data;
    (void)pointer;
}

void troc__arena_init(troc__arena *arena, void *first, size_t first_size) {
    assert(arena != NULL);
    assert(first != NULL || first_size == 0);
    assert((uintptr_t)first % ARENA_ALIGN == 0);
    arena->allocator.alloc = arena_protobuf_alloc;
    arena->allocator.free = arena_protobuf_free;
    arena->allocator.allocator_data = arena;
    arena->first = first;
    arena->first_size = first_size;
    arena->cursor = first;
    arena->end = (uint8_t *)first + first_size;
    arena->blocks = NULL;
    arena->heap_bytes = 0;
    arena->limit = 0;
}

void troc__arena_set_limit(troc__arena *arena, size_t limit) {
    assert(arena != NULL);
    assert(arena->heap_bytes <= limit);
    arena->limit = limit;
}

/* Links a heap block able to hold `size` bytes; 0 or -1 past the limit. */
static int arena_grow(troc__arena *arena, size_t size) {
    size_t block_size = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
    if (arena->heap_bytes + block_size > arena->limit) {
        if (arena->heap_bytes + size > arena->limit) return -1;
        block_size = arena->limit - arena->heap_bytes;
    }
    troc__arena_block *block = malloc(sizeof *block + block_size);
    if (block == NULL) return -1;
    block->next = arena->blocks;
    arena->blocks = block;
    arena->heap_bytes += block_size;
    arena->cursor = (uint8_t *)block->data;
    arena->end = arena->cursor + block_size;
    return 0;
}

void *troc__arena_alloc(troc__arena *arena, size_t size) {
    assert(arena != NULL);
    assert(arena->cursor <= arena->end);
    if (size == 0) size = 1;
    if (size > SIZE_MAX / 2) return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if ((size_t)(arena->end - arena->cursor) < size && arena_grow(arena, size) != 0) return NULL;
    void *pointer = arena->cursor;
    arena->cursor += size;
    assert(arena->heap_bytes <= arena->limit);
    return pointer;
}

void troc__arena_reset(troc__arena *arena) {
    assert(arena != NULL);
    while (arena->blocks != NULL) {
        troc__arena_block *next = arena->blocks->next;
        free(arena->blocks);
        arena->blocks = next;
    }
    arena->heap_bytes = 0;
    arena->cursor = arena->first;
    arena->end = arena->first + arena->first_size;
}
