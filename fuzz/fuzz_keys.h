/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixed keys and names of the request and server harnesses
 * (fuzz_requests.c, fuzz_server.c) and of the seeds make_request_seeds.c
 * writes for them: the seeds' envelopes carry these signers, so that the
 * fuzzer starts from items the ledger authorises.  The request harness
 * forces every signature valid (who signed still matters); the server
 * harness checks them for real, over a territory whose key is fixed too.
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

/* Who holds the territory's own key in the server harness: fixed, so that
 * the seeds can be signed for that territory before it exists. */
#define FUZZ_TERRITORY (-2)

/* The key of the territory (who = FUZZ_TERRITORY), of the administrator
 * (who = -1) or of member `who`. */
static inline troc_key *fuzz_key(int who) {
    uint8_t seed[TROC_SEED_SIZE];
    memset(seed, 0x40 + who, sizeof seed);
    troc_key *key = NULL;
    if (troc_key_from_seed(seed, &key) != 0) return NULL;
    return key;
}

/* Admits m0 .. m3, each with its credit line, through an administrator's
 * session (`keys`: the members' keys, m0's first).  Returns 0, or -1 when
 * one is refused. */
static inline int fuzz_members_admit(troc_client *admin, troc_key *const keys[FUZZ_MEMBERS]) {
    troc_envelope *envelopes[FUZZ_MEMBERS] = {NULL};
    troc_submit_result results[FUZZ_MEMBERS];
    int rc = 0;
    for (int i = 0; i < FUZZ_MEMBERS && rc == 0; i++) {
        uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
        troc_key_public(keys[i], public_key);
        troc_admin_action action = {.kind = TROC_ADMIN_MEMBER_ADD, .member = fuzz_member_names[i],
                                    .public_key = public_key, .has_credit_limit = true,
                                    .credit_limit_cents = FUZZ_CREDIT_LIMIT_CENTS};
        rc = troc_envelope_create(&envelopes[i]);
        if (rc == 0) rc = troc_sign_admin(admin, NULL, &action, envelopes[i]);
    }
    if (rc == 0) rc = troc_client_submit(admin, (const troc_envelope *const *)envelopes, FUZZ_MEMBERS, results, 0);
    for (int i = 0; i < FUZZ_MEMBERS; i++) {
        if (rc == 0 && results[i].code != TROC_RESULT_OK) rc = -1;
        troc_envelope_free(envelopes[i]);
    }
    return rc == 0 ? 0 : -1;
}

/* Request ids of the seeds: odd ones go to member m0's session, even ones
 * to the administrator's (fuzz_requests.c). */
#define FUZZ_REQUEST_MEMBER 1u
#define FUZZ_REQUEST_ADMIN 2u

#endif /* TROC_FUZZ_KEYS_H */
