/* SPDX-License-Identifier: Apache-2.0 */
#include "base/streams.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int troc_standard_streams_open(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        /* The lowest free descriptor: this one, those below being open. */
        int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened < 0) return -errno;
        if (opened != fd) {
            close(opened);
            return -EBADF;
        }
    }
    return 0;
}

int troc_standard_output_flush(void) {
    errno = 0;
    int flushed = fflush(stdout);
    int error = errno;
    if (flushed == 0 && !ferror(stdout)) return 0;
    return error != 0 ? -error : -EIO;
}
