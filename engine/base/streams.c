/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The standard streams of a process that may be started without them: a
 * closed one is reopened on /dev/null, so that the files the program opens
 * never take descriptors 0 to 2, and reported, so that a program whose
 * output is its result can refuse to run rather than lose it.
 */
#include "base/streams.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int troc_standard_streams_open(unsigned *closed_out) {
    assert(closed_out != NULL);
    *closed_out = 0;
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        /* The lowest free descriptor: this one, those below being open. */
        int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened < 0) return -errno;
        if (opened != fd) {
            close(opened);
            return -EBADF;
        }
        *closed_out |= 1u << fd;
    }
    assert(*closed_out <= (TROC_STREAM_INPUT | TROC_STREAM_OUTPUT | TROC_STREAM_ERROR));
    return 0;
}

int troc_standard_output_flush(void) {
    errno = 0;
    int flushed = fflush(stdout);
    int error = errno;
    if (flushed == 0 && !ferror(stdout)) return 0;
    return error != 0 ? -error : -EIO;
}
