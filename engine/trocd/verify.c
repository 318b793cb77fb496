/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trocd verify: checks a ledger (daemon stopped, or a copy made with
 * mdb_copy) against its journal: hash chain, every signature, and a replay
 * into a scratch ledger compared with the stored state.
 *
 *   trocd verify --data DIR [--threads N] [--json]
 *
 * The check runs in a child process, so that a ledger damaged where LMDB
 * asserts or faults still gets a verdict (verify_isolated).
 *
 * The scratch ledger lives in a fresh directory under $TMPDIR (or /tmp) and
 * is removed afterwards, whatever happens: also when verify is interrupted
 * (SIGINT, SIGTERM, SIGHUP), by a handler that removes its files and the
 * directory, then lets the signal take its default course.  Progress goes
 * to stderr when it is a terminal.  Exit status 0 when all agrees, 1 on the
 * first difference (printed) or when the ledger cannot be read, 2 on bad
 * usage.
 *
 * The territory's key file is read as trocd run reads it; what run would
 * refuse (missing, readable by others, another territory's) is a warning,
 * not a difference: the data's verdict stands, and a copy made with
 * mdb_copy has no key file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "cli.h"
#include "ledger/ledger.h"
#include "trocd.h"

static const char usage_text[] =
    "usage: trocd verify --data DIR [--threads N] [--json]\n"
    "\n"
    "Checks the ledger in DIR (stop the daemon first, or verify a copy made with\n"
    "mdb_copy): the journal's hash chain, every stored signature, then replays the\n"
    "journal into a scratch ledger and compares it with the stored state.\n"
    "Prints 'ok' with counts, or the first difference (exit status 1).\n"
    "\n"
    "  --data DIR    the data directory\n"
    "  --threads N   check signatures on N threads, 1 to 64 (default: one per\n"
    "                processor); the answer is the same whatever N\n"
    "  --json        print one JSON object on stdout\n";

static void progress_show(void *context, const char *stage, uint64_t done, uint64_t total) {
    (void)context;
    fprintf(stderr, "\rtrocd verify: %s %llu/%llu   ", stage, (unsigned long long)done, (unsigned long long)total);
}

/* The files a scratch ledger holds. */
static const char *const scratch_files[] = {"data.mdb", "lock.mdb"};
#define SCRATCH_FILE_COUNT (sizeof scratch_files / sizeof scratch_files[0])

/* Removes the scratch ledger's files and directory. */
static void scratch_remove(const char *directory) {
    char path[4096 + 16];
    for (size_t i = 0; i < SCRATCH_FILE_COUNT; i++) {
        snprintf(path, sizeof path, "%s/%s", directory, scratch_files[i]);
        unlink(path);
    }
    rmdir(directory);
}

/* The scratch ledger's paths, made before the handler is installed so that
 * it only calls kill(2), unlink(2), rmdir(2) and raise(3), which are
 * async-signal-safe. */
static char interrupted_files[SCRATCH_FILE_COUNT][4096 + 16];
static char interrupted_directory[4096];
/* The verifying child, in the parent once forked (verify_isolated()). */
static volatile pid_t interrupted_child;

/* Passes the signal on to the verifying child (a signal sent to this
 * process alone, by kill(1) or a supervisor, would leave it verifying, or
 * waiting, on its own), removes the scratch ledger, then lets the signal
 * do what it does by default (the handler was installed with
 * SA_RESETHAND; the child inherited it and does the same). */
static void scratch_remove_on_signal(int signal_number) {
    if (interrupted_child > 0) kill(interrupted_child, signal_number);
    for (size_t i = 0; i < SCRATCH_FILE_COUNT; i++) unlink(interrupted_files[i]);
    rmdir(interrupted_directory);
    raise(signal_number);
}

/* Removes the scratch ledger in `directory` if verify is interrupted.  A
 * signal ignored (verify run under nohup) stays ignored. */
static void scratch_remove_on_signals(const char *directory) {
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    snprintf(interrupted_directory, sizeof interrupted_directory, "%s", directory);
    for (size_t i = 0; i < SCRATCH_FILE_COUNT; i++) {
        snprintf(interrupted_files[i], sizeof interrupted_files[i], "%s/%s", directory, scratch_files[i]);
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = scratch_remove_on_signal;
    action.sa_flags = SA_RESETHAND;
    sigfillset(&action.sa_mask); /* one removal at a time */
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction before;
        if (sigaction(signals[i], NULL, &before) == 0 && before.sa_handler != SIG_IGN) {
            sigaction(signals[i], &action, NULL);
        }
    }
}

/* Prints the verdict, or why there is none (no ledger, no scratch
 * directory: report->difference says which), in one form: with --json,
 * always one object on stdout, so that a script reading it never finds
 * nothing. */
static int report_print(bool json, const char *data, int rc, const troc_verify_report *report) {
    char key_problem[2048] = "";
    if (report->key_file_checked && report->key_file_rc != 0) {
        troc__trocd_key_file_describe(data, report->key_file_rc, key_problem, sizeof key_problem);
    }
    if (json) {
        troc_json out;
        troc_json_start(&out, stdout);
        troc_json_bool(&out, "ok", rc == 0);
        troc_json_int(&out, "entries", (int64_t)report->entries);
        troc_json_int(&out, "members", (int64_t)report->members);
        troc_json_int(&out, "transfers", (int64_t)report->transfers);
        if (rc != 0) {
            troc_json_string(&out, "error", troc_err_name(rc));
            if (report->bad_seq != 0) troc_json_int(&out, "entry", (int64_t)report->bad_seq);
            troc_json_string(&out, "difference", report->difference[0] ? report->difference : troc_strerror(rc));
        }
        if (report->key_file_checked) troc_json_bool(&out, "key_file_ok", key_problem[0] == '\0');
        if (key_problem[0] != '\0') troc_json_string(&out, "key_file_problem", key_problem);
        troc_json_finish(&out);
        return rc == 0 ? TROCD_EXIT_OK : TROCD_EXIT_FAILURE;
    } else if (rc == 0) {
        printf("ok entries=%llu members=%llu transfers=%llu\n", (unsigned long long)report->entries,
               (unsigned long long)report->members, (unsigned long long)report->transfers);
    } else {
        fprintf(stderr, "trocd verify: %s\n", report->difference[0] ? report->difference : troc_strerror(rc));
    }
    /* Not a difference in the ledger (a copy made with mdb_copy has no key
     * file), but what trocd run would refuse, said before anyone tries. */
    if (key_problem[0] != '\0') {
        fprintf(stderr, "trocd verify: warning: trocd run cannot serve this ledger yet: %s\n", key_problem);
    }
    return rc == 0 ? TROCD_EXIT_OK : TROCD_EXIT_FAILURE;
}

/* "1" to "64" into a thread count; false for anything else. */
static bool threads_parse(const char *text, unsigned *threads) {
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || digits > 2 || text[digits] != '\0') return false;
    unsigned long value = strtoul(text, NULL, 10);
    if (value < 1 || value > TROC_VERIFY_THREADS_MAX) return false;
    *threads = (unsigned)value;
    return true;
}

/* Parses the options, as trocd run does: one given twice is refused (which
 * of two --data was verified should not be a guess), and one without its
 * value is named. */
static int args_parse(int argc, char **argv, const char **data, unsigned *threads, bool *json) {
    const char *threads_text = NULL;
    for (int i = 1; i < argc; i++) {
        const char **target = NULL;
        if (strcmp(argv[i], "--data") == 0) target = data;
        else if (strcmp(argv[i], "--threads") == 0) target = &threads_text;
        else if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, "trocd verify: unexpected argument '%s' (see 'trocd verify --help')\n", argv[i]);
            return TROCD_EXIT_USAGE;
        }
        if (target == NULL ? *json : *target != NULL) {
            fprintf(stderr, "trocd verify: %s is given twice (see 'trocd verify --help')\n", argv[i]);
            return TROCD_EXIT_USAGE;
        }
        if (target == NULL) {
            *json = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "trocd verify: %s needs a value (see 'trocd verify --help')\n", argv[i]);
            return TROCD_EXIT_USAGE;
        }
        *target = argv[++i];
    }
    if (threads_text != NULL && !threads_parse(threads_text, threads)) {
        fprintf(stderr, "trocd verify: --threads '%s' is not a whole number from 1 to %u\n", threads_text,
                TROC_VERIFY_THREADS_MAX);
        return TROCD_EXIT_USAGE;
    }
    if (*data == NULL) {
        fputs("trocd verify: --data DIR is required (see 'trocd verify --help')\n", stderr);
        return TROCD_EXIT_USAGE;
    }
    return 0;
}

/* What the verifying child sends its parent. */
typedef struct verdict {
    int rc;
    troc_verify_report report;
} verdict;

/* Runs troc_ledger_verify in a child process, so that a ledger damaged
 * below what the journal can see (a page of LMDB's trees overwritten: LMDB
 * keeps no checksums and may assert, or fault, on what it reads) ends in
 * a verdict, text or JSON, rather than a crash with nothing said.  A child
 * that dies of a signal is reported as such a ledger. */
static int verify_isolated(const char *data, const char *scratch, unsigned threads, troc_verify_report *report,
                           troc_verify_progress_fn *progress) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return troc_ledger_verify(data, scratch, threads, report, progress, NULL);
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return troc_ledger_verify(data, scratch, threads, report, progress, NULL);
    }
    if (child == 0) {
        close(pipe_fds[0]);
        verdict v = {0};
        v.rc = troc_ledger_verify(data, scratch, threads, &v.report, progress, NULL);
        ssize_t written = write(pipe_fds[1], &v, sizeof v);
        _exit(written == (ssize_t)sizeof v ? 0 : 1);
    }
    interrupted_child = child;
    close(pipe_fds[1]);
    verdict v = {0};
    size_t got = 0;
    while (got < sizeof v) { /* bounded: the child writes sizeof v bytes at most, then exits */
        ssize_t n = read(pipe_fds[0], (char *)&v + got, sizeof v - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(pipe_fds[0]);
    int wait_status = 0;
    while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {
    }
    interrupted_child = 0;
    if (got == sizeof v) {
        *report = v.report;
        return v.rc;
    }
    *report = (troc_verify_report){0};
    if (WIFSIGNALED(wait_status)) {
        snprintf(report->difference, sizeof report->difference,
                 "the ledger in %s is damaged below its journal: reading it stopped the verifier (%s), as a page "
                 "of its storage is not what LMDB wrote; restore a backup that verifies (docs/operations.md)",
                 data, strsignal(WTERMSIG(wait_status)));
    } else {
        snprintf(report->difference, sizeof report->difference, "the verifier ended without a verdict");
    }
    return TROC_ECORRUPT;
}

int troc__trocd_verify(int argc, char **argv) {
    if (troc__trocd_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return TROCD_EXIT_OK;
    }
    const char *data = NULL;
    unsigned threads = 0; /* one per processor */
    bool json = false;
    int status = args_parse(argc, argv, &data, &threads, &json);
    if (status != 0) return status;
    const char *tmp = getenv("TMPDIR");
    char scratch[4096];
    snprintf(scratch, sizeof scratch, "%s/troc-verify-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    troc_verify_report report = {0};
    if (mkdtemp(scratch) == NULL) {
        int rc = -errno;
        snprintf(report.difference, sizeof report.difference, "cannot create a scratch directory in %s: %s (set "
                 "TMPDIR to a writable directory)", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", troc_strerror(rc));
        return report_print(json, data, rc, &report);
    }
    scratch_remove_on_signals(scratch);
    bool tty = isatty(STDERR_FILENO) == 1;
    int rc = verify_isolated(data, scratch, threads, &report, tty ? progress_show : NULL);
    if (tty) fputs("\r\033[K", stderr);
    scratch_remove(scratch);
    if (rc == TROC_ENOT_FOUND) {
        snprintf(report.difference, sizeof report.difference, "no ledger in %s (see 'trocd init --help')", data);
    } else if (rc != 0 && report.difference[0] == '\0') {
        snprintf(report.difference, sizeof report.difference, "cannot read the ledger in %s: %s", data,
                 troc_strerror(rc));
    }
    return report_print(json, data, rc, &report);
}
