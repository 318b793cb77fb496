/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Argument parsing and input checks for the network commands.  Everything
 * a user can get wrong on the command line is caught here, before a
 * connection is opened, so that bad input exits with status 2 and sends
 * nothing.  Amounts go through troc_amount_parse (exact decimals); names
 * and text through the same checks the ledger applies.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "base/amount.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/text.h"
#include "crypto/crypto.h"

static int usage_error(const char *usage, const char *problem, const char *argument) {
    return troc_cli_fail(TROC_EXIT_USAGE, "%s%s\nusage: %s", problem, argument != NULL ? argument : "", usage);
}

/* The option of `options` named `arg`, or NULL. */
static const troc_cli_option *option_find(const troc_cli_option *options, size_t option_count, const char *arg) {
    for (size_t i = 0; i < option_count; i++) {
        if (strcmp(options[i].name, arg) == 0) return &options[i];
    }
    return NULL;
}

/* A word that starts with '-' but is no option of the command: refused
 * rather than taken for a positional, since a typo (`troc admin member add
 * -credit-limit ...`) would otherwise admit a member named -credit-limit
 * for good.  The message says what was probably meant: the option with two
 * dashes, a positive amount, or "--" before an argument that does start
 * with '-'. */
static int unknown_option(const char *usage, const troc_cli_option *options, size_t option_count, const char *arg) {
    assert(arg[0] == '-' && arg[1] != '\0');
    if (arg[1] != '-') {
        for (size_t i = 0; i < option_count; i++) {
            if (strcmp(options[i].name + 1, arg) == 0) {
                return troc_cli_fail(TROC_EXIT_USAGE, "unknown option %s: options take two dashes (%s)\nusage: %s",
                                     arg, options[i].name, usage);
            }
        }
    }
    const bool number = strchr("0123456789.", arg[1]) != NULL;
    return troc_cli_fail(TROC_EXIT_USAGE,
                         "unknown option %s%s; an argument that starts with '-' goes after '--', "
                         "every option before it (... -- %s)\nusage: %s",
                         arg, number ? " (amounts and numbers are never negative)" : "", arg, usage);
}

int troc__cli_parse(int argc, char **argv, const char *usage, const troc_cli_option *options, size_t option_count,
                    size_t minimum, size_t maximum, troc_cli_args *args) {
    assert(argc >= 1 && usage != NULL && args != NULL);
    assert(minimum <= maximum && maximum <= TROC_CLI_POSITIONALS_MAX);
    memset(args, 0, sizeof *args);
    for (size_t i = 0; i < option_count; i++) *options[i].value = NULL;
    bool options_ended = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_ended && strcmp(arg, "--") == 0) {
            options_ended = true;
            continue;
        }
        if (!options_ended && arg[0] == '-' && arg[1] != '\0') {
            const troc_cli_option *option = option_find(options, option_count, arg);
            if (option == NULL) return unknown_option(usage, options, option_count, arg);
            if (i + 1 >= argc) return troc_cli_fail(TROC_EXIT_USAGE, "%s needs a value\nusage: %s", arg, usage);
            /* `--reason --credit-limit 5` is a value forgotten, not a reason
             * that reads "--credit-limit". */
            if (option_find(options, option_count, argv[i + 1]) != NULL) {
                return troc_cli_fail(TROC_EXIT_USAGE, "%s needs a value, but is followed by the option %s\nusage: %s",
                                     arg, argv[i + 1], usage);
            }
            if (*option->value != NULL) return usage_error(usage, "given twice: ", arg);
            *option->value = argv[++i];
            continue;
        }
        if (args->count == maximum && options_ended && arg[0] == '-') {
            return troc_cli_fail(TROC_EXIT_USAGE,
                                 "unexpected argument %s: after '--' every word is an argument; give the options "
                                 "before '--'\nusage: %s",
                                 arg, usage);
        }
        if (args->count == maximum) return usage_error(usage, "unexpected argument ", arg);
        args->positional[args->count++] = arg;
    }
    if (args->count < minimum) return usage_error(usage, "missing arguments", NULL);
    return 0;
}

int troc__cli_check_name(const char *what, const char *name) {
    assert(what != NULL && name != NULL);
    if (troc_name_valid(name, strlen(name))) return 0;
    return troc_cli_fail(TROC_EXIT_USAGE, "%s '%s' is not a member name (1 to %d of a-z 0-9 . _ -)", what, name,
                         TROC_NAME_LENGTH_MAX);
}

int troc__cli_check_amount(const char *what, const char *text, int64_t minimum_cents, int64_t *cents_out) {
    assert(what != NULL && text != NULL && cents_out != NULL);
    int rc = troc_amount_parse(text, strlen(text), cents_out);
    if (rc != 0 || *cents_out < minimum_cents || *cents_out > TROC_AMOUNT_CENTS_MAX) {
        char low[TROC_AMOUNT_TEXT_SIZE], high[TROC_AMOUNT_TEXT_SIZE];
        /* A decimal comma is how much of Europe writes 12,50: say so
         * rather than leave the reader to spot it. */
        char pointed[TROC_AMOUNT_TEXT_SIZE] = "";
        const char *comma = strchr(text, ',');
        if (comma != NULL && comma == strrchr(text, ',') && strlen(text) < sizeof pointed) {
            memcpy(pointed, text, strlen(text) + 1);
            pointed[comma - text] = '.';
            int64_t cents = 0;
            if (troc_amount_parse(pointed, strlen(pointed), &cents) != 0) pointed[0] = '\0';
        }
        return troc_cli_fail(TROC_EXIT_USAGE,
                             "%s '%s' is not an amount from %s to %s (a decimal with at most two fractional digits, "
                             "e.g. 120.50)%s%s",
                             what, text, troc_amount_format(minimum_cents, low),
                             troc_amount_format(TROC_AMOUNT_CENTS_MAX, high),
                             pointed[0] != '\0' ? "; write it with a point: " : "", pointed);
    }
    return 0;
}

/* Whether code point c is a control character troc_text_valid() refuses:
 * C0 but tab, DEL, C1. */
static bool control_refused(uint32_t c) {
    return (c < 0x20 && c != '\t') || c == 0x7F || (c >= 0x80 && c < 0xA0);
}

/* Says why `text`, which troc_text_valid() refused, is not valid text: the
 * first byte that is not part of a UTF-8 character, or the first control
 * character, named by its code point (a line break as such: free text is
 * one line).  A byte that starts a character (0xC2 to 0xF4) is said to,
 * since what is wrong is what follows it: a character cut short (the end
 * of a truncated text), or bytes no character is made of (a surrogate,
 * an overlong form); the others found here never start one (0x80 to
 * 0xBF continue a character; 0xC0, 0xC1 and 0xF5 to 0xFF are in none).
 * Positions count bytes from 1, as a hex dump shows them. */
static int text_refused(const char *what, const char *text, size_t length) {
    for (size_t i = 0; i < length;) {
        size_t bytes = troc_utf8_sequence_length(text + i, length - i);
        if (bytes == 0) {
            const unsigned byte = (unsigned char)text[i];
            const bool lead = byte >= 0xC2 && byte <= 0xF4;
            return troc_cli_fail(TROC_EXIT_USAGE,
                                 "%s is not valid UTF-8 text: byte %zu (0x%02X) %s; give it in UTF-8 (is the "
                                 "terminal set to another encoding?)",
                                 what, i + 1, byte,
                                 lead ? "starts a UTF-8 character that is cut short or ill-formed"
                                      : "begins no UTF-8 character");
        }
        uint32_t c = troc_utf8_code_point(text + i);
        if (control_refused(c)) {
            const bool line_break = c == '\n' || c == '\r' || c == 0x85;
            return troc_cli_fail(TROC_EXIT_USAGE, "%s holds %s (U+%04X) at byte %zu: %s", what,
                                 line_break ? "a line break" : "a control character", (unsigned)c, i + 1,
                                 line_break ? "it is one line of text; remove it" : "remove it");
        }
        i += bytes;
    }
    assert(false); /* troc_text_valid() found what the walk above finds */
    return troc_cli_fail(TROC_EXIT_USAGE, "%s is not valid text", what);
}

int troc__cli_check_text(const char *what, const char *text, size_t length_max, bool required) {
    assert(what != NULL);
    if (text == NULL || text[0] == '\0') {
        return required ? troc_cli_fail(TROC_EXIT_USAGE, "%s is required and must not be empty", what) : 0;
    }
    size_t length = strlen(text);
    if (length > length_max) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s is %zu bytes long; at most %zu are allowed", what, length,
                             length_max);
    }
    if (!troc_text_valid(text, length)) return text_refused(what, text, length);
    if (troc_text_has_bidi_control(text, length)) {
        return troc_cli_fail(TROC_EXIT_USAGE,
                             "%s holds a bidirectional control character (U+202A to U+202E, U+2066 to U+2069), "
                             "which can make it display otherwise than it reads: remove it",
                             what);
    }
    /* A required text (a reason) is there to be read later: spaces alone,
     * or characters that show nothing, say nothing. */
    if (required && troc_text_blank(text, length)) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s shows nothing (only spaces or invisible characters): say why",
                             what);
    }
    return 0;
}

int troc__cli_check_public_key(const char *what, const char *text, uint8_t public_key[32]) {
    assert(what != NULL && text != NULL);
    if (troc_public_key_from_hex(text, public_key) == 0) return 0;
    return troc_cli_fail(TROC_EXIT_USAGE, "%s '%s' is not a public key (64 hex digits, as 'troc pubkey' prints)",
                         what, text);
}

int troc__cli_check_key_usable(const char *what, const char *text, const uint8_t public_key[32]) {
    assert(what != NULL && text != NULL);
    if (troc_public_key_usable(public_key)) return 0;
    return troc_cli_fail(TROC_EXIT_USAGE,
                         "%s '%s' is not a key anyone can sign with: give the one 'troc pubkey' prints for the "
                         "member's key file",
                         what, text);
}

int troc__cli_check_id(const char *text, uint8_t id[16]) {
    assert(text != NULL && id != NULL);
    if (troc_hex_decode(text, strlen(text), id, TROC_ID_SIZE) == 0) return 0;
    return troc_cli_fail(TROC_EXIT_USAGE, "--id '%s' is not an id (32 hex digits)", text);
}

int troc__cli_check_number(const char *what, const char *text, uint64_t minimum, uint64_t maximum,
                           uint64_t *number_out) {
    assert(what != NULL && text != NULL && number_out != NULL);
    assert(minimum <= maximum);
    size_t length = strlen(text);
    bool digits = length > 0 && length <= 19 && strspn(text, "0123456789") == length;
    uint64_t value = digits ? strtoull(text, NULL, 10) : 0;
    if (!digits || value < minimum || value > maximum) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s '%s' is not a number from %llu to %llu", what, text,
                             (unsigned long long)minimum, (unsigned long long)maximum);
    }
    *number_out = value;
    return 0;
}

int troc__cli_check_count(const char *what, const char *text, uint64_t maximum, uint64_t *count_out) {
    return troc__cli_check_number(what, text, 1, maximum, count_out);
}
