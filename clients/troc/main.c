/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc: the command line of the territory's ledger, for administrators,
 * member businesses and accountants.
 *
 * Global options (--server, --key, --server-key, --json, --help) are accepted
 * anywhere on the line, before a "--", so that `troc balance --json` and
 * `troc --json balance` both work.  The command is the longest run of words
 * that names an entry of the table ("admin member key add").  Every command
 * answers --help with its usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/streams.h"
#include "cli.h"
#include "commands.h"
#include "crypto/crypto.h"
#include "session.h"

#define COMMAND_WORDS_MAX 4

typedef struct command {
    const char *name;          /* words separated by single spaces */
    troc_cli_command_fn *run;
    const char *usage;         /* arguments after the name */
    const char *summary;       /* one line for `troc --help` */
    const char *details;       /* more for `troc COMMAND --help`, or NULL */
} command;

#define CLEAR_DETAILS                                                                                    \
    "  INPUT.csv      a header row, then one unpaid invoice per row; columns found by name:\n"             \
    "                 debtor, creditor, amount (1234.56: at most two decimals), id (optional,\n"           \
    "                 unique); any other column is copied through, but not one named cleared,\n"       \
    "                 remaining or paid; comma-separated, UTF-8, no control character but tab\n"    \
    "                 (and line breaks in quoted fields); '-' reads standard input (so may\n"        \
    "                 ACCOUNTS.csv, but not both)\n"                                                  \
    "  --out FILE     write INPUT's rows with cleared (paid) and remaining added; '-' for\n"             \
    "                 standard output; written whole or not at all (a new file renamed into\n"      \
    "                 place: a regular FILE, or the file a link names). Without it: summary only\n" \
    "  --with-credit ACCOUNTS.csv\n"                                                                   \
    "                 also pay what set-off leaves, in credit within every credit line;\n"            \
    "                 columns member, balance, credit_limit, balance_max (empty: no maximum)\n"      \
    "  --balances-out FILE\n"                                                                          \
    "                 credit mode: member, balance_before, paid, received, balance_after\n"           \
    "  --threads N    threads that read, check, solve and write (default: one per processor,\n"      \
    "                 at most 8; the solver takes two at most); the result is the same\n"            \
    "                 whatever N\n"                                                                  \
    "  --json         the summary as one JSON object (not with --out -)\n"                           \
    "exit status: 0 done; 2 bad usage or bad input (the message names the bad line;\n"             \
    "nothing is written); 1 a failure after the input was accepted (nothing is written), or a\n"  \
    "summary that could not be printed.\n"                                                          \
    "More in README.md, \"Clearing a CSV offline\"."

#define ADMIN_CLEAR_DETAILS                                                                              \
    "  --with-credit  also pay what set-off leaves, in credit within every credit line\n"             \
    "  --dry-run      solve on the current obligations and show what the round would settle;\n"     \
    "                 nothing is applied or recorded\n"                                                \
    "  --limit N      with --dry-run: settlements to list (default 100, at most 1000)\n"                         \
    "  --id HEX       the request's id (32 hex digits): a retry of a request whose round was\n"    \
    "                 applied answers that round instead of running another; a request that\n"    \
    "                 found nothing to clear left no round, so its retry runs a new one\n"         \
    "It waits until the round is committed and prints it: up to 10 minutes, then for a round\n"    \
    "(not a dry run) once more as long for the same request sent again (exit 3 without an\n"       \
    "answer: ask again with --id; a dry run is not sent again and has no id: run it again).\n"    \
    "Ctrl-C stops the wait, not a round the daemon received: 'troc clearing show' shows it.\n"    \
    "When there is nothing to clear, no round is recorded and it exits 0; a round that could\n"   \
    "not be run exits 1 with the reason (--json: result \"unavailable\", the reason in detail)."

#define PAY_DETAILS                                                                                      \
    "  AMOUNT         in the territory's unit, at most two decimals (12.50)\n"                        \
    "  --memo TEXT    a note on both statements (at most 256 bytes)\n"                                \
    "  --id HEX       the transfer's id (32 hex digits): sending the same payment again with\n"       \
    "                 it is answered with the first result and pays nothing twice"

#define MEMBER_ADD_DETAILS                                                                               \
    "  NAME           1 to 64 of a-z 0-9 . _ - (a NAME starting with '-' goes after '--', every\n"   \
    "                 option before it); a member is never renamed or removed\n"                      \
    "  --pubkey PK    the member's public key, 64 hex digits, as 'troc pubkey' prints it\n"          \
    "  --credit-limit AMOUNT\n"                                                                        \
    "                 how far below zero its balance may go (default 0)\n"                           \
    "  --balance-max AMOUNT|none\n"                                                                    \
    "                 how far above zero it may go (default none: no maximum)\n"                     \
    "A limit is at most 10000000000000.00."

#define KEY_DETAILS                                                                                      \
    "  PK             the public key, 64 hex digits, as 'troc pubkey' prints it\n"                   \
    "A member holds at most 16 keys at once and can be given 64 in all, revoked ones included;\n"   \
    "a key is registered once in a territory and never again once revoked; a member's last\n"       \
    "key cannot be revoked (add the new one first)."

#define LIMIT_DETAILS                                                                                    \
    "  --credit-limit AMOUNT\n"                                                                        \
    "                 how far below zero the balance may go\n"                                       \
    "  --balance-max AMOUNT|none\n"                                                                    \
    "                 how far above zero it may go; none removes the maximum\n"                      \
    "  --reason TEXT  why, recorded with the change and shown by 'troc member' (required: at\n"    \
    "                 most 512 bytes, and something visible, not spaces alone)\n"                    \
    "At least one of the two limits is needed; a limit is at most 10000000000000.00. A limit\n"    \
    "may be set below the balance (or a maximum under it): the change is made, and a note\n"      \
    "says the account is then outside its limits."

#define FREEZE_DETAILS                                                                                   \
    "  --reason TEXT  why, recorded with the action (required: at most 512 bytes, and\n"         \
    "                 something visible, not spaces alone)\n"                                        \
    "A frozen account can neither pay nor be paid until it is unfrozen."

#define STATS_DETAILS                                                                                    \
    "  member payments    transfers members signed ('troc pay', 'troc invoice pay', each item of\n"    \
    "                     a batch; --json: transfers). A clearing round's set-offs and credit\n"      \
    "                     payments are not counted: 'clearing runs' counts the rounds, and\n"        \
    "                     'troc clearing show' says what each one settled"

#define BALANCE_DETAILS                                                                                  \
    "  NAME           another member's account (administrators, who must name one)"

#define MEMBER_DETAILS                                                                                   \
    "  NAME           another member's record (administrators, who must name one)"

#define HISTORY_DETAILS                                                                                  \
    "  NAME           another member's statement (administrators, who must name one)\n"                                  \
    "  --limit N      lines to show (default 20, at most 10000)\n"                                  \
    "  --before SEQ   only lines older than line SEQ: the next page, as the last one says"

#define MEMBER_LIST_DETAILS                                                                              \
    "  --over-limit   only accounts outside their limits (below the credit line, above the\n"      \
    "                 balance maximum): those 'troc admin stats' counts as over their limit\n"      \
    "  --frozen       only frozen accounts (with --over-limit: those both)\n"                      \
    "  --limit N      members to show (default 100, at most 10000)\n"                               \
    "  --after NAME   only members named after NAME: the next page, as the last one says"

#define INVOICE_ISSUE_DETAILS                                                                            \
    "  DEBTOR AMOUNT  who owes you, and how much (at most two decimals)\n"                           \
    "  --ref TEXT     your reference, shown to both (at most 128 bytes)\n"                           \
    "  --due DATE     the due date, YYYY-MM-DD (leave it out for none)\n"                            \
    "  --id HEX       the invoice's id (32 hex digits), so that a retry issues it once"

#define INVOICE_PAY_DETAILS                                                                              \
    "  ID [AMOUNT]    the invoice, and how much of it (default: all that remains now)\n"              \
    "  --memo TEXT    shown to both (default: invoice REF, or invoice ID without a REF)\n"            \
    "  --id HEX       the transfer's id (32 hex digits), so that a retry pays once; a retry\n"      \
    "                 must sign the same payment: give it the AMOUNT the first run paid\n"          \
    "                 (without AMOUNT it pays what remains then, which the first run changed)"

#define INVOICE_LIST_DETAILS                                                                             \
    "  NAME           another member's invoices (administrators)\n"                                   \
    "  --open         only pending and open ones\n"                                                   \
    "  --as debtor|creditor  only those owed, or only those issued\n"                                 \
    "  --limit N      invoices to show (default 50, at most 10000)\n"                               \
    "  --after ID     only invoices older than invoice ID: the next page, as the last one says"

#define CLEARING_SHOW_DETAILS                                                                            \
    "  RUN            the round's number (default: the latest)\n"                                     \
    "  --limit N      settlements to list (default 100, at most 10000)\n"                          \
    "  --offset N     skip the first N settlements: the next page, as the last one says"

static const command commands[] = {
    {"keygen", troc__cmd_keygen, "FILE", "write a new secret key file (mode 0600) and print its public key", NULL},
    {"pubkey", troc__cmd_pubkey, "FILE", "print the public key of a key file", NULL},
    {"clear", troc__cmd_clear,
     "INPUT.csv [--out RESULT.csv] [--with-credit ACCOUNTS.csv [--balances-out BALANCES.csv]] [--threads N] [--json]",
     "clear a CSV of unpaid invoices offline: exact set-off (and credit payments)", CLEAR_DETAILS},
    {"admin member add", troc__cmd_admin_member_add, TROC_USAGE_MEMBER_ADD,
     "admit a member with its public key and credit line (default 0, no balance maximum)", MEMBER_ADD_DETAILS},
    {"admin member list", troc__cmd_admin_member_list, TROC_USAGE_MEMBER_LIST,
     "the members and their accounts, by name (--over-limit, --frozen: only those)", MEMBER_LIST_DETAILS},
    {"admin member key add", troc__cmd_admin_key_add, TROC_USAGE_KEY, "register another key of a member",
     KEY_DETAILS},
    {"admin member key revoke", troc__cmd_admin_key_revoke, TROC_USAGE_KEY, "revoke one of a member's keys",
     KEY_DETAILS},
    {"admin limit", troc__cmd_admin_limit, TROC_USAGE_LIMIT,
     "change a member's credit limit or balance maximum, with the reason recorded", LIMIT_DETAILS},
    {"admin freeze", troc__cmd_admin_freeze, TROC_USAGE_FREEZE, "freeze an account: no payment in or out",
     FREEZE_DETAILS},
    {"admin unfreeze", troc__cmd_admin_unfreeze, TROC_USAGE_FREEZE, "unfreeze an account", FREEZE_DETAILS},
    {"admin stats", troc__cmd_admin_stats, TROC_USAGE_STATS,
     "the territory's statistics: members, debt, over-limit accounts, invoices, obligations, clearing runs",
     STATS_DETAILS},
    {"pay", troc__cmd_pay, TROC_USAGE_PAY, "pay another member in credit (an id makes a retry safe)", PAY_DETAILS},
    {"balance", troc__cmd_balance, TROC_USAGE_BALANCE, "a balance and its limits (yours by default)",
     BALANCE_DETAILS},
    {"history", troc__cmd_history, TROC_USAGE_HISTORY, "a statement, newest first, with the running balance",
     HISTORY_DETAILS},
    {"member", troc__cmd_member, TROC_USAGE_MEMBER, "a member's record: account, keys, limit changes",
     MEMBER_DETAILS},
    {"invoice issue", troc__cmd_invoice_issue, TROC_USAGE_INVOICE_ISSUE,
     "bill another member (you are the creditor); prints the invoice id", INVOICE_ISSUE_DETAILS},
    {"invoice accept", troc__cmd_invoice_accept, TROC_USAGE_INVOICE_ID,
     "accept an invoice you owe: it becomes an obligation", NULL},
    {"invoice reject", troc__cmd_invoice_reject, TROC_USAGE_INVOICE_REJECT, "refuse an invoice you were sent", NULL},
    {"invoice cancel", troc__cmd_invoice_cancel, TROC_USAGE_INVOICE_ID,
     "withdraw an invoice you issued, before it is accepted", NULL},
    {"invoice pay", troc__cmd_invoice_pay, TROC_USAGE_INVOICE_PAY,
     "pay (part of) an invoice you owe in credit; default: all that remains", INVOICE_PAY_DETAILS},
    {"invoice show", troc__cmd_invoice_show, TROC_USAGE_INVOICE_ID,
     "one invoice you issued or owe (administrators: any), as it stands now", NULL},
    {"invoice list", troc__cmd_invoice_list, TROC_USAGE_INVOICE_LIST,
     "invoices you issued or owe, newest first (--open: pending and open ones)", INVOICE_LIST_DETAILS},
    {"admin clear", troc__cmd_admin_clear, TROC_USAGE_CLEAR,
     "run a clearing round now: set off cycles of obligations (--dry-run applies nothing)",
     ADMIN_CLEAR_DETAILS},
    {"clearing show", troc__cmd_clearing_show, TROC_USAGE_CLEARING_SHOW,
     "a clearing round (the latest by default) and its settlements", CLEARING_SHOW_DETAILS},
    {"admin backup", troc__cmd_admin_backup, TROC_USAGE_BACKUP,
     "hot copy of the ledger and its key into DEST, a new or empty directory on the daemon's machine "
     "(an absolute path)", NULL},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

/* The help texts above write these limits out. */
_Static_assert(TROC_REASON_LENGTH_MAX == 512, "LIMIT_DETAILS and FREEZE_DETAILS say 512 bytes");
_Static_assert(TROC_NAME_LENGTH_MAX == 64, "MEMBER_ADD_DETAILS says 1 to 64 characters");
_Static_assert(TROC_MEMO_LENGTH_MAX == 256, "PAY_DETAILS says 256 bytes");

/* What every command that talks to trocd shares, under its own help. */
#define SERVER_FOOTER                                                                                   \
    "\nwith the options of every command: --server HOST:PORT, --key FILE, --server-key HEX,\n"        \
    "--json (see 'troc --help')\n"                                                                     \
    "exit status: 0 done, 1 refused by the ledger or the server (the reason is printed) or\n"     \
    "output not written (what was done stands; the item made is named on stderr), 2 bad usage,\n" \
    "3 server unreachable\n"

/* Commands that work without a daemon. */
static bool offline(const command *c) {
    return c->run == troc__cmd_keygen || c->run == troc__cmd_pubkey || c->run == troc__cmd_clear;
}

/* Commands only an administrator's session may run: every "admin ..."
 * one, and the clearing rounds' reader. */
static bool admin_only(const command *c) {
    return strncmp(c->name, "admin ", 6) == 0 || c->run == troc__cmd_clearing_show;
}

/* Whether a progress line stands on stderr without its line end. */
static bool progress_line;

void troc_cli_progress_line(bool shown) {
    progress_line = shown;
}

int troc_cli_fail(int status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    if (progress_line) fputs("\r\033[K", stderr);
    progress_line = false;
    fputs("troc: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return status;
}

bool troc_cli_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    }
    return false;
}

/* "troc NAME USAGE" (no trailing space for a command without arguments). */
static void print_command(FILE *out, const char *lead, const command *c) {
    fprintf(out, "%stroc %s%s%s\n", lead, c->name, c->usage[0] != '\0' ? " " : "", c->usage);
}

static void print_help(FILE *out) {
    fputs("usage: troc [--server HOST:PORT] [--key FILE] [--server-key HEX] [--json] COMMAND ...\n\n"
          "commands:\n", out);
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        print_command(out, "  ", &commands[i]);
        fprintf(out, "      %s\n", commands[i].summary);
    }
    fputs("\nglobal options:\n"
          "  --server HOST:PORT  the territory's trocd (env TROC_SERVER, default 127.0.0.1:7400);\n"
          "                      IPv6 as [ADDRESS]:PORT ([::1]:7400); a path names a Unix socket\n"
          "  --key FILE          your secret key file (env TROC_KEY)\n"
          "  --server-key HEX    the territory's public key; otherwise it is pinned on first use\n"
          "  --json              print one JSON object on stdout\n"
          "  --version           print troc's version (with --json: {\"version\":\"...\"})\n"
          "\nexit status: 0 done, 1 refused (ledger or server) or output not written, 2 bad usage or input,\n"
          "3 server unreachable\n",
          out);
}

/* --json asks every command for one object, --version included: a script
 * checking which troc it drives reads it as it reads the rest. */
static void print_version(const troc_cli *cli) {
    if (!cli->json) {
        printf("troc %s\n", TROC_VERSION);
        return;
    }
    troc_json json;
    troc_json_start(&json, stdout);
    troc_json_string(&json, "version", TROC_VERSION);
    troc_json_finish(&json);
}

/* Takes the global options out of argv (in place); returns the new argc, or
 * -1 after printing an error.  One given twice is refused, as a command's
 * options are: a second --key would silently decide who pays. */
static int extract_global_options(troc_cli *cli, int argc, char **argv) {
    int kept = 0;
    bool after_dashes = false;
    bool given[3] = {false, false, false}; /* --server, --key, --server-key seen */
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!after_dashes && strcmp(arg, "--") == 0) after_dashes = true;
        const char **target = NULL;
        if (!after_dashes) {
            if (strcmp(arg, "--server") == 0) target = &cli->server;
            if (strcmp(arg, "--key") == 0) target = &cli->key_path;
            if (strcmp(arg, "--server-key") == 0) target = &cli->server_key;
            if (strcmp(arg, "--json") == 0) {
                cli->json = true;
                continue;
            }
        }
        if (target != NULL) {
            if (i + 1 >= argc) {
                troc_cli_fail(TROC_EXIT_USAGE, "%s needs a value", arg);
                return -1;
            }
            size_t slot = target == &cli->server ? 0 : target == &cli->key_path ? 1 : 2;
            if (given[slot]) {
                troc_cli_fail(TROC_EXIT_USAGE, "given twice: %s; give it once", arg);
                return -1;
            }
            given[slot] = true;
            *target = argv[++i];
            continue;
        }
        argv[kept++] = argv[i];
    }
    return kept;
}

/* Number of leading words of argv that begin the name of `entry`. */
static int words_matching(const command *entry, int argc, char **argv) {
    const char *p = entry->name;
    int words = 0;
    while (words < argc && words < COMMAND_WORDS_MAX && *p != '\0') {
        size_t length = strcspn(p, " ");
        if (strlen(argv[words]) != length || strncmp(argv[words], p, length) != 0) break;
        words++;
        p += length;
        if (*p == ' ') p++;
    }
    return words;
}

/* For a partial command ("troc admin", "troc invoice"): lists the commands
 * it begins and returns true; false when argv begins none.  A word after
 * the partial command that continues none ("troc admin frobnicate") is
 * named as unknown: saying a command is missing would send the reader
 * looking for a word that is there. */
static bool print_commands_under(int argc, char **argv, bool asked) {
    FILE *out = asked ? stdout : stderr;
    int best = 0;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        int words = words_matching(&commands[i], argc, argv);
        if (words > best) best = words;
    }
    if (best == 0) return false;
    if (asked) {
        fputs("usage: troc", out);
    } else if (best < argc) {
        fprintf(out, "troc: unknown command '%s' after 'troc", argv[best]);
    } else {
        fputs("troc: a command is missing after 'troc", out);
    }
    for (int i = 0; i < best; i++) fprintf(out, " %s", argv[i]);
    fputs(asked ? " COMMAND ...\n\ncommands:\n" : "'; one of:\n", out);
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (words_matching(&commands[i], argc, argv) == best) {
            print_command(out, "  ", &commands[i]);
            fprintf(out, "      %s\n", commands[i].summary);
        }
    }
    return true;
}

/* The entry whose name matches the most leading words of argv. */
static const command *find_command(int argc, char **argv, int *words_out) {
    const command *best = NULL;
    int best_words = 0;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const char *name = commands[i].name;
        int words = 0;
        const char *p = name;
        while (words < argc && words < COMMAND_WORDS_MAX) {
            size_t length = strcspn(p, " ");
            if (strlen(argv[words]) != length || strncmp(argv[words], p, length) != 0) break;
            words++;
            p += length;
            if (*p == '\0') break;
            p++;
        }
        if (*p == '\0' && words > best_words) {
            best = &commands[i];
            best_words = words;
        }
    }
    *words_out = best_words;
    return best;
}

/* Runs the command argv names; returns its exit status. */
static int run(troc_cli *cli, int argc, char **argv) {
    int count = extract_global_options(cli, argc - 1, argv + 1);
    if (count < 0) return TROC_EXIT_USAGE;
    char **args = argv + 1;
    if (count == 1 && strcmp(args[0], "--version") == 0) {
        print_version(cli);
        return TROC_EXIT_OK;
    }
    if (count == 0 || strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0 || strcmp(args[0], "help") == 0) {
        print_help(count == 0 ? stderr : stdout);
        return count == 0 ? TROC_EXIT_USAGE : TROC_EXIT_OK;
    }
    int words = 0;
    const command *found = find_command(count, args, &words);
    if (found == NULL) {
        bool asked = troc_cli_wants_help(count, args);
        if (print_commands_under(count, args, asked)) return asked ? TROC_EXIT_OK : TROC_EXIT_USAGE;
        return troc_cli_fail(TROC_EXIT_USAGE, "unknown command '%s'; see 'troc --help'", args[0]);
    }
    if (troc_cli_wants_help(count - words, args + words)) {
        print_command(stdout, "usage: ", found);
        printf("  %s\n", found->summary);
        if (found->details != NULL) printf("\n%s\n", found->details);
        if (!offline(found)) fputs(SERVER_FOOTER, stdout);
        return TROC_EXIT_OK;
    }
    if (troc_crypto_init() != 0) return troc_cli_fail(TROC_EXIT_SERVER, "cannot initialise libsodium");
    if (admin_only(found)) cli->admin_command = found->name;
    return found->run(cli, count - words + 1, args + words - 1);
}

/* Output still buffered is written here, where a failure can still change
 * the exit status: left to exit(), a full disk or a reader gone from a pipe
 * would leave a script an empty out.json and status 0 (a standard output
 * closed from the start is refused in main, before anything is done).  A
 * command that failed already said why (troc clear says itself when its
 * summary could not be printed); its status stands. */
static int output_written(int status) {
    int rc = troc_standard_output_flush();
    if (rc == 0 || status != TROC_EXIT_OK) return status;
    troc_cli_fail(TROC_EXIT_REFUSED, "cannot write the output: %s", strerror(-rc));
    /* The output was the item's id: say it where it can still be read. */
    troc__cli_applied_lost();
    return TROC_EXIT_REFUSED;
}

int main(int argc, char **argv) {
    /* Before anything is opened: started with standard output closed, troc
     * would print into the first file it opens (a result CSV). */
    unsigned closed = 0;
    if (troc_standard_streams_open(&closed) != 0) return TROC_EXIT_REFUSED; /* nothing safe to print to */
    /* Every command's result is on standard output, a payment's id
     * included: with it closed, the result would be lost and the exit
     * status say all went well.  Refused before anything is sent or
     * written.  (With standard error closed too, the status alone speaks.) */
    if ((closed & TROC_STREAM_OUTPUT) != 0) {
        return troc_cli_fail(TROC_EXIT_USAGE,
                             "standard output is closed: give the command an output (>/dev/null to discard it)");
    }
    troc_cli cli = {
        .server = getenv("TROC_SERVER") ? getenv("TROC_SERVER") : "127.0.0.1:7400",
        .key_path = getenv("TROC_KEY"),
    };
    return output_written(run(&cli, argc, argv));
}
