/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc invoice ...: a member's invoices.
 *
 *   issue DEBTOR AMOUNT [--ref TEXT] [--due YYYY-MM-DD] [--id HEX]
 *                            the creditor bills a debtor; prints the invoice id
 *   accept ID                the debtor accepts: the invoice becomes an obligation
 *   reject ID --reason TEXT  the debtor refuses it
 *   cancel ID                the creditor withdraws it, before acceptance
 *   pay ID [AMOUNT] [--memo TEXT] [--id HEX]
 *                            the debtor pays (part of) it in credit; default:
 *                            all that remains
 *   list [NAME] [--open] [--as debtor|creditor] [--limit N]
 *
 * Each action is signed with the member's key and submitted once, retried
 * once with the same signed item after a lost connection (the ledger
 * applies an id once).  The command line checks what it must to build the
 * item (names, amounts, ids), free text as it checks a memo (--ref,
 * --reason: UTF-8, no control characters, the length limit) and the due
 * date (a calendar date, as the ledger checks it) so that a typo is told
 * before anything is sent (exit 2); the ledger judges the rest and refuses
 * with a result code (exit 1): an action by the wrong party
 * (not_debtor, not_creditor), an invoice in the wrong state
 * (invoice_not_pending, invoice_not_open), a payment beyond what remains
 * (exceeds_obligation).  The one refusal made
 * here is paying an invoice one is the creditor of (not_debtor): the
 * payment would go from the creditor to itself.
 *
 * A refusal about the invoice's state (invoice_not_pending,
 * invoice_not_open, exceeds_obligation) names no state: it is the same for
 * an invoice accepted already as for one cancelled.  So the invoice is
 * read after it, and a line says what it now is and what to do; the most
 * common case is a retry of an action whose answer was lost, whose first
 * try worked.  The refusal itself (its code, exit 1) is unchanged.
 *
 * After an action the invoice is read back and shown as it now stands.  A
 * read that fails (the connection lost after the action's reply) does not
 * undo the action: what the command knows of the invoice is shown instead
 * (for an issue, what it sent), with the command that shows the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "base/limits.h"
#include "base/text.h"
#include "commands.h"
#include "invoice.h"
#include "session.h"
#include "table.h"

/* ------------------------------------------------------------ helpers */

int troc__cli_take_flag(int *argc, char **argv, const char *flag) {
    int found = 0, kept = 1;
    bool ended = false;
    for (int i = 1; i < *argc; i++) {
        if (!ended && strcmp(argv[i], "--") == 0) ended = true;
        if (!ended && strcmp(argv[i], flag) == 0) {
            found++;
            continue;
        }
        argv[kept++] = argv[i];
    }
    *argc = kept;
    return found;
}

int troc__cli_flags(int *argc, char **argv, const char *usage, const char *const *names, bool *values,
                    int count) {
    for (int i = 0; i < count; i++) {
        int found = troc__cli_take_flag(argc, argv, names[i]);
        if (found > 1) return troc_cli_fail(TROC_EXIT_USAGE, "given twice: %s\nusage: %s", names[i], usage);
        values[i] = found == 1;
    }
    return 0;
}

int troc__cli_check_invoice_id(const char *what, const char *text, uint8_t id[TROC_ID_SIZE]) {
    if (troc_id_from_hex(text, id) == 0) return 0;
    return troc_cli_fail(TROC_EXIT_USAGE,
                         "%s '%s' is not an invoice id (32 hex digits, as 'troc invoice issue' and 'troc invoice "
                         "list' print them)",
                         what, text);
}

const char *troc__cli_invoice_status(troc_invoice_status status) {
    static const char *const names[] = {"pending", "open", "settled", "rejected", "cancelled"};
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "unknown";
}

/* Connects with a member's key (exit 2 for an administrator's). */
static int member_connect(const troc_cli *cli, const char *doing, troc_client **client_out) {
    int status = troc__cli_connect(cli, client_out);
    if (status != 0) return status;
    if (troc_client_role(*client_out) == TROC_SESSION_MEMBER) return 0;
    troc_client_free(*client_out);
    *client_out = NULL;
    return troc_cli_fail(TROC_EXIT_USAGE, "%s is an administrator's key; %s with a member's key", cli->key_path,
                         doing);
}

/* Whether something still owed was due before `today` (an ISO 8601 time,
 * of which the date counts).  Only an open invoice is owed: a pending one
 * is not yet, until its debtor accepts it. */
static bool overdue_on(const troc_invoice_record *invoice, const char *today) {
    if (invoice->status != TROC_INVOICE_STATUS_OPEN) return false;
    if (invoice->due[0] == '\0' || invoice->remaining_cents <= 0) return false;
    return strncmp(invoice->due, today, 10) < 0; /* YYYY-MM-DD sorts as dates do */
}

/* Now, UTC, by this machine's clock. */
static char *today_utc(char today[TROC_CLI_TIME_SIZE]) {
    return troc__cli_time((int64_t)time(NULL) * 1000000, true, today);
}

static bool overdue(const troc_invoice_record *invoice) {
    char today[TROC_CLI_TIME_SIZE];
    return overdue_on(invoice, today_utc(today));
}

static void json_invoice(troc_json *json, const char *key, const troc_invoice_record *invoice) {
    char id[TROC_ID_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    troc_id_to_hex(invoice->id, id);
    troc_json_object_begin(json, key);
    troc_json_string(json, "id", id);
    troc_json_string(json, "state", troc__cli_invoice_status(invoice->status));
    troc_json_string(json, "creditor", invoice->creditor);
    troc_json_string(json, "debtor", invoice->debtor);
    troc_json_amount(json, "amount", invoice->amount_cents);
    troc_json_amount(json, "remaining", invoice->remaining_cents);
    troc_json_amount(json, "paid", invoice->paid_cents);
    troc_json_amount(json, "cleared", invoice->cleared_cents);
    troc_json_string(json, "ref", invoice->ref);
    troc_json_string(json, "due", invoice->due[0] != '\0' ? invoice->due : NULL);
    troc_json_bool(json, "overdue", overdue(invoice));
    troc_json_int(json, "issued_us", invoice->issued_us);
    troc_json_string(json, "issued", troc__cli_time(invoice->issued_us, true, time_text));
    troc_json_string(json, "reject_reason", invoice->reject_reason[0] != '\0' ? invoice->reject_reason : NULL);
    troc_json_object_end(json);
}

static void print_invoice(const troc_invoice_record *invoice, const char *unit) {
    char amount[TROC_AMOUNT_TEXT_SIZE], remaining[TROC_AMOUNT_TEXT_SIZE];
    char paid[TROC_AMOUNT_TEXT_SIZE], cleared[TROC_AMOUNT_TEXT_SIZE];
    printf("  creditor   %s\n", invoice->creditor);
    printf("  debtor     %s\n", invoice->debtor);
    printf("  amount     %s %s\n", troc_amount_format(invoice->amount_cents, amount), unit);
    printf("  remaining  %s %s (paid %s, cleared %s)\n", troc_amount_format(invoice->remaining_cents, remaining),
           unit, troc_amount_format(invoice->paid_cents, paid), troc_amount_format(invoice->cleared_cents, cleared));
    printf("  state      %s\n", troc__cli_invoice_status(invoice->status));
    if (invoice->due[0] != '\0') printf("  due        %s%s\n", invoice->due, overdue(invoice) ? " (overdue)" : "");
    if (invoice->ref[0] != '\0') printf("  ref        %s\n", invoice->ref);
    if (invoice->reject_reason[0] != '\0') printf("  rejected   %s\n", invoice->reject_reason);
}

/* What an accepted action says: its name in JSON ("accept"), its verb on
 * a terminal ("accepted"), for a payment the amount paid, and for an issue
 * what it sent, which is all that is known of the invoice when it cannot
 * be read back. */
typedef struct action_words {
    const char *name;
    const char *verb;
    int64_t paid_cents;                    /* 0: not a payment */
    bool pays_rest;                        /* a payment without AMOUNT: what remained when read */
    const troc_invoice_action *issued;     /* an issue's action, else NULL */
} action_words;

/* An applied action as it is printed. */
typedef struct action_done {
    const action_words *words;
    const troc_submit_result *result;
    char invoice_id[TROC_ID_HEX_SIZE];
    bool known;                            /* the invoice was read back */
    troc_invoice_record invoice;           /* as it now stands, when known */
    char read_error[256];                  /* why it was not, otherwise */
    char unit[TROC_UNIT_LENGTH_MAX + 1];   /* kept: a lost connection forgets it */
    char member[TROC_NAME_LENGTH_MAX + 1]; /* the session's member: an issue's creditor */
} action_done;

/* An invoice that could not be read back, in JSON: for an issue what was
 * sent (all of the invoice but its state and what became of it), and why
 * it could not be read. */
static void json_unread(troc_json *json, const action_done *done) {
    const troc_invoice_action *sent = done->words->issued;
    if (sent != NULL) {
        troc_json_string(json, "creditor", done->member);
        troc_json_string(json, "debtor", sent->debtor);
        troc_json_amount(json, "amount", sent->amount_cents);
        troc_json_string(json, "ref", sent->ref != NULL ? sent->ref : "");
        troc_json_string(json, "due", sent->due);
    }
    troc_json_string(json, "read_error", done->read_error);
}

static void done_json(const action_done *done) {
    troc_json json;
    troc_json_start(&json, stdout);
    troc__cli_json_result(&json, done->result);
    troc_json_string(&json, "action", done->words->name);
    troc_json_string(&json, "invoice_id", done->invoice_id);
    if (done->words->paid_cents > 0) troc_json_amount(&json, "paid", done->words->paid_cents);
    if (done->known) json_invoice(&json, "invoice", &done->invoice);
    else json_unread(&json, done);
    troc_json_string(&json, "unit", done->unit);
    troc_json_finish(&json);
}

static void done_print(const action_done *done) {
    char time_text[TROC_CLI_TIME_SIZE], amount[TROC_AMOUNT_TEXT_SIZE];
    const action_words *words = done->words;
    if (words->paid_cents > 0) {
        printf("paid %s %s of invoice %s\n", troc_amount_format(words->paid_cents, amount), done->unit,
               done->invoice_id);
    } else {
        printf("%s invoice %s\n", words->verb, done->invoice_id);
    }
    if (done->known) {
        print_invoice(&done->invoice, done->unit);
    } else if (words->issued != NULL) {
        printf("  creditor   %s\n", done->member);
        printf("  debtor     %s\n", words->issued->debtor);
        printf("  amount     %s %s\n", troc_amount_format(words->issued->amount_cents, amount), done->unit);
        if (words->issued->due != NULL) printf("  due        %s\n", words->issued->due);
        if (words->issued->ref != NULL) printf("  ref        %s\n", words->issued->ref);
    }
    if (words->paid_cents > 0) {
        /* A payment is a transfer of its own, whose id the statements and
         * a retry with --id name: printed as 'troc pay' prints it. */
        char transfer_id[TROC_ID_HEX_SIZE];
        troc_id_to_hex(done->result->id, transfer_id);
        printf("  id         %s\n", transfer_id);
    }
    printf("  journal    #%llu, %s UTC\n", (unsigned long long)done->result->journal_seq,
           troc__cli_time(done->result->timestamp_us, false, time_text));
    if (!done->known) printf("  see it as it stands with: troc invoice show %s\n", done->invoice_id);
}

/* Prints an accepted action, the item's journal entry and the invoice
 * `invoice_id` as it now stands.  The action is done whether or not the
 * invoice can then be read: a read whose connection was lost after the
 * action's reply is tried again once on a new connection, and one that
 * still fails gets a warning, and what is known is printed. */
static void print_done(const troc_cli *cli, troc_client *client, const action_words *words,
                       const uint8_t *invoice_id, const troc_submit_result *result) {
    action_done done = {.words = words, .result = result};
    troc_id_to_hex(invoice_id, done.invoice_id);
    snprintf(done.unit, sizeof done.unit, "%s", troc_client_unit(client));
    snprintf(done.member, sizeof done.member, "%s", troc_client_member(client));
    int read = troc_client_invoice(client, invoice_id, &done.invoice);
    /* The action is done: a connection lost since is worth one more try. */
    if (read != 0 && troc_error_is_retryable(read) && troc_client_reconnect(client) == 0) {
        read = troc_client_invoice(client, invoice_id, &done.invoice);
    }
    done.known = read == 0;
    if (!done.known) {
        const char *why = troc_client_error_message(client);
        snprintf(done.read_error, sizeof done.read_error, "%s", why[0] != '\0' ? why : troc_strerror(read));
        fprintf(stderr, "troc: warning: %s invoice %s, but could not read it back (%s); see it with: troc invoice "
                        "show %s\n", words->verb, done.invoice_id, done.read_error, done.invoice_id);
    }
    if (cli->json) done_json(&done);
    else done_print(&done);
}

/* ----------------------------------------------------------- refusals */

/* A refusal whose reason is what became of the invoice: accepted already,
 * settled, cancelled, less remaining than asked.  The result code alone
 * cannot say which, and a member retrying an action whose answer was lost
 * needs to know that the first try worked: the invoice is read after such
 * a refusal, and what it now is said, with what to do. */
static bool refusal_about_state(int code) {
    return code == TROC_RESULT_INVOICE_NOT_PENDING || code == TROC_RESULT_INVOICE_NOT_OPEN ||
           code == TROC_RESULT_EXCEEDS_OBLIGATION;
}

/* The invoice as read after a refusal. */
typedef struct refused_invoice {
    troc_invoice_record invoice;
    char unit[TROC_UNIT_LENGTH_MAX + 1];
} refused_invoice;

/* --json: the refusal's object gains the invoice, as 'invoice show' prints it. */
static void refusal_json(troc_json *json, const void *context) {
    const refused_invoice *refused = context;
    json_invoice(json, "invoice", &refused->invoice);
    troc_json_string(json, "unit", refused->unit);
}

/* An open invoice, after a refusal of `words`' action (`code`). */
static void hint_open(const action_words *words, int code, const refused_invoice *refused) {
    const troc_invoice_record *v = &refused->invoice;
    char amount[TROC_AMOUNT_TEXT_SIZE], remaining[TROC_AMOUNT_TEXT_SIZE];
    troc_amount_format(v->amount_cents, amount);
    troc_amount_format(v->remaining_cents, remaining);
    if (code == TROC_RESULT_EXCEEDS_OBLIGATION && words->pays_rest) {
        /* No AMOUNT was given: what remained when the invoice was read
         * is less now, set off by a round or paid meanwhile. */
        fprintf(stderr, "troc: what remains owed changed while paying (a clearing round may have set part of it "
                        "off): %s %s remain now; run the same command again to pay that\n", remaining,
                refused->unit);
    } else if (code == TROC_RESULT_EXCEEDS_OBLIGATION) {
        fprintf(stderr, "troc: %s %s remain: pay at most that, or pay it off with no AMOUNT\n", remaining,
                refused->unit);
    } else if (strcmp(words->name, "pay") == 0) {
        /* Refused as not open, open when read: accepted in between. */
        fprintf(stderr, "troc: the invoice is open now (%s %s remain): run the command again\n", remaining,
                refused->unit);
    } else {
        char owed[2 * TROC_AMOUNT_TEXT_SIZE + TROC_UNIT_LENGTH_MAX + 32];
        if (v->remaining_cents == v->amount_cents) snprintf(owed, sizeof owed, "%s %s", amount, refused->unit);
        else snprintf(owed, sizeof owed, "%s %s, %s remaining", amount, refused->unit, remaining);
        bool accepting = strcmp(words->name, "accept") == 0;
        fprintf(stderr, "troc: the invoice is already accepted (an open obligation of %s)%s%s%s\n", owed,
                accepting ? "" : ": it can no longer be ", accepting ? "" : words->verb,
                accepting ? "" : ", only paid or set off by clearing");
    }
}

/* Says on stderr what the invoice now is, and what to do, after a refusal
 * of `words`' action (`code`): one line. */
static void state_hint(const action_words *words, int code, const refused_invoice *refused) {
    const troc_invoice_record *v = &refused->invoice;
    const bool paying = strcmp(words->name, "pay") == 0;
    char id[TROC_ID_HEX_SIZE];
    troc_id_to_hex(v->id, id);
    switch (v->status) {
    case TROC_INVOICE_STATUS_PENDING:
        if (paying) {
            fprintf(stderr, "troc: the invoice is pending: %s must accept it before it can be paid (troc invoice "
                            "accept %s)\n", v->debtor, id);
        } else {
            fprintf(stderr, "troc: the invoice is pending\n");
        }
        break;
    case TROC_INVOICE_STATUS_OPEN:
        hint_open(words, code, refused);
        break;
    case TROC_INVOICE_STATUS_SETTLED:
        fprintf(stderr, "troc: the invoice is settled: nothing remains %s\n", paying ? "to pay" : "owed");
        break;
    case TROC_INVOICE_STATUS_REJECTED:
        fprintf(stderr, "troc: the invoice was rejected by %s (%s): nothing is owed on it\n", v->debtor,
                v->reject_reason);
        break;
    case TROC_INVOICE_STATUS_CANCELLED:
        fprintf(stderr, "troc: the invoice was cancelled by %s: nothing is owed on it\n", v->creditor);
        break;
    }
}

/* Reports the ledger's refusal of `words`' action on the invoice
 * `invoice_id` (NULL: an issue, which has none yet), exit 1, with the
 * general hint unless `hint` is false (the command gives its own).  A
 * refusal about the invoice's state is followed by what the invoice now
 * is; a read that fails leaves the refusal as the ledger gave it. */
static int refusal_report(const troc_cli *cli, troc_client *client, const action_words *words,
                          const uint8_t *invoice_id, const troc_submit_result *result, bool hint) {
    refused_invoice refused;
    if (invoice_id == NULL || !refusal_about_state(result->code)) {
        return troc__cli_refused(cli, client, result, NULL, NULL, hint);
    }
    /* The result's detail lasts until the next call on the client: the
     * read below is one. */
    troc_submit_result copy = *result;
    char *detail = result->detail != NULL ? strdup(result->detail) : NULL;
    copy.detail = detail;
    int status = 0;
    if (troc_client_invoice(client, invoice_id, &refused.invoice) != 0) {
        status = troc__cli_refused(cli, client, &copy, NULL, NULL, hint);
    } else {
        snprintf(refused.unit, sizeof refused.unit, "%s", troc_client_unit(client));
        status = troc__cli_refused(cli, client, &copy, refusal_json, &refused, hint);
        state_hint(words, result->code, &refused);
    }
    free(detail);
    return status;
}

/* What to do when an accept, reject or cancel of `invoice_id` has an
 * unknown outcome: the command takes no --id (each run signs under a new
 * one, which names nothing a reader can look up), so the invoice is what
 * to look at; and a second run is harmless, since the ledger refuses an
 * action on an invoice no longer pending, after which troc says what the
 * invoice now is. */
static void unknown_advice(const uint8_t *invoice_id, const action_words *words, troc_cli_unknown *unknown) {
    char id[TROC_ID_HEX_SIZE];
    troc_id_to_hex(invoice_id, id);
    troc__cli_unknown_advice(unknown, "invoice_id", id, TROC_RESULT_INVOICE_NOT_PENDING,
                             "troc says what the invoice now is",
                             "see whether invoice %s was %s with: troc invoice show %s", id, words->verb, id);
}

/* Connects as a member, signs `action` and submits it; prints the result. */
static int action_run(const troc_cli *cli, troc_invoice_action *action, const char *doing,
                      const action_words *words) {
    troc_client *client = NULL;
    troc_envelope *envelope = NULL;
    const bool issue = action->kind == TROC_INVOICE_ISSUE;
    int status = member_connect(cli, doing, &client);
    if (status != 0) return status;
    int rc = troc_envelope_create(&envelope);
    if (rc == 0) rc = troc_sign_invoice(client, NULL, action, envelope);
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else {
        troc_submit_result result = {0};
        /* An issue takes --id: troc__cli_send() gives that id instead. */
        troc_cli_unknown unknown;
        if (!issue) unknown_advice(action->invoice_id, words, &unknown);
        status = troc__cli_send(cli, client, envelope, "invoice action", issue ? NULL : &unknown, &result);
        if (status == 0 && result.code != TROC_RESULT_OK) {
            status = refusal_report(cli, client, words, issue ? NULL : action->invoice_id, &result, true);
            if (issue) troc__cli_unknown_name(&result, action->debtor);
        } else if (status == 0) {
            print_done(cli, client, words, issue ? result.id : action->invoice_id, &result);
        }
    }
    troc_envelope_free(envelope);
    troc_client_free(client);
    return status;
}

/* ------------------------------------------------------------ actions */

int troc__cmd_invoice_issue(const troc_cli *cli, int argc, char **argv) {
    const char *ref = NULL, *due = NULL, *id_text = NULL;
    troc_cli_option options[] = {{"--ref", &ref}, {"--due", &due}, {"--id", &id_text}};
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc invoice issue " TROC_USAGE_INVOICE_ISSUE, options, 3, 2, 2, &args);
    if (status != 0) return status;
    uint8_t id[TROC_ID_SIZE];
    troc_invoice_action action = {.kind = TROC_INVOICE_ISSUE, .id = id, .debtor = args.positional[0],
                                  .ref = ref, .due = due};
    status = troc__cli_check_name("DEBTOR", action.debtor);
    if (status == 0) status = troc__cli_check_amount("AMOUNT", args.positional[1], 1, &action.amount_cents);
    if (status == 0) status = troc__cli_check_text("--ref", ref, TROC_INVOICE_REF_LENGTH_MAX, false);
    /* An empty --due is a slip (an unset shell variable), not a wish for no
     * due date, which is said by leaving --due out. */
    if (status == 0 && due != NULL && due[0] == '\0') {
        status = troc_cli_fail(TROC_EXIT_USAGE, "--due must not be empty: give a date, YYYY-MM-DD, or leave --due "
                                                "out for none");
    } else if (status == 0 && due != NULL && !troc_date_valid(due)) {
        status = troc_cli_fail(TROC_EXIT_USAGE, "--due %s is not a calendar date written YYYY-MM-DD (say 2026-12-31)",
                               due);
    }
    if (status != 0) return status;
    if (id_text != NULL && (status = troc__cli_check_id(id_text, id)) != 0) return status;
    if (id_text == NULL) troc_id_generate(id);
    return action_run(cli, &action, "issue invoices", &(action_words){.name = "issue", .verb = "issued", .issued = &action});
}

/* accept, cancel: ID only. */
static int ref_action(const troc_cli *cli, int argc, char **argv, troc_invoice_kind kind, const char *usage,
                      const action_words *words) {
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, usage, NULL, 0, 1, 1, &args);
    if (status != 0) return status;
    uint8_t invoice_id[TROC_ID_SIZE];
    if ((status = troc__cli_check_invoice_id("ID", args.positional[0], invoice_id)) != 0) return status;
    troc_invoice_action action = {.kind = kind, .invoice_id = invoice_id};
    return action_run(cli, &action, kind == TROC_INVOICE_ACCEPT ? "accept invoices" : "cancel invoices", words);
}

int troc__cmd_invoice_accept(const troc_cli *cli, int argc, char **argv) {
    return ref_action(cli, argc, argv, TROC_INVOICE_ACCEPT, "troc invoice accept " TROC_USAGE_INVOICE_ID,
                      &(action_words){.name = "accept", .verb = "accepted"});
}

int troc__cmd_invoice_cancel(const troc_cli *cli, int argc, char **argv) {
    return ref_action(cli, argc, argv, TROC_INVOICE_CANCEL, "troc invoice cancel " TROC_USAGE_INVOICE_ID,
                      &(action_words){.name = "cancel", .verb = "cancelled"});
}

int troc__cmd_invoice_reject(const troc_cli *cli, int argc, char **argv) {
    const char *reason = NULL;
    troc_cli_option options[] = {{"--reason", &reason}};
    troc_cli_args args;
    int status =
        troc__cli_parse(argc, argv, "troc invoice reject " TROC_USAGE_INVOICE_REJECT, options, 1, 1, 1, &args);
    if (status != 0) return status;
    uint8_t invoice_id[TROC_ID_SIZE];
    status = troc__cli_check_invoice_id("ID", args.positional[0], invoice_id);
    if (status == 0) status = troc__cli_check_text("--reason", reason, TROC_REASON_LENGTH_MAX, true);
    if (status != 0) return status;
    troc_invoice_action action = {.kind = TROC_INVOICE_REJECT, .invoice_id = invoice_id, .reason = reason};
    return action_run(cli, &action, "reject invoices", &(action_words){.name = "reject", .verb = "rejected"});
}

/* ---------------------------------------------------------------- pay */

typedef struct invoice_payment {
    uint8_t invoice_id[TROC_ID_SIZE];
    const char *amount_text;               /* NULL: all that remains */
    int64_t amount_cents;
    const char *memo;
    char memo_default[TROC_MEMO_LENGTH_MAX + 1];
    uint8_t id[TROC_ID_SIZE];
} invoice_payment;

static int payment_read(int argc, char **argv, invoice_payment *pay) {
    const char *id_text = NULL;
    troc_cli_option options[] = {{"--memo", &pay->memo}, {"--id", &id_text}};
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc invoice pay " TROC_USAGE_INVOICE_PAY, options, 2, 1, 2, &args);
    if (status != 0) return status;
    status = troc__cli_check_invoice_id("ID", args.positional[0], pay->invoice_id);
    pay->amount_text = args.count > 1 ? args.positional[1] : NULL;
    if (status == 0 && pay->amount_text != NULL) {
        status = troc__cli_check_amount("AMOUNT", pay->amount_text, 1, &pay->amount_cents);
    }
    if (status == 0) status = troc__cli_check_text("--memo", pay->memo, TROC_MEMO_LENGTH_MAX, false);
    if (status != 0) return status;
    if (id_text != NULL) return troc__cli_check_id(id_text, pay->id);
    troc_id_generate(pay->id);
    return 0;
}

/* The transfer paying `invoice`: to its creditor, by default all that
 * remains (an invoice not open keeps its amount, which the ledger refuses
 * with invoice_not_open), with a memo naming it unless one is given. */
static void payment_build(invoice_payment *pay, const troc_invoice_record *invoice, troc_transfer *transfer) {
    if (pay->amount_text == NULL) {
        pay->amount_cents = invoice->remaining_cents > 0 ? invoice->remaining_cents : invoice->amount_cents;
    }
    if (pay->memo == NULL) {
        char id[TROC_ID_HEX_SIZE];
        troc_id_to_hex(invoice->id, id);
        snprintf(pay->memo_default, sizeof pay->memo_default, "invoice %s", invoice->ref[0] != '\0' ? invoice->ref : id);
        pay->memo = pay->memo_default;
    }
    *transfer = (troc_transfer){.id = pay->id, .payee = invoice->creditor, .amount_cents = pay->amount_cents,
                                .memo = pay->memo, .invoice_id = pay->invoice_id};
}

/* A refusal found before anything is sent, reported as the ledger would
 * (exit 1, the result code's name). */
static int refuse_here(const troc_cli *cli, int code, const char *detail) {
    if (cli->json) {
        troc_json json;
        troc_json_start(&json, stdout);
        troc_json_string(&json, "result", troc_result_name(code));
        troc_json_string(&json, "detail", detail);
        troc_json_finish(&json);
    }
    return troc_cli_fail(TROC_EXIT_REFUSED, "refused: %s (%s)", troc_result_name(code), detail);
}

/* Without AMOUNT a payment is what remains when it is signed, which a retry
 * with the same --id may find changed (by the first attempt itself): the
 * ledger would then see another payment under that id.  Says which amount
 * to give, or what id_reused most likely means. */
static void retry_hint(const char *unit, const invoice_payment *pay, int64_t remaining_cents, int status,
                       const troc_submit_result *result) {
    char amount[TROC_AMOUNT_TEXT_SIZE], invoice[TROC_ID_HEX_SIZE], id[TROC_ID_HEX_SIZE];
    troc_amount_format(pay->amount_cents, amount);
    troc_id_to_hex(pay->invoice_id, invoice);
    troc_id_to_hex(pay->id, id);
    if (status == TROC_EXIT_SERVER) {
        fprintf(stderr, "troc: without AMOUNT a new run would pay what remains then; to retry this payment of %s %s, "
                        "run: troc invoice pay %s %s --id %s\n", amount, unit, invoice, amount, id);
    } else if (status == TROC_EXIT_REFUSED && result->code == TROC_RESULT_ID_REUSED) {
        const char *applied = "if an earlier run with this --id lost its answer, the ledger applied it: see "
                              "'troc history'";
        if (remaining_cents == 0) {
            fprintf(stderr, "troc: nothing remains owed on this invoice; %s\n", applied);
        } else {
            char left[TROC_AMOUNT_TEXT_SIZE];
            fprintf(stderr, "troc: without AMOUNT this run pays what remains now, %s %s; %s\n",
                    troc_amount_format(remaining_cents, left), unit, applied);
        }
    }
}

static int payment_submit(const troc_cli *cli, troc_client *client, invoice_payment *pay) {
    troc_invoice_record invoice;
    int rc = troc_client_invoice(client, pay->invoice_id, &invoice);
    if (rc == TROC_ENOT_FOUND) {
        return refuse_here(cli, TROC_RESULT_UNKNOWN_INVOICE, troc_result_text(TROC_RESULT_UNKNOWN_INVOICE));
    }
    if (rc != 0) return troc__cli_failure(cli, client, rc);
    if (strcmp(invoice.creditor, troc_client_member(client)) == 0) {
        char detail[TROC_NAME_LENGTH_MAX + 64];
        snprintf(detail, sizeof detail, "only the invoice's debtor, %s, pays it", invoice.debtor);
        return refuse_here(cli, TROC_RESULT_NOT_DEBTOR, detail);
    }
    troc_transfer transfer;
    payment_build(pay, &invoice, &transfer);
    troc_envelope *envelope = NULL;
    rc = troc_envelope_create(&envelope);
    if (rc == 0) rc = troc_sign_transfer(client, NULL, &transfer, envelope);
    int status = rc != 0 ? troc__cli_failure(cli, client, rc) : 0;
    troc_submit_result result;
    char unit[TROC_UNIT_LENGTH_MAX + 1]; /* kept: a lost connection forgets it */
    snprintf(unit, sizeof unit, "%s", troc_client_unit(client));
    const action_words words = {.name = "pay", .verb = "paid", .paid_cents = pay->amount_cents,
                                .pays_rest = pay->amount_text == NULL};
    if (status == 0) {
        status = troc__cli_send(cli, client, envelope, "payment", NULL, &result);
        if (status == 0 && result.code != TROC_RESULT_OK) {
            /* Without AMOUNT, running the first command again pays what
             * remains now: retry_hint says what to do with the id instead. */
            bool own_hint = pay->amount_text == NULL && result.code == TROC_RESULT_ID_REUSED;
            status = refusal_report(cli, client, &words, pay->invoice_id, &result, !own_hint);
        }
        if (status != 0 && pay->amount_text == NULL) retry_hint(unit, pay, invoice.remaining_cents, status, &result);
    }
    if (status == 0) print_done(cli, client, &words, pay->invoice_id, &result);
    troc_envelope_free(envelope);
    return status;
}

int troc__cmd_invoice_pay(const troc_cli *cli, int argc, char **argv) {
    invoice_payment pay = {0};
    int status = payment_read(argc, argv, &pay);
    if (status != 0) return status;
    troc_client *client = NULL;
    status = member_connect(cli, "pay invoices", &client);
    if (status != 0) return status;
    status = payment_submit(cli, client, &pay);
    troc_client_free(client);
    return status;
}

/* --------------------------------------------------------------- show */

int troc__cmd_invoice_show(const troc_cli *cli, int argc, char **argv) {
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc invoice show " TROC_USAGE_INVOICE_ID, NULL, 0, 1, 1, &args);
    if (status != 0) return status;
    uint8_t invoice_id[TROC_ID_SIZE];
    if ((status = troc__cli_check_invoice_id("ID", args.positional[0], invoice_id)) != 0) return status;
    troc_client *client = NULL;
    if ((status = troc__cli_connect(cli, &client)) != 0) return status;
    troc_invoice_record invoice;
    int rc = troc_client_invoice(client, invoice_id, &invoice);
    if (rc == TROC_ENOT_FOUND) {
        status = refuse_here(cli, TROC_RESULT_UNKNOWN_INVOICE, troc_result_text(TROC_RESULT_UNKNOWN_INVOICE));
    } else if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
    } else if (cli->json) {
        troc_json json;
        troc_json_start(&json, stdout);
        json_invoice(&json, "invoice", &invoice);
        troc_json_string(&json, "unit", troc_client_unit(client));
        troc_json_finish(&json);
    } else {
        char time_text[TROC_CLI_TIME_SIZE], id[TROC_ID_HEX_SIZE];
        troc_id_to_hex(invoice_id, id);
        printf("invoice %s\n", id);
        print_invoice(&invoice, troc_client_unit(client));
        printf("  issued     %s UTC\n", troc__cli_time(invoice.issued_us, false, time_text));
    }
    troc_client_free(client);
    return status;
}

/* --------------------------------------------------------------- list */

typedef struct invoice_list {
    troc_invoice_query query;
    troc_invoice_record *invoices;
    size_t count;
    size_t wanted;
    bool more;                 /* older invoices follow the last one read */
    uint8_t after[TROC_ID_SIZE]; /* --after ID, and where each page continues */
} invoice_list;

/* Reads pages until `wanted` invoices or the oldest. */
static int list_gather(troc_client *client, invoice_list *list) {
    /* Bounded: each page brings at least one invoice, at most `wanted` in all. */
    for (;;) {
        size_t page = list->wanted - list->count;
        if (page > TROC_PAGE_ROWS_MAX) page = TROC_PAGE_ROWS_MAX;
        size_t count = 0;
        int rc = troc_client_invoices(client, &list->query, list->invoices + list->count, page, &count, &list->more);
        if (rc != 0) return rc;
        list->count += count;
        if (!list->more || count == 0 || list->count == list->wanted) return 0;
        memcpy(list->after, list->invoices[list->count - 1].id, TROC_ID_SIZE);
        list->query.after_id = list->after;
    }
}

static void list_json(const invoice_list *list, const char *member, const char *unit) {
    troc_json json;
    troc_json_start(&json, stdout);
    troc_json_string(&json, "member", member);
    troc_json_string(&json, "unit", unit);
    troc_json_array_begin(&json, "invoices");
    for (size_t i = 0; i < list->count; i++) json_invoice(&json, NULL, &list->invoices[i]);
    troc_json_array_end(&json);
    troc_json_bool(&json, "more", list->more);
    char last[TROC_ID_HEX_SIZE];
    if (list->more && list->count > 0) troc_id_to_hex(list->invoices[list->count - 1].id, last);
    troc_json_string(&json, "next_after", list->more && list->count > 0 ? last : NULL);
    troc_json_finish(&json);
}

/* A page of invoices as printed: one date for all, so that a list read
 * at midnight marks them all by the same day. */
typedef struct invoice_page {
    const troc_invoice_record *invoices;
    char today[TROC_CLI_TIME_SIZE];
} invoice_page;

static void invoice_fill(const void *rows, size_t index, troc_cli_row *row) {
    const invoice_page *page = rows;
    const troc_invoice_record *v = &page->invoices[index];
    troc_id_to_hex(v->id, row->text[0]);
    row->cell[0] = row->text[0];
    row->cell[1] = troc__cli_invoice_status(v->status);
    row->cell[2] = v->debtor;
    row->cell[3] = v->creditor;
    row->cell[4] = troc_amount_format(v->amount_cents, row->text[4]);
    row->cell[5] = troc_amount_format(v->remaining_cents, row->text[5]);
    snprintf(row->text[6], TROC_CLI_CELL_SIZE, "%s%s", v->due[0] != '\0' ? v->due : "-",
             overdue_on(v, page->today) ? " overdue" : "");
    row->cell[6] = row->text[6];
    row->cell[7] = v->ref[0] != '\0' ? v->ref : "-";
}

static void list_print(const invoice_list *list, const char *member, const char *unit) {
    printf("invoices of %s, newest first (amounts in %s)\n", member, unit);
    if (list->count == 0) {
        printf("  none\n");
        return;
    }
    const troc_cli_column columns[] = {
        {"id", 32, false, 0},      {"state", 9, false, 2},      {"debtor", 16, false, 2}, {"creditor", 16, false, 1},
        {"amount", 12, true, 1},   {"remaining", 12, true, 1}, {"due", 18, false, 2},    {"ref", 0, false, 2}};
    invoice_page page = {.invoices = list->invoices};
    today_utc(page.today);
    troc__cli_table_print(stdout, columns, 8, &page, list->count, invoice_fill);
    if (list->more) {
        char id[TROC_ID_HEX_SIZE];
        troc_id_to_hex(list->invoices[list->count - 1].id, id);
        printf("  (older invoices exist: add --after %s to see them)\n", id);
    }
}

static int list_run(const troc_cli *cli, invoice_list *list) {
    troc_client *client = NULL;
    int status = troc__cli_connect(cli, &client);
    if (status != 0) return status;
    if (list->query.member == NULL && troc_client_role(client) != TROC_SESSION_MEMBER) {
        status = troc_cli_fail(TROC_EXIT_USAGE, "an administrator's session must name the member (NAME)");
    } else {
        int rc = list_gather(client, list);
        const char *member = list->query.member != NULL ? list->query.member : troc_client_member(client);
        if (rc != 0) status = troc__cli_failure(cli, client, rc);
        else if (cli->json) list_json(list, member, troc_client_unit(client));
        else list_print(list, member, troc_client_unit(client));
    }
    troc_client_free(client);
    return status;
}

int troc__cmd_invoice_list(const troc_cli *cli, int argc, char **argv) {
    const char *usage = "troc invoice list " TROC_USAGE_INVOICE_LIST;
    bool open_only = false;
    int status = troc__cli_flags(&argc, argv, usage, (const char *const[]){"--open"}, &open_only, 1);
    const char *as = NULL, *limit_text = NULL, *after_text = NULL;
    troc_cli_option options[] = {{"--as", &as}, {"--limit", &limit_text}, {"--after", &after_text}};
    troc_cli_args args;
    if (status == 0) status = troc__cli_parse(argc, argv, usage, options, 3, 0, 1, &args);
    if (status != 0) return status;
    invoice_list list = {.query = {.member = args.count > 0 ? args.positional[0] : NULL, .open_only = open_only}};
    uint64_t wanted = 50;
    if (list.query.member != NULL) status = troc__cli_check_name("NAME", list.query.member);
    if (status == 0 && limit_text != NULL) {
        status = troc__cli_check_count("--limit", limit_text, TROC_LIST_ROWS_MAX, &wanted);
    }
    if (status == 0 && after_text != NULL) {
        status = troc__cli_check_invoice_id("--after", after_text, list.after);
        list.query.after_id = list.after;
    }
    if (status == 0 && as != NULL) {
        if (strcmp(as, "debtor") == 0) list.query.roles = TROC_INVOICES_AS_DEBTOR;
        else if (strcmp(as, "creditor") == 0) list.query.roles = TROC_INVOICES_AS_CREDITOR;
        else status = troc_cli_fail(TROC_EXIT_USAGE, "--as takes debtor or creditor, not '%s'\nusage: %s", as, usage);
    }
    if (status != 0) return status;
    list.wanted = (size_t)wanted;
    list.invoices = malloc(list.wanted * sizeof *list.invoices);
    if (list.invoices == NULL) return troc_cli_fail(TROC_EXIT_SERVER, "out of memory");
    status = list_run(cli, &list);
    free(list.invoices);
    return status;
}
