/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the network commands reach trocd, and how they fail.
 *
 * Exit status is the contract with scripts: 1 means the ledger (or the
 * server, for a read it will not answer) refused, and the refusal's name is
 * on stderr ("troc: refused: exceeds_credit_limit (...)"); 2 means the
 * input or the local configuration was wrong and no item was sent (its
 * message on stderr only, even with --json); 3 means the server could not be
 * reached or talked to.  libtroc closes the connection on every transport
 * failure and keeps it open after a request-level refusal, which is how a
 * refusal is told from a failure here.
 *
 * A submit that fails after being sent has an unknown outcome.  For a
 * command that takes --id, the item's id makes resubmission safe, so the
 * message gives the id to resubmit with; the others (an invoice's accept,
 * reject or cancel, an administrator's action) draw a new id each run, and
 * say themselves what to check and whether running them again is safe.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "args.h"
#include "base/amount.h"
#include "session.h"

/* "TROC_EDENIED" -> "denied": the name a refusal is printed with. */
static void error_word(int rc, char *word, size_t size) {
    const char *name = troc_err_name(rc);
    if (strncmp(name, "TROC_E", 6) == 0) name += 6;
    size_t i = 0;
    for (; name[i] != '\0' && i + 1 < size; i++) word[i] = (char)tolower((unsigned char)name[i]);
    word[i] = '\0';
}

/* --json: a refusal reads {"result": name, "detail": why}, as the ledger's
 * refusals do; any other failure {"error": name, "message": what}, plus
 * the id of an item whose outcome is unknown (`unknown_id`, else NULL), so
 * that a script can resubmit it. */
static int report(const troc_cli *cli, int status, const char *field, const char *name, const char *message,
                  const char *unknown_id, const troc_cli_unknown *unknown) {
    if (cli->json) {
        const bool refusal = strcmp(field, "result") == 0;
        troc_json json;
        troc_json_start(&json, stdout);
        troc_json_string(&json, field, name);
        troc_json_string(&json, refusal ? "detail" : "message", message);
        if (unknown_id != NULL) {
            troc_json_string(&json, "id", unknown_id);
            troc_json_string(&json, "outcome", "unknown");
            if (unknown != NULL) troc_json_string(&json, unknown->field, unknown->value);
        }
        troc_json_finish(&json);
    }
    if (status == TROC_EXIT_REFUSED) return troc_cli_fail(status, "refused: %s (%s)", name, message);
    return troc_cli_fail(status, "%s", message);
}

/* After a member's session was refused an administrator's command (a read
 * denied, an action refused not_admin): the server's words name its rule,
 * not the remedy, which is the key the command runs with. */
static void admin_key_hint(const troc_cli *cli, troc_client *client) {
    if (cli->admin_command == NULL || troc_client_role(client) != TROC_SESSION_MEMBER) return;
    fprintf(stderr, "troc: 'troc %s' needs an administrator's key, and %s is member %s's: name the "
                    "administrator's key file with --key FILE or TROC_KEY\n", cli->admin_command, cli->key_path,
            troc_client_member(client));
}

/* After the handshake refused the key (never registered, or revoked: the
 * server does not say which): libtroc says what to do with a key, and
 * this which commands do it.  An administrator registers members' keys
 * only: a new member's with 'member add', an existing member's extra or
 * replacement key with 'member key add'; administrators' keys are those
 * 'trocd init' registered, and no command adds one, so the remedy for an
 * administrator's command is to name one of those. */
static void unknown_key_hint(const troc_cli *cli) {
    if (cli->admin_command != NULL) {
        fprintf(stderr, "troc: 'troc %s' needs an administrator's key, and administrators' keys are those "
                        "'trocd init' registered (no command adds one): name one with --key FILE or TROC_KEY\n",
                cli->admin_command);
        return;
    }
    fprintf(stderr, "troc: a new key is made with 'troc keygen FILE'; 'troc pubkey FILE' prints what an "
                    "administrator registers: 'troc admin member add NAME --pubkey PK' for a new member, 'troc "
                    "admin member key add NAME PK' for an extra or replacement key of an existing member\n");
}

/* troc__cli_failure() for an item sent whose outcome is unknown when
 * unknown_id is not NULL (with `unknown` when the command takes no --id). */
static int failure(const troc_cli *cli, troc_client *client, int rc, const char *unknown_id,
                   const troc_cli_unknown *unknown) {
    assert(cli != NULL && rc < 0);
    const char *message = client != NULL ? troc_client_error_message(client) : "";
    if (message[0] == '\0') message = troc_strerror(rc);
    char word[64];
    error_word(rc, word, sizeof word);
    /* Bad usage prints its message on stderr only, --json or not, as the
     * usage errors found before connecting do: a script tells it by the
     * status, and its fix is the command line's or the configuration's
     * (a known-territories file that cannot be read or written, or holds a
     * malformed line; no home directory to keep one in), not the server's. */
    if (rc == TROC_EUSAGE) return troc_cli_fail(TROC_EXIT_USAGE, "%s", message);
    if (rc == TROC_EKNOWN_TERRITORIES) {
        /* libtroc says what is wrong with the file; what else a troc user
         * can do is troc's to say. */
        troc_cli_fail(TROC_EXIT_USAGE, "%s", message);
        return troc_cli_fail(TROC_EXIT_USAGE, "to connect without the known-territories file, give the territory's "
                                              "key: --server-key HEX, as 'trocd init' printed it");
    }
    /* A key the territory does not know (or no longer: revoked) is refused
     * at the handshake: a refusal, which trying again will not change.
     * libtroc says what to do for either case; the commands that do it
     * are troc's to name. */
    if (rc == TROC_EDENIED && client != NULL && troc_client_role(client) == TROC_SESSION_NONE) {
        int status = report(cli, TROC_EXIT_REFUSED, "result", word, message, NULL, NULL);
        unknown_key_hint(cli);
        return status;
    }
    if (rc == TROC_EDENIED || (client != NULL && troc_client_connected(client))) {
        int status = report(cli, TROC_EXIT_REFUSED, "result", word, message, NULL, NULL);
        if (rc == TROC_EDENIED && client != NULL) admin_key_hint(cli, client);
        return status;
    }
    int status = report(cli, TROC_EXIT_SERVER, "error", troc_err_name(rc), message, unknown_id, unknown);
    if (rc == -ECONNREFUSED || rc == -ENOENT) {
        fprintf(stderr, "troc: is trocd running there?  Name its address with --server HOST:PORT (or a socket "
                        "path) or TROC_SERVER.\n");
    }
    return status;
}

int troc__cli_failure(const troc_cli *cli, troc_client *client, int rc) {
    return failure(cli, client, rc, NULL, NULL);
}

/* Reads --key and --server-key into the client: input errors, exit 2.  An
 * empty --key or TROC_KEY (`TROC_KEY= troc balance`) names no file: it is
 * no key, as an unset one is, not a file named "" that cannot be read. */
static int client_settings(const troc_cli *cli, troc_client *client) {
    if (cli->key_path == NULL || cli->key_path[0] == '\0') {
        return troc_cli_fail(TROC_EXIT_USAGE, "no key: pass --key FILE or set TROC_KEY (create one with 'troc keygen')");
    }
    int rc = troc_client_set_key_file(client, cli->key_path);
    if (rc != 0) return troc_cli_fail(TROC_EXIT_USAGE, "%s", troc_client_error_message(client));
    if (cli->server_key != NULL) {
        uint8_t key[TROC_PUBLIC_KEY_SIZE];
        int status = troc__cli_check_public_key("--server-key", cli->server_key, key);
        if (status != 0) return status;
        troc_client_set_server_key(client, key);
    }
    return 0;
}

int troc__cli_connect(const troc_cli *cli, troc_client **client_out) {
    assert(cli != NULL && client_out != NULL);
    *client_out = NULL;
    troc_client *client = NULL;
    int rc = troc_client_create(&client);
    if (rc != 0) return troc_cli_fail(TROC_EXIT_SERVER, "cannot start: %s", troc_strerror(rc));
    int status = client_settings(cli, client);
    if (status == 0) {
        rc = troc_client_connect(client, cli->server);
        if (rc != 0) status = troc__cli_failure(cli, client, rc);
    }
    if (status != 0) {
        troc_client_free(client);
        return status;
    }
    *client_out = client;
    return 0;
}

char *troc__cli_time(int64_t timestamp_us, bool iso, char buffer[TROC_CLI_TIME_SIZE]) {
    assert(buffer != NULL);
    time_t seconds = (time_t)(timestamp_us / 1000000);
    int micros = (int)(timestamp_us % 1000000);
    if (micros < 0) {
        micros += 1000000;
        seconds -= 1;
    }
    struct tm tm;
    if (gmtime_r(&seconds, &tm) == NULL) {
        strcpy(buffer, "?");
        return buffer;
    }
    size_t length = strftime(buffer, TROC_CLI_TIME_SIZE, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
    if (iso) snprintf(buffer + length, TROC_CLI_TIME_SIZE - length, ".%06dZ", micros);
    return buffer;
}

void troc__cli_json_result(troc_json *json, const troc_submit_result *result) {
    char id[TROC_ID_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    troc_id_to_hex(result->id, id);
    troc_json_string(json, "result", troc_result_name(result->code));
    troc_json_string(json, "id", id);
    troc_json_int(json, "journal_seq", (int64_t)result->journal_seq);
    troc_json_int(json, "timestamp_us", result->timestamp_us);
    troc_json_string(json, "time", troc__cli_time(result->timestamp_us, true, time_text));
}

/* The ledger refused the item: its result code's name, exit 1. */
static int report_refusal(const troc_cli *cli, const troc_submit_result *result, troc_cli_refusal_more *more,
                          const void *context) {
    const char *detail = result->detail != NULL ? result->detail : troc_result_text(result->code);
    if (cli->json) {
        char id[TROC_ID_HEX_SIZE];
        troc_id_to_hex(result->id, id);
        troc_json json;
        troc_json_start(&json, stdout);
        troc_json_string(&json, "result", troc_result_name(result->code));
        troc_json_string(&json, "detail", detail);
        troc_json_string(&json, "id", id);
        if (more != NULL) more(&json, context);
        troc_json_finish(&json);
    }
    return troc_cli_fail(TROC_EXIT_REFUSED, "refused: %s (%s)", troc_result_name(result->code), detail);
}

/* What to do about a refusal, where the code alone does not say, for any
 * session (NULL when the code says it all). */
static const char *refusal_advice(int code) {
    switch (code) {
    case TROC_RESULT_ID_REUSED:
        return "that id was used before for something else: to see what it did, run the first command again "
               "exactly; for a new action, leave --id out or give a new one";
    case TROC_RESULT_KEY_IN_USE:
        return "a key is registered once in a territory, to one member or administrator, and never again once "
               "revoked: make a new one with 'troc keygen'";
    case TROC_RESULT_LAST_KEY:
        return "a member keeps at least one key: add its new key first ('troc admin member key add NAME "
               "PUBKEY'), then revoke this one";
    case TROC_RESULT_PAYEE_FROZEN:
        return "the payee's account is frozen: it can be paid again once an administrator unfreezes it";
    case TROC_RESULT_EXCEEDS_BALANCE_MAX:
        return "the payee may not hold that much: pay less, or ask an administrator to raise its balance maximum";
    default:
        return NULL;
    }
}

/* What to do about a refusal: refusal_advice(); for a member refused as a
 * payer, how much it can pay now, or where the reason its account is
 * frozen is. */
static void refusal_hint(troc_client *client, int code) {
    const char *advice = refusal_advice(code);
    if (advice != NULL) {
        fprintf(stderr, "troc: %s\n", advice);
        return;
    }
    if (code == TROC_RESULT_TOO_MANY_KEYS) {
        fprintf(stderr, "troc: a member holds at most %d keys at once, and can be given %d in all, revoked ones "
                        "included\n", TROC_MEMBER_KEYS_MAX, TROC_MEMBER_KEY_RECORDS_MAX);
        return;
    }
    if (troc_client_role(client) != TROC_SESSION_MEMBER) return;
    if (code == TROC_RESULT_PAYER_FROZEN) {
        fprintf(stderr, "troc: your account is frozen: 'troc member' shows why; only an administrator can "
                        "unfreeze it\n");
        return;
    }
    troc_balance balance;
    if (code != TROC_RESULT_EXCEEDS_CREDIT_LIMIT || troc_client_balance(client, NULL, &balance) != 0) return;
    const int64_t room = troc__cli_can_pay(&balance);
    char can[TROC_AMOUNT_TEXT_SIZE], held[TROC_AMOUNT_TEXT_SIZE], line[TROC_AMOUNT_TEXT_SIZE];
    fprintf(stderr, "troc: you can pay %s %s now (balance %s, credit limit %s)\n", troc_amount_format(room, can),
            troc_client_unit(client), troc_amount_format(balance.balance_cents, held),
            troc_amount_format(balance.credit_limit_cents, line));
}

/* The item the ledger applied in this run (a command submits one at
 * most), kept until the output is flushed in main: when the output cannot
 * be written, its id is what is left to check or resubmit with. */
static struct {
    bool set;
    char what[32];                /* "payment", as the command names it */
    char id[TROC_ID_HEX_SIZE];
    uint64_t journal_seq;
} applied;

void troc__cli_applied_lost(void) {
    if (!applied.set) return;
    fprintf(stderr, "troc: the %s was made all the same and stands: id %s, journal #%llu\n", applied.what,
            applied.id, (unsigned long long)applied.journal_seq);
}

/* What follows the check in troc__cli_unknown_advice(): the refusal a
 * second run meets, then what troc does after it (" and ...", or ""). */
#define AGAIN_SAFE_FORMAT \
    ".  Running the same command again is safe: if this one was applied, the ledger refuses that one (%s)%s%s."

void troc__cli_unknown_advice(troc_cli_unknown *unknown, const char *field, const char *value, int again,
                              const char *then, const char *check_format, ...) {
    assert(unknown != NULL && field != NULL && value != NULL);
    assert(again != TROC_RESULT_OK && check_format != NULL);
    unknown->field = field;
    const int length = snprintf(unknown->value, sizeof unknown->value, "%s", value);
    assert(length >= 0 && (size_t)length < sizeof unknown->value);
    (void)length;
    char *advice = unknown->advice;
    va_list args;
    va_start(args, check_format);
    const int check = vsnprintf(advice, TROC__CLI_ADVICE_SIZE, check_format, args);
    va_end(args);
    assert(check >= 0 && check < TROC__CLI_ADVICE_SIZE);
    const int rest = snprintf(advice + check, TROC__CLI_ADVICE_SIZE - (size_t)check, AGAIN_SAFE_FORMAT,
                              troc_result_name(again), then != NULL ? " and " : "", then != NULL ? then : "");
    assert(rest >= 0 && check + rest < TROC__CLI_ADVICE_SIZE && "TROC__CLI_ADVICE_SIZE holds the longest advice");
    (void)rest;
}

int troc__cli_send(const troc_cli *cli, troc_client *client, const troc_envelope *envelope, const char *what,
                   const troc_cli_unknown *unknown, troc_submit_result *result) {
    assert(cli != NULL && client != NULL && envelope != NULL && result != NULL);
    int rc = troc_client_submit(client, &envelope, 1, result, 1);
    if (rc == 0 && result->code == TROC_RESULT_OK) {
        applied.set = true;
        snprintf(applied.what, sizeof applied.what, "%s", what);
        troc_id_to_hex(result->id, applied.id);
        applied.journal_seq = result->journal_seq;
    }
    if (rc != 0 && troc_error_is_retryable(rc)) {
        uint8_t id[TROC_ID_SIZE];
        char hex[TROC_ID_HEX_SIZE];
        troc_envelope_id(envelope, id);
        troc_id_to_hex(id, hex);
        int status = failure(cli, client, rc, hex, unknown);
        if (unknown == NULL) {
            fprintf(stderr, "troc: the %s's outcome is unknown; its id is %s.  Run the same command again with "
                            "--id %s: the ledger applies an id only once.\n", what, hex, hex);
        } else {
            fprintf(stderr, "troc: the %s's outcome is unknown; %s\n", what, unknown->advice);
        }
        return status;
    }
    if (rc != 0) return troc__cli_failure(cli, client, rc);
    return 0;
}

int troc__cli_refused(const troc_cli *cli, troc_client *client, const troc_submit_result *result,
                      troc_cli_refusal_more *more, const void *context, bool hint) {
    assert(cli != NULL && client != NULL && result != NULL && result->code != TROC_RESULT_OK);
    int status = report_refusal(cli, result, more, context);
    if (result->code == TROC_RESULT_NOT_ADMIN) admin_key_hint(cli, client);
    else if (hint) refusal_hint(client, result->code);
    return status;
}

void troc__cli_unknown_name(const troc_submit_result *result, const char *name) {
    assert(result != NULL);
    if (name == NULL || (result->code != TROC_RESULT_UNKNOWN_PAYEE && result->code != TROC_RESULT_UNKNOWN_MEMBER)) {
        return;
    }
    fprintf(stderr, "troc: no member is named '%s' in this territory: check the name ('troc admin member list' "
                    "shows them to an administrator)\n", name);
}

int troc__cli_submit(const troc_cli *cli, troc_client *client, const troc_envelope *envelope, const char *what,
                     const troc_cli_unknown *unknown, troc_submit_result *result) {
    int status = troc__cli_send(cli, client, envelope, what, unknown, result);
    if (status == 0 && result->code != TROC_RESULT_OK) {
        status = troc__cli_refused(cli, client, result, NULL, NULL, true);
    }
    return status;
}
