/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The birth of a territory's ledger: `trocd init` creates the data
 * directory, the territory's key pair and the LMDB environment, then writes
 * the first journal entry, a NodeEvent{init} (territory name, territory key,
 * unit, admin keys) signed by the territory key in the NODE domain.
 *
 * The state that entry implies (meta records, admin keys) is written by
 * troc__ledger_apply_init(), which replay also uses to start its scratch
 * ledger, so that even the first state is a fold of the journal.  A failed
 * init removes what it created: a directory is either a whole ledger or
 * left as it was found.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/error.h"
#include "base/text.h"
#include "journal/byteorder.h"
#include "ledger_int.h"

/* Encoded size bound of a NodeEvent{init}: 16 admin keys of 34 bytes,
 * name, key, unit and framing. */
#define INIT_BODY_SIZE_MAX 1024

_Static_assert(TROC_ADMIN_KEYS_MAX * (TROC_PUBLIC_KEY_SIZE + 2) + TROC_NAME_LENGTH_MAX + TROC_UNIT_LENGTH_MAX +
                       TROC_PUBLIC_KEY_SIZE + 16 <=
                   INIT_BODY_SIZE_MAX,
               "an init event fits its buffer");

/* A new territory's unit, or (`journaled`) one read back from an existing
 * ledger, held to the rule it was written under (C1 controls were accepted
 * once). */
static bool unit_valid(const char *unit, size_t length, bool journaled) {
    if (length == 0 || length > TROC_UNIT_LENGTH_MAX) return false;
    if (!(journaled ? troc_text_valid_with_c1(unit, length) : troc_text_valid(unit, length))) return false;
    return memchr(unit, ' ', length) == NULL && memchr(unit, '\t', length) == NULL;
}

/* Checks the territory's init event body; fills nothing. */
static int init_event_check(const Troc__V1__TerritoryInit *init, const uint8_t *signer) {
    if (init == NULL || init->territory == NULL || init->unit == NULL) return TROC_ECORRUPT;
    if (!troc_name_valid(init->territory, strlen(init->territory))) return TROC_ECORRUPT;
    if (!unit_valid(init->unit, strlen(init->unit), true)) return TROC_ECORRUPT;
    if (!init->has_territory_key || init->territory_key.len != TROC_PUBLIC_KEY_SIZE) return TROC_ECORRUPT;
    if (memcmp(init->territory_key.data, signer, TROC_PUBLIC_KEY_SIZE) != 0) return TROC_ECORRUPT;
    if (init->n_admin_keys < 1 || init->n_admin_keys > TROC_ADMIN_KEYS_MAX) return TROC_ECORRUPT;
    for (size_t i = 0; i < init->n_admin_keys; i++) {
        if (init->admin_keys[i].len != TROC_PUBLIC_KEY_SIZE) return TROC_ECORRUPT;
    }
    return 0;
}

static int meta_put(troc_ledger_write *write, const char *name, const void *value, size_t size) {
    return troc__put(write, TROC__DB_META, name, strlen(name), value, size, 0);
}

/* Writes the meta records and admin keys an init event names. */
static int init_event_store(troc_ledger_write *write, const Troc__V1__TerritoryInit *init) {
    troc_ledger *ledger = write->ledger;
    uint8_t format[4];
    troc__be32_write(format, TROC__FORMAT_VERSION);
    int rc = meta_put(write, "format", format, sizeof format);
    if (rc == 0) rc = meta_put(write, "territory", init->territory, strlen(init->territory));
    if (rc == 0) rc = meta_put(write, "unit", init->unit, strlen(init->unit));
    if (rc == 0) rc = meta_put(write, "territory_key", init->territory_key.data, TROC_PUBLIC_KEY_SIZE);
    uint8_t owner[TROC__KEY_OWNER_SIZE];
    troc__key_owner_encode(&(troc__key_owner){.owner = TROC__OWNER_ADMIN, .flags = 0}, owner);
    for (size_t i = 0; i < init->n_admin_keys && rc == 0; i++) {
        rc = troc__put(write, TROC__DB_KEYS, init->admin_keys[i].data, TROC_PUBLIC_KEY_SIZE, owner, sizeof owner,
                       MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) rc = TROC_ECORRUPT; /* the same admin key twice */
    }
    if (rc != 0) return rc;
    snprintf(ledger->territory, sizeof ledger->territory, "%s", init->territory);
    snprintf(ledger->unit, sizeof ledger->unit, "%s", init->unit);
    memcpy(ledger->territory_key, init->territory_key.data, TROC_PUBLIC_KEY_SIZE);
    return 0;
}

int troc__ledger_apply_init(troc_ledger_write *write, const troc_journal_entry *entry) {
    assert(write != NULL && entry != NULL);
    assert(write->ledger->writing);
    if (write->head.seq != 0 || entry->kind != TROC__V1__ENVELOPE_KIND__KIND_NODE) return TROC_ECORRUPT;
    Troc__V1__NodeEvent *event = troc__v1__node_event__unpack(NULL, entry->body_size, entry->body);
    if (event == NULL) return TROC_ECORRUPT;
    int rc = TROC_ECORRUPT;
    if (event->event_case == TROC__V1__NODE_EVENT__EVENT_INIT) rc = init_event_check(event->init, entry->signer);
    if (rc == 0) rc = init_event_store(write, event->init);
    troc__v1__node_event__free_unpacked(event, NULL);
    if (rc != 0) return rc;
    troc__write_set_time(write, entry->timestamp_us);
    troc_journal_entry first = *entry;
    first.timestamp_us = write->timestamp_us;
    rc = troc_journal_append(&write->ledger->journal, write->txn, &write->head, &first);
    if (rc != 0) return troc__write_fail(write, rc);
    write->changed = true;
    return 0;
}

/* Checks init options; TROC_ENAME, TROC_EUTF8 (unit), TROC_ELIMIT (admin
 * key count) or TROC_EUSAGE (an admin key given twice, or one that cannot
 * verify a signature). */
static int options_check(const troc_ledger_init_options *options) {
    if (options->territory == NULL || !troc_name_valid(options->territory, strlen(options->territory))) {
        return TROC_ENAME;
    }
    if (options->unit == NULL || !unit_valid(options->unit, strlen(options->unit), false)) return TROC_EUTF8;
    if (options->admin_key_count < 1 || options->admin_key_count > TROC_ADMIN_KEYS_MAX) return TROC_ELIMIT;
    for (size_t i = 0; i < options->admin_key_count; i++) {
        if (!troc_public_key_usable(options->admin_keys[i])) return TROC_EUSAGE;
        for (size_t j = 0; j < i; j++) {
            if (memcmp(options->admin_keys[i], options->admin_keys[j], TROC_PUBLIC_KEY_SIZE) == 0) return TROC_EUSAGE;
        }
    }
    return 0;
}

/* Creates `directory` or checks that it is empty. */
static int directory_prepare(const char *directory, bool *created_out) {
    *created_out = false;
    if (mkdir(directory, 0700) == 0) {
        *created_out = true;
        return 0;
    }
    if (errno != EEXIST) return -errno;
    DIR *dir = opendir(directory);
    if (dir == NULL) return -errno;
    int rc = 0;
    struct dirent *entry;
    /* Bounded: stops at the first entry that is not "." or "..". */
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) rc = TROC_ENOT_EMPTY;
    }
    closedir(dir);
    /* Made by someone else (a package, install -d) under their umask: the
     * ledger's directory is the daemon's alone, as one init makes it. */
    if (rc == 0 && chmod(directory, 0700) != 0) rc = -errno;
    return rc;
}

/* The files' contents are synced (the key file, LMDB's commit), but not
 * their names: a crash right after init could lose territory.key or
 * data.mdb on a file system that journals names apart.  So the directory
 * is synced, and its parent when init made it. */
static int names_sync(const char *directory, bool created) {
    int rc = troc__directory_sync(directory);
    if (rc != 0 || !created) return rc;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", directory);
    size_t length = strlen(parent);
    while (length > 1 && parent[length - 1] == '/') parent[--length] = '\0'; /* "a/b/" is in "a" */
    char *slash = strrchr(parent, '/');
    if (slash == NULL) return troc__directory_sync(".");
    slash[slash == parent ? 1 : 0] = '\0'; /* "/a": the root */
    return troc__directory_sync(parent);
}

/* Removes what a failed init created, once its key file made the
 * directory its own. */
static void directory_clean(const char *directory, bool created) {
    static const char *const files[] = {TROC__KEY_FILE, "data.mdb", "lock.mdb"};
    char path[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", directory, files[i]);
        unlink(path);
    }
    if (created) rmdir(directory);
}

/* Encodes and signs the init event; fills `entry` (body in `body`). */
static int init_entry_build(const troc_ledger_init_options *options, const troc_keypair *keypair,
                            uint8_t body[INIT_BODY_SIZE_MAX], uint8_t signature[TROC_SIGNATURE_SIZE],
                            troc_journal_entry *entry) {
    ProtobufCBinaryData admin_keys[TROC_ADMIN_KEYS_MAX];
    for (size_t i = 0; i < options->admin_key_count; i++) {
        admin_keys[i] = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)options->admin_keys[i]};
    }
    Troc__V1__TerritoryInit init = TROC__V1__TERRITORY_INIT__INIT;
    init.territory = (char *)options->territory;
    init.unit = (char *)options->unit;
    init.has_territory_key = 1;
    init.territory_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)keypair->public_key};
    init.n_admin_keys = options->admin_key_count;
    init.admin_keys = admin_keys;
    Troc__V1__NodeEvent event = TROC__V1__NODE_EVENT__INIT;
    event.event_case = TROC__V1__NODE_EVENT__EVENT_INIT;
    event.init = &init;
    size_t size = troc__v1__node_event__get_packed_size(&event);
    assert(size <= INIT_BODY_SIZE_MAX);
    troc__v1__node_event__pack(&event, body);
    int rc = troc_sign(keypair, TROC_DOMAIN_NODE, keypair->public_key, body, size, signature);
    if (rc != 0) return rc;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *entry = (troc_journal_entry){
        .timestamp_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000,
        .kind = TROC__V1__ENVELOPE_KIND__KIND_NODE,
        .signer = keypair->public_key,
        .signature = signature,
        .body = body,
        .body_size = size,
    };
    return 0;
}

/* Creates the environment and commits the init entry. */
static int ledger_create(const char *directory, const troc_journal_entry *entry) {
    troc_ledger *ledger = NULL;
    int rc = troc__ledger_open_env(&ledger, directory, 0, TROC__OPEN_CREATE);
    if (rc != 0) return rc;
    troc_ledger_write *write = NULL;
    rc = troc_ledger_write_begin(ledger, entry->timestamp_us, &write);
    if (rc == 0) {
        rc = troc__ledger_apply_init(write, entry);
        if (rc == 0) {
            rc = troc_ledger_write_commit(write);
        } else {
            troc_ledger_write_abort(write);
        }
    }
    troc_ledger_close(ledger);
    return rc;
}

int troc_ledger_init(const char *directory, const troc_ledger_init_options *options,
                     uint8_t territory_key_out[TROC_PUBLIC_KEY_SIZE]) {
    assert(directory != NULL && options != NULL && territory_key_out != NULL);
    int rc = options_check(options);
    if (rc != 0) return rc;
    if (strlen(directory) + sizeof "/territory.key" > PATH_MAX) return -ENAMETOOLONG;
    bool created = false;
    if ((rc = directory_prepare(directory, &created)) != 0) return rc;
    troc_keypair keypair;
    troc_keypair_generate(&keypair);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", directory, TROC__KEY_FILE);
    uint8_t body[INIT_BODY_SIZE_MAX], signature[TROC_SIGNATURE_SIZE];
    troc_journal_entry entry;
    /* The key file is created exclusively, so it says whose directory this
     * is: an init that finds one there (another init that passed the
     * emptiness check at the same time) leaves every file to its owner. */
    rc = troc_keyfile_write(path, &keypair);
    if (rc != 0) {
        sodium_memzero(&keypair, sizeof keypair);
        if (created) rmdir(directory); /* fails, harmlessly, if another init filled it */
        return rc == -EEXIST ? TROC_ENOT_EMPTY : rc;
    }
    rc = init_entry_build(options, &keypair, body, signature, &entry);
    if (rc == 0) rc = ledger_create(directory, &entry);
    if (rc == 0) rc = names_sync(directory, created);
    if (rc == 0) {
        memcpy(territory_key_out, keypair.public_key, TROC_PUBLIC_KEY_SIZE);
    } else {
        directory_clean(directory, created);
    }
    sodium_memzero(&keypair, sizeof keypair);
    return rc;
}
