/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ledger of a harness that runs the real server (fuzz_requests.c,
 * fuzz_server.c), and the template every input starts from.
 *
 * The ledger lives in the harness's directory (fuzz_workdir.h), on
 * /dev/shm when there is one, so that synced commits cost nothing; the
 * server listens on a Unix socket there and runs in a thread of the
 * harness.
 *
 * Every input starts from the same ledger: once the harness has admitted
 * its members, the ledger's file is kept as a template, and after an input
 * that journaled anything the server is stopped, the template copied back
 * over data.mdb and the server started again.  Otherwise an item a seed
 * carries applies only the first time it runs (a replay is refused as a
 * duplicate id), the coverage of a seed depends on what ran before it, and
 * a finding may need the inputs before it to reproduce.  Stopping the
 * server first matters: it returns only once every request it read is
 * committed, so nothing of the input lands after the copy, and the ledger
 * is closed while its file is replaced.  The copy is one small file; the
 * cost of a restore is the close, the open and the sessions' next
 * handshakes, which is why a harness restores only after inputs that
 * changed something.
 */
#ifndef TROC_FUZZ_LEDGER_H
#define TROC_FUZZ_LEDGER_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "fuzz_workdir.h"
#include "ledger/ledger.h"
#include "server/server.h"

typedef struct fuzz_ledger {
    char directory[128];                   /* the harness's (fuzz_workdir.h) */
    char ledger_directory[160];
    char data_path[192];                   /* the ledger's file, data.mdb */
    char template_path[160];               /* its copy once the members are admitted */
    char socket_path[160];
    uint64_t template_entries;             /* the template's journal entries */
    uint64_t restores;                     /* inputs after which it was copied back */
    troc_ledger *ledger;                   /* NULL while the server is stopped */
    uv_loop_t loop;
    troc_server *server;
    uv_thread_t thread;                    /* runs the server */
} fuzz_ledger;

static inline void fuzz_ledger_check(bool ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

/* Creates the harness's directory PREFIX-PID and, in it, the territory
 * "fuzz" with one administrator, `admin_key`; the server is not started. */
static inline void fuzz_ledger_create(fuzz_ledger *f, const char *prefix,
                                      const uint8_t admin_key[TROC_PUBLIC_KEY_SIZE]) {
    struct stat st;
    const char *parent = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    fuzz_ledger_check(fuzz_workdir_create(parent, prefix, f->directory, sizeof f->directory) == 0,
                      "cannot create the harness's directory");
    snprintf(f->ledger_directory, sizeof f->ledger_directory, "%s/ledger", f->directory);
    snprintf(f->data_path, sizeof f->data_path, "%s/data.mdb", f->ledger_directory);
    snprintf(f->template_path, sizeof f->template_path, "%s/template.mdb", f->directory);
    snprintf(f->socket_path, sizeof f->socket_path, "%s/trocd.sock", f->directory);
    uint8_t admin_keys[1][TROC_PUBLIC_KEY_SIZE];
    memcpy(admin_keys[0], admin_key, TROC_PUBLIC_KEY_SIZE);
    troc_ledger_init_options init = {.territory = "fuzz", .unit = "EUR",
                                     .admin_keys = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])admin_keys,
                                     .admin_key_count = 1};
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    fuzz_ledger_check(troc_ledger_init(f->ledger_directory, &init, territory_key) == 0, "cannot create the ledger");
}

static inline void fuzz_ledger_serve(void *argument) {
    troc_server_run(((fuzz_ledger *)argument)->server);
}

/* Opens the ledger and starts the server in its thread. */
static inline void fuzz_ledger_start(fuzz_ledger *f) {
    fuzz_ledger_check(troc_ledger_open(&f->ledger, f->ledger_directory) == 0, "cannot open the ledger");
    fuzz_ledger_check(uv_loop_init(&f->loop) == 0, "cannot start a loop");
    troc_server_options options = {.socket_path = f->socket_path};
    fuzz_ledger_check(troc_server_open(&f->server, &f->loop, f->ledger, &options) == 0, "cannot start the server");
    fuzz_ledger_check(uv_thread_create(&f->thread, fuzz_ledger_serve, f) == 0, "cannot start the server's thread");
}

/* Stops the server, which first commits and answers what it read, and
 * closes the ledger.  The harness closes its own sessions before. */
static inline void fuzz_ledger_stop(fuzz_ledger *f) {
    troc_server_stop(f->server);
    uv_thread_join(&f->thread);
    troc_server_close(f->server);
    f->server = NULL;
    fuzz_ledger_check(uv_loop_close(&f->loop) == 0, "the server's loop still has handles");
    troc_ledger_close(f->ledger);
    f->ledger = NULL;
}

/* The entries of the ledger's journal now (admissions, items, rounds). */
static inline uint64_t fuzz_ledger_entries(fuzz_ledger *f) {
    troc_ledger_read *read = NULL;
    fuzz_ledger_check(troc_ledger_read_begin(f->ledger, &read) == 0, "cannot read the ledger");
    troc_stats stats;
    int rc = troc_ledger_stats(read, &stats);
    troc_ledger_read_end(read);
    fuzz_ledger_check(rc == 0, "cannot read the ledger's totals");
    return stats.journal_entries;
}

/* Copies the file `from` over `to`; the ledger is closed. */
static inline void fuzz_ledger_copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fuzz_ledger_check(in >= 0 && out >= 0, "cannot open the ledger's file or its template");
    static uint8_t buffer[1 << 16];
    /* Bounded by the file's size. */
    for (;;) {
        ssize_t got = read(in, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        fuzz_ledger_check(got >= 0, "cannot read the ledger's file");
        if (got == 0) break;
        for (ssize_t put = 0; put < got;) {
            ssize_t wrote = write(out, buffer + put, (size_t)(got - put));
            if (wrote < 0 && errno == EINTR) continue;
            fuzz_ledger_check(wrote > 0, "cannot write the ledger's file");
            put += wrote;
        }
    }
    close(in);
    fuzz_ledger_check(close(out) == 0, "cannot write the ledger's file");
}

/* Keeps the ledger as it is now as the template: the server is running,
 * the members admitted, the harness's sessions closed.  The server is
 * running again on return. */
static inline void fuzz_ledger_template_keep(fuzz_ledger *f) {
    f->template_entries = fuzz_ledger_entries(f);
    fuzz_ledger_stop(f);
    fuzz_ledger_copy(f->data_path, f->template_path);
    fuzz_ledger_start(f);
}

/* True when the ledger is no longer the template's (an input journaled). */
static inline bool fuzz_ledger_changed(fuzz_ledger *f) {
    return fuzz_ledger_entries(f) != f->template_entries;
}

/* Brings the ledger back to the template's state; the harness's sessions
 * are closed.  The server is running again on return. */
static inline void fuzz_ledger_restore(fuzz_ledger *f) {
    fuzz_ledger_stop(f);
    fuzz_ledger_copy(f->template_path, f->data_path);
    fuzz_ledger_start(f);
    f->restores++;
}

/* Stops the server and removes the harness's directory, saying how many
 * inputs changed the ledger (`name`: the harness's). */
static inline void fuzz_ledger_close(fuzz_ledger *f, const char *name) {
    fprintf(stderr, "%s: the ledger was restored after %llu inputs\n", name, (unsigned long long)f->restores);
    if (f->ledger != NULL) fuzz_ledger_stop(f);
    fuzz_workdir_remove(f->directory);
}

#endif /* TROC_FUZZ_LEDGER_H */
