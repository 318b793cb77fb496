/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verify: the proof that the stored state is what the journal says.
 *
 * First every signature is checked, over the stored body, in the domain
 * of its kind and for the territory named by the first entry, on several
 * threads (signatures.c: nearly all of verify's work).  Then one pass over
 * the journal (troc_journal_check walks it, checking the numbering and the
 * hash chain up to the stored head) does, per entry:
 *   1. the signature's verdict, from that pass, and the rule that node
 *      events must be signed by the territory key itself;
 *   2. replay: the entry is decoded and applied to a scratch ledger through
 *      troc_ledger_apply(), the very code that applied it first, at the
 *      entry's own timestamp; it must be accepted again, under the same
 *      journal number.
 * Then every database of the scratch ledger is compared with the stored
 * one, record by record: a deterministic fold of the same journal must give
 * the same bytes.  The first difference is described in words (an
 * account's balance, limit, frozen flag; a total; otherwise the database
 * and key).
 *
 * The scratch environment syncs nothing (it is thrown away) and commits
 * every TROC_REPLAY_ENTRIES_PER_COMMIT entries.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/amount.h"
#include "base/error.h"
#include "base/result.h"
#include "base/text.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

#define PROGRESS_EVERY 4096

typedef struct verify_run {
    troc_ledger *source;
    MDB_txn *source_txn;
    const char *scratch_directory;
    troc_ledger *scratch;
    troc_ledger_write *write;              /* the scratch's open transaction, or NULL */
    uint64_t pending;                      /* entries applied in it */
    uint8_t territory_id[TROC_PUBLIC_KEY_SIZE];
    uint64_t total;                        /* entries to check (the head's seq) */
    unsigned threads;                      /* for the signature pass; 0: one per processor */
    bool signatures_checked;               /* the signature pass ran: its answer stands */
    bool scratch_failed;                   /* the scratch ledger failed: no entry is at fault */
    uint64_t first_bad_signature;          /* its answer: 0, or the first entry that fails */
    troc_verify_report *report;
    troc_verify_progress_fn *progress;
    void *progress_context;
    uint16_t item_codes[TROC_BATCH_ITEMS_MAX];
} verify_run;

__attribute__((format(printf, 3, 4))) static int differ(verify_run *run, int error, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(run->report->difference, sizeof run->report->difference, format, args);
    va_end(args);
    return error;
}

/* The scratch ledger failed with `error` while doing `what`.  A full disk
 * is the scratch directory's (the stored ledger is only read): say which
 * disk and what to do.  The entry being replayed is not at fault, so the
 * report names none. */
static int scratch_differ(verify_run *run, int error, const char *what) {
    run->scratch_failed = true;
    error = troc__lmdb_error(error);
    if (error == -ENOSPC) {
        return differ(run, error, "%s: no space left on the disk holding %s: free some space, or set TMPDIR to a "
                      "directory on a disk with room", what, run->scratch_directory);
    }
    return differ(run, error, "%s: %s", what, troc_strerror(error));
}

static int signature_check(verify_run *run, const troc_journal_entry *entry) {
    troc_domain domain;
    if (!troc__domain_of_kind(entry->kind, &domain)) {
        return differ(run, TROC_ECORRUPT, "journal entry %llu has an unknown kind %u", (unsigned long long)entry->seq,
                      entry->kind);
    }
    if (domain == TROC_DOMAIN_NODE && memcmp(entry->signer, run->territory_id, TROC_PUBLIC_KEY_SIZE) != 0) {
        return differ(run, TROC_ESIGNATURE, "journal entry %llu: a node event not signed by the territory key",
                      (unsigned long long)entry->seq);
    }
    bool valid = run->signatures_checked ? entry->seq != run->first_bad_signature
                                         : troc_verify(entry->signer, domain, run->territory_id, entry->body,
                                                       entry->body_size, entry->signature);
    if (!valid) {
        return differ(run, TROC_ESIGNATURE, "journal entry %llu: signature does not verify",
                      (unsigned long long)entry->seq);
    }
    return 0;
}

/* Reads the territory's key from entry 1, its init event; false when
 * the entry is not one. */
static bool territory_of_init(const troc_journal_entry *entry, uint8_t territory_id[TROC_PUBLIC_KEY_SIZE]) {
    Troc__V1__NodeEvent *event = NULL;
    if (entry->kind == TROC__V1__ENVELOPE_KIND__KIND_NODE) {
        event = troc__v1__node_event__unpack(NULL, entry->body_size, entry->body);
    }
    bool ok = event != NULL && event->event_case == TROC__V1__NODE_EVENT__EVENT_INIT && event->init != NULL &&
              event->init->has_territory_key && event->init->territory_key.len == TROC_PUBLIC_KEY_SIZE;
    if (ok) memcpy(territory_id, event->init->territory_key.data, TROC_PUBLIC_KEY_SIZE);
    if (event != NULL) troc__v1__node_event__free_unpacked(event, NULL);
    return ok;
}

/* Checks every signature on several threads before the ordered walk.
 * Without a readable init event there is no territory to check against:
 * the walk then reports entry 1 and checks signatures itself. */
static int signatures_pass(verify_run *run) {
    troc_journal_entry first;
    if (troc_journal_get(&run->source->journal, run->source_txn, 1, &first) != 0) return 0;
    if (!territory_of_init(&first, run->territory_id)) return 0;
    int rc = troc__signatures_check(run->source, run->territory_id, run->total, run->threads,
                                    &run->first_bad_signature, run->progress, run->progress_context);
    if (rc != 0) return differ(run, rc, "cannot read the journal to check signatures: %s", troc_strerror(rc));
    run->signatures_checked = true;
    return 0;
}

/* Entry 1: the territory's init, which creates the scratch ledger. */
static int replay_first(verify_run *run, const troc_journal_entry *entry) {
    if (!territory_of_init(entry, run->territory_id)) {
        return differ(run, TROC_ECORRUPT, "journal entry 1 is not the territory's init event");
    }
    int rc = signature_check(run, entry);
    if (rc != 0) return rc;
    size_t map_size = 2 * troc_ledger_map_size(run->source); /* headroom: pages may pack differently */
    rc = troc__ledger_open_env(&run->scratch, run->scratch_directory, map_size,
                               TROC__OPEN_CREATE | TROC__OPEN_SCRATCH);
    if (rc == 0) rc = troc_ledger_write_begin(run->scratch, entry->timestamp_us, &run->write);
    if (rc != 0) return scratch_differ(run, rc, "cannot create the scratch ledger");
    rc = troc__ledger_apply_init(run->write, entry);
    if (rc != 0) return differ(run, TROC_EREPLAY, "journal entry 1: the init event does not apply");
    run->pending = 1;
    return 0;
}

/* Decodes an entry's body into `item`; false when it does not decode. */
static bool item_decode(const troc_journal_entry *entry, troc_item *item) {
    *item = (troc_item){.kind = (Troc__V1__EnvelopeKind)entry->kind,
                        .body = entry->body,
                        .body_size = entry->body_size,
                        .signer = entry->signer,
                        .signature = entry->signature,
                        .signature_valid = true};
    switch (entry->kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER:
        return (item->decoded.transfer = troc__v1__transfer__unpack(NULL, entry->body_size, entry->body)) != NULL;
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH:
        return (item->decoded.batch = troc__v1__transfer_batch__unpack(NULL, entry->body_size, entry->body)) != NULL;
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN:
        return (item->decoded.admin = troc__v1__admin_action__unpack(NULL, entry->body_size, entry->body)) != NULL;
    case TROC__V1__ENVELOPE_KIND__KIND_INVOICE:
        return (item->decoded.invoice = troc__v1__invoice_action__unpack(NULL, entry->body_size, entry->body)) !=
               NULL;
    case TROC__V1__ENVELOPE_KIND__KIND_NODE:
        return (item->decoded.node = troc__v1__node_event__unpack(NULL, entry->body_size, entry->body)) != NULL;
    default: return false;
    }
}

static void item_free(troc_item *item) {
    switch (item->kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER:
        troc__v1__transfer__free_unpacked((Troc__V1__Transfer *)item->decoded.transfer, NULL);
        break;
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH:
        troc__v1__transfer_batch__free_unpacked((Troc__V1__TransferBatch *)item->decoded.batch, NULL);
        break;
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN:
        troc__v1__admin_action__free_unpacked((Troc__V1__AdminAction *)item->decoded.admin, NULL);
        break;
    case TROC__V1__ENVELOPE_KIND__KIND_INVOICE:
        troc__v1__invoice_action__free_unpacked((Troc__V1__InvoiceAction *)item->decoded.invoice, NULL);
        break;
    case TROC__V1__ENVELOPE_KIND__KIND_NODE:
        troc__v1__node_event__free_unpacked((Troc__V1__NodeEvent *)item->decoded.node, NULL);
        break;
    default: break;
    }
}

/* Applies one entry (after the first) to the scratch ledger. */
static int replay_entry(verify_run *run, const troc_journal_entry *entry) {
    int rc = 0;
    if (run->pending >= TROC_REPLAY_ENTRIES_PER_COMMIT) {
        rc = troc_ledger_write_commit(run->write);
        run->write = NULL;
        if (rc == 0) rc = troc_ledger_write_begin(run->scratch, entry->timestamp_us, &run->write);
        if (rc != 0) return scratch_differ(run, rc, "scratch ledger");
        run->pending = 0;
    }
    troc__write_set_time(run->write, entry->timestamp_us);
    troc_item item;
    if (!item_decode(entry, &item)) {
        return differ(run, TROC_EREPLAY, "journal entry %llu: the body does not decode as its kind %u",
                      (unsigned long long)entry->seq, entry->kind);
    }
    troc_item_result result = {.item_codes = run->item_codes};
    bool node = entry->kind == TROC__V1__ENVELOPE_KIND__KIND_NODE;
    rc = node ? troc__apply_node(run->write, &item, &result) : troc_ledger_apply(run->write, &item, &result);
    item_free(&item);
    run->pending++;
    if (node && (rc == TROC_ESTALE || rc == TROC_EINFEASIBLE || rc == TROC_ESIGNATURE || rc == TROC_EOVERFLOW)) {
        return differ(run, TROC_EREPLAY, "journal entry %llu: the clearing round does not apply again: %s",
                      (unsigned long long)entry->seq, troc_strerror(rc));
    }
    if (rc != 0) return scratch_differ(run, rc, "scratch ledger");
    if (result.code != TROC_RESULT_OK || result.journal_seq != entry->seq) {
        return differ(run, TROC_EREPLAY, "journal entry %llu: replay answers %s (journal entry %llu)",
                      (unsigned long long)entry->seq, troc_result_name(result.code),
                      (unsigned long long)result.journal_seq);
    }
    return 0;
}

static int visit(void *context, const troc_journal_entry *entry) {
    verify_run *run = context;
    if (run->progress != NULL && entry->seq % PROGRESS_EVERY == 0) {
        run->progress(run->progress_context, "replaying the journal", entry->seq, run->total);
    }
    if (entry->seq == 1) return replay_first(run, entry);
    int rc = signature_check(run, entry);
    return rc != 0 ? rc : replay_entry(run, entry);
}

/* -------------------------------------------------------- comparison */

/* Describes how two records of a member's account ("balances" or
 * "accounts", `db`) differ. */
static int account_differ(verify_run *run, int db, const MDB_val *key, const MDB_val *stored,
                          const MDB_val *replayed) {
    char name[TROC_NAME_LENGTH_MAX + 1] = "?";
    uint32_t member_id = key->mv_size == 4 ? troc__be32_read(key->mv_data) : 0;
    troc__member_name(run->source_txn, run->source, member_id, name);
    int (*decode)(const MDB_val *, troc__account_record *) =
        db == TROC__DB_BALANCES ? troc__balance_decode : troc__account_decode;
    troc__account_record a = {0}, b = {0};
    if (decode(stored, &a) != 0 || decode(replayed, &b) != 0) {
        return differ(run, TROC_EREPLAY, "account of %s: the stored record is malformed", name);
    }
    char x[TROC_AMOUNT_TEXT_SIZE], y[TROC_AMOUNT_TEXT_SIZE];
    if (a.balance_cents != b.balance_cents) {
        return differ(run, TROC_EREPLAY, "account of %s: stored balance %s, replayed %s", name,
                      troc_amount_format(a.balance_cents, x), troc_amount_format(b.balance_cents, y));
    }
    if (a.credit_limit_cents != b.credit_limit_cents || a.balance_max_cents != b.balance_max_cents ||
        (a.flags & TROC__ACCOUNT_HAS_BALANCE_MAX) != (b.flags & TROC__ACCOUNT_HAS_BALANCE_MAX)) {
        return differ(run, TROC_EREPLAY, "account of %s: stored limits differ from the replayed ones", name);
    }
    if ((a.flags & TROC__ACCOUNT_FROZEN) != (b.flags & TROC__ACCOUNT_FROZEN)) {
        return differ(run, TROC_EREPLAY, "account of %s: stored %s, replayed %s", name,
                      (a.flags & TROC__ACCOUNT_FROZEN) ? "frozen" : "not frozen",
                      (b.flags & TROC__ACCOUNT_FROZEN) ? "frozen" : "not frozen");
    }
    return differ(run, TROC_EREPLAY, "account of %s: stored record differs from the replayed one", name);
}

/* Describes the first difference in database `name` at `key`. */
static int record_differ(verify_run *run, int db, const MDB_val *key, const MDB_val *stored,
                         const MDB_val *replayed) {
    if ((db == TROC__DB_BALANCES || db == TROC__DB_ACCOUNTS) && stored != NULL && replayed != NULL) {
        return account_differ(run, db, key, stored, replayed);
    }
    const char *name = db < TROC__DB_COUNT ? troc__db_names[db] : TROC_JOURNAL_DATABASE;
    /* The key as text where it is a name (printable ASCII: damage may have
     * made it anything), else in hex; an empty one said to be empty. */
    char shown[2 * 40 + 1] = "(an empty key)";
    size_t size = key->mv_size < 40 ? key->mv_size : 40;
    bool text = (db == TROC__DB_META || db == TROC__DB_MEMBERS) && size > 0;
    const char *bytes = key->mv_data;
    for (size_t i = 0; text && i < size; i++) text = bytes[i] > ' ' && bytes[i] < 0x7f;
    if (text) snprintf(shown, sizeof shown, "%.*s", (int)size, bytes);
    else if (size > 0) troc_hex_encode(key->mv_data, size, shown);
    if (stored == NULL || replayed == NULL) {
        return differ(run, TROC_EREPLAY, "database %s: record %s only in the %s state", name, shown,
                      stored == NULL ? "replayed" : "stored");
    }
    return differ(run, TROC_EREPLAY, "database %s: record %s differs from the replayed one", name, shown);
}

static bool value_equal(const MDB_val *a, const MDB_val *b) {
    return a->mv_size == b->mv_size && memcmp(a->mv_data, b->mv_data, a->mv_size) == 0;
}

/* Walks two databases side by side; 0 when they hold the same records. */
static int database_compare(verify_run *run, int db, MDB_dbi stored_dbi, MDB_txn *scratch_txn, MDB_dbi scratch_dbi) {
    MDB_cursor *a = NULL, *b = NULL;
    int rc = mdb_cursor_open(run->source_txn, stored_dbi, &a);
    if (rc == 0) rc = mdb_cursor_open(scratch_txn, scratch_dbi, &b);
    MDB_val ka, va, kb, vb;
    int sa = rc == 0 ? mdb_cursor_get(a, &ka, &va, MDB_FIRST) : rc;
    int sb = rc == 0 ? mdb_cursor_get(b, &kb, &vb, MDB_FIRST) : rc;
    /* Bounded by the records of both databases: each step advances both. */
    while (rc == 0 && sa == 0 && sb == 0) {
        MDB_val *shorter = ka.mv_size < kb.mv_size ? &ka : &kb;
        int order = memcmp(ka.mv_data, kb.mv_data, shorter->mv_size);
        if (order == 0 && ka.mv_size != kb.mv_size) order = ka.mv_size < kb.mv_size ? -1 : 1;
        if (order != 0) rc = record_differ(run, db, order < 0 ? &ka : &kb, order < 0 ? &va : NULL,
                                           order < 0 ? NULL : &vb);
        else if (!value_equal(&va, &vb)) rc = record_differ(run, db, &ka, &va, &vb);
        sa = mdb_cursor_get(a, &ka, &va, MDB_NEXT);
        sb = mdb_cursor_get(b, &kb, &vb, MDB_NEXT);
    }
    if (rc == 0 && sa == 0) rc = record_differ(run, db, &ka, &va, NULL);
    if (rc == 0 && sb == 0) rc = record_differ(run, db, &kb, NULL, &vb);
    if (rc == 0 && sa != MDB_NOTFOUND) rc = sa;
    if (rc == 0 && sb != MDB_NOTFOUND) rc = sb;
    if (a != NULL) mdb_cursor_close(a);
    if (b != NULL) mdb_cursor_close(b);
    return rc;
}

/* Compares every database of the scratch ledger with the stored one. */
static int databases_compare(verify_run *run) {
    MDB_txn *scratch_txn = NULL;
    int rc = mdb_txn_begin(run->scratch->env, NULL, MDB_RDONLY, &scratch_txn);
    if (rc != 0) return scratch_differ(run, rc, "scratch ledger");
    /* Accounts first, so that a changed balance is named as such rather
     * than by the totals it also changes. */
    static const int order[] = {
        TROC__DB_BALANCES,    TROC__DB_ACCOUNTS,      TROC__DB_META,        TROC__DB_MEMBERS,
        TROC__DB_PROFILES,    TROC__DB_KEYS,          TROC__DB_MEMBER_KEYS, TROC__DB_IDS,
        TROC__DB_POSTINGS,    TROC__DB_CHECKPOINTS,   TROC__DB_LIMITS,      TROC__DB_INVOICES,
        TROC__DB_MEMBER_INVOICES, TROC__DB_LIVE_INVOICES, TROC__DB_OBLIGATIONS, TROC__DB_ROUNDS,
    };
    _Static_assert(sizeof order / sizeof order[0] == TROC__DB_COUNT, "every database is compared");
    for (size_t i = 0; i < TROC__DB_COUNT && rc == 0; i++) {
        if (run->progress != NULL) run->progress(run->progress_context, "comparing", i, TROC__DB_COUNT + 1);
        int db = order[i];
        rc = database_compare(run, db, run->source->dbs[db], scratch_txn, run->scratch->dbs[db]);
    }
    if (rc == 0) {
        rc = database_compare(run, TROC__DB_COUNT, run->source->journal.entries, scratch_txn,
                              run->scratch->journal.entries);
    }
    mdb_txn_abort(scratch_txn);
    return rc;
}

/* Fills the report's counts from the stored state. */
static int counts_fill(verify_run *run) {
    troc_ledger_read read = {.ledger = run->source, .txn = run->source_txn};
    troc_stats stats;
    int rc = troc_ledger_stats(&read, &stats);
    if (rc != 0) return differ(run, rc, "the stored totals cannot be read: %s", troc_strerror(rc));
    run->report->entries = stats.journal_entries;
    run->report->members = stats.members;
    run->report->transfers = stats.transfers;
    run->total = stats.journal_entries;
    return 0;
}

/* Says where the journal's walk stopped: an entry past the stored head,
 * or a journal that ends before it, is named as such (a head record or a
 * journal's end damaged), anything else by the entry's number. */
static void journal_differ(verify_run *run, int rc, uint64_t bad_seq) {
    troc_journal_head head;
    unsigned long long bad = (unsigned long long)bad_seq;
    if (troc_journal_head_read(&run->source->journal, run->source_txn, &head) != 0) head.seq = 0;
    unsigned long long head_seq = (unsigned long long)head.seq;
    if (head.seq != 0 && bad_seq > head.seq) {
        differ(run, rc, "journal entry %llu lies past the journal's head, entry %llu: %s", bad, head_seq,
               troc_strerror(rc));
    } else if (head.seq != 0 && rc == TROC_ECHAIN && bad_seq < head.seq) {
        /* The walk stops at the first number missing: the journal's end,
         * or a gap when entries go on after it. */
        troc_journal_entry entry;
        const bool gap = troc_journal_get(&run->source->journal, run->source_txn, bad_seq, &entry) != 0 &&
                         troc_journal_get(&run->source->journal, run->source_txn, head.seq, &entry) == 0;
        if (gap) {
            differ(run, rc, "journal entry %llu is missing, though the journal goes on to its head, entry %llu", bad,
                   head_seq);
        } else {
            differ(run, rc, "the journal ends at entry %llu, but its head names entry %llu", bad, head_seq);
        }
    } else {
        differ(run, rc, "journal entry %llu: %s", bad, troc_strerror(rc));
    }
}

/* Walks and replays the journal, then compares. */
static int verify_walk(verify_run *run) {
    int rc = counts_fill(run);
    if (rc == 0) rc = signatures_pass(run);
    if (rc != 0) return rc;
    uint64_t bad_seq = 0;
    rc = troc_journal_check(&run->source->journal, run->source_txn, visit, run, &bad_seq);
    if (rc != 0) {
        if (!run->scratch_failed) run->report->bad_seq = bad_seq;
        if (run->report->difference[0] == '\0') journal_differ(run, rc, bad_seq);
        return rc;
    }
    if (run->scratch == NULL) return differ(run, TROC_ECORRUPT, "the journal is empty");
    rc = troc_ledger_write_commit(run->write);
    run->write = NULL;
    if (rc != 0) return scratch_differ(run, rc, "scratch ledger");
    return databases_compare(run);
}

/* Reads the key file as trocd run would, so that a ledger verified "ok"
 * and then refused by trocd run is warned of (a key left readable by others
 * after a restore); the data's verdict does not depend on it, since a copy
 * made with mdb_copy has no key file. */
static void verify_key_file(const troc_ledger *source, const char *directory, troc_verify_report *report) {
    troc_keypair keypair;
    report->key_file_rc = troc__ledger_key_read(source, directory, &keypair);
    report->key_file_checked = true;
    sodium_memzero(&keypair, sizeof keypair);
}

int troc_ledger_verify(const char *directory, const char *scratch_directory, unsigned threads,
                       troc_verify_report *report, troc_verify_progress_fn *progress, void *progress_context) {
    assert(directory != NULL && scratch_directory != NULL && report != NULL);
    memset(report, 0, sizeof *report);
    verify_run *run = calloc(1, sizeof *run);
    if (run == NULL) return -ENOMEM;
    *run = (verify_run){.scratch_directory = scratch_directory, .threads = threads, .report = report,
                        .progress = progress, .progress_context = progress_context};
    int rc = troc__ledger_open_env(&run->source, directory, 0, TROC__OPEN_READ_ONLY);
    if (rc == 0) verify_key_file(run->source, directory, report);
    if (rc == 0) rc = mdb_txn_begin(run->source->env, NULL, MDB_RDONLY, &run->source_txn);
    if (rc == 0) rc = verify_walk(run);
    if (run->write != NULL) troc_ledger_write_abort(run->write);
    if (run->source_txn != NULL) mdb_txn_abort(run->source_txn);
    troc_ledger_close(run->scratch);
    troc_ledger_close(run->source);
    free(run);
    return troc__lmdb_error(rc);
}
