/* SPDX-License-Identifier: Apache-2.0 */
#include "base/large.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* The huge page size of x86-64 and of arm64 with 4 KiB pages.  On another
 * size the advice covers fewer whole pages or none, which is only slower. */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

/* From half a huge page on, an array gets huge pages of its own: even half
 * used, one costs less than the small pages it replaces (zeroing a huge
 * page the host backs afresh, 1.5 ms per MB, against some 2.6 ms per MB of
 * 4 KiB faults on a virtual machine, and 0.06 against 2.6 on memory it
 * already backs: docs/benchmarks.md). */
#define LARGE_BYTES_MIN (HUGE_PAGE_BYTES / 2)

/* A large array starts on a huge page and fills whole ones, so that every
 * byte of it can be backed by huge pages: a neighbour's first touch of a
 * page shared with it would otherwise keep that page's whole 2 MiB small.
 * Advice is only a hint: a kernel without transparent huge pages refuses
 * it, and the memory works the same, so the result is not checked. */
void *troc_large_malloc(size_t bytes) {
    if (bytes < LARGE_BYTES_MIN) return malloc(bytes);
    size_t rounded = (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    if (rounded < bytes) return NULL;
    void *memory = NULL;
    if (posix_memalign(&memory, HUGE_PAGE_BYTES, rounded) != 0) return NULL;
    (void)madvise(memory, rounded, MADV_HUGEPAGE);
    return memory;
}

void *troc_large_calloc(size_t count, size_t size) {
    size_t bytes = 0;
    if (__builtin_mul_overflow(count, size, &bytes)) return NULL;
    if (bytes < LARGE_BYTES_MIN) return calloc(count, size);
    void *memory = troc_large_malloc(bytes);
    if (memory != NULL) memset(memory, 0, bytes);
    return memory;
}

void *troc_large_realloc(void *memory, size_t kept, size_t bytes) {
    if (bytes < LARGE_BYTES_MIN) return realloc(memory, bytes);
    void *grown = troc_large_malloc(bytes);
    if (grown == NULL) return NULL;
    if (memory != NULL) memcpy(grown, memory, kept < bytes ? kept : bytes);
    free(memory);
    return grown;
}

void troc_large_give_back_when_freed(void) {
#ifdef __GLIBC__
    /* A fixed threshold: every block of a large array's size is mapped on
     * its own and unmapped when freed. */
    (void)mallopt(M_MMAP_THRESHOLD, (int)LARGE_BYTES_MIN);
#endif
}
