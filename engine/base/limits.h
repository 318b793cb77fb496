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

/* Members one page of the member list looks at: a page that keeps only
 * some (those outside their limits, the frozen ones) stops there, however
 * few it found, so that a request never scans the whole territory on the
 * daemon's loop (about a millisecond per thousand members). */
#define TROC_MEMBERS_SCAN_MAX (10 * TROC_PAGE_ROWS_MAX)

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

/* Connections still in their handshake, on each listener: a quarter of the
 * connection limit, or TROC_HANDSHAKES_MIN if more (at most the limit).  A
 * peer needs no key to hold a connection for TROC_HANDSHAKE_TIMEOUT_MS,
 * and one that reconnects as fast as it is cut could hold every slot:
 * bounded, strangers leave the other three quarters to the sessions that
 * proved their key.  The floor keeps small limits from refusing an honest
 * burst of clients connecting at once. */
#define TROC_HANDSHAKES_SHARE 4
#define TROC_HANDSHAKES_MIN 16

/* Connections in their handshake one source may hold on the TCP listener:
 * a quarter of the listener's share (64 of 256), or
 * TROC_HANDSHAKES_SOURCE_MIN if more (at most the share).  A source is an
 * IPv4 address or an IPv6 /64 (a host is given a whole /64); the Unix
 * socket is exempt.  Without this bound one stranger reconnecting as fast
 * as it is cut keeps the whole share full, and every honest newcomer over
 * TCP is told "busy"; with it, filling the share takes four sources, and
 * one leaves three quarters of it to the rest.  Not less: a handshake
 * lasts a round trip and a signature, but many honest peers can share one
 * address (an office or a market behind one NAT, all reconnecting when the
 * daemon restarts) and a client may open a pool at once (the bench's
 * --connections goes up to 64).  The floor keeps the small limits of tests
 * and small territories (a share of 16 or less) from refusing a client
 * that opens a few connections at once. */
#define TROC_HANDSHAKES_SOURCE_SHARE 4
#define TROC_HANDSHAKES_SOURCE_MIN 4

/* Refusals of a source at its handshake share are logged at most once a
 * minute, each line counting those refused since the previous one: a
 * stranger reconnecting as fast as it is cut would write a line per
 * attempt, thousands a second, drowning the log it is to be found in. */
#define TROC_REFUSALS_LOG_INTERVAL_MS 60000

/* Slots only the Unix socket may take, when the daemon has one (at most a
 * quarter of the connection limit): its peers are local administrators
 * (mode 0660), and they must be able to connect when peers over TCP fill
 * every other slot. */
#define TROC_CONNECTIONS_LOCAL_RESERVED 16

/* Requests a connection may have in flight (read, not yet answered); at the
 * bound the server stops reading from it (backpressure) until replies go
 * out. */
#define TROC_REQUESTS_IN_FLIGHT_MAX 256

/* Bytes of replies queued to one connection that the peer has not read; at
 * the bound the server stops reading from it. */
#define TROC_WRITE_QUEUE_BYTES_MAX (8u * 1024u * 1024u)

/* Items (transfers, admin actions, invoice actions) applied in one write
 * transaction by group commit: bounds the transaction's size and the time a
 * request waits behind others.  A request is never split, so one request
 * larger than this (a frame full of batches) still commits whole. */
#define TROC_COMMIT_ITEMS_MAX 65536

/* Group commit under load: when at least TROC_COMMIT_GATHER_SIBLINGS
 * requests are being verified (the daemon is saturated, more are coming
 * within a verification's time), the writer waits up to
 * TROC_COMMIT_GATHER_WAIT_US for its group to reach
 * TROC_COMMIT_GATHER_ITEMS transfers before it begins the transaction.
 * A commit's cost is mostly per transaction (the account pages it dirties,
 * the sync), so fuller groups leave more of the cores to verification; a
 * lightly loaded daemon never waits (as PostgreSQL's commit_delay and
 * commit_siblings).  The wait ends as soon as fewer requests are being
 * verified, so a burst waits about its own verification time; the bound
 * caps what it can add to a request's latency. */
#define TROC_COMMIT_GATHER_ITEMS 1024
#define TROC_COMMIT_GATHER_SIBLINGS 64
#define TROC_COMMIT_GATHER_WAIT_US 20000

/* A client must finish the handshake within this time. */
#define TROC_HANDSHAKE_TIMEOUT_MS 10000

/* A connection silent this long is closed. */
#define TROC_IDLE_TIMEOUT_MS (5 * 60 * 1000)

/* A frame must arrive whole within this time of its first bytes being read
 * (time the server spends not reading does not count): 2 MiB in 30 s is
 * 70 KB/s.  A peer that sends a large frame's header and then trickles or
 * stalls would otherwise pin its read buffer until the idle timeout. */
#define TROC_FRAME_TIMEOUT_MS 30000

/* A connection whose peer takes none of the replies being written to it
 * for this long is cut (as nginx's send_timeout).  Its unread replies are
 * charged to the server's memory budget, and while that budget is full no
 * TCP connection is read: peers that never read must not hold it for the
 * idle timeout.  The peer's taking shows as the kernel's send queue
 * draining (SIOCOUTQ, read when the timer fires), not only once the kernel
 * wakes the writer, which waits for a third of a send buffer of up to
 * 4 MiB to drain: so a client that takes any of its replies within this
 * time, however slowly, is not cut (where the kernel cannot tell, as off
 * Linux, one reading less than about 1.3 MiB a minute may be). */
#define TROC_WRITE_TIMEOUT_MS 60000

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
/* Decoded protobuf bytes a request may take per byte of its frame.  Honest
 * messages expand about four times when decoded (structs, pointer arrays,
 * copied strings); a hostile one made of empty repeated fields could expand
 * about forty times, so decoding stops at this ratio and the frame is
 * refused instead of costing memory. */
#define TROC_DECODE_EXPANSION_MAX 8

/* Decoded request memory one connection may hold in flight; at the bound the
 * server stops reading from it until replies go out (with
 * TROC_REQUESTS_IN_FLIGHT_MAX, it bounds what one peer costs). */
#define TROC_CONNECTION_REQUEST_BYTES_MAX (64u * 1024u * 1024u)

/* Memory all connections together may hold: decoded requests in flight,
 * read buffers and replies queued.  Past it connections stop taking
 * frames until the writer catches up and peers take their replies, so the
 * daemon's memory stays bounded whatever the number of busy peers (replies
 * already owed are still queued: a connection can always finish them).  A
 * quarter of it at most goes to read buffers grown for frames larger than
 * their first 16 KiB: a connection whose frame does not fit waits, not
 * reading, until another's is done.
 *
 * An eighth of it is kept for the Unix socket's connections, when the
 * daemon has one: TCP connections stop at the other seven eighths, so
 * peers over TCP that fill their part (by never reading their replies)
 * cannot lock out the local administrators, whom the slots kept for them
 * (TROC_CONNECTIONS_LOCAL_RESERVED) would let connect only to be left
 * unread.  The Unix socket's connections may also use what TCP leaves of
 * the rest, within the whole budget.  Connections in their handshake are
 * read past the budget: their frames are small, their number bounded
 * (TROC_HANDSHAKES_SHARE), and a newcomer should be served, or told why
 * not, rather than time out. */
#define TROC_SERVER_MEMORY_BYTES_MAX (512u * 1024u * 1024u)
#define TROC_SERVER_FRAME_BUFFERS_SHARE 4
#define TROC_SERVER_MEMORY_LOCAL_SHARE 8

/* The lowest budget a server may be given (tests give low ones): its share
 * for read buffers must hold one frame of the largest size. */
#define TROC_SERVER_MEMORY_BYTES_MIN (16u * 1024u * 1024u)

/* Connections being told "busy" at once (each holds one small frame and a
 * descriptor until the peer takes it, for at most TROC_CLOSE_LINGER_MS);
 * past it a new connection is closed without a word, which libtroc
 * reports as a server that may be busy.  Documented in docs/protocol.md. */
#define TROC_REFUSALS_MAX 64

/* Descriptors kept apart from connections: the standard streams, the
 * ledger's files (data, lock, its directory's lock), the event loop's own (epoll,
 * signal pipes, wake-ups), the listeners, a backup's files and the port
 * file, with room to spare.  The daemon needs TROC_CONNECTIONS_MAX +
 * TROC_REFUSALS_MAX + this many: past its descriptor limit accept fails,
 * and libuv then closes newcomers unseen, with no "busy" answer and
 * nothing logged, so the connection limit is lowered to fit instead. */
#define TROC_DESCRIPTORS_RESERVED 64

/* Pending connections the kernel may queue before the server accepts them. */
#define TROC_LISTEN_BACKLOG 511

/* A connection being closed gets this long to take its last frame (an
 * error saying why) before it is cut. */
#define TROC_CLOSE_LINGER_MS 2000

/* On SIGINT or SIGTERM, the requests already read get this long to be
 * committed and answered before the remaining connections are cut. */
#define TROC_SHUTDOWN_TIMEOUT_MS 10000

_Static_assert(TROC_CONNECTION_REQUEST_BYTES_MAX >= (unsigned long long)TROC_DECODE_EXPANSION_MAX * TROC_FRAME_SIZE_MAX,
               "a connection must be able to hold its largest decoded request");
_Static_assert(TROC_SERVER_MEMORY_BYTES_MAX >= TROC_CONNECTION_REQUEST_BYTES_MAX,
               "the server's budget holds at least one connection's");
_Static_assert(TROC_SERVER_MEMORY_BYTES_MIN / TROC_SERVER_FRAME_BUFFERS_SHARE >= TROC_FRAME_SIZE_MAX + 4,
               "the read buffers' share of the smallest budget holds a frame of the largest size");
_Static_assert(TROC_SERVER_MEMORY_BYTES_MIN <= TROC_SERVER_MEMORY_BYTES_MAX, "the default budget is allowed");
_Static_assert(TROC_COMMIT_ITEMS_MAX >= TROC_BATCH_ITEMS_MAX,
               "a full batch fits in one group commit");
_Static_assert(TROC_COMMIT_GATHER_ITEMS <= TROC_COMMIT_ITEMS_MAX, "a gathered group fits one commit");
_Static_assert(TROC_HANDSHAKES_SOURCE_MIN <= TROC_HANDSHAKES_MIN / TROC_HANDSHAKES_SOURCE_SHARE,
               "the floor of a source's share only matters below the floor of the handshake share");
_Static_assert(TROC_HANDSHAKES_SOURCE_SHARE > 1, "one source cannot take the whole handshake share");

/* Clearing rounds in the daemon -------------------------------------------- */

/* Attempts of one clearing round.  Each attempt snapshots the open
 * obligations, solves off the writer's path and hands the round to the
 * writer; when an obligation it settles (or, in credit mode, an account of
 * its firms) changed during the solve, the ledger refuses it as stale and
 * the round starts again from a new snapshot.  Under a steady stream of
 * payments a round could chase the state forever: the last attempt
 * snapshots, solves and applies on the writer, where nothing can change in
 * between, and payments wait for it. */
#define TROC_CLEARING_ATTEMPTS_MAX 4

/* Clearing jobs (rounds and previews) waiting behind the one in progress;
 * one runs at a time, each holding a snapshot and a solution in memory.  A
 * request past the bound is answered at once: the round is not run. */
#define TROC_CLEARING_JOBS_WAITING_MAX 16

/* `trocd run --clear-every`: at least a second (a round on a large
 * territory takes seconds; timed rounds are skipped while one runs) and at
 * most a year. */
#define TROC_CLEAR_EVERY_SECONDS_MIN 1
#define TROC_CLEAR_EVERY_SECONDS_MAX (366ull * 24 * 3600)

/* Client ------------------------------------------------------------------ */

/* A server address as a client is given it: HOST:PORT or a Unix socket path
 * (which the kernel bounds to 107 bytes anyway). */
#define TROC_ADDRESS_LENGTH_MAX 255

/* Lines a client reads from its known-territories file: one per territory
 * it talks to, a handful in practice; the bound keeps a damaged file from
 * making every connection slow. */
#define TROC_KNOWN_TERRITORIES_LINES_MAX 100000

/* Statement lines `troc history` gathers in one run (pages of
 * TROC_PAGE_ROWS_MAX), all read before any is printed so that a failure
 * never leaves half a statement; about 4 MB at most. */
#define TROC_HISTORY_LINES_MAX (10 * TROC_PAGE_ROWS_MAX)

/* Invoices `troc invoice list` and settlements `troc clearing show` or
 * `troc admin clear --dry-run` gather in one run (pages of
 * TROC_PAGE_ROWS_MAX), all read before any is printed; about 9 MB of
 * invoices at most. */
#define TROC_LIST_ROWS_MAX (10 * TROC_PAGE_ROWS_MAX)

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

/* Smallest map `trocd run --map-size` accepts: a fresh ledger takes a few
 * hundred KiB, and LMDB itself needs a handful of pages. */
#define TROC_LEDGER_MAP_SIZE_MIN (1ull << 20)

/* LMDB's lock file (lock.mdb) is made with ftruncate and written through a
 * shared map, so on a full disk LMDB's first store into it raises SIGBUS
 * instead of returning an error.  The ledger allocates a new (empty) lock
 * file's blocks first (posix_fallocate), to the size LMDB gives it: its
 * default 126 reader slots of 64 bytes and its 192-byte header, 8 KiB on
 * x86-64 Linux (test_ledger checks that LMDB keeps this size).  Not
 * larger: LMDB derives the reader slots from an existing file's size, and a
 * process that mapped fewer slots must not meet readers beyond them. */
#define TROC_LEDGER_LOCK_FILE_SIZE (8u << 10)

/* Growing the map remaps it, which waits until no read transaction of the
 * daemon is open.  Reads are short, except a hot backup's (the whole copy):
 * past this wait the growth is given up and the batch refused
 * (storage_full), to be resubmitted once the backup is done. */
#define TROC_LEDGER_GROW_WAIT_MS 1000

_Static_assert(TROC_LEDGER_MAP_SIZE_MIN <= TROC_LEDGER_MAP_SIZE_INITIAL, "the initial map is a valid map size");

/* Open obligations (accepted invoices not yet settled) at once: a clearing
 * round takes them all in one snapshot and journals its settlements in one
 * entry.  Accepting one more is refused (OBLIGATIONS_FULL) until some
 * settle, as is accepting one that would take their total past
 * TROC_CLEARING_TOTAL_CENTS_MAX. */
#define TROC_OBLIGATIONS_OPEN_MAX 4000000

/* Largest body of one journal entry: a signed batch (bounded by
 * TROC_FRAME_SIZE_MAX) or a clearing round: at most 44 bytes per settlement
 * of TROC_OBLIGATIONS_OPEN_MAX obligations and 80 per firm (name and
 * potential) of TROC_MEMBERS_MAX members. */
#define TROC_JOURNAL_BODY_SIZE_MAX (256u * 1024u * 1024u)

_Static_assert(44ull * TROC_OBLIGATIONS_OPEN_MAX + 80ull * TROC_MEMBERS_MAX <= TROC_JOURNAL_BODY_SIZE_MAX,
               "the largest clearing round fits one journal entry");
_Static_assert(TROC_FRAME_SIZE_MAX <= TROC_JOURNAL_BODY_SIZE_MAX, "a signed batch fits one journal entry");

/* Backups ------------------------------------------------------------------ */

/* Bytes of a backup's destination path (`troc admin backup DEST`): an
 * absolute path on the daemon's machine, with room under PATH_MAX for the
 * temporary sibling the copy is written to and the files inside it. */
#define TROC_BACKUP_PATH_LENGTH_MAX 1024

/* Hot backups running at once: each holds a read transaction for the whole
 * copy (pages freed meanwhile cannot be reused) and a thread; one is
 * enough, a second request is told "busy". */
#define TROC_BACKUPS_RUNNING_MAX 1

/* Journal entries replayed per scratch transaction by verify: big enough to
 * amortise commits, small enough to bound one transaction's dirty pages. */
#define TROC_REPLAY_ENTRIES_PER_COMMIT 4096

/* Journal links the start check (engine/ledger/start_check.c) follows back
 * from the head: damage from a crash, a torn copy or a failing disk is
 * likeliest in the pages written last, and a few dozen lookups cost
 * nothing whatever the journal's length. */
#define TROC_START_CHECK_LINKS 32u

/* Bytes of journal entries the start check hashes at most, past the head
 * entry itself (always hashed): batches and clearing rounds can be large,
 * and the start must stay a matter of milliseconds. */
#define TROC_START_CHECK_BYTES_MAX (16u * 1024u * 1024u)

_Static_assert((TROC_WRITE_ACCOUNTS_MAX & (TROC_WRITE_ACCOUNTS_MAX - 1)) == 0,
               "the write cache's indexes are powers of two");
_Static_assert(TROC_MEMBER_KEYS_MAX <= TROC_MEMBER_KEY_RECORDS_MAX, "active keys are key records");

/* Threads one offline command (troc clear) runs at once.  Its work is cut
 * into parts by the data, not by the threads, so the bound changes speed
 * only; a few cores are all that reading, checking and writing a file can
 * use before the disk and memory set the pace. */
#define TROC_THREADS_MAX 8u

/* Threads `trocd verify` checks signatures on at once (one per processor
 * by default): the checks scale with cores, and beyond this the journal's
 * reads set the pace. */
#define TROC_VERIFY_THREADS_MAX 64u

#endif /* TROC_LIMITS_H */
