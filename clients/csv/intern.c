/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An intern table: open addressing with linear probing over a power-of-two
 * array of slots, kept at most half full.  A slot holds a string's 32-bit
 * hash and its entry's index plus one (0 is an empty slot), so that a probe
 * compares hashes without leaving the slot array and growing it rehashes
 * nothing.  The entries, in order of first appearance, hold each string of
 * up to INLINE_MAX bytes themselves (firm names mostly are: "firm12345", a
 * SIREN), and locate a longer one in an arena where the table keeps its
 * own copy: lookups then compare against a few compact megabytes rather
 * than against text scattered over the whole input file, which is what
 * made them slow (a cache miss each), and a short string without reading
 * a third place, the arena, after its slot and its entry.
 *
 * The hash reads the string eight bytes at a time and mixes each word with a
 * multiply and a shift (the finaliser of MurmurHash3's 64-bit variant ends
 * it), which spreads names that differ in one digit ("firm12", "firm13")
 * over the whole table.  It is not keyed: the inputs are the user's own
 * files, not an adversary's.
 */
#include "intern.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/hash.h"
#include "base/large.h"
#include "base/limits.h"

/* Slots of a new table at least; a power of two. */
#define SLOTS_MIN 16u

/* Strings whose slots troc_intern_add_many() fetches together: enough loads
 * in flight to hide most of the memory's latency. */
#define PREFETCH_GROUP 32

/* Bytes of a new table's text arena at least. */
#define ARENA_SIZE_MIN 256u

typedef struct slot {
    uint32_t hash;  /* troc_intern_hash() of the entry's text, truncated */
    uint32_t entry; /* entry index + 1, or 0 when the slot is empty */
} slot;

/* Strings of up to this many bytes are held in their entry. */
#define INLINE_MAX 12u

typedef struct entry {
    uint32_t length; /* bytes */
    union {
        char text[INLINE_MAX]; /* length <= INLINE_MAX: the string, zero-padded */
        struct {
            uint32_t offset; /* first byte of the string in the arena */
            char head[8];    /* its first bytes */
        } far;               /* longer strings */
    };
} entry;

struct troc_intern {
    slot *slots;        /* slot_mask + 1 slots */
    uint32_t slot_mask; /* slot count - 1 */
    uint32_t count;     /* entries in use */
    uint32_t capacity;  /* entries allocated */
    entry *entries;     /* in order of first appearance */
    char *arena;        /* the texts, one after another */
    size_t arena_used;  /* bytes in use */
    size_t arena_size;  /* bytes allocated, at most UINT32_MAX */
};

static inline uint64_t load8(const char *bytes) {
    uint64_t word;
    memcpy(&word, bytes, sizeof word);
    return word;
}

static inline uint32_t load4(const char *bytes) {
    uint32_t word;
    memcpy(&word, bytes, sizeof word);
    return word;
}

uint32_t troc_intern_hash(const char *text, size_t length) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)length;
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        h = (h ^ load8(text + i)) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    /* The last 0 to 7 bytes, by hand: a memcpy() of variable length is a
     * call, which costs more than the whole hash of a short name. */
    uint64_t tail = 0;
    for (size_t shift = 0; i < length; i++, shift += 8) tail |= (uint64_t)(unsigned char)text[i] << shift;
    return (uint32_t)troc_hash_mix64(h ^ tail);
}

/* Whether a and b, both of `length` bytes, are equal, for a length of
 * INLINE_MAX or less: two loads each that cover every byte between them
 * (a call to memcmp() costs more than the whole comparison). */
static inline bool short_equal(const char *a, const char *b, size_t length) {
    if (length >= 8) return load8(a) == load8(b) && load4(a + length - 4) == load4(b + length - 4);
    if (length >= 4) return load4(a) == load4(b) && load4(a + length - 4) == load4(b + length - 4);
    for (size_t i = 0; i < length; i++) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

/* Whether entry e holds `text`. */
static inline bool entry_holds(const troc_intern *intern, const entry *e, const char *text, size_t length) {
    if (e->length != length) return false;
    if (length <= INLINE_MAX) return short_equal(e->text, text, length);
    return load8(e->far.head) == load8(text) &&
           memcmp(intern->arena + e->far.offset + 8, text + 8, length - 8) == 0;
}

/* The slot holding `text`, or the empty slot where it would go. */
static uint32_t probe(const troc_intern *intern, const char *text, size_t length, uint32_t hash) {
    uint32_t index = hash & intern->slot_mask;
    for (uint32_t step = 0; step <= intern->slot_mask; step++) {
        const slot *s = &intern->slots[index];
        if (s->entry == 0) return index;
        if (s->hash == hash && entry_holds(intern, &intern->entries[s->entry - 1], text, length)) return index;
        index = (index + 1) & intern->slot_mask;
    }
    assert(!"an intern table is never full");
    return 0;
}

/* Doubles the slots and puts every entry back, by its stored hash. */
static int grow_slots(troc_intern *intern) {
    uint32_t slot_count = (intern->slot_mask + 1) * 2;
    slot *slots = troc_large_calloc(slot_count, sizeof *slots);
    if (slots == NULL) return -ENOMEM;
    uint32_t mask = slot_count - 1;
    for (uint32_t i = 0; i <= intern->slot_mask; i++) {
        slot held = intern->slots[i];
        if (held.entry == 0) continue;
        uint32_t index = held.hash & mask;
        while (slots[index].entry != 0) index = (index + 1) & mask;
        slots[index] = held;
    }
    free(intern->slots);
    intern->slots = slots;
    intern->slot_mask = mask;
    return 0;
}

static int grow_entries(troc_intern *intern) {
    uint32_t capacity = intern->capacity * 2;
    if (capacity > TROC_INTERN_COUNT_MAX) capacity = TROC_INTERN_COUNT_MAX;
    entry *entries = troc_large_realloc(intern->entries, (size_t)intern->count * sizeof *entries, (size_t)capacity * sizeof *entries);
    if (entries == NULL) return -ENOMEM;
    intern->entries = entries;
    intern->capacity = capacity;
    return 0;
}

/* Makes room for `length` more bytes of text. */
static int reserve_arena(troc_intern *intern, size_t length) {
    if (length > UINT32_MAX - intern->arena_used) return TROC_ELIMIT;
    if (intern->arena_used + length <= intern->arena_size) return 0;
    size_t size = intern->arena_size * 2;
    while (size < intern->arena_used + length) size *= 2;
    if (size > UINT32_MAX) size = UINT32_MAX;
    char *arena = troc_large_realloc(intern->arena, intern->arena_used, size);
    if (arena == NULL) return -ENOMEM;
    intern->arena = arena;
    intern->arena_size = size;
    return 0;
}

int troc_intern_create(size_t expected_count, troc_intern **intern_out) {
    assert(intern_out != NULL);
    if (expected_count > TROC_INTERN_COUNT_MAX) expected_count = TROC_INTERN_COUNT_MAX;
    if (expected_count < SLOTS_MIN / 2) expected_count = SLOTS_MIN / 2;
    uint32_t slot_count = SLOTS_MIN;
    while (slot_count / 2 < expected_count) slot_count *= 2;
    troc_intern *intern = calloc(1, sizeof *intern);
    if (intern == NULL) return -ENOMEM;
    intern->slots = troc_large_calloc(slot_count, sizeof *intern->slots);
    intern->entries = troc_large_malloc(expected_count * sizeof *intern->entries);
    intern->arena_size = ARENA_SIZE_MIN;
    intern->arena = troc_large_malloc(intern->arena_size);
    if (intern->slots == NULL || intern->entries == NULL || intern->arena == NULL) {
        troc_intern_destroy(intern);
        return -ENOMEM;
    }
    intern->slot_mask = slot_count - 1;
    intern->capacity = (uint32_t)expected_count;
    *intern_out = intern;
    return 0;
}

void troc_intern_destroy(troc_intern *intern) {
    if (intern == NULL) return;
    free(intern->slots);
    free(intern->entries);
    free(intern->arena);
    free(intern);
}

static int add_hashed(troc_intern *intern, const char *text, size_t length, uint32_t hash, uint32_t *index_out,
                      bool *added_out) {
    assert(intern != NULL && (text != NULL || length == 0));
    assert(index_out != NULL && added_out != NULL);
    uint32_t index = probe(intern, text, length, hash);
    if (intern->slots[index].entry != 0) {
        *index_out = intern->slots[index].entry - 1;
        *added_out = false;
        return 0;
    }
    if (intern->count == TROC_INTERN_COUNT_MAX) return TROC_ELIMIT;
    int rc = length > INLINE_MAX ? reserve_arena(intern, length) : 0;
    if (rc != 0) return rc;
    if (intern->count == intern->capacity && grow_entries(intern) != 0) return -ENOMEM;
    if ((intern->count + 1) * 2 > intern->slot_mask + 1) {
        if (grow_slots(intern) != 0) return -ENOMEM;
        index = probe(intern, text, length, hash);
    }
    uint32_t added = intern->count++;
    entry *e = &intern->entries[added];
    *e = (entry){.length = (uint32_t)length};
    if (length <= INLINE_MAX) {
        if (length > 0) memcpy(e->text, text, length);
    } else {
        e->far.offset = (uint32_t)intern->arena_used;
        memcpy(e->far.head, text, sizeof e->far.head);
        memcpy(intern->arena + intern->arena_used, text, length);
        intern->arena_used += length;
    }
    intern->slots[index] = (slot){.hash = hash, .entry = added + 1};
    *index_out = added;
    *added_out = true;
    return 0;
}

int troc_intern_add(troc_intern *intern, const char *text, size_t length, uint32_t *index_out, bool *added_out) {
    return add_hashed(intern, text, length, troc_intern_hash(text, length), index_out, added_out);
}

int troc_intern_add_many(troc_intern *intern, size_t count, const char *const *texts, const uint32_t *lengths,
                         uint32_t *indices_out, bool *added_out) {
    assert(intern != NULL && (count == 0 || (texts != NULL && lengths != NULL)));
    assert(count == 0 || indices_out != NULL);
    for (size_t first = 0; first < count; first += PREFETCH_GROUP) {
        size_t n = count - first < PREFETCH_GROUP ? count - first : PREFETCH_GROUP;
        uint32_t hashes[PREFETCH_GROUP];
        for (size_t i = 0; i < n; i++) hashes[i] = troc_intern_hash(texts[first + i], lengths[first + i]);
        int rc = troc_intern_add_many_hashed(intern, n, texts + first, lengths + first, hashes, indices_out + first,
                                             added_out != NULL ? added_out + first : NULL);
        if (rc != 0) return rc;
    }
    return 0;
}

int troc_intern_add_many_hashed(troc_intern *intern, size_t count, const char *const *texts,
                                const uint32_t *lengths, const uint32_t *all_hashes, uint32_t *indices_out,
                                bool *added_out) {
    assert(intern != NULL && (count == 0 || (texts != NULL && lengths != NULL && all_hashes != NULL)));
    assert(count == 0 || indices_out != NULL);
    for (size_t first = 0; first < count; first += PREFETCH_GROUP) {
        size_t n = count - first < PREFETCH_GROUP ? count - first : PREFETCH_GROUP;
        const uint32_t *hashes = all_hashes + first;
        for (size_t i = 0; i < n; i++) __builtin_prefetch(&intern->slots[hashes[i] & intern->slot_mask]);
        for (size_t i = 0; i < n; i++) {
            const slot *s = &intern->slots[hashes[i] & intern->slot_mask];
            if (s->entry != 0 && s->hash == hashes[i]) __builtin_prefetch(&intern->entries[s->entry - 1]);
        }
        for (size_t i = 0; i < n; i++) {
            const slot *s = &intern->slots[hashes[i] & intern->slot_mask];
            if (s->entry == 0 || s->hash != hashes[i]) continue;
            const entry *e = &intern->entries[s->entry - 1];
            if (e->length > INLINE_MAX) __builtin_prefetch(intern->arena + e->far.offset);
        }
        for (size_t i = 0; i < n; i++) {
            bool added = false;
            int rc = add_hashed(intern, texts[first + i], lengths[first + i], hashes[i], &indices_out[first + i], &added);
            if (rc != 0) return rc;
            if (added_out != NULL) added_out[first + i] = added;
        }
    }
    return 0;
}

uint32_t troc_intern_count(const troc_intern *intern) {
    assert(intern != NULL);
    return intern->count;
}

const char *troc_intern_text(const troc_intern *intern, uint32_t index, size_t *length_out) {
    assert(intern != NULL && index < intern->count);
    assert(length_out != NULL);
    const entry *e = &intern->entries[index];
    *length_out = e->length;
    return e->length <= INLINE_MAX ? e->text : intern->arena + e->far.offset;
}
