/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage faults at the daemon's level, against a real trocd process:
 *
 *   test_storage map       a ledger started with a 1 MiB LMDB map
 *                          (`trocd run --map-size 1M`): batches that do not
 *                          fit make the daemon grow its map and apply them;
 *                          nothing is refused, everything verifies.
 *   test_storage disk      a ledger on a small tmpfs mounted for the test:
 *                          once the disk is full the batch that does not
 *                          fit is refused (storage_full, with a detail),
 *                          reads and other connections are still served, a
 *                          backup onto the full disk fails leaving nothing,
 *                          and once room is made the same envelope is
 *                          accepted without a restart.  Needs root and
 *                          mount(2); otherwise it says SKIP and exits 77
 *                          (meson's "skipped").
 *   test_storage readers   a process that holds a read transaction on the
 *                          ledger is killed with kill -9: its reader slot
 *                          stays in the lock file until trocd starts, which
 *                          clears it (mdb_reader_list shows it gone, the
 *                          log says so).
 *
 * Each checks at the end that nothing acknowledged was lost (the ledger
 * counts exactly the transfers acknowledged, balances match them and sum
 * to zero) and that `trocd verify` says ok.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "daemon_support.h"

#define MEMBERS 3
#define CREDIT_LIMIT_CENTS 100000000000LL
#define BATCH_ITEMS 1000
#define MEMO_LENGTH 120
#define SKIP_STATUS 77                     /* meson: the test was skipped */

/* The tmpfs of the disk test: large enough that the map may grow at first
 * (growth needs TROC_LEDGER_DISK_FREE_MIN, 64 MiB, free). */
#define DISK_SIZE "80m"
#define DISK_LEFT_BYTES (256 * 1024)       /* room left by the filler */

/* What the members paid and were paid, as acknowledged. */
typedef struct ledger_tally {
    int64_t balance[MEMBERS];
    uint64_t transfers;
} ledger_tally;

static daemon_fixture fixture;
static char disk_path[280];                /* the tmpfs mount point, "" when none */

/* Signs a batch of BATCH_ITEMS payments of 1.23 from m0 to m1 and m2 in
 * turn, with long memos (so batches fill the map quickly). */
static troc_envelope *batch_sign(troc_client *client) {
    static troc_batch_item items[BATCH_ITEMS];
    static char memo[MEMO_LENGTH + 1];
    memset(memo, 'x', MEMO_LENGTH);
    for (size_t i = 0; i < BATCH_ITEMS; i++) {
        items[i] = (troc_batch_item){.payee = fixture.names[1 + i % 2], .amount_cents = 123, .memo = memo};
    }
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    assert_int_equal(troc_sign_batch(client, NULL, NULL, NULL, items, BATCH_ITEMS, envelope), 0);
    return envelope;
}

static void tally_batch(ledger_tally *tally) {
    tally->balance[0] -= 123 * BATCH_ITEMS;
    tally->balance[1] += 123 * (BATCH_ITEMS / 2);
    tally->balance[2] += 123 * (BATCH_ITEMS / 2);
    tally->transfers += BATCH_ITEMS;
}

/* Submits `envelope`; returns its result code (every item OK when OK). */
static int batch_submit(troc_client *client, const troc_envelope *envelope, troc_submit_result *result) {
    assert_int_equal(troc_client_submit(client, &envelope, 1, result, 0), 0);
    if (result->code == TROC_RESULT_OK) {
        assert_int_equal(result->item_count, BATCH_ITEMS);
        for (size_t i = 0; i < BATCH_ITEMS; i++) assert_int_equal(result->item_codes[i], TROC_RESULT_OK);
    }
    return result->code;
}

/* The daemon holds exactly what was acknowledged. */
static void check_tally(const ledger_tally *tally) {
    troc_client *admin = daemon_connect(&fixture, NULL);
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(admin, &stats), 0);
    assert_int_equal(stats.transfers, tally->transfers);
    for (size_t m = 0; m < MEMBERS; m++) {
        troc_balance balance;
        assert_int_equal(troc_client_balance(admin, fixture.names[m], &balance), 0);
        assert_int_equal(balance.balance_cents, tally->balance[m]);
    }
    assert_int_equal(daemon_balance_sum(admin, &fixture), 0);
    troc_client_free(admin);
}

/* ------------------------------------------------------------ map full */

/* `trocd run --map-size SIZE` refuses SIZE as bad usage (exit 2). */
static void expect_bad_map_size(const char *size) {
    char command[1024];
    snprintf(command, sizeof command, "'%s' run --data '%s' --map-size '%s' 2>/dev/null", getenv("TROCD"),
             fixture.ledger, size);
    int status = system(command);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
}

static void test_map_full_grows_and_applies(void **state) {
    (void)state;
    const char *bad[] = {"", "12Q", "1K", "0", "-5M", "1.5G", "5000G", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad_map_size(bad[i]);
    const char *small_map[] = {"--map-size", "1M", NULL};
    daemon_start(&fixture, small_map);
    daemon_admit(&fixture, CREDIT_LIMIT_CENTS);
    assert_int_equal(daemon_log_count(&fixture, "ledger map: 1048576 bytes"), 1);
    troc_client *payer = daemon_connect(&fixture, fixture.keys[0]);
    ledger_tally tally = {0};
    for (int i = 0; i < 12; i++) {
        troc_envelope *envelope = batch_sign(payer);
        troc_submit_result result;
        assert_int_equal(batch_submit(payer, envelope, &result), TROC_RESULT_OK);
        tally_batch(&tally);
        troc_envelope_free(envelope);
    }
    troc_client_free(payer);
    int growths = daemon_log_count(&fixture, "ledger map full: grew the map");
    print_message("the map grew %d times for %llu transfers\n", growths, (unsigned long long)tally.transfers);
    assert_true(growths >= 2);
    assert_int_equal(daemon_log_count(&fixture, "refused a batch"), 0);
    check_tally(&tally);
    assert_int_equal(daemon_stop(&fixture), 0);
    assert_int_equal(daemon_verify(fixture.ledger), 0);
    /* Asked for a 1 MiB map again, the daemon opens with one that holds the
     * data, and keeps going. */
    daemon_start(&fixture, small_map);
    check_tally(&tally);
    payer = daemon_connect(&fixture, fixture.keys[0]);
    troc_envelope *envelope = batch_sign(payer);
    troc_submit_result result;
    assert_int_equal(batch_submit(payer, envelope, &result), TROC_RESULT_OK);
    tally_batch(&tally);
    troc_envelope_free(envelope);
    troc_client_free(payer);
    check_tally(&tally);
    assert_int_equal(daemon_stop(&fixture), 0);
    assert_int_equal(daemon_verify(fixture.ledger), 0);
}

/* ----------------------------------------------------------- disk full */

/* Fills the tmpfs up to DISK_LEFT_BYTES free, with the file `path`. */
static void disk_fill(const char *path) {
    struct statvfs vfs;
    assert_int_equal(statvfs(disk_path, &vfs), 0);
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    assert_true(free_bytes > DISK_LEFT_BYTES);
    uint64_t fill = free_bytes - DISK_LEFT_BYTES;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char zeros[1 << 16];
    /* Bounded by `fill`: each pass writes a chunk or fails the test. */
    for (uint64_t written = 0; written < fill;) {
        size_t chunk = fill - written < sizeof zeros ? (size_t)(fill - written) : sizeof zeros;
        ssize_t done = write(fd, zeros, chunk);
        assert_true(done > 0);
        written += (uint64_t)done;
    }
    close(fd);
}

/* Submits batches until the daemon refuses one; returns that envelope
 * (its result in *result), having tallied the ones accepted before. */
static troc_envelope *submit_until_refused(troc_client *payer, ledger_tally *tally, troc_submit_result *result) {
    /* Bounded: DISK_LEFT_BYTES holds far fewer than 40 batches. */
    for (int i = 0; i < 40; i++) {
        troc_envelope *envelope = batch_sign(payer);
        if (batch_submit(payer, envelope, result) != TROC_RESULT_OK) return envelope;
        tally_batch(tally);
        troc_envelope_free(envelope);
    }
    fail_msg("the daemon accepted 40 batches on a full disk");
    return NULL;
}

/* While the disk is full: reads on this connection and on others, and a
 * backup that fails without leaving anything behind. */
static void check_serving_while_full(troc_client *payer) {
    troc_balance balance;
    assert_int_equal(troc_client_balance(payer, NULL, &balance), 0);
    troc_client *other = daemon_connect(&fixture, fixture.keys[1]);
    assert_int_equal(troc_client_balance(other, NULL, &balance), 0);
    troc_client_free(other);
    troc_client *admin = daemon_connect(&fixture, NULL);
    char destination[400];
    snprintf(destination, sizeof destination, "%s/backup", disk_path);
    troc_backup_info info;
    int rc = troc_client_backup(admin, destination, &info);
    print_message("backup onto the full disk: %s\n", troc_client_error_message(admin));
    assert_int_equal(rc, -ENOSPC);
    assert_true(troc_client_connected(admin));
    troc_client_free(admin);
    struct stat st;
    assert_int_equal(stat(destination, &st), -1);
    char command[512];
    snprintf(command, sizeof command, "ls -a '%s' | grep -q partial", disk_path);
    assert_int_not_equal(system(command), 0);  /* no temporary directory left either */
}

/* Fills the disk, submits batches until one is refused for storage with
 * a detail holding `expected`, checks the daemon keeps serving (and, when
 * `try_backup`, that a backup fails cleanly), makes room and submits the
 * refused envelope again: accepted, without a restart. */
static void disk_full_round(troc_client *payer, ledger_tally *tally, const char *expected, bool try_backup) {
    char filler[400];
    snprintf(filler, sizeof filler, "%s/filler", disk_path);
    disk_fill(filler);
    troc_submit_result result;
    troc_envelope *refused = submit_until_refused(payer, tally, &result);
    assert_int_equal(result.code, TROC_RESULT_STORAGE_FULL);
    assert_non_null(result.detail);
    print_message("refused on a full disk: %s\n", result.detail);
    assert_non_null(strstr(result.detail, expected));
    assert_int_equal(result.journal_seq, 0);
    if (try_backup) check_serving_while_full(payer);
    check_tally(tally);                    /* nothing of the refused batch was applied */
    assert_int_equal(unlink(filler), 0);   /* room is made: the same envelope goes through */
    assert_int_equal(batch_submit(payer, refused, &result), TROC_RESULT_OK);
    tally_batch(tally);
    troc_envelope_free(refused);
    check_tally(tally);
}

static void test_disk_full_refuses_then_recovers(void **state) {
    (void)state;
    const char *small_map[] = {"--map-size", "1M", NULL};
    daemon_start(&fixture, small_map);
    daemon_admit(&fixture, CREDIT_LIMIT_CENTS);
    troc_client *payer = daemon_connect(&fixture, fixture.keys[0]);
    ledger_tally tally = {0};
    for (int i = 0; i < 4; i++) {          /* the map grows while the disk has room */
        troc_envelope *envelope = batch_sign(payer);
        troc_submit_result result;
        assert_int_equal(batch_submit(payer, envelope, &result), TROC_RESULT_OK);
        tally_batch(&tally);
        troc_envelope_free(envelope);
    }
    assert_true(daemon_log_count(&fixture, "ledger map full: grew the map") >= 1);
    /* A small map on a full disk: the map cannot grow. */
    disk_full_round(payer, &tally, "the map cannot grow: the disk has less than 64 MiB free", true);
    troc_client_free(payer);
    assert_int_equal(daemon_stop(&fixture), 0);
    /* A map with room on a full disk: the data file cannot grow. */
    const char *large_map[] = {"--map-size", "64M", NULL};
    daemon_start(&fixture, large_map);
    payer = daemon_connect(&fixture, fixture.keys[0]);
    disk_full_round(payer, &tally, "No space left on device", false);
    troc_client_free(payer);
    assert_int_equal(daemon_log_count(&fixture, "refused a batch"), 2);
    assert_int_equal(daemon_stop(&fixture), 0);
    assert_int_equal(daemon_verify(fixture.ledger), 0);
    daemon_start(&fixture, NULL);          /* and all of it is still there after a restart */
    check_tally(&tally);
    assert_int_equal(daemon_stop(&fixture), 0);
}

/* Mounts a tmpfs for the ledger; false when this process may not. */
static bool disk_mount(void) {
    snprintf(disk_path, sizeof disk_path, "%s/disk", fixture.directory);
    assert_int_equal(mkdir(disk_path, 0700), 0);
    if (geteuid() != 0 || mount("tmpfs", disk_path, "tmpfs", MS_NOSUID | MS_NODEV, "size=" DISK_SIZE) != 0) {
        fprintf(stderr, "\n*** SKIP: the disk-full test needs root and mount(2) to put the ledger on a small tmpfs "
                        "(%s); it was NOT run ***\n\n", geteuid() != 0 ? "not root" : strerror(errno));
        disk_path[0] = '\0';
        return false;
    }
    snprintf(fixture.ledger, sizeof fixture.ledger, "%s/ledger", disk_path);
    return true;
}

/* ------------------------------------------------------ stale readers */

typedef struct reader_count {
    pid_t pid;
    int slots;
} reader_count;

static int reader_line(const char *message, void *context) {
    reader_count *count = context;
    int pid = 0;
    if (sscanf(message, "%d", &pid) == 1 && pid == count->pid) count->slots++;
    return 0;
}

/* Reader slots of process `pid` in the lock table of `env`. */
static int reader_slots(MDB_env *env, pid_t pid) {
    reader_count count = {.pid = pid};
    assert_true(mdb_reader_list(env, reader_line, &count) >= 0);
    return count.slots;
}

static MDB_env *environment_open(const char *directory) {
    MDB_env *env = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, directory, MDB_NOTLS | MDB_RDONLY, 0600), 0);
    return env;
}

/* A child that opens a read transaction on the ledger and waits to be
 * killed; returns once its transaction is open. */
static pid_t reader_start(const char *directory) {
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        MDB_env *env = NULL;
        MDB_txn *txn = NULL;
        if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
            mdb_env_open(env, directory, MDB_NOTLS | MDB_RDONLY, 0600) != 0 ||
            mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 || write(ready[1], "r", 1) != 1) {
            _exit(1);
        }
        for (;;) pause();
    }
    close(ready[1]);
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    return pid;
}

static void test_stale_reader_slots_cleared_at_start(void **state) {
    (void)state;
    /* This process keeps the environment open, so that the lock table is
     * not reset when the last user leaves: the slot of the killed reader
     * stays until someone checks for dead readers. */
    MDB_env *env = environment_open(fixture.ledger);
    pid_t reader = reader_start(fixture.ledger);
    assert_int_equal(reader_slots(env, reader), 1);
    assert_int_equal(kill(reader, SIGKILL), 0);
    assert_int_equal(waitpid(reader, NULL, 0), reader);
    assert_int_equal(reader_slots(env, reader), 1);  /* stale: its process is gone */
    daemon_start(&fixture, NULL);
    assert_int_equal(reader_slots(env, reader), 0);
    assert_int_equal(daemon_log_count(&fixture, "cleared 1 stale reader slot"), 1);
    daemon_admit(&fixture, CREDIT_LIMIT_CENTS);      /* and it serves */
    ledger_tally tally = {0};
    check_tally(&tally);
    assert_int_equal(daemon_stop(&fixture), 0);
    mdb_env_close(env);
    assert_int_equal(daemon_verify(fixture.ledger), 0);
}

/* ---------------------------------------------------------------- main */

static int teardown(void **state) {
    (void)state;
    if (fixture.pid > 0) daemon_kill(&fixture);
    if (disk_path[0] != '\0') umount2(disk_path, MNT_DETACH);
    daemon_destroy(&fixture);
    return 0;
}

int main(int argc, char **argv) {
    const char *which = argc == 2 ? argv[1] : "";
    if (getenv("TROCD") == NULL || troc_init() != 0) {
        fputs("test_storage: TROCD must name trocd\n", stderr);
        return 1;
    }
    daemon_create(&fixture, NULL, MEMBERS);
    struct CMUnitTest tests[1];
    if (strcmp(which, "map") == 0) {
        tests[0] = (struct CMUnitTest)cmocka_unit_test_teardown(test_map_full_grows_and_applies, teardown);
    } else if (strcmp(which, "disk") == 0) {
        tests[0] = (struct CMUnitTest)cmocka_unit_test_teardown(test_disk_full_refuses_then_recovers, teardown);
        if (!disk_mount()) {
            teardown(NULL);
            return SKIP_STATUS;
        }
    } else if (strcmp(which, "readers") == 0) {
        tests[0] = (struct CMUnitTest)cmocka_unit_test_teardown(test_stale_reader_slots_cleared_at_start, teardown);
    } else {
        fputs("usage: test_storage map|disk|readers\n", stderr);
        daemon_destroy(&fixture);
        return 2;
    }
    daemon_init(&fixture);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
