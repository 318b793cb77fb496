/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ledger's insides, shared by its modules and by the tests:
 *   ledger.c     lifecycle: open, close, grow        genesis.c  init
 *   record.c     every on-disk layout                write.c    transactions, account cache
 *   ids.c        idempotency                         statement.c postings, statements
 *   transfer.c   transfers and batches               admin.c    admin actions
 *   invoice.c    invoices, obligations               clearing.c snapshot, building rounds
 *   round.c      applying and reading rounds         read.c     reads, stats
 *   replay.c     verify                              backup.c   hot backups
 *   signatures.c verify's signature pass, threaded   directory.c members by name, in memory
 *   start_check.c the cheap check of a writable open
 * Nothing outside engine/ledger and test/ includes this file.
 *
 * On-disk layouts are documented with byte tables in record.c, which alone
 * encodes and decodes them.
 */
#ifndef TROC_LEDGER_INT_H
#define TROC_LEDGER_INT_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "journal/journal.h"
#include "ledger.h"

/* The named databases of the environment (the journal's is opened by the
 * journal module).  Order is the order of comparison in verify. */
typedef enum troc__db {
    TROC__DB_META = 0,     /* ASCII key -> territory, unit, key, state, journal head */
    TROC__DB_MEMBERS,      /* member name -> member id */
    TROC__DB_BALANCES,     /* member id -> balance, statement lines, last posting (every transfer) */
    TROC__DB_ACCOUNTS,     /* member id -> credit line, flags, key counts (admin actions) */
    TROC__DB_PROFILES,     /* member id -> name, freeze reason */
    TROC__DB_KEYS,         /* public key -> owner (member id or admin) */
    TROC__DB_MEMBER_KEYS,  /* member id || public key -> when added, revoked */
    TROC__DB_IDS,          /* item id -> idempotency record */
    TROC__DB_POSTINGS,     /* posting seq -> posting (both sides of a movement) */
    TROC__DB_CHECKPOINTS,  /* member id || line seq -> posting seq, every few lines */
    TROC__DB_LIMITS,       /* member id || journal seq -> limit change */
    TROC__DB_INVOICES,     /* invoice id -> invoice */
    TROC__DB_MEMBER_INVOICES, /* member id || issued seq || role -> invoice id, every invoice */
    TROC__DB_LIVE_INVOICES,   /* likewise, pending and open invoices only */
    TROC__DB_OBLIGATIONS,  /* accepted seq -> invoice id: open obligations, oldest first */
    TROC__DB_ROUNDS,       /* clearing run -> round summary */
    TROC__DB_COUNT
} troc__db;

/* Name of each database in the environment. */
extern const char *const troc__db_names[TROC__DB_COUNT];

/* Length of a date, "YYYY-MM-DD". */
#define TROC__DATE_SIZE 10

/* Owner of an admin key in the keys database. */
#define TROC__OWNER_ADMIN UINT32_MAX

/* An LMDB result as troc passes errors on: what says the file is damaged
 * (not an LMDB file, a corrupt or missing page) as TROC_ECORRUPT, which an
 * operator is told to verify; LMDB's other MDB_* codes unchanged; a
 * system error (which LMDB returns as a positive errno, say EACCES from
 * mdb_env_open) as -errno, which troc_strerror can name. */
static inline int troc__lmdb_error(int rc) {
    if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) return TROC_ECORRUPT;
    return rc > 0 ? -rc : rc;
}

/* Name of the territory's key file inside the data directory. */
#define TROC__KEY_FILE TROC_LEDGER_KEY_FILE

/* Version of the on-disk format, stored in meta under "format".  2: the
 * balance, line count and last posting left the account record for
 * "balances". */
#define TROC__FORMAT_VERSION 2u

/* Reason recorded with the limits a member is admitted with. */
#define TROC__ADMISSION_REASON "admitted"

/* ------------------------------------------------------------- records */

#define TROC__ACCOUNT_FROZEN 0x1u          /* account flags */
#define TROC__ACCOUNT_HAS_BALANCE_MAX 0x2u

/* A member's account: its balance part is stored in "balances" (written by
 * every movement), the rest in "accounts" (written by admin actions). */
typedef struct troc__account_record {
    int64_t balance_cents;
    int64_t credit_limit_cents;            /* >= 0 */
    int64_t balance_max_cents;             /* meaningful with TROC__ACCOUNT_HAS_BALANCE_MAX */
    uint64_t line_count;                   /* statement lines so far: the last line's seq */
    uint64_t last_posting;                 /* posting of the last line (0: none) */
    int64_t admitted_us;                   /* node time of the member's admission */
    uint32_t flags;                        /* TROC__ACCOUNT_* */
    uint32_t active_key_count;             /* keys not revoked, 1 .. TROC_MEMBER_KEYS_MAX */
    uint32_t key_record_count;             /* keys ever registered, <= TROC_MEMBER_KEY_RECORDS_MAX */
} troc__account_record;

#define TROC__BALANCE_RECORD_SIZE 24
#define TROC__ACCOUNT_RECORD_SIZE 40

/* Running totals kept in meta, updated once per commit. */
typedef struct troc__state {
    int64_t last_timestamp_us;             /* node time of the last commit: keeps time monotonic */
    uint32_t member_count;                 /* members admitted; ids run 1 .. member_count */
    uint64_t transfers;                    /* accepted transfers, batch items included */
    int64_t balance_sum_cents;             /* always 0 */
    int64_t debt_cents;                    /* sum of negative balances, as a positive number */
    uint64_t accounts_over_limit;          /* below -credit_limit or above balance_max */
    uint64_t frozen;                       /* frozen accounts */
    uint64_t postings;                     /* postings so far: the last one's seq */
    uint64_t invoices_pending;             /* issued, waiting for the debtor */
    uint64_t obligations_open;             /* accepted, not yet settled */
    int64_t obligations_cents;             /* what remains of the open obligations */
    uint64_t clearing_runs;                /* clearing rounds applied: the last one's run */
} troc__state;

#define TROC__STATE_RECORD_SIZE 96

#define TROC__PROFILE_SIZE_MAX (8 + TROC_PUBLIC_KEY_SIZE + 3 + TROC_NAME_LENGTH_MAX + TROC_REASON_LENGTH_MAX)

typedef struct troc__profile {
    char name[TROC_NAME_LENGTH_MAX + 1];
    int64_t frozen_us;                     /* when frozen; 0 when not frozen */
    uint8_t frozen_by[TROC_PUBLIC_KEY_SIZE]; /* admin key that froze it; zeros when not frozen */
    char freeze_reason[TROC_REASON_LENGTH_MAX + 1];
} troc__profile;

#define TROC__KEY_REVOKED 0x1u

typedef struct troc__key_owner {
    uint32_t owner;                        /* member id, or TROC__OWNER_ADMIN */
    uint32_t flags;                        /* TROC__KEY_REVOKED */
} troc__key_owner;

#define TROC__KEY_OWNER_SIZE 5

typedef struct troc__member_key_record {
    int64_t added_us;
    int64_t revoked_us;                    /* 0 while active */
} troc__member_key_record;

#define TROC__MEMBER_KEY_RECORD_SIZE 16

typedef struct troc__limit_record {
    int64_t timestamp_us;
    int64_t credit_limit_cents;
    int64_t balance_max_cents;             /* meaningful when has_balance_max */
    bool has_balance_max;
    uint8_t admin_key[TROC_PUBLIC_KEY_SIZE];
    const char *reason;                    /* not NUL-terminated on decode */
    size_t reason_length;
} troc__limit_record;

#define TROC__LIMIT_RECORD_HEADER_SIZE 59

/* What the ledger remembers of an accepted item, for idempotent answers:
 * where it is journaled.  The item itself is the comparison (ids.c). */
typedef struct troc__id_record {
    uint64_t journal_seq;                  /* the entry that holds the item */
    uint8_t kind;                          /* envelope kind (a batch item: KIND_TRANSFER) */
    uint8_t code;                          /* result code (troc_result) */
    uint16_t item_index;                   /* a batch item: its index in the batch */
    uint16_t item_count;                   /* a batch: codes in item_codes */
    const uint8_t *item_codes;             /* one byte per batch item; into LMDB memory on decode */
} troc__id_record;

#define TROC__ID_RECORD_HEADER_SIZE 14

/* One side of a posting: a member's statement line. */
typedef struct troc__leg {
    uint32_t member_id;
    uint64_t line_seq;                     /* the line's number in the member's statement */
    int64_t balance_after_cents;
    uint64_t previous_posting;             /* the member's previous line's posting, 0 for none */
} troc__leg;

/* A movement between two members (a transfer, a set-off, a clearing
 * payment): appended once, read as one line of each member's statement. */
typedef struct troc__posting {
    int64_t timestamp_us;
    uint64_t journal_seq;
    int64_t amount_cents;                  /* > 0: from leg 0 (pays, owes) to leg 1 */
    uint8_t id[TROC_ID_SIZE];              /* transfer id (invoice id for clearing lines) */
    uint8_t kind;                          /* troc_line_kind */
    troc__leg legs[2];
    const char *memo;                      /* not NUL-terminated on decode */
    size_t memo_length;
} troc__posting;

#define TROC__POSTING_HEADER_SIZE 100

/* A statement checkpoint is written every this many lines of a member: a
 * page deep in the past walks at most this many links before its first
 * line, and checkpoints cost one put per this many lines. */
#define TROC__CHECKPOINT_LINES 64

/* An invoice: pending until its debtor accepts it, then an open
 * obligation until paid or set off. */
typedef struct troc__invoice_record {
    uint32_t creditor;                     /* member ids */
    uint32_t debtor;
    int64_t amount_cents;
    int64_t remaining_cents;               /* amount - paid - cleared */
    int64_t paid_cents;                    /* paid in credit: transfers and clearing payments */
    int64_t cleared_cents;                 /* set off by clearing */
    int64_t issued_us;
    uint64_t issued_seq;                   /* journal seq of the issue */
    uint64_t accepted_seq;                 /* journal seq of the acceptance, 0 before */
    uint64_t version;                      /* journal seq of the last change */
    int64_t changed_us;                    /* time of the last change */
    uint8_t state;                         /* troc_invoice_state */
    char ref[TROC_INVOICE_REF_LENGTH_MAX + 1];
    char due[TROC__DATE_SIZE + 1];         /* "YYYY-MM-DD" or empty */
    char reason[TROC_REASON_LENGTH_MAX + 1]; /* why it was rejected */
} troc__invoice_record;

#define TROC__INVOICE_RECORD_HEADER_SIZE 85
#define TROC__INVOICE_RECORD_SIZE_MAX \
    (TROC__INVOICE_RECORD_HEADER_SIZE + TROC_INVOICE_REF_LENGTH_MAX + TROC__DATE_SIZE + TROC_REASON_LENGTH_MAX)

/* Role of a member in a member_invoices / live_invoices key. */
#define TROC__ROLE_DEBTOR 1u
#define TROC__ROLE_CREDITOR 2u

/* A clearing round as stored for reading back (the settlements stay in the
 * journal entry). */
typedef struct troc__round_record {
    uint64_t journal_seq;
    int64_t timestamp_us;
    bool with_credit;
    int64_t obligations;
    int64_t total_cents;
    int64_t cleared_cents;
    int64_t paid_cents;
    uint64_t settlement_count;
    bool has_requested_by;
    uint8_t requested_by[TROC_ID_SIZE];    /* the admin action that asked for it */
} troc__round_record;

#define TROC__ROUND_RECORD_SIZE 74

/* Record codecs (record.c).  Decoders return TROC_ECORRUPT on a record of
 * the wrong size or with impossible values. */
void troc__balance_encode(const troc__account_record *record, uint8_t out[TROC__BALANCE_RECORD_SIZE]);
int troc__balance_decode(const MDB_val *value, troc__account_record *record_out);
void troc__account_encode(const troc__account_record *record, uint8_t out[TROC__ACCOUNT_RECORD_SIZE]);
int troc__account_decode(const MDB_val *value, troc__account_record *record_out);
void troc__state_encode(const troc__state *state, uint8_t out[TROC__STATE_RECORD_SIZE]);
int troc__state_decode(const MDB_val *value, troc__state *state_out);
size_t troc__profile_encode(const troc__profile *profile, uint8_t out[TROC__PROFILE_SIZE_MAX]);
int troc__profile_decode(const MDB_val *value, troc__profile *profile_out);
void troc__key_owner_encode(const troc__key_owner *owner, uint8_t out[TROC__KEY_OWNER_SIZE]);
int troc__key_owner_decode(const MDB_val *value, troc__key_owner *owner_out);
void troc__member_key_encode(const troc__member_key_record *record, uint8_t out[TROC__MEMBER_KEY_RECORD_SIZE]);
int troc__member_key_decode(const MDB_val *value, troc__member_key_record *record_out);
size_t troc__limit_size(const troc__limit_record *record);
void troc__limit_encode(const troc__limit_record *record, uint8_t *out);
int troc__limit_decode(const MDB_val *value, troc__limit_record *record_out);
size_t troc__id_record_size(const troc__id_record *record);
void troc__id_record_encode(const troc__id_record *record, uint8_t *out);
int troc__id_record_decode(const MDB_val *value, troc__id_record *record_out);
size_t troc__posting_size(const troc__posting *posting);
void troc__posting_encode(const troc__posting *posting, uint8_t *out);
int troc__posting_decode(const MDB_val *value, troc__posting *posting_out);
size_t troc__invoice_encode(const troc__invoice_record *invoice, uint8_t out[TROC__INVOICE_RECORD_SIZE_MAX]);
int troc__invoice_decode(const MDB_val *value, troc__invoice_record *invoice_out);
void troc__round_encode(const troc__round_record *round, uint8_t out[TROC__ROUND_RECORD_SIZE]);
int troc__round_decode(const MDB_val *value, troc__round_record *round_out);

/* Keys. */
void troc__member_id_key(uint32_t member_id, uint8_t out[4]);
void troc__member_seq_key(uint32_t member_id, uint64_t seq, uint8_t out[12]);
void troc__member_pubkey_key(uint32_t member_id, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], uint8_t out[36]);
void troc__seq_key(uint64_t seq, uint8_t out[8]);
void troc__invoice_index_key(uint32_t member_id, uint64_t issued_seq, uint8_t role, uint8_t out[13]);

/* ------------------------------------------------- the member directory */

/* One member in the writer's directory (directory.c). */
typedef struct troc__member_entry {
    uint32_t name_offset;                  /* of its name in the directory's names */
    uint8_t name_length;                   /* 1 .. TROC_NAME_LENGTH_MAX; 0: no member */
    bool account_cached;                   /* the directory's accounts[] holds its committed record */
    bool has_key;                          /* key is one of the member's active keys */
    uint32_t slot;                         /* its write cache slot, when slot_epoch is the cache's */
    uint32_t slot_epoch;
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
} troc__member_entry;

/* Every member's name and id, for the write path. */
typedef struct troc__directory {
    uint32_t count;                        /* members: ids 1 .. count */
    troc__member_entry *entries;           /* by member id (entry 0 unused) */
    troc__account_record *accounts;        /* by member id: committed records, where account_cached */
    size_t entry_capacity;                 /* of entries and accounts */
    char *names;                           /* names one after another, no NUL */
    size_t names_size, names_capacity;
    uint32_t *index;                       /* by name hash: member ids, 0 empty; at most half full */
    uint32_t index_size;                   /* a power of two */
} troc__directory;

/* FNV-1a of a name. */
uint32_t troc__name_hash(const char *name, size_t length);

/* Loads the directory of a ledger holding `member_count` members from its
 * "members" and "keys" databases: 0, TROC_ECORRUPT, -ENOMEM or an LMDB
 * error. */
int troc__directory_load(troc__directory *directory, MDB_txn *txn, MDB_dbi members, MDB_dbi keys,
                         uint32_t member_count);
void troc__directory_free(troc__directory *directory);

/* The id of member `name`, 0 when there is none. */
uint32_t troc__directory_find(const troc__directory *directory, const char *name, size_t length);

/* The name (not NUL-terminated) of member `member_id`, 1 .. count. */
const char *troc__directory_name(const troc__directory *directory, uint32_t member_id, size_t *length_out);

/* Adds member `member_id` (count + 1), admitted in the open transaction:
 * 0 or -ENOMEM. */
int troc__directory_add(troc__directory *directory, uint32_t member_id, const char *name, size_t length);

/* Forgets the members above `count` (admitted by an aborted transaction). */
void troc__directory_truncate(troc__directory *directory, uint32_t count);

/* One active key of each member, so that a transfer signed with it is
 * authorised without a lookup in "keys": true when `public_key` is that
 * key of `member_id` (false says nothing).  A member's key is set when it
 * is admitted or the directory loaded, and forgotten when it is revoked
 * (even by a transaction that then aborts: the lookup answers then). */
bool troc__directory_key_is(const troc__directory *directory, uint32_t member_id,
                            const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);
void troc__directory_key_set(troc__directory *directory, uint32_t member_id,
                             const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);
void troc__directory_key_forget(troc__directory *directory, uint32_t member_id,
                                const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]);

/* ------------------------------------------------------ the write cache */

/* An account touched by the write transaction: read once, changed in
 * memory, written once at commit (or when the cache is full).  The member
 * directory's entry of the member points to it. */
typedef struct troc__slot {
    troc__account_record stored;           /* as in LMDB (zeros for a member admitted in this txn) */
    troc__account_record current;          /* as changed by this transaction */
    uint32_t member_id;
    bool dirty;                            /* current differs from LMDB */
    bool admitted;                         /* admitted by this transaction: nothing stored yet */
} troc__slot;

struct troc_ledger_write {
    troc_ledger *ledger;
    MDB_txn *txn;
    int64_t timestamp_us;                  /* node time given to what this transaction applies */
    troc__state state;                     /* running totals, stored at commit */
    troc_journal_head head;                /* journal head, stored at commit */
    int failed;                            /* first storage error: the transaction can only abort */
    bool changed;                          /* something was journaled: commit, else just end */
    int64_t debt_cents;                    /* the territory's debt with every movement applied so far
                                              (state.debt_cents: of the state last written out) */
    uint32_t members_committed;            /* member count when the transaction began */
    troc__slot *slots;                     /* TROC_WRITE_ACCOUNTS_MAX */
    uint32_t slot_count;
    uint32_t slot_epoch;                   /* slots of directory entries with another epoch are stale */
    uint32_t *flush_order;                 /* 2 * TROC_WRITE_ACCOUNTS_MAX: dirty members by id, and scratch */
    MDB_cursor *ids_cursor;                /* appends time-ordered ids without a search */
    MDB_cursor *postings_cursor;           /* appends postings */
};

struct troc_ledger {
    MDB_env *env;
    MDB_dbi dbs[TROC__DB_COUNT];
    troc_journal journal;
    char directory[PATH_MAX];
    char territory[TROC_NAME_LENGTH_MAX + 1];
    char unit[TROC_UNIT_LENGTH_MAX + 1];
    uint8_t territory_key[TROC_PUBLIC_KEY_SIZE];
    troc_keypair keypair;                  /* the territory's key pair (daemon only) */
    bool has_keypair;
    bool read_only;
    bool replaying;                        /* a scratch ledger replaying a journal: rules added after an
                                              entry was journaled must not refuse it */
    int lock_fd;                           /* the directory, locked while open for writing; -1 if not */
    size_t map_size_bytes;
    /* Growing the map remaps it: no read transaction of this process may
     * be open then (LMDB leaves that to the caller).  Reads hold this lock
     * shared, troc_ledger_grow() exclusively. */
    pthread_rwlock_t map_lock;
    bool map_lock_ready;
    int stale_readers;                     /* reader slots of dead processes cleared at open */
    bool writing;                          /* the write transaction is open */
    troc__directory members;               /* members by name, for the write path (writable ledgers) */
    troc_ledger_write write;               /* the one write transaction, preallocated */
};

struct troc_ledger_read {
    troc_ledger *ledger;
    MDB_txn *txn;
};

/* ---------------------------------------------------------- ledger.c */

/* Environment flags of a scratch ledger (replay): no syncs. */
#define TROC__OPEN_SCRATCH 0x1u
#define TROC__OPEN_READ_ONLY 0x2u
#define TROC__OPEN_CREATE 0x4u
#define TROC__OPEN_NO_LOCK 0x8u            /* no lock file (reading a backup just written) */

/* Opens the environment in `directory` with `map_size_bytes` (0: the
 * default policy) and loads the meta records (unless creating). */
int troc__ledger_open_env(troc_ledger **ledger_out, const char *directory, size_t map_size_bytes, unsigned flags);

/* Reads the territory's key file in `directory` as trocd run does: 0, or
 * troc_keyfile_read's error, or TROC_EKEYFILE when it holds another
 * territory's key. */
int troc__ledger_key_read(const troc_ledger *ledger, const char *directory, troc_keypair *keypair);

/* Applies the first journal entry (NodeEvent{init}) to an empty ledger:
 * meta records, admin keys, the entry itself.  Used by init and replay. */
int troc__ledger_apply_init(troc_ledger_write *write, const troc_journal_entry *entry);

/* ----------------------------------------------------- start_check.c */

/* Checks, in bounded work, what every commit relies on (the state's
 * totals, the journal's end and first entry, the databases' record
 * counts, the last posting): 0, TROC_ECORRUPT with what is wrong in
 * `problem` (`problem_size` bytes, NUL-terminated), or an LMDB error. */
int troc__ledger_start_check(const troc_ledger *ledger, char *problem, size_t problem_size);

/* ----------------------------------------------------------- write.c */

/* Sets the node time of what follows (replay gives each entry its own). */
void troc__write_set_time(troc_ledger_write *write, int64_t timestamp_us);

/* Records the first storage error; returns it. */
int troc__write_fail(troc_ledger_write *write, int error);

/* The cached account of a member by name or id: 0, TROC_ENOT_FOUND, or a
 * storage error.  Slots stay valid until the next troc__cache_reserve(). */
int troc__slot_by_name(troc_ledger_write *write, const char *name, size_t name_length, troc__slot **slot_out);
int troc__slot_by_id(troc_ledger_write *write, uint32_t member_id, troc__slot **slot_out);

/* Admits member `member_id` (the next id) into the directory and gives it
 * a slot (its stored record zeros): 0 or -ENOMEM (the transaction fails). */
int troc__slot_admit(troc_ledger_write *write, uint32_t member_id, const char *name, size_t name_length,
                     troc__slot **slot_out);

/* Makes room for `count` more slots, writing and forgetting the cached
 * accounts when the cache is too full (which invalidates slot pointers). */
int troc__cache_reserve(troc_ledger_write *write, uint32_t count);

/* Appends the item's envelope to the journal at the current time. */
int troc__write_journal(troc_ledger_write *write, const troc_item *item);

/* The account of member `member_id` (its two records), through any
 * transaction: 0, TROC_ECORRUPT when it has none, or a storage error. */
int troc__account_get(MDB_txn *txn, const troc_ledger *ledger, uint32_t member_id, troc__account_record *record_out);

/* fsync(2) of a directory, so that the names made in it last through a
 * crash: 0 or -errno. */
int troc__directory_sync(const char *path);

/* What a balance adds to the territory's debt (the sum of negative
 * balances, as a positive number).  Balances never lie below
 * -TROC_AMOUNT_CENTS_MAX (the largest credit line) less, in the middle of
 * a clearing round, the round's paid total (at most
 * TROC_CLEARING_TOTAL_CENTS_MAX), so this never overflows. */
static inline int64_t troc__debt_of(int64_t balance_cents) {
    return balance_cents < 0 ? -balance_cents : 0;
}

/* Whether an account is outside its limits (as the stats count them). */
static inline bool troc__account_over_limit(const troc__account_record *record) {
    if (record->balance_cents < -record->credit_limit_cents) return true;
    return (record->flags & TROC__ACCOUNT_HAS_BALANCE_MAX) && record->balance_cents > record->balance_max_cents;
}

/* The owner of a public key: 0, TROC_ENOT_FOUND, or a storage error. */
int troc__key_owner_get(MDB_txn *txn, const troc_ledger *ledger, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE],
                        troc__key_owner *owner_out);

/* Maps an LMDB put/get failure to the transaction's failure. */
int troc__put(troc_ledger_write *write, troc__db db, const void *key, size_t key_size, const void *value,
              size_t value_size, unsigned flags);

/* ------------------------------------------------------------- ids.c */

/* A resubmitted item, as compared with the one stored under its id: a
 * transfer by its meaning (payer set), anything else by its exact body. */
typedef struct troc__id_match {
    const troc_item *item;
    const char *payer;                     /* NULL: compare the body bytes */
    const char *payee;
    int64_t amount_cents;
    const char *memo;                      /* may be NULL */
    const uint8_t *invoice_id;             /* may be NULL */
} troc__id_match;

/* Claims `id` for an item about to be applied: 0 when it was free (the
 * record is written), 1 when it was used (*existing filled), or a storage
 * error.  troc__ids_release() forgets a claim when the item is refused. */
int troc__ids_claim(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], const troc__id_record *record,
                    troc__id_record *existing);
int troc__ids_release(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE]);

/* Looks `id` up: 0 found, TROC_ENOT_FOUND, or a storage error. */
int troc__ids_get(MDB_txn *txn, const troc_ledger *ledger, const uint8_t id[TROC_ID_SIZE], troc__id_record *record);

/* Answers an item whose id was used: the stored result when it is the same
 * item (read back from the journal), TROC_RESULT_ID_REUSED otherwise. */
int troc__ids_answer(troc_ledger_write *write, const troc__id_record *existing, const troc__id_match *match,
                     troc_item_result *result);

/* -------------------------------------------------------- statement.c */

/* Member id of a name (0, TROC_ENOT_FOUND, storage error) and the name of a
 * member id, through any transaction. */
int troc__member_id(MDB_txn *txn, const troc_ledger *ledger, const char *name, uint32_t *member_id_out);
int troc__member_name(MDB_txn *txn, const troc_ledger *ledger, uint32_t member_id,
                      char name[TROC_NAME_LENGTH_MAX + 1]);

/* Appends a posting of `amount_cents` from `from` to `to` (whose current
 * balances are the balances after it) for the journal entry about to be
 * appended: one line in each member's statement. */
int troc__posting_append(troc_ledger_write *write, troc_line_kind kind, const uint8_t id[TROC_ID_SIZE],
                         troc__slot *from, troc__slot *to, int64_t amount_cents, const char *memo,
                         size_t memo_length);

/* ------------------------------------------------- transfer.c, admin.c */

int troc__apply_transfer(troc_ledger_write *write, const troc_item *item, troc_item_result *result);
int troc__apply_batch(troc_ledger_write *write, const troc_item *item, troc_item_result *result);
int troc__apply_admin(troc_ledger_write *write, const troc_item *item, troc_item_result *result);

/* ---------------------------------------------------------- invoice.c */

int troc__apply_invoice(troc_ledger_write *write, const troc_item *item, troc_item_result *result);

/* The invoice `id`: 0, TROC_ENOT_FOUND, or a storage error. */
int troc__invoice_get(MDB_txn *txn, const troc_ledger *ledger, const uint8_t id[TROC_ID_SIZE],
                      troc__invoice_record *invoice_out);

/* Checks that `amount_cents` from `payer_id` to `payee_id` may pay invoice
 * `id`: *code_out is OK (and *invoice_out filled) or the refusal. */
int troc__invoice_payment_check(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], uint32_t payer_id,
                                uint32_t payee_id, int64_t amount_cents, troc__invoice_record *invoice_out,
                                int *code_out);

/* Index entries of settled obligations that a clearing round removes all
 * at once, after its settlements (see invoice.c). */
typedef struct troc__index_removals {
    uint8_t (*live)[13];                   /* live_invoices keys */
    uint8_t (*open)[8];                    /* obligations keys */
    size_t live_count;
    size_t open_count;
} troc__index_removals;

/* Room for the removals of `obligations` settled obligations. */
int troc__index_removals_init(troc__index_removals *removals, size_t obligations);
void troc__index_removals_free(troc__index_removals *removals);
/* Deletes them, in key order. */
int troc__index_removals_apply(troc_ledger_write *write, troc__index_removals *removals);

/* Reduces an open obligation by what was paid and set off (at most what
 * remains), settling it when nothing remains; updates the totals.  The
 * index entries of an obligation it settles are deleted at once, or, when
 * `removals` is not NULL, added to them for troc__index_removals_apply(). */
int troc__invoice_reduce(troc_ledger_write *write, const uint8_t id[TROC_ID_SIZE], troc__invoice_record *invoice,
                         int64_t cleared_cents, int64_t paid_cents, troc__index_removals *removals);

/* --------------------------------------------------------- clearing.c */

/* Applies a journaled NodeEvent{clearing_round} (replay): no staleness
 * check, the same validation and effects as troc_ledger_apply_clearing(). */
int troc__apply_node(troc_ledger_write *write, const troc_item *item, troc_item_result *result);

/* The opening every signed action (admin, invoice) shares: a malformed or
 * badly signed item is refused, a used id answers with its stored result.
 * Returns 1 when `result` holds the answer, 0 when the action is new and
 * must be applied, or a storage error. */
int troc__action_open(troc_ledger_write *write, const troc_item *item, bool well_formed, const uint8_t *id,
                      troc_item_result *result);

/* Journals an accepted action (admin, invoice) and remembers its id;
 * fills the OK result. */
int troc__action_record(troc_ledger_write *write, const troc_item *item, const uint8_t id[TROC_ID_SIZE],
                        troc_item_result *result);

/* Checks a free-text field: TROC_RESULT_OK, or `too_long` / INVALID_TEXT
 * (not UTF-8, a control character, or a bidirectional control, which can
 * make a text display otherwise than it reads).  A replayed entry is held
 * to the rule it was journaled under (C1 and bidirectional controls were
 * accepted once). */
int troc__text_check(const troc_ledger_write *write, const char *text, size_t length_max, int too_long);

/* Checks a reason (of a limit change, a freeze, an invoice's rejection):
 * as troc__text_check(), and REASON_REQUIRED when it is empty or, but in a
 * replayed entry (accepted once), shows nothing: it is there to be read
 * later. */
int troc__reason_check(const troc_ledger_write *write, const char *reason);

/* ----------------------------------------------------------- round.c */

/* Copies settlements [offset, offset + capacity) of a journaled
 * NodeEvent{clearing_round} body, decoding only those: *count_out of them.
 * TROC_ECORRUPT when the body is not a well-formed clearing round. */
int troc__round_settlements_page(const uint8_t *body, size_t body_size, troc_settlement *out, size_t offset,
                                 size_t capacity, size_t *count_out);

/* ------------------------------------------------------ signatures.c */

/* The signing domain of a journal entry's kind; false for an unknown kind. */
bool troc__domain_of_kind(uint8_t kind, troc_domain *domain);

/* Checks the signature of every journal entry 1..last_seq on `threads`
 * threads (0: one per processor) and sets *first_bad_out to the lowest
 * entry whose signature does not verify, 0 when none.  Entries it cannot
 * read or whose kind has no domain are not judged here.  Returns 0, or the
 * error beginning a read transaction. */
int troc__signatures_check(troc_ledger *ledger, const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE], uint64_t last_seq,
                           unsigned threads, uint64_t *first_bad_out, troc_verify_progress_fn *progress,
                           void *progress_context);

#endif /* TROC_LEDGER_INT_H */
