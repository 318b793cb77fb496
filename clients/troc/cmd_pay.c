/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc pay TO AMOUNT [--memo TEXT] [--id HEX]: a member pays another in
 * credit.
 *
 * Every payment has a 128-bit id, given with --id or drawn at random, and
 * the ledger applies an id only once (the same id with the same payment
 * returns the original result).  So when the connection is lost after the
 * payment was sent, troc reconnects and sends the very same signed payment
 * once more; if that fails too, it prints the id, with which the user can
 * run the same command again without any risk of paying twice.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "base/limits.h"
#include "commands.h"
#include "session.h"

typedef struct payment {
    const char *payee;
    const char *amount_text;
    int64_t amount_cents;
    const char *memo;
    uint8_t id[TROC_ID_SIZE];
} payment;

/* Parses and checks everything before connecting. */
static int payment_read(int argc, char **argv, payment *out) {
    const char *id_text = NULL;
    troc_cli_option options[] = {{"--memo", &out->memo}, {"--id", &id_text}};
    troc_cli_args args;
    int status = troc__cli_parse(argc, argv, "troc pay " TROC_USAGE_PAY, options, 2, 2, 2, &args);
    if (status != 0) return status;
    out->payee = args.positional[0];
    out->amount_text = args.positional[1];
    status = troc__cli_check_name("payee", out->payee);
    if (status == 0) status = troc__cli_check_amount("AMOUNT", out->amount_text, 1, &out->amount_cents);
    if (status == 0) status = troc__cli_check_text("--memo", out->memo, TROC_MEMO_LENGTH_MAX, false);
    if (status != 0) return status;
    if (id_text != NULL) return troc__cli_check_id(id_text, out->id);
    troc_id_generate(out->id);
    return 0;
}

static void print_paid(const troc_cli *cli, troc_client *client, const payment *pay,
                       const troc_submit_result *result) {
    char amount[TROC_AMOUNT_TEXT_SIZE], id[TROC_ID_HEX_SIZE], time_text[TROC_CLI_TIME_SIZE];
    troc_amount_format(pay->amount_cents, amount);
    if (cli->json) {
        troc_json json;
        troc_json_start(&json, stdout);
        troc__cli_json_result(&json, result);
        troc_json_string(&json, "payer", troc_client_member(client));
        troc_json_string(&json, "payee", pay->payee);
        troc_json_string(&json, "amount", amount);
        troc_json_string(&json, "unit", troc_client_unit(client));
        troc_json_string(&json, "memo", pay->memo != NULL ? pay->memo : "");
        troc_json_finish(&json);
        return;
    }
    troc_id_to_hex(result->id, id);
    printf("paid %s %s from %s to %s\n", amount, troc_client_unit(client), troc_client_member(client), pay->payee);
    printf("  id       %s\n", id);
    printf("  journal  #%llu, %s UTC\n", (unsigned long long)result->journal_seq,
           troc__cli_time(result->timestamp_us, false, time_text));
    if (pay->memo != NULL && pay->memo[0] != '\0') printf("  memo     %s\n", pay->memo);
}

int troc__cmd_pay(const troc_cli *cli, int argc, char **argv) {
    payment pay = {0};
    int status = payment_read(argc, argv, &pay);
    if (status != 0) return status;
    troc_client *client = NULL;
    troc_envelope *envelope = NULL;
    status = troc__cli_connect(cli, &client);
    if (status != 0) return status;
    if (troc_client_role(client) != TROC_SESSION_MEMBER) {
        status = troc_cli_fail(TROC_EXIT_USAGE, "%s is an administrator's key; pay with a member's key",
                               cli->key_path);
        goto done;
    }
    int rc = troc_envelope_create(&envelope);
    troc_transfer transfer = {.id = pay.id, .payee = pay.payee, .amount_cents = pay.amount_cents, .memo = pay.memo};
    if (rc == 0) rc = troc_sign_transfer(client, NULL, &transfer, envelope);
    if (rc != 0) {
        status = troc__cli_failure(cli, client, rc);
        goto done;
    }
    troc_submit_result result = {0};
    status = troc__cli_submit(cli, client, envelope, "payment", NULL, &result);
    if (status == 0) print_paid(cli, client, &pay, &result);
    else troc__cli_unknown_name(&result, pay.payee);
done:
    troc_envelope_free(envelope);
    troc_client_free(client);
    return status;
}
