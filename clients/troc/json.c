/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming JSON writer for the --json output of every command.  It writes
 * straight to a FILE, keeps only a comma flag per nesting level, and escapes
 * strings per RFC 8259: control characters as \u00XX, well-formed UTF-8
 * passed through, and any byte that is not part of it (a file name given on
 * the command line may hold any) as U+FFFD, so that the output is always
 * valid JSON.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "base/amount.h"
#include "base/text.h"
#include "cli.h"

static void separate(troc_json *json, const char *key);

static void write_escaped(FILE *out, const char *value, size_t length) {
    fputc('"', out);
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)value[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20 || c == 0x7F) {
                fprintf(out, "\\u%04x", c);
            } else if (c < 0x80) {
                fputc(c, out);
            } else {
                size_t n = troc_utf8_sequence_length(value + i, length - i);
                if (n == 0) {
                    fputs("\\ufffd", out);
                } else {
                    fwrite(value + i, 1, n, out);
                    i += n - 1;
                }
            }
        }
    }
    fputc('"', out);
}

static void separate(troc_json *json, const char *key) {
    assert(json->depth > 0 && json->depth <= TROC_JSON_DEPTH_MAX);
    if (json->has_member[json->depth - 1]) fputc(',', json->out);
    json->has_member[json->depth - 1] = true;
    if (key != NULL) {
        write_escaped(json->out, key, strlen(key));
        fputc(':', json->out);
    }
}

static void open_level(troc_json *json, const char *key, char bracket) {
    separate(json, key);
    assert(json->depth < TROC_JSON_DEPTH_MAX);
    fputc(bracket, json->out);
    json->has_member[json->depth++] = false;
}

static void close_level(troc_json *json, char bracket) {
    assert(json->depth > 0);
    json->depth--;
    fputc(bracket, json->out);
}

void troc_json_start(troc_json *json, FILE *out) {
    assert(out != NULL);
    json->out = out;
    json->depth = 1;
    json->has_member[0] = false;
    fputc('{', out);
}

void troc_json_finish(troc_json *json) {
    assert(json->depth == 1);
    json->depth = 0;
    /* Not flushed here: the flush that finds a failed write must be the one
     * that reports it (main's, or troc clear's), while errno still says why. */
    fputs("}\n", json->out);
}

void troc_json_object_begin(troc_json *json, const char *key) { open_level(json, key, '{'); }
void troc_json_object_end(troc_json *json) { close_level(json, '}'); }
void troc_json_array_begin(troc_json *json, const char *key) { open_level(json, key, '['); }
void troc_json_array_end(troc_json *json) { close_level(json, ']'); }

void troc_json_string_n(troc_json *json, const char *key, const char *value, size_t length) {
    separate(json, key);
    write_escaped(json->out, value, length);
}

void troc_json_string(troc_json *json, const char *key, const char *value) {
    if (value == NULL) {
        troc_json_null(json, key);
        return;
    }
    troc_json_string_n(json, key, value, strlen(value));
}

void troc_json_int(troc_json *json, const char *key, int64_t value) {
    separate(json, key);
    fprintf(json->out, "%" PRId64, value);
}

void troc_json_amount(troc_json *json, const char *key, int64_t cents) {
    char text[TROC_AMOUNT_TEXT_SIZE];
    troc_json_string(json, key, troc_amount_format(cents, text));
}

void troc_json_bool(troc_json *json, const char *key, bool value) {
    separate(json, key);
    fputs(value ? "true" : "false", json->out);
}

void troc_json_null(troc_json *json, const char *key) {
    separate(json, key);
    fputs("null", json->out);
}

void troc_json_double(troc_json *json, const char *key, double value) {
    separate(json, key);
    fprintf(json->out, "%.6g", value);
}
