/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The member directory: every member's name and id in the writer's memory,
 * so that the write path finds a payee by name with one hash probe instead
 * of a B-tree search in "members" (and the name of a member id without
 * reading its profile).
 *
 * It is loaded from the "members" database when a writable ledger opens
 * and kept in step by the write path alone: a member admitted in a write
 * transaction is added at once (the transaction's own later items find
 * it), and removed again if that transaction aborts.  Only the writer
 * admits members and only one write transaction runs at a time, so the
 * directory is exactly the committed members plus those of the open
 * transaction; read transactions on other threads never use it.
 *
 * Memory: about 130 bytes per member plus its name (an entry with one key,
 * the cached account record, two index cells), some 150 MB for the
 * TROC_MEMBERS_MAX members a ledger may hold; loading reads "members" and
 * "keys" once.
 *
 * Layout.  Member ids are dense (1 .. count), so entries are an array
 * indexed by id; names lie one after another in one buffer (no NUL).  The
 * name index is open addressing with linear probing over member ids (0:
 * empty), at most half full, keyed by FNV-1a of the name: names are
 * chosen by administrators, not by whoever submits a transfer.
 *
 * Removal happens only for the newest members, newest first (an aborted
 * transaction's admissions), and then simply empties the member's cell:
 * with linear probing, a key inserted before it never probed through that
 * cell (it was empty then), and every key inserted after it was removed
 * already.  Rebuilding the index when it grows reinserts in id order,
 * which keeps that property.
 *
 * Each entry also holds one active key of its member (the first found
 * at load, or the key it was admitted with), so that the common transfer,
 * signed with that key, is authorised without a B-tree search in "keys".
 * Keys are never given to another holder; a revoked key is forgotten at
 * once, and a member whose key was forgotten is authorised by the lookup.
 *
 * Each entry also carries what the write cache (write.c) keeps of its
 * member: the member's slot in the current transaction, which counts only
 * while its epoch is the cache's (so that a new transaction forgets every
 * slot without clearing anything), and the member's account record as
 * last committed, once a commit has written or read it (so that a
 * transaction finds it without a B-tree search).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

/* Index cells before the first growth; doubled whenever the index would
 * pass half full. */
#define INDEX_SIZE_MIN 1024u

_Static_assert((INDEX_SIZE_MIN & (INDEX_SIZE_MIN - 1u)) == 0, "the index size is a power of two");
_Static_assert(2ull * TROC_MEMBERS_MAX <= UINT32_MAX, "index cells are counted in 32 bits");
_Static_assert((unsigned long long)TROC_MEMBERS_MAX * TROC_NAME_LENGTH_MAX <= UINT32_MAX,
               "name offsets are 32-bit");

uint32_t troc__name_hash(const char *name, size_t length) {
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < length; i++) hash = (hash ^ (uint8_t)name[i]) * 16777619u;
    return hash;
}

static bool entry_named(const troc__directory *directory, uint32_t member_id, const char *name, size_t length) {
    const troc__member_entry *entry = &directory->entries[member_id];
    return entry->name_length == length && memcmp(directory->names + entry->name_offset, name, length) == 0;
}

/* The cell holding `member_id` (which must be indexed). */
static uint32_t cell_of(const troc__directory *directory, uint32_t member_id) {
    const troc__member_entry *entry = &directory->entries[member_id];
    uint32_t mask = directory->index_size - 1u;
    uint32_t cell = troc__name_hash(directory->names + entry->name_offset, entry->name_length) & mask;
    /* Bounded: the member is in the index, at most index_size cells away. */
    for (uint32_t probe = 0; probe < directory->index_size; probe++, cell = (cell + 1u) & mask) {
        if (directory->index[cell] == member_id) return cell;
    }
    assert(!"a member of the directory is missing from its index");
    return 0;
}

static void index_insert(troc__directory *directory, uint32_t member_id) {
    const troc__member_entry *entry = &directory->entries[member_id];
    uint32_t mask = directory->index_size - 1u;
    uint32_t cell = troc__name_hash(directory->names + entry->name_offset, entry->name_length) & mask;
    /* Bounded: the index is at most half full, so an empty cell is near. */
    for (uint32_t probe = 0; probe < directory->index_size; probe++, cell = (cell + 1u) & mask) {
        if (directory->index[cell] == 0) {
            directory->index[cell] = member_id;
            return;
        }
    }
    assert(!"the directory's index is full");
}

/* Makes room in the index for `count` members (rebuilding it larger). */
static int index_reserve(troc__directory *directory, uint32_t count) {
    if (directory->index != NULL && 2ull * count <= directory->index_size) return 0;
    uint32_t size = directory->index_size > 0 ? directory->index_size : INDEX_SIZE_MIN;
    while (2ull * count > size) size *= 2u;
    uint32_t *index = calloc(size, sizeof *index);
    if (index == NULL) return -ENOMEM;
    free(directory->index);
    directory->index = index;
    directory->index_size = size;
    for (uint32_t id = 1; id <= directory->count; id++) index_insert(directory, id);
    return 0;
}

/* Makes room for entry `member_id` and `name_length` more name bytes. */
static int storage_reserve(troc__directory *directory, uint32_t member_id, size_t name_length) {
    if (member_id >= directory->entry_capacity) {
        size_t capacity = directory->entry_capacity > 0 ? directory->entry_capacity : 256;
        while (capacity <= member_id) capacity *= 2;
        troc__member_entry *entries = realloc(directory->entries, capacity * sizeof *entries);
        if (entries == NULL) return -ENOMEM;
        memset(entries + directory->entry_capacity, 0, (capacity - directory->entry_capacity) * sizeof *entries);
        directory->entries = entries;
        troc__account_record *accounts = realloc(directory->accounts, capacity * sizeof *accounts);
        if (accounts == NULL) return -ENOMEM;
        directory->accounts = accounts;
        directory->entry_capacity = capacity;
    }
    if (directory->names_size + name_length > directory->names_capacity) {
        size_t capacity = directory->names_capacity > 0 ? directory->names_capacity : 4096;
        while (capacity < directory->names_size + name_length) capacity *= 2;
        char *names = realloc(directory->names, capacity);
        if (names == NULL) return -ENOMEM;
        directory->names = names;
        directory->names_capacity = capacity;
    }
    return 0;
}

uint32_t troc__directory_find(const troc__directory *directory, const char *name, size_t length) {
    assert(directory != NULL && name != NULL);
    if (directory->count == 0 || length == 0 || length > TROC_NAME_LENGTH_MAX) return 0;
    uint32_t mask = directory->index_size - 1u;
    uint32_t cell = troc__name_hash(name, length) & mask;
    /* Bounded: the index is at most half full, so an empty cell is near. */
    for (uint32_t probe = 0; probe < directory->index_size; probe++, cell = (cell + 1u) & mask) {
        uint32_t member_id = directory->index[cell];
        if (member_id == 0) return 0;
        if (entry_named(directory, member_id, name, length)) return member_id;
    }
    return 0;
}

const char *troc__directory_name(const troc__directory *directory, uint32_t member_id, size_t *length_out) {
    assert(directory != NULL && length_out != NULL);
    assert(member_id >= 1 && member_id <= directory->count);
    const troc__member_entry *entry = &directory->entries[member_id];
    *length_out = entry->name_length;
    return directory->names + entry->name_offset;
}

int troc__directory_add(troc__directory *directory, uint32_t member_id, const char *name, size_t length) {
    assert(directory != NULL && name != NULL);
    assert(member_id == directory->count + 1 && length >= 1 && length <= TROC_NAME_LENGTH_MAX);
    assert(troc__directory_find(directory, name, length) == 0);
    int rc = storage_reserve(directory, member_id, length);
    if (rc == 0) rc = index_reserve(directory, member_id);
    if (rc != 0) return rc;
    troc__member_entry *entry = &directory->entries[member_id];
    *entry = (troc__member_entry){.name_offset = (uint32_t)directory->names_size, .name_length = (uint8_t)length};
    memcpy(directory->names + directory->names_size, name, length);
    directory->names_size += length;
    directory->count = member_id;
    index_insert(directory, member_id);
    return 0;
}

void troc__directory_truncate(troc__directory *directory, uint32_t count) {
    assert(directory != NULL && count <= directory->count);
    /* Bounded by the members admitted since: newest first (see above). */
    while (directory->count > count) {
        uint32_t member_id = directory->count;
        directory->index[cell_of(directory, member_id)] = 0;
        directory->names_size = directory->entries[member_id].name_offset;
        directory->entries[member_id] = (troc__member_entry){0};
        directory->count--;
    }
}

/* Adds one record of "members" (name -> id) read at load. */
static int load_one(troc__directory *directory, const MDB_val *key, const MDB_val *value, uint32_t member_count) {
    if (key->mv_size < 1 || key->mv_size > TROC_NAME_LENGTH_MAX || value->mv_size != 4) return TROC_ECORRUPT;
    uint32_t member_id = troc__be32_read(value->mv_data);
    if (member_id < 1 || member_id > member_count || directory->entries[member_id].name_length != 0) {
        return TROC_ECORRUPT;
    }
    if (directory->names_size + key->mv_size > directory->names_capacity) {
        int rc = storage_reserve(directory, member_id, key->mv_size);
        if (rc != 0) return rc;
    }
    directory->entries[member_id] = (troc__member_entry){.name_offset = (uint32_t)directory->names_size,
                                                         .name_length = (uint8_t)key->mv_size};
    memcpy(directory->names + directory->names_size, key->mv_data, key->mv_size);
    directory->names_size += key->mv_size;
    return 0;
}

bool troc__directory_key_is(const troc__directory *directory, uint32_t member_id,
                            const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    assert(directory != NULL && public_key != NULL);
    assert(member_id >= 1 && member_id <= directory->count);
    const troc__member_entry *entry = &directory->entries[member_id];
    return entry->has_key && memcmp(entry->key, public_key, TROC_PUBLIC_KEY_SIZE) == 0;
}

void troc__directory_key_set(troc__directory *directory, uint32_t member_id,
                             const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    assert(directory != NULL && public_key != NULL);
    assert(member_id >= 1 && member_id <= directory->count);
    troc__member_entry *entry = &directory->entries[member_id];
    memcpy(entry->key, public_key, TROC_PUBLIC_KEY_SIZE);
    entry->has_key = true;
}

void troc__directory_key_forget(troc__directory *directory, uint32_t member_id,
                                const uint8_t public_key[TROC_PUBLIC_KEY_SIZE]) {
    assert(directory != NULL && public_key != NULL);
    assert(member_id >= 1 && member_id <= directory->count);
    if (troc__directory_key_is(directory, member_id, public_key)) directory->entries[member_id].has_key = false;
}

/* Gives each member without one the first active key of "keys" it holds. */
static int keys_load(troc__directory *directory, MDB_txn *txn, MDB_dbi keys) {
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, keys, &cursor);
    if (rc != 0) return rc;
    MDB_val key, value;
    int step = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    /* Bounded: each step advances the cursor. */
    while (step == 0 && rc == 0) {
        troc__key_owner owner;
        rc = key.mv_size == TROC_PUBLIC_KEY_SIZE ? troc__key_owner_decode(&value, &owner) : TROC_ECORRUPT;
        bool member = rc == 0 && owner.owner != TROC__OWNER_ADMIN && !(owner.flags & TROC__KEY_REVOKED);
        if (member && owner.owner > directory->count) rc = TROC_ECORRUPT;
        else if (member && !directory->entries[owner.owner].has_key) {
            troc__directory_key_set(directory, owner.owner, key.mv_data);
        }
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc == 0 && step != MDB_NOTFOUND) rc = step;
    return rc;
}

int troc__directory_load(troc__directory *directory, MDB_txn *txn, MDB_dbi members, MDB_dbi keys,
                         uint32_t member_count) {
    assert(directory != NULL && txn != NULL && directory->count == 0);
    if (member_count > TROC_MEMBERS_MAX) return TROC_ECORRUPT;
    int rc = storage_reserve(directory, member_count, 0);
    if (rc != 0) return rc;
    MDB_cursor *cursor = NULL;
    if ((rc = mdb_cursor_open(txn, members, &cursor)) != 0) return rc;
    MDB_val key, value;
    uint32_t loaded = 0;
    int step = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    /* Bounded: each step advances the cursor; more than member_count
     * records would reuse an id, which load_one refuses. */
    while (step == 0 && rc == 0) {
        rc = load_one(directory, &key, &value, member_count);
        loaded++;
        step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc != 0) return rc;
    if (step != MDB_NOTFOUND) return step;
    if (loaded != member_count) return TROC_ECORRUPT;
    directory->count = member_count;
    rc = index_reserve(directory, member_count);
    return rc == 0 ? keys_load(directory, txn, keys) : rc;
}

void troc__directory_free(troc__directory *directory) {
    if (directory == NULL) return;
    free(directory->entries);
    free(directory->accounts);
    free(directory->names);
    free(directory->index);
    memset(directory, 0, sizeof *directory);
}
