/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A second thread for the solver: one task at a time, handed over and
 * awaited.  The residual graph's build (residual.c) runs a pass of its
 * two on it, the race of maximum flows (race.c) one of its flows, and the
 * admissible copy (admissible.c) half of its nodes.
 *
 * Without a thread (the solver was given one, or none could be started)
 * a task runs on the caller's thread when it is handed over: the same work
 * in the same order, so nothing the solver computes depends on it.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "clearing_int.h"

struct troc__helper {
    bool threaded;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    troc__task *task;      /* handed over and not yet done; NULL when idle */
    void *context;
    bool quit;
};

static void *helper_main(void *argument) {
    troc__helper *h = argument;
    pthread_mutex_lock(&h->mutex);
    for (;;) {
        while (h->task == NULL && !h->quit) pthread_cond_wait(&h->changed, &h->mutex);
        if (h->task == NULL) break;
        troc__task *task = h->task;
        void *context = h->context;
        pthread_mutex_unlock(&h->mutex);
        task(context);
        pthread_mutex_lock(&h->mutex);
        h->task = NULL;
        pthread_cond_broadcast(&h->changed);
    }
    pthread_mutex_unlock(&h->mutex);
    return NULL;
}

int troc__helper_create(unsigned thread_count, troc__helper **helper_out) {
    assert(helper_out != NULL);
    troc__helper *h = calloc(1, sizeof *h);
    if (h == NULL) return -ENOMEM;
    if (thread_count != 1 && pthread_mutex_init(&h->mutex, NULL) == 0) {
        if (pthread_cond_init(&h->changed, NULL) == 0) {
            h->threaded = pthread_create(&h->thread, NULL, helper_main, h) == 0;
            if (!h->threaded) pthread_cond_destroy(&h->changed);
        }
        if (!h->threaded) pthread_mutex_destroy(&h->mutex);
    }
    *helper_out = h;
    return 0;
}

void troc__helper_start(troc__helper *h, troc__task *task, void *context) {
    assert(h != NULL && task != NULL);
    if (!h->threaded) {
        task(context);
        return;
    }
    pthread_mutex_lock(&h->mutex);
    assert(h->task == NULL);
    h->task = task;
    h->context = context;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->mutex);
}

void troc__helper_wait(troc__helper *h) {
    assert(h != NULL);
    if (!h->threaded) return;
    pthread_mutex_lock(&h->mutex);
    while (h->task != NULL) pthread_cond_wait(&h->changed, &h->mutex);
    pthread_mutex_unlock(&h->mutex);
}

void troc__helper_destroy(troc__helper *h) {
    if (h == NULL) return;
    if (h->threaded) {
        pthread_mutex_lock(&h->mutex);
        while (h->task != NULL) pthread_cond_wait(&h->changed, &h->mutex);
        h->quit = true;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->mutex);
        pthread_join(h->thread, NULL);
        pthread_cond_destroy(&h->changed);
        pthread_mutex_destroy(&h->mutex);
    }
    free(h);
}
