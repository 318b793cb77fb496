/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the journal: appends advance the head and chain the
 * hashes; reading back gives the exact bytes; the chain check walks every
 * entry and finds each kind of damage (a changed byte, a changed link, a
 * missing entry, a head that is not the last entry, a malformed record).
 * Each test gets a fresh LMDB environment in a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "journal/byteorder.h"
#include "journal/journal.h"

typedef struct fixture {
    char directory[256];
    MDB_env *env;
    MDB_dbi meta;
    troc_journal journal;
    troc_keypair signer;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(troc_crypto_init(), 0);
    snprintf(f->directory, sizeof f->directory, "/tmp/troc-journal-XXXXXX");
    assert_non_null(mkdtemp(f->directory));
    assert_int_equal(mdb_env_create(&f->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(f->env, 4), 0);
    assert_int_equal(mdb_env_set_mapsize(f->env, 64u << 20), 0);
    assert_int_equal(mdb_env_open(f->env, f->directory, MDB_NOSYNC, 0600), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &f->meta), 0);
    assert_int_equal(troc_journal_open(&f->journal, txn, f->meta, MDB_CREATE), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    troc_keypair_generate(&f->signer);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    mdb_env_close(f->env);
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", f->directory);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->directory);
    unlink(path);
    rmdir(f->directory);
    free(f);
    return 0;
}

/* Appends `count` entries with bodies "body-N" in one transaction. */
static void append(fixture *f, int count) {
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    troc_journal_head head;
    assert_int_equal(troc_journal_head_read(&f->journal, txn, &head), 0);
    uint8_t signature[TROC_SIGNATURE_SIZE];
    memset(signature, 0x5e, sizeof signature);
    for (int i = 0; i < count; i++) {
        char body[32];
        int size = snprintf(body, sizeof body, "body-%llu", (unsigned long long)head.seq + 1);
        troc_journal_entry entry = {.timestamp_us = 1000 + (int64_t)head.seq,
                                    .kind = 1,
                                    .signer = f->signer.public_key,
                                    .signature = signature,
                                    .body = (const uint8_t *)body,
                                    .body_size = (size_t)size};
        uint64_t before = head.seq;
        assert_int_equal(troc_journal_append(&f->journal, txn, &head, &entry), 0);
        assert_int_equal(head.seq, before + 1);
    }
    assert_int_equal(troc_journal_head_write(&f->journal, txn, &head), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static int count_visit(void *context, const troc_journal_entry *entry) {
    uint64_t *count = context;
    (*count)++;
    return entry->seq == *count ? 0 : -1;
}

/* Runs the chain check; returns its code and the entry it blames. */
static int check(fixture *f, uint64_t *visited, uint64_t *bad_seq) {
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn), 0);
    *visited = 0;
    int rc = troc_journal_check(&f->journal, txn, count_visit, visited, bad_seq);
    mdb_txn_abort(txn);
    return rc;
}

/* Changes the stored value of entry `seq` through `edit`. */
static void tamper(fixture *f, uint64_t seq, void (*edit)(uint8_t *value, size_t size)) {
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, seq);
    MDB_val key = {8, key_bytes}, value;
    assert_int_equal(mdb_get(txn, f->journal.entries, &key, &value), 0);
    uint8_t *copy = malloc(value.mv_size);
    memcpy(copy, value.mv_data, value.mv_size);
    edit(copy, value.mv_size);
    MDB_val changed = {value.mv_size, copy};
    assert_int_equal(mdb_put(txn, f->journal.entries, &key, &changed, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    free(copy);
}

static void flip_body(uint8_t *value, size_t size) { value[size - 1] ^= 1; }
static void flip_link(uint8_t *value, size_t size) { (void)size; value[16] ^= 0x80; }
static void flip_size(uint8_t *value, size_t size) { (void)size; value[148] ^= 1; }

static void test_empty_journal(void **state) {
    fixture *f = *state;
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), 0);
    assert_int_equal(visited, 0);
}

static void test_append_get_and_check(void **state) {
    fixture *f = *state;
    append(f, 3);
    append(f, 4);
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), 0);
    assert_int_equal(visited, 7);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn), 0);
    troc_journal_entry entry, previous;
    assert_int_equal(troc_journal_get(&f->journal, txn, 5, &entry), 0);
    assert_int_equal(entry.seq, 5);
    assert_int_equal(entry.timestamp_us, 1004);
    assert_int_equal(entry.kind, 1);
    assert_int_equal(entry.body_size, 6);
    assert_memory_equal(entry.body, "body-5", 6);
    assert_memory_equal(entry.signer, f->signer.public_key, TROC_PUBLIC_KEY_SIZE);
    /* Each entry holds the hash of the one before; the head, the last's. */
    assert_int_equal(troc_journal_get(&f->journal, txn, 4, &previous), 0);
    uint8_t hash[TROC_HASH_SIZE];
    troc_journal_entry_hash(&previous, hash);
    assert_memory_equal(entry.previous_hash, hash, TROC_HASH_SIZE);
    troc_journal_head head;
    assert_int_equal(troc_journal_head_read(&f->journal, txn, &head), 0);
    assert_int_equal(head.seq, 7);
    assert_int_equal(troc_journal_get(&f->journal, txn, 7, &entry), 0);
    troc_journal_entry_hash(&entry, hash);
    assert_memory_equal(head.hash, hash, TROC_HASH_SIZE);
    assert_int_equal(troc_journal_get(&f->journal, txn, 1, &entry), 0);
    uint8_t zeros[TROC_HASH_SIZE] = {0};
    assert_memory_equal(entry.previous_hash, zeros, TROC_HASH_SIZE);
    assert_int_equal(troc_journal_get(&f->journal, txn, 8, &entry), TROC_ENOT_FOUND);
    mdb_txn_abort(txn);
}

static void test_changed_body_breaks_the_chain(void **state) {
    fixture *f = *state;
    append(f, 5);
    tamper(f, 3, flip_body);
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), TROC_ECHAIN);
    assert_int_equal(bad, 4); /* entry 4 no longer holds entry 3's hash */
    assert_int_equal(visited, 3);
}

static void test_changed_last_entry_breaks_the_head(void **state) {
    fixture *f = *state;
    append(f, 5);
    tamper(f, 5, flip_body);
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), TROC_ECHAIN);
    assert_int_equal(bad, 5);
}

static void test_changed_link(void **state) {
    fixture *f = *state;
    append(f, 5);
    tamper(f, 2, flip_link);
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), TROC_ECHAIN);
    assert_int_equal(bad, 2);
}

static void test_malformed_entry(void **state) {
    fixture *f = *state;
    append(f, 3);
    tamper(f, 2, flip_size);
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), TROC_ECORRUPT);
    assert_int_equal(bad, 2);
}

static void test_missing_entry(void **state) {
    fixture *f = *state;
    append(f, 5);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    uint8_t key_bytes[8];
    troc__be64_write(key_bytes, 3);
    MDB_val key = {8, key_bytes};
    assert_int_equal(mdb_del(txn, f->journal.entries, &key, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    uint64_t visited, bad;
    assert_int_equal(check(f, &visited, &bad), TROC_ECHAIN);
    assert_int_equal(bad, 3);
    /* The last entry removed: the head names an entry that is gone. */
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    MDB_cursor *cursor;
    assert_int_equal(mdb_cursor_open(txn, f->journal.entries, &cursor), 0);
    MDB_val k, v;
    while (mdb_cursor_get(cursor, &k, &v, MDB_FIRST) == 0) assert_int_equal(mdb_cursor_del(cursor, 0), 0);
    mdb_cursor_close(cursor);
    assert_int_equal(mdb_txn_commit(txn), 0);
    append(f, 0);
    assert_int_equal(check(f, &visited, &bad), TROC_ECHAIN);
}

static void test_visit_stops_the_walk(void **state) {
    fixture *f = *state;
    append(f, 4);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn), 0);
    uint64_t visited = 2, bad; /* count_visit fails at once: seq 1 != 3 */
    assert_int_equal(troc_journal_check(&f->journal, txn, count_visit, &visited, &bad), -1);
    assert_int_equal(bad, 1);
    mdb_txn_abort(txn);
}

static void test_body_too_large(void **state) {
    fixture *f = *state;
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    troc_journal_head head = {0};
    uint8_t signature[TROC_SIGNATURE_SIZE] = {0};
    static uint8_t body[1];
    troc_journal_entry entry = {.kind = 1, .signer = f->signer.public_key, .signature = signature, .body = body,
                                .body_size = TROC_JOURNAL_BODY_SIZE_MAX + 1};
    assert_int_equal(troc_journal_append(&f->journal, txn, &head, &entry), -E2BIG);
    assert_int_equal(head.seq, 0);
    mdb_txn_abort(txn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_get_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_body_breaks_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_last_entry_breaks_the_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_stops_the_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
