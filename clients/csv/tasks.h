/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Work split into parts and run on a few threads at once, for the offline
 * commands (troc clear reads, checks and writes large CSV files).
 *
 * A caller cuts its work into parts that depend on the data only, never on
 * the number of threads, and keeps each part's results apart; the threads
 * take the parts in turns.  So whatever the threads and their timing, the
 * results are the same, and one thread gives them too (in part order).
 */
#ifndef TROC_TASKS_H
#define TROC_TASKS_H

#include <stddef.h>

/* Runs run(context, part) for every part in [0, part_count), on up to
 * thread_count threads (0: one per online processor, at most
 * TROC_THREADS_MAX), the calling thread among them.  Returns once every
 * part is done.  When a thread cannot be started, its parts run on the
 * others: the work is done in every case. */
void troc_tasks_run(unsigned thread_count, size_t part_count, void (*run)(void *context, size_t part),
                    void *context);

/* The thread count troc_tasks_run() uses for thread_count 0. */
unsigned troc_tasks_default_threads(void);

#endif /* TROC_TASKS_H */
