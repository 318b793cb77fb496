/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the intern table (clients/csv/intern): dense indices in
 * order of first appearance, exact byte comparison, growth far past the
 * expected size, and batches agreeing with one-by-one adds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/intern.h"

static uint32_t add(troc_intern *intern, const char *text, bool expect_added) {
    uint32_t index = UINT32_MAX;
    bool added = !expect_added;
    assert_int_equal(troc_intern_add(intern, text, strlen(text), &index, &added), 0);
    assert_true(added == expect_added);
    return index;
}

static void test_indices_follow_first_appearance(void **state) {
    (void)state;
    troc_intern *intern = NULL;
    assert_int_equal(troc_intern_create(0, &intern), 0);
    assert_int_equal(add(intern, "A", true), 0);
    assert_int_equal(add(intern, "B", true), 1);
    assert_int_equal(add(intern, "A", false), 0);
    assert_int_equal(add(intern, "t1/firm202", true), 2);
    assert_int_equal(add(intern, "", true), 3);
    assert_int_equal(add(intern, "", false), 3);
    assert_int_equal(add(intern, "a", true), 4); /* case matters */
    assert_int_equal(add(intern, "A ", true), 5); /* so do spaces */
    assert_int_equal(troc_intern_count(intern), 6);
    size_t length = 0;
    const char *text = troc_intern_text(intern, 2, &length);
    assert_int_equal(length, 10);
    assert_memory_equal(text, "t1/firm202", 10);
    troc_intern_destroy(intern);
}

static void test_embedded_nul_and_prefixes(void **state) {
    (void)state;
    troc_intern *intern = NULL;
    assert_int_equal(troc_intern_create(4, &intern), 0);
    uint32_t first = 0, second = 0, third = 0;
    bool added = false;
    assert_int_equal(troc_intern_add(intern, "ab\0cd", 5, &first, &added), 0);
    assert_int_equal(troc_intern_add(intern, "ab\0ce", 5, &second, &added), 0);
    assert_true(added);
    assert_int_equal(troc_intern_add(intern, "ab", 2, &third, &added), 0);
    assert_true(added);
    assert_int_equal(first, 0);
    assert_int_equal(second, 1);
    assert_int_equal(third, 2);
    uint32_t again = 99;
    assert_int_equal(troc_intern_add(intern, "ab\0ce", 5, &again, &added), 0);
    assert_false(added);
    assert_int_equal(again, 1);
    assert_int_equal(troc_intern_add(intern, "ab\0c", 4, &again, &added), 0);
    assert_true(added);
    assert_int_equal(again, 3);
    troc_intern_destroy(intern);
}

static void test_grows_past_expected_size(void **state) {
    (void)state;
    enum { COUNT = 200000 };
    char(*names)[16] = malloc(COUNT * sizeof *names);
    assert_non_null(names);
    troc_intern *intern = NULL;
    assert_int_equal(troc_intern_create(10, &intern), 0);
    for (uint32_t i = 0; i < COUNT; i++) {
        snprintf(names[i], sizeof names[i], "firm%u", i);
        assert_int_equal(add(intern, names[i], true), i);
    }
    for (uint32_t i = 0; i < COUNT; i += 7) assert_int_equal(add(intern, names[i], false), i);
    for (uint32_t i = 0; i < COUNT; i += 13) {
        size_t length = 0;
        const char *text = troc_intern_text(intern, i, &length);
        assert_int_equal(length, strlen(names[i]));
        assert_memory_equal(text, names[i], length);
    }
    assert_int_equal(troc_intern_count(intern), COUNT);
    assert_int_equal(add(intern, "firm200000", true), COUNT);
    troc_intern_destroy(intern);
    free(names);
}

/* Strings filed under one hash (given, so that every one is compared with
 * every other): each length from 0 to 40 bytes, and each string of those
 * with one byte changed at each place.  Short strings are compared in
 * their entries, long ones partly in the arena: every byte counts, in
 * both. */
static void test_one_byte_apart_under_one_hash(void **state) {
    (void)state;
    enum { LONGEST = 40, COUNT = (LONGEST + 1) * (LONGEST + 2) / 2 };
    static char texts[COUNT][LONGEST];
    const char *pointers[COUNT];
    uint32_t lengths[COUNT], hashes[COUNT], indices[COUNT], again[COUNT];
    bool added[COUNT];
    uint32_t count = 0;
    for (uint32_t length = 0; length <= LONGEST; length++) {
        for (uint32_t changed = 0; changed <= length; changed++) { /* changed == length: none changed */
            for (uint32_t i = 0; i < length; i++) texts[count][i] = (char)('a' + i % 26);
            if (changed < length) texts[count][changed] = '#';
            pointers[count] = texts[count];
            lengths[count] = length;
            hashes[count] = 7;
            count++;
        }
    }
    assert_int_equal(count, COUNT);
    troc_intern *intern = NULL;
    assert_int_equal(troc_intern_create(4, &intern), 0);
    assert_int_equal(troc_intern_add_many_hashed(intern, COUNT, pointers, lengths, hashes, indices, added), 0);
    for (uint32_t i = 0; i < COUNT; i++) {
        assert_true(added[i]);
        assert_int_equal(indices[i], i);
        size_t length = 0;
        const char *text = troc_intern_text(intern, i, &length);
        assert_int_equal(length, lengths[i]);
        assert_memory_equal(text, texts[i], length);
    }
    assert_int_equal(troc_intern_add_many_hashed(intern, COUNT, pointers, lengths, hashes, again, added), 0);
    for (uint32_t i = 0; i < COUNT; i++) assert_false(added[i]);
    assert_memory_equal(again, indices, sizeof again);
    troc_intern_destroy(intern);
}

/* add_many() gives the indices and flags add() would, across its groups,
 * with repeats inside one call; so does add_many_hashed() given
 * troc_intern_hash(). */
static void test_add_many_matches_add(void **state) {
    (void)state;
    enum { COUNT = 1000 };
    static char names[COUNT][16];
    const char *texts[COUNT];
    uint32_t lengths[COUNT], indices[COUNT];
    bool added[COUNT];
    for (uint32_t i = 0; i < COUNT; i++) {
        snprintf(names[i], sizeof names[i], "f%u", (i * 7919u) % 300u); /* 300 names, each repeated */
        texts[i] = names[i];
        lengths[i] = (uint32_t)strlen(names[i]);
    }
    troc_intern *many = NULL, *one = NULL;
    assert_int_equal(troc_intern_create(2, &many), 0);
    assert_int_equal(troc_intern_create(2, &one), 0);
    assert_int_equal(add(many, "f0", true), 0); /* already there before the batch */
    assert_int_equal(add(one, "f0", true), 0);
    assert_int_equal(troc_intern_add_many(many, COUNT, texts, lengths, indices, added), 0);
    for (uint32_t i = 0; i < COUNT; i++) {
        uint32_t index = 0;
        bool was_added = false;
        assert_int_equal(troc_intern_add(one, texts[i], lengths[i], &index, &was_added), 0);
        assert_int_equal(indices[i], index);
        assert_true(added[i] == was_added);
    }
    assert_int_equal(troc_intern_count(many), 300);
    assert_false(added[0]); /* "f0" */
    uint32_t again[COUNT];
    assert_int_equal(troc_intern_add_many(many, COUNT, texts, lengths, again, NULL), 0);
    assert_memory_equal(again, indices, sizeof again);
    assert_int_equal(troc_intern_count(many), 300);
    /* With the hashes given, a new table fills the same way. */
    troc_intern *hashed = NULL;
    uint32_t hashes[COUNT], hashed_indices[COUNT];
    bool hashed_added[COUNT];
    for (uint32_t i = 0; i < COUNT; i++) hashes[i] = troc_intern_hash(texts[i], lengths[i]);
    assert_int_equal(troc_intern_create(2, &hashed), 0);
    assert_int_equal(add(hashed, "f0", true), 0);
    assert_int_equal(troc_intern_add_many_hashed(hashed, COUNT, texts, lengths, hashes, hashed_indices, hashed_added), 0);
    assert_memory_equal(hashed_indices, indices, sizeof indices);
    assert_memory_equal(hashed_added, added, sizeof added);
    assert_true(troc_intern_hash("f12", 3) != troc_intern_hash("f13", 3));
    troc_intern_destroy(hashed);
    troc_intern_destroy(many);
    troc_intern_destroy(one);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indices_follow_first_appearance),
        cmocka_unit_test(test_embedded_nul_and_prefixes),
        cmocka_unit_test(test_grows_past_expected_size),
        cmocka_unit_test(test_add_many_matches_add),
        cmocka_unit_test(test_one_byte_apart_under_one_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
