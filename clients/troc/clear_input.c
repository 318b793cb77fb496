/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc clear: INPUT and ACCOUNTS files into a clearing problem.
 *
 * Every row is checked before anything is solved or written, and the first
 * problem found is reported with its file, its line and what to do.  The
 * rules, as the README states them:
 *
 *  - Columns are found by name (ASCII case and spaces around the header's
 *    text ignored): INPUT needs debtor, creditor and amount and may have id;
 *    ACCOUNTS needs member, balance and credit_limit and may have
 *    balance_max.  Other columns are copied through (INPUT) or ignored
 *    (ACCOUNTS).  An INPUT column named like one RESULT adds (cleared,
 *    remaining, and paid in credit mode) is refused: it is most likely a
 *    RESULT given back as INPUT.
 *  - Firm names are any UTF-8 text, compared byte for byte, but not empty,
 *    not on several lines, and without spaces or tabs at either end, nor
 *    Unicode's other spaces and invisible characters (a no-break space, a
 *    byte-order mark): "A" and "A " would otherwise be two firms, silently.
 *  - Amounts are decimals with at most two fractional digits, read by
 *    troc_amount_parse(); spaces and tabs around them are ignored (a padded
 *    number is still unambiguous).  An obligation is at most
 *    TROC_AMOUNT_CENTS_MAX, and INPUT's total at most
 *    TROC_CLEARING_TOTAL_CENTS_MAX (the line where the running sum passes it
 *    is named); obligations are positive.  Account figures take the whole
 *    range a ledger's do: credit limits and balance maxima are not
 *    negative, balances may be either.
 *  - When INPUT has an id column, every row has a distinct, non-empty id.
 *  - A firm of INPUT absent from ACCOUNTS has balance 0, credit limit 0 and
 *    no maximum (it can be paid, it cannot pay beyond what it receives);
 *    their number is reported.  A member twice in ACCOUNTS is refused.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/error.h"
#include "base/large.h"
#include "base/limits.h"
#include "base/text.h"
#include "clear.h"
#include "cli.h"

/* Bytes of a value quoted in an error message, and the room its quoted form
 * needs: every byte may become a two-byte escape, plus quotes, "..." and
 * NUL. */
#define QUOTED_LENGTH_MAX 40
#define QUOTED_SIZE (2 * QUOTED_LENGTH_MAX + 8)

/* What an amount is, and so its range: an obligation is positive and at
 * most TROC_AMOUNT_CENTS_MAX (as a payment); a credit limit or balance
 * maximum is not negative, and a balance anything, as a ledger may hold
 * them (the solver takes such accounts bounded, cmd_clear.c). */
typedef enum amount_rule { AMOUNT_OBLIGATION, AMOUNT_LIMIT, AMOUNT_BALANCE } amount_rule;

typedef struct account_columns {
    size_t member, balance, credit_limit; /* column indices */
    size_t balance_max;                   /* column index when has_balance_max */
    bool has_balance_max;
} account_columns;


/* Prints "troc: PATH line N: message" (or "troc: PATH: message" when line
 * is 0) and returns TROC_EXIT_USAGE. */
static int file_fail(const char *path, uint32_t line, const char *format, ...) __attribute__((format(printf, 3, 4)));

static int file_fail(const char *path, uint32_t line, const char *format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    const char *name = troc__clear_file_name(path);
    if (line == 0) return troc_cli_fail(TROC_EXIT_USAGE, "%s: %s", name, message);
    return troc_cli_fail(TROC_EXIT_USAGE, "%s line %u: %s", name, line, message);
}

/* Fills *refusal with "message" for the given line and returns
 * TROC_EXIT_USAGE, printing nothing: rows are checked by several threads,
 * and only the first refusal in the file is printed, by report(). */
static int refuse(troc__clear_refusal *refusal, uint32_t line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(troc__clear_refusal *refusal, uint32_t line, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(refusal->message, sizeof refusal->message, format, args);
    va_end(args);
    refusal->line = line;
    return TROC_EXIT_USAGE;
}

int troc__clear_report(const char *path, const troc__clear_refusal *refusal) {
    assert(path != NULL && refusal != NULL);
    return file_fail(path, refusal->line, "%s", refusal->message);
}

static int memory_fail(void) {
    return troc_cli_fail(TROC_EXIT_REFUSED, "out of memory");
}

/* 'value' for a message: cut at a character boundary with "..." when long,
 * line breaks and tabs shown as \n, \r and \t. */
static const char *quote(troc_csv_field field, char buffer[QUOTED_SIZE]) {
    size_t length = field.length < QUOTED_LENGTH_MAX ? field.length : QUOTED_LENGTH_MAX;
    while (length < field.length && length > 0 && ((unsigned char)field.text[length] & 0xC0) == 0x80) length--;
    size_t used = 0;
    buffer[used++] = '\'';
    for (size_t i = 0; i < length; i++) {
        char c = field.text[i];
        const char *escape = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (escape == NULL) {
            buffer[used++] = c;
        } else {
            buffer[used++] = escape[0];
            buffer[used++] = escape[1];
        }
    }
    if (length < field.length) {
        memcpy(buffer + used, "...", 3);
        used += 3;
    }
    buffer[used++] = '\'';
    buffer[used] = '\0';
    assert(used < QUOTED_SIZE);
    return buffer;
}

static bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

static troc_csv_field trim(troc_csv_field field) {
    while (field.length > 0 && is_blank(field.text[0])) field.text++, field.length--;
    while (field.length > 0 && is_blank(field.text[field.length - 1])) field.length--;
    return field;
}

/* Whether text is a decimal but for having three or more fractional digits. */
static bool has_long_fraction(troc_csv_field t) {
    size_t i = t.length > 0 && t.text[0] == '-' ? 1 : 0, digits = 0, point = 0;
    for (; i < t.length; i++) {
        if (t.text[i] == '.' && point == 0 && digits > 0) {
            point = i;
        } else if (t.text[i] >= '0' && t.text[i] <= '9') {
            digits++;
        } else {
            return false;
        }
    }
    return point != 0 && t.length - point - 1 > 2;
}

static int read_amount(troc__clear_refusal *refusal, uint32_t line, const char *label, troc_csv_field field,
                       amount_rule rule, int64_t *cents_out) {
    char shown[QUOTED_SIZE], largest[TROC_AMOUNT_TEXT_SIZE];
    troc_csv_field t = trim(field);
    if (t.length == 0) return refuse(refusal, line, "%s is empty", label);
    int64_t cents = 0;
    int rc = troc_amount_parse(t.text, t.length, &cents);
    if (rc == TROC_EAMOUNT && has_long_fraction(t)) {
        return refuse(refusal, line, "%s %s has more than two fractional digits", label, quote(field, shown));
    }
    if (rc == TROC_EAMOUNT) {
        return refuse(refusal, line,
                         "%s %s is not a number (write amounts like 1234.56: a point, at most two fractional "
                         "digits, no thousands separator)",
                         label, quote(field, shown));
    }
    const int64_t largest_cents = rule == AMOUNT_OBLIGATION ? TROC_AMOUNT_CENTS_MAX : INT64_MAX;
    if (rc == TROC_EOVERFLOW || cents > largest_cents || cents < -largest_cents) {
        /* The range the rule allows: an obligation from 0.01, a limit from 0. */
        troc_amount_format(largest_cents, largest);
        const char *lowest = rule == AMOUNT_OBLIGATION ? "0.01" : rule == AMOUNT_LIMIT ? "0.00" : NULL;
        if (lowest != NULL) {
            return refuse(refusal, line, "%s %s is out of range (from %s to %s)", label, quote(field, shown), lowest,
                          largest);
        }
        return refuse(refusal, line, "%s %s is out of range (from -%s to %s)", label, quote(field, shown), largest,
                      largest);
    }
    assert(rc == 0);
    if (rule == AMOUNT_OBLIGATION && cents <= 0) {
        return refuse(refusal, line, "%s %s must be positive", label, quote(field, shown));
    }
    if (rule == AMOUNT_LIMIT && cents < 0) {
        return refuse(refusal, line, "%s %s cannot be negative", label, quote(field, shown));
    }
    *cents_out = cents;
    return 0;
}

static int check_firm_name(troc__clear_refusal *refusal, uint32_t line, const char *label, troc_csv_field name) {
    char shown[QUOTED_SIZE];
    if (name.length == 0) return refuse(refusal, line, "%s is empty", label);
    if (is_blank(name.text[0]) || is_blank(name.text[name.length - 1])) {
        return refuse(refusal, line, "%s %s begins or ends with a space (names are compared exactly; remove it)",
                      label, quote(name, shown));
    }
    size_t last = name.length - 1;
    while (last > 0 && ((unsigned char)name.text[last] & 0xC0) == 0x80) last--; /* the last character's first byte */
    const uint32_t ends[2] = {troc_utf8_code_point(name.text), troc_utf8_code_point(name.text + last)};
    for (int end = 0; end < 2; end++) {
        if (troc_code_point_unseen(ends[end])) {
            return refuse(refusal, line,
                          "%s %s %s with U+%04X, a space or an invisible character (names are compared exactly; "
                          "remove it)",
                          label, quote(name, shown), end == 0 ? "begins" : "ends", (unsigned)ends[end]);
        }
    }
    /* The reader has refused ill-formed UTF-8 and control characters but
     * tab and the line breaks of quoted fields: refuse those line breaks. */
    for (size_t i = 0; i < name.length; i++) {
        if (name.text[i] == '\n' || name.text[i] == '\r') {
            return refuse(refusal, line, "%s %s holds a line break", label, quote(name, shown));
        }
    }
    return 0;
}

const char *troc__clear_file_name(const char *path) {
    return strcmp(path, "-") == 0 ? "standard input" : path;
}

/* Reads a CSV file ("-": standard input), reporting what is wrong with it;
 * `columns_read` as in troc_csv_read_options. */
static int read_csv(const char *path, unsigned thread_count, const char *const *columns_read, troc_csv **csv_out) {
    troc_csv_error error;
    const troc_csv_read_options read_options = {.thread_count = thread_count, .columns_read = columns_read};
    int rc = strcmp(path, "-") == 0 ? troc_csv_read_fd_with(STDIN_FILENO, &read_options, csv_out, &error)
                                    : troc_csv_read_file_with(path, &read_options, csv_out, &error);
    if (rc == -ENOMEM) return memory_fail();
    if (rc != 0) return file_fail(path, error.line, "%s", error.message);
    return 0;
}

/* Finds a column by name; `required` columns must be there. */
static int find_column(const char *path, const troc_csv *csv, const char *name, bool required, size_t *column_out,
                       bool *found_out) {
    int rc = troc_csv_column_find(csv, name, column_out);
    if (found_out != NULL) *found_out = rc == 0;
    if (rc == TROC_ECSV) return file_fail(path, troc_csv_header_line(csv), "two columns are named '%s'", name);
    if (rc == TROC_ENOT_FOUND && required) {
        const char *hint = troc_csv_separator_hint(csv);
        return file_fail(path, troc_csv_header_line(csv), "the header has no column '%s'%s%s%s", name,
                         hint != NULL ? " (" : "", hint != NULL ? hint : "", hint != NULL ? ")" : "");
    }
    return 0;
}

/* The columns of INPUT that troc clear reads (find_input_columns()); the
 * others are only copied through to RESULT, so their fields' positions
 * need not be kept. */
static const char *const input_columns_read[] = {"debtor", "creditor", "amount", "id", NULL};

static int find_input_columns(const troc__clear_options *options, const troc_csv *csv,
                              troc__input_columns *columns) {
    const char *path = options->input_path;
    int status = find_column(path, csv, "debtor", true, &columns->debtor, NULL);
    if (status == 0) status = find_column(path, csv, "creditor", true, &columns->creditor, NULL);
    if (status == 0) status = find_column(path, csv, "amount", true, &columns->amount, NULL);
    if (status == 0) status = find_column(path, csv, "id", false, &columns->id, &columns->has_id);
    if (status != 0) return status;
    static const char *const added[] = {"cleared", "remaining", "paid"};
    size_t added_count = options->accounts_path != NULL ? 3 : 2;
    for (size_t i = 0; i < added_count; i++) {
        size_t column;
        if (troc_csv_column_find(csv, added[i], &column) != TROC_ENOT_FOUND) {
            return file_fail(path, troc_csv_header_line(csv),
                             "the header has a column '%s', which the result adds (is this file a result of "
                             "troc clear? clear the original file, or rename the column)",
                             added[i]);
        }
    }
    return 0;
}

/* A row's rules, its refusal's line left 0. */
static int check_row_fields(const troc_csv *csv, const troc__input_columns *columns, size_t row, int64_t *cents_out,
                            troc__clear_refusal *refusal) {
    troc_csv_field debtor = troc_csv_get(csv, row, columns->debtor);
    troc_csv_field creditor = troc_csv_get(csv, row, columns->creditor);
    int status = check_firm_name(refusal, 0, "debtor", debtor);
    if (status == 0) status = check_firm_name(refusal, 0, "creditor", creditor);
    if (status != 0) return status;
    if (debtor.length == creditor.length && memcmp(debtor.text, creditor.text, debtor.length) == 0) {
        char shown[QUOTED_SIZE];
        return refuse(refusal, 0, "debtor and creditor are the same firm %s (a firm cannot owe itself)",
                      quote(debtor, shown));
    }
    return read_amount(refusal, 0, "amount", troc_csv_get(csv, row, columns->amount), AMOUNT_OBLIGATION, cents_out);
}

int troc__clear_check_row(const troc_csv *csv, const troc__input_columns *columns, size_t row, int64_t *cents_out,
                          troc__clear_refusal *refusal) {
    assert(csv != NULL && columns != NULL && cents_out != NULL && refusal != NULL);
    const int status = check_row_fields(csv, columns, row, cents_out, refusal);
    /* The line only for a refusal: a plain file's lines are counted, not
     * stored (troc_csv_row_line()). */
    if (status != 0) refusal->line = troc_csv_row_line(csv, row);
    return status;
}

int troc__clear_check_id(const troc_csv *csv, const troc__input_columns *columns, size_t row,
                         troc__clear_refusal *refusal) {
    assert(csv != NULL && columns != NULL && refusal != NULL);
    if (!columns->has_id || troc_csv_get(csv, row, columns->id).length > 0) return 0;
    return refuse(refusal, troc_csv_row_line(csv, row), "id is empty (every row needs its own id, or no id column)");
}

int troc__clear_refuse_total(const troc_csv *csv, size_t row, troc__clear_refusal *refusal) {
    char largest[TROC_AMOUNT_TEXT_SIZE];
    return refuse(refusal, troc_csv_row_line(csv, row),
                  "the amounts up to this line add up to more than %s, the largest total troc clears",
                  troc_amount_format(TROC_CLEARING_TOTAL_CENTS_MAX, largest));
}

int troc__clear_refuse_id(const troc_csv *csv, const troc__input_columns *columns, size_t row, size_t first_row,
                          troc__clear_refusal *refusal) {
    char shown[QUOTED_SIZE];
    return refuse(refusal, troc_csv_row_line(csv, row), "id %s is already used on line %u",
                  quote(troc_csv_get(csv, row, columns->id), shown), troc_csv_row_line(csv, first_row));
}

int troc__clear_intern_fail(int rc) {
    if (rc == TROC_ELIMIT) return troc_cli_fail(TROC_EXIT_USAGE, "more than %u distinct names", TROC_INTERN_COUNT_MAX);
    return memory_fail();
}

/* INPUT is read, then its rows are checked and their firms interned (in
 * parts at the same time, clear_rows.c); the ids are compared later, beside
 * the solve (troc__clear_compare_ids()). */
int troc__clear_read_input(const troc__clear_options *options, troc__clear_data *data) {
    assert(options != NULL && options->input_path != NULL);
    assert(data != NULL && data->input == NULL);
    int status = read_csv(options->input_path, options->thread_count, input_columns_read, &data->input);
    if (status != 0) return status;
    troc__input_columns *columns = &data->columns;
    status = find_input_columns(options, data->input, columns);
    if (status != 0) return status;
    size_t rows = troc_csv_row_count(data->input);
    data->obligations = troc_large_malloc((rows > 0 ? rows : 1) * sizeof *data->obligations);
    if (data->obligations == NULL) return memory_fail();
    status = troc__clear_read_rows(options, data, columns);
    if (status != 0) return status;
    data->input_firm_count = troc_intern_count(data->firms);
    /* What the solve does not read goes back before it starts, and its
     * first arrays take those pages rather than fresh ones: the positions
     * of INPUT's fields (RESULT copies whole rows; the ids, compared
     * beside the solve, are found again in their rows), and in plain
     * mode the firms' names (only their numbers are used). */
    troc_csv_keep_rows_only(data->input);
    if (options->accounts_path == NULL) {
        troc_intern_destroy(data->firms);
        data->firms = NULL;
    }
    return 0;
}

static int read_account(const troc__clear_options *options, troc__clear_data *data, const account_columns *columns,
                        size_t row) {
    const char *path = options->accounts_path;
    const troc_csv *csv = data->accounts_file;
    uint32_t line = troc_csv_row_line(csv, row);
    troc_csv_field member = troc_csv_get(csv, row, columns->member);
    uint32_t index = 0;
    troc__clear_refusal refusal;
    if (check_firm_name(&refusal, line, "member", member) != 0) return troc__clear_report(path, &refusal);
    bool added = false;
    int rc = troc_intern_add(data->firms, member.text, member.length, &index, &added);
    if (rc != 0) return troc__clear_intern_fail(rc);
    if (data->account_lines[index] != 0) {
        char shown[QUOTED_SIZE];
        return file_fail(path, line, "member %s already has an account on line %u", quote(member, shown),
                         data->account_lines[index]);
    }
    troc_clearing_account *account = &data->accounts[index];
    account->balance_max_cents = TROC_CLEARING_NO_MAX;
    int status = read_amount(&refusal, line, "balance", troc_csv_get(csv, row, columns->balance), AMOUNT_BALANCE,
                             &account->balance_cents);
    if (status == 0) {
        status = read_amount(&refusal, line, "credit_limit", troc_csv_get(csv, row, columns->credit_limit),
                             AMOUNT_LIMIT, &account->credit_limit_cents);
    }
    if (status == 0 && columns->has_balance_max) {
        troc_csv_field maximum = troc_csv_get(csv, row, columns->balance_max);
        if (trim(maximum).length > 0) {
            status = read_amount(&refusal, line, "balance_max", maximum, AMOUNT_LIMIT,
                                 &account->balance_max_cents);
        }
    }
    if (status != 0) return troc__clear_report(path, &refusal);
    data->account_lines[index] = line;
    data->account_firms[row] = index;
    return 0;
}

int troc__clear_read_accounts(const troc__clear_options *options, troc__clear_data *data) {
    assert(options != NULL && options->accounts_path != NULL);
    assert(data != NULL && data->firms != NULL && data->accounts_file == NULL);
    const char *path = options->accounts_path;
    int status = read_csv(path, options->thread_count, NULL, &data->accounts_file);
    if (status != 0) return status;
    const troc_csv *csv = data->accounts_file;
    account_columns columns = {0};
    status = find_column(path, csv, "member", true, &columns.member, NULL);
    if (status == 0) status = find_column(path, csv, "balance", true, &columns.balance, NULL);
    if (status == 0) status = find_column(path, csv, "credit_limit", true, &columns.credit_limit, NULL);
    if (status == 0) {
        status = find_column(path, csv, "balance_max", false, &columns.balance_max, &columns.has_balance_max);
    }
    if (status != 0) return status;
    /* Every member may be a firm INPUT does not name. */
    size_t firm_bound = (size_t)data->input_firm_count + troc_csv_row_count(csv) + 1;
    data->accounts = malloc(firm_bound * sizeof *data->accounts);
    data->account_lines = calloc(firm_bound, sizeof *data->account_lines);
    data->account_firms = malloc(firm_bound * sizeof *data->account_firms);
    if (data->accounts == NULL || data->account_lines == NULL || data->account_firms == NULL) return memory_fail();
    for (size_t i = 0; i < firm_bound; i++) {
        data->accounts[i] = (troc_clearing_account){.balance_max_cents = TROC_CLEARING_NO_MAX};
    }
    for (size_t row = 0; row < troc_csv_row_count(csv); row++) {
        status = read_account(options, data, &columns, row);
        if (status != 0) return status;
    }
    for (uint32_t firm = 0; firm < data->input_firm_count; firm++) {
        data->firms_without_account += data->account_lines[firm] == 0;
    }
    return 0;
}

void troc__clear_data_free(troc__clear_data *data) {
    assert(data != NULL);
    troc_intern_destroy(data->firms);
    troc_csv_free(data->input);
    troc_csv_free(data->accounts_file);
    free(data->obligations);
    free(data->accounts);
    free(data->account_lines);
    free(data->account_firms);
    memset(data, 0, sizeof *data);
}
