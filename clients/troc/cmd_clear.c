/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc clear INPUT.csv [--out RESULT.csv] [--with-credit ACCOUNTS.csv
 *     [--balances-out BALANCES.csv]] [--threads N] [--json]
 *
 * Clears a CSV file of unpaid invoices offline, without a ledger: the exact
 * maximum set-off (engine/clearing), and in credit mode payments in mutual
 * credit within every member's credit line.  The steps, each finished before
 * the next begins:
 *
 *   1. options, and whether the outputs can be written where they are asked
 *      for (a wrong path fails at once, not after a long solve);
 *   2. INPUT (and ACCOUNTS) read and checked row by row (clear_input.c,
 *      clear_rows.c: large files by several threads, --threads of them);
 *   3. the solve, and beside it INPUT's ids compared (a duplicate discards
 *      the result);
 *   4. RESULT (and BALANCES) written, each complete or not at all
 *      (clear_output.c), and the result proven by troc_clearing_check()
 *      while they are synced to disk: they are renamed into place only if
 *      it passes;
 *   5. the summary, as text or one JSON object.
 *
 * A failure at any step leaves no output file.  Exit status: 0 done; 2 bad
 * usage or bad input (the message names the file, the line and the
 * problem); 1 a failure after the input was accepted (out of memory, a disk
 * error, a result failing its check), or a summary that could not be
 * printed.
 *
 * INPUT (or ACCOUNTS) "-" is read from standard input.  Without --out
 * only the summary is printed: a dry run showing how much would clear.
 * "--out -" writes RESULT on standard output and the summary
 * on standard error.  Progress goes to standard error when it is a
 * terminal: "reading" while INPUT is read and checked, when it is a file of
 * at least PROGRESS_BYTES_MIN bytes; then, when it has at least
 * PROGRESS_ROWS_MIN rows, the solver's stages and the share of RESULT
 * written.
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/error.h"
#include "base/large.h"
#include "base/limits.h"
#include "clear.h"
#include "cli.h"
#include "commands.h"

/* Rows of INPUT from which a terminal shows the solver's progress and
 * RESULT's: below it the solve takes well under a second. */
#define PROGRESS_ROWS_MIN 100000

/* Bytes of INPUT from which a terminal shows that it is being read: about
 * PROGRESS_ROWS_MIN rows of four short columns.  Reading and checking the
 * largest file troc clear takes lasts seconds. */
#define PROGRESS_BYTES_MIN (4u << 20)

/* Rows of INPUT from which its ids are compared on a thread of their own,
 * beside the solve: below it starting the thread costs what it saves. */
#define BESIDE_ROWS_MIN 65536

#define USAGE                                                                                                      \
    "usage: troc clear INPUT.csv [--out RESULT.csv] [--with-credit ACCOUNTS.csv [--balances-out BALANCES.csv]] " \
    "[--threads N] [--json]"

typedef struct progress {
    bool enabled;      /* standard error is a terminal and the input is large */
    const char *stage; /* last stage shown, NULL before the first */
    int percent;       /* last percentage shown */
} progress;

typedef struct timings {
    double read_seconds, solve_seconds, write_seconds, total_seconds;
} timings;

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Shows `stage` and the share of it done; a negative fraction_done shows
 * the stage alone (a step whose progress is not measured). */
static void show_progress(void *context, const char *stage, double fraction_done) {
    progress *shown = context;
    assert(shown != NULL && stage != NULL);
    if (!shown->enabled) return;
    int percent = fraction_done < 0 ? -1 : (int)(fraction_done * 100.0 + 0.5);
    if (shown->stage != NULL && strcmp(shown->stage, stage) == 0 && shown->percent == percent) return;
    shown->stage = stage;
    shown->percent = percent;
    if (percent < 0) fprintf(stderr, "\rtroc: %s\033[K", stage);
    else fprintf(stderr, "\rtroc: %s %3d%%\033[K", stage, percent);
    fflush(stderr);
    troc_cli_progress_line(true);
}

static void end_progress(progress *shown) {
    if (shown->enabled && shown->stage != NULL) fputs("\r\033[K", stderr);
    shown->stage = NULL;
    troc_cli_progress_line(false);
}

/* Takes the value of an option that needs one and may appear once. */
static int option_value(int argc, char **argv, int *i, const char **target) {
    const char *name = argv[*i];
    if (*i + 1 >= argc) return troc_cli_fail(TROC_EXIT_USAGE, "%s needs a file name\n%s", name, USAGE);
    if (*target != NULL) return troc_cli_fail(TROC_EXIT_USAGE, "%s is given twice", name);
    *target = argv[++*i];
    if ((*target)[0] == '\0') return troc_cli_fail(TROC_EXIT_USAGE, "%s needs a file name, not an empty one", name);
    return 0;
}

/* --threads N: 1 to TROC_THREADS_MAX. */
static int threads_value(int argc, char **argv, int *i, unsigned *target) {
    const char *text = NULL;
    if (*target != 0) return troc_cli_fail(TROC_EXIT_USAGE, "--threads is given twice");
    if (*i + 1 >= argc) return troc_cli_fail(TROC_EXIT_USAGE, "--threads needs a number\n%s", USAGE);
    text = argv[++*i];
    unsigned value = 0;
    size_t length = strlen(text);
    for (size_t k = 0; k < length && value <= TROC_THREADS_MAX; k++) {
        value = text[k] >= '0' && text[k] <= '9' ? value * 10 + (unsigned)(text[k] - '0') : TROC_THREADS_MAX + 1;
    }
    if (length == 0 || value < 1 || value > TROC_THREADS_MAX) {
        return troc_cli_fail(TROC_EXIT_USAGE, "--threads '%s': give a number from 1 to %u", text, TROC_THREADS_MAX);
    }
    *target = value;
    return 0;
}

static int parse_options(const troc_cli *cli, int argc, char **argv, troc__clear_options *options) {
    memset(options, 0, sizeof *options);
    options->json = cli->json;
    bool after_dashes = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int status = 0;
        if (!after_dashes && strcmp(arg, "--") == 0) {
            after_dashes = true;
        } else if (!after_dashes && strcmp(arg, "--out") == 0) {
            status = option_value(argc, argv, &i, &options->out_path);
        } else if (!after_dashes && strcmp(arg, "--with-credit") == 0) {
            status = option_value(argc, argv, &i, &options->accounts_path);
        } else if (!after_dashes && strcmp(arg, "--balances-out") == 0) {
            status = option_value(argc, argv, &i, &options->balances_path);
        } else if (!after_dashes && strcmp(arg, "--threads") == 0) {
            status = threads_value(argc, argv, &i, &options->thread_count);
        } else if (!after_dashes && arg[0] == '-' && arg[1] != '\0') {
            status = troc_cli_fail(TROC_EXIT_USAGE, "unknown option %s\n%s", arg, USAGE);
        } else if (options->input_path != NULL) {
            status = troc_cli_fail(TROC_EXIT_USAGE, "one INPUT file only ('%s' and '%s')\n%s", options->input_path,
                                   arg, USAGE);
        } else {
            options->input_path = arg;
        }
        if (status != 0) return status;
    }
    if (options->input_path == NULL) return troc_cli_fail(TROC_EXIT_USAGE, "no INPUT file\n%s", USAGE);
    if (options->balances_path != NULL && options->accounts_path == NULL) {
        return troc_cli_fail(TROC_EXIT_USAGE, "--balances-out needs --with-credit ACCOUNTS.csv");
    }
    if (options->accounts_path != NULL && strcmp(options->input_path, "-") == 0 &&
        strcmp(options->accounts_path, "-") == 0) {
        return troc_cli_fail(TROC_EXIT_USAGE,
                             "INPUT and ACCOUNTS cannot both be standard input ('-'); give one a file");
    }
    if (options->out_path != NULL && strcmp(options->out_path, "-") == 0 && options->json) {
        return troc_cli_fail(TROC_EXIT_USAGE, "--json and --out - both write on standard output; choose one");
    }
    return 0;
}

/* The absolute name a path will have once written, into name: its own,
 * resolved, or for a file not yet there, its resolved directory and its
 * last name.  False when the directory cannot be resolved either.  Fixed
 * buffers: a failed allocation must not make two names look different. */
static bool resolved_name(const char *path, char name[PATH_MAX]) {
    if (realpath(path, name) != NULL) return true;
    const char *slash = strrchr(path, '/');
    const char *base = slash == NULL ? path : slash + 1;
    const size_t length = slash == NULL ? 0 : (size_t)(slash - path) + 1;
    char directory[PATH_MAX], parent[PATH_MAX];
    if (length >= sizeof directory) return false;
    memcpy(directory, slash == NULL ? "." : path, slash == NULL ? 2 : length);
    if (slash != NULL) directory[length] = '\0';
    if (realpath(directory, parent) == NULL) return false;
    return snprintf(name, PATH_MAX, "%s/%s", parent, base) < PATH_MAX;
}

/* Whether two paths name one file, existing or about to be written
 * ("n.csv" and "./n.csv" before either exists). */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (strcmp(a, b) == 0) return true;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char name_a[PATH_MAX], name_b[PATH_MAX];
    return resolved_name(a, name_a) && resolved_name(b, name_b) && strcmp(name_a, name_b) == 0;
}

/* Whether `path` is the file standard input reads (INPUT "-" < FILE). */
static bool is_standard_input(const char *path) {
    struct stat input, output;
    return fstat(STDIN_FILENO, &input) == 0 && S_ISREG(input.st_mode) && stat(path, &output) == 0 &&
           input.st_dev == output.st_dev && input.st_ino == output.st_ino;
}

/* Refuses an output that would replace an input or the other output, that
 * names a directory or anything else than a regular file (a device, a
 * pipe: the new file would take its place), a link to nothing, or that
 * lies in a directory we cannot write.  A symbolic link is followed (the
 * CSV writer replaces the file it names). */
static int check_output(const char *option, const char *path, const troc__clear_options *options) {
    if (strcmp(path, "-") == 0) {
        if (strcmp(option, "--out") == 0) return 0;
        return troc_cli_fail(TROC_EXIT_USAGE, "%s needs a file name, not '-'", option);
    }
    const char *inputs[] = {options->input_path, options->accounts_path};
    for (size_t i = 0; i < 2; i++) {
        if (inputs[i] == NULL) continue;
        if (strcmp(inputs[i], "-") == 0 && is_standard_input(path)) {
            return troc_cli_fail(TROC_EXIT_USAGE, "%s %s is the file standard input reads: it would be replaced; "
                                 "choose another file", option, path);
        }
        if (strcmp(inputs[i], "-") != 0 && same_file(path, inputs[i])) {
            return troc_cli_fail(TROC_EXIT_USAGE, "%s %s would replace the input %s; choose another file", option,
                                 path, inputs[i]);
        }
    }
    struct stat link, target;
    const bool is_link = lstat(path, &link) == 0 && S_ISLNK(link.st_mode);
    const bool exists = stat(path, &target) == 0;
    if (is_link && !exists && errno == ELOOP) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s %s is a loop of symbolic links; give a file name", option, path);
    }
    if (is_link && !exists) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s %s is a symbolic link to nothing; give a file name", option, path);
    }
    if (exists && S_ISDIR(target.st_mode)) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s %s is a directory; give a file name", option, path);
    }
    struct stat stream;
    for (int fd = STDOUT_FILENO; exists && fd <= STDERR_FILENO; fd++) {
        if (fstat(fd, &stream) == 0 && stream.st_dev == target.st_dev && stream.st_ino == target.st_ino) {
            return troc_cli_fail(TROC_EXIT_USAGE, "%s %s is where standard %s goes: it would be replaced; %s",
                                 option, path, fd == STDOUT_FILENO ? "output" : "error",
                                 strcmp(option, "--out") == 0 ? "use --out - for standard output" : "give a file name");
        }
    }
    if (exists && !S_ISREG(target.st_mode)) {
        return troc_cli_fail(TROC_EXIT_USAGE,
                             "%s %s is not a regular file (a device or a pipe): it would be replaced by one; give "
                             "a file name%s",
                             option, path, strcmp(option, "--out") == 0 ? ", or - for standard output" : "");
    }
    char *resolved = is_link ? realpath(path, NULL) : NULL; /* the file a link names is the one replaced */
    if (is_link && resolved == NULL) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s %s: cannot follow the link: %s", option, path, strerror(errno));
    }
    const char *written = resolved != NULL ? resolved : path;
    const char *slash = strrchr(written, '/');
    char *directory = slash == NULL ? strdup(".") : strndup(written, (size_t)(slash - written) + 1);
    free(resolved);
    if (directory == NULL) return troc_cli_fail(TROC_EXIT_REFUSED, "out of memory");
    int rc = access(directory, W_OK | X_OK) == 0 ? 0 : -errno;
    int status = 0;
    if (rc != 0) {
        status = troc_cli_fail(TROC_EXIT_USAGE, "%s %s: cannot write in directory %s: %s", option, path, directory,
                               troc_strerror(rc));
    }
    free(directory);
    return status;
}

static int check_outputs(const troc__clear_options *options) {
    int status = 0;
    if (options->out_path != NULL) status = check_output("--out", options->out_path, options);
    if (status == 0 && options->balances_path != NULL) {
        status = check_output("--balances-out", options->balances_path, options);
    }
    if (status == 0 && options->out_path != NULL && options->balances_path != NULL &&
        same_file(options->out_path, options->balances_path)) {
        status = troc_cli_fail(TROC_EXIT_USAGE, "--out and --balances-out name the same file");
    }
    return status;
}

/* The problem as the solver took it, kept for the check of its result. */
typedef struct solved_problem {
    troc_clearing_problem problem;
    troc_clearing_account *bounded; /* credit mode: the accounts as the solver takes them */
} solved_problem;

static void solved_problem_free(solved_problem *solved) {
    free(solved->bounded);
    *solved = (solved_problem){0};
}

/* The solve, without its check: prove() makes it, while RESULT is synced. */
static int solve(const troc__clear_options *options, const troc__clear_data *data, troc_clearing_result *result,
                 solved_problem *solved, progress *shown) {
    troc_clearing_problem problem = {
        .firm_count = data->input_firm_count,
        .obligation_count = troc_csv_row_count(data->input),
        .obligations = data->obligations,
        .thread_count = options->thread_count,
    };
    /* ACCOUNTS may hold any figure a ledger does; the solver takes each
     * account bounded, with the same room to move (a balance moves at most
     * by the total of INPUT), so the result is the real accounts' own. */
    troc_clearing_account *bounded = NULL;
    if (data->accounts != NULL) {
        bounded = malloc(((size_t)problem.firm_count + 1) * sizeof *bounded);
        if (bounded == NULL) return troc_cli_fail(TROC_EXIT_REFUSED, "out of memory");
        for (uint32_t firm = 0; firm < problem.firm_count; firm++) {
            bounded[firm] = troc_clearing_account_bounded(&data->accounts[firm]);
        }
        problem.accounts = bounded;
    }
    *solved = (solved_problem){.problem = problem, .bounded = bounded};
    int rc = troc_clearing_problem_validate(&problem);
    if (rc != 0) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s: these obligations cannot be cleared: %s",
                             troc__clear_file_name(options->input_path), troc_strerror(rc));
    }
    rc = troc_clearing_solve_unchecked(&problem, result, show_progress, shown);
    end_progress(shown);
    if (rc != 0) return troc_cli_fail(TROC_EXIT_REFUSED, "the solve failed: %s", troc_strerror(rc));
    return 0;
}

typedef struct proof {
    const solved_problem *solved;
    const troc_clearing_result *result;
} proof;

/* troc__clear_prove_fn: the result proven feasible and optimal from its
 * certificate. */
static int prove(void *context) {
    const proof *p = context;
    int rc = troc_clearing_check(&p->solved->problem, p->result);
    if (rc == TROC_EINFEASIBLE || rc == TROC_ENOT_OPTIMAL) {
        return troc_cli_fail(TROC_EXIT_REFUSED,
                             "the clearing result failed its check (%s) and nothing was written; this is a bug in "
                             "troc, please report it with the input",
                             troc_strerror(rc));
    }
    if (rc != 0) return troc_cli_fail(TROC_EXIT_REFUSED, "the check of the result failed: %s", troc_strerror(rc));
    return 0;
}

static void print_json(const troc__clear_options *options, const troc__clear_data *data,
                       const troc_clearing_result *result, const timings *times) {
    bool credit = data->accounts != NULL;
    troc_json json;
    troc_json_start(&json, stdout);
    troc_json_string(&json, "mode", credit ? "credit" : "plain");
    troc_json_int(&json, "obligations", (int64_t)troc_csv_row_count(data->input));
    troc_json_int(&json, "firms", data->input_firm_count);
    troc_json_amount(&json, "total", result->total_cents);
    troc_json_amount(&json, "cleared", result->cleared_total_cents);
    if (credit) troc_json_amount(&json, "paid", result->paid_total_cents);
    troc_json_amount(&json, "remaining", result->total_cents - result->cleared_total_cents - result->paid_total_cents);
    troc_json_double(&json, "share", troc_amount_share_percent(result->cleared_total_cents, result->total_cents, 4));
    if (credit) troc_json_int(&json, "firms_without_account", data->firms_without_account);
    troc_json_int(&json, "components", result->component_count);
    troc_json_int(&json, "cycle_firms", result->cycle_firm_count);
    troc_json_int(&json, "cycle_obligations", (int64_t)result->cycle_obligation_count);
    troc_json_double(&json, "seconds", times->total_seconds);
    troc_json_double(&json, "read_seconds", times->read_seconds);
    troc_json_double(&json, "solve_seconds", times->solve_seconds);
    troc_json_double(&json, "write_seconds", times->write_seconds);
    troc_json_string(&json, "result", options->out_path);
    if (credit) troc_json_string(&json, "balances", options->balances_path);
    troc_json_finish(&json);
}

static void print_text(FILE *out, const troc__clear_options *options, const troc__clear_data *data,
                       const troc_clearing_result *result, const timings *times) {
    char text[TROC_AMOUNT_TEXT_SIZE];
    bool credit = data->accounts != NULL;
    fprintf(out, "obligations      %zu\n", troc_csv_row_count(data->input));
    fprintf(out, "firms            %u\n", data->input_firm_count);
    fprintf(out, "total            %s\n", troc_amount_format(result->total_cents, text));
    fprintf(out, "cleared          %s\n", troc_amount_format(result->cleared_total_cents, text));
    if (credit) fprintf(out, "paid             %s\n", troc_amount_format(result->paid_total_cents, text));
    fprintf(out, "remaining        %s\n",
            troc_amount_format(result->total_cents - result->cleared_total_cents - result->paid_total_cents, text));
    fprintf(out, "share            %.2f %%\n",
            troc_amount_share_percent(result->cleared_total_cents, result->total_cents, 2));
    if (credit) fprintf(out, "without account  %u\n", data->firms_without_account);
    fprintf(out, "seconds          %.3f (read %.3f, solve %.3f, write %.3f)\n", times->total_seconds,
            times->read_seconds, times->solve_seconds, times->write_seconds);
    if (options->out_path != NULL && strcmp(options->out_path, "-") != 0) {
        fprintf(out, "result           %s\n", options->out_path);
    }
    if (options->balances_path != NULL) fprintf(out, "balances         %s\n", options->balances_path);
    fflush(out);
}

/* INPUT's ids, compared on a thread of their own beside the solve: they
 * change nothing the solve uses, and a duplicate discards its result.
 * Then INPUT's bytes go back until RESULT is written (release_input()). */
typedef struct ids_job {
    troc__clear_data *data;
    int rc;                      /* troc__clear_compare_ids()'s */
    troc__clear_refusal refusal; /* when rc is TROC_EXIT_USAGE */
} ids_job;

/* Nothing reads INPUT's fields from here until RESULT is written: its
 * bytes go back (read again then, and checked unchanged: run()), so that
 * the solve's arrays take their pages.  On this host a page touched first
 * costs some 1.8 ms per MB, and the solve's peak is the command's: 38 MB
 * less of it on the benchmark made the solve about 0.08 s faster
 * (docs/benchmarks.md). */
static void release_input(troc__clear_data *data) {
    (void)troc_csv_release_data(data->input);
}

static void *compare_ids(void *argument) {
    ids_job *job = argument;
    job->rc = troc__clear_compare_ids(job->data, 1, &job->refusal);
    release_input(job->data);
    return NULL;
}

/* Prints what the ids comparison found wrong; returns the exit status. */
static int ids_status(const troc__clear_options *options, const ids_job *ids) {
    if (ids->rc == TROC_EXIT_USAGE) return troc__clear_report(options->input_path, &ids->refusal);
    if (ids->rc != 0) return troc__clear_intern_fail(ids->rc);
    return 0;
}

/* Step 3 with the ids compared at the same time (or before: small inputs,
 * --threads 1, no thread to start): a duplicate id is reported rather than
 * the solve's outcome. */
static int solve_and_compare(const troc__clear_options *options, troc__clear_data *data,
                             troc_clearing_result *result, solved_problem *solved, progress *shown) {
    ids_job ids = {.data = data};
    pthread_t thread;
    const bool beside = data->columns.has_id && troc_csv_row_count(data->input) >= BESIDE_ROWS_MIN &&
                        options->thread_count != 1 && pthread_create(&thread, NULL, compare_ids, &ids) == 0;
    if (!beside && data->columns.has_id) {
        compare_ids(&ids);
        if (ids.rc != 0) return ids_status(options, &ids);
    } else if (!beside) {
        release_input(data);
    }
    int status = solve(options, data, result, solved, shown);
    if (beside) {
        pthread_join(thread, NULL);
        if (ids.rc != 0) return ids_status(options, &ids);
    }
    return status;
}

/* Whether `path` is a file of at least PROGRESS_BYTES_MIN bytes. */
static bool large_file(const char *path) {
    struct stat status;
    return strcmp(path, "-") != 0 && stat(path, &status) == 0 && S_ISREG(status.st_mode) &&
           status.st_size >= (off_t)PROGRESS_BYTES_MIN;
}

/* Steps 2 to 4: read, solve and check, write. */
static int run(const troc__clear_options *options, troc__clear_data *data, troc_clearing_result *result,
               timings *times) {
    double start = seconds_now();
    progress shown = {.enabled = isatty(STDERR_FILENO) && large_file(options->input_path)};
    show_progress(&shown, "reading", -1.0);
    int status = troc__clear_read_input(options, data);
    if (status == 0 && options->accounts_path != NULL) status = troc__clear_read_accounts(options, data);
    end_progress(&shown);
    if (status != 0) return status;
    double read_end = seconds_now();
    shown.enabled = isatty(STDERR_FILENO) && troc_csv_row_count(data->input) >= PROGRESS_ROWS_MIN;
    solved_problem solved = {0};
    status = solve_and_compare(options, data, result, &solved, &shown);
    if (status != 0) {
        solved_problem_free(&solved);
        return status;
    }
    double solve_end = seconds_now();
    if (options->out_path != NULL) {
        troc_csv_error error;
        const int rc = troc_csv_reload_data(data->input, options->input_path, options->thread_count, &error);
        if (rc == -ENOMEM) status = troc_cli_fail(TROC_EXIT_REFUSED, "out of memory");
        else if (rc != 0) {
            status = troc_cli_fail(TROC_EXIT_REFUSED, "cannot read %s again to write %s: %s (nothing was written: "
                                   "run troc clear again)", options->input_path, options->out_path, error.message);
        }
    }
    if (status == 0) {
        proof result_proof = {.solved = &solved, .result = result};
        status = troc__clear_write(options, data, result, prove, &result_proof, show_progress, &shown);
    }
    solved_problem_free(&solved);
    end_progress(&shown);
    double write_end = seconds_now();
    *times = (timings){
        .read_seconds = read_end - start,
        .solve_seconds = solve_end - read_end,
        .write_seconds = write_end - solve_end,
        .total_seconds = write_end - start,
    };
    return status;
}

/* The summary is the only output without --out: a summary that could not
 * be printed (standard output closed, a full disk) fails the command. */
static int summary_status(FILE *out, const troc__clear_options *options) {
    if (fflush(out) == 0 && !ferror(out)) return 0;
    const int error = errno;
    if (options->out_path != NULL && strcmp(options->out_path, "-") != 0) {
        return troc_cli_fail(TROC_EXIT_REFUSED, "cannot print the summary: %s (the result is written, in %s)",
                             strerror(error), options->out_path);
    }
    return troc_cli_fail(TROC_EXIT_REFUSED, "cannot print the summary: %s", strerror(error));
}

int troc__cmd_clear(const troc_cli *cli, int argc, char **argv) {
    assert(cli != NULL && argc >= 1);
    troc__clear_options options;
    int status = parse_options(cli, argc, argv, &options);
    if (status == 0) status = check_outputs(&options);
    if (status != 0) return status;
    /* Interrupted while writing, leave no temporary file either (at worst,
     * without the handler, one is left: nothing to refuse the run for). */
    (void)troc_csv_remove_temporaries_on_signals();
    /* A file size limit (ulimit -f) would kill the run mid-write: ignored,
     * it fails the write with EFBIG instead, reported and cleaned up as any
     * failed write. */
    signal(SIGXFSZ, SIG_IGN);
    /* Each stage frees its large arrays before the next takes its own:
     * given back to the system, their pages serve the next stage, and the
     * command's peak stays that of its largest stage. */
    troc_large_give_back_when_freed();
    troc__clear_data data = {0};
    troc_clearing_result result = {0};
    timings times = {0};
    status = run(&options, &data, &result, &times);
    if (status == 0) {
        bool result_on_stdout = options.out_path != NULL && strcmp(options.out_path, "-") == 0;
        FILE *out = result_on_stdout ? stderr : stdout;
        if (options.json) print_json(&options, &data, &result, &times);
        else print_text(out, &options, &data, &result, &times);
        status = summary_status(out, &options);
    }
    troc_clearing_result_free(&result);
    troc__clear_data_free(&data);
    return status;
}
