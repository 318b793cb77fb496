/* SPDX-License-Identifier: Apache-2.0 */
#include "base/sort.h"

/* Buckets of this many keys or fewer are finished by insertion sort. */
#define INSERTION_MAX 32u

static void insertion_sort(uint64_t *keys, size_t count) {
    for (size_t i = 1; i < count; i++) {
        const uint64_t key = keys[i];
        size_t j = i;
        for (; j > 0 && keys[j - 1] > key; j--) keys[j] = keys[j - 1];
        keys[j] = key;
    }
}

/* Sorts keys that agree on every byte above `shift + 8`, by the byte at
 * `shift` and then, bucket by bucket, by the bytes below. */
static void sort_from(uint64_t *keys, size_t count, unsigned shift) {
    if (count <= INSERTION_MAX) {
        insertion_sort(keys, count);
        return;
    }
    size_t end[256] = {0}, next[256];
    for (size_t i = 0; i < count; i++) end[(keys[i] >> shift) & 0xff]++;
    size_t at = 0;
    for (unsigned digit = 0; digit < 256; digit++) {
        next[digit] = at;
        at += end[digit];
        end[digit] = at;
    }
    /* Each key is carried to the next free place of its bucket, and the
     * key found there carried on in turn, until one belongs where the
     * cycle began. */
    for (unsigned digit = 0; digit < 256; digit++) {
        while (next[digit] < end[digit]) {
            uint64_t key = keys[next[digit]];
            unsigned home = (unsigned)(key >> shift) & 0xff;
            while (home != digit) {
                const uint64_t displaced = keys[next[home]];
                keys[next[home]++] = key;
                key = displaced;
                home = (unsigned)(key >> shift) & 0xff;
            }
            keys[next[digit]++] = key;
        }
    }
    if (shift == 0) return;
    size_t begin = 0;
    for (unsigned digit = 0; digit < 256; digit++) {
        if (end[digit] - begin > 1) sort_from(keys + begin, end[digit] - begin, shift - 8);
        begin = end[digit];
    }
}

void troc_sort_u64(uint64_t *keys, size_t count) {
    if (count > 1) sort_from(keys, count, 56);
}
