/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtroc's example: pay another member, then print your balance.
 *
 *   troc-example SERVER KEY-FILE PAYEE AMOUNT [ID]
 *   troc-example 127.0.0.1:7400 alice.key bob 20.50
 *
 * It shows the whole integration in one page: connect (the territory's key
 * is pinned on first use), sign a payment with a fresh id, submit it with
 * one retry on a lost connection (safe: the ledger recognises the id), tell
 * a refusal from an error, and read the balance.  When even the retry
 * cannot tell whether the payment was applied, it prints the id: run it
 * again with that id as ID (32 hex digits) and the ledger answers the one
 * payment, applied once, instead of paying twice.  It includes only troc.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "troc.h"

/* Prints the failure and returns exit status 1.  `client` is the one the
 * failing call was given, NULL when it was given none: its message is
 * read only right after a call on it failed, since a success does not
 * always clear an older one; and -ENOMEM comes without one. */
static int fail(troc_client *client, const char *what, int rc) {
    const char *detail = client != NULL && rc != -ENOMEM ? troc_client_error_message(client) : "";
    fprintf(stderr, "troc-example: %s: %s\n", what, detail[0] != '\0' ? detail : troc_strerror(rc));
    return 1;
}

/* Pays with `id`, chosen before submitting: with it, a retry can never pay
 * twice. */
static int pay(troc_client *client, const char *payee, int64_t cents, const uint8_t id[TROC_ID_SIZE]) {
    char amount[TROC_AMOUNT_TEXT_SIZE], hex[TROC_ID_HEX_SIZE];
    troc_id_to_hex(id, hex);
    troc_envelope *envelope = NULL;
    int rc = troc_envelope_create(&envelope);
    if (rc != 0) return fail(NULL, "out of memory", rc);
    troc_transfer transfer = {.id = id, .payee = payee, .amount_cents = cents, .memo = "paid by troc-example"};
    rc = troc_sign_transfer(client, NULL, &transfer, envelope);
    troc_submit_result result;
    if (rc == 0) rc = troc_client_submit(client, (const troc_envelope *const[]){envelope}, 1, &result, 1);
    troc_envelope_free(envelope);
    if (troc_error_is_retryable(rc)) {
        /* Sent, but no answer came back: it may have been applied.  Only
         * the same id can tell, without paying twice. */
        fail(client, "payment not confirmed", rc);
        fprintf(stderr, "troc-example: payment %s may or may not have been applied; run the same command with %s "
                        "as last argument to find out (never with a new id)\n", hex, hex);
        return 1;
    }
    if (rc != 0) return fail(client, "payment not made", rc);
    if (result.code != TROC_RESULT_OK) {
        /* A refusal is the ledger's answer, not an error: say why. */
        fprintf(stderr, "troc-example: refused: %s (%s)\n", troc_result_name(result.code),
                result.detail != NULL ? result.detail : troc_result_text(result.code));
        return 1;
    }
    printf("paid %s %s to %s (id %s, journal #%llu)\n", troc_amount_format(cents, amount),
           troc_client_unit(client), payee, hex, (unsigned long long)result.journal_seq);
    return 0;
}

static int print_balance(troc_client *client) {
    troc_balance balance;
    int rc = troc_client_balance(client, NULL, &balance);
    if (rc != 0) return fail(client, "cannot read the balance", rc);
    char amount[TROC_AMOUNT_TEXT_SIZE], limit[TROC_AMOUNT_TEXT_SIZE];
    printf("balance of %s: %s %s (credit limit %s)\n", balance.member,
           troc_amount_format(balance.balance_cents, amount), troc_client_unit(client),
           troc_amount_format(balance.credit_limit_cents, limit));
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fputs("usage: troc-example SERVER KEY-FILE PAYEE AMOUNT [ID]\n", stderr);
        return 2;
    }
    int64_t cents = 0;
    if (troc_amount_parse(argv[4], strlen(argv[4]), &cents) != 0 || cents <= 0) {
        fprintf(stderr, "troc-example: %s is not a positive amount (e.g. 20.50)\n", argv[4]);
        return 2;
    }
    /* The id of a payment whose outcome is unknown, to send it again. */
    uint8_t id[TROC_ID_SIZE];
    if (argc == 6 && troc_id_from_hex(argv[5], id) != 0) {
        fprintf(stderr, "troc-example: %s is not an id (32 hex digits)\n", argv[5]);
        return 2;
    }
    troc_client *client = NULL;
    int rc = troc_client_create(&client);
    if (rc != 0) return fail(NULL, "cannot start", rc);
    if (argc == 5) troc_id_generate(id); /* after troc_client_create, which initialises the library */
    int status = 1;
    rc = troc_client_set_key_file(client, argv[2]);
    if (rc == 0) rc = troc_client_connect(client, argv[1]);
    if (rc != 0) {
        fail(client, "cannot connect", rc);
    } else if (troc_client_role(client) != TROC_SESSION_MEMBER) {
        fprintf(stderr, "troc-example: %s is an administrator's key; use a member's\n", argv[2]);
    } else {
        status = pay(client, argv[3], cents, id);
        if (status == 0) status = print_balance(client);
    }
    troc_client_free(client);
    return status;
}
