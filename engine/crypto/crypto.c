/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsodium wrappers.  The signed message is assembled in one buffer (on the
 * stack for the small bodies of the hot path, on the heap for batches)
 * because Ed25519 signs a contiguous message; libsodium's multi-part API
 * would be Ed25519ph, a different scheme.
 *
 * Key file layout (text, mode 0600):
 *
 *   troc-secret-key-v1\n
 *   <64 hex digits: the 32-byte Ed25519 seed>\n
 *
 * The public key is derived from the seed, so the file cannot hold a
 * mismatched pair.  A key file is a regular file only its owner may read
 * (as ssh demands of its keys); anything else is refused before it is
 * read.
 */
#include "crypto.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"

#define KEYFILE_HEADER "troc-secret-key-v1\n"
#define KEYFILE_SIZE (sizeof KEYFILE_HEADER - 1 + 2 * TROC_SEED_SIZE + 1)
#define DOMAIN_SIZE_MAX 31
#define SIGNED_PREFIX_SIZE_MAX (DOMAIN_SIZE_MAX + 1 + TROC_PUBLIC_KEY_SIZE)
#define STACK_MESSAGE_SIZE 1024 /* bodies up to this size are signed without malloc */

static const char *const domain_names[TROC_DOMAIN_COUNT] = {
    [TROC_DOMAIN_TRANSFER] = "troc/v1/transfer",       [TROC_DOMAIN_BATCH] = "troc/v1/batch",
    [TROC_DOMAIN_ADMIN] = "troc/v1/admin",             [TROC_DOMAIN_INVOICE] = "troc/v1/invoice",
    [TROC_DOMAIN_CLIENT_AUTH] = "troc/v1/client-auth", [TROC_DOMAIN_SERVER_AUTH] = "troc/v1/server-auth",
    [TROC_DOMAIN_NODE] = "troc/v1/node",
};

int troc_crypto_init(void) {
    return sodium_init() < 0 ? -EIO : 0;
}

void troc_keypair_generate(troc_keypair *keypair) {
    assert(keypair != NULL);
    crypto_sign_keypair(keypair->public_key, keypair->secret_key);
}

const char *troc_domain_name(troc_domain domain) {
    assert(domain < TROC_DOMAIN_COUNT);
    return domain_names[domain];
}

int troc_keyfile_write(const char *path, const troc_keypair *keypair) {
    assert(path != NULL && keypair != NULL);
    char text[KEYFILE_SIZE + 1];
    memcpy(text, KEYFILE_HEADER, sizeof KEYFILE_HEADER - 1);
    troc_hex_encode(keypair->secret_key, TROC_SEED_SIZE, text + sizeof KEYFILE_HEADER - 1);
    text[KEYFILE_SIZE - 1] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    int rc = 0;
    ssize_t written = write(fd, text, KEYFILE_SIZE);
    if (written != (ssize_t)KEYFILE_SIZE) rc = written < 0 ? -errno : -EIO;
    if (rc == 0 && fsync(fd) != 0) rc = -errno;
    if (close(fd) != 0 && rc == 0) rc = -errno;
    sodium_memzero(text, sizeof text);
    if (rc != 0) unlink(path);
    return rc;
}

/* A key file is a regular file that only its owner may read.  Anything
 * else is refused from its type or mode alone, before a byte is read: a
 * FIFO would block the reader, a device could be anything, and a
 * directory's mode says nothing of a key. */
static int keyfile_check(const struct stat *st) {
    if (!S_ISREG(st->st_mode)) return TROC_EKEYFILE;
    if ((st->st_mode & 077) != 0) return -EPERM;
    return 0;
}

int troc_keyfile_read(const char *path, troc_keypair *keypair) {
    assert(path != NULL && keypair != NULL);
    /* Checked before opening, so that a device is never opened, and again
     * on the descriptor (opened not to block), in case the path changed. */
    struct stat st;
    if (stat(path, &st) != 0) return -errno;
    int rc = keyfile_check(&st);
    if (rc != 0) return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return -errno;
    char text[KEYFILE_SIZE + 2];
    ssize_t length = 0;
    uint8_t seed[TROC_SEED_SIZE];
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto done;
    }
    if ((rc = keyfile_check(&st)) != 0) goto done;
    length = read(fd, text, sizeof text);
    if (length < 0) {
        rc = -errno;
        goto done;
    }
    /* The final newline is optional so that a hand-edited file still reads. */
    bool size_ok = (size_t)length == KEYFILE_SIZE || (size_t)length == KEYFILE_SIZE - 1;
    if (!size_ok || memcmp(text, KEYFILE_HEADER, sizeof KEYFILE_HEADER - 1) != 0 ||
        ((size_t)length == KEYFILE_SIZE && text[KEYFILE_SIZE - 1] != '\n') ||
        troc_hex_decode(text + sizeof KEYFILE_HEADER - 1, 2 * TROC_SEED_SIZE, seed, sizeof seed) != 0) {
        rc = TROC_EKEYFILE;
        goto done;
    }
    crypto_sign_seed_keypair(keypair->public_key, keypair->secret_key, seed);
done:
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(text, sizeof text);
    close(fd);
    return rc;
}

/* What kind of file `mode` says, for a message; NULL for a regular file. */
static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISREG(mode)) return NULL;
    return "not a regular file";
}

/* The advice for a key file its group or others may read, with the path
 * quoted for a shell so that the command can be pasted.  Quoted in a
 * buffer of its own, not allocated: a path shown unquoted when memory is
 * short would be a command that runs on something else ("my key" is two
 * files to chmod).  Any path the system can open fits; a longer one is
 * shown cut, and says so. */
static void describe_too_open(const char *path, char *message, size_t size) {
    char quoted[PATH_MAX];
    troc_shell_quote_cut(path, quoted, sizeof quoted);
    snprintf(message, size,
             "%s may be read by its group or others, and a secret key must be private; run: chmod 600 %s", path,
             quoted);
}

void troc_keyfile_describe_error(const char *path, int rc, char *message, size_t size) {
    assert(path != NULL && rc != 0 && message != NULL && size > 0);
    struct stat st;
    const char *kind = rc == TROC_EKEYFILE && stat(path, &st) == 0 ? file_kind(st.st_mode) : NULL;
    if (kind != NULL) {
        snprintf(message, size, "%s is %s, not a key file (a key file is a regular file)", path, kind);
    } else if (rc == TROC_EKEYFILE) {
        snprintf(message, size, "%s is not a troc key file (one that 'troc keygen' writes)", path);
    } else if (rc == -EPERM) {
        describe_too_open(path, message, size);
    } else {
        snprintf(message, size, "cannot read the key file %s: %s", path, troc_strerror(rc));
    }
}

/* Writes domain || 0x00 || territory id into `message`; returns its size. */
static size_t write_prefix(uint8_t *message, troc_domain domain, const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE]) {
    const char *name = troc_domain_name(domain);
    size_t name_size = strlen(name);
    assert(name_size <= DOMAIN_SIZE_MAX);
    memcpy(message, name, name_size);
    message[name_size] = 0;
    memcpy(message + name_size + 1, territory_id, TROC_PUBLIC_KEY_SIZE);
    return name_size + 1 + TROC_PUBLIC_KEY_SIZE;
}

/* Points *message_out at a buffer holding prefix || body: `stack` when it
 * fits, else a heap buffer the caller frees. */
static int assemble(uint8_t stack[STACK_MESSAGE_SIZE], uint8_t **message_out, size_t *size_out, troc_domain domain,
                    const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE], const uint8_t *body, size_t body_size) {
    uint8_t *message = stack;
    if (body_size > STACK_MESSAGE_SIZE - SIGNED_PREFIX_SIZE_MAX) {
        message = malloc(SIGNED_PREFIX_SIZE_MAX + body_size);
        if (message == NULL) return -ENOMEM;
    }
    size_t prefix_size = write_prefix(message, domain, territory_id);
    if (body_size > 0) memcpy(message + prefix_size, body, body_size);
    *message_out = message;
    *size_out = prefix_size + body_size;
    return 0;
}

int troc_sign(const troc_keypair *keypair, troc_domain domain, const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE],
              const uint8_t *body, size_t body_size, uint8_t signature[TROC_SIGNATURE_SIZE]) {
    assert(keypair != NULL && territory_id != NULL && signature != NULL);
    assert(body != NULL || body_size == 0);
    uint8_t stack[STACK_MESSAGE_SIZE];
    uint8_t *message;
    size_t message_size;
    int rc = assemble(stack, &message, &message_size, domain, territory_id, body, body_size);
    if (rc != 0) return rc;
    crypto_sign_detached(signature, NULL, message, message_size, keypair->secret_key);
    if (message != stack) free(message);
    return 0;
}

bool troc_verify(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], troc_domain domain,
                 const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE], const uint8_t *body, size_t body_size,
                 const uint8_t signature[TROC_SIGNATURE_SIZE]) {
    assert(public_key != NULL && territory_id != NULL && signature != NULL);
    assert(body != NULL || body_size == 0);
    uint8_t stack[STACK_MESSAGE_SIZE];
    uint8_t *message;
    size_t message_size;
    if (assemble(stack, &message, &message_size, domain, territory_id, body, body_size) != 0) return false;
    bool ok = crypto_sign_verify_detached(signature, message, message_size, public_key) == 0;
    if (message != stack) free(message);
    return ok;
}

void troc_hash(const uint8_t *data, size_t size, uint8_t hash[TROC_HASH_SIZE]) {
    assert(data != NULL || size == 0);
    crypto_generichash(hash, TROC_HASH_SIZE, data, size, NULL, 0);
}

void troc_id_generate(uint8_t id[TROC_ID_SIZE]) {
    assert(id != NULL);
    /* The last id this thread made: a new one that would not be above it
     * (same millisecond, or a clock stepped back) is the last plus one. */
    static _Thread_local uint8_t last[TROC_ID_SIZE];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t milliseconds = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    for (int i = 0; i < 6; i++) id[i] = (uint8_t)(milliseconds >> (8 * (5 - i)));
    randombytes_buf(id + 6, TROC_ID_SIZE - 6);
    if (memcmp(id, last, TROC_ID_SIZE) <= 0) {
        memcpy(id, last, TROC_ID_SIZE);
        for (int i = TROC_ID_SIZE - 1; i >= 0 && ++id[i] == 0; i--) continue;
    }
    memcpy(last, id, TROC_ID_SIZE);
}

void troc_public_key_to_hex(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], char hex[TROC_PUBLIC_KEY_HEX_SIZE]) {
    troc_hex_encode(public_key, TROC_PUBLIC_KEY_SIZE, hex);
}

int troc_public_key_from_hex(const char *hex, uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    if (hex == NULL) return TROC_EHEX;
    return troc_hex_decode(hex, strlen(hex), public_key, TROC_PUBLIC_KEY_SIZE);
}

bool troc_public_key_usable(const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    return crypto_core_ed25519_is_valid_point(public_key) == 1;
}
