/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc_tasks_run(): parts of a job on a few threads.
 *
 * Threads are started for each job and joined at its end (a job lasts tens
 * of milliseconds at least, a thread start some microseconds), and take
 * parts from a shared counter, so that a thread slowed down by the rest of
 * the machine simply takes fewer parts.  The calling thread works too.
 */
#include "tasks.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/limits.h"

typedef struct job {
    void (*run)(void *context, size_t part);
    void *context;
    size_t part_count;
    atomic_size_t next; /* next part to take */
} job;

static void work(job *j) {
    for (;;) {
        size_t part = atomic_fetch_add(&j->next, 1);
        if (part >= j->part_count) return;
        j->run(j->context, part);
    }
}

static void *thread_main(void *argument) {
    work(argument);
    return NULL;
}

unsigned troc_tasks_default_threads(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1) return 1;
    return online > TROC_THREADS_MAX ? TROC_THREADS_MAX : (unsigned)online;
}

void troc_tasks_run(unsigned thread_count, size_t part_count, void (*run)(void *context, size_t part),
                    void *context) {
    assert(run != NULL);
    if (thread_count == 0) thread_count = troc_tasks_default_threads();
    if (thread_count > TROC_THREADS_MAX) thread_count = TROC_THREADS_MAX;
    if ((size_t)thread_count > part_count) thread_count = (unsigned)part_count;
    job j = {.run = run, .context = context, .part_count = part_count};
    atomic_init(&j.next, 0);
    pthread_t threads[TROC_THREADS_MAX];
    unsigned started = 0;
    for (unsigned i = 1; i < thread_count; i++) {
        if (pthread_create(&threads[started], NULL, thread_main, &j) != 0) break;
        started++;
    }
    work(&j);
    for (unsigned i = 0; i < started; i++) pthread_join(threads[i], NULL);
    assert(atomic_load(&j.next) >= part_count);
}
