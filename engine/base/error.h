/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc's error codes.  Every fallible function returns an int: 0 on success,
 * a negative number on failure.  System errors pass through as -errno, LMDB
 * and libuv codes pass through unchanged; troc's own codes live in a range of
 * their own (-20000 and below, above LMDB's -30799) so the three never meet.
 *
 * A ledger refusal (a transfer over its credit line) is not an error: it is a
 * result code, see result.h.
 *
 * New codes are appended; values are never renumbered because they appear in
 * logs and in the JSON output of the command line.
 */
#ifndef TROC_ERROR_H
#define TROC_ERROR_H

#define TROC_ERRNO_MAP(XX)                                                          \
    XX(AMOUNT, -20001, "not an amount (a decimal with at most two fractional digits)") \
    XX(OVERFLOW, -20002, "amount out of range")                                     \
    XX(NAME, -20003, "illegal name (use 1 to 64 of a-z 0-9 . _ -)")                 \
    XX(UTF8, -20004, "text is not valid UTF-8")                                     \
    XX(HEX, -20005, "not a hexadecimal value of the expected length")               \
    XX(KEYFILE, -20006, "not a troc key file")                                      \
    XX(SIGNATURE, -20007, "signature does not verify")                              \
    XX(FRAME, -20008, "malformed frame")                                            \
    XX(FRAME_SIZE, -20009, "frame larger than the maximum")                         \
    XX(DECODE, -20010, "cannot decode message")                                     \
    XX(PROTOCOL, -20011, "protocol violation")                                      \
    XX(HANDSHAKE, -20012, "handshake failed")                                       \
    XX(SERVER_KEY, -20013, "the territory's key differs from the one expected (given, or pinned on first use)") \
    XX(CLOSED, -20014, "connection closed")                                         \
    XX(CORRUPT, -20015, "stored data is corrupt")                                   \
    XX(CHAIN, -20016, "journal hash chain is broken")                               \
    XX(NOT_FOUND, -20017, "not found")                                              \
    XX(NOT_EMPTY, -20018, "directory is not empty")                                 \
    XX(CSV, -20019, "malformed CSV")                                                \
    XX(LIMIT, -20020, "a limit was exceeded")                                       \
    XX(USAGE, -20021, "bad usage")                                                  \
    XX(BUSY, -20022, "server busy")                                                 \
    XX(TIMEOUT, -20023, "timed out")                                                \
    XX(DENIED, -20024, "permission denied for this session")                        \
    XX(REPLAY, -20025, "replayed state differs from the stored state")              \
    XX(UNAVAILABLE, -20026, "storage unavailable (disk or map full)")               \
    XX(INFEASIBLE, -20027, "clearing result is not feasible")                      \
    XX(NOT_OPTIMAL, -20028, "clearing result is not optimal")                       \
    XX(STALE, -20029, "the ledger changed since the snapshot; take a new one")      \
    XX(FORMAT, -20030, "the ledger was written in another storage format than this trocd's") \
    XX(KNOWN_TERRITORIES, -20031, "the known-territories file cannot be used to check the territory's key")

typedef enum troc_error {
#define TROC_ERROR_ENUM(name, value, text) TROC_E##name = (value),
    TROC_ERRNO_MAP(TROC_ERROR_ENUM)
#undef TROC_ERROR_ENUM
} troc_error;

/* Text for any error code: troc's own, -errno, or LMDB's and libuv's (which
 * lie in ranges of their own).  Never NULL. */
const char *troc_strerror(int error);

/* Symbolic name ("TROC_EAMOUNT", "ENOENT", ...).  Never NULL. */
const char *troc_err_name(int error);

#endif /* TROC_ERROR_H */
