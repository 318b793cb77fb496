/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key pairs, ids in hex and the small helpers every libtroc module uses.
 * A troc_key is a troc_keypair on the heap so that its layout stays out of
 * the public header; it is wiped before it is freed.
 */
#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "client_int.h"

int troc_init(void) {
    return troc_crypto_init();
}

bool troc_error_is_retryable(int error) {
    switch (error) {
    case TROC_ECLOSED:
    case TROC_ETIMEOUT:
    case TROC_EBUSY:
    case -EPIPE:
    case -ECONNRESET:
    case -ECONNABORTED:
    case -ECONNREFUSED:
    case -ENETDOWN:
    case -ENETUNREACH:
    case -EHOSTUNREACH:
    case -ETIMEDOUT:
        return true;
    default:
        return false;
    }
}

void troc_id_to_hex(const uint8_t id[TROC_ID_SIZE], char hex[TROC_ID_HEX_SIZE]) {
    assert(id != NULL && hex != NULL);
    troc_hex_encode(id, TROC_ID_SIZE, hex);
}

int troc_id_from_hex(const char *hex, uint8_t id[TROC_ID_SIZE]) {
    assert(id != NULL);
    if (hex == NULL) return TROC_EHEX;
    return troc_hex_decode(hex, strlen(hex), id, TROC_ID_SIZE);
}

static int key_allocate(troc_key **key_out) {
    assert(key_out != NULL);
    *key_out = NULL;
    int rc = troc_crypto_init();
    if (rc != 0) return rc;
    troc_key *key = calloc(1, sizeof *key);
    if (key == NULL) return -ENOMEM;
    *key_out = key;
    return 0;
}

int troc_key_read(const char *path, troc_key **key_out) {
    assert(key_out != NULL);
    if (path == NULL) return TROC_EUSAGE;
    troc_key *key;
    int rc = key_allocate(&key);
    if (rc != 0) return rc;
    rc = troc_keyfile_read(path, &key->keypair);
    if (rc != 0) {
        troc_key_free(key);
        return rc;
    }
    *key_out = key;
    return 0;
}

int troc_key_from_seed(const uint8_t seed[TROC_SEED_SIZE], troc_key **key_out) {
    assert(key_out != NULL);
    if (seed == NULL) return TROC_EUSAGE;
    troc_key *key;
    int rc = key_allocate(&key);
    if (rc != 0) return rc;
    crypto_sign_seed_keypair(key->keypair.public_key, key->keypair.secret_key, seed);
    *key_out = key;
    return 0;
}

int troc_key_generate(troc_key **key_out) {
    assert(key_out != NULL);
    troc_key *key;
    int rc = key_allocate(&key);
    if (rc != 0) return rc;
    troc_keypair_generate(&key->keypair);
    *key_out = key;
    return 0;
}

void troc_key_public(const troc_key *key, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    assert(key != NULL && public_key != NULL);
    memcpy(public_key, key->keypair.public_key, TROC_PUBLIC_KEY_SIZE);
}

void troc_key_free(troc_key *key) {
    if (key == NULL) return;
    sodium_memzero(key, sizeof *key);
    free(key);
}

int troc__client_fail(troc_client *client, int error, const char *format, ...) {
    assert(client != NULL && format != NULL);
    assert(error < 0);
    va_list args;
    va_start(args, format);
    vsnprintf(client->message, sizeof client->message, format, args);
    va_end(args);
    return error;
}

void troc__copy_text(char *destination, size_t size, const char *text) {
    assert(destination != NULL && size > 0);
    if (text == NULL) text = "";
    size_t length = strnlen(text, size - 1);
    memcpy(destination, text, length);
    destination[length] = '\0';
}
