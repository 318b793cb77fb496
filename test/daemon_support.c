/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A territory served by a real trocd process (see daemon_support.h).
 * Processes are started with posix_spawn, trocd's stderr goes to a log in
 * the temporary directory (the tests look for its lines), and a client
 * always expects the territory key `trocd init` printed, so nothing is
 * pinned in the user's files.
 */
#include "daemon_support.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define START_TIMEOUT_MS 10000
#define EXTRA_ARGUMENTS_MAX 16

uint64_t daemon_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

void daemon_sleep_ms(long ms) {
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

static const char *trocd_path(void) {
    const char *path = getenv("TROCD");
    return path != NULL ? path : "trocd";
}

/* Starts argv with stdout to `out_path` (NULL: inherited) and stderr to
 * `log_path` (NULL: inherited); its pid. */
static pid_t spawn(char **argv, const char *out_path, const char *log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (out_path != NULL) posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log_path != NULL) posix_spawn_file_actions_addopen(&actions, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &actions, NULL, argv, NULL);
    posix_spawn_file_actions_destroy(&actions);
    assert_int_equal(rc, 0);
    return pid;
}

static int wait_status(pid_t pid) {
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads the territory key, the last 64-hex word of trocd init's output. */
static void read_territory_key(daemon_fixture *d, const char *out_path) {
    FILE *file = fopen(out_path, "r");
    assert_non_null(file);
    char word[256];
    bool found = false;
    while (fscanf(file, "%255s", word) == 1) {
        if (strlen(word) == 64 && troc_public_key_from_hex(word, d->territory_key) == 0) found = true;
    }
    fclose(file);
    assert_true(found);
}

void daemon_create(daemon_fixture *d, const char *parent, size_t members) {
    assert_true(members <= DAEMON_MEMBERS_MAX);
    memset(d, 0, sizeof *d);
    if (parent == NULL) parent = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    snprintf(d->directory, sizeof d->directory, "%s/troc-daemon-XXXXXX", parent);
    assert_non_null(mkdtemp(d->directory));
    snprintf(d->ledger, sizeof d->ledger, "%s/ledger", d->directory);
    snprintf(d->log, sizeof d->log, "%s/trocd.log", d->directory);
    assert_int_equal(troc_key_generate(&d->admin_key), 0);
    for (size_t i = 0; i < members; i++) {
        assert_int_equal(troc_key_generate(&d->keys[i]), 0);
        snprintf(d->names[i], sizeof d->names[i], "m%u", (unsigned)(i % DAEMON_MEMBERS_MAX));
    }
    d->member_count = members;
}

void daemon_init(daemon_fixture *d) {
    uint8_t admin_public[TROC_PUBLIC_KEY_SIZE];
    char admin_hex[TROC_PUBLIC_KEY_HEX_SIZE], out[320];
    troc_key_public(d->admin_key, admin_public);
    troc_public_key_to_hex(admin_public, admin_hex);
    snprintf(out, sizeof out, "%s/init.out", d->directory);
    char *argv[] = {(char *)trocd_path(), "init", "--data", d->ledger, "--territory", "testland", "--admin",
                    admin_hex, NULL};
    assert_int_equal(wait_status(spawn(argv, out, d->log)), 0);
    read_territory_key(d, out);
}

/* The port trocd wrote to `port_file`, or 0 while there is none. */
static int port_read(const char *port_file) {
    int port = 0;
    FILE *file = fopen(port_file, "r");
    if (file == NULL) return 0;
    if (fscanf(file, "%d", &port) != 1) port = 0;
    fclose(file);
    return port;
}

void daemon_start(daemon_fixture *d, const char *const *extra) {
    assert_int_equal(d->pid, 0);
    char port_file[320];
    snprintf(port_file, sizeof port_file, "%s/port", d->directory);
    unlink(port_file);
    char *argv[8 + EXTRA_ARGUMENTS_MAX] = {(char *)trocd_path(), "run", "--data", d->ledger, "--listen",
                                           "127.0.0.1:0", "--port-file", port_file};
    size_t count = 8;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        assert_true(count + 1 < sizeof argv / sizeof argv[0]);
        argv[count++] = (char *)extra[i];
    }
    argv[count] = NULL;
    d->pid = spawn(argv, "/dev/null", d->log);
    int port = 0;
    for (uint64_t start = daemon_now_ms(); port == 0; daemon_sleep_ms(5)) {
        port = port_read(port_file);
        int status = 0;
        assert_int_equal(waitpid(d->pid, &status, WNOHANG), 0); /* still running */
        assert_true(daemon_now_ms() - start < START_TIMEOUT_MS);
    }
    snprintf(d->address, sizeof d->address, "127.0.0.1:%d", port);
}

int daemon_stop(daemon_fixture *d) {
    assert_true(d->pid > 0);
    assert_int_equal(kill(d->pid, SIGTERM), 0);
    int status = wait_status(d->pid);
    d->pid = 0;
    return status;
}

void daemon_kill(daemon_fixture *d) {
    assert_true(d->pid > 0);
    assert_int_equal(kill(d->pid, SIGKILL), 0);
    assert_int_equal(wait_status(d->pid), 128 + SIGKILL);
    d->pid = 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void daemon_destroy(daemon_fixture *d) {
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    troc_key_free(d->admin_key);
    for (size_t i = 0; i < d->member_count; i++) troc_key_free(d->keys[i]);
    if (d->directory[0] != '\0') nftw(d->directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(d, 0, sizeof *d);
}

/* trocd verify with $TMPDIR set to a directory of its own, which must be
 * empty again afterwards: verify removes its scratch ledger whatever
 * happens. */
int daemon_verify(const char *directory) {
    char scratch_parent[] = "/tmp/troc-verify-parent-XXXXXX";
    assert_non_null(mkdtemp(scratch_parent));
    char variable[64];
    snprintf(variable, sizeof variable, "TMPDIR=%s", scratch_parent);
    char *environment[] = {variable, NULL};
    char *argv[] = {(char *)trocd_path(), "verify", "--data", (char *)directory, NULL};
    pid_t pid = -1;
    assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, argv, environment), 0);
    int status = wait_status(pid);
    assert_int_equal(rmdir(scratch_parent), 0);   /* nothing left behind */
    return status;
}

troc_client *daemon_connect(const daemon_fixture *d, const troc_key *key) {
    troc_client *client = NULL;
    assert_int_equal(troc_client_create(&client), 0);
    assert_int_equal(troc_client_set_key(client, key != NULL ? key : d->admin_key), 0);
    assert_int_equal(troc_client_set_server_key(client, d->territory_key), 0);
    int rc = troc_client_connect(client, d->address);
    if (rc != 0) print_message("connect to %s: %s\n", d->address, troc_client_error_message(client));
    assert_int_equal(rc, 0);
    return client;
}

void daemon_admit(const daemon_fixture *d, int64_t credit_limit_cents) {
    troc_client *admin = daemon_connect(d, NULL);
    troc_envelope *envelopes[DAEMON_MEMBERS_MAX];
    troc_submit_result results[DAEMON_MEMBERS_MAX];
    for (size_t i = 0; i < d->member_count; i++) {
        uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
        troc_key_public(d->keys[i], public_key);
        troc_admin_action action = {.kind = TROC_ADMIN_MEMBER_ADD, .member = d->names[i], .public_key = public_key,
                                    .has_credit_limit = true, .credit_limit_cents = credit_limit_cents};
        assert_int_equal(troc_envelope_create(&envelopes[i]), 0);
        assert_int_equal(troc_sign_admin(admin, NULL, &action, envelopes[i]), 0);
    }
    assert_int_equal(troc_client_submit(admin, (const troc_envelope *const *)envelopes, d->member_count, results, 0), 0);
    for (size_t i = 0; i < d->member_count; i++) {
        assert_int_equal(results[i].code, TROC_RESULT_OK);
        troc_envelope_free(envelopes[i]);
    }
    troc_client_free(admin);
}

int daemon_log_count(const daemon_fixture *d, const char *text) {
    FILE *file = fopen(d->log, "r");
    if (file == NULL) return 0;
    char line[2048];
    int count = 0;
    while (fgets(line, sizeof line, file) != NULL) count += strstr(line, text) != NULL;
    fclose(file);
    return count;
}

static int id_compare(const void *a, const void *b) {
    return memcmp(a, b, TROC_ID_SIZE);
}

/* Appends the transfer ids of `member`'s statement to ids[*count...]. */
static void statement_append(troc_client *admin, const char *member, uint8_t (**ids)[TROC_ID_SIZE], size_t *count,
                             size_t *capacity) {
    static troc_history_line lines[TROC_PAGE_ROWS_MAX];
    uint64_t before = 0;
    do {
        size_t got = 0;
        assert_int_equal(troc_client_history(admin, member, before, lines, TROC_PAGE_ROWS_MAX, &got, &before), 0);
        if (*count + got > *capacity) {
            *capacity = 2 * (*count + got);
            *ids = realloc(*ids, *capacity * TROC_ID_SIZE);
            assert_non_null(*ids);
        }
        for (size_t i = 0; i < got; i++) {
            if (lines[i].kind == TROC_HISTORY_TRANSFER) memcpy((*ids)[(*count)++], lines[i].id, TROC_ID_SIZE);
        }
    } while (before != 0);
}

uint8_t (*daemon_statement_ids(troc_client *admin, const daemon_fixture *d, size_t *count_out))[TROC_ID_SIZE] {
    uint8_t (*ids)[TROC_ID_SIZE] = NULL;
    size_t count = 0, capacity = 0;
    for (size_t m = 0; m < d->member_count; m++) statement_append(admin, d->names[m], &ids, &count, &capacity);
    if (count > 0) qsort(ids, count, TROC_ID_SIZE, id_compare);
    *count_out = count;
    return ids;
}

bool daemon_ids_hold(uint8_t (*ids)[TROC_ID_SIZE], size_t count, const uint8_t id[TROC_ID_SIZE]) {
    return count > 0 && bsearch(id, ids, count, TROC_ID_SIZE, id_compare) != NULL;
}

int64_t daemon_balance_sum(troc_client *admin, const daemon_fixture *d) {
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(admin, &stats), 0);
    assert_int_equal(stats.balance_sum_cents, 0);
    int64_t sum = 0;
    for (size_t m = 0; m < d->member_count; m++) {
        troc_balance balance;
        assert_int_equal(troc_client_balance(admin, d->names[m], &balance), 0);
        sum += balance.balance_cents;
    }
    return sum;
}

/* ------------------------------------------------------------- load */

/* Requests one load client keeps in flight. */
#define LOAD_WINDOW 32

typedef struct load_pending {
    uint64_t request_id;
    daemon_transfer transfer;
} load_pending;

typedef struct load_client {
    daemon_load *load;
    size_t index;                          /* the member it pays as */
    uint64_t random;                       /* xorshift state */
    pthread_t thread;
    load_pending pending[LOAD_WINDOW];
    size_t pending_count;
    daemon_transfer *acknowledged;
    size_t acknowledged_count, acknowledged_capacity;
    size_t refused;
} load_client;

struct daemon_load {
    const daemon_fixture *d;
    size_t transfers_max;
    atomic_bool stop;
    load_client clients[DAEMON_MEMBERS_MAX];
    size_t client_count;
    daemon_transfer *merged;
    size_t merged_count;
};

static uint64_t load_random(load_client *c) {
    c->random ^= c->random << 13;
    c->random ^= c->random >> 7;
    c->random ^= c->random << 17;
    return c->random;
}

/* Signs and sends one random transfer; false when the connection failed. */
static bool load_send(load_client *c, troc_client *client, troc_envelope *envelope) {
    const daemon_fixture *d = c->load->d;
    size_t others = d->member_count - 1;
    load_pending *p = &c->pending[c->pending_count];
    p->transfer.payer = (uint8_t)c->index;
    p->transfer.payee = (uint8_t)((c->index + 1 + load_random(c) % others) % d->member_count);
    p->transfer.amount_cents = 1 + (int64_t)(load_random(c) % 500);
    troc_transfer transfer = {.payee = d->names[p->transfer.payee], .amount_cents = p->transfer.amount_cents};
    if (troc_sign_transfer(client, NULL, &transfer, envelope) != 0) return false;
    troc_envelope_id(envelope, p->transfer.id);
    if (troc_client_send(client, (const troc_envelope *const[]){envelope}, 1, &p->request_id) != 0) return false;
    c->pending_count++;
    return true;
}

/* Receives one reply and files it; false when the connection failed. */
static bool load_receive(load_client *c, troc_client *client) {
    troc_reply reply;
    if (troc_client_receive(client, &reply) != 0) return false;
    for (size_t i = 0; i < c->pending_count; i++) {
        if (c->pending[i].request_id != reply.request_id) continue;
        daemon_transfer transfer = c->pending[i].transfer;
        c->pending[i] = c->pending[--c->pending_count];
        if (reply.error != 0 || reply.result_count != 1 || reply.results[0].code != TROC_RESULT_OK) {
            c->refused++;
            return true;
        }
        transfer.journal_seq = reply.results[0].journal_seq;
        if (c->acknowledged_count == c->acknowledged_capacity) {
            c->acknowledged_capacity = c->acknowledged_capacity > 0 ? 2 * c->acknowledged_capacity : 1024;
            c->acknowledged = realloc(c->acknowledged, c->acknowledged_capacity * sizeof *c->acknowledged);
            if (c->acknowledged == NULL) abort();
        }
        c->acknowledged[c->acknowledged_count++] = transfer;
        return true;
    }
    c->refused++;                          /* a reply to nothing sent: counted as wrong */
    return true;
}

static void *load_main(void *argument) {
    load_client *c = argument;
    const daemon_fixture *d = c->load->d;
    troc_client *client = NULL;
    troc_envelope *envelope = NULL;
    if (troc_client_create(&client) != 0 || troc_envelope_create(&envelope) != 0) abort();
    troc_client_set_key(client, d->keys[c->index]);
    troc_client_set_server_key(client, d->territory_key);
    bool up = troc_client_connect(client, d->address) == 0;
    size_t sent = 0;
    while (up && !atomic_load(&c->load->stop) && sent < c->load->transfers_max) {
        while (up && c->pending_count < LOAD_WINDOW && sent < c->load->transfers_max) {
            up = load_send(c, client, envelope);
            sent += up;
        }
        if (up) up = load_receive(c, client);
    }
    while (up && c->pending_count > 0) up = load_receive(c, client);
    /* A connection that failed (the daemon killed) still hands over the
     * replies the daemon sent before: those transfers were acknowledged
     * too.  The others come back as unknown, one per call, and stay out of
     * the count. */
    while (!up && troc_client_in_flight(client) > 0) (void)load_receive(c, client);
    troc_envelope_free(envelope);
    troc_client_free(client);
    return NULL;
}

daemon_load *daemon_load_start(const daemon_fixture *d, size_t clients, uint64_t seed, size_t transfers_max) {
    assert_true(d->member_count >= 2 && clients >= 1);
    daemon_load *load = calloc(1, sizeof *load);
    assert_non_null(load);
    load->d = d;
    load->transfers_max = transfers_max;
    atomic_init(&load->stop, false);
    load->client_count = clients < d->member_count ? clients : d->member_count;
    for (size_t i = 0; i < load->client_count; i++) {
        load_client *c = &load->clients[i];
        c->load = load;
        c->index = i;
        c->random = (seed ^ (0x9e3779b97f4a7c15ull * (i + 1))) | 1;
        assert_int_equal(pthread_create(&c->thread, NULL, load_main, c), 0);
    }
    return load;
}

void daemon_load_stop(daemon_load *load) {
    atomic_store(&load->stop, true);
    size_t total = 0;
    for (size_t i = 0; i < load->client_count; i++) {
        assert_int_equal(pthread_join(load->clients[i].thread, NULL), 0);
        total += load->clients[i].acknowledged_count;
    }
    load->merged = malloc((total + 1) * sizeof *load->merged);
    assert_non_null(load->merged);
    for (size_t i = 0; i < load->client_count; i++) {
        load_client *c = &load->clients[i];
        if (c->acknowledged_count > 0) {
            memcpy(load->merged + load->merged_count, c->acknowledged, c->acknowledged_count * sizeof *c->acknowledged);
        }
        load->merged_count += c->acknowledged_count;
    }
}

const daemon_transfer *daemon_load_acknowledged(const daemon_load *load, size_t *count_out) {
    *count_out = load->merged_count;
    return load->merged;
}

size_t daemon_load_refused(const daemon_load *load) {
    size_t refused = 0;
    for (size_t i = 0; i < load->client_count; i++) refused += load->clients[i].refused;
    return refused;
}

void daemon_load_free(daemon_load *load) {
    if (load == NULL) return;
    for (size_t i = 0; i < load->client_count; i++) free(load->clients[i].acknowledged);
    free(load->merged);
    free(load);
}
