/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the base layer: exact amount parsing and formatting, overflow
 * checks, name and text validation, hexadecimal ids, error and result names,
 * large arrays, sorting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cmocka.h>

#include "base/amount.h"
#include "base/error.h"
#include "base/large.h"
#include "base/result.h"
#include "base/sort.h"
#include "base/text.h"

static int parse(const char *text, int64_t *cents) {
    return troc_amount_parse(text, strlen(text), cents);
}

static void test_amount_parse_accepts_decimals(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int64_t cents;
    } cases[] = {
        {"0", 0},         {"12", 1200},     {"1.5", 150},      {"1.05", 105},
        {"-120.50", -12050}, {"0.01", 1},   {"-0.5", -50},     {"007", 700},
        {"92233720368547758.07", INT64_MAX}, {"-92233720368547758.08", INT64_MIN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t cents = 42;
        assert_int_equal(parse(cases[i].text, &cents), 0);
        assert_true(cents == cases[i].cents);
    }
}

static void test_amount_parse_refuses_other_text(void **state) {
    (void)state;
    static const char *const bad[] = {
        "", "-", ".", "1.", ".5", "1.234", "1,5", "+1", " 1", "1 ", "1e3", "0x10", "--1", "1.2.3", "abc", "1-",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t cents = 42;
        assert_int_equal(parse(bad[i], &cents), TROC_EAMOUNT);
        assert_true(cents == 42);
    }
}

static void test_amount_parse_refuses_overflow(void **state) {
    (void)state;
    int64_t cents = 42;
    assert_int_equal(parse("92233720368547758.08", &cents), TROC_EOVERFLOW);
    assert_int_equal(parse("-92233720368547758.09", &cents), TROC_EOVERFLOW);
    assert_int_equal(parse("100000000000000000000000", &cents), TROC_EOVERFLOW);
    assert_true(cents == 42);
}

static void test_amount_parse_reads_only_length(void **state) {
    (void)state;
    int64_t cents = 0;
    assert_int_equal(troc_amount_parse("12.345", 5, &cents), 0);
    assert_true(cents == 1234);
}

static void test_amount_format_round_trips(void **state) {
    (void)state;
    static const int64_t values[] = {0, 1, -1, 99, 100, -12050, 123456789, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char text[TROC_AMOUNT_TEXT_SIZE];
        troc_amount_format(values[i], text);
        char written[TROC_AMOUNT_TEXT_SIZE];
        assert_int_equal(troc_amount_write(values[i], written), strlen(text));
        assert_string_equal(written, text);
        int64_t back = 0;
        assert_int_equal(parse(text, &back), 0);
        assert_true(back == values[i]);
    }
    char text[TROC_AMOUNT_TEXT_SIZE];
    assert_string_equal(troc_amount_format(-12050, text), "-120.50");
    assert_string_equal(troc_amount_format(5, text), "0.05");
    assert_string_equal(troc_amount_format(-5, text), "-0.05");
    assert_string_equal(troc_amount_format(INT64_MIN, text), "-92233720368547758.08");
}

/* Against printf, on amounts of every length and sign. */
static void test_amount_write_matches_printf(void **state) {
    (void)state;
    uint64_t seed = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        int64_t cents = (int64_t)(seed >> (seed % 64));
        if (i % 2 == 1) cents = -cents;
        if (i % 1000 == 0) cents = i % 3000 == 0 ? INT64_MIN : INT64_MAX - i;
        const uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
        char expected[64];
        snprintf(expected, sizeof expected, "%s%llu.%02llu", cents < 0 ? "-" : "",
                 (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
        char written[TROC_AMOUNT_TEXT_SIZE];
        assert_int_equal(troc_amount_write(cents, written), strlen(expected));
        assert_string_equal(written, expected);
    }
}

static void test_amount_add_checks_overflow(void **state) {
    (void)state;
    int64_t sum = 7;
    assert_int_equal(troc_amount_add(INT64_MAX, 1, &sum), TROC_EOVERFLOW);
    assert_int_equal(troc_amount_add(INT64_MIN, -1, &sum), TROC_EOVERFLOW);
    assert_true(sum == 7);
    assert_int_equal(troc_amount_add(INT64_MAX, INT64_MIN, &sum), 0);
    assert_true(sum == -1);
    assert_int_equal(troc_amount_subtract(INT64_MIN, 1, &sum), TROC_EOVERFLOW);
    assert_int_equal(troc_amount_subtract(0, INT64_MIN, &sum), TROC_EOVERFLOW);
    assert_int_equal(troc_amount_subtract(5, 7, &sum), 0);
    assert_true(sum == -2);
}

/* A share is rounded down, so that 100 means all of it; exact at the
 * largest totals, whose product with the scale passes 2^64. */
static void test_amount_share_rounds_down(void **state) {
    (void)state;
    char text[32];
    const struct {
        int64_t part, total;
        unsigned decimals;
        const char *expected;
    } cases[] = {
        {0, 0, 2, "0.00"},
        {0, 5, 2, "0.00"},
        {5, 5, 2, "100.00"},
        {1000000000, 1000000001, 2, "99.99"},
        {1000000000, 1000000001, 4, "99.9999"},
        {2, 3, 2, "66.66"},
        {1, 3, 0, "33"},
        {TROC_CLEARING_TOTAL_CENTS_MAX - 1, TROC_CLEARING_TOTAL_CENTS_MAX, 6, "99.999999"},
        {TROC_CLEARING_TOTAL_CENTS_MAX / 2, TROC_CLEARING_TOTAL_CENTS_MAX, 6, "49.999999"},
        {7, 5, 2, "100.00"},   /* nonsense from a server: clamped */
        {-3, 5, 2, "0.00"},
        {3, -5, 2, "0.00"},
        {INT64_MAX, INT64_MAX, 6, "100.000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double share = troc_amount_share_percent(cases[i].part, cases[i].total, cases[i].decimals);
        snprintf(text, sizeof text, "%.*f", (int)cases[i].decimals, share);
        assert_string_equal(text, cases[i].expected);
    }
}

/* What shows nothing: spaces, and characters that cannot be seen. */
static void test_blank_text(void **state) {
    (void)state;
    static const char *const blank[] = {"", " \t ", "\xc2\xa0", "\xe2\x80\x8b", "\xef\xbb\xbf",
                                        "\xe2\x80\xae \xe3\x80\x80", "\xc2\xad\xe2\x81\xa6"};
    static const char *const shown[] = {"a", " x ", "\xc3\xa9", "\xe2\x80\x8b.", "\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++) assert_true(troc_text_blank(blank[i], strlen(blank[i])));
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) assert_false(troc_text_blank(shown[i], strlen(shown[i])));
    assert_int_equal(troc_utf8_code_point("\xf0\x9f\x98\x80"), 0x1F600);
    assert_int_equal(troc_utf8_code_point("\xc3\xa9"), 0xE9);
    assert_true(troc_text_has_bidi_control("a\xe2\x80\xae" "b", 5)); /* U+202E */
    assert_true(troc_text_has_bidi_control("\xe2\x81\xa6", 3));    /* U+2066 */
    assert_false(troc_text_has_bidi_control("caf\xc3\xa9 \xe2\x80\x8f", 9)); /* U+200F, a mark */
}

static void test_dates(void **state) {
    (void)state;
    assert_true(troc_date_valid("2026-12-31"));
    assert_true(troc_date_valid("2024-02-29"));
    assert_true(troc_date_valid("2000-02-29"));
    assert_true(troc_date_valid("0001-01-01"));
    assert_false(troc_date_valid("1900-02-29"));
    assert_false(troc_date_valid("2026-02-30"));
    assert_false(troc_date_valid("2026-04-31"));
    assert_false(troc_date_valid("2026-13-01"));
    assert_false(troc_date_valid("0000-01-01"));
    assert_false(troc_date_valid("2026-1-05"));
    assert_false(troc_date_valid("2026/01/05"));
    assert_false(troc_date_valid("2026-01-05 "));
    assert_false(troc_date_valid(""));
}

static void test_names(void **state) {
    (void)state;
    assert_true(troc_name_valid("alice", 5));
    assert_true(troc_name_valid("boulangerie-dupont.lyon_2", 25));
    char longest[TROC_NAME_LENGTH_MAX + 1];
    memset(longest, 'a', sizeof longest);
    assert_true(troc_name_valid(longest, TROC_NAME_LENGTH_MAX));
    assert_false(troc_name_valid(longest, TROC_NAME_LENGTH_MAX + 1));
    assert_false(troc_name_valid("", 0));
    assert_false(troc_name_valid("Alice", 5));
    assert_false(troc_name_valid("a b", 3));
    assert_false(troc_name_valid("a/b", 3));
    assert_false(troc_name_valid("caf\xc3\xa9", 5));
    assert_false(troc_name_valid("a\0b", 3));
}

static void test_text(void **state) {
    (void)state;
    assert_true(troc_text_valid("", 0));
    assert_true(troc_text_valid("Facture n\xc2\xb0 12\tpay\xc3\xa9", 20));
    assert_true(troc_text_valid("\xf0\x9f\x98\x80", 4));
    assert_false(troc_text_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(troc_text_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(troc_text_valid("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
    assert_false(troc_text_valid("\xc3", 1));             /* truncated */
    assert_false(troc_text_valid("a\nb", 3));
    assert_false(troc_text_valid("a\0b", 3));
    assert_false(troc_text_valid("\x1b[31m", 5));
    assert_false(troc_text_valid("\x7f", 1));
    assert_false(troc_text_valid("x\xc2\x9b" "31m", 6)); /* U+009B, CSI */
    assert_false(troc_text_valid("a\xc2\x85" "b", 4));   /* U+0085, next line */
    assert_false(troc_text_valid("\xc2\x80", 2));        /* U+0080, the first C1 */
    assert_true(troc_text_valid("\xc2\xa0", 2));         /* U+00A0, no-break space */
}

static void test_hex(void **state) {
    (void)state;
    uint8_t bytes[4] = {0x00, 0xab, 0x10, 0xff};
    char hex[9];
    troc_hex_encode(bytes, 4, hex);
    assert_string_equal(hex, "00ab10ff");
    uint8_t back[4] = {0};
    assert_int_equal(troc_hex_decode("00AB10fF", 8, back, 4), 0);
    assert_memory_equal(back, bytes, 4);
    assert_int_equal(troc_hex_decode("00ab10f", 7, back, 4), TROC_EHEX);
    assert_int_equal(troc_hex_decode("00ab10fg", 8, back, 4), TROC_EHEX);
}

/* Quotes `text` into a buffer of `size` bytes; checks the result and the
 * length returned. */
static void check_shell_quote(const char *text, const char *want) {
    char out[64];
    assert_int_equal(troc_shell_quote(text, out, sizeof out), strlen(want));
    assert_string_equal(out, want);
}

static void test_shell_quote(void **state) {
    (void)state;
    check_shell_quote("/var/backups/troc/2026-11-26", "/var/backups/troc/2026-11-26");
    check_shell_quote("/tmp/my backup", "'/tmp/my backup'");
    check_shell_quote("/tmp/it's", "'/tmp/it'\\''s'");
    check_shell_quote("/tmp/$(rm -rf ~);x", "'/tmp/$(rm -rf ~);x'");
    check_shell_quote("", "''");
    check_shell_quote("~/k", "'~/k'");
    check_shell_quote("caf\xc3\xa9", "'caf\xc3\xa9'");
    /* Too small: truncated but terminated, and the length needed returned. */
    char small[4];
    assert_int_equal(troc_shell_quote("a b c", small, sizeof small), 7);
    assert_string_equal(small, "'a ");
    assert_int_equal(troc_shell_quote("it's", NULL, 0), 9);
}

/* Quoted into a fixed buffer: whole when it fits; else cut at a whole
 * character, never inside an escaped quote or a UTF-8 sequence, its
 * quotes closed, and marked with "...". */
static void test_shell_quote_cut(void **state) {
    (void)state;
    char out[16];
    assert_true(troc_shell_quote_cut("/tmp/it's", out, sizeof out));
    assert_string_equal(out, "'/tmp/it'\\''s'");
    assert_true(troc_shell_quote_cut("/var/b", out, sizeof out));
    assert_string_equal(out, "/var/b");
    assert_false(troc_shell_quote_cut("/var/backups/troc/x", out, sizeof out));
    assert_string_equal(out, "'/var/backu'...");
    assert_false(troc_shell_quote_cut("/tmp/abcd'efghijk", out, sizeof out));
    assert_string_equal(out, "'/tmp/abcd'..."); /* not "'/tmp/abcd'\\'..." */
    assert_false(troc_shell_quote_cut("/tmp/abc\xc3\xa9xyzw", out, sizeof out));
    assert_string_equal(out, "'/tmp/abc\xc3\xa9'...");
    assert_false(troc_shell_quote_cut("/tmp/abcd\xc3\xa9xyzw", out, sizeof out));
    assert_string_equal(out, "'/tmp/abcd'..."); /* the e-acute does not fit whole */
    char smallest[TROC_SHELL_QUOTE_CUT_SIZE_MIN];
    assert_false(troc_shell_quote_cut("abcdef", smallest, sizeof smallest));
    assert_string_equal(smallest, "''...");
    char exact[TROC_SHELL_QUOTE_SIZE(3)];
    assert_true(troc_shell_quote_cut("'''", exact, sizeof exact));
    assert_int_equal(strlen(exact), sizeof exact - 1);
}

static void test_error_and_result_names(void **state) {
    (void)state;
    assert_string_equal(troc_err_name(TROC_EAMOUNT), "TROC_EAMOUNT");
    assert_string_equal(troc_err_name(-2), "ENOENT");
    assert_string_equal(troc_strerror(-2), "No such file or directory");
    assert_non_null(strstr(troc_strerror(TROC_EFRAME_SIZE), "frame"));
    assert_string_equal(troc_result_name(TROC_RESULT_EXCEEDS_CREDIT_LIMIT), "exceeds_credit_limit");
    assert_string_equal(troc_result_name(TROC_RESULT_OK), "ok");
    assert_string_equal(troc_result_name(9999), "unknown");
    assert_int_equal(TROC_RESULT_EXCEEDS_CREDIT_LIMIT, 17);
}

#define HUGE_PAGE ((size_t)2 << 20)

/* Whether the mapping holding `memory` carries the huge page advice ("hg"
 * among its VmFlags in /proc/self/smaps). */
static bool advised_huge(const void *memory) {
    FILE *smaps = fopen("/proc/self/smaps", "r");
    assert_non_null(smaps);
    char line[512];
    bool inside = false, advised = false;
    while (fgets(line, sizeof line, smaps) != NULL) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
            inside = (uintptr_t)memory >= start && (uintptr_t)memory < end;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            advised = strstr(line, " hg") != NULL;
        }
    }
    fclose(smaps);
    return advised;
}

static void test_large_arrays(void **state) {
    (void)state;
    /* Below half a huge page: plain malloc memory. */
    char *small = troc_large_malloc(100);
    assert_non_null(small);
    memset(small, 'a', 100);
    char *half = troc_large_malloc(HUGE_PAGE / 2 + 1);
    assert_non_null(half);
    assert_int_equal((uintptr_t)half % HUGE_PAGE, 0);
    memset(half, 'h', HUGE_PAGE / 2 + 1);
    free(half);

    /* From a huge page on: aligned on one, and advised where the kernel
     * has transparent huge pages (madvise refuses the advice otherwise). */
    size_t bytes = 3 * HUGE_PAGE + 5;
    char *large = troc_large_malloc(bytes);
    assert_non_null(large);
    assert_int_equal((uintptr_t)large % HUGE_PAGE, 0);
    memset(large, 'b', bytes);
    void *probe = mmap(NULL, HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(probe != MAP_FAILED);
    bool kernel_has_huge_pages = madvise(probe, HUGE_PAGE, MADV_HUGEPAGE) == 0;
    munmap(probe, HUGE_PAGE);
    if (kernel_has_huge_pages) assert_true(advised_huge(large));

    /* Growing keeps the bytes asked to be kept, from small to large and
     * from large to larger. */
    char *grown = troc_large_realloc(small, 100, 2 * HUGE_PAGE);
    assert_non_null(grown);
    assert_int_equal((uintptr_t)grown % HUGE_PAGE, 0);
    for (size_t i = 0; i < 100; i++) assert_int_equal(grown[i], 'a');
    char *larger = troc_large_realloc(large, bytes, 5 * HUGE_PAGE);
    assert_non_null(larger);
    assert_int_equal((uintptr_t)larger % HUGE_PAGE, 0);
    for (size_t i = 0; i < bytes; i++) {
        if (larger[i] != 'b') fail_msg("byte %zu not kept", i);
    }
    free(grown);

    /* Zeroed even where the memory was used before, and a size that does
     * not fit size_t is refused. */
    memset(larger, 'c', 5 * HUGE_PAGE);
    free(larger);
    uint64_t *zeroed = troc_large_calloc(5 * HUGE_PAGE / sizeof(uint64_t), sizeof(uint64_t));
    assert_non_null(zeroed);
    for (size_t i = 0; i < 5 * HUGE_PAGE / sizeof(uint64_t); i++) {
        if (zeroed[i] != 0) fail_msg("word %zu not zeroed", i);
    }
    free(zeroed);
    assert_null(troc_large_calloc(SIZE_MAX / 4, 8));
}

#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MALLOC_REPLACED 1
#endif
#endif

#if defined(__GLIBC__) && !defined(MALLOC_REPLACED)
/* Pages of the process in memory (/proc/self/statm). */
static long resident_pages(void) {
    FILE *statm = fopen("/proc/self/statm", "r");
    assert_non_null(statm);
    long size = 0, resident = 0;
    assert_int_equal(fscanf(statm, "%ld %ld", &size, &resident), 2);
    fclose(statm);
    return resident;
}
#endif

/* Once told to, a large array goes back to the system as it is freed,
 * even after glibc has seen a larger block freed (which raises its mmap
 * threshold past the array's size: the array would then stay in its heap,
 * resident, after free()). */
static void test_large_given_back(void **state) {
    (void)state;
#if !defined(__GLIBC__) || defined(MALLOC_REPLACED)
    skip(); /* another allocator keeps its own policy */
#else
    char *larger = troc_large_malloc(12 * HUGE_PAGE);
    assert_non_null(larger);
    memset(larger, 'l', 12 * HUGE_PAGE);
    free(larger);
    troc_large_give_back_when_freed();
    malloc_trim(0); /* what earlier tests left in the heap, which could serve the array */
    const size_t bytes = 4 * HUGE_PAGE;
    char *array = troc_large_malloc(bytes);
    assert_non_null(array);
    memset(array, 'a', bytes);
    const long before = resident_pages();
    free(array);
    const long given_back = before - resident_pages();
    if (given_back < (long)(bytes / 4096)) fail_msg("%ld pages given back of %zu", given_back, bytes / 4096);
#endif
}

static int compare_u64(const void *a, const void *b) {
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts `count` keys made by `make` as qsort does. */
static void expect_sorted_like_qsort(size_t count, uint64_t (*make)(size_t i, uint64_t *state)) {
    uint64_t *keys = malloc((count + 1) * sizeof *keys), *expected = malloc((count + 1) * sizeof *expected);
    assert_non_null(keys);
    assert_non_null(expected);
    uint64_t state = 0x9e3779b97f4a7c15ull ^ count;
    for (size_t i = 0; i < count; i++) keys[i] = expected[i] = make(i, &state);
    troc_sort_u64(keys, count);
    qsort(expected, count, sizeof *expected, compare_u64);
    for (size_t i = 0; i < count; i++) {
        if (keys[i] != expected[i]) fail_msg("%zu keys: key %zu is %llx, not %llx", count, i,
                                             (unsigned long long)keys[i], (unsigned long long)expected[i]);
    }
    free(keys);
    free(expected);
}

static uint64_t random_key(size_t i, uint64_t *state) {
    (void)i;
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state ^ (*state >> 29);
}

/* The keys troc clear sorts: a 32-bit hash above, a row below; a few
 * hashes, each shared by many rows (a file of repeated ids). */
static uint64_t shared_hash_key(size_t i, uint64_t *state) {
    return (random_key(i, state) % 5) << 32 | (uint64_t)i;
}

static uint64_t equal_key(size_t i, uint64_t *state) {
    (void)i;
    (void)state;
    return 0xabcdef0123456789ull;
}

static uint64_t descending_key(size_t i, uint64_t *state) {
    (void)state;
    return UINT64_MAX - i;
}

/* Keys differing in their lowest byte only, and in their highest only. */
static uint64_t low_byte_key(size_t i, uint64_t *state) {
    return 0x1122334455667700ull | (random_key(i, state) & 0xff);
}

static uint64_t high_byte_key(size_t i, uint64_t *state) {
    return random_key(i, state) & 0xff00000000000000ull;
}

static void test_sort_u64(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 31, 32, 33, 257, 5000, 300000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        expect_sorted_like_qsort(sizes[s], random_key);
        expect_sorted_like_qsort(sizes[s], shared_hash_key);
        expect_sorted_like_qsort(sizes[s], equal_key);
        expect_sorted_like_qsort(sizes[s], descending_key);
        expect_sorted_like_qsort(sizes[s], low_byte_key);
        expect_sorted_like_qsort(sizes[s], high_byte_key);
    }
}

/* Arrays carved one after another out of one block, each on a cache line:
 * the sizing pass and the placing pass agree. */
static void test_large_carve(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 100, 64, 0, 3 * HUGE_PAGE};
    size_t bytes = 0;
    for (size_t i = 0; i < 5; i++) assert_null(troc_large_carve(NULL, &bytes, sizes[i]));
    assert_int_equal(bytes, 64 + 128 + 64 + 0 + 3 * HUGE_PAGE);
    char *block = troc_large_malloc(bytes);
    assert_non_null(block);
    size_t used = 0;
    char *arrays[5];
    for (size_t i = 0; i < 5; i++) arrays[i] = troc_large_carve(block, &used, sizes[i]);
    assert_int_equal(used, bytes);
    assert_ptr_equal(arrays[0], block);
    assert_ptr_equal(arrays[1], block + 64);
    assert_ptr_equal(arrays[2], block + 192);
    assert_ptr_equal(arrays[4], block + 256);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal((uintptr_t)arrays[i] % 64, 0);
        memset(arrays[i], (int)i, sizes[i]);
    }
    assert_int_equal(arrays[1][99], 1);
    assert_int_equal(arrays[2][0], 2);
    free(block);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_parse_accepts_decimals),
        cmocka_unit_test(test_amount_parse_refuses_other_text),
        cmocka_unit_test(test_amount_parse_refuses_overflow),
        cmocka_unit_test(test_amount_parse_reads_only_length),
        cmocka_unit_test(test_amount_format_round_trips),
        cmocka_unit_test(test_amount_write_matches_printf),
        cmocka_unit_test(test_amount_add_checks_overflow),
        cmocka_unit_test(test_amount_share_rounds_down),
        cmocka_unit_test(test_blank_text),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_shell_quote_cut),
        cmocka_unit_test(test_error_and_result_names),
        cmocka_unit_test(test_large_arrays),
        cmocka_unit_test(test_large_carve),
        cmocka_unit_test(test_large_given_back),
        cmocka_unit_test(test_sort_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
