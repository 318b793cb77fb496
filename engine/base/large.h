/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation of large arrays (megabytes: one entry per obligation or per
 * byte of a CSV file), which ask the kernel for transparent huge pages.
 *
 * The memory is ordinary malloc memory, released with free().  What
 * differs is the first touch: a fresh 4 KiB page costs a page fault, and a
 * clearing of 1,000,000 obligations touches some 75,000 of them.  On a
 * virtual machine a fault costs microseconds, which made them a third of
 * `troc clear`'s time (docs/benchmarks.md).  Where transparent huge pages
 * are enabled "always" or "madvise", a 2 MiB region of memory advised here
 * faults once; where they are disabled the advice is ignored.
 */
#ifndef TROC_LARGE_H
#define TROC_LARGE_H

#include <stddef.h>

/* As malloc and calloc; from half a huge page (1 MiB) on, the memory
 * starts on a huge page, fills whole ones and is advised to be backed by
 * them. */
void *troc_large_malloc(size_t bytes);
void *troc_large_calloc(size_t count, size_t size);

/* As realloc, but only the first `kept` bytes of `memory` are kept (a
 * large array moves rather than grows in place). */
void *troc_large_realloc(void *memory, size_t kept, size_t bytes);

/* From now on, every large array goes back to the system when it is
 * freed, for a program whose stages each take large arrays and free them
 * (troc clear).  glibc otherwise raises its mmap threshold to the largest
 * block freed, up to 32 MiB, and serves the next blocks below it from its
 * heap, which keeps what is freed there: a later stage's arrays, not
 * fitting the holes the earlier ones left, then take more memory beside
 * them, and the program's peak grows by what the heap keeps (18 MB of 115
 * for troc clear on 1,000,000 obligations: docs/benchmarks.md, "Memory
 * given back").  Process-wide; only glibc's malloc is told, another
 * allocator is left as it is. */
void troc_large_give_back_when_freed(void);

/* Lays arrays that live and die together one after another in one block,
 * each on a cache line of its own.  An array of one entry per firm (some
 * hundreds of kilobytes) is too small for a huge page, and on small pages
 * every 4 KiB of it costs a fault (some 10 us on a virtual machine); a
 * solver's dozens of them fill a few huge pages together.  A function that
 * places its arrays runs twice: with block NULL it only adds their sizes
 * to *used, then with the block of that size troc_large_malloc gave, it
 * gets each array's address.  One free() of the block releases them all. */
static inline void *troc_large_carve(char *block, size_t *used, size_t bytes) {
    const size_t at = *used;
    *used += (bytes + 63) & ~(size_t)63;
    return block != NULL ? block + at : NULL;
}

#endif /* TROC_LARGE_H */
