/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thin wrappers over libsodium: key pairs and key files, Ed25519 signatures
 * with domain separation, BLAKE2b hashes and random ids.
 *
 * Every signature covers
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       n     domain string, e.g. "troc/v1/transfer" (n <= 31)
 *   n       1     0x00
 *   n+1     32    territory id (the territory's public key)
 *   n+33    m     the body bytes exactly as they travel
 *
 * so that a body signed for one purpose or one territory can never be
 * presented as another, and nothing is re-serialized before verification.
 */
#ifndef TROC_CRYPTO_H
#define TROC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TROC_PUBLIC_KEY_SIZE 32
#define TROC_SECRET_KEY_SIZE 64 /* libsodium's form: seed then public key */
#define TROC_SEED_SIZE 32
#define TROC_SIGNATURE_SIZE 64
#define TROC_HASH_SIZE 32
#define TROC_ID_SIZE 16 /* client-chosen ids of transfers, invoices, actions */
#define TROC_PUBLIC_KEY_HEX_SIZE (2 * TROC_PUBLIC_KEY_SIZE + 1)
#define TROC_ID_HEX_SIZE (2 * TROC_ID_SIZE + 1)

/* What a signature is for; each has its own domain string. */
typedef enum troc_domain {
    TROC_DOMAIN_TRANSFER = 0, /* "troc/v1/transfer": one member-to-member transfer */
    TROC_DOMAIN_BATCH,        /* "troc/v1/batch": many transfers from one payer */
    TROC_DOMAIN_ADMIN,        /* "troc/v1/admin": an administrator's action */
    TROC_DOMAIN_INVOICE,      /* "troc/v1/invoice": issue, accept, reject, cancel */
    TROC_DOMAIN_CLIENT_AUTH,  /* "troc/v1/client-auth": the client's handshake proof */
    TROC_DOMAIN_SERVER_AUTH,  /* "troc/v1/server-auth": the territory's handshake proof */
    TROC_DOMAIN_NODE,         /* "troc/v1/node": events the node itself originates */
    TROC_DOMAIN_COUNT
} troc_domain;

typedef struct troc_keypair {
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    uint8_t secret_key[TROC_SECRET_KEY_SIZE];
} troc_keypair;

/* Initialises libsodium; call once before anything else here.  Returns 0 or
 * -EIO when libsodium cannot start. */
int troc_crypto_init(void);

void troc_keypair_generate(troc_keypair *keypair);

/* Writes a new key file (mode 0600, refusing to replace an existing file:
 * -EEXIST).  The file is text: a header line and the hex seed. */
int troc_keyfile_write(const char *path, const troc_keypair *keypair);

/* Reads a key file.  TROC_EKEYFILE when it is not one (not a regular file,
 * or not a key's text), -EPERM when its group or others may read it (as ssh
 * does, a secret key must be private), -errno otherwise.  Never blocks on a
 * FIFO nor opens a device. */
int troc_keyfile_read(const char *path, troc_keypair *keypair);

/* Writes into `message` (`size` bytes) what is wrong with the key file
 * `path` that troc_keyfile_read refused with `rc`, and what to do about
 * it, as a phrase that names the file: "/tmp is a directory, not a key
 * file (...)", "k.key may be read by its group or others, and a secret key
 * must be private; run: chmod 600 k.key" (the path quoted for a shell when
 * it needs to be). */
void troc_keyfile_describe_error(const char *path, int rc, char *message, size_t size);

/* The domain string of `domain` ("troc/v1/transfer"). */
const char *troc_domain_name(troc_domain domain);

/* Signs `body` for `domain` and `territory_id`.  Returns 0 or -ENOMEM (large
 * bodies are assembled on the heap). */
int troc_sign(const troc_keypair *keypair, troc_domain domain, const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE],
              const uint8_t *body, size_t body_size, uint8_t signature[TROC_SIGNATURE_SIZE]);

/* True when `signature` by `public_key` covers `body` for `domain` and
 * `territory_id`.  False on any failure, including allocation. */
bool troc_verify(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], troc_domain domain,
                 const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE], const uint8_t *body, size_t body_size,
                 const uint8_t signature[TROC_SIGNATURE_SIZE]);

/* BLAKE2b-256 of `data`. */
void troc_hash(const uint8_t *data, size_t size, uint8_t hash[TROC_HASH_SIZE]);

/* A fresh 128-bit id: 48 bits of milliseconds since the epoch (big-endian),
 * then 80 random bits; the ids one thread makes strictly increase (within a
 * millisecond, the next is the last plus one).  Ids are unique for all
 * practical purposes and increase with time, so the ledger's id index grows
 * at its end instead of splitting pages all over (random ids halve the rate
 * of batches). */
void troc_id_generate(uint8_t id[TROC_ID_SIZE]);

/* Lower-case hex of a public key (TROC_PUBLIC_KEY_HEX_SIZE bytes). */
void troc_public_key_to_hex(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], char hex[TROC_PUBLIC_KEY_HEX_SIZE]);

/* Parses 64 hex digits; TROC_EHEX otherwise. */
int troc_public_key_from_hex(const char *hex, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);

/* Whether `public_key` can ever verify a signature: a point of the curve's
 * main subgroup, not one of small order (all zeros, all ones...).  A key
 * that cannot is refused where keys are registered: its member or
 * administrator could never act. */
bool troc_public_key_usable(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);

#endif /* TROC_CRYPTO_H */
