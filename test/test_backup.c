/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the ledger's hot backup (engine/ledger/backup.c) and of the map
 * lock that keeps the map from being grown under a read.  Each test has a
 * ledger with two members and a few payments, and a fresh parent directory
 * for the copies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/result.h"
#include "ledger/ledger.h"
#include "ledger_support.h"

#define PAYMENTS 40

typedef struct fixture {
    support *s;
    troc_keypair alice, bob;
    char parent[256];                      /* where the copies go */
    char destination[320];                 /* PARENT/copy */
} fixture;

/* mkdtemp, wrapped at link time: fails with `mkdtemp_error` when set (the
 * tests run as root, for whom permissions are not enforced). */
static int mkdtemp_error;
char *__real_mkdtemp(char *template);
char *__wrap_mkdtemp(char *template);

char *__wrap_mkdtemp(char *template) {
    if (mkdtemp_error == 0) return __real_mkdtemp(template);
    errno = mkdtemp_error;
    return NULL;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s = support_create();
    troc_keypair_generate(&f->alice);
    troc_keypair_generate(&f->bob);
    assert_int_equal(support_member_add(f->s, "alice", &f->alice, 100000, -1), TROC_RESULT_OK);
    assert_int_equal(support_member_add(f->s, "bob", &f->bob, 100000, -1), TROC_RESULT_OK);
    for (int i = 0; i < PAYMENTS; i++) assert_int_equal(support_pay(f->s, &f->alice, "alice", "bob", 100 + i), 0);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->parent, sizeof f->parent, "%s/troc-backups-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->parent));
    snprintf(f->destination, sizeof f->destination, "%s/copy", f->parent);
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state) {
    fixture *f = *state;
    support_destroy(f->s);
    nftw(f->parent, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Entries of `directory` besides "." and "..". */
static int entries(const char *directory) {
    DIR *dir = opendir(directory);
    assert_non_null(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    }
    closedir(dir);
    return count;
}

static mode_t mode_of(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

static void test_backup_is_a_verifiable_copy_with_its_key(void **state) {
    fixture *f = *state;
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, NULL, &report), 0);
    troc_stats stats = support_stats(f->s);
    assert_int_equal(report.journal_entries, stats.journal_entries);
    char path[400];
    snprintf(path, sizeof path, "%s/data.mdb", f->destination);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, report.bytes);
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(mode_of(f->destination), 0700);
    snprintf(path, sizeof path, "%s/territory.key", f->destination);
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(entries(f->parent), 1); /* the copy alone: no temporary directory left */
    char scratch[] = "/tmp/troc-backup-verify-XXXXXX";
    assert_non_null(mkdtemp(scratch));
    troc_verify_report verified;
    assert_int_equal(troc_ledger_verify(f->destination, scratch, 0, &verified, NULL, NULL), 0);
    assert_int_equal(verified.entries, stats.journal_entries);
    assert_int_equal(verified.transfers, PAYMENTS);
    nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    troc_ledger *copy = NULL;                /* it opens with its key, as a daemon would */
    assert_int_equal(troc_ledger_open(&copy, f->destination), 0);
    troc_ledger_read *read = NULL;
    troc_account account;
    assert_int_equal(troc_ledger_read_begin(copy, &read), 0);
    assert_int_equal(troc_ledger_account(read, "bob", &account), 0);
    troc_ledger_read_end(read);
    assert_int_equal(account.balance_cents, support_balance(f->s, "bob"));
    troc_ledger_close(copy);
}

static void test_backup_into_an_empty_directory_and_trailing_slash(void **state) {
    fixture *f = *state;
    assert_int_equal(mkdir(f->destination, 0755), 0);
    char with_slash[340];
    snprintf(with_slash, sizeof with_slash, "%s//", f->destination);
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, with_slash, NULL, &report), 0);
    assert_int_equal(entries(f->destination), 2);
    assert_int_equal(entries(f->parent), 1);
}

/* Refused with `error` and a detail; the parent keeps `kept` entries. */
static void expect_refused(fixture *f, const char *destination, int error, int kept) {
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, destination, NULL, &report), error);
    assert_true(report.detail[0] != '\0');
    assert_int_equal(entries(f->parent), kept);
}

static void test_backup_refusals(void **state) {
    fixture *f = *state;
    expect_refused(f, "copy", TROC_EUSAGE, 0);
    expect_refused(f, "", TROC_EUSAGE, 0);
    expect_refused(f, "/", TROC_EUSAGE, 0);
    char path[TROC_BACKUP_PATH_LENGTH_MAX + 64];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    expect_refused(f, path, TROC_EUSAGE, 0);
    snprintf(path, sizeof path, "%s/missing/copy", f->parent);
    expect_refused(f, path, -ENOENT, 0);
    int fd = open(f->destination, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    expect_refused(f, f->destination, -EEXIST, 1);
    snprintf(path, sizeof path, "%s/copy/inside", f->parent);
    expect_refused(f, path, -ENOTDIR, 1);
    assert_int_equal(unlink(f->destination), 0);
    assert_int_equal(mkdir(f->destination, 0700), 0);
    snprintf(path, sizeof path, "%s/keep.txt", f->destination);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    expect_refused(f, f->destination, TROC_ENOT_EMPTY, 1);
    assert_int_equal(entries(f->destination), 1); /* untouched */
    /* An empty destination, in a parent the daemon may not write in: the
     * copy's sibling cannot be made, and the message says why it matters. */
    snprintf(path, sizeof path, "%s/keep.txt", f->destination);
    assert_int_equal(unlink(path), 0);
    mkdtemp_error = EACCES;
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, NULL, &report), -EACCES);
    mkdtemp_error = 0;
    assert_non_null(strstr(report.detail, ".partial-"));
    assert_non_null(strstr(report.detail, "renamed into place: the daemon needs write permission in "));
    assert_non_null(strstr(report.detail, f->parent));
    assert_int_equal(entries(f->destination), 0);
}

/* A link to an empty directory is that directory: the copy goes where it
 * leads and the link stays; a link that leads nowhere is refused as one. */
static void test_backup_through_a_link(void **state) {
    fixture *f = *state;
    char target[340];
    snprintf(target, sizeof target, "%s/nightly", f->parent);
    assert_int_equal(mkdir(target, 0755), 0);
    assert_int_equal(symlink("nightly", f->destination), 0); /* relative, as links often are */
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, NULL, &report), 0);
    struct stat st;
    assert_int_equal(lstat(f->destination, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(entries(target), 2); /* data.mdb and territory.key */
    assert_int_equal(entries(f->parent), 2); /* the link and its target: no temporary directory left */
    expect_refused(f, f->destination, TROC_ENOT_EMPTY, 2);
    assert_int_equal(unlink(f->destination), 0);
    assert_int_equal(symlink("nowhere", f->destination), 0);
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, NULL, &report), -ENOENT);
    assert_non_null(strstr(report.detail, "is a symbolic link that leads nowhere"));
    assert_int_equal(entries(f->parent), 2);
}

static void test_backup_cancelled_leaves_nothing(void **state) {
    fixture *f = *state;
    atomic_bool cancel;
    atomic_init(&cancel, true);
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, &cancel, &report), -ECANCELED);
    assert_non_null(strstr(report.detail, "cancelled"));
    assert_int_equal(entries(f->parent), 0);
    assert_int_equal(support_pay(f->s, &f->bob, "bob", "alice", 5), TROC_RESULT_OK); /* the ledger goes on */
    atomic_store(&cancel, false);
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, &cancel, &report), 0);
}

/* The copy is the state of the last commit: a write transaction open
 * meanwhile is not in it. */
static void test_backup_while_a_write_is_open(void **state) {
    fixture *f = *state;
    troc_stats before = support_stats(f->s);
    support_item item;
    uint8_t id[TROC_ID_SIZE];
    support_id(f->s, id);
    support_transfer_item(f->s, &f->alice, id, "alice", "bob", 777, NULL, &item);
    troc_ledger_write *write = NULL;
    troc_item_result result = {0};
    assert_int_equal(troc_ledger_write_begin(f->s->ledger, f->s->now_us++, &write), 0);
    assert_int_equal(troc_ledger_apply(write, &item.item, &result), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    troc_backup_report report;
    assert_int_equal(troc_ledger_backup(f->s->ledger, f->destination, NULL, &report), 0);
    assert_int_equal(troc_ledger_write_commit(write), 0);
    support_item_free(&item);
    assert_int_equal(report.journal_entries, before.journal_entries);
    assert_int_equal(support_stats(f->s).journal_entries, before.journal_entries + 1);
}

/* ------------------------------------------------------------ map lock */

typedef struct grow_call {
    troc_ledger *ledger;
    int rc;
} grow_call;

static void *grow_thread(void *argument) {
    grow_call *call = argument;
    call->rc = troc_ledger_grow(call->ledger);
    return NULL;
}

/* The map is never grown (remapped) while a read is open: growth waits,
 * and gives up with TROC_EBUSY; once the read ends it grows. */
static void test_grow_waits_for_reads(void **state) {
    fixture *f = *state;
    size_t size = troc_ledger_map_size(f->s->ledger);
    troc_ledger_read *read = NULL;
    assert_int_equal(troc_ledger_read_begin(f->s->ledger, &read), 0);
    grow_call call = {.ledger = f->s->ledger};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, grow_thread, &call), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(call.rc, TROC_EBUSY);
    assert_int_equal(troc_ledger_map_size(f->s->ledger), size);
    troc_account account;
    assert_int_equal(troc_ledger_account(read, "bob", &account), 0); /* the read still reads */
    troc_ledger_read_end(read);
    assert_int_equal(troc_ledger_grow(f->s->ledger), 0);
    assert_true(troc_ledger_map_size(f->s->ledger) > size);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_is_a_verifiable_copy_with_its_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_into_an_empty_directory_and_trailing_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_through_a_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_cancelled_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_while_a_write_is_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_waits_for_reads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
