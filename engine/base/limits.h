/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every limit troc enforces, in one place, each with the reason for its
 * bound.  Code never writes one of these numbers itself: it names the macro,
 * so that a reviewer can see at a glance what a peer or an input can make the
 * daemon allocate, queue or loop over.
 */
#ifndef TROC_LIMITS_H
#define TROC_LIMITS_H

/* Identity ---------------------------------------------------------------- */

/* Member and territory names are [a-z0-9._-]{1,64}: short enough to print in
 * a statement column, long enough for "boulangerie-dupont.lyon". */
#define TROC_NAME_LENGTH_MAX 64

/* Keys a member may hold at once (one per device or integration); a bound so
 * that the key list of a member fits in one small record. */
#define TROC_MEMBER_KEYS_MAX 16

/* Admin keys registered at init; a cooperative has a handful of
 * administrators. */
#define TROC_ADMIN_KEYS_MAX 16

/* Currency or unit code shown next to amounts ("EUR", "WIR", "SARDEX"). */
#define TROC_UNIT_LENGTH_MAX 16

/* Text fields ------------------------------------------------------------ */

/* A transfer memo: a line on a statement, not a document. */
#define TROC_MEMO_LENGTH_MAX 256

/* The reason recorded with an admin action (limit change, freeze). */
#define TROC_REASON_LENGTH_MAX 512

/* An invoice's own reference (the issuer's invoice number). */
#define TROC_INVOICE_REF_LENGTH_MAX 128

/* Amounts ---------------------------------------------------------------- */

/* Largest amount of one transfer, invoice or credit line, in cents: 10^15
 * cents is ten thousand billion units, beyond any real business, and small
 * enough that the sum of TROC_BATCH_ITEMS_MAX of them cannot overflow int64. */
#define TROC_AMOUNT_CENTS_MAX 1000000000000000LL

/* Text form of an amount: sign, 19 digits, point, NUL, with room to spare. */
#define TROC_AMOUNT_TEXT_SIZE 32

/* Clearing --------------------------------------------------------------- */

/* Firms and obligations in one clearing problem.  The solver numbers nodes
 * and arcs with uint32: with the balance node, two slack arcs per firm and a
 * reverse for every arc, 2 * (obligations + 2 * firms) + 2 must stay below
 * 2^32.  10^8 obligations also bound the solver's memory (about 100 bytes
 * each) to what one machine holds. */
#define TROC_CLEARING_FIRMS_MAX 100000000u
#define TROC_CLEARING_OBLIGATIONS_MAX 100000000u

/* Bound of the sum of all obligations of one clearing problem and of the
 * magnitude of every account figure (balance, credit limit, finite balance
 * maximum), in cents.  A quarter of int64 leaves headroom for every sum the
 * solver forms (a node's excess adds its incoming and outgoing capacities; a
 * final balance adds a change bounded by the total to a balance). */
#define TROC_CLEARING_TOTAL_CENTS_MAX (9223372036854775807LL / 4)

_Static_assert(2ull * (TROC_CLEARING_OBLIGATIONS_MAX + 2ull * TROC_CLEARING_FIRMS_MAX) + 2ull
                   < 4294967295ull,
               "clearing arcs and nodes must be numbered with uint32");
_Static_assert(TROC_AMOUNT_CENTS_MAX <= TROC_CLEARING_TOTAL_CENTS_MAX,
               "one obligation of the largest amount must be a valid problem");

/* Wire ------------------------------------------------------------------- */

/* Largest frame a peer may send or receive (after the 4-byte length).  It
 * must hold a full signed batch (see the static assertion below); anything
 * larger is an attack or a bug and closes the connection. */
#define TROC_FRAME_SIZE_MAX (2u * 1024u * 1024u)

/* Transfers in one envelope signed once (a payer or a partner node paying
 * many at once).  Bounded so that one batch always fits in a frame and one
 * write transaction. */
#define TROC_BATCH_ITEMS_MAX 4096

/* Envelopes in one submit request. */
#define TROC_SUBMIT_ENVELOPES_MAX 256

/* Rows in one page of a statement or invoice list. */
#define TROC_PAGE_ROWS_MAX 1000

/* Upper bound of the encoded size of one batch item: id (2+16), payee
 * (2+64), amount (1+10), memo (3+256), item framing (3), rounded up. */
#define TROC_BATCH_ITEM_ENCODED_SIZE_MAX 384

_Static_assert((unsigned long long)TROC_BATCH_ITEMS_MAX * TROC_BATCH_ITEM_ENCODED_SIZE_MAX + 4096
                   <= TROC_FRAME_SIZE_MAX,
               "a full signed batch must fit in one frame");
_Static_assert(TROC_AMOUNT_CENTS_MAX <= 9223372036854775807LL / TROC_BATCH_ITEMS_MAX,
               "the sum of one batch's amounts cannot overflow int64");

/* Server ----------------------------------------------------------------- */

/* Open connections; past it a new connection is told "busy" and closed.
 * Each costs at most one frame buffer plus its write queue. */
#define TROC_CONNECTIONS_MAX 1024

/* Requests a connection may have in flight (read, not yet answered); at the
 * bound the server stops reading from it (backpressure) until replies go
 * out. */
#define TROC_REQUESTS_IN_FLIGHT_MAX 256

/* Bytes of replies queued to one connection that the peer has not read; at
 * the bound the server stops reading from it. */
#define TROC_WRITE_QUEUE_BYTES_MAX (8u * 1024u * 1024u)

/* Items (transfers, admin actions, invoice actions) applied in one write
 * transaction by group commit: bounds the transaction's size and the time a
 * request waits behind others. */
#define TROC_COMMIT_ITEMS_MAX 65536

/* A client must finish the handshake within this time. */
#define TROC_HANDSHAKE_TIMEOUT_MS 10000

/* A connection silent this long is closed. */
#define TROC_IDLE_TIMEOUT_MS (5 * 60 * 1000)

/* CSV files (troc clear) ------------------------------------------------- */

/* Largest CSV file read.  The whole file is held in memory and its fields
 * are addressed by 32-bit offsets; 2 GiB is some sixty times the 1,000,000
 * obligations of the clearing benchmark (about 30 MB). */
#define TROC_CSV_FILE_SIZE_MAX (2ull * 1024u * 1024u * 1024u)

/* Bytes of one field: a firm name, an amount, an invoice reference or a
 * free-text note.  64 KiB holds any of them, a pasted paragraph included;
 * a longer field is a wrong delimiter or a binary file. */
#define TROC_CSV_FIELD_LENGTH_MAX 65536

/* Bytes of one record, the "line" of a CSV file: all its fields, separators
 * and line ends, across physical lines when quoted fields hold line breaks.
 * Sixteen long fields, enough for any invoice export. */
#define TROC_CSV_LINE_LENGTH_MAX (1024u * 1024u)

/* Columns of one file: invoice exports carry tens of columns.  Bounds the
 * header table and the per-row field array. */
#define TROC_CSV_COLUMNS_MAX 1024

/* Data rows of one file (header excluded): ten times the benchmark's
 * 1,000,000 obligations.  Two firm indices per row stay far below 2^32. */
#define TROC_CSV_ROWS_MAX 10000000

/* Strings one intern table maps to indices (firm names, invoice ids,
 * member names): the two firms of every row of the largest INPUT and the
 * members of an ACCOUNTS file as large, with indices and hash slots (a power
 * of two, at most four per string) in 32 bits. */
#define TROC_INTERN_COUNT_MAX (3u * TROC_CSV_ROWS_MAX)

_Static_assert(TROC_CSV_FIELD_LENGTH_MAX <= TROC_CSV_LINE_LENGTH_MAX, "a field fits in a line");
_Static_assert(TROC_CSV_LINE_LENGTH_MAX <= TROC_CSV_FILE_SIZE_MAX, "a line fits in a file");
_Static_assert(TROC_CSV_FILE_SIZE_MAX < 4294967295ull, "field offsets are 32-bit");
_Static_assert(4ull * TROC_INTERN_COUNT_MAX <= 4294967295ull, "intern slots are counted in 32 bits");

#endif /* TROC_LIMITS_H */
