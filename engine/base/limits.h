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

/* Ledger storage ---------------------------------------------------------- */

/* Members of one territory: a cooperative's member businesses.  Member ids
 * are dense 32-bit numbers; the bound keeps stats, verify and a clearing
 * snapshot of every member well within memory and a second's scan. */
#define TROC_MEMBERS_MAX 1000000

/* Keys a member has ever held (active and revoked): the member's key list is
 * read whole for member info; revoked keys stay listed for audit. */
#define TROC_MEMBER_KEY_RECORDS_MAX 64

/* Limit changes listed in member info, newest first (all stay stored and
 * journaled). */
#define TROC_LIMIT_CHANGES_LISTED_MAX 32

/* Accounts one write transaction keeps in memory before writing them out:
 * each touched account is written once per commit while they fit (a
 * territory of up to this many active members), more often beyond. */
#define TROC_WRITE_ACCOUNTS_MAX 32768

/* LMDB map: the map is address space, not disk (the data file grows with its
 * contents), so it starts large enough for years of a territory's activity
 * (2.5 to 5 million transfers per GiB, single or batched) and grows when
 * full.  Growth doubles the map, by at most TROC_LEDGER_MAP_GROWTH_MAX at a
 * time, up to TROC_LEDGER_MAP_SIZE_MAX; it is refused when the disk has less
 * than TROC_LEDGER_DISK_FREE_MIN free, because a bigger map would not help
 * then. */
#define TROC_LEDGER_MAP_SIZE_INITIAL (1ull << 30)
#define TROC_LEDGER_MAP_GROWTH_MAX (64ull << 30)
#define TROC_LEDGER_MAP_SIZE_MAX (4ull << 40)
#define TROC_LEDGER_DISK_FREE_MIN (64ull << 20)

/* Open obligations (accepted invoices not yet settled) at once: a clearing
 * round takes them all in one snapshot and journals its settlements in one
 * entry.  Accepting one more is refused (UNAVAILABLE) until some settle. */
#define TROC_OBLIGATIONS_OPEN_MAX 4000000

/* Largest body of one journal entry: a signed batch (bounded by
 * TROC_FRAME_SIZE_MAX) or a clearing round: at most 44 bytes per settlement
 * of TROC_OBLIGATIONS_OPEN_MAX obligations and 80 per firm (name and
 * potential) of TROC_MEMBERS_MAX members. */
#define TROC_JOURNAL_BODY_SIZE_MAX (256u * 1024u * 1024u)

_Static_assert(44ull * TROC_OBLIGATIONS_OPEN_MAX + 80ull * TROC_MEMBERS_MAX <= TROC_JOURNAL_BODY_SIZE_MAX,
               "the largest clearing round fits one journal entry");
_Static_assert(TROC_FRAME_SIZE_MAX <= TROC_JOURNAL_BODY_SIZE_MAX, "a signed batch fits one journal entry");

/* Journal entries replayed per scratch transaction by verify: big enough to
 * amortise commits, small enough to bound one transaction's dirty pages. */
#define TROC_REPLAY_ENTRIES_PER_COMMIT 4096

_Static_assert((TROC_WRITE_ACCOUNTS_MAX & (TROC_WRITE_ACCOUNTS_MAX - 1)) == 0,
               "the write cache's indexes are powers of two");
_Static_assert(TROC_MEMBER_KEYS_MAX <= TROC_MEMBER_KEY_RECORDS_MAX, "active keys are key records");

#endif /* TROC_LIMITS_H */
