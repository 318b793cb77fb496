/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks and conversions for text that crosses a boundary: member and
 * territory names, free text (memos, reasons, references) and hexadecimal ids.
 * They run at every boundary (wire, command line, CSV) before anything is
 * trusted.
 */
#ifndef TROC_TEXT_H
#define TROC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A name is 1 to TROC_NAME_LENGTH_MAX bytes of [a-z0-9._-]. */
bool troc_name_valid(const char *name, size_t length);

/* Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) and
 * no control character but tab: neither C0 (NUL included) nor DEL nor C1
 * (U+0080..U+009F).  What new text must be. */
bool troc_text_valid(const char *text, size_t length);

/* As troc_text_valid, but C1 controls pass: the rule text journaled before
 * they were refused was accepted under, which replaying it must keep. */
bool troc_text_valid_with_c1(const char *text, size_t length);

/* Whether `text` (NUL-terminated) is a calendar date written YYYY-MM-DD,
 * years 0001 to 9999 (2026-02-29 is not one). */
bool troc_date_valid(const char *text);

/* The code point of the well-formed UTF-8 sequence at `text` (the caller
 * has checked it, with troc_text_valid or troc_utf8_sequence_length). */
uint32_t troc_utf8_code_point(const char *text);

/* Whether code point c is a space other than ASCII's (Unicode's
 * White_Space beyond U+007F) or a character that shows nothing (zero-width
 * ones, the byte-order mark, bidirectional marks, the soft hyphen): what
 * cannot be seen at either end of a name, nor make a reason readable. */
bool troc_code_point_unseen(uint32_t c);

/* Whether well-formed UTF-8 `text` shows nothing: only spaces, tabs and
 * characters troc_code_point_unseen() names (an empty text included). */
bool troc_text_blank(const char *text, size_t length);

/* Whether well-formed UTF-8 `text` holds a bidirectional embedding,
 * override or isolate control (U+202A to U+202E, U+2066 to U+2069), which
 * can make a memo or a reason display otherwise than it reads. */
bool troc_text_has_bidi_control(const char *text, size_t length);

/* Length of the well-formed UTF-8 sequence at the start of `text` (1 to 4
 * bytes of the `available` ones, at least 1), or 0 when there is none. */
size_t troc_utf8_sequence_length(const char *text, size_t available);

/* Lower-case hexadecimal of `size` bytes into `hex` (2 * size + 1 bytes). */
void troc_hex_encode(const uint8_t *bytes, size_t size, char *hex);

/* Reads exactly 2 * size hexadecimal digits (either case) from a string of
 * `length` bytes; TROC_EHEX when the length or a digit is wrong. */
int troc_hex_decode(const char *hex, size_t length, uint8_t *bytes, size_t size);

/* `text` as one word of a POSIX shell, for a command a message invites the
 * user to paste: unchanged when every byte is safe unquoted (letters,
 * digits and _ - . / , : @ % + =), else in single quotes, each ' written
 * '\''; "" becomes ''.  Writes at most `size` bytes with the terminating
 * NUL (none when `size` is 0) and returns the length the whole word needs
 * without it, as snprintf does. */
size_t troc_shell_quote(const char *text, char *out, size_t size);

/* Bytes troc_shell_quote() may need for a text of `length` bytes, with the
 * NUL: two quotes, and four bytes ('\'') for each byte of the text. */
#define TROC_SHELL_QUOTE_SIZE(length) (4 * (size_t)(length) + 3)

/* Smallest buffer troc_shell_quote_cut() accepts: room for ''... and the
 * NUL. */
#define TROC_SHELL_QUOTE_CUT_SIZE_MIN 6

/* `text` as troc_shell_quote() writes it into `out` (`size` bytes, at least
 * TROC_SHELL_QUOTE_CUT_SIZE_MIN), for a message that must not allocate:
 * true when the whole word fits.  A word that does not fit is cut after
 * the longest whole characters that do (never inside a '\'' or a UTF-8
 * sequence), in closed single quotes, followed by "...", so that a reader
 * sees it is cut and a shell never sees an open quote. */
bool troc_shell_quote_cut(const char *text, char *out, size_t size);

#endif /* TROC_TEXT_H */
