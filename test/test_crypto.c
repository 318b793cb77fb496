/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the libsodium wrappers: key files (private, never replaced,
 * refused when malformed or readable by others), signatures bound to their
 * domain and territory, and ids that increase with time and within a
 * thread.  The advice for a key file others may read quotes its path even
 * when memory is short (malloc fails on demand: -Wl,--wrap=malloc).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "crypto/crypto.h"

/* When set, every malloc of the code under test fails. */
static bool malloc_fails = false;

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size) {
    return malloc_fails ? NULL : __real_malloc(size);
}

typedef struct fixture {
    char directory[64];
    char path[96];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(troc_crypto_init(), 0);
    strcpy(f->directory, "/tmp/troc-crypto-XXXXXX");
    assert_non_null(mkdtemp(f->directory));
    snprintf(f->path, sizeof f->path, "%s/member.key", f->directory);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    unlink(f->path);
    rmdir(f->directory);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text, mode_t mode) {
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_keyfile_round_trip(void **state) {
    fixture *f = *state;
    troc_keypair keypair, read_back;
    troc_keypair_generate(&keypair);
    assert_int_equal(troc_keyfile_write(f->path, &keypair), 0);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(troc_keyfile_read(f->path, &read_back), 0);
    assert_memory_equal(read_back.public_key, keypair.public_key, TROC_PUBLIC_KEY_SIZE);
    assert_memory_equal(read_back.secret_key, keypair.secret_key, TROC_SECRET_KEY_SIZE);
    /* An existing key is never replaced. */
    troc_keypair other;
    troc_keypair_generate(&other);
    assert_int_equal(troc_keyfile_write(f->path, &other), -EEXIST);
    assert_int_equal(troc_keyfile_read(f->path, &read_back), 0);
    assert_memory_equal(read_back.public_key, keypair.public_key, TROC_PUBLIC_KEY_SIZE);
}

static void test_keyfile_refusals(void **state) {
    fixture *f = *state;
    troc_keypair keypair;
    assert_int_equal(troc_keyfile_read(f->path, &keypair), -ENOENT);
    char text[128];
    snprintf(text, sizeof text, "troc-secret-key-v1\n%064d\n", 7);
    write_text(f->path, text, 0644);
    assert_int_equal(troc_keyfile_read(f->path, &keypair), -EPERM);
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(troc_keyfile_read(f->path, &keypair), 0);
    static const char *const bad[] = {
        "", "troc-secret-key-v1\n", "troc-secret-key-v2\n0000000000000000000000000000000000000000000000000000000000000000\n",
        "troc-secret-key-v1\n000000000000000000000000000000000000000000000000000000000000000g\n",
        "troc-secret-key-v1\n00000000000000000000000000000000000000000000000000000000000000\n",
        "troc-secret-key-v1\n0000000000000000000000000000000000000000000000000000000000000000x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unlink(f->path);
        write_text(f->path, bad[i], 0600);
        assert_int_equal(troc_keyfile_read(f->path, &keypair), TROC_EKEYFILE);
    }
}

/* Describes `rc` for `path` and checks that the message holds `want`. */
static void check_described(const char *path, int rc, const char *want) {
    char message[512];
    troc_keyfile_describe_error(path, rc, message, sizeof message);
    if (strstr(message, want) == NULL) fail_msg("'%s' lacks '%s'", message, want);
}

/* A key file is a regular file: anything else is refused from its type,
 * before its mode (a directory's or /dev/null's says nothing of a key)
 * and without reading it (a FIFO with no writer would block for ever). */
static void test_keyfile_not_regular(void **state) {
    fixture *f = *state;
    troc_keypair keypair;
    alarm(10); /* a read that blocks fails the test instead of hanging it */
    assert_int_equal(troc_keyfile_read(f->directory, &keypair), TROC_EKEYFILE);
    check_described(f->directory, TROC_EKEYFILE, " is a directory, not a key file");
    assert_int_equal(troc_keyfile_read("/dev/null", &keypair), TROC_EKEYFILE);
    check_described("/dev/null", TROC_EKEYFILE, "/dev/null is a character device, not a key file");
    assert_int_equal(mkfifo(f->path, 0600), 0);
    assert_int_equal(troc_keyfile_read(f->path, &keypair), TROC_EKEYFILE);
    check_described(f->path, TROC_EKEYFILE, " is a FIFO, not a key file");
    alarm(0);
    unlink(f->path);
    /* A regular file others may read: the chmod to run, pasteable. */
    char text[128];
    snprintf(text, sizeof text, "troc-secret-key-v1\n%064d\n", 7);
    write_text(f->path, text, 0640);
    assert_int_equal(troc_keyfile_read(f->path, &keypair), -EPERM);
    check_described("my key's", -EPERM, "my key's may be read by its group or others, and a secret key must be "
                                        "private; run: chmod 600 'my key'\\''s'");
    check_described("admin.key", -EPERM, "run: chmod 600 admin.key");
    write_text(f->path, "not a key\n", 0600);
    check_described(f->path, TROC_EKEYFILE, " is not a troc key file");
    check_described("/nonexistent.key", -ENOENT, "cannot read the key file /nonexistent.key: No such file");
}

/* Memory short: the path is quoted all the same (shown unquoted, "my
 * key" would be a command on two other files), and one too long for any
 * system is shown cut, its quotes closed. */
static void test_keyfile_advice_without_memory(void **state) {
    (void)state;
    char message[512];
    malloc_fails = true;
    troc_keyfile_describe_error("my key's", -EPERM, message, sizeof message);
    malloc_fails = false;
    assert_non_null(strstr(message, "run: chmod 600 'my key'\\''s'"));
    static char long_path[2 * PATH_MAX];
    memset(long_path, 'k', sizeof long_path - 1);
    long_path[0] = ' ';
    static char long_message[4 * PATH_MAX];
    malloc_fails = true;
    troc_keyfile_describe_error(long_path, -EPERM, long_message, sizeof long_message);
    malloc_fails = false;
    const char *command = strstr(long_message, "run: chmod 600 ' kkk");
    assert_non_null(command);
    size_t length = strlen(command);
    assert_true(length < PATH_MAX + 20);
    assert_string_equal(command + length - 5, "k'...");
}

static void test_signatures_are_bound(void **state) {
    (void)state;
    troc_keypair signer, other;
    troc_keypair_generate(&signer);
    troc_keypair_generate(&other);
    uint8_t territory[TROC_PUBLIC_KEY_SIZE] = {1}, elsewhere[TROC_PUBLIC_KEY_SIZE] = {2};
    const uint8_t body[] = "a transfer's exact bytes";
    uint8_t signature[TROC_SIGNATURE_SIZE];
    assert_int_equal(troc_sign(&signer, TROC_DOMAIN_TRANSFER, territory, body, sizeof body, signature), 0);
    assert_true(troc_verify(signer.public_key, TROC_DOMAIN_TRANSFER, territory, body, sizeof body, signature));
    assert_false(troc_verify(signer.public_key, TROC_DOMAIN_ADMIN, territory, body, sizeof body, signature));
    assert_false(troc_verify(signer.public_key, TROC_DOMAIN_TRANSFER, elsewhere, body, sizeof body, signature));
    assert_false(troc_verify(other.public_key, TROC_DOMAIN_TRANSFER, territory, body, sizeof body, signature));
    assert_false(troc_verify(signer.public_key, TROC_DOMAIN_TRANSFER, territory, body, sizeof body - 1, signature));
    /* A body larger than the stack buffer takes the heap path, same rules. */
    size_t large_size = 64 * 1024;
    uint8_t *large = calloc(1, large_size);
    assert_non_null(large);
    assert_int_equal(troc_sign(&signer, TROC_DOMAIN_BATCH, territory, large, large_size, signature), 0);
    assert_true(troc_verify(signer.public_key, TROC_DOMAIN_BATCH, territory, large, large_size, signature));
    large[large_size - 1] = 1;
    assert_false(troc_verify(signer.public_key, TROC_DOMAIN_BATCH, territory, large, large_size, signature));
    free(large);
    for (int d = 0; d < TROC_DOMAIN_COUNT; d++) assert_int_equal(strncmp(troc_domain_name(d), "troc/v1/", 8), 0);
}

static void test_ids_increase(void **state) {
    (void)state;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t milliseconds = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    uint8_t previous[TROC_ID_SIZE], id[TROC_ID_SIZE];
    troc_id_generate(previous);
    uint64_t stamped = 0;
    for (int i = 0; i < 6; i++) stamped = stamped << 8 | previous[i];
    assert_true(stamped >= milliseconds && stamped < milliseconds + 60000);
    /* Many ids within one millisecond still strictly increase. */
    for (int i = 0; i < 100000; i++) {
        troc_id_generate(id);
        assert_true(memcmp(previous, id, TROC_ID_SIZE) < 0);
        memcpy(previous, id, TROC_ID_SIZE);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keyfile_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyfile_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyfile_not_regular, setup, teardown),
        cmocka_unit_test(test_keyfile_advice_without_memory),
        cmocka_unit_test_setup_teardown(test_signatures_are_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_increase, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
