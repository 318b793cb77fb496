/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The territory's ledger: a deterministic state machine over one LMDB
 * environment.  It holds members and their keys, accounts with credit lines,
 * transfers, statements, invoices and obligations, clearing rounds, and the
 * hash-chained journal of every committed event (engine/journal), all
 * written in the same LMDB transaction so that state and journal never
 * disagree.
 *
 * Threading: one writer at a time (the server's writer thread) uses the
 * write functions; any thread may hold read transactions.  The ledger knows
 * nothing of sockets or libuv.
 *
 * Items reach the ledger already verified: the server checks each
 * envelope's signature off the writer's path and decodes its body.  The
 * ledger then authorises (is the signer one of the payer's keys? an admin
 * key?), validates every field, applies or refuses the item, and journals
 * what it applied.  A refused item changes nothing and is not journaled.
 * Replaying the journal into an empty ledger rebuilds the same state: that
 * is what `trocd verify` checks.
 */
#ifndef TROC_LEDGER_H
#define TROC_LEDGER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "crypto/crypto.h"
#include "troc.pb-c.h"

typedef struct troc_ledger troc_ledger;
typedef struct troc_ledger_write troc_ledger_write;
typedef struct troc_ledger_read troc_ledger_read;

/* ------------------------------------------------------------ lifecycle */

typedef struct troc_ledger_init_options {
    const char *territory;                 /* a valid name */
    const char *unit;                      /* e.g. "EUR"; at most TROC_UNIT_LENGTH_MAX bytes */
    const uint8_t (*admin_keys)[TROC_PUBLIC_KEY_SIZE];
    size_t admin_key_count;                /* 1 .. TROC_ADMIN_KEYS_MAX */
} troc_ledger_init_options;

/* The territory's key file, in the ledger's directory. */
#define TROC_LEDGER_KEY_FILE "territory.key"

/* Creates a new ledger in `directory` (created if absent; TROC_ENOT_EMPTY if
 * it holds anything, or if another init filling it at the same time wrote
 * its key file first, whose files are left alone): the LMDB environment,
 * the territory's key pair (a key file in the directory, mode 0600) and the
 * first journal entry.  Writes the territory's public key to
 * `territory_key_out`. */
int troc_ledger_init(const char *directory, const troc_ledger_init_options *options,
                     uint8_t territory_key_out[TROC_PUBLIC_KEY_SIZE]);

/* Opens an existing ledger (clearing stale reader slots left by a killed
 * process) for writing, after a cheap check of what every commit relies
 * on: the state's totals, the end of the journal's hash chain and its
 * first entry, the databases' record counts, the last posting (bounded
 * work, whatever the journal's length; troc_ledger_verify() is the whole
 * proof).  TROC_ENOT_FOUND when `directory` holds no ledger; TROC_ECORRUPT
 * when the ledger is damaged; for its key file: -ENOENT when it is
 * missing, -EPERM when its group or others may read it, TROC_EKEYFILE when
 * it is not a regular file or not the territory's key
 * (troc_keyfile_describe_error says which). */
int troc_ledger_open(troc_ledger **ledger_out, const char *directory);

/* Bytes of what troc_ledger_open_sized() found wrong, in words. */
#define TROC_LEDGER_PROBLEM_SIZE 256

/* Like troc_ledger_open() with an explicit LMDB map size in bytes (0: the
 * policy of limits.h, TROC_LEDGER_MAP_SIZE_INITIAL or the data file's size
 * rounded up; tests use a tiny map to provoke MDB_MAP_FULL).  When the
 * start check refuses the ledger (TROC_ECORRUPT), `problem` says what it
 * found ("the journal holds 41 entries, but its head names entry 42"); it
 * is "" otherwise.  `problem` may be NULL. */
int troc_ledger_open_sized(troc_ledger **ledger_out, const char *directory, size_t map_size_bytes,
                           char problem[TROC_LEDGER_PROBLEM_SIZE]);

void troc_ledger_close(troc_ledger *ledger);

/* What the handshake needs. */
const troc_keypair *troc_ledger_territory_keypair(const troc_ledger *ledger);
const char *troc_ledger_territory(const troc_ledger *ledger);
const char *troc_ledger_unit(const troc_ledger *ledger);

/* ----------------------------------------------------------- write path */

/* One verified item: the envelope as received and its decoded body. */
typedef struct troc_item {
    Troc__V1__EnvelopeKind kind;           /* TRANSFER, BATCH, ADMIN or INVOICE (NODE: rounds only) */
    const uint8_t *body;                   /* the exact signed bytes */
    size_t body_size;
    const uint8_t *signer;                 /* TROC_PUBLIC_KEY_SIZE bytes */
    const uint8_t *signature;              /* TROC_SIGNATURE_SIZE bytes */
    bool signature_valid;                  /* the verifier's verdict */
    union {                                /* decoded body per kind; NULL if it did not decode */
        const Troc__V1__Transfer *transfer;
        const Troc__V1__TransferBatch *batch;
        const Troc__V1__AdminAction *admin;
        const Troc__V1__InvoiceAction *invoice;
        const Troc__V1__NodeEvent *node;   /* KIND_NODE: troc_ledger_apply_clearing() only */
    } decoded;
} troc_item;

/* The answer to one item. */
typedef struct troc_item_result {
    int code;                              /* troc_result (base/result.h) */
    uint64_t journal_seq;                  /* where it was journaled; 0 if refused */
    int64_t timestamp_us;                  /* node time of the commit */
    uint16_t *item_codes;                  /* caller's array of TROC_BATCH_ITEMS_MAX, for batches */
    size_t item_count;                     /* codes written to item_codes */
} troc_item_result;

/* Starts the write transaction of one group commit.  `timestamp_us` is the
 * node time given to everything in it (kept monotonic by the ledger). */
int troc_ledger_write_begin(troc_ledger *ledger, int64_t timestamp_us, troc_ledger_write **write_out);

/* Applies one item inside the transaction.  Returns 0 whether the item was
 * accepted or refused (see result->code), or an LMDB / system error
 * (MDB_MAP_FULL, -EIO, ...) after which the transaction can only be aborted
 * (further applies and the commit return the same error).
 *
 * result->code is TROC_RESULT_OK exactly when result->journal_seq is not 0.
 * An item whose id was already used answers with the stored original
 * result (same journal_seq and timestamp_us) when it is the same item -- a
 * transfer with the same payer, payee, amount, memo and invoice (alone or in
 * any batch), anything else with the same body bytes -- and
 * TROC_RESULT_ID_REUSED otherwise.  A refused item leaves no trace.
 *
 * A TransferBatch needs result->item_codes (TROC_BATCH_ITEMS_MAX entries):
 * one code per item, in order; item_count says how many (0 when the batch
 * itself was refused: MALFORMED, BATCH_TOO_LARGE, BAD_SIGNATURE, INVALID_NAME
 * of the payer, UNKNOWN_KEY, UNKNOWN_PAYER, KEY_NOT_OWNED).  The batch is
 * journaled, and its code is OK, when at least one item is OK; otherwise
 * nothing is stored and its code is its first item's.  An id used twice
 * within one batch refuses the second with ID_REUSED.
 *
 * Speed: ids above every id already stored (time-ordered ids: a big-endian
 * timestamp first, like libtroc makes them) are appended without a search;
 * random ids work but cost a B-tree search and a page each. */
int troc_ledger_apply(troc_ledger_write *write, const troc_item *item, troc_item_result *result);

/* Commits durably (LMDB's default synced commit), after asserting that
 * balances sum to zero.  On failure nothing of the transaction remains.  A
 * transaction that accepted nothing ends without a commit (and returns 0). */
int troc_ledger_write_commit(troc_ledger_write *write);

void troc_ledger_write_abort(troc_ledger_write *write);

/* Grows the LMDB map (when the disk has room) after MDB_MAP_FULL; no
 * transaction may be open.  Doubles the map, by at most
 * TROC_LEDGER_MAP_GROWTH_MAX, up to TROC_LEDGER_MAP_SIZE_MAX.  Returns 0,
 * -ENOSPC when the disk has less than TROC_LEDGER_DISK_FREE_MIN free
 * (growing the map would not help), TROC_ELIMIT at the largest map, or an
 * LMDB error. */
int troc_ledger_grow(troc_ledger *ledger);

/* The current LMDB map size in bytes. */
size_t troc_ledger_map_size(const troc_ledger *ledger);

/* Reader slots left by dead processes (a killed daemon, a killed reader)
 * that opening the ledger cleared. */
int troc_ledger_stale_readers(const troc_ledger *ledger);

/* -------------------------------------------------------------- backup */

typedef struct troc_backup_report {
    uint64_t journal_entries;              /* journal entries in the copy */
    uint64_t bytes;                        /* size of the copy's data file */
    char detail[256];                      /* on failure, what went wrong, in words */
} troc_backup_report;

/* Writes a hot, compacted copy of the ledger to `destination`, an absolute
 * path that must not exist or be an empty directory (its parent must
 * exist), while the ledger keeps serving: the copy is one read transaction
 * (mdb_env_copyfd2 with MDB_CP_COMPACT), so writers go on committing.  The
 * copy holds data.mdb and territory.key (mode 0600: a restore needs it) and
 * is written into a temporary sibling, `.NAME.partial-XXXXXX`, synced, opened
 * once to check it is a ledger of this territory, then renamed to
 * `destination`: a failed or interrupted backup never leaves anything at
 * `destination`.  Blocks for the whole copy: call it off any thread that
 * must stay responsive.  `cancel`, when not NULL, is polled while copying;
 * setting it makes the call stop early with -ECANCELED.  Errors (with
 * report->detail): TROC_EUSAGE for a path that is not absolute or too long,
 * TROC_ENOT_EMPTY, -EEXIST (a file is there), -ENOENT (no parent),
 * -ECANCELED, TROC_ECORRUPT (the copy does not open as this ledger), LMDB
 * or -errno for the rest. */
int troc_ledger_backup(troc_ledger *ledger, const char *destination, const atomic_bool *cancel,
                       troc_backup_report *report);

/* ------------------------------------------------------------ read path */

int troc_ledger_read_begin(troc_ledger *ledger, troc_ledger_read **read_out);
void troc_ledger_read_end(troc_ledger_read *read);

typedef enum troc_role {
    TROC_ROLE_NONE = 0,                    /* unknown or revoked key */
    TROC_ROLE_MEMBER = 1,
    TROC_ROLE_ADMIN = 2,
} troc_role;

/* Who holds `public_key`: an admin, a member (its name, NUL-terminated, in
 * member_out), or nobody. */
int troc_ledger_key_role(troc_ledger_read *read, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], troc_role *role_out,
                         char member_out[TROC_NAME_LENGTH_MAX + 1]);

typedef struct troc_account {
    char member[TROC_NAME_LENGTH_MAX + 1];
    int64_t balance_cents;
    int64_t credit_limit_cents;            /* the balance may go down to -credit_limit_cents */
    int64_t balance_max_cents;             /* meaningful when has_balance_max */
    bool has_balance_max;
    bool frozen;
} troc_account;

/* TROC_ENOT_FOUND for an unknown member. */
int troc_ledger_account(troc_ledger_read *read, const char *member, troc_account *account_out);

/* Which accounts a member list keeps (0: all). */
#define TROC_MEMBERS_OVER_LIMIT 0x1u /* outside its limits: below its credit line or above its maximum */
#define TROC_MEMBERS_FROZEN 0x2u

/* The accounts of the members named after `after` ("": from the first), in
 * name order, that match every flag of `only`: at most `capacity` of them,
 * looking at TROC_MEMBERS_SCAN_MAX members at most.  next_out is the name
 * to continue after: "" when no member it keeps follows, else the last one
 * looked at: another kept one follows, or the bound stopped the search
 * (whether more follow is then not known). */
int troc_ledger_members(troc_ledger_read *read, const char *after, unsigned only, troc_account *accounts,
                        size_t capacity, size_t *count_out, char next_out[TROC_NAME_LENGTH_MAX + 1]);

/* --------------------------------------------------------- statements */

typedef enum troc_line_kind {
    TROC_LINE_TRANSFER = 0,                /* a payment in or out */
    TROC_LINE_SETOFF = 1,                  /* an obligation set off by clearing */
    TROC_LINE_CLEARING_PAYMENT = 2,        /* an obligation paid in credit by clearing */
} troc_line_kind;

/* One line of a member's statement (proto StatementLine). */
typedef struct troc_statement_line {
    uint64_t seq;                          /* per-member line number, from 1 */
    uint64_t journal_seq;                  /* the journal entry that made it */
    int64_t timestamp_us;
    troc_line_kind kind;
    uint8_t id[TROC_ID_SIZE];              /* transfer id, or invoice id for clearing lines */
    char counterparty[TROC_NAME_LENGTH_MAX + 1];
    int64_t amount_cents;                  /* signed: + received, - paid */
    int64_t balance_after_cents;
    char memo[TROC_MEMO_LENGTH_MAX + 1];
} troc_statement_line;

/* A page of `member`'s statement, newest first: the lines with seq <
 * before_seq (0: from the newest), at most `capacity` (<= TROC_PAGE_ROWS_MAX)
 * of them into `lines`.  *next_before_seq_out is the cursor of the next,
 * older page, 0 when there is none.  TROC_ENOT_FOUND for an unknown member. */
int troc_ledger_statement(troc_ledger_read *read, const char *member, uint64_t before_seq,
                          troc_statement_line *lines, size_t capacity, size_t *count_out,
                          uint64_t *next_before_seq_out);

/* -------------------------------------------------------- member info */

typedef struct troc_member_key {
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    bool revoked;
    int64_t added_us;
    int64_t revoked_us;                    /* 0 while active */
} troc_member_key;

typedef struct troc_limit_change {
    int64_t timestamp_us;
    uint64_t journal_seq;                  /* the admin action's journal entry */
    uint8_t admin_key[TROC_PUBLIC_KEY_SIZE]; /* who */
    int64_t credit_limit_cents;            /* the limits it set */
    int64_t balance_max_cents;             /* meaningful when has_balance_max */
    bool has_balance_max;
    char reason[TROC_REASON_LENGTH_MAX + 1]; /* why; "admitted" for the limits of the admission */
} troc_limit_change;

/* Everything about one member (proto MemberInfo).  Large: allocate it. */
typedef struct troc_member_info {
    troc_account account;
    int64_t admitted_us;
    troc_member_key keys[TROC_MEMBER_KEY_RECORDS_MAX]; /* in key order, revoked ones included */
    size_t key_count;
    int64_t frozen_us;                     /* when frozen, 0 when not */
    uint8_t frozen_by[TROC_PUBLIC_KEY_SIZE]; /* admin key that froze it */
    char freeze_reason[TROC_REASON_LENGTH_MAX + 1]; /* empty when not frozen */
    troc_limit_change limit_changes[TROC_LIMIT_CHANGES_LISTED_MAX]; /* newest first */
    size_t limit_change_count;
    bool limit_changes_truncated;          /* older changes exist beyond the list */
} troc_member_info;

/* TROC_ENOT_FOUND for an unknown member. */
int troc_ledger_member_info(troc_ledger_read *read, const char *member, troc_member_info *info_out);

/* --------------------------------------------------------------- stats */

typedef struct troc_stats {
    uint64_t members;
    uint64_t transfers;                    /* accepted transfers, batch items included */
    int64_t balance_sum_cents;             /* always 0 */
    int64_t debt_cents;                    /* sum of negative balances, as a positive number */
    uint64_t accounts_over_limit;          /* below -credit_limit or above balance_max */
    uint64_t frozen;
    uint64_t journal_entries;
    int64_t last_timestamp_us;             /* node time of the last commit */
    uint64_t invoices_pending;             /* issued, waiting for their debtor */
    uint64_t obligations_open;             /* accepted, not yet settled */
    int64_t obligations_cents;             /* what remains owed on them */
    uint64_t clearing_runs;                /* clearing rounds applied */
} troc_stats;

/* Running totals kept at every commit: no scan. */
int troc_ledger_stats(troc_ledger_read *read, troc_stats *stats_out);

/* ------------------------------------------------------------ invoices */

/* Mirrors proto InvoiceState. */
typedef enum troc_invoice_state {
    TROC_INVOICE_PENDING = 0,              /* issued, waiting for the debtor */
    TROC_INVOICE_OPEN = 1,                 /* accepted: an obligation */
    TROC_INVOICE_SETTLED = 2,              /* fully paid or set off */
    TROC_INVOICE_REJECTED = 3,
    TROC_INVOICE_CANCELLED = 4,
} troc_invoice_state;

typedef struct troc_invoice {
    uint8_t id[TROC_ID_SIZE];              /* the id of the action that issued it */
    char creditor[TROC_NAME_LENGTH_MAX + 1];
    char debtor[TROC_NAME_LENGTH_MAX + 1];
    int64_t amount_cents;
    int64_t remaining_cents;               /* amount - paid - cleared; 0 once rejected or cancelled */
    int64_t paid_cents;                    /* paid in credit (transfers, clearing payments) */
    int64_t cleared_cents;                 /* set off by clearing */
    troc_invoice_state state;
    char ref[TROC_INVOICE_REF_LENGTH_MAX + 1]; /* the issuer's reference, may be empty */
    char due[11];                          /* "YYYY-MM-DD" or empty */
    char reject_reason[TROC_REASON_LENGTH_MAX + 1];
    int64_t issued_us;
    uint64_t issued_seq;                   /* journal entry of the issue */
    uint64_t version;                      /* journal entry of the last change */
} troc_invoice;

/* TROC_ENOT_FOUND for an unknown id. */
int troc_ledger_invoice(troc_ledger_read *read, const uint8_t id[TROC_ID_SIZE], troc_invoice *invoice_out);

#define TROC_INVOICES_AS_DEBTOR 0x1u
#define TROC_INVOICES_AS_CREDITOR 0x2u

/* A page of `member`'s invoices, newest first: those where it is debtor
 * and/or creditor (`roles`: TROC_INVOICES_AS_*, 0 meaning both), only the
 * pending and open ones when `live_only`, issued before the invoice
 * `after_id` (NULL: from the newest; it must be one of the member's).  At
 * most `capacity` (<= TROC_PAGE_ROWS_MAX); *more_out tells whether older
 * ones follow.  TROC_ENOT_FOUND for an unknown member or after_id. */
int troc_ledger_invoices(troc_ledger_read *read, const char *member, unsigned roles, bool live_only,
                         const uint8_t *after_id, troc_invoice *invoices, size_t capacity, size_t *count_out,
                         bool *more_out);

/* ------------------------------------------------------------ clearing */

/* A firm of a clearing snapshot: a member with at least one open
 * obligation, with its account's figures for credit mode. */
typedef struct troc_clearing_firm {
    uint32_t member_id;
    char name[TROC_NAME_LENGTH_MAX + 1];
    int64_t balance_cents;
    int64_t credit_limit_cents;
    int64_t balance_max_cents;             /* INT64_MAX when the member has none */
    bool frozen;                           /* its balance may not move: credit rounds leave it out */
} troc_clearing_firm;

typedef struct troc_clearing_obligation {
    uint8_t invoice_id[TROC_ID_SIZE];
    uint32_t debtor;                       /* index into the snapshot's firms */
    uint32_t creditor;
    int64_t remaining_cents;               /* what the snapshot saw owed, > 0 */
    uint64_t version;                      /* journal entry of its last change */
} troc_clearing_obligation;

/* Every open obligation, oldest accepted first, as one read transaction
 * saw them: the input of the solver (firm indexes, amounts, accounts). */
typedef struct troc_clearing_snapshot {
    uint64_t journal_seq;                  /* the journal head the snapshot saw */
    uint64_t run;                          /* the run number a round from it must carry */
    troc_clearing_firm *firms;
    uint32_t firm_count;
    troc_clearing_obligation *obligations;
    size_t obligation_count;
    int64_t total_cents;                   /* sum of remaining_cents */
} troc_clearing_snapshot;

/* Takes the snapshot (allocating its arrays: release them with
 * troc_clearing_snapshot_free()).  Returns 0, -ENOMEM, or a storage error. */
int troc_ledger_clearing_snapshot(troc_ledger_read *read, troc_clearing_snapshot *snapshot_out);
void troc_clearing_snapshot_free(troc_clearing_snapshot *snapshot);

/* A clearing round ready to apply: a NodeEvent{clearing_round} signed by
 * the territory key, and the item that carries it. */
typedef struct troc_clearing_round_item {
    troc_item item;                        /* kind KIND_NODE, for troc_ledger_apply_clearing() */
    uint8_t *body;
    uint8_t signature[TROC_SIGNATURE_SIZE];
    void *event;                           /* the decoded NodeEvent */
} troc_clearing_round_item;

/* Builds and signs the round of a solved snapshot: `cleared` and `paid`
 * hold one amount per snapshot obligation (`paid` NULL or all zeros in
 * plain mode), `potentials` firm_count + 1 values (the certificate, the
 * last for the balance node).  Only obligations with something cleared or
 * paid become settlements.  `requested_by` is the id of the admin action
 * that asked for the round, or NULL.  Needs the ledger opened with its key
 * file.  Returns 0, -ENOMEM, TROC_EOVERFLOW (totals), or -E2BIG (a round
 * too large for one journal entry). */
int troc_ledger_clearing_round_build(const troc_ledger *ledger, const troc_clearing_snapshot *snapshot,
                                     bool with_credit, const uint8_t *requested_by, const int64_t *cleared,
                                     const int64_t *paid, const int64_t *potentials, troc_clearing_round_item *out);
void troc_clearing_round_item_free(troc_clearing_round_item *round);

/* Applies a clearing round in the write transaction: every set-off, and in
 * credit mode every payment in credit, with a statement line for each (kind
 * SETOFF, CLEARING_PAYMENT), obligations reduced or settled, the round
 * journaled and recorded.  Checks first, writing nothing when a check fails:
 *  - TROC_ESTALE: the state changed since the snapshot taken at
 *    `snapshot_seq` (an obligation it touches changed, or another round was
 *    applied): take a new snapshot and solve again;
 *  - TROC_EINFEASIBLE: the round does not hold (an amount beyond what
 *    remains, a set-off that is not a circulation, a payment in plain mode
 *    or beyond an account's limits as they are now (an account already
 *    outside them may not move further out), totals that do not add up, an
 *    unknown or closed obligation, a duplicate);
 *  - TROC_ESIGNATURE: the round is not signed by the territory's key;
 *  - TROC_EOVERFLOW: the territory's debt (the sum of negative balances)
 *    plus everything the round pays would pass INT64_MAX, whatever its
 *    payments leave: it bounds the debt between any two of them too.
 * The transaction stays usable after these four.  Any other error is a
 * storage error after which it can only be aborted.  On success result is
 * OK with the round's journal seq.  Plain mode never moves a balance
 * (asserted). */
int troc_ledger_apply_clearing(troc_ledger_write *write, const troc_item *item, uint64_t snapshot_seq,
                               troc_item_result *result);

/* A clearing round as applied (proto ClearingSummary). */
typedef struct troc_clearing_summary {
    uint64_t run;
    uint64_t journal_seq;
    int64_t timestamp_us;
    bool with_credit;
    int64_t obligations;                   /* open obligations in its snapshot */
    int64_t total_cents;                   /* what they summed to */
    int64_t cleared_cents;
    int64_t paid_cents;
    uint64_t settlement_count;
    bool has_requested_by;
    uint8_t requested_by[TROC_ID_SIZE];    /* the admin action that asked for it */
} troc_clearing_summary;

typedef struct troc_settlement {
    uint8_t invoice_id[TROC_ID_SIZE];
    int64_t cleared_cents;
    int64_t paid_cents;
} troc_settlement;

/* Round `run` (0: the latest) and up to `capacity` of its settlements from
 * the `offset`-th (capacity 0: the summary only).  TROC_ENOT_FOUND when
 * there is no such round. */
int troc_ledger_clearing_round(troc_ledger_read *read, uint64_t run, troc_clearing_summary *summary_out,
                               troc_settlement *settlements, size_t offset, size_t capacity, size_t *count_out);

/* --------------------------------------------------- verify and replay */

#define TROC_VERIFY_DIFFERENCE_SIZE 512

typedef struct troc_verify_report {
    uint64_t entries;                      /* journal entries checked */
    uint64_t members;
    uint64_t transfers;
    uint64_t bad_seq;                      /* the journal entry at fault, 0 if none (also when the
                                              scratch ledger failed: no entry is at fault then) */
    bool key_file_checked;                 /* the ledger opened, so its key file was read */
    int key_file_rc;                       /* then: 0 when trocd run could serve with it, else
                                              troc_ledger_open's error for it (-ENOENT, -EPERM,
                                              TROC_EKEYFILE, -errno); no part of the verdict */
    char difference[TROC_VERIFY_DIFFERENCE_SIZE]; /* what is wrong, in words; empty when ok */
} troc_verify_report;

/* Reports progress of a long verify (for a terminal): `stage` names the
 * step, `done` of `total` units.  May be NULL. */
typedef void troc_verify_progress_fn(void *context, const char *stage, uint64_t done, uint64_t total);

/* Checks the ledger in `directory` (daemon stopped, or a copy made with
 * mdb_copy): the journal's hash chain up to the stored head, every stored
 * signature (on `threads` threads, 0 for one per processor; the answer
 * does not depend on them), then replays the journal through the same apply code into a
 * scratch ledger created in `scratch_directory` (an empty directory the
 * caller creates and removes) and compares every database with the stored
 * one.  Returns 0 when all agree; TROC_ECHAIN, TROC_ESIGNATURE, TROC_ECORRUPT
 * or TROC_EREPLAY with report->difference (and bad_seq) saying where; or an
 * error opening or reading (TROC_ENOT_FOUND: no ledger there). */
int troc_ledger_verify(const char *directory, const char *scratch_directory, unsigned threads,
                       troc_verify_report *report, troc_verify_progress_fn *progress, void *progress_context);

#endif /* TROC_LEDGER_H */
