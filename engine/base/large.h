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

/* As malloc and calloc; from one huge page (2 MiB) on, the memory
 * starts on a huge page and is advised to be backed by them. */
void *troc_large_malloc(size_t bytes);
void *troc_large_calloc(size_t count, size_t size);

/* As realloc, but only the first `kept` bytes of `memory` are kept (a
 * large array moves rather than grows in place). */
void *troc_large_realloc(void *memory, size_t kept, size_t bytes);

#endif /* TROC_LARGE_H */
