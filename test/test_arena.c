/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the server's request arena: alignment, the inline block
 * first, heap blocks up to the limit and never past it, reset, and the
 * property the server relies on: a message built to expand far beyond its
 * encoded size fails to decode instead of taking memory.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "server/arena.h"
#include "troc.pb-c.h"

static max_align_t first_block[512 / sizeof(max_align_t)];

static void test_allocations_are_aligned_and_inline_first(void **state) {
    (void)state;
    troc__arena arena;
    troc__arena_init(&arena, first_block, sizeof first_block);
    troc__arena_set_limit(&arena, 0);
    uint8_t *a = troc__arena_alloc(&arena, 1);
    uint8_t *b = troc__arena_alloc(&arena, 3);
    assert_non_null(a);
    assert_non_null(b);
    assert_true((uintptr_t)b % alignof(max_align_t) == 0);
    assert_true(a >= (uint8_t *)first_block && b < (uint8_t *)first_block + sizeof first_block);
    assert_null(troc__arena_alloc(&arena, sizeof first_block));   /* no heap allowed */
    assert_int_equal(arena.heap_bytes, 0);
    troc__arena_reset(&arena);
}

static void test_heap_blocks_stop_at_the_limit(void **state) {
    (void)state;
    troc__arena arena;
    troc__arena_init(&arena, first_block, sizeof first_block);
    troc__arena_set_limit(&arena, 100000);
    uint8_t *big = troc__arena_alloc(&arena, 70000);
    assert_non_null(big);
    memset(big, 0xab, 70000);
    assert_true(arena.heap_bytes >= 70000 && arena.heap_bytes <= 100000);
    assert_null(troc__arena_alloc(&arena, 40000));
    assert_non_null(troc__arena_alloc(&arena, 20000));
    assert_true(arena.heap_bytes <= 100000);
    troc__arena_reset(&arena);
    assert_int_equal(arena.heap_bytes, 0);
    assert_ptr_equal(troc__arena_alloc(&arena, 8), first_block);
    troc__arena_reset(&arena);
}

/* A Submit of many empty envelopes: 2 bytes each on the wire, a whole
 * struct and a pointer each when decoded. */
static void test_hostile_expansion_fails_to_decode(void **state) {
    (void)state;
    enum { ENVELOPES = 20000 };
    static uint8_t encoded[2 * ENVELOPES];
    for (size_t i = 0; i < ENVELOPES; i++) {
        encoded[2 * i] = 0x0a;              /* field 1, length-delimited */
        encoded[2 * i + 1] = 0x00;          /* of length 0 */
    }
    troc__arena arena;
    troc__arena_init(&arena, first_block, sizeof first_block);
    troc__arena_set_limit(&arena, TROC_DECODE_EXPANSION_MAX * sizeof encoded);
    Troc__V1__Submit *submit = troc__v1__submit__unpack(&arena.allocator, sizeof encoded, encoded);
    assert_null(submit);
    troc__arena_reset(&arena);
    troc__arena_set_limit(&arena, 100 * sizeof encoded);
    submit = troc__v1__submit__unpack(&arena.allocator, sizeof encoded, encoded);
    assert_non_null(submit);                /* the same bytes decode when allowed to expand */
    assert_int_equal(submit->n_envelopes, ENVELOPES);
    troc__arena_reset(&arena);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocations_are_aligned_and_inline_first),
        cmocka_unit_test(test_heap_blocks_stop_at_the_limit),
        cmocka_unit_test(test_hostile_expansion_fails_to_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
