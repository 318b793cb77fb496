/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clearing_bench: times the exact clearing solver on a CSV of obligations as
 * written by ../shared/tools/gen_obligations.py (header id,debtor,creditor,
 * amount; no quoted fields), apart from reading the file.
 *
 *   clearing_bench INPUT.csv [--repeat N] [--out RESULT.csv]
 *
 * Prints one line: obligations, firms, total, cleared, the solve's seconds,
 * the whole run's seconds and peak resident memory.  With --repeat the
 * solve runs N times in the process and the line gives the fastest (and
 * each run's seconds): from the second run on its memory is no longer
 * fresh, so this measures the solver's own work, with less of the noise a
 * shared machine adds to single runs.  With --out it writes the
 * input's columns plus cleared and remaining, for check_clearing.py.  This
 * is a measuring tool, not the product's CSV reader (that is `troc clear`):
 * it refuses anything but the generator's simple format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/amount.h"
#include "base/error.h"
#include "clearing/clearing.h"

typedef struct names {
    char **text;       /* per firm: its name */
    uint32_t count;
    uint32_t *slots;   /* open addressing: firm index + 1, 0 when empty */
    size_t slot_count; /* a power of two */
} names;

typedef struct input {
    names firms;
    troc_obligation *obligations;
    char **lines; /* per obligation: the input line, for --out */
    size_t count;
    size_t capacity;
} input;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t hash(const char *text, size_t length) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < length; i++) h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
    return h;
}

static int names_grow(names *n) {
    size_t count = n->slot_count ? n->slot_count * 2 : 1024;
    uint32_t *slots = calloc(count, sizeof *slots);
    char **text = realloc(n->text, count * sizeof *text);
    if (slots == NULL || text == NULL) return -ENOMEM;
    n->text = text;
    for (uint32_t f = 0; f < n->count; f++) {
        size_t s = hash(text[f], strlen(text[f])) & (count - 1);
        while (slots[s] != 0) s = (s + 1) & (count - 1);
        slots[s] = f + 1;
    }
    free(n->slots);
    n->slots = slots;
    n->slot_count = count;
    return 0;
}

/* Index of the firm named text[0..length), added if new. */
static int names_find(names *n, const char *text, size_t length, uint32_t *firm) {
    if (2 * ((size_t)n->count + 1) > n->slot_count && names_grow(n) != 0) return -ENOMEM;
    size_t s = hash(text, length) & (n->slot_count - 1);
    for (; n->slots[s] != 0; s = (s + 1) & (n->slot_count - 1)) {
        const char *known = n->text[n->slots[s] - 1];
        if (strncmp(known, text, length) == 0 && known[length] == '\0') {
            *firm = n->slots[s] - 1;
            return 0;
        }
    }
    n->text[n->count] = strndup(text, length);
    if (n->text[n->count] == NULL) return -ENOMEM;
    n->slots[s] = ++n->count;
    *firm = n->count - 1;
    return 0;
}

static void input_free(input *in) {
    for (uint32_t f = 0; f < in->firms.count; f++) free(in->firms.text[f]);
    for (size_t k = 0; k < in->count; k++) free(in->lines[k]);
    free(in->firms.text);
    free(in->firms.slots);
    free(in->obligations);
    free(in->lines);
}

static int parse_line(input *in, char *line, size_t number) {
    char *field[4];
    size_t fields = 0;
    for (char *p = line; fields < 4; p++) {
        field[fields++] = p;
        p = strchr(p, ',');
        if (p == NULL) break;
    }
    if (fields != 4) {
        fprintf(stderr, "clearing_bench: line %zu: expected id,debtor,creditor,amount\n", number);
        return -EINVAL;
    }
    if (in->count == in->capacity) {
        in->capacity = in->capacity ? in->capacity * 2 : 4096;
        in->obligations = realloc(in->obligations, in->capacity * sizeof *in->obligations);
        in->lines = realloc(in->lines, in->capacity * sizeof *in->lines);
        if (in->obligations == NULL || in->lines == NULL) return -ENOMEM;
    }
    troc_obligation *o = &in->obligations[in->count];
    size_t amount_length = strcspn(field[3], "\r\n");
    if (names_find(&in->firms, field[1], (size_t)(field[2] - field[1] - 1), &o->debtor) != 0 ||
        names_find(&in->firms, field[2], (size_t)(field[3] - field[2] - 1), &o->creditor) != 0) {
        return -ENOMEM;
    }
    if (troc_amount_parse(field[3], amount_length, &o->amount_cents) != 0) {
        fprintf(stderr, "clearing_bench: line %zu: bad amount\n", number);
        return -EINVAL;
    }
    field[3][amount_length] = '\0';
    for (size_t i = 0; i < 3; i++) field[i + 1][-1] = ',';
    in->lines[in->count++] = strdup(line);
    return in->lines[in->count - 1] == NULL ? -ENOMEM : 0;
}

static int read_input(const char *path, input *in) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "clearing_bench: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    char *line = NULL;
    size_t size = 0, number = 0;
    int error = 0;
    while (error == 0 && getline(&line, &size, file) > 0) {
        number++;
        if (number == 1) continue; /* header */
        error = parse_line(in, line, number);
    }
    free(line);
    fclose(file);
    return error;
}

static int write_result(const char *path, const input *in, const troc_clearing_result *result) {
    FILE *out = fopen(path, "w");
    if (out == NULL) return -errno;
    fputs("id,debtor,creditor,amount,cleared,remaining\n", out);
    char cleared[TROC_AMOUNT_TEXT_SIZE], remaining[TROC_AMOUNT_TEXT_SIZE];
    for (size_t k = 0; k < in->count; k++) {
        fprintf(out, "%s,%s,%s\n", in->lines[k], troc_amount_format(result->cleared_cents[k], cleared),
                troc_amount_format(in->obligations[k].amount_cents - result->cleared_cents[k], remaining));
    }
    return fclose(out) == 0 ? 0 : -errno;
}

static void usage(void) {
    fputs("usage: clearing_bench INPUT.csv [--repeat N] [--out RESULT.csv]\n", stderr);
}

#define REPEAT_MAX 100

int main(int argc, char **argv) {
    const char *out_path = NULL;
    long repeat = 1;
    for (int i = 2; i < argc; i += 2) {
        char *end = NULL;
        if (i + 1 < argc && strcmp(argv[i], "--out") == 0) {
            out_path = argv[i + 1];
        } else if (i + 1 < argc && strcmp(argv[i], "--repeat") == 0) {
            repeat = strtol(argv[i + 1], &end, 10);
            if (*end != '\0' || repeat < 1 || repeat > REPEAT_MAX) {
                fprintf(stderr, "clearing_bench: --repeat takes a number from 1 to %d\n", REPEAT_MAX);
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage();
        return 2;
    }
    const double start = now_seconds();
    input in = {0};
    if (read_input(argv[1], &in) != 0) return 2;
    troc_clearing_problem problem = {
        .firm_count = in.firms.count, .obligation_count = in.count, .obligations = in.obligations};
    troc_clearing_result result = {0};
    double solve_seconds = 0.0, solve_cpu = 0.0;
    char runs[REPEAT_MAX * 8 + 1] = "";
    for (long run = 0; run < repeat; run++) {
        troc_clearing_result_free(&result);
        const double solve_start = now_seconds(), solve_cpu_start = cpu_seconds();
        int error = troc_clearing_solve(&problem, &result, NULL, NULL);
        const double seconds = now_seconds() - solve_start, cpu = cpu_seconds() - solve_cpu_start;
        if (error != 0) {
            fprintf(stderr, "clearing_bench: solve failed: %s\n", troc_strerror(error));
            return 1;
        }
        if (run == 0 || seconds < solve_seconds) solve_seconds = seconds, solve_cpu = cpu;
        snprintf(runs + strlen(runs), sizeof runs - strlen(runs), "%s%.3f", run == 0 ? "" : ",", seconds);
    }
    if (out_path != NULL && write_result(out_path, &in, &result) != 0) {
        fprintf(stderr, "clearing_bench: cannot write %s\n", out_path);
        return 1;
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    char total[TROC_AMOUNT_TEXT_SIZE], cleared[TROC_AMOUNT_TEXT_SIZE];
    printf("obligations=%zu firms=%u total=%s cleared=%s components=%u cycle_firms=%u "
           "solve_seconds=%.3f solve_cpu_seconds=%.3f seconds=%.3f peak_rss_mb=%.1f%s%s\n",
           in.count, in.firms.count, troc_amount_format(result.total_cents, total),
           troc_amount_format(result.cleared_total_cents, cleared), result.component_count,
           result.cycle_firm_count, solve_seconds, solve_cpu, now_seconds() - start, (double)usage.ru_maxrss / 1024.0,
           repeat > 1 ? " runs=" : "", repeat > 1 ? runs : "");
    troc_clearing_result_free(&result);
    input_free(&in);
    return 0;
}
