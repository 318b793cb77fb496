/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the ledger: init and open, admin actions, transfers and
 * batches with every refusal code (each leaving no trace), idempotency,
 * credit limits and balance maxima, frozen accounts, keys, balances summing
 * to zero, statement paging, member info and the running totals, time,
 * a tiny LMDB map (MDB_MAP_FULL, then grow and replay), injected LMDB
 * failures (-Wl,--wrap=mdb_put and mdb_txn_commit), admissions of
 * transactions that do not commit, a transaction overflowing the write
 * cache, and a full disk when LMDB's lock file is made (-Wl,--wrap of
 * posix_fallocate).
 *
 * Each test gets a fresh ledger in its own temporary directory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "base/error.h"
#include "base/result.h"
#include "ledger_support.h"

/* ------------------------------------------------ LMDB failure injection */

static int put_failures_after = -1;        /* mdb_put calls before one fails; -1: never */
static int put_failure_code = -EIO;
static int commit_failure_code = 0;        /* next mdb_txn_commit of a write fails with it */
static int fallocate_failure_code = 0;     /* posix_fallocate fails with it (an errno); 0: never */
static bool statvfs_disk_full = false;     /* statvfs reports no free block */

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags);
int __real_mdb_txn_commit(MDB_txn *txn);
int __wrap_mdb_txn_commit(MDB_txn *txn);
int __real_mdb_cursor_put(MDB_cursor *cursor, MDB_val *key, MDB_val *data, unsigned int flags);
int __wrap_mdb_cursor_put(MDB_cursor *cursor, MDB_val *key, MDB_val *data, unsigned int flags);

/* posix_fallocate as the build names it (_FILE_OFFSET_BITS=64).  Like a
 * full disk, it fails only for a new (empty) file: a file whose blocks are
 * already allocated needs none. */
int __real_posix_fallocate64(int fd, off_t offset, off_t length);
int __wrap_posix_fallocate64(int fd, off_t offset, off_t length);

int __wrap_posix_fallocate64(int fd, off_t offset, off_t length) {
    struct stat st;
    if (fallocate_failure_code != 0 && fstat(fd, &st) == 0 && st.st_size == 0) return fallocate_failure_code;
    return __real_posix_fallocate64(fd, offset, length);
}

/* statvfs as the build names it; reports a full disk when asked to. */
/* Directories fsync'd, by inode: init must sync the names it made. */
static struct {
    bool recording;
    size_t count;
    ino_t inodes[16];
} directory_syncs;

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd) {
    struct stat st;
    if (directory_syncs.recording && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
        directory_syncs.count < sizeof directory_syncs.inodes / sizeof directory_syncs.inodes[0]) {
        directory_syncs.inodes[directory_syncs.count++] = st.st_ino;
    }
    return __real_fsync(fd);
}

static bool directory_synced(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    for (size_t i = 0; i < directory_syncs.count; i++) {
        if (directory_syncs.inodes[i] == st.st_ino) return true;
    }
    return false;
}

int __real_statvfs64(const char *path, struct statvfs *vfs);
int __wrap_statvfs64(const char *path, struct statvfs *vfs);

int __wrap_statvfs64(const char *path, struct statvfs *vfs) {
    int rc = __real_statvfs64(path, vfs);
    if (rc == 0 && statvfs_disk_full) vfs->f_bfree = vfs->f_bavail = 0;
    return rc;
}

/* True when the armed put failure fires now. */
static bool put_fails(void) {
    if (put_failures_after == 0) {
        put_failures_after = -1;
        return true;
    }
    if (put_failures_after > 0) put_failures_after--;
    return false;
}

int __wrap_mdb_cursor_put(MDB_cursor *cursor, MDB_val *key, MDB_val *data, unsigned int flags) {
    return put_fails() ? put_failure_code : __real_mdb_cursor_put(cursor, key, data, flags);
}

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags) {
    return put_fails() ? put_failure_code : __real_mdb_put(txn, dbi, key, data, flags);
}

int __wrap_mdb_txn_commit(MDB_txn *txn) {
    if (commit_failure_code != 0) {
        int code = commit_failure_code;
        commit_failure_code = 0;
        mdb_txn_abort(txn);
        return code;
    }
    return __real_mdb_txn_commit(txn);
}

/* ------------------------------------------------------------- fixture */

typedef struct fixture {
    support *s;
    troc_keypair alice, bob, carol, dave;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->s = support_create();
    troc_keypair_generate(&f->alice);
    troc_keypair_generate(&f->bob);
    troc_keypair_generate(&f->carol);
    troc_keypair_generate(&f->dave);
    put_failures_after = -1;
    commit_failure_code = 0;
    fallocate_failure_code = 0;
    statvfs_disk_full = false;
    *state = f;
    return 0;
}

/* With members alice (limit 100.00), bob (limit 50.00, max 1000.00) and
 * carol (limit 0). */
static int setup_members(void **state) {
    setup(state);
    fixture *f = *state;
    assert_int_equal(support_member_add(f->s, "alice", &f->alice, 10000, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "bob", &f->bob, 5000, 100000), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "carol", &f->carol, 0, -1), TROC_RESULT_OK);
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    put_failures_after = -1;
    commit_failure_code = 0;
    fallocate_failure_code = 0;
    statvfs_disk_full = false;
    support_destroy(f->s);
    free(f);
    return 0;
}

/* Submits a transfer built from the fields; returns its code. */
static int pay_with(fixture *f, const troc_keypair *key, const uint8_t *id, const char *payer, const char *payee,
                    int64_t amount, const char *memo, troc_item_result *result) {
    support_item item;
    support_transfer_item(f->s, key, id, payer, payee, amount, memo, &item);
    int code = support_submit(f->s, &item, result);
    support_item_free(&item);
    return code;
}

/* Signs and submits an admin action with a fresh id. */
static int admin_with(fixture *f, const troc_keypair *key, Troc__V1__AdminAction *action) {
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    action->has_id = 1;
    action->id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    support_item item;
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, action, key, NULL, &item);
    int code = support_submit(f->s, &item, NULL);
    support_item_free(&item);
    return code;
}

static int balance_max_set(fixture *f, const char *name, int64_t balance_max) {
    Troc__V1__LimitSet set = TROC__V1__LIMIT_SET__INIT;
    set.name = (char *)name;
    set.has_balance_max_cents = 1;
    set.balance_max_cents = balance_max;
    set.reason = "test";
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_LIMIT_SET;
    action.limit_set = &set;
    return admin_with(f, &f->s->admin, &action);
}

static int key_action(fixture *f, bool add, const char *name, const uint8_t *public_key) {
    Troc__V1__MemberKey key = TROC__V1__MEMBER_KEY__INIT;
    key.name = (char *)name;
    key.has_public_key = 1;
    key.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)public_key};
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.action_case = add ? TROC__V1__ADMIN_ACTION__ACTION_KEY_ADD : TROC__V1__ADMIN_ACTION__ACTION_KEY_REVOKE;
    if (add) {
        action.key_add = &key;
    } else {
        action.key_revoke = &key;
    }
    return admin_with(f, &f->s->admin, &action);
}

static void assert_sum_zero(fixture *f) {
    int64_t sum = support_balance(f->s, "alice") + support_balance(f->s, "bob") + support_balance(f->s, "carol");
    assert_int_equal(sum, 0);
    assert_int_equal(support_stats(f->s).balance_sum_cents, 0);
}

/* ---------------------------------------------------------- lifecycle */

static void test_init_open_and_roles(void **state) {
    fixture *f = *state;
    assert_string_equal(troc_ledger_territory(f->s->ledger), "lyon");
    assert_string_equal(troc_ledger_unit(f->s->ledger), "EUR");
    assert_memory_equal(troc_ledger_territory_keypair(f->s->ledger)->public_key, f->s->territory_key,
                        TROC_PUBLIC_KEY_SIZE);
    char path[512];
    snprintf(path, sizeof path, "%s/territory.key", f->s->directory);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.journal_entries, 1);
    assert_int_equal(stats.members, 0);

    assert_int_equal(support_member_add(f->s, "alice", &f->alice, 0, -1), TROC_RESULT_OK);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_role role;
    char member[TROC_NAME_LENGTH_MAX + 1];
    assert_int_equal(troc_ledger_key_role(read, f->s->admin.public_key, &role, member), 0);
    assert_int_equal(role, TROC_ROLE_ADMIN);
    assert_int_equal(troc_ledger_key_role(read, f->alice.public_key, &role, member), 0);
    assert_int_equal(role, TROC_ROLE_MEMBER);
    assert_string_equal(member, "alice");
    assert_int_equal(troc_ledger_key_role(read, f->bob.public_key, &role, member), 0);
    assert_int_equal(role, TROC_ROLE_NONE);
    troc_account account;
    assert_int_equal(troc_ledger_account(read, "nobody", &account), TROC_ENOT_FOUND);
    troc_ledger_read_end(read);

    /* One writer at a time: a second open for writing is refused while the
     * first holds the ledger, also once every file that is not the ledger
     * itself is deleted (a lock file taken for a stale one; LMDB's lock file
     * is remade by the next open). */
    troc_ledger *second = NULL;
    assert_int_equal(troc_ledger_open(&second, f->s->directory), -EBUSY);
    assert_null(second);
    char lock_path[PATH_MAX + 32];
    static const char *const removable[] = {"writer.lock", "lock.mdb"};
    for (size_t i = 0; i < sizeof removable / sizeof removable[0]; i++) {
        snprintf(lock_path, sizeof lock_path, "%s/%s", f->s->directory, removable[i]);
        assert_true(unlink(lock_path) == 0 || errno == ENOENT);
    }
    assert_int_equal(troc_ledger_open(&second, f->s->directory), -EBUSY);
    assert_null(second);

    /* Reopening finds the same state. */
    troc_ledger_close(f->s->ledger);
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), 0);
    assert_int_equal(support_stats(f->s).members, 1);
}

static void test_init_refusals(void **state) {
    fixture *f = *state;
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    const uint8_t(*admins)[TROC_PUBLIC_KEY_SIZE] = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])&f->s->admin.public_key;
    troc_ledger_init_options options = {.territory = "lyon", .unit = "EUR", .admin_keys = admins, .admin_key_count = 1};
    /* The fixture's directory holds a ledger: not empty. */
    assert_int_equal(troc_ledger_init(f->s->directory, &options, key), TROC_ENOT_EMPTY);
    char directory[300];
    snprintf(directory, sizeof directory, "%s-new", f->s->directory);
    options.territory = "Lyon";
    assert_int_equal(troc_ledger_init(directory, &options, key), TROC_ENAME);
    options.territory = "lyon";
    options.unit = "";
    assert_int_equal(troc_ledger_init(directory, &options, key), TROC_EUTF8);
    options.unit = "EUR";
    options.admin_key_count = 0;
    assert_int_equal(troc_ledger_init(directory, &options, key), TROC_ELIMIT);
    uint8_t twice[2][TROC_PUBLIC_KEY_SIZE] = {{1}, {1}};
    options.admin_keys = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])twice;
    options.admin_key_count = 2;
    assert_int_equal(troc_ledger_init(directory, &options, key), TROC_EUSAGE);
    struct stat st;
    assert_int_not_equal(stat(directory, &st), 0); /* nothing was created */
    troc_ledger *ledger = NULL;
    assert_int_equal(troc_ledger_open(&ledger, directory), TROC_ENOT_FOUND);
}

/* The names init makes (territory.key, data.mdb, the directory itself) last
 * through a crash: it syncs the directory, and its parent when it made it. */
static void test_init_syncs_the_names_it_makes(void **state) {
    fixture *f = *state;
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    const uint8_t(*admins)[TROC_PUBLIC_KEY_SIZE] = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])&f->s->admin.public_key;
    troc_ledger_init_options options = {.territory = "lyon", .unit = "EUR", .admin_keys = admins, .admin_key_count = 1};
    char parent[300], directory[320];
    snprintf(parent, sizeof parent, "%s-parent", f->s->directory);
    assert_int_equal(mkdir(parent, 0700), 0);
    snprintf(directory, sizeof directory, "%s/new/", parent); /* a trailing slash names the same */
    directory_syncs.recording = true;
    directory_syncs.count = 0;
    assert_int_equal(troc_ledger_init(directory, &options, key), 0);
    directory_syncs.recording = false;
    assert_true(directory_synced(directory));
    assert_true(directory_synced(parent));
    support_remove_directory(directory);
    /* A directory that exists, empty, made by someone else's umask: init
     * leaves it the daemon's alone, as one it makes. */
    assert_int_equal(mkdir(directory, 0755), 0);
    assert_int_equal(chmod(directory, 0755), 0);
    assert_int_equal(troc_ledger_init(directory, &options, key), 0);
    struct stat st;
    assert_int_equal(stat(directory, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    support_remove_directory(directory);
    rmdir(parent);
}

/* Another init of the same directory, run when the one under test is
 * about to write its key file: both passed the emptiness check. */
static const troc_ledger_init_options *rival_options;
static uint8_t rival_key[TROC_PUBLIC_KEY_SIZE];
static int rival_rc;

int __real_troc_keyfile_write(const char *path, const troc_keypair *keypair);
int __wrap_troc_keyfile_write(const char *path, const troc_keypair *keypair);
int __wrap_troc_keyfile_write(const char *path, const troc_keypair *keypair) {
    if (rival_options != NULL) {
        const troc_ledger_init_options *options = rival_options;
        rival_options = NULL;
        char directory[PATH_MAX];
        size_t length = strlen(path) - strlen("/" TROC_LEDGER_KEY_FILE);
        snprintf(directory, sizeof directory, "%.*s", (int)length, path);
        rival_rc = troc_ledger_init(directory, options, rival_key);
    }
    return __real_troc_keyfile_write(path, keypair);
}

/* Two inits racing on one directory: the one that loses leaves the
 * winner's ledger whole, whether the directory existed or the loser made
 * it. */
static void test_init_leaves_a_concurrent_init_alone(void **state) {
    fixture *f = *state;
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    const uint8_t(*admins)[TROC_PUBLIC_KEY_SIZE] = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])&f->s->admin.public_key;
    troc_ledger_init_options options = {.territory = "lyon", .unit = "EUR", .admin_keys = admins, .admin_key_count = 1};
    for (int existing = 0; existing < 2; existing++) {
        char directory[300];
        snprintf(directory, sizeof directory, "%s-race%d", f->s->directory, existing);
        if (existing) assert_int_equal(mkdir(directory, 0700), 0);
        rival_options = &options;
        rival_rc = -1;
        assert_int_equal(troc_ledger_init(directory, &options, key), TROC_ENOT_EMPTY);
        assert_int_equal(rival_rc, 0);
        troc_ledger *ledger = NULL;
        assert_int_equal(troc_ledger_open(&ledger, directory), 0);
        assert_memory_equal(troc_ledger_territory_keypair(ledger)->public_key, rival_key, TROC_PUBLIC_KEY_SIZE);
        troc_ledger_close(ledger);
        support_remove_directory(directory);
    }
}

/* ------------------------------------------------------------- admin */

static void test_member_add_and_info(void **state) {
    fixture *f = *state;
    int64_t admitted = f->s->now_us;
    assert_int_equal(support_member_add(f->s, "alice", &f->alice, 12345, 99999), TROC_RESULT_OK);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_member_info *info = malloc(sizeof *info);
    assert_int_equal(troc_ledger_member_info(read, "alice", info), 0);
    assert_string_equal(info->account.member, "alice");
    assert_int_equal(info->account.balance_cents, 0);
    assert_int_equal(info->account.credit_limit_cents, 12345);
    assert_true(info->account.has_balance_max);
    assert_int_equal(info->account.balance_max_cents, 99999);
    assert_false(info->account.frozen);
    assert_int_equal(info->admitted_us, admitted);
    assert_int_equal(info->key_count, 1);
    assert_memory_equal(info->keys[0].public_key, f->alice.public_key, TROC_PUBLIC_KEY_SIZE);
    assert_false(info->keys[0].revoked);
    assert_int_equal(info->limit_change_count, 1);
    assert_string_equal(info->limit_changes[0].reason, "admitted");
    assert_memory_equal(info->limit_changes[0].admin_key, f->s->admin.public_key, TROC_PUBLIC_KEY_SIZE);
    assert_int_equal(info->limit_changes[0].credit_limit_cents, 12345);
    assert_int_equal(info->limit_changes[0].journal_seq, 2);
    assert_int_equal(troc_ledger_member_info(read, "bob", info), TROC_ENOT_FOUND);
    free(info);
    troc_ledger_read_end(read);
    assert_int_equal(support_stats(f->s).members, 1);
}

static void test_admin_refusals(void **state) {
    fixture *f = *state;
    troc_stats before = support_stats(f->s);
    Troc__V1__MemberAdd add = TROC__V1__MEMBER_ADD__INIT;
    add.name = "dave";
    add.has_public_key = 1;
    add.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, f->alice.public_key}; /* alice's key */
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD;
    action.member_add = &add;
    assert_int_equal(admin_with(f, &f->alice, &action), TROC_RESULT_NOT_ADMIN); /* a member's key */
    troc_keypair stranger;
    troc_keypair_generate(&stranger);
    assert_int_equal(admin_with(f, &stranger, &action), TROC_RESULT_UNKNOWN_KEY);
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_KEY_IN_USE);
    add.name = "Dave";
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_INVALID_NAME);
    add.name = "alice";
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_MEMBER_EXISTS);
    add.name = "dave";
    add.public_key.data = f->s->admin.public_key; /* an admin's key */
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_KEY_IN_USE);
    add.public_key.data = stranger.public_key;
    add.has_credit_limit_cents = 1;
    add.credit_limit_cents = -1;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_INVALID_LIMIT);
    add.credit_limit_cents = TROC_AMOUNT_CENTS_MAX + 1;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_INVALID_LIMIT);
    add.credit_limit_cents = 0;
    add.has_balance_max_cents = 1;
    add.balance_max_cents = -5;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_INVALID_LIMIT);
    add.has_balance_max_cents = 0;
    add.public_key.len = 31;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_MALFORMED);
    add.public_key.len = TROC_PUBLIC_KEY_SIZE;
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION__NOT_SET;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_MALFORMED);
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD;
    /* A bad signature. */
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    support_item item;
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, &action, &f->s->admin, NULL, &item);
    item.item.signature_valid = false;
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_BAD_SIGNATURE);
    /* Nothing of the refusals remains; the same id then succeeds. */
    troc_stats after = support_stats(f->s);
    assert_int_equal(after.journal_entries, before.journal_entries);
    assert_int_equal(after.members, before.members);
    item.item.signature_valid = true;
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK);
    support_item_free(&item);
    assert_int_equal(support_stats(f->s).members, before.members + 1);
}

static void test_keys(void **state) {
    fixture *f = *state;
    troc_keypair second, extra;
    troc_keypair_generate(&second);
    assert_int_equal(key_action(f, false, "alice", f->alice.public_key), TROC_RESULT_LAST_KEY);
    assert_int_equal(key_action(f, true, "alice", f->bob.public_key), TROC_RESULT_KEY_IN_USE);
    assert_int_equal(key_action(f, true, "alice", f->s->admin.public_key), TROC_RESULT_KEY_IN_USE);
    assert_int_equal(key_action(f, true, "nobody", second.public_key), TROC_RESULT_UNKNOWN_MEMBER);
    assert_int_equal(key_action(f, true, "alice", second.public_key), TROC_RESULT_OK);
    assert_int_equal(key_action(f, false, "alice", f->bob.public_key), TROC_RESULT_KEY_NOT_FOUND);
    /* The second key pays for alice; bob's key may not. */
    assert_int_equal(support_pay(f->s, &second, "alice", "bob", 100), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->bob, "alice", "bob", 100), TROC_RESULT_KEY_NOT_OWNED);
    /* Revoke the first key: it can no longer pay, and cannot come back. */
    assert_int_equal(key_action(f, false, "alice", f->alice.public_key), TROC_RESULT_OK);
    assert_int_equal(key_action(f, false, "alice", f->alice.public_key), TROC_RESULT_KEY_NOT_FOUND);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 100), TROC_RESULT_UNKNOWN_KEY);
    assert_int_equal(key_action(f, true, "carol", f->alice.public_key), TROC_RESULT_KEY_IN_USE);
    assert_int_equal(key_action(f, false, "alice", second.public_key), TROC_RESULT_LAST_KEY);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_role role;
    char member[TROC_NAME_LENGTH_MAX + 1];
    assert_int_equal(troc_ledger_key_role(read, f->alice.public_key, &role, member), 0);
    assert_int_equal(role, TROC_ROLE_NONE);
    troc_member_info *info = malloc(sizeof *info);
    assert_int_equal(troc_ledger_member_info(read, "alice", info), 0);
    assert_int_equal(info->key_count, 2);
    int revoked = 0;
    for (size_t i = 0; i < info->key_count; i++) revoked += info->keys[i].revoked;
    assert_int_equal(revoked, 1);
    free(info);
    troc_ledger_read_end(read);
    /* At most TROC_MEMBER_KEYS_MAX active keys. */
    for (int i = 1; i < TROC_MEMBER_KEYS_MAX; i++) {
        troc_keypair_generate(&extra);
        assert_int_equal(key_action(f, true, "bob", extra.public_key), TROC_RESULT_OK);
    }
    troc_keypair_generate(&extra);
    assert_int_equal(key_action(f, true, "bob", extra.public_key), TROC_RESULT_TOO_MANY_KEYS);
}

/* The writer knows one key of each member without a lookup: a key revoked
 * by a transaction that aborts still pays; a revoked key never pays again,
 * after reopening either; a member's other keys pay as before. */
static void test_keys_known_to_the_writer(void **state) {
    fixture *f = *state;
    troc_keypair second;
    troc_keypair_generate(&second);
    assert_int_equal(key_action(f, true, "alice", second.public_key), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 1), TROC_RESULT_OK);
    /* Revoked, then aborted. */
    Troc__V1__MemberKey key = TROC__V1__MEMBER_KEY__INIT;
    key.name = "alice";
    key.has_public_key = 1;
    key.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, f->alice.public_key};
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_KEY_REVOKE;
    action.key_revoke = &key;
    support_item items[2];
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, &action, &f->s->admin, NULL, &items[0]);
    support_transfer_item(f->s, &f->alice, NULL, "alice", "bob", 1, NULL, &items[1]);
    troc_ledger_write *write = NULL;
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &items[0].item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    assert_int_equal(troc_ledger_apply(write, &items[1].item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_UNKNOWN_KEY); /* revoked in this transaction */
    troc_ledger_write_abort(write);
    support_item_free(&items[1]);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 1), TROC_RESULT_OK);
    /* Reopened: the first key is known again; revoked for good, it is not. */
    troc_ledger_close(f->s->ledger);
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), 0);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 1), TROC_RESULT_OK);
    assert_int_equal(support_submit(f->s, &items[0], NULL), TROC_RESULT_OK);
    support_item_free(&items[0]);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 1), TROC_RESULT_UNKNOWN_KEY);
    troc_ledger_close(f->s->ledger);
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), 0);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 1), TROC_RESULT_UNKNOWN_KEY);
    assert_int_equal(support_pay(f->s, &second, "alice", "bob", 1), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->bob, "alice", "bob", 1), TROC_RESULT_KEY_NOT_OWNED);
    assert_int_equal(support_balance(f->s, "alice"), -4);
    assert_sum_zero(f);
}

/* --------------------------------------------------------- transfers */

static void test_transfer_and_balances(void **state) {
    fixture *f = *state;
    troc_item_result result = {0};
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    int64_t when = f->s->now_us;
    assert_int_equal(pay_with(f, &f->alice, id, "alice", "bob", 2550, "bread", &result), TROC_RESULT_OK);
    assert_int_equal(result.journal_seq, support_stats(f->s).journal_entries);
    assert_int_equal(result.timestamp_us, when);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "carol", 1000), TROC_RESULT_OK);
    assert_int_equal(support_balance(f->s, "alice"), -2550);
    assert_int_equal(support_balance(f->s, "bob"), 1550);
    assert_int_equal(support_balance(f->s, "carol"), 1000);
    assert_sum_zero(f);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.transfers, 2);
    assert_int_equal(stats.debt_cents, 2550);
    assert_int_equal(stats.accounts_over_limit, 0);
    /* Exactly to the credit limit is allowed; one cent more is not. */
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 10000 - 2550), TROC_RESULT_OK);
    assert_int_equal(support_balance(f->s, "alice"), -10000);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 1), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_sum_zero(f);
}

/* Submits a transfer that must be refused with `code` and leave no trace. */
static void refused(fixture *f, int code, const troc_keypair *key, const char *payer, const char *payee, int64_t amount,
                    const char *memo) {
    troc_stats before = support_stats(f->s);
    int64_t alice = support_balance(f->s, "alice");
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    troc_item_result result = {0};
    assert_int_equal(pay_with(f, key, id, payer, payee, amount, memo, &result), code);
    assert_int_equal(result.journal_seq, 0);
    troc_stats after = support_stats(f->s);
    assert_int_equal(after.journal_entries, before.journal_entries);
    assert_int_equal(after.transfers, before.transfers);
    assert_int_equal(support_balance(f->s, "alice"), alice);
    /* The id is free again: a valid transfer may take it. */
    assert_int_equal(pay_with(f, &f->dave, id, "dave", "erin", 1, NULL, NULL), TROC_RESULT_OK);
}

static void test_transfer_refusals(void **state) {
    fixture *f = *state;
    troc_keypair erin;
    troc_keypair_generate(&erin);
    assert_int_equal(support_member_add(f->s, "dave", &f->dave, 1000000, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "erin", &erin, 0, -1), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "carol", 200), TROC_RESULT_OK);
    char long_memo[TROC_MEMO_LENGTH_MAX + 2];
    memset(long_memo, 'm', sizeof long_memo - 1);
    long_memo[sizeof long_memo - 1] = '\0';
    troc_keypair stranger;
    troc_keypair_generate(&stranger);
    refused(f, TROC_RESULT_INVALID_NAME, &f->alice, "alice", "Bob", 100, NULL);
    refused(f, TROC_RESULT_INVALID_NAME, &f->alice, "al ice", "bob", 100, NULL);
    refused(f, TROC_RESULT_SAME_ACCOUNT, &f->alice, "alice", "alice", 100, NULL);
    refused(f, TROC_RESULT_AMOUNT_NOT_POSITIVE, &f->alice, "alice", "bob", 0, NULL);
    refused(f, TROC_RESULT_AMOUNT_NOT_POSITIVE, &f->alice, "alice", "bob", -5, NULL);
    refused(f, TROC_RESULT_AMOUNT_TOO_LARGE, &f->alice, "alice", "bob", TROC_AMOUNT_CENTS_MAX + 1, NULL);
    refused(f, TROC_RESULT_MEMO_TOO_LONG, &f->alice, "alice", "bob", 100, long_memo);
    refused(f, TROC_RESULT_INVALID_TEXT, &f->alice, "alice", "bob", 100, "bad\x01memo");
    refused(f, TROC_RESULT_INVALID_TEXT, &f->alice, "alice", "bob", 100, "\xc3\x28");
    refused(f, TROC_RESULT_UNKNOWN_KEY, &stranger, "alice", "bob", 100, NULL);
    refused(f, TROC_RESULT_UNKNOWN_PAYER, &f->alice, "zoe", "bob", 100, NULL);
    refused(f, TROC_RESULT_KEY_NOT_OWNED, &f->bob, "alice", "bob", 100, NULL);
    refused(f, TROC_RESULT_KEY_NOT_OWNED, &f->s->admin, "alice", "bob", 100, NULL);
    refused(f, TROC_RESULT_UNKNOWN_PAYEE, &f->alice, "alice", "zoe", 100, NULL);
    refused(f, TROC_RESULT_EXCEEDS_CREDIT_LIMIT, &f->alice, "alice", "carol", 10001, NULL);
    assert_int_equal(balance_max_set(f, "bob", 100), TROC_RESULT_OK); /* bob holds -200 */
    refused(f, TROC_RESULT_EXCEEDS_BALANCE_MAX, &f->alice, "alice", "bob", 301, NULL);
    assert_int_equal(pay_with(f, &f->alice, NULL, "alice", "bob", 300, NULL, NULL), TROC_RESULT_OK);
    assert_int_equal(support_freeze(f->s, "carol", true, "audit"), TROC_RESULT_OK);
    refused(f, TROC_RESULT_PAYEE_FROZEN, &f->alice, "alice", "carol", 100, NULL);
    assert_int_equal(support_freeze(f->s, "carol", false, "audit done"), TROC_RESULT_OK);
    assert_int_equal(support_freeze(f->s, "alice", true, "audit"), TROC_RESULT_OK);
    refused(f, TROC_RESULT_PAYER_FROZEN, &f->alice, "alice", "carol", 100, NULL);
    assert_int_equal(support_freeze(f->s, "alice", false, "audit done"), TROC_RESULT_OK);
    /* A bad signature, a missing field, an invoice that does not exist. */
    support_item item;
    support_transfer_item(f->s, &f->alice, NULL, "alice", "bob", 100, NULL, &item);
    item.item.signature_valid = false;
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_BAD_SIGNATURE);
    ((Troc__V1__Transfer *)item.decoded)->has_amount_cents = 0;
    item.item.signature_valid = true;
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_MALFORMED);
    ((Troc__V1__Transfer *)item.decoded)->has_amount_cents = 1;
    ((Troc__V1__Transfer *)item.decoded)->id.len = 15;
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_MALFORMED);
    support_item_free(&item);
    item.item.decoded.transfer = NULL;
    item.item.kind = TROC__V1__ENVELOPE_KIND__KIND_TRANSFER;
    troc_ledger_write *write = NULL;
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_MALFORMED); /* did not decode */
    item.item.kind = TROC__V1__ENVELOPE_KIND__KIND_UNSPECIFIED;
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_MALFORMED);
    troc_ledger_write_abort(write);
    uint8_t invoice[TROC_ID_SIZE] = {9};
    Troc__V1__Transfer t = TROC__V1__TRANSFER__INIT;
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    t.has_id = 1;
    t.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    t.payer = "alice";
    t.payee = "bob";
    t.has_amount_cents = 1;
    t.amount_cents = 100;
    t.has_invoice_id = 1;
    t.invoice_id = (ProtobufCBinaryData){TROC_ID_SIZE, invoice};
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, &t, &f->alice, NULL, &item);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_UNKNOWN_INVOICE);
    support_item_free(&item);
    assert_int_equal(support_stats(f->s).balance_sum_cents, 0);
}

/* Many members paying one: the payee's balance overflows int64. */
static void test_balance_overflow(void **state) {
    fixture *f = *state;
    enum { PAYERS = 9224 }; /* 9224 * 10^15 > INT64_MAX > 9223 * 10^15 */
    uint8_t sink_key[TROC_PUBLIC_KEY_SIZE];
    support_public_key(PAYERS, sink_key);
    support_item item;
    troc_ledger_write *write = NULL;
    troc_item_result result = {0};
    uint16_t codes[1];
    result.item_codes = codes;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    support_member_add_item(f->s, "sink", sink_key, 0, -1, &item);
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    support_item_free(&item);
    char name[32];
    for (int i = 0; i < PAYERS; i++) {
        uint8_t key[TROC_PUBLIC_KEY_SIZE];
        support_public_key((uint32_t)i, key);
        snprintf(name, sizeof name, "payer-%d", i);
        support_member_add_item(f->s, name, key, TROC_AMOUNT_CENTS_MAX, -1, &item);
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        assert_int_equal(result.code, TROC_RESULT_OK);
        support_item_free(&item);
        uint8_t id[TROC_ID_SIZE];
        support_id(f->s, id);
        Troc__V1__Transfer t = TROC__V1__TRANSFER__INIT;
        t.has_id = 1;
        t.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
        t.payer = name;
        t.payee = "sink";
        t.has_amount_cents = 1;
        t.amount_cents = TROC_AMOUNT_CENTS_MAX;
        support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, &t, NULL, key, &item);
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        assert_int_equal(result.code, i < PAYERS - 1 ? TROC_RESULT_OK : TROC_RESULT_BALANCE_OVERFLOW);
        support_item_free(&item);
    }
    assert_int_equal(troc_ledger_write_commit(write), 0);
    assert_int_equal(support_balance(f->s, "sink"), (int64_t)(PAYERS - 1) * TROC_AMOUNT_CENTS_MAX);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.balance_sum_cents, 0);
    assert_int_equal(stats.debt_cents, (int64_t)(PAYERS - 1) * TROC_AMOUNT_CENTS_MAX);
    assert_int_equal(stats.transfers, PAYERS - 1);
}

/* ------------------------------------------------------- idempotency */

static void test_idempotency(void **state) {
    fixture *f = *state;
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    troc_item_result first = {0}, again = {0};
    assert_int_equal(pay_with(f, &f->alice, id, "alice", "bob", 700, "x", &first), TROC_RESULT_OK);
    f->s->now_us += 5000000;
    /* Same id, same body: the original result, applied once. */
    assert_int_equal(pay_with(f, &f->alice, id, "alice", "bob", 700, "x", &again), TROC_RESULT_OK);
    assert_int_equal(again.journal_seq, first.journal_seq);
    assert_int_equal(again.timestamp_us, first.timestamp_us);
    assert_int_equal(support_balance(f->s, "alice"), -700);
    /* Same id, another body. */
    assert_int_equal(pay_with(f, &f->alice, id, "alice", "bob", 701, "x", &again), TROC_RESULT_ID_REUSED);
    assert_int_equal(pay_with(f, &f->alice, id, "alice", "bob", 700, "y", &again), TROC_RESULT_ID_REUSED);
    assert_int_equal(again.journal_seq, 0);
    assert_int_equal(support_balance(f->s, "alice"), -700);
    /* Even after the key is revoked, the stored answer stands. */
    troc_keypair second;
    troc_keypair_generate(&second);
    assert_int_equal(key_action(f, true, "alice", second.public_key), TROC_RESULT_OK);
    assert_int_equal(key_action(f, false, "alice", f->alice.public_key), TROC_RESULT_OK);
    assert_int_equal(pay_with(f, &f->alice, id, "alice", "bob", 700, "x", &again), TROC_RESULT_OK);
    assert_int_equal(again.journal_seq, first.journal_seq);
    /* Ids are unique across kinds: an admin action's id cannot pay. */
    uint8_t admin_id[TROC_ID_SIZE];
    memcpy(admin_id, id, TROC_ID_SIZE);
    Troc__V1__Freeze freeze = TROC__V1__FREEZE__INIT;
    freeze.name = "carol";
    freeze.reason = "r";
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, admin_id};
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_FREEZE;
    action.freeze = &freeze;
    support_item item;
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, &action, &f->s->admin, NULL, &item);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_ID_REUSED);
    support_item_free(&item);
    /* A refused transfer leaves its id free: once the state allows it, the
     * same item succeeds. */
    uint8_t later[TROC_ID_SIZE];
    support_id(f->s, later);
    assert_int_equal(pay_with(f, &f->carol, later, "carol", "bob", 300, NULL, NULL), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(support_pay(f->s, &second, "alice", "carol", 300), TROC_RESULT_OK);
    assert_int_equal(pay_with(f, &f->carol, later, "carol", "bob", 300, NULL, NULL), TROC_RESULT_OK);
    assert_sum_zero(f);
}

/* Two identical items in one transaction are applied once. */
static void test_idempotency_within_transaction(void **state) {
    fixture *f = *state;
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    support_item item;
    support_transfer_item(f->s, &f->alice, id, "alice", "bob", 400, NULL, &item);
    troc_ledger_write *write = NULL;
    troc_item_result a = {0}, b = {0};
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &item.item, &a), 0);
    assert_int_equal(troc_ledger_apply(write, &item.item, &b), 0);
    assert_int_equal(troc_ledger_write_commit(write), 0);
    support_item_free(&item);
    assert_int_equal(a.code, TROC_RESULT_OK);
    assert_int_equal(b.code, TROC_RESULT_OK);
    assert_int_equal(a.journal_seq, b.journal_seq);
    assert_int_equal(support_balance(f->s, "alice"), -400);
}

/* ------------------------------------------------------------ batches */

static void test_batch(void **state) {
    fixture *f = *state;
    const char *payees[] = {"bob", "carol", "zoe", "alice", "bob", "carol"};
    const int64_t amounts[] = {100, 200, 300, 400, 0, 20000};
    uint8_t ids[6][TROC_ID_SIZE], batch_id[TROC_ID_SIZE];
    for (int i = 0; i < 6; i++) support_id(f->s, ids[i]);
    support_id(f->s, batch_id);
    uint16_t codes[TROC_BATCH_ITEMS_MAX];
    troc_item_result result = {.item_codes = codes};
    support_item item;
    support_batch_item(f->s, &f->alice, batch_id, "alice", payees, amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])ids, 6, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK);
    assert_int_equal(result.item_count, 6);
    assert_int_equal(codes[0], TROC_RESULT_OK);
    assert_int_equal(codes[1], TROC_RESULT_OK);
    assert_int_equal(codes[2], TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(codes[3], TROC_RESULT_SAME_ACCOUNT);
    assert_int_equal(codes[4], TROC_RESULT_AMOUNT_NOT_POSITIVE);
    assert_int_equal(codes[5], TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    uint64_t seq = result.journal_seq;
    assert_int_equal(support_balance(f->s, "alice"), -300);
    assert_int_equal(support_stats(f->s).transfers, 2);
    /* The same batch again: the same answer, nothing applied twice. */
    memset(codes, 0xff, sizeof codes);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK);
    assert_int_equal(result.journal_seq, seq);
    assert_int_equal(result.item_count, 6);
    assert_int_equal(codes[2], TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(codes[5], TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(support_balance(f->s, "alice"), -300);
    /* An item resubmitted alone with the same meaning answers the same. */
    troc_item_result alone = {0};
    assert_int_equal(pay_with(f, &f->alice, ids[0], "alice", "bob", 100, NULL, &alone), TROC_RESULT_OK);
    assert_int_equal(alone.journal_seq, seq);
    /* A refused item's id is free. */
    assert_int_equal(pay_with(f, &f->alice, ids[5], "alice", "carol", 5, NULL, NULL), TROC_RESULT_OK);
    /* Signed by another member's key. */
    support_item_free(&item);
    uint8_t other_batch[TROC_ID_SIZE];
    support_id(f->s, other_batch);
    support_batch_item(f->s, &f->bob, other_batch, "alice", payees, amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])ids, 2, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_KEY_NOT_OWNED);
    assert_int_equal(result.item_count, 0);
    support_item_free(&item);
    assert_sum_zero(f);
}

static void test_batch_refusals(void **state) {
    fixture *f = *state;
    uint16_t codes[TROC_BATCH_ITEMS_MAX];
    troc_item_result result = {.item_codes = codes};
    troc_stats before = support_stats(f->s);
    /* Every item refused: nothing stored, the first item's code. */
    const char *payees[] = {"zoe", "bob"};
    const int64_t amounts[] = {100, -1};
    uint8_t ids[2][TROC_ID_SIZE], batch_id[TROC_ID_SIZE];
    support_id(f->s, ids[0]);
    support_id(f->s, ids[1]);
    support_id(f->s, batch_id);
    support_item item;
    support_batch_item(f->s, &f->alice, batch_id, "alice", payees, amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])ids, 2, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(result.journal_seq, 0);
    assert_int_equal(codes[1], TROC_RESULT_AMOUNT_NOT_POSITIVE);
    assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries);
    support_item_free(&item);
    /* An item may not take the batch's id. */
    memcpy(ids[1], batch_id, TROC_ID_SIZE);
    const int64_t fine[] = {100, 100};
    const char *good[] = {"bob", "carol"};
    support_batch_item(f->s, &f->alice, batch_id, "alice", good, fine,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])ids, 2, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK);
    assert_int_equal(codes[0], TROC_RESULT_OK);
    assert_int_equal(codes[1], TROC_RESULT_ID_REUSED);
    support_item_free(&item);
    /* An id twice in one batch: the second is refused. */
    support_id(f->s, ids[0]);
    memcpy(ids[1], ids[0], TROC_ID_SIZE);
    support_id(f->s, batch_id);
    support_batch_item(f->s, &f->alice, batch_id, "alice", good, fine,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])ids, 2, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK);
    assert_int_equal(codes[0], TROC_RESULT_OK);
    assert_int_equal(codes[1], TROC_RESULT_ID_REUSED);
    support_item_free(&item);
    /* Too many items; none; a bad signature; an unknown payer. */
    enum { TOO_MANY = TROC_BATCH_ITEMS_MAX + 1 };
    uint8_t(*many_ids)[TROC_ID_SIZE] = calloc(TOO_MANY, TROC_ID_SIZE);
    const char **many_payees = calloc(TOO_MANY, sizeof *many_payees);
    int64_t *many_amounts = calloc(TOO_MANY, sizeof *many_amounts);
    for (int i = 0; i < TOO_MANY; i++) {
        support_id(f->s, many_ids[i]);
        many_payees[i] = "bob";
        many_amounts[i] = 1;
    }
    support_id(f->s, batch_id);
    support_batch_item(f->s, &f->alice, batch_id, "alice", many_payees, many_amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])many_ids, TOO_MANY, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_BATCH_TOO_LARGE);
    support_item_free(&item);
    support_batch_item(f->s, &f->alice, batch_id, "alice", many_payees, many_amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])many_ids, 0, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_MALFORMED);
    support_item_free(&item);
    support_batch_item(f->s, &f->alice, batch_id, "alice", many_payees, many_amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])many_ids, 3, &item);
    item.item.signature_valid = false;
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_BAD_SIGNATURE);
    support_item_free(&item);
    support_batch_item(f->s, &f->alice, batch_id, "zoe", many_payees, many_amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])many_ids, 3, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_UNKNOWN_PAYER);
    support_item_free(&item);
    /* A full batch of the largest size is accepted. */
    for (int i = 0; i < TROC_BATCH_ITEMS_MAX; i++) many_payees[i] = "carol";
    support_batch_item(f->s, &f->bob, batch_id, "bob", many_payees, many_amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])many_ids, TROC_BATCH_ITEMS_MAX, &item);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK);
    assert_int_equal(result.item_count, TROC_BATCH_ITEMS_MAX);
    for (int i = 0; i < TROC_BATCH_ITEMS_MAX; i++) assert_int_equal(codes[i], TROC_RESULT_OK);
    assert_int_equal(support_balance(f->s, "carol"), TROC_BATCH_ITEMS_MAX);
    support_item_free(&item);
    free(many_ids);
    free(many_payees);
    free(many_amounts);
    support_item_free(&item);
}

/* --------------------------------------------------- limits and freeze */

static void test_limits(void **state) {
    fixture *f = *state;
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 8000), TROC_RESULT_OK);
    /* Lowering alice's limit below her debt is allowed and blocks debits. */
    assert_int_equal(support_limit_set(f->s, "alice", 5000, "late payments"), TROC_RESULT_OK);
    assert_int_equal(support_stats(f->s).accounts_over_limit, 1);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 1), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    /* Credits still reach her. */
    assert_int_equal(support_pay(f->s, &f->carol, "carol", "alice", 3500), TROC_RESULT_OK);
    assert_int_equal(support_stats(f->s).accounts_over_limit, 0);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 500), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 1), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(support_limit_set(f->s, "alice", 5000, "same"), TROC_RESULT_NOTHING_CHANGED);
    assert_int_equal(support_limit_set(f->s, "alice", 6000, ""), TROC_RESULT_REASON_REQUIRED);
    assert_int_equal(support_limit_set(f->s, "alice", 6000, NULL), TROC_RESULT_REASON_REQUIRED);
    assert_int_equal(support_limit_set(f->s, "alice", 6000, "\x7f\xff"), TROC_RESULT_INVALID_TEXT);
    char long_reason[TROC_REASON_LENGTH_MAX + 2];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    assert_int_equal(support_limit_set(f->s, "alice", 6000, long_reason), TROC_RESULT_REASON_TOO_LONG);
    long_reason[TROC_REASON_LENGTH_MAX] = '\0';
    assert_int_equal(support_limit_set(f->s, "alice", -1, "x"), TROC_RESULT_INVALID_LIMIT);
    assert_int_equal(support_limit_set(f->s, "nobody", 6000, "x"), TROC_RESULT_UNKNOWN_MEMBER);
    assert_int_equal(support_limit_set(f->s, "No Body", 6000, "x"), TROC_RESULT_INVALID_NAME);
    int64_t when = f->s->now_us;
    assert_int_equal(support_limit_set(f->s, "alice", 6000, long_reason), TROC_RESULT_OK);
    /* balance_max: lowering bob's maximum below his balance blocks credits. */
    Troc__V1__LimitSet set = TROC__V1__LIMIT_SET__INIT;
    set.name = "carol";
    set.has_balance_max_cents = 1;
    set.balance_max_cents = 1000;
    set.reason = "cap";
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_LIMIT_SET;
    action.limit_set = &set;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_OK); /* carol holds 5000 */
    assert_int_equal(support_stats(f->s).accounts_over_limit, 1);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "carol", 1), TROC_RESULT_EXCEEDS_BALANCE_MAX);
    set.has_balance_max_cents = 0;
    set.has_remove_balance_max = 1;
    set.remove_balance_max = 1;
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "carol", 1), TROC_RESULT_OK);
    set.has_balance_max_cents = 1; /* both: malformed */
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_MALFORMED);
    set.has_balance_max_cents = 0;
    set.remove_balance_max = 0; /* neither: malformed */
    assert_int_equal(admin_with(f, &f->s->admin, &action), TROC_RESULT_MALFORMED);
    /* The history: who, when, why, newest first. */
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_member_info *info = malloc(sizeof *info);
    assert_int_equal(troc_ledger_member_info(read, "alice", info), 0);
    assert_int_equal(info->limit_change_count, 3);
    assert_int_equal(info->limit_changes[0].credit_limit_cents, 6000);
    assert_int_equal(info->limit_changes[0].timestamp_us, when);
    assert_string_equal(info->limit_changes[0].reason, long_reason);
    assert_string_equal(info->limit_changes[1].reason, "late payments");
    assert_string_equal(info->limit_changes[2].reason, "admitted");
    assert_memory_equal(info->limit_changes[0].admin_key, f->s->admin.public_key, TROC_PUBLIC_KEY_SIZE);
    assert_int_equal(troc_ledger_member_info(read, "carol", info), 0);
    assert_false(info->account.has_balance_max);
    assert_true(info->limit_changes[1].has_balance_max);
    assert_int_equal(info->limit_changes[1].balance_max_cents, 1000);
    free(info);
    troc_ledger_read_end(read);
    assert_sum_zero(f);
}

static void test_freeze(void **state) {
    fixture *f = *state;
    assert_int_equal(support_freeze(f->s, "bob", false, "x"), TROC_RESULT_NOT_FROZEN);
    assert_int_equal(support_freeze(f->s, "bob", true, ""), TROC_RESULT_REASON_REQUIRED);
    assert_int_equal(support_freeze(f->s, "nobody", true, "x"), TROC_RESULT_UNKNOWN_MEMBER);
    assert_int_equal(support_freeze(f->s, "bob", true, "unpaid fees"), TROC_RESULT_OK);
    assert_int_equal(support_freeze(f->s, "bob", true, "again"), TROC_RESULT_ALREADY_FROZEN);
    assert_int_equal(support_stats(f->s).frozen, 1);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "alice", 1), TROC_RESULT_PAYER_FROZEN);
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 1), TROC_RESULT_PAYEE_FROZEN);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_member_info *info = malloc(sizeof *info);
    assert_int_equal(troc_ledger_member_info(read, "bob", info), 0);
    assert_true(info->account.frozen);
    assert_string_equal(info->freeze_reason, "unpaid fees");
    assert_memory_equal(info->frozen_by, f->s->admin.public_key, TROC_PUBLIC_KEY_SIZE);
    troc_ledger_read_end(read);
    assert_int_equal(support_freeze(f->s, "bob", false, "paid"), TROC_RESULT_OK);
    assert_int_equal(support_stats(f->s).frozen, 0);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "alice", 1), TROC_RESULT_OK);
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    assert_int_equal(troc_ledger_member_info(read, "bob", info), 0);
    assert_false(info->account.frozen);
    assert_string_equal(info->freeze_reason, "");
    free(info);
    troc_ledger_read_end(read);
}

/* --------------------------------------------------- reads and totals */

/* One page of the member list: its names, space-separated, into `names`;
 * returns the name it continues after. */
static const char *members_page(fixture *f, const char *after, unsigned only, size_t capacity, char *names,
                                size_t names_size) {
    static char next[TROC_NAME_LENGTH_MAX + 1];
    troc_account accounts[8];
    assert_true(capacity <= 8);
    size_t count = 99;
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    assert_int_equal(troc_ledger_members(read, after, only, accounts, capacity, &count, next), 0);
    troc_ledger_read_end(read);
    assert_true(count <= capacity);
    names[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        size_t used = strlen(names);
        snprintf(names + used, names_size - used, "%s%s", i > 0 ? " " : "", accounts[i].member);
    }
    return next;
}

static void test_member_list(void **state) {
    fixture *f = *state;
    char names[256];
    /* Every member, in name order, page by page. */
    assert_string_equal(members_page(f, "", 0, 2, names, sizeof names), "bob");
    assert_string_equal(names, "alice bob");
    assert_string_equal(members_page(f, "bob", 0, 2, names, sizeof names), "");
    assert_string_equal(names, "carol");
    assert_string_equal(members_page(f, "b", 0, 8, names, sizeof names), ""); /* after a name not held */
    assert_string_equal(names, "bob carol");
    assert_string_equal(members_page(f, "carol", 0, 8, names, sizeof names), "");
    assert_string_equal(names, "");
    /* The accounts outside their limits, and the frozen ones. */
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "carol", 8000), TROC_RESULT_OK);
    assert_int_equal(support_limit_set(f->s, "alice", 5000, "late payments"), TROC_RESULT_OK);
    assert_int_equal(balance_max_set(f, "carol", 1000), TROC_RESULT_OK);
    assert_int_equal(support_freeze(f->s, "bob", true, "fees"), TROC_RESULT_OK);
    assert_string_equal(members_page(f, "", TROC_MEMBERS_OVER_LIMIT, 8, names, sizeof names), "");
    assert_string_equal(names, "alice carol");
    /* A full page says more follow only when another kept one does. */
    assert_string_equal(members_page(f, "", TROC_MEMBERS_OVER_LIMIT, 1, names, sizeof names), "bob");
    assert_string_equal(names, "alice");
    assert_string_equal(members_page(f, "bob", TROC_MEMBERS_OVER_LIMIT, 1, names, sizeof names), "");
    assert_string_equal(names, "carol");
    assert_string_equal(members_page(f, "", TROC_MEMBERS_FROZEN, 1, names, sizeof names), "");
    assert_string_equal(names, "bob");
    assert_string_equal(members_page(f, "", TROC_MEMBERS_FROZEN, 8, names, sizeof names), "");
    assert_string_equal(names, "bob");
    assert_string_equal(members_page(f, "", TROC_MEMBERS_OVER_LIMIT | TROC_MEMBERS_FROZEN, 8, names, sizeof names),
                        "");
    assert_string_equal(names, "");
    troc_ledger_read *read = NULL;
    troc_account account;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    size_t count = 0;
    char next[TROC_NAME_LENGTH_MAX + 1];
    assert_int_equal(troc_ledger_members(read, "alice", 0, &account, 1, &count, next), 0);
    troc_ledger_read_end(read);
    assert_int_equal(count, 1); /* the account itself, as troc_ledger_account reads it */
    assert_string_equal(account.member, "bob");
    assert_true(account.frozen);
    assert_int_equal(account.balance_cents, support_balance(f->s, "bob"));

    /* A filtered page looks at TROC_MEMBERS_SCAN_MAX members at most and
     * says where to go on, though it found none. */
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    for (int i = 0; i < TROC_MEMBERS_SCAN_MAX + 5; i++) {
        char name[16];
        uint8_t key[TROC_PUBLIC_KEY_SIZE];
        support_public_key((uint32_t)i, key);
        snprintf(name, sizeof name, "m%05d", i);
        support_item item;
        support_member_add_item(f->s, name, key, 0, -1, &item);
        troc_item_result result = {0};
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        assert_int_equal(result.code, TROC_RESULT_OK);
        support_item_free(&item);
    }
    assert_int_equal(troc_ledger_write_commit(write), 0);
    char last[16];
    snprintf(last, sizeof last, "m%05d", TROC_MEMBERS_SCAN_MAX + 3);
    assert_int_equal(support_freeze(f->s, last, true, "x"), TROC_RESULT_OK);
    const char *next_after = members_page(f, "carol", TROC_MEMBERS_FROZEN, 8, names, sizeof names);
    char expected_next[16];
    snprintf(expected_next, sizeof expected_next, "m%05d", TROC_MEMBERS_SCAN_MAX - 1);
    assert_string_equal(next_after, expected_next);
    assert_string_equal(names, "");
    snprintf(expected_next, sizeof expected_next, "%s", next_after);
    assert_string_equal(members_page(f, expected_next, TROC_MEMBERS_FROZEN, 8, names, sizeof names), "");
    assert_string_equal(names, last);
}

static void test_statement_paging(void **state) {
    fixture *f = *state;
    for (int i = 1; i <= 25; i++) {
        const char *payee = i % 2 ? "bob" : "carol";
        assert_int_equal(support_pay(f->s, &f->alice, "alice", payee, i), TROC_RESULT_OK);
    }
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "alice", 50), TROC_RESULT_OK);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_statement_line *lines = calloc(10, sizeof *lines);
    size_t count = 0;
    uint64_t next = 0, before = 0;
    uint64_t expected_seq = 26;
    int64_t balance = support_balance(f->s, "alice");
    int pages = 0;
    do {
        assert_int_equal(troc_ledger_statement(read, "alice", before, lines, 10, &count, &next), 0);
        for (size_t i = 0; i < count; i++) {
            assert_int_equal(lines[i].seq, expected_seq);
            assert_int_equal(lines[i].balance_after_cents, balance);
            assert_int_equal(lines[i].kind, TROC_LINE_TRANSFER);
            balance -= lines[i].amount_cents;
            if (expected_seq == 26) {
                assert_string_equal(lines[i].counterparty, "bob");
                assert_int_equal(lines[i].amount_cents, 50);
            } else {
                assert_int_equal(lines[i].amount_cents, -(int64_t)expected_seq);
                assert_string_equal(lines[i].counterparty, expected_seq % 2 ? "bob" : "carol");
            }
            expected_seq--;
        }
        before = next;
        pages++;
    } while (next != 0);
    assert_int_equal(pages, 3);
    assert_int_equal(expected_seq, 0);
    assert_int_equal(balance, 0);
    assert_int_equal(troc_ledger_statement(read, "nobody", 0, lines, 10, &count, &next), TROC_ENOT_FOUND);
    /* A member without lines: an empty page. */
    troc_keypair dave = {0};
    support_public_key(0, dave.public_key);
    assert_int_equal(support_member_add(f->s, "dave", &dave, 0, -1), TROC_RESULT_OK);
    troc_ledger_read_end(read);
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    assert_int_equal(troc_ledger_statement(read, "dave", 0, lines, 10, &count, &next), 0);
    assert_int_equal(count, 0);
    assert_int_equal(next, 0);
    /* The memo travels with the line. */
    support_item item;
    support_transfer_item(f->s, &f->bob, NULL, "bob", "carol", 5, "invoice 42 \xc3\xa9t\xc3\xa9", &item);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK);
    support_item_free(&item);
    troc_ledger_read_end(read);
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    assert_int_equal(troc_ledger_statement(read, "carol", 0, lines, 1, &count, &next), 0);
    assert_int_equal(count, 1);
    assert_string_equal(lines[0].memo, "invoice 42 \xc3\xa9t\xc3\xa9");
    assert_int_equal(lines[0].amount_cents, 5);
    assert_int_not_equal(next, 0);
    free(lines);
    troc_ledger_read_end(read);
}

/* A long statement: pages start from checkpoints deep in the past. */
static void test_statement_deep(void **state) {
    fixture *f = *state;
    enum { LINES = 300 };
    assert_int_equal(support_limit_set(f->s, "alice", 1000000, "more room"), TROC_RESULT_OK);
    assert_int_equal(balance_max_set(f, "bob", 1000000), TROC_RESULT_OK);
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    for (int i = 1; i <= LINES; i++) {
        support_item item;
        bool in = i % 3 == 0;
        support_transfer_item(f->s, in ? &f->bob : &f->alice, NULL, in ? "bob" : "alice", in ? "alice" : "bob", i,
                              NULL, &item);
        troc_item_result result = {0};
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        assert_int_equal(result.code, TROC_RESULT_OK);
        support_item_free(&item);
    }
    assert_int_equal(troc_ledger_write_commit(write), 0);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    troc_statement_line *lines = calloc(TROC_PAGE_ROWS_MAX, sizeof *lines);
    size_t count = 0;
    uint64_t next = 0;
    /* Line n moved n cents: out when n is not a multiple of 3. */
    static const uint64_t starts[] = {0, 301, 300, 257, 256, 200, 193, 129, 128, 65, 64, 63, 2, 1};
    static const size_t sizes[] = {1, 7, 64, 65, 1000};
    for (size_t a = 0; a < sizeof starts / sizeof starts[0]; a++) {
        for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
            assert_int_equal(troc_ledger_statement(read, "alice", starts[a], lines, sizes[b], &count, &next), 0);
            uint64_t first = starts[a] == 0 || starts[a] > LINES ? LINES : starts[a] - 1;
            size_t expected = first < sizes[b] ? first : sizes[b];
            assert_int_equal(count, expected);
            for (size_t i = 0; i < count; i++) {
                uint64_t n = first - i;
                assert_int_equal(lines[i].seq, n);
                assert_int_equal(lines[i].amount_cents, n % 3 == 0 ? (int64_t)n : -(int64_t)n);
                assert_string_equal(lines[i].counterparty, "bob");
            }
            assert_int_equal(next, first > count ? first - count + 1 : 0);
        }
    }
    /* Walking every page of 7 visits every line once, balances chaining. */
    int64_t balance = support_balance(f->s, "alice");
    uint64_t before = 0, seen = 0;
    do {
        assert_int_equal(troc_ledger_statement(read, "alice", before, lines, 7, &count, &next), 0);
        for (size_t i = 0; i < count; i++) {
            assert_int_equal(lines[i].balance_after_cents, balance);
            balance -= lines[i].amount_cents;
            seen++;
        }
        before = next;
    } while (next != 0);
    assert_int_equal(seen, LINES);
    assert_int_equal(balance, 0);
    free(lines);
    troc_ledger_read_end(read);
}

static void test_stats_and_time(void **state) {
    fixture *f = *state;
    assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 3000), TROC_RESULT_OK);
    assert_int_equal(support_pay(f->s, &f->carol, "carol", "bob", 1), TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "carol", 4000), TROC_RESULT_OK);
    assert_int_equal(support_freeze(f->s, "carol", true, "x"), TROC_RESULT_OK);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(stats.members, 3);
    assert_int_equal(stats.transfers, 2);
    assert_int_equal(stats.balance_sum_cents, 0);
    assert_int_equal(stats.debt_cents, 3000 + 1000);
    assert_int_equal(stats.accounts_over_limit, 0);
    assert_int_equal(stats.frozen, 1);
    assert_int_equal(stats.journal_entries, 1 + 3 + 2 + 1);
    /* Time never goes back: an earlier clock gets the last commit's time. */
    int64_t last = stats.last_timestamp_us;
    f->s->now_us = last - 1000000;
    troc_item_result result = {0};
    assert_int_equal(pay_with(f, &f->alice, NULL, "alice", "bob", 1, NULL, &result), TROC_RESULT_OK);
    assert_int_equal(result.timestamp_us, last);
    /* A transaction that journals nothing does not commit. */
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, last + 5000000, &write), 0);
    assert_int_equal(troc_ledger_write_commit(write), 0);
    assert_int_equal(support_stats(f->s).last_timestamp_us, last);
}

/* ----------------------------------------------------- storage failures */

static void test_abort_leaves_nothing(void **state) {
    fixture *f = *state;
    troc_stats before = support_stats(f->s);
    support_item item;
    support_transfer_item(f->s, &f->alice, NULL, "alice", "bob", 100, NULL, &item);
    troc_ledger_write *write = NULL;
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    troc_ledger_write_abort(write);
    assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries);
    assert_int_equal(support_balance(f->s, "alice"), 0);
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK); /* the id was never taken */
    support_item_free(&item);
    assert_int_equal(support_balance(f->s, "alice"), -100);
}

static void test_injected_io_errors(void **state) {
    fixture *f = *state;
    troc_stats before = support_stats(f->s);
    support_item item;
    support_transfer_item(f->s, &f->alice, NULL, "alice", "bob", 100, NULL, &item);
    troc_item_result result = {0};
    /* A put fails in the middle of the transfer (its id, its posting, its
     * journal entry): the error comes back, the transaction fails whole. */
    for (int after = 0; after < 3; after++) {
        troc_ledger_write *write = NULL;
        assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
        put_failures_after = after;
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), -EIO);
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), -EIO); /* stays failed */
        assert_int_equal(troc_ledger_write_commit(write), -EIO);
        put_failures_after = -1;
        assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries);
        assert_int_equal(support_balance(f->s, "alice"), 0);
    }
    /* A put fails while the commit writes the accounts. */
    for (int after = 3; after < 5; after++) {
        troc_ledger_write *write = NULL;
        assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
        put_failures_after = after;
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        assert_int_equal(troc_ledger_write_commit(write), -EIO);
        assert_int_equal(put_failures_after, -1); /* it did fire */
        assert_int_equal(support_balance(f->s, "alice"), 0);
    }
    /* The commit itself fails: nothing remains. */
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    commit_failure_code = -ENOSPC;
    assert_int_equal(troc_ledger_write_commit(write), -ENOSPC);
    assert_int_equal(support_balance(f->s, "alice"), 0);
    assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries);
    /* LMDB reports a short write as EIO (positive, a system error).  On a
     * disk with room that is an I/O error; on a full one, the disk is full. */
    bool disk_full[] = {false, true};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
        assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
        commit_failure_code = EIO;
        statvfs_disk_full = disk_full[i];
        assert_int_equal(troc_ledger_write_commit(write), disk_full[i] ? -ENOSPC : -EIO);
        statvfs_disk_full = false;
        assert_int_equal(support_balance(f->s, "alice"), 0);
    }
    /* And then it works. */
    assert_int_equal(support_submit(f->s, &item, &result), TROC_RESULT_OK);
    support_item_free(&item);
    assert_int_equal(support_balance(f->s, "alice"), -100);
    assert_sum_zero(f);
}

/* Applies `items` in one transaction; commits it when `commit`, else aborts.
 * Every item must be accepted. */
static void apply_all(fixture *f, support_item *items, size_t count, bool commit) {
    troc_ledger_write *write = NULL;
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    for (size_t i = 0; i < count; i++) {
        troc_item_result result = {0};
        assert_int_equal(troc_ledger_apply(write, &items[i].item, &result), 0);
        assert_int_equal(result.code, TROC_RESULT_OK);
    }
    if (commit) assert_int_equal(troc_ledger_write_commit(write), 0);
    else troc_ledger_write_abort(write);
    f->s->now_us += 1000;
}

/* A member admitted by a transaction that does not commit is forgotten
 * (the writer's directory of members follows the transaction): payments
 * to it are refused, its name and id are free again, and what a commit
 * admits is found again after the ledger is reopened. */
static void test_aborted_admission_forgotten(void **state) {
    fixture *f = *state;
    support_item items[2];
    support_member_add_item(f->s, "dave", f->dave.public_key, 0, -1, &items[0]);
    support_transfer_item(f->s, &f->alice, NULL, "alice", "dave", 10, NULL, &items[1]);
    apply_all(f, items, 2, false); /* dave is found by the same transaction */
    assert_int_equal(pay_with(f, &f->alice, NULL, "alice", "dave", 10, NULL, NULL), TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(support_stats(f->s).members, 3);
    assert_int_equal(support_balance(f->s, "alice"), 0);
    /* The commit itself fails: the same. */
    troc_ledger_write *write = NULL;
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &items[0].item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    commit_failure_code = -ENOSPC;
    assert_int_equal(troc_ledger_write_commit(write), -ENOSPC);
    assert_int_equal(pay_with(f, &f->alice, NULL, "alice", "dave", 10, NULL, NULL), TROC_RESULT_UNKNOWN_PAYEE);
    /* Admitted for good, then found after reopening. */
    assert_int_equal(support_submit(f->s, &items[0], NULL), TROC_RESULT_OK);
    assert_int_equal(support_submit(f->s, &items[1], NULL), TROC_RESULT_OK);
    support_item_free(&items[0]);
    support_item_free(&items[1]);
    troc_ledger_close(f->s->ledger);
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), 0);
    assert_int_equal(pay_with(f, &f->dave, NULL, "dave", "alice", 4, NULL, NULL), TROC_RESULT_OK);
    assert_int_equal(pay_with(f, &f->alice, NULL, "alice", "nobody", 4, NULL, NULL), TROC_RESULT_UNKNOWN_PAYEE);
    assert_int_equal(support_balance(f->s, "dave"), 6);
    assert_int_equal(support_balance(f->s, "alice"), -6);
    assert_int_equal(support_stats(f->s).members, 4);
    assert_int_equal(support_stats(f->s).balance_sum_cents, 0);
}

/* Members m0 .. m(count-1) with keys support_public_key(id) and large
 * credit lines, admitted cheaply (signatures marked valid, as the server
 * does after verifying them). */
static void fake_key(uint32_t member, uint8_t key[TROC_PUBLIC_KEY_SIZE]) {
    support_public_key(member, key);
}

static void member_name(uint32_t member, char name[16]) {
    snprintf(name, 16, "m%06u", (unsigned)member);
}

static void many_members_add(fixture *f, uint32_t count) {
    enum { PER_COMMIT = 4096 };
    support_item *items = calloc(PER_COMMIT, sizeof *items);
    for (uint32_t first = 0; first < count; first += PER_COMMIT) {
        uint32_t n = count - first < PER_COMMIT ? count - first : PER_COMMIT;
        for (uint32_t i = 0; i < n; i++) {
            char name[16];
            uint8_t key[TROC_PUBLIC_KEY_SIZE], id[TROC_ID_SIZE];
            member_name(first + i, name);
            fake_key(first + i, key);
            support_id(f->s, id);
            Troc__V1__MemberAdd add = TROC__V1__MEMBER_ADD__INIT;
            add.name = name;
            add.has_public_key = 1;
            add.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, key};
            add.has_credit_limit_cents = 1;
            add.credit_limit_cents = 1000000;
            Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
            action.has_id = 1;
            action.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
            action.action_case = TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD;
            action.member_add = &add;
            support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_ADMIN, &action, NULL, f->s->admin.public_key, &items[i]);
        }
        apply_all(f, items, n, true);
        for (uint32_t i = 0; i < n; i++) support_item_free(&items[i]);
    }
    free(items);
}

/* A transfer from member `payer` to `payee` with a fake signature. */
static void fake_transfer(fixture *f, uint32_t payer, uint32_t payee, int64_t amount, support_item *out) {
    char payer_name[16], payee_name[16];
    uint8_t key[TROC_PUBLIC_KEY_SIZE], id[TROC_ID_SIZE];
    member_name(payer, payer_name);
    member_name(payee, payee_name);
    fake_key(payer, key);
    support_id(f->s, id);
    Troc__V1__Transfer t = TROC__V1__TRANSFER__INIT;
    t.has_id = 1;
    t.id = (ProtobufCBinaryData){TROC_ID_SIZE, id};
    t.payer = payer_name;
    t.payee = payee_name;
    t.has_amount_cents = 1;
    t.amount_cents = amount;
    support_sign(f->s, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER, &t, NULL, key, out);
}

/* One transaction touching more accounts than the write cache holds:
 * m0 pays m1 before and after the cache is written out and emptied in the
 * middle of the transaction.  Committed, both payments count; aborted,
 * neither does, and the next transaction starts from the committed
 * balances. */
static void test_write_cache_overflow(void **state) {
    fixture *f = *state;
    enum { MEMBERS = TROC_WRITE_ACCOUNTS_MAX + 4, TRANSFERS = MEMBERS / 2 + 1 };
    many_members_add(f, MEMBERS);
    support_item *items = calloc(TRANSFERS, sizeof *items);
    for (int round = 0; round < 2; round++) {
        bool commit = round == 0;
        fake_transfer(f, 0, 1, 10, &items[0]);
        for (uint32_t i = 1; i < TRANSFERS - 1; i++) fake_transfer(f, 2 * i, 2 * i + 1, 1, &items[i]);
        fake_transfer(f, 0, 1, 5, &items[TRANSFERS - 1]);
        apply_all(f, items, TRANSFERS, commit);
        for (uint32_t i = 0; i < TRANSFERS; i++) support_item_free(&items[i]);
        assert_int_equal(support_balance(f->s, "m000000"), -15);
        assert_int_equal(support_balance(f->s, "m000001"), 15);
        assert_int_equal(support_balance(f->s, "m000002"), -1);
        assert_int_equal(support_balance(f->s, "m000003"), 1);
        assert_int_equal(support_stats(f->s).balance_sum_cents, 0);
    }
    free(items);
    support_item item;
    fake_transfer(f, 0, 1, 1, &item);
    assert_int_equal(support_submit(f->s, &item, NULL), TROC_RESULT_OK);
    support_item_free(&item);
    assert_int_equal(support_balance(f->s, "m000000"), -16);
    assert_int_equal(support_stats(f->s).transfers, TRANSFERS + 1);
    assert_int_equal(support_stats(f->s).debt_cents, 16 + (TRANSFERS - 2));
}

/* A tiny map: the batch is refused with MDB_MAP_FULL, the ledger stays as
 * it was, and after growing the map the same batch applies. */
static void test_map_full_then_grow(void **state) {
    fixture *f = *state;
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    assert_int_equal(troc_ledger_open_sized(&f->s->ledger, f->s->directory, 64 * 1024, NULL), 0);
    troc_stats before = support_stats(f->s);
    enum { COUNT = 2000 };
    uint8_t(*ids)[TROC_ID_SIZE] = calloc(COUNT, TROC_ID_SIZE);
    const char **payees = calloc(COUNT, sizeof *payees);
    int64_t *amounts = calloc(COUNT, sizeof *amounts);
    for (int i = 0; i < COUNT; i++) {
        support_id(f->s, ids[i]);
        payees[i] = i % 2 ? "bob" : "carol";
        amounts[i] = 1;
    }
    uint8_t batch_id[TROC_ID_SIZE];
    support_id(f->s, batch_id);
    support_item item;
    support_batch_item(f->s, &f->alice, batch_id, "alice", payees, amounts,
                       NULL, (const uint8_t(*)[TROC_ID_SIZE])ids, COUNT, &item);
    uint16_t codes[TROC_BATCH_ITEMS_MAX];
    troc_item_result result = {.item_codes = codes};
    int rc = 0;
    int grown = 0;
    /* Bounded: the map doubles each time. */
    for (int attempt = 0; attempt < 12; attempt++) {
        troc_ledger_write *write = NULL;
        assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us, &write), 0);
        rc = troc_ledger_apply(write, &item.item, &result);
        if (rc == 0) rc = troc_ledger_write_commit(write);
        else troc_ledger_write_abort(write);
        if (rc == 0) break;
        assert_int_equal(rc, MDB_MAP_FULL);
        assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries);
        assert_int_equal(support_balance(f->s, "alice"), 0);
        size_t size = troc_ledger_map_size(f->s->ledger);
        assert_int_equal(troc_ledger_grow(f->s->ledger), 0);
        assert_true(troc_ledger_map_size(f->s->ledger) > size);
        grown++;
    }
    assert_int_equal(rc, 0);
    assert_true(grown > 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    assert_int_equal(support_balance(f->s, "alice"), -COUNT);
    assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries + 1);
    support_item_free(&item);
    free(ids);
    free(payees);
    free(amounts);
    assert_sum_zero(f);
}

/* LMDB writes its lock file through a shared map, which on a full disk
 * raises SIGBUS: the ledger allocates the file's blocks first, so that a
 * full disk (simulated here by posix_fallocate failing) is -ENOSPC, for
 * trocd run and for the scratch ledger of trocd verify alike. */
static void test_lock_file_on_a_full_disk(void **state) {
    fixture *f = *state;
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/lock.mdb", f->s->directory);
    assert_int_equal(unlink(path), 0);
    fallocate_failure_code = ENOSPC;
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), -ENOSPC);
    char scratch[PATH_MAX];
    snprintf(scratch, sizeof scratch, "%s/scratch", f->s->directory);
    assert_int_equal(mkdir(scratch, 0700), 0);
    troc_verify_report report = {0};
    assert_int_equal(unlink(path), 0);
    fallocate_failure_code = 0;
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), 0); /* a lock file for the source */
    troc_ledger_close(f->s->ledger);
    f->s->ledger = NULL;
    fallocate_failure_code = ENOSPC;
    assert_int_equal(troc_ledger_verify(f->s->directory, scratch, 1, &report, NULL, NULL), -ENOSPC);
    assert_non_null(strstr(report.difference, "no space left on the disk holding"));
    assert_non_null(strstr(report.difference, scratch));
    fallocate_failure_code = 0;
    char scratch_file[PATH_MAX + 16];
    snprintf(scratch_file, sizeof scratch_file, "%s/lock.mdb", scratch);
    unlink(scratch_file);
    rmdir(scratch);
    /* With room, the lock file has the size LMDB gives it, every block
     * allocated: LMDB kept the file it found. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(troc_ledger_open(&f->s->ledger, f->s->directory), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, TROC_LEDGER_LOCK_FILE_SIZE);
    assert_true((uint64_t)st.st_blocks * 512 >= TROC_LEDGER_LOCK_FILE_SIZE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_open_and_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_syncs_the_names_it_makes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_leaves_a_concurrent_init_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_add_and_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_refusals, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_keys_known_to_the_writer, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_and_balances, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_refusals, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_balance_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_within_transaction, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_batch_refusals, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_freeze, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_member_list, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_statement_paging, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_statement_deep, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_stats_and_time, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_injected_io_errors, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_then_grow, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_admission_forgotten, setup_members, teardown),
        cmocka_unit_test_setup_teardown(test_write_cache_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_file_on_a_full_disk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
