/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixed keys and names of the request harness (fuzz_requests.c) and of
 * the seeds make_seeds.c writes for it: the seeds' envelopes carry these
 * signers, so that the fuzzer starts from items the ledger authorises (the
 * harness forces every signature valid; who signed still matters).
 */
#ifndef TROC_FUZZ_KEYS_H
#define TROC_FUZZ_KEYS_H

#include <stdint.h>
#include <string.h>

#include "troc.h"

/* Members admitted when the harness starts: m0 .. m3. */
#define FUZZ_MEMBERS 4

/* Credit line of each member: payments of the seeds never exceed it. */
#define FUZZ_CREDIT_LIMIT_CENTS 100000000LL

static const char *const fuzz_member_names[FUZZ_MEMBERS] = {"m0", "m1", "m2", "m3"};

/* The key of the administrator (who = -1) or of member `who`. */
static inline troc_key *fuzz_key(int who) {
    uint8_t seed[TROC_SEED_SIZE];
    memset(seed, 0x40 + who, sizeof seed);
    troc_key *key = NULL;
    if (troc_key_from_seed(seed, &key) != 0) return NULL;
    return key;
}

/* Request ids of the seeds: odd ones go to member m0's session, even ones
 * to the administrator's (fuzz_requests.c). */
#define FUZZ_REQUEST_MEMBER 1u
#define FUZZ_REQUEST_ADMIN 2u

#endif /* TROC_FUZZ_KEYS_H */
