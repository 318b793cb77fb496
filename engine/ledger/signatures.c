/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verify's signature pass: every journal entry's signature, checked on
 * several threads before the replay walks the journal in order.
 *
 * Checking signatures is nearly all of verify's work (about 95 % of its
 * CPU on a ledger of transfers), and each check depends on nothing but its
 * entry, so the journal is cut into chunks that the threads take in turns, each in a read transaction of its own
 * (the environment is opened with MDB_NOTLS).  The pass answers one
 * number: the lowest entry whose signature does not verify, whatever the
 * threads and their timing.  The replay, which walks the journal in order,
 * reports that entry when it reaches it, so that a broken chain or a
 * malformed record before it is still reported first.
 *
 * The pass judges signatures only: an entry it cannot read, or of a kind
 * that has no signing domain, is left to the ordered walk, which reports
 * it in its place.
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "ledger_int.h"

/* Entries a thread takes at a time: some 15 ms of checks, so taking one
 * costs nothing in comparison and the threads finish close together. */
#define CHUNK_ENTRIES 256u

typedef struct signature_pass {
    troc_ledger *ledger;
    const uint8_t *territory_id;
    uint64_t last_seq;
    atomic_uint_fast64_t next_seq;  /* the first entry of the next chunk to take */
    atomic_uint_fast64_t checked;   /* entries checked so far, for progress */
    atomic_uint_fast64_t first_bad; /* the lowest entry found bad; UINT64_MAX when none */
    atomic_int error;               /* a read transaction that could not begin */
    troc_verify_progress_fn *progress;
    void *progress_context;
} signature_pass;

bool troc__domain_of_kind(uint8_t kind, troc_domain *domain) {
    switch (kind) {
    case TROC__V1__ENVELOPE_KIND__KIND_TRANSFER: *domain = TROC_DOMAIN_TRANSFER; return true;
    case TROC__V1__ENVELOPE_KIND__KIND_BATCH: *domain = TROC_DOMAIN_BATCH; return true;
    case TROC__V1__ENVELOPE_KIND__KIND_ADMIN: *domain = TROC_DOMAIN_ADMIN; return true;
    case TROC__V1__ENVELOPE_KIND__KIND_INVOICE: *domain = TROC_DOMAIN_INVOICE; return true;
    case TROC__V1__ENVELOPE_KIND__KIND_NODE: *domain = TROC_DOMAIN_NODE; return true;
    default: return false;
    }
}

static void first_bad_lower(signature_pass *pass, uint64_t seq) {
    uint_fast64_t known = atomic_load(&pass->first_bad);
    while (seq < known && !atomic_compare_exchange_weak(&pass->first_bad, &known, seq)) {
    }
}

/* Checks entries [first, end) in `txn`. */
static void chunk_check(signature_pass *pass, MDB_txn *txn, uint64_t first, uint64_t end) {
    for (uint64_t seq = first; seq < end; seq++) {
        troc_journal_entry entry;
        troc_domain domain;
        if (troc_journal_get(&pass->ledger->journal, txn, seq, &entry) != 0) continue;
        if (!troc__domain_of_kind(entry.kind, &domain)) continue;
        if (!troc_verify(entry.signer, domain, pass->territory_id, entry.body, entry.body_size, entry.signature)) {
            first_bad_lower(pass, seq);
            return; /* nothing later in this chunk can be the first */
        }
    }
}

/* Takes chunks in turns until none is left, or none can hold an entry
 * lower than the first bad one found.  `reports`: this thread calls the
 * progress function (only one does, so that its lines never interleave). */
static void pass_run(signature_pass *pass, bool reports) {
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(pass->ledger->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        atomic_store(&pass->error, rc);
        return;
    }
    for (;;) {
        uint64_t first = atomic_fetch_add(&pass->next_seq, CHUNK_ENTRIES);
        if (first > pass->last_seq || first >= atomic_load(&pass->first_bad)) break;
        uint64_t end = pass->last_seq - first < CHUNK_ENTRIES ? pass->last_seq + 1 : first + CHUNK_ENTRIES;
        chunk_check(pass, txn, first, end);
        uint64_t checked = atomic_fetch_add(&pass->checked, end - first) + (end - first);
        if (reports && pass->progress != NULL) {
            pass->progress(pass->progress_context, "checking signatures", checked, pass->last_seq);
        }
    }
    mdb_txn_abort(txn);
}

static void *pass_thread(void *context) {
    pass_run(context, false);
    return NULL;
}

static unsigned threads_choose(unsigned asked, uint64_t last_seq) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = asked != 0 ? asked : online > 0 ? (unsigned)online : 1;
    if (threads > TROC_VERIFY_THREADS_MAX) threads = TROC_VERIFY_THREADS_MAX;
    uint64_t chunks = last_seq / CHUNK_ENTRIES + 1;
    return chunks < threads ? (unsigned)chunks : threads;
}

int troc__signatures_check(troc_ledger *ledger, const uint8_t territory_id[TROC_PUBLIC_KEY_SIZE], uint64_t last_seq,
                           unsigned threads, uint64_t *first_bad_out, troc_verify_progress_fn *progress,
                           void *progress_context) {
    assert(ledger != NULL && territory_id != NULL && first_bad_out != NULL);
    signature_pass pass = {.ledger = ledger, .territory_id = territory_id, .last_seq = last_seq,
                           .progress = progress, .progress_context = progress_context};
    atomic_init(&pass.next_seq, 1);
    atomic_init(&pass.checked, 0);
    atomic_init(&pass.first_bad, UINT64_MAX);
    atomic_init(&pass.error, 0);
    threads = threads_choose(threads, last_seq);
    pthread_t helpers[TROC_VERIFY_THREADS_MAX];
    unsigned started = 0;
    while (started + 1 < threads && pthread_create(&helpers[started], NULL, pass_thread, &pass) == 0) started++;
    pass_run(&pass, true); /* this thread too; fewer helpers if some could not start */
    for (unsigned i = 0; i < started; i++) pthread_join(helpers[i], NULL);
    uint64_t first_bad = atomic_load(&pass.first_bad);
    *first_bad_out = first_bad == UINT64_MAX ? 0 : first_bad;
    return atomic_load(&pass.error);
}
