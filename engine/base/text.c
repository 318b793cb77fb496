/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boundary checks for names and text, hexadecimal conversion, and quoting
 * for a shell of the paths a message asks the user to paste.  The UTF-8
 * check follows the table of well-formed byte sequences in the Unicode
 * standard (section 3.9, table 3-7), so overlong forms and surrogates are
 * refused rather than passed on to a terminal or a CSV file.
 */
#include "text.h"

#include <assert.h>
#include <string.h>

#include "error.h"
#include "limits.h"

bool troc_name_valid(const char *name, size_t length) {
    if (name == NULL || length == 0 || length > TROC_NAME_LENGTH_MAX) return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

size_t troc_utf8_sequence_length(const char *text, size_t available) {
    assert(text != NULL && available > 0);
    const unsigned char *s = (const unsigned char *)text;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t length;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0) second_min = 0xA0;
        if (c == 0xED) second_max = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0) second_min = 0x90;
        if (c == 0xF4) second_max = 0x8F; /* at most U+10FFFF */
    } else {
        return 0;
    }
    if (available < length) return 0;
    if (s[1] < second_min || s[1] > second_max) return 0;
    for (size_t i = 2; i < length; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    }
    return length;
}

static bool text_valid(const char *text, size_t length, bool c1_allowed) {
    if (length == 0) return true;
    if (text == NULL) return false;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < length) {
        if (s[i] < 0x20 && s[i] != '\t') return false;
        if (s[i] == 0x7F) return false;
        size_t n = troc_utf8_sequence_length(text + i, length - i);
        if (n == 0) return false;
        /* C1 controls, U+0080..U+009F: U+009B is CSI to terminals that
         * honour 8-bit controls, and U+0085 a line break. */
        if (!c1_allowed && n == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0) return false;
        i += n;
    }
    return true;
}

bool troc_text_valid(const char *text, size_t length) {
    return text_valid(text, length, false);
}

bool troc_text_valid_with_c1(const char *text, size_t length) {
    return text_valid(text, length, true);
}

void troc_hex_encode(const uint8_t *bytes, size_t size, char *hex) {
    static const char digits[] = "0123456789abcdef";
    assert(bytes != NULL || size == 0);
    assert(hex != NULL);
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 0x0F];
    }
    hex[2 * size] = '\0';
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int troc_hex_decode(const char *hex, size_t length, uint8_t *bytes, size_t size) {
    assert(bytes != NULL);
    if (hex == NULL || length != 2 * size) return TROC_EHEX;
    for (size_t i = 0; i < size; i++) {
        int high = hex_digit(hex[2 * i]);
        int low = hex_digit(hex[2 * i + 1]);
        if (high < 0 || low < 0) return TROC_EHEX;
        bytes[i] = (uint8_t)(high << 4 | low);
    }
    return 0;
}

static bool shell_safe(const char *text) {
    if (text[0] == '\0') return false;
    for (const char *c = text; *c != '\0'; c++) {
        bool safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    strchr("_-./,:@%+=", *c) != NULL;
        if (!safe) return false;
    }
    return true;
}

/* Appends `byte` to `out` when it fits with the NUL; counts it anyway. */
static void shell_put(char *out, size_t size, size_t *length, char byte) {
    if (*length + 1 < size) out[*length] = byte;
    (*length)++;
}

size_t troc_shell_quote(const char *text, char *out, size_t size) {
    assert(text != NULL && (out != NULL || size == 0));
    bool quote = !shell_safe(text);
    size_t length = 0;
    if (quote) shell_put(out, size, &length, '\'');
    for (const char *c = text; *c != '\0'; c++) {
        if (quote && *c == '\'') {
            /* Closes the quotes, writes an escaped quote, opens them again. */
            for (const char *escaped = "'\\''"; *escaped != '\0'; escaped++) {
                shell_put(out, size, &length, *escaped);
            }
        } else {
            shell_put(out, size, &length, *c);
        }
    }
    if (quote) shell_put(out, size, &length, '\'');
    if (size > 0) out[length < size ? length : size - 1] = '\0';
    return length;
}

/* Bytes of the character that starts at `c` once quoted: a quote takes
 * four, a UTF-8 sequence its lead and continuation bytes. */
static size_t quoted_character_size(const char *c, size_t *bytes_out) {
    if (*c == '\'') {
        *bytes_out = 1;
        return 4;
    }
    size_t bytes = 1;
    /* Bounded by the NUL, which is no continuation byte. */
    while (((unsigned char)c[bytes] & 0xc0u) == 0x80u) bytes++;
    *bytes_out = bytes;
    return bytes;
}

bool troc_shell_quote_cut(const char *text, char *out, size_t size) {
    assert(text != NULL && out != NULL && size >= TROC_SHELL_QUOTE_CUT_SIZE_MIN);
    if (troc_shell_quote(text, out, size) < size) return true;
    /* Room for the characters: all but the quotes, "..." and the NUL.
     * Always quoted, so that the cut shows before the dots. */
    size_t room = size - 6, length = 0;
    char *p = out;
    *p++ = '\'';
    for (const char *c = text; *c != '\0';) {
        size_t bytes;
        size_t quoted = quoted_character_size(c, &bytes);
        if (length + quoted > room) break;
        if (*c == '\'') {
            memcpy(p, "'\\''", 4);
        } else {
            memcpy(p, c, bytes);
        }
        p += quoted;
        length += quoted;
        c += bytes;
    }
    memcpy(p, "'...", 5);
    assert((size_t)(p + 5 - out) <= size);
    return false;
}

bool troc_date_valid(const char *text) {
    assert(text != NULL);
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-') return false;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9')) return false;
    }
    int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
    int month = (text[5] - '0') * 10 + (text[6] - '0');
    int day = (text[8] - '0') * 10 + (text[9] - '0');
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days[month - 1]) return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return !(month == 2 && day == 29 && !leap);
}

uint32_t troc_utf8_code_point(const char *text) {
    assert(text != NULL);
    const unsigned char *p = (const unsigned char *)text;
    if (p[0] < 0x80) return p[0];
    if (p[0] < 0xE0) return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    if (p[0] < 0xF0) return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
           (p[3] & 0x3F);
}

bool troc_code_point_unseen(uint32_t c) {
    return c == 0xA0 || c == 0xAD || c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200F) ||
           (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F) ||
           c == 0x3000 || c == 0xFEFF;
}

/* Whether some code point of well-formed UTF-8 `text` satisfies `test`. */
static bool text_any(const char *text, size_t length, bool (*test)(uint32_t c)) {
    assert(text != NULL || length == 0);
    for (size_t i = 0; i < length;) {
        size_t bytes = troc_utf8_sequence_length(text + i, length - i);
        assert(bytes > 0); /* well-formed, as the caller checked */
        if (test(troc_utf8_code_point(text + i))) return true;
        i += bytes;
    }
    return false;
}

static bool shows_something(uint32_t c) {
    return c != ' ' && c != '\t' && !troc_code_point_unseen(c);
}

static bool is_bidi_control(uint32_t c) {
    return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

bool troc_text_blank(const char *text, size_t length) {
    return !text_any(text, length, shows_something);
}

bool troc_text_has_bidi_control(const char *text, size_t length) {
    return text_any(text, length, is_bidi_control);
}
