/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the handshake harness (fuzz_handshake.c) shares with the seeds that
 * make_seeds.c writes for it: a random generator that gives the same bytes
 * on every run, fixed keys, and the genuine exchange they produce.
 *
 * A client's hello carries a fresh nonce and key-exchange key, and a
 * server's hello must carry the hash of that very client hello.  With
 * libsodium's own generator no input could ever be the right server hello,
 * and the client's side past that check would go untested.  With the
 * generator below, installed before sodium_init() and rewound before each
 * step, the harness's client says the same hello on every run, so a server
 * hello written once (a committed seed) is accepted on every run, and the
 * fuzzer mutates it from there.  Only the randomness is fixed: the
 * signature checks are the real ones, so a mutated hello is still a
 * forgery that must fail.
 */
#ifndef TROC_FUZZ_HANDSHAKE_H
#define TROC_FUZZ_HANDSHAKE_H

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "crypto/crypto.h"
#include "net/handshake.h"

/* Where the generator is rewound before each step: the client's hello
 * draws from one stream, the server's from another. */
#define FUZZ_STREAM_CLIENT 1
#define FUZZ_STREAM_SERVER 2

/* Fixed seeds of the territory's key ('T') and of the member's: member m0
 * of the request harness, whose keys fuzz_keys.h makes from 0x40 + who. */
#define FUZZ_SEED_TERRITORY 0x54
#define FUZZ_SEED_MEMBER 0x40

#define FUZZ_TERRITORY "fuzz"
#define FUZZ_UNIT "EUR"

typedef struct fuzz_random {
    uint8_t stream; /* the stream rewound to last */
    uint64_t draws; /* buffers drawn since */
} fuzz_random;

static fuzz_random fuzz_random_state;

static inline const char *fuzz_random_name(void) {
    return "troc-fuzz-fixed";
}

/* Each draw is its own ChaCha20 stream, keyed by (stream, draw number), so
 * a step's bytes depend only on how many draws came before it since the
 * rewind, never on the sizes drawn. */
static inline void fuzz_random_buf(void *const buffer, const size_t size) {
    uint8_t seed[randombytes_SEEDBYTES];
    memset(seed, fuzz_random_state.stream, sizeof seed);
    uint64_t draw = fuzz_random_state.draws++;
    memcpy(seed, &draw, sizeof draw);
    randombytes_buf_deterministic(buffer, size, seed);
}

static inline uint32_t fuzz_random_uint32(void) {
    uint32_t value;
    fuzz_random_buf(&value, sizeof value);
    return value;
}

static inline void fuzz_random_rewind(uint8_t stream) {
    fuzz_random_state.stream = stream;
    fuzz_random_state.draws = 0;
}

/* Installs the fixed generator, then starts libsodium: libsodium only
 * accepts another generator before sodium_init().  Returns 0 or -1. */
static inline int fuzz_crypto_init(void) {
    static randombytes_implementation fixed = {
        .implementation_name = fuzz_random_name,
        .random = fuzz_random_uint32,
        .buf = fuzz_random_buf,
    };
    fuzz_random_rewind(0);
    if (randombytes_set_implementation(&fixed) != 0) return -1;
    return troc_crypto_init() == 0 ? 0 : -1;
}

static inline void fuzz_keypair(uint8_t fill, troc_keypair *keypair) {
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, fill, sizeof seed);
    crypto_sign_seed_keypair(keypair->public_key, keypair->secret_key, seed);
}

/* One genuine handshake between the fixed keys, each side drawing from its
 * own stream. */
typedef struct fuzz_exchange {
    troc_keypair territory, member;
    troc_handshake client;         /* the client just after its hello */
    troc_handshake server;         /* the server just after its hello */
    troc_channel client_channel;   /* as the client derives it */
    troc_channel server_channel;   /* as the server derives it */
    uint8_t client_hello[TROC_HANDSHAKE_FRAME_SIZE_MAX]; /* ClientFrame{hello} */
    size_t client_hello_size;                           /* bytes */
    uint8_t server_hello[TROC_HANDSHAKE_FRAME_SIZE_MAX]; /* ServerFrame{hello} */
    size_t server_hello_size;                           /* bytes */
    uint8_t client_auth[TROC_HANDSHAKE_FRAME_SIZE_MAX];  /* ClientFrame{auth}, before sealing */
    size_t client_auth_size;                            /* bytes */
} fuzz_exchange;

/* Runs the genuine exchange into *x (after fuzz_crypto_init()).  Returns 0,
 * or the handshake's error, which would mean the handshake is broken. */
static inline int fuzz_exchange_run(fuzz_exchange *x) {
    memset(x, 0, sizeof *x);
    fuzz_keypair(FUZZ_SEED_TERRITORY, &x->territory);
    fuzz_keypair(FUZZ_SEED_MEMBER, &x->member);
    fuzz_random_rewind(FUZZ_STREAM_CLIENT);
    int rc = troc_handshake_client_hello(&x->client, x->client_hello, &x->client_hello_size);
    if (rc != 0) return rc;
    fuzz_random_rewind(FUZZ_STREAM_SERVER);
    rc = troc_handshake_server_hello(&x->server, x->client_hello, x->client_hello_size, &x->territory,
                                     FUZZ_TERRITORY, FUZZ_UNIT, &x->server_channel, x->server_hello,
                                     &x->server_hello_size);
    if (rc != 0) return rc;
    troc_handshake client = x->client;
    rc = troc_handshake_client_auth(&client, x->server_hello, x->server_hello_size, x->territory.public_key,
                                    &x->member, &x->client_channel, x->client_auth, &x->client_auth_size);
    troc_handshake_clear(&client);
    return rc;
}

#endif /* TROC_FUZZ_HANDSHAKE_H */
