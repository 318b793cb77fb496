/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trocd's log: one line per event on stderr, prefixed with the UTC time to
 * the millisecond, so that an operator can follow the daemon with
 * `journalctl` or a plain redirect and a test can wait for a line.
 */
#ifndef TROC_SERVER_LOG_H
#define TROC_SERVER_LOG_H

#if defined(__GNUC__)
#define TROC_PRINTF(format_index, first_arg) __attribute__((format(printf, format_index, first_arg)))
#else
#define TROC_PRINTF(format_index, first_arg)
#endif

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ trocd: <message>\n" to stderr in one
 * write, so that lines from the loop and the writer thread never mix. */
void troc_log(const char *format, ...) TROC_PRINTF(1, 2);

#endif /* TROC_SERVER_LOG_H */
