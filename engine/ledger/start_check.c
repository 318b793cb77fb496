/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The check a writable open makes before the ledger serves: cheap, bounded
 * work that catches the likeliest damage, where `trocd verify` (replay.c)
 * is the proof and takes as long as the journal is.
 *
 * LMDB keeps no checksums: a page damaged on disk, a copy cut short or a
 * hand edit is read as it is.  A writer that trusted such a ledger would
 * append to it (entries chained to a head that is not the last entry,
 * postings numbered after a count that is wrong) or stop on an assertion
 * at its first commit (balances that do not sum to zero), and every
 * commit would bury the damage deeper.  So before the first write it
 * checks what every commit relies on, in one read transaction:
 *
 *   1. the state record: present, its reserved bytes zero, balances summing
 *      to zero, debt and open obligations not negative, counts in range
 *      (members within TROC_MEMBERS_MAX, frozen and over-limit accounts
 *      within the members, transfers within the postings, each open
 *      obligation worth at least a cent, members, rounds and live invoices
 *      within the journal's entries);
 *   2. the journal's end: entries numbered 1 .. head and no others, the
 *      last one hashing to the head, and each of the last
 *      TROC_START_CHECK_LINKS (fewer when they hold more than
 *      TROC_START_CHECK_BYTES_MAX) holding the hash of the one before, at
 *      a time no earlier; the last one's time is the state's;
 *   3. entry 1: the territory's init, signed by the territory key, naming
 *      the territory, unit and key that meta holds, and chained to entry 2;
 *   4. the record counts LMDB keeps in each database's root (mdb_stat, no
 *      walk) against the state's counts: members, balances, accounts and
 *      profiles, postings, open obligations, rounds, invoices and their
 *      indexes; and the last key of the dense ones;
 *   5. the last posting: both its members' balance records name it as
 *      their last line, with the balance it left them.
 *
 * Its work depends on neither the journal's length nor the members' number
 * (a few dozen lookups and at most TROC_START_CHECK_BYTES_MAX hashed).
 * What it cannot see (a balance changed in an account no recent movement
 * touched, a statement line or an idempotency record altered in the
 * middle, an entry rewritten far back) only verify finds.
 *
 * The first thing wrong is described in words, for the operator: which
 * record, what it holds and what it should.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/amount.h"
#include "base/error.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

typedef struct start_check {
    const troc_ledger *ledger;
    MDB_txn *txn;
    troc__state state;
    troc_journal_head head;
    char *problem;                         /* the first thing wrong, in words */
    size_t problem_size;
} start_check;

__attribute__((format(printf, 2, 3))) static int found(start_check *c, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(c->problem, c->problem_size, format, args);
    va_end(args);
    return TROC_ECORRUPT;
}

/* Reads the state record and the journal head. */
static int state_load(start_check *c) {
    MDB_val key = {sizeof "state" - 1, "state"}, value;
    int rc = mdb_get(c->txn, c->ledger->dbs[TROC__DB_META], &key, &value);
    if (rc == MDB_NOTFOUND) return found(c, "the state record is missing");
    if (rc != 0) return rc;
    if (troc__state_decode(&value, &c->state) != 0) {
        return found(c, "the state record holds %zu bytes, not %d", value.mv_size, TROC__STATE_RECORD_SIZE);
    }
    if (troc__be32_read((const uint8_t *)value.mv_data + 12) != 0) {
        return found(c, "the state record's reserved bytes are not zero");
    }
    rc = troc_journal_head_read(&c->ledger->journal, c->txn, &c->head);
    if (rc == TROC_ECORRUPT) return found(c, "the journal's head record is malformed");
    if (rc != 0) return rc;
    return c->head.seq == 0 ? found(c, "the journal's head record is missing") : 0;
}

/* The running totals, each against the others and the journal's length. */
static int state_check(start_check *c) {
    const troc__state *s = &c->state;
    char amount[TROC_AMOUNT_TEXT_SIZE];
    unsigned long long entries = (unsigned long long)c->head.seq;
    if (s->balance_sum_cents != 0) {
        return found(c, "the state's balances sum to %s, not 0", troc_amount_format(s->balance_sum_cents, amount));
    }
    if (s->debt_cents < 0) return found(c, "the state's debt is negative");
    if (s->obligations_cents < 0) return found(c, "the state's open obligations are negative");
    if (s->member_count > TROC_MEMBERS_MAX) {
        return found(c, "the state counts %u members, more than %d", s->member_count, TROC_MEMBERS_MAX);
    }
    if (s->frozen > s->member_count || s->accounts_over_limit > s->member_count) {
        return found(c, "the state counts %llu frozen and %llu over-limit accounts among %u members",
                     (unsigned long long)s->frozen, (unsigned long long)s->accounts_over_limit, s->member_count);
    }
    if (s->transfers > s->postings) {
        return found(c, "the state counts %llu transfers but %llu postings", (unsigned long long)s->transfers,
                     (unsigned long long)s->postings);
    }
    /* An open obligation has at least a cent left: one that has nothing
     * left is settled and no longer counted. */
    if ((uint64_t)s->obligations_cents < s->obligations_open) {
        return found(c, "the state counts %llu open obligations worth %s in all",
                     (unsigned long long)s->obligations_open, troc_amount_format(s->obligations_cents, amount));
    }
    /* Entry 1 is the init; every admission, round and issued invoice is an
     * entry of its own after it. */
    if (s->member_count >= c->head.seq || s->clearing_runs >= c->head.seq ||
        s->invoices_pending + s->obligations_open >= c->head.seq) {
        return found(c, "the state counts more members, rounds or live invoices than the journal's %llu entries",
                     entries);
    }
    return 0;
}

/* Checks the link of entry `seq` (read into *entry) to what follows it:
 * its hash is `expected` (the head's hash, or the next entry's previous
 * hash) and its time is no later than `later_us`. */
static int link_check(start_check *c, uint64_t seq, const uint8_t expected[TROC_HASH_SIZE], int64_t later_us,
                      troc_journal_entry *entry) {
    unsigned long long n = (unsigned long long)seq;
    int rc = troc_journal_get(&c->ledger->journal, c->txn, seq, entry);
    if (rc == TROC_ENOT_FOUND) return found(c, "journal entry %llu is missing", n);
    if (rc == TROC_ECORRUPT) return found(c, "journal entry %llu is malformed", n);
    if (rc != 0) return rc;
    uint8_t hash[TROC_HASH_SIZE];
    troc_journal_entry_hash(entry, hash);
    if (sodium_memcmp(hash, expected, TROC_HASH_SIZE) != 0) {
        if (seq == c->head.seq) return found(c, "journal entry %llu is not the head the state records", n);
        return found(c, "journal entry %llu does not hold the hash of entry %llu", n + 1, n);
    }
    if (entry->timestamp_us > later_us) return found(c, "journal entry %llu is later than entry %llu", n, n + 1);
    return 0;
}

/* The journal's end: dense numbering, the head, the last links. */
static int journal_tail_check(start_check *c) {
    MDB_stat stat;
    int rc = mdb_stat(c->txn, c->ledger->journal.entries, &stat);
    if (rc != 0) return rc;
    if (stat.ms_entries != c->head.seq) {
        return found(c, "the journal holds %zu entries, but its head names entry %llu", stat.ms_entries,
                     (unsigned long long)c->head.seq);
    }
    /* As many entries as the head's number, each under its own key from 1
     * to the head: with the first and last keys right, none is missing. */
    MDB_cursor *cursor = NULL;
    if ((rc = mdb_cursor_open(c->txn, c->ledger->journal.entries, &cursor)) != 0) return rc;
    MDB_val first, last, value;
    rc = mdb_cursor_get(cursor, &first, &value, MDB_FIRST);
    if (rc == 0) rc = mdb_cursor_get(cursor, &last, &value, MDB_LAST);
    bool dense = rc == 0 && first.mv_size == 8 && last.mv_size == 8 && troc__be64_read(first.mv_data) == 1 &&
                 troc__be64_read(last.mv_data) == c->head.seq;
    mdb_cursor_close(cursor);
    if (rc != 0) return rc;
    if (!dense) return found(c, "the journal's entries are not numbered 1 to its head, %llu",
                             (unsigned long long)c->head.seq);
    uint8_t expected[TROC_HASH_SIZE];
    memcpy(expected, c->head.hash, TROC_HASH_SIZE);
    int64_t later_us = INT64_MAX;
    size_t hashed = 0;
    troc_journal_entry entry;
    /* Bounded by TROC_START_CHECK_LINKS entries, and by the bytes hashed
     * (the head itself is always checked). */
    for (uint64_t seq = c->head.seq; seq >= 1 && c->head.seq - seq < TROC_START_CHECK_LINKS; seq--) {
        if (seq != c->head.seq && hashed >= TROC_START_CHECK_BYTES_MAX) break;
        if ((rc = link_check(c, seq, expected, later_us, &entry)) != 0) return rc;
        if (seq == c->head.seq && entry.timestamp_us != c->state.last_timestamp_us) {
            return found(c, "the last journal entry's time is not the state's");
        }
        hashed += TROC_JOURNAL_ENTRY_HEADER_SIZE + entry.body_size;
        memcpy(expected, entry.previous_hash, TROC_HASH_SIZE);
        later_us = entry.timestamp_us;
    }
    return 0;
}

/* Compares the init event's territory, unit and key with meta's. */
static int init_event_check(start_check *c, const troc_journal_entry *entry) {
    const troc_ledger *ledger = c->ledger;
    Troc__V1__NodeEvent *event = troc__v1__node_event__unpack(NULL, entry->body_size, entry->body);
    const Troc__V1__TerritoryInit *init =
        event != NULL && event->event_case == TROC__V1__NODE_EVENT__EVENT_INIT ? event->init : NULL;
    bool same = init != NULL && init->territory != NULL && init->unit != NULL && init->has_territory_key &&
                init->territory_key.len == TROC_PUBLIC_KEY_SIZE && strcmp(init->territory, ledger->territory) == 0 &&
                strcmp(init->unit, ledger->unit) == 0 &&
                memcmp(init->territory_key.data, ledger->territory_key, TROC_PUBLIC_KEY_SIZE) == 0;
    if (event != NULL) troc__v1__node_event__free_unpacked(event, NULL);
    return same ? 0 : found(c, "journal entry 1 does not name the territory, unit and key the ledger holds");
}

/* Entry 1: the init the meta records were written from. */
static int journal_first_check(start_check *c) {
    const troc_ledger *ledger = c->ledger;
    troc_journal_entry first, second;
    int rc = troc_journal_get(&ledger->journal, c->txn, 1, &first);
    if (rc == TROC_ENOT_FOUND || rc == TROC_ECORRUPT) return found(c, "journal entry 1 is missing or malformed");
    if (rc != 0) return rc;
    if (first.kind != TROC__V1__ENVELOPE_KIND__KIND_NODE ||
        memcmp(first.signer, ledger->territory_key, TROC_PUBLIC_KEY_SIZE) != 0 ||
        !troc_verify(first.signer, TROC_DOMAIN_NODE, ledger->territory_key, first.body, first.body_size,
                     first.signature)) {
        return found(c, "journal entry 1 is not an init event signed by the territory key");
    }
    if (!sodium_is_zero(first.previous_hash, TROC_HASH_SIZE)) {
        return found(c, "journal entry 1 holds the hash of an entry before it");
    }
    if ((rc = init_event_check(c, &first)) != 0) return rc;
    if (c->head.seq < 2) return 0;
    rc = troc_journal_get(&ledger->journal, c->txn, 2, &second);
    if (rc == TROC_ENOT_FOUND || rc == TROC_ECORRUPT) return found(c, "journal entry 2 is missing or malformed");
    if (rc != 0) return rc;
    uint8_t hash[TROC_HASH_SIZE];
    troc_journal_entry_hash(&first, hash);
    if (sodium_memcmp(hash, second.previous_hash, TROC_HASH_SIZE) != 0) {
        return found(c, "journal entry 2 does not hold the hash of entry 1");
    }
    return 0;
}

/* Checks that database `db` holds `count` records and, when `last_key`,
 * that its last key is `count` (keys dense from 1, of `key_size` bytes). */
static int database_count_check(start_check *c, troc__db db, uint64_t count, bool last_key, size_t key_size) {
    MDB_stat stat;
    int rc = mdb_stat(c->txn, c->ledger->dbs[db], &stat);
    if (rc != 0) return rc;
    if (stat.ms_entries != count) {
        return found(c, "database %s holds %zu records where the state counts %llu", troc__db_names[db],
                     stat.ms_entries, (unsigned long long)count);
    }
    if (!last_key || count == 0) return 0;
    MDB_cursor *cursor = NULL;
    if ((rc = mdb_cursor_open(c->txn, c->ledger->dbs[db], &cursor)) != 0) return rc;
    MDB_val key, value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
    uint64_t last = 0;
    if (rc == 0 && key.mv_size == 4 && key_size == 4) last = troc__be32_read(key.mv_data);
    if (rc == 0 && key.mv_size == 8 && key_size == 8) last = troc__be64_read(key.mv_data);
    mdb_cursor_close(cursor);
    if (rc != 0) return rc;
    if (last != count) {
        return found(c, "database %s ends at record %llu where the state counts %llu", troc__db_names[db],
                     (unsigned long long)last, (unsigned long long)count);
    }
    return 0;
}

/* The record counts of the databases against the state's. */
static int databases_check(start_check *c) {
    const troc__state *s = &c->state;
    uint64_t live = 2 * (s->invoices_pending + s->obligations_open); /* a key for each side */
    int rc = database_count_check(c, TROC__DB_MEMBERS, s->member_count, false, 0);
    if (rc == 0) rc = database_count_check(c, TROC__DB_BALANCES, s->member_count, true, 4);
    if (rc == 0) rc = database_count_check(c, TROC__DB_ACCOUNTS, s->member_count, true, 4);
    if (rc == 0) rc = database_count_check(c, TROC__DB_PROFILES, s->member_count, true, 4);
    if (rc == 0) rc = database_count_check(c, TROC__DB_POSTINGS, s->postings, true, 8);
    if (rc == 0) rc = database_count_check(c, TROC__DB_ROUNDS, s->clearing_runs, true, 8);
    if (rc == 0) rc = database_count_check(c, TROC__DB_OBLIGATIONS, s->obligations_open, false, 0);
    if (rc == 0) rc = database_count_check(c, TROC__DB_LIVE_INVOICES, live, false, 0);
    if (rc != 0) return rc;
    MDB_stat invoices;
    if ((rc = mdb_stat(c->txn, c->ledger->dbs[TROC__DB_INVOICES], &invoices)) != 0) return rc;
    if (invoices.ms_entries < s->invoices_pending + s->obligations_open) {
        return found(c, "database invoices holds fewer records than the state's live invoices");
    }
    return database_count_check(c, TROC__DB_MEMBER_INVOICES, 2 * (uint64_t)invoices.ms_entries, false, 0);
}

/* One side of the last posting: it is its member's last line. */
static int leg_check(start_check *c, const troc__leg *leg) {
    uint8_t key_bytes[4];
    troc__member_id_key(leg->member_id, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    troc__account_record record;
    int rc = leg->member_id >= 1 && leg->member_id <= c->state.member_count
                 ? mdb_get(c->txn, c->ledger->dbs[TROC__DB_BALANCES], &key, &value)
                 : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND || (rc == 0 && troc__balance_decode(&value, &record) != 0)) {
        return found(c, "the last posting names member %u, who has no balance record", leg->member_id);
    }
    if (rc != 0) return rc;
    if (record.last_posting != c->state.postings || record.line_count != leg->line_seq ||
        record.balance_cents != leg->balance_after_cents) {
        char name[TROC_NAME_LENGTH_MAX + 1] = "?";
        troc__member_name(c->txn, c->ledger, leg->member_id, name);
        char stored[TROC_AMOUNT_TEXT_SIZE], after[TROC_AMOUNT_TEXT_SIZE];
        return found(c, "account of %s: balance %s at line %llu, but its last posting left %s at line %llu", name,
                     troc_amount_format(record.balance_cents, stored), (unsigned long long)record.line_count,
                     troc_amount_format(leg->balance_after_cents, after), (unsigned long long)leg->line_seq);
    }
    return 0;
}

/* The last posting against the balances of its two members. */
static int last_posting_check(start_check *c) {
    if (c->state.postings == 0) return 0;
    uint8_t key_bytes[8];
    troc__seq_key(c->state.postings, key_bytes);
    MDB_val key = {sizeof key_bytes, key_bytes}, value;
    int rc = mdb_get(c->txn, c->ledger->dbs[TROC__DB_POSTINGS], &key, &value);
    troc__posting posting;
    if (rc == MDB_NOTFOUND || (rc == 0 && troc__posting_decode(&value, &posting) != 0)) {
        return found(c, "posting %llu, the last, is missing or malformed", (unsigned long long)c->state.postings);
    }
    if (rc != 0) return rc;
    if (posting.journal_seq < 2 || posting.journal_seq > c->head.seq) {
        return found(c, "posting %llu names journal entry %llu, which is not in the journal",
                     (unsigned long long)c->state.postings, (unsigned long long)posting.journal_seq);
    }
    rc = leg_check(c, &posting.legs[0]);
    return rc == 0 ? leg_check(c, &posting.legs[1]) : rc;
}

int troc__ledger_start_check(const troc_ledger *ledger, char *problem, size_t problem_size) {
    assert(ledger != NULL && ledger->env != NULL);
    assert(problem != NULL && problem_size > 0);
    problem[0] = '\0';
    start_check c = {.ledger = ledger, .problem = problem, .problem_size = problem_size};
    int rc = mdb_txn_begin(ledger->env, NULL, MDB_RDONLY, &c.txn);
    if (rc != 0) return rc;
    rc = state_load(&c);
    if (rc == 0) rc = state_check(&c);
    if (rc == 0) rc = journal_tail_check(&c);
    if (rc == 0) rc = journal_first_check(&c);
    if (rc == 0) rc = databases_check(&c);
    if (rc == 0) rc = last_posting_check(&c);
    mdb_txn_abort(c.txn);
    assert(rc != TROC_ECORRUPT || problem[0] != '\0');
    return rc;
}
