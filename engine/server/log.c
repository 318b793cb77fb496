/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log line is formatted into one buffer and written with a single
 * write(2) so that two threads logging at once produce two whole lines.  A
 * message longer than the buffer is cut, never split.
 */
#include "log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_SIZE 1024

void troc_log(const char *format, ...) {
    assert(format != NULL);
    char line[LOG_LINE_SIZE];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    size_t length = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &utc);
    int written = snprintf(line + length, sizeof line - length, ".%03ldZ trocd: ", now.tv_nsec / 1000000);
    assert(written > 0);
    length += (size_t)written;
    va_list args;
    va_start(args, format);
    written = vsnprintf(line + length, sizeof line - length, format, args);
    va_end(args);
    if (written < 0) written = 0;
    length += (size_t)written;
    if (length > sizeof line - 2) length = sizeof line - 2;
    line[length++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, length);
    (void)ignored;
}
