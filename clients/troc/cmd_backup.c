/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc admin backup DEST: asks the daemon for a hot, compacted copy of the
 * ledger in DEST, a directory on the daemon's machine that must not exist
 * or be empty (a link to an empty one is followed).  The daemon keeps serving while it copies; the command waits
 * for the copy (at most BACKUP_READ_TIMEOUT_MS) and prints where it is, how
 * many journal entries it holds and its size.
 *
 * DEST is checked here only for what cannot be right anywhere: it must be
 * an absolute path (a relative one would be relative to the daemon's
 * working directory, which the user does not see).  The daemon refuses the
 * rest with its reason: exit 1 (DEST not empty, a backup already running,
 * no such parent, disk full), 2 for bad usage, 3 when unreachable.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "base/limits.h"
#include "base/text.h"
#include "commands.h"
#include "session.h"

/* How long the command waits for the daemon to write the copy: a ledger of
 * many GiB copies in minutes. */
#define BACKUP_READ_TIMEOUT_MS (60 * 60 * 1000)

static void print_backup(const troc_cli *cli, const troc_backup_info *info) {
    if (cli->json) {
        /* Shaped as the other admin actions' JSON: result and action first,
         * so that a script tells success from a refusal ("result":
         * "not_empty") by the same field.  A backup is not a signed item:
         * it has no id or journal entry of its own. */
        troc_json json;
        troc_json_start(&json, stdout);
        troc_json_string(&json, "result", troc_result_name(TROC_RESULT_OK));
        troc_json_string(&json, "action", "backup");
        troc_json_string(&json, "path", info->path);
        troc_json_int(&json, "journal_entries", (int64_t)info->journal_entries);
        troc_json_int(&json, "bytes", (int64_t)info->bytes);
        troc_json_finish(&json);
        return;
    }
    printf("backup written to %s\n", info->path);
    printf("  journal entries  %llu\n", (unsigned long long)info->journal_entries);
    printf("  size             %.1f MiB (%llu bytes)\n", (double)info->bytes / (1024.0 * 1024.0),
           (unsigned long long)info->bytes);
    printf("  holds the territory's secret key (territory.key): keep it as private as the ledger\n");
    /* Quoted for a shell, so that the line can be pasted whatever the path
     * holds (a space, a quote, a $), in a buffer that holds the longest
     * path quoted: nothing to allocate, so no case where the path would be
     * shown unquoted (a command that runs on something else). */
    _Static_assert(sizeof info->path <= TROC_BACKUP_PATH_LENGTH_MAX + 1, "the quoted path fits");
    char quoted[TROC_SHELL_QUOTE_SIZE(TROC_BACKUP_PATH_LENGTH_MAX)];
    bool whole = troc_shell_quote_cut(info->path, quoted, sizeof quoted);
    assert(whole);
    (void)whole;
    printf("check it with: trocd verify --data %s\n", quoted);
}

int troc__cmd_admin_backup(const troc_cli *cli, int argc, char **argv) {
    troc_cli_args args;
    const char *usage = "troc admin backup " TROC_USAGE_BACKUP;
    int status = troc__cli_parse(argc, argv, usage, NULL, 0, 1, 1, &args);
    if (status != 0) return status;
    const char *destination = args.positional[0];
    if (destination[0] != '/') {
        return troc_cli_fail(TROC_EXIT_USAGE, "DEST must be an absolute path: it names a directory on the daemon's "
                                              "machine\nusage: %s", usage);
    }
    if (strlen(destination) > TROC_BACKUP_PATH_LENGTH_MAX) {
        return troc_cli_fail(TROC_EXIT_USAGE, "DEST is longer than %d bytes", TROC_BACKUP_PATH_LENGTH_MAX);
    }
    status = troc__cli_check_text("DEST", destination, TROC_BACKUP_PATH_LENGTH_MAX, true);
    if (status != 0) return status;
    troc_client *client = NULL;
    status = troc__cli_connect(cli, &client);
    if (status != 0) return status;
    troc_client_set_timeouts(client, 0, BACKUP_READ_TIMEOUT_MS);
    if (isatty(STDERR_FILENO)) fprintf(stderr, "troc: the daemon is writing the backup to %s...\n", destination);
    troc_backup_info info;
    int rc = troc_client_backup(client, destination, &info);
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else {
        print_backup(cli, &info);
    }
    troc_client_free(client);
    return status;
}
