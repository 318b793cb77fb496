/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trocd init: creates a territory's ledger in an empty directory.
 *
 *   trocd init --data DIR --territory NAME --admin PUBKEY [--admin PUBKEY]...
 *              [--unit CODE] [--json]
 *
 * The directory is created when absent and refused when it holds anything.
 * It receives the LMDB environment and the territory's key file
 * (territory.key, mode 0600: back it up with the data).  The territory's
 * public key, which clients pin, is printed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "trocd.h"

#define DEFAULT_UNIT "EUR"

static const char usage_text[] =
    "usage: trocd init --data DIR --territory NAME --admin PUBKEY [--admin PUBKEY]... [--unit CODE] [--json]\n"
    "\n"
    "Creates a territory's ledger in DIR (created if absent; it must be empty).\n"
    "\n"
    "  --data DIR         the data directory\n"
    "  --territory NAME   the territory's name: 1 to 64 of a-z 0-9 . _ -\n"
    "  --admin PUBKEY     an administrator's public key (64 hex digits, from\n"
    "                     'troc keygen'); repeat for up to 16 administrators\n"
    "  --unit CODE        the unit amounts are counted in (default " DEFAULT_UNIT "), at most 16 bytes\n"
    "  --json             print one JSON object on stdout\n"
    "\n"
    "Prints the territory's public key, which clients pin.  DIR/territory.key is\n"
    "the territory's secret key: keep it private and back it up with the data.\n";

typedef struct init_args {
    const char *data;
    troc_ledger_init_options options;
    uint8_t admin_keys[TROC_ADMIN_KEYS_MAX][TROC_PUBLIC_KEY_SIZE];
    bool json;
} init_args;

static int fail_usage(const char *message, const char *detail) {
    fprintf(stderr, "trocd init: %s%s%s\n(see 'trocd init --help')\n", message, detail ? ": " : "",
            detail ? detail : "");
    return TROCD_EXIT_USAGE;
}

/* Takes one --admin value. */
static int admin_add(init_args *args, const char *hex) {
    if (args->options.admin_key_count == TROC_ADMIN_KEYS_MAX) return fail_usage("at most 16 --admin keys", NULL);
    if (troc_public_key_from_hex(hex, args->admin_keys[args->options.admin_key_count]) != 0) {
        return fail_usage("--admin needs a public key of 64 hexadecimal digits, not", hex);
    }
    if (!troc_public_key_usable(args->admin_keys[args->options.admin_key_count])) {
        return fail_usage("--admin is not a key anyone can sign with (give one printed by 'troc keygen'), not", hex);
    }
    args->options.admin_key_count++;
    return 0;
}

/* "OPTION is given twice" or "OPTION needs a value", as bad usage. */
static int fail_option(const char *option, const char *problem) {
    char message[64];
    snprintf(message, sizeof message, "%s %s", option, problem);
    return fail_usage(message, NULL);
}

/* Parses the options.  Only --admin may be repeated; any other option
 * given twice is refused rather than the last one taken, as in trocd run
 * and verify. */
static int args_parse(init_args *args, int argc, char **argv) {
    args->options.admin_keys = (const uint8_t(*)[TROC_PUBLIC_KEY_SIZE])args->admin_keys;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--json") == 0) {
            if (args->json) return fail_option(arg, "is given twice");
            args->json = true;
            continue;
        }
        const char **target = NULL;
        if (strcmp(arg, "--data") == 0) target = &args->data;
        else if (strcmp(arg, "--territory") == 0) target = &args->options.territory;
        else if (strcmp(arg, "--unit") == 0) target = &args->options.unit;
        else if (strcmp(arg, "--admin") != 0) return fail_usage("unknown argument", arg);
        if (target != NULL && *target != NULL) return fail_option(arg, "is given twice");
        if (i + 1 >= argc) return fail_option(arg, "needs a value");
        const char *value = argv[++i];
        if (target != NULL) *target = value;
        else if (admin_add(args, value) != 0) return TROCD_EXIT_USAGE;
    }
    if (args->options.unit == NULL) args->options.unit = DEFAULT_UNIT;
    if (args->data == NULL) return fail_usage("--data DIR is required", NULL);
    if (args->options.territory == NULL) return fail_usage("--territory NAME is required", NULL);
    if (args->options.admin_key_count == 0) return fail_usage("at least one --admin PUBKEY is required", NULL);
    return 0;
}

/* Explains a refusal of troc_ledger_init(). */
static int init_failed(const init_args *args, int rc) {
    switch (rc) {
    case TROC_ENAME:
        return fail_usage("illegal territory name (use 1 to 64 of a-z 0-9 . _ -)", args->options.territory);
    case TROC_EUTF8: return fail_usage("the unit must be 1 to 16 bytes of text without spaces", args->options.unit);
    case TROC_EUSAGE: return fail_usage("the same --admin key is given twice", NULL);
    case TROC_ENOT_EMPTY:
        fprintf(stderr, "trocd init: %s is not empty; give a new or empty directory\n", args->data);
        return TROCD_EXIT_FAILURE;
    default:
        fprintf(stderr, "trocd init: cannot create a ledger in %s: %s\n", args->data, troc_strerror(rc));
        return TROCD_EXIT_FAILURE;
    }
}

int troc__trocd_init(int argc, char **argv) {
    if (troc__trocd_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return TROCD_EXIT_OK;
    }
    init_args args = {0};
    int status = args_parse(&args, argc, argv);
    if (status != 0) return status;
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    int rc = troc_ledger_init(args.data, &args.options, territory_key);
    if (rc != 0) return init_failed(&args, rc);
    char hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(territory_key, hex);
    if (args.json) {
        troc_json json;
        troc_json_start(&json, stdout);
        troc_json_string(&json, "territory", args.options.territory);
        troc_json_string(&json, "unit", args.options.unit);
        troc_json_string(&json, "data", args.data);
        troc_json_int(&json, "admin_keys", (int64_t)args.options.admin_key_count);
        troc_json_string(&json, "territory_key", hex);
        troc_json_finish(&json);
    } else {
        /* The key alone on stdout, so that a script can capture it. */
        fprintf(stderr, "trocd: created territory %s in %s (unit %s, %zu admin key%s)\n", args.options.territory,
                args.data, args.options.unit, args.options.admin_key_count,
                args.options.admin_key_count == 1 ? "" : "s");
        printf("%s\n", hex);
    }
    /* The territory exists whatever becomes of the output: a key that
     * could not be printed is said on stderr, with how to read it again. */
    if (fflush(stdout) != 0) {
        fprintf(stderr, "trocd: cannot write the output: %s; the territory was created all the same in %s, its key "
                        "%s ('troc pubkey %s/%s' prints it again)\n",
                strerror(errno), args.data, hex, args.data, TROC_LEDGER_KEY_FILE);
        return TROCD_EXIT_FAILURE;
    }
    return TROCD_EXIT_OK;
}
