/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The standard streams of a process that may be started without them.
 */
#ifndef TROC_STREAMS_H
#define TROC_STREAMS_H

/* The standard streams, as bits of troc_standard_streams_open's report: bit
 * N stands for descriptor N. */
enum {
    TROC_STREAM_INPUT = 1u << 0,
    TROC_STREAM_OUTPUT = 1u << 1,
    TROC_STREAM_ERROR = 1u << 2,
};

/* Opens /dev/null on each of descriptors 0, 1 and 2 that is closed, and sets
 * *closed_out to the TROC_STREAM_* bits of those that were.  A process
 * started with one of them closed (`trocd run 2>&-`, a careless service
 * manager) would hand it to the first file it opens, and then write its log
 * or its output into that file: the ledger, a result CSV.  What went to
 * /dev/null is lost, though: a command whose standard output is its result
 * (a payment's id, a territory's key) must refuse to run when
 * TROC_STREAM_OUTPUT is set.  Call it first thing in main.  Returns 0, or
 * -errno when /dev/null cannot be opened (the program must then stop before
 * it opens anything). */
int troc_standard_streams_open(unsigned *closed_out);

/* Flushes standard output: 0 when everything written to it went out, else
 * -errno (-EIO when an earlier write failed and its errno is gone).  A
 * command whose output could not be written must not exit 0: a script
 * would take an empty file for its answer. */
int troc_standard_output_flush(void);

#endif
