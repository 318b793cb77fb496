/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The standard streams of a process that may be started without them.
 */
#ifndef TROC_STREAMS_H
#define TROC_STREAMS_H

/* Opens /dev/null on each of descriptors 0, 1 and 2 that is closed.  A
 * process started with one of them closed (`trocd run 2>&-`, a careless
 * service manager) would hand it to the first file it opens, and then write
 * its log or its output into that file: the ledger, a result CSV.  Call it
 * first thing in main.  Returns 0, or -errno when /dev/null cannot be
 * opened (the program must then stop before it opens anything). */
int troc_standard_streams_open(void);

/* Flushes standard output: 0 when everything written to it went out, else
 * -errno (-EIO when an earlier write failed and its errno is gone).  A
 * command whose output could not be written must not exit 0: a script
 * would take an empty file for its answer. */
int troc_standard_output_flush(void);

#endif
