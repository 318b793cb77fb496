/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load generator for signed transfers against a running trocd, through
 * libtroc's pipelined interface.
 *
 *   transfers --server ADDR --server-key HEX --admin-key FILE [--members N]
 *             [--transfers N] [--connections N] [--window N] [--batch]
 *             [--batch-size N] [--envelopes-per-request N] [--verify-seconds N]
 *             [--server-pid PID]
 *
 * 1. Admits N members (fresh keys, credit lines large enough that no
 *    transfer is refused) through an admin session.
 * 2. Pre-signs the transfers between random members, on every core, so that
 *    signing is not measured.  With --batch, each envelope is instead a
 *    TransferBatch of --batch-size transfers from one payer, signed once.
 * 3. Submits them over --connections pipelined connections (at most
 *    --window requests in flight on each, each request holding
 *    --envelopes-per-request envelopes, every one signed and verified on its
 *    own), timing every request from send to reply; a reply comes only
 *    after its commit is durable.
 * 4. Measures this machine's Ed25519 verification rate on all cores
 *    (crypto_sign_verify_detached over messages shaped like a signed
 *    transfer), the bound a daemon verifying every transfer cannot pass,
 *    before and after the run; the higher of the two is the limit, so that
 *    a moment of load from elsewhere cannot flatter the ratio.
 *
 * Its last line is machine-readable:
 *   transfers_per_second=N verify_limit=N ratio=R p99_ms=N
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "troc.h"

#define CREDIT_LIMIT_CENTS 1000000000000LL
#define ADMIN_ENVELOPES_PER_REQUEST 256
#define THREADS_MAX 64
#define RING_SIZE 1024                     /* > any window: request id -> send time */

typedef struct options {
    const char *server;
    const char *server_key_hex;
    const char *admin_key_file;
    long members, transfers, connections, window, batch_size, verify_seconds, per_request;
    long server_pid;                       /* 0: unknown; else trocd's CPU is read from /proc */
    bool batch;
} options;

typedef struct bench {
    options opt;
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    troc_key *admin;
    troc_key **keys;                       /* one per member */
    char (*names)[24];                     /* "m000042" */
    troc_envelope **envelopes;             /* pre-signed, in submission order */
    size_t envelope_count;
    size_t transfers_per_envelope;
    double *latencies_ms;                  /* one per request */
    double verify_cpu_us;                  /* CPU time of one verification, last measured */
} bench;

static double now_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* CPU seconds process `pid` used so far (utime + stime of /proc/PID/stat),
 * or -1 when it cannot be read. */
static double process_cpu_seconds(long pid) {
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL) return -1;
    size_t length = fread(line, 1, sizeof line - 1, file);
    fclose(file);
    line[length] = '\0';
    const char *after = strrchr(line, ')');   /* the command name may hold spaces */
    unsigned long long user = 0, system = 0;
    if (after == NULL || sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user, &system) != 2) {
        return -1;
    }
    return (double)(user + system) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds this process used so far, all threads. */
static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "transfers: %s%s%s\n", what, detail != NULL ? ": " : "", detail != NULL ? detail : "");
    exit(1);
}

static void progress(const char *stage, size_t done, size_t total) {
    if (!isatty(STDERR_FILENO)) return;
    fprintf(stderr, "\r%s: %zu/%zu", stage, done, total);
    if (done == total) fputc('\n', stderr);
}

/* ------------------------------------------------------------ options */

static long number_option(const char *name, const char *value) {
    char *end = NULL;
    long number = strtol(value, &end, 10);
    if (end == value || *end != '\0' || number <= 0) die("expected a positive number after", name);
    return number;
}

static void usage(FILE *out) {
    fputs("usage: transfers --server ADDR --server-key HEX --admin-key FILE [--members N]\n"
          "                 [--transfers N] [--connections N] [--window N] [--batch]\n"
          "                 [--batch-size N] [--envelopes-per-request N] [--verify-seconds N]\n"
          "                 [--server-pid PID]\n",
          out);
}

static void parse(options *opt, int argc, char **argv) {
    *opt = (options){.members = 10000, .transfers = 100000, .connections = 4, .window = 256,
                     .batch_size = 4096, .verify_seconds = 3, .per_request = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(argv[i], "--batch") == 0) {
            opt->batch = true;
            continue;
        }
        if (i + 1 >= argc) die("a value is missing after", argv[i]);
        const char *name = argv[i], *value = argv[++i];
        if (strcmp(name, "--server") == 0) opt->server = value;
        else if (strcmp(name, "--server-key") == 0) opt->server_key_hex = value;
        else if (strcmp(name, "--admin-key") == 0) opt->admin_key_file = value;
        else if (strcmp(name, "--members") == 0) opt->members = number_option(name, value);
        else if (strcmp(name, "--transfers") == 0) opt->transfers = number_option(name, value);
        else if (strcmp(name, "--connections") == 0) opt->connections = number_option(name, value);
        else if (strcmp(name, "--window") == 0) opt->window = number_option(name, value);
        else if (strcmp(name, "--batch-size") == 0) opt->batch_size = number_option(name, value);
        else if (strcmp(name, "--verify-seconds") == 0) opt->verify_seconds = number_option(name, value);
        else if (strcmp(name, "--envelopes-per-request") == 0) opt->per_request = number_option(name, value);
        else if (strcmp(name, "--server-pid") == 0) opt->server_pid = number_option(name, value);
        else die("unknown option", name);
    }
    if (opt->server == NULL || opt->server_key_hex == NULL || opt->admin_key_file == NULL) {
        usage(stderr);
        exit(2);
    }
    if (opt->connections > THREADS_MAX || opt->window > TROC_REQUESTS_IN_FLIGHT_MAX || opt->members < 2 ||
        opt->batch_size > TROC_BATCH_ITEMS_MAX || opt->per_request > TROC_SUBMIT_ENVELOPES_MAX) {
        die("out of range: --connections <= 64, --window <= 256, --members >= 2, --batch-size <= 4096, "
            "--envelopes-per-request <= 256",
            NULL);
    }
}

/* ------------------------------------------------------------- setup */

static troc_client *client_new(bench *b, bool connect) {
    troc_client *client = NULL;
    if (troc_client_create(&client) != 0) die("out of memory", NULL);
    troc_client_set_known_territories(client, NULL);
    troc_client_set_server_key(client, b->territory_key);
    troc_client_set_key(client, b->admin);
    troc_client_set_timeouts(client, 0, 120000);
    if (connect && troc_client_connect(client, b->opt.server) != 0) {
        die("cannot connect", troc_client_error_message(client));
    }
    return client;
}

/* Receives one reply and checks every result is ok. */
static void receive_ok(troc_client *client, troc_reply *reply) {
    int rc = troc_client_receive(client, reply);
    if (rc != 0) die("no reply", troc_client_error_message(client));
    if (reply->error != 0) die("request refused", troc_strerror(reply->error));
    for (size_t i = 0; i < reply->result_count; i++) {
        const troc_submit_result *result = &reply->results[i];
        if (result->code != TROC_RESULT_OK) die("item refused", troc_result_name(result->code));
        for (size_t j = 0; j < result->item_count; j++) {
            if (result->item_codes[j] != TROC_RESULT_OK) die("batch item refused", troc_result_name(result->item_codes[j]));
        }
    }
}

/* Admits every member through one pipelined admin session. */
static void admit_members(bench *b) {
    troc_client *client = client_new(b, true);
    troc_envelope *chunk[ADMIN_ENVELOPES_PER_REQUEST];
    for (size_t i = 0; i < ADMIN_ENVELOPES_PER_REQUEST; i++) troc_envelope_create(&chunk[i]);
    size_t members = (size_t)b->opt.members;
    for (size_t first = 0; first < members; first += ADMIN_ENVELOPES_PER_REQUEST) {
        size_t count = members - first < ADMIN_ENVELOPES_PER_REQUEST ? members - first : ADMIN_ENVELOPES_PER_REQUEST;
        for (size_t i = 0; i < count; i++) {
            uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
            troc_key_public(b->keys[first + i], public_key);
            troc_admin_action action = {.kind = TROC_ADMIN_MEMBER_ADD, .member = b->names[first + i],
                                        .public_key = public_key, .has_credit_limit = true,
                                        .credit_limit_cents = CREDIT_LIMIT_CENTS};
            if (troc_sign_admin(client, NULL, &action, chunk[i]) != 0) die("cannot sign", troc_client_error_message(client));
        }
        uint64_t id = 0;
        troc_reply reply;
        if (troc_client_send(client, (const troc_envelope *const *)chunk, count, &id) != 0) die("cannot send", NULL);
        receive_ok(client, &reply);
        progress("members", first + count, members);
    }
    for (size_t i = 0; i < ADMIN_ENVELOPES_PER_REQUEST; i++) troc_envelope_free(chunk[i]);
    troc_client_free(client);
}

/* ------------------------------------------------------------ signing */

typedef struct sign_job {
    bench *b;
    size_t first, count;                   /* envelopes this thread signs */
    unsigned seed;
} sign_job;

static size_t random_member(unsigned *seed, size_t members) {
    return (size_t)rand_r(seed) % members;
}

/* Signs one TransferBatch of transfers_per_envelope items from one payer. */
static void sign_one_batch(bench *b, troc_client *client, troc_batch_item *items, unsigned *seed,
                           troc_envelope *envelope) {
    size_t members = (size_t)b->opt.members;
    size_t payer = random_member(seed, members);
    for (size_t i = 0; i < b->transfers_per_envelope; i++) {
        size_t payee = random_member(seed, members);
        if (payee == payer) payee = (payee + 1) % members;
        items[i] = (troc_batch_item){.payee = b->names[payee], .amount_cents = 1 + rand_r(seed) % 100};
    }
    if (troc_sign_batch(client, b->keys[payer], NULL, b->names[payer], items, b->transfers_per_envelope,
                        envelope) != 0) {
        die("cannot sign a batch", troc_client_error_message(client));
    }
}

static void *sign_thread(void *argument) {
    sign_job *job = argument;
    bench *b = job->b;
    troc_client *client = client_new(b, false);
    troc_batch_item *items = calloc(b->transfers_per_envelope, sizeof *items);
    size_t members = (size_t)b->opt.members;
    for (size_t n = job->first; n < job->first + job->count; n++) {
        if (troc_envelope_create(&b->envelopes[n]) != 0) die("out of memory", NULL);
        if (b->opt.batch) {
            sign_one_batch(b, client, items, &job->seed, b->envelopes[n]);
            continue;
        }
        size_t payer = random_member(&job->seed, members), payee = random_member(&job->seed, members);
        if (payee == payer) payee = (payee + 1) % members;
        troc_transfer transfer = {.payer = b->names[payer], .payee = b->names[payee],
                                  .amount_cents = 1 + rand_r(&job->seed) % 100};
        if (troc_sign_transfer(client, b->keys[payer], &transfer, b->envelopes[n]) != 0) {
            die("cannot sign", troc_client_error_message(client));
        }
    }
    free(items);
    troc_client_free(client);
    return NULL;
}

static void presign(bench *b) {
    size_t threads = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1 || threads > THREADS_MAX) threads = threads < 1 ? 1 : THREADS_MAX;
    pthread_t ids[THREADS_MAX];
    sign_job jobs[THREADS_MAX];
    size_t per = (b->envelope_count + threads - 1) / threads;
    for (size_t t = 0; t < threads; t++) {
        size_t first = t * per < b->envelope_count ? t * per : b->envelope_count;
        size_t count = b->envelope_count - first < per ? b->envelope_count - first : per;
        jobs[t] = (sign_job){.b = b, .first = first, .count = count, .seed = (unsigned)(t * 7919 + 17)};
        pthread_create(&ids[t], NULL, sign_thread, &jobs[t]);
    }
    for (size_t t = 0; t < threads; t++) pthread_join(ids[t], NULL);
}

/* ------------------------------------------------------------- submit */

typedef struct conn_job {
    bench *b;
    size_t first, count;                   /* envelopes this connection submits */
} conn_job;

static void *conn_thread(void *argument) {
    conn_job *job = argument;
    bench *b = job->b;
    troc_client *client = client_new(b, true);
    double sent_at[RING_SIZE];
    size_t next = job->first, end = job->first + job->count, answered = 0, requests = 0;
    while (answered < job->count) {
        while (next < end && troc_client_in_flight(client) < (size_t)b->opt.window) {
            size_t count = end - next < (size_t)b->opt.per_request ? end - next : (size_t)b->opt.per_request;
            uint64_t id = 0;
            if (troc_client_send(client, (const troc_envelope *const *)&b->envelopes[next], count, &id) != 0) {
                die("cannot send", troc_client_error_message(client));
            }
            sent_at[id % RING_SIZE] = now_seconds();
            next += count;
        }
        troc_reply reply;
        receive_ok(client, &reply);
        b->latencies_ms[job->first / (size_t)b->opt.per_request + requests++] =
            (now_seconds() - sent_at[reply.request_id % RING_SIZE]) * 1e3;
        answered += reply.result_count;
    }
    troc_client_free(client);
    return NULL;
}

/* Submits every envelope; returns the elapsed seconds. */
static double submit_all(bench *b) {
    size_t connections = (size_t)b->opt.connections;
    pthread_t ids[THREADS_MAX];
    conn_job jobs[THREADS_MAX];
    size_t per_request = (size_t)b->opt.per_request;
    size_t per = (b->envelope_count + connections - 1) / connections;
    per = (per + per_request - 1) / per_request * per_request;  /* whole requests per connection */
    double start = now_seconds();
    for (size_t c = 0; c < connections; c++) {
        size_t first = c * per < b->envelope_count ? c * per : b->envelope_count;
        size_t count = b->envelope_count - first < per ? b->envelope_count - first : per;
        jobs[c] = (conn_job){.b = b, .first = first, .count = count};
        pthread_create(&ids[c], NULL, conn_thread, &jobs[c]);
    }
    for (size_t c = 0; c < connections; c++) pthread_join(ids[c], NULL);
    return now_seconds() - start;
}

/* ---------------------------------------------------- verification rate */

typedef struct verify_job {
    const uint8_t (*messages)[160];
    const uint8_t (*signatures)[crypto_sign_BYTES];
    const uint8_t *public_key;
    size_t message_count, message_size;
    double until;
    uint64_t verified;
} verify_job;

static void *verify_thread(void *argument) {
    verify_job *job = argument;
    uint64_t verified = 0;
    while (now_seconds() < job->until) {
        for (size_t i = 0; i < job->message_count; i++) {
            if (crypto_sign_verify_detached(job->signatures[i], job->messages[i], job->message_size,
                                            job->public_key) != 0) {
                die("a signature failed to verify", NULL);
            }
            verified++;
        }
    }
    job->verified = verified;
    return NULL;
}

/* Verifications per second on all cores, over messages shaped like a signed
 * transfer: domain, 0x00, territory id, a ~70-byte body. */
static double verify_limit(bench *b) {
    enum { MESSAGES = 64, MESSAGE_SIZE = 17 + 1 + 32 + 70 };
    static uint8_t messages[MESSAGES][160], signatures[MESSAGES][crypto_sign_BYTES];
    uint8_t public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(public_key, secret_key);
    for (size_t i = 0; i < MESSAGES; i++) {
        memcpy(messages[i], "troc/v1/transfer", 17);
        memcpy(messages[i] + 18, b->territory_key, 32);
        randombytes_buf(messages[i] + 50, MESSAGE_SIZE - 50);
        crypto_sign_detached(signatures[i], NULL, messages[i], MESSAGE_SIZE, secret_key);
    }
    size_t threads = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1 || threads > THREADS_MAX) threads = threads < 1 ? 1 : THREADS_MAX;
    pthread_t ids[THREADS_MAX];
    verify_job jobs[THREADS_MAX];
    double start = now_seconds(), until = start + (double)b->opt.verify_seconds, cpu_start = cpu_seconds();
    for (size_t t = 0; t < threads; t++) {
        jobs[t] = (verify_job){.messages = (const uint8_t(*)[160])messages,
                               .signatures = (const uint8_t(*)[crypto_sign_BYTES])signatures,
                               .public_key = public_key, .message_count = MESSAGES,
                               .message_size = MESSAGE_SIZE, .until = until};
        pthread_create(&ids[t], NULL, verify_thread, &jobs[t]);
    }
    uint64_t verified = 0;
    for (size_t t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        verified += jobs[t].verified;
    }
    b->verify_cpu_us = (cpu_seconds() - cpu_start) * 1e6 / (double)verified;
    return (double)verified / (now_seconds() - start);
}

/* ---------------------------------------------------------------- main */

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void prepare(bench *b) {
    if (troc_init() != 0 || sodium_init() < 0) die("cannot initialise libsodium", NULL);
    if (troc_public_key_from_hex(b->opt.server_key_hex, b->territory_key) != 0) {
        die("--server-key needs 64 hexadecimal digits", NULL);
    }
    if (troc_key_read(b->opt.admin_key_file, &b->admin) != 0) die("cannot read the admin key file", b->opt.admin_key_file);
    size_t members = (size_t)b->opt.members;
    b->keys = calloc(members, sizeof *b->keys);
    b->names = calloc(members, sizeof *b->names);
    if (b->keys == NULL || b->names == NULL) die("out of memory", NULL);
    for (size_t i = 0; i < members; i++) {
        if (troc_key_generate(&b->keys[i]) != 0) die("cannot generate a key", NULL);
        snprintf(b->names[i], sizeof b->names[i], "m%06zu", i);
    }
    b->transfers_per_envelope = b->opt.batch ? (size_t)b->opt.batch_size : 1;
    b->envelope_count = ((size_t)b->opt.transfers + b->transfers_per_envelope - 1) / b->transfers_per_envelope;
    b->envelopes = calloc(b->envelope_count, sizeof *b->envelopes);
    b->latencies_ms = calloc(b->envelope_count, sizeof *b->latencies_ms);
    if (b->envelopes == NULL || b->latencies_ms == NULL) die("out of memory", NULL);
}

int main(int argc, char **argv) {
    static bench b;
    parse(&b.opt, argc, argv);
    prepare(&b);
    size_t threads = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    double limit_before = verify_limit(&b);
    double start = now_seconds();
    admit_members(&b);
    printf("setup: %ld members admitted in %.2f s\n", b.opt.members, now_seconds() - start);
    start = now_seconds();
    presign(&b);
    size_t transfers = b.envelope_count * b.transfers_per_envelope;
    printf("signed: %zu envelopes (%zu transfers) in %.2f s\n", b.envelope_count, transfers, now_seconds() - start);
    double cpu_before = cpu_seconds(), server_before = b.opt.server_pid ? process_cpu_seconds(b.opt.server_pid) : -1;
    double elapsed = submit_all(&b);
    double client_cpu = cpu_seconds() - cpu_before;
    double server_cpu = server_before >= 0 ? process_cpu_seconds(b.opt.server_pid) - server_before : -1;
    size_t requests = 0;
    for (size_t i = 0; i < b.envelope_count; i++) requests += b.latencies_ms[i] > 0;
    qsort(b.latencies_ms, b.envelope_count, sizeof *b.latencies_ms, compare_double);
    double *latencies = b.latencies_ms + (b.envelope_count - requests);   /* the unused slots sort first */
    double p50 = latencies[requests / 2];
    double p99 = latencies[(size_t)((double)(requests - 1) * 0.99)];
    double rate = (double)transfers / elapsed;
    printf("transfers: %zu in %.2f s over %ld connections (window %ld, %ld envelopes per request%s): "
           "%.0f transfers/s, request latency p50 %.2f ms p99 %.2f ms\n",
           transfers, elapsed, b.opt.connections, b.opt.window, b.opt.per_request, b.opt.batch ? ", batches" : "",
           rate, p50, p99);
    printf("client: %.1f us of CPU per transfer (encoding, sealing, sending, reading replies)\n",
           client_cpu * 1e6 / (double)transfers);
    if (server_cpu >= 0) printf("trocd: %.1f us of CPU per transfer\n", server_cpu * 1e6 / (double)transfers);
    double limit_after = verify_limit(&b);
    double limit = limit_before > limit_after ? limit_before : limit_after;
    printf("verify: %zu threads, %.0f Ed25519 verifications/s before the run, %.0f after (the higher is the limit); "
           "%.1f us of CPU each\n",
           threads, limit_before, limit_after, b.verify_cpu_us);
    if (server_cpu >= 0 && !b.opt.batch) {
        /* Independent of load from elsewhere: the share of the CPU the run
         * spent on what it cannot avoid, one verification per transfer. */
        printf("cpu_ratio=%.2f (verification / (trocd + client) CPU per transfer)\n",
               b.verify_cpu_us / ((server_cpu + client_cpu) * 1e6 / (double)transfers));
    }
    printf("transfers_per_second=%.0f verify_limit=%.0f ratio=%.2f p99_ms=%.1f\n", rate, limit, rate / limit, p99);
    for (size_t i = 0; i < b.envelope_count; i++) troc_envelope_free(b.envelopes[i]);
    for (size_t i = 0; i < (size_t)b.opt.members; i++) troc_key_free(b.keys[i]);
    troc_key_free(b.admin);
    free(b.envelopes);
    free(b.latencies_ms);
    free(b.keys);
    free(b.names);
    return 0;
}
