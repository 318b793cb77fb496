/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hot backups of a real trocd under load, and the restore procedure of
 * docs/operations.md, through libtroc:
 *
 *   1. while members pay each other at full speed, an admin asks for a
 *      backup, then `trocd verify` checks the copy (the load still
 *      running); a member may not ask for one;
 *   2. the load stops; every acknowledged transfer journaled up to the
 *      copy's last entry is in the copy, none after;
 *   3. restore: stop the daemon, move the ledger aside, copy the backup in
 *      its place, verify, start; the daemon serves the backup's state;
 *   4. the members resubmit what they did: transfers the backup holds are
 *      answered with their original journal entry, the others applied
 *      now, once; the ledger ends as it was before the restore.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_support.h"

enum { MEMBERS = 4, RESUBMIT_CHUNK = 128 };

#define CREDIT_LIMIT_CENTS 100000000000LL

static daemon_fixture fixture;

/* Asks for a backup into DIRECTORY/NAME; returns what the daemon said. */
static troc_backup_info backup_to(troc_client *admin, const char *name, char *path, size_t path_size) {
    snprintf(path, path_size, "%s/%s", fixture.directory, name);
    troc_backup_info info;
    int rc = troc_client_backup(admin, path, &info);
    if (rc != 0) print_message("backup: %s\n", troc_client_error_message(admin));
    assert_int_equal(rc, 0);
    assert_string_equal(info.path, path);
    assert_true(info.bytes > 0);
    return info;
}

/* Balances of every member, through an admin session. */
static void balances_read(int64_t balances[MEMBERS]) {
    troc_client *admin = daemon_connect(&fixture, NULL);
    for (size_t m = 0; m < MEMBERS; m++) {
        troc_balance balance;
        assert_int_equal(troc_client_balance(admin, fixture.names[m], &balance), 0);
        balances[m] = balance.balance_cents;
    }
    assert_int_equal(daemon_balance_sum(admin, &fixture), 0);
    troc_client_free(admin);
}

/* The restore of docs/operations.md: stop, move aside, copy, verify, start. */
static void restore(const char *backup) {
    assert_int_equal(daemon_stop(&fixture), 0);
    assert_int_equal(daemon_verify(backup), 0);
    char command[4096];
    snprintf(command, sizeof command,
             "mv '%s' '%s.replaced' && mkdir -m 700 '%s' && cp -a '%s/.' '%s/' && chmod 700 '%s' && test ! -L '%s'",
             fixture.ledger, fixture.ledger, fixture.ledger, backup, fixture.ledger, fixture.ledger, fixture.ledger);
    assert_int_equal(system(command), 0);
    assert_int_equal(daemon_verify(fixture.ledger), 0);
    daemon_start(&fixture, NULL);
}

/* Each member submits again the transfers it made, RESUBMIT_CHUNK at a
 * time; checks each answer against the backup's last entry. */
static void resubmit(const daemon_transfer *transfers, size_t count, uint64_t backup_entries, size_t *kept_out) {
    size_t kept = 0;
    troc_envelope *envelopes[RESUBMIT_CHUNK];
    troc_submit_result results[RESUBMIT_CHUNK];
    for (size_t i = 0; i < RESUBMIT_CHUNK; i++) assert_int_equal(troc_envelope_create(&envelopes[i]), 0);
    for (size_t m = 0; m < MEMBERS; m++) {
        troc_client *client = daemon_connect(&fixture, fixture.keys[m]);
        const daemon_transfer *mine[RESUBMIT_CHUNK];
        size_t n = 0;
        for (size_t i = 0; i <= count; i++) {
            if (i < count && transfers[i].payer == m) {
                const daemon_transfer *t = &transfers[i];
                troc_transfer transfer = {.id = t->id, .payee = fixture.names[t->payee], .amount_cents = t->amount_cents};
                assert_int_equal(troc_sign_transfer(client, NULL, &transfer, envelopes[n]), 0);
                mine[n++] = t;
            }
            if (n == 0 || (n < RESUBMIT_CHUNK && i < count)) continue;
            assert_int_equal(troc_client_submit(client, (const troc_envelope *const *)envelopes, n, results, 0), 0);
            for (size_t r = 0; r < n; r++) {
                assert_int_equal(results[r].code, TROC_RESULT_OK);
                bool in_backup = mine[r]->journal_seq <= backup_entries;
                if (in_backup) assert_int_equal(results[r].journal_seq, mine[r]->journal_seq);
                else assert_true(results[r].journal_seq > backup_entries);
                kept += in_backup;
            }
            n = 0;
        }
        troc_client_free(client);
    }
    for (size_t i = 0; i < RESUBMIT_CHUNK; i++) troc_envelope_free(envelopes[i]);
    *kept_out = kept;
}

static void test_backup_under_load_then_restore(void **state) {
    (void)state;
    daemon_start(&fixture, NULL);
    daemon_admit(&fixture, CREDIT_LIMIT_CENTS);
    daemon_load *load = daemon_load_start(&fixture, MEMBERS, 42, 1000000);
    daemon_sleep_ms(200);
    troc_client *admin = daemon_connect(&fixture, NULL);
    char first[400], second[400];
    troc_backup_info info = backup_to(admin, "backup-1", first, sizeof first);
    assert_int_equal(daemon_verify(first), 0);  /* checked while the load goes on */
    troc_backup_info later = backup_to(admin, "backup-2", second, sizeof second);
    assert_true(later.journal_entries >= info.journal_entries);
    /* Asked again with its own answer's path (the same buffer): the daemon
     * is given that destination, and refuses it as taken. */
    assert_int_equal(troc_client_backup(admin, later.path, &later), TROC_ENOT_EMPTY);
    troc_client_free(admin);
    troc_client *member = daemon_connect(&fixture, fixture.keys[0]);
    troc_backup_info refused;
    assert_int_equal(troc_client_backup(member, "/tmp/never", &refused), TROC_EDENIED);
    assert_true(troc_client_connected(member));
    troc_client_free(member);
    daemon_load_stop(load);
    assert_int_equal(daemon_load_refused(load), 0);
    size_t count = 0;
    const daemon_transfer *acknowledged = daemon_load_acknowledged(load, &count);
    print_message("backup of %" PRIu64 " entries (%" PRIu64 " bytes) taken among %zu acknowledged transfers\n",
                  info.journal_entries, info.bytes, count);
    int64_t before[MEMBERS];
    balances_read(before);
    restore(first);
    troc_client *restored = daemon_connect(&fixture, NULL);
    troc_territory_stats stats;
    assert_int_equal(troc_client_stats(restored, &stats), 0);
    assert_int_equal(stats.journal_entries, info.journal_entries);
    size_t id_count = 0, in_copy = 0;
    uint8_t(*ids)[TROC_ID_SIZE] = daemon_statement_ids(restored, &fixture, &id_count);
    for (size_t i = 0; i < count; i++) {
        bool held = daemon_ids_hold(ids, id_count, acknowledged[i].id);
        assert_int_equal(held, acknowledged[i].journal_seq <= info.journal_entries);
        in_copy += held;
    }
    free(ids);
    troc_client_free(restored);
    size_t kept = 0;
    resubmit(acknowledged, count, info.journal_entries, &kept);
    assert_int_equal(kept, in_copy);
    int64_t after[MEMBERS];
    balances_read(after);
    assert_memory_equal(after, before, sizeof before);
    admin = daemon_connect(&fixture, NULL);
    assert_int_equal(troc_client_stats(admin, &stats), 0);
    assert_int_equal(stats.transfers, count);
    troc_client_free(admin);
    assert_int_equal(daemon_stop(&fixture), 0);
    assert_int_equal(daemon_verify(fixture.ledger), 0);
    daemon_load_free(load);
}

/* A ledger damaged below its journal (a page of LMDB's trees zeroed: a bad
 * sector, a hand edit) makes trocd verify say so and exit 1, whatever
 * LMDB does on reading it (it keeps no checksums, and asserted or faulted
 * on such pages): never a process killed by a signal, nothing said, and
 * no scratch files left (daemon_verify checks that). */
static void test_damaged_pages_never_crash_verify(void **state) {
    (void)state;
    daemon_start(&fixture, NULL);
    daemon_admit(&fixture, CREDIT_LIMIT_CENTS);
    daemon_load *load = daemon_load_start(&fixture, MEMBERS, 7, 20000);
    daemon_sleep_ms(1500);
    daemon_load_stop(load);
    daemon_load_free(load);
    assert_int_equal(daemon_stop(&fixture), 0);
    char copy[600], command[4096];
    snprintf(copy, sizeof copy, "%s.damaged", fixture.ledger);
    static const long pages[] = {2, 3, 4, 5, 8, 13, 21, 34, 55, 89};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        snprintf(command, sizeof command, "rm -rf '%s' && mkdir -m 700 '%s' && cp '%s/data.mdb' '%s/territory.key' '%s/'",
                 copy, copy, fixture.ledger, fixture.ledger, copy);
        assert_int_equal(system(command), 0);
        snprintf(command, sizeof command, "%s/data.mdb", copy);
        FILE *file = fopen(command, "r+b");
        assert_non_null(file);
        static const char zeros[4096];
        assert_int_equal(fseek(file, pages[i] * 4096, SEEK_SET), 0);
        assert_int_equal(fwrite(zeros, 1, sizeof zeros, file), sizeof zeros);
        assert_int_equal(fclose(file), 0);
        int status = daemon_verify(copy);
        if (status != 0 && status != 1) fail_msg("page %ld zeroed: trocd verify ended with status %d", pages[i], status);
    }
    snprintf(command, sizeof command, "rm -rf '%s'", copy);
    assert_int_equal(system(command), 0);
}

static int setup(void **state) {
    (void)state;
    if (getenv("TROCD") == NULL) {
        print_message("TROCD is not set: these tests need the path of trocd\n");
        return -1;
    }
    assert_int_equal(troc_init(), 0);
    daemon_create(&fixture, NULL, MEMBERS);
    daemon_init(&fixture);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    daemon_destroy(&fixture);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_under_load_then_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_pages_never_crash_verify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
