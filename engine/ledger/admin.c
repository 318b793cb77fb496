/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Administrators' actions, each signed by an admin key registered at init
 * (a member's key gets NOT_ADMIN, an unknown or revoked one UNKNOWN_KEY):
 * admitting a member with its first key and limits, adding and revoking
 * member keys, setting limits with a reason, freezing and unfreezing with a
 * reason; and asking for a clearing round (recorded; the server runs it).
 * Each is idempotent by its 16-byte id and journaled; the journal
 * entry's signer and timestamp are the who and when of the action, and the
 * limit history (database "limits") keeps them with the reason for reading.
 *
 * Rules:
 * - a key belongs to one holder only, ever: a key registered to anyone
 *   (an admin, a member, even revoked) cannot be added again (KEY_IN_USE);
 * - a member keeps at least one active key (LAST_KEY) and at most
 *   TROC_MEMBER_KEYS_MAX (TOO_MANY_KEYS);
 * - limits are zero or positive, at most TROC_AMOUNT_CENTS_MAX; lowering
 *   one below the current balance is allowed and blocks further debits (or
 *   credits, for balance_max) until the balance is back within it;
 * - setting limits equal to the current ones is NOTHING_CHANGED.
 * Every handler validates everything before it writes anything.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/result.h"
#include "base/text.h"
#include "ledger_int.h"

/* What every handler receives. */
typedef struct action {
    troc_ledger_write *write;
    const uint8_t *admin_key;              /* the signer */
    int code;                              /* result code of the action */
} action;

static bool key_present(protobuf_c_boolean has, ProtobufCBinaryData key) {
    return has && key.len == TROC_PUBLIC_KEY_SIZE && key.data != NULL;
}

/* A key to register: present, and one that can verify a signature (a key
 * that never could, such as all zeros, would leave its member unable to
 * act, its name taken for good).  Ledgers written before this check may
 * hold such keys: a replay takes them as they were. */
static bool key_registrable(const action *a, protobuf_c_boolean has, ProtobufCBinaryData key) {
    return key_present(has, key) && (a->write->ledger->replaying || troc_public_key_usable(key.data));
}

/* Finds the member `name`; sets the action's code when it cannot. */
static int member_find(action *a, const char *name, troc__slot **slot_out) {
    size_t length = name != NULL ? strnlen(name, TROC_NAME_LENGTH_MAX + 1) : 0;
    *slot_out = NULL;
    if (name == NULL) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    if (!troc_name_valid(name, length)) {
        a->code = TROC_RESULT_INVALID_NAME;
        return 0;
    }
    int rc = troc__cache_reserve(a->write, 1);
    if (rc == 0) rc = troc__slot_by_name(a->write, name, length, slot_out);
    if (rc == TROC_ENOT_FOUND) {
        a->code = TROC_RESULT_UNKNOWN_MEMBER;
        return 0;
    }
    return rc;
}

static int limit_check(protobuf_c_boolean has, int64_t cents) {
    return has && (cents < 0 || cents > TROC_AMOUNT_CENTS_MAX) ? TROC_RESULT_INVALID_LIMIT : TROC_RESULT_OK;
}

/* Records a limit change of `slot`'s member (its current limits). */
static int limit_history_put(action *a, const troc__slot *slot, const char *reason) {
    troc_ledger_write *write = a->write;
    troc__limit_record record = {
        .timestamp_us = write->timestamp_us,
        .credit_limit_cents = slot->current.credit_limit_cents,
        .balance_max_cents = slot->current.balance_max_cents,
        .has_balance_max = (slot->current.flags & TROC__ACCOUNT_HAS_BALANCE_MAX) != 0,
        .reason = reason,
        .reason_length = strlen(reason),
    };
    memcpy(record.admin_key, a->admin_key, TROC_PUBLIC_KEY_SIZE);
    uint8_t key[12], value[TROC__LIMIT_RECORD_HEADER_SIZE + TROC_REASON_LENGTH_MAX];
    troc__member_seq_key(slot->member_id, write->head.seq + 1, key);
    troc__limit_encode(&record, value);
    return troc__put(write, TROC__DB_LIMITS, key, sizeof key, value, troc__limit_size(&record), 0);
}

/* Registers `public_key` to `member_id` (keys and member_keys). */
static int key_register(troc_ledger_write *write, uint32_t member_id, const uint8_t *public_key) {
    uint8_t owner[TROC__KEY_OWNER_SIZE], member_key[36], record[TROC__MEMBER_KEY_RECORD_SIZE];
    troc__key_owner_encode(&(troc__key_owner){.owner = member_id, .flags = 0}, owner);
    int rc = troc__put(write, TROC__DB_KEYS, public_key, TROC_PUBLIC_KEY_SIZE, owner, sizeof owner, 0);
    if (rc != 0) return rc;
    troc__member_pubkey_key(member_id, public_key, member_key);
    troc__member_key_encode(&(troc__member_key_record){.added_us = write->timestamp_us, .revoked_us = 0}, record);
    return troc__put(write, TROC__DB_MEMBER_KEYS, member_key, sizeof member_key, record, sizeof record, 0);
}

/* KEY_IN_USE when `public_key` was ever registered; 0 or a storage error. */
static int key_unused(action *a, const uint8_t *public_key) {
    troc__key_owner owner;
    int rc = troc__key_owner_get(a->write->txn, a->write->ledger, public_key, &owner);
    if (rc == TROC_ENOT_FOUND) return 0;
    if (rc == 0) a->code = TROC_RESULT_KEY_IN_USE;
    return rc;
}

/* Writes the new member's name, profile, key and admission limits. */
static int member_create(action *a, const char *name, size_t length, const uint8_t *public_key,
                         const troc__account_record *record) {
    troc_ledger_write *write = a->write;
    uint32_t member_id = ++write->state.member_count;
    uint8_t id_bytes[4], profile_bytes[TROC__PROFILE_SIZE_MAX];
    troc__member_id_key(member_id, id_bytes);
    int rc = troc__put(write, TROC__DB_MEMBERS, name, length, id_bytes, sizeof id_bytes, MDB_NOOVERWRITE);
    assert(rc != MDB_KEYEXIST);
    troc__profile profile = {.frozen_us = 0};
    memcpy(profile.name, name, length);
    profile.name[length] = '\0';
    size_t profile_size = troc__profile_encode(&profile, profile_bytes);
    if (rc == 0) rc = troc__put(write, TROC__DB_PROFILES, id_bytes, sizeof id_bytes, profile_bytes, profile_size, 0);
    if (rc == 0) rc = key_register(write, member_id, public_key);
    if (rc != 0) return rc;
    troc__slot *slot = NULL;
    if ((rc = troc__slot_admit(write, member_id, name, length, &slot)) != 0) return rc;
    troc__directory_key_set(&write->ledger->members, member_id, public_key);
    slot->current = *record;
    slot->dirty = true;
    return limit_history_put(a, slot, TROC__ADMISSION_REASON);
}

static int member_add(action *a, const Troc__V1__MemberAdd *m) {
    if (m == NULL || m->name == NULL || !key_registrable(a, m->has_public_key, m->public_key)) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    size_t length = strnlen(m->name, TROC_NAME_LENGTH_MAX + 1);
    if (!troc_name_valid(m->name, length)) a->code = TROC_RESULT_INVALID_NAME;
    if (a->code == TROC_RESULT_OK) a->code = limit_check(m->has_credit_limit_cents, m->credit_limit_cents);
    if (a->code == TROC_RESULT_OK) a->code = limit_check(m->has_balance_max_cents, m->balance_max_cents);
    if (a->code == TROC_RESULT_OK && a->write->state.member_count >= TROC_MEMBERS_MAX) {
        a->code = TROC_RESULT_UNAVAILABLE;
    }
    if (a->code != TROC_RESULT_OK) return 0;
    troc__slot *existing = NULL;
    int rc = troc__cache_reserve(a->write, 1);
    if (rc == 0) rc = troc__slot_by_name(a->write, m->name, length, &existing);
    if (rc == 0) a->code = TROC_RESULT_MEMBER_EXISTS;
    if (rc != TROC_ENOT_FOUND) return rc;
    if ((rc = key_unused(a, m->public_key.data)) != 0 || a->code != TROC_RESULT_OK) return rc;
    troc__account_record record = {
        .credit_limit_cents = m->has_credit_limit_cents ? m->credit_limit_cents : 0,
        .balance_max_cents = m->has_balance_max_cents ? m->balance_max_cents : 0,
        .admitted_us = a->write->timestamp_us,
        .flags = m->has_balance_max_cents ? TROC__ACCOUNT_HAS_BALANCE_MAX : 0,
        .active_key_count = 1,
        .key_record_count = 1,
    };
    return member_create(a, m->name, length, m->public_key.data, &record);
}

static int key_add(action *a, const Troc__V1__MemberKey *k) {
    if (k == NULL || !key_registrable(a, k->has_public_key, k->public_key)) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    troc__slot *slot = NULL;
    int rc = member_find(a, k->name, &slot);
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    if ((rc = key_unused(a, k->public_key.data)) != 0 || a->code != TROC_RESULT_OK) return rc;
    if (slot->current.active_key_count >= TROC_MEMBER_KEYS_MAX ||
        slot->current.key_record_count >= TROC_MEMBER_KEY_RECORDS_MAX) {
        a->code = TROC_RESULT_TOO_MANY_KEYS;
        return 0;
    }
    slot->current.active_key_count++;
    slot->current.key_record_count++;
    slot->dirty = true;
    return key_register(a->write, slot->member_id, k->public_key.data);
}

static int key_revoke(action *a, const Troc__V1__MemberKey *k) {
    if (k == NULL || !key_present(k->has_public_key, k->public_key)) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    troc__slot *slot = NULL;
    int rc = member_find(a, k->name, &slot);
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    troc__key_owner owner;
    rc = troc__key_owner_get(a->write->txn, a->write->ledger, k->public_key.data, &owner);
    if (rc != 0 && rc != TROC_ENOT_FOUND) return troc__write_fail(a->write, rc);
    if (rc == TROC_ENOT_FOUND || owner.owner != slot->member_id || (owner.flags & TROC__KEY_REVOKED)) {
        a->code = TROC_RESULT_KEY_NOT_FOUND;
        return 0;
    }
    if (slot->current.active_key_count <= 1) {
        a->code = TROC_RESULT_LAST_KEY;
        return 0;
    }
    uint8_t owner_bytes[TROC__KEY_OWNER_SIZE], member_key[36], record[TROC__MEMBER_KEY_RECORD_SIZE];
    troc__key_owner_encode(&(troc__key_owner){.owner = slot->member_id, .flags = TROC__KEY_REVOKED}, owner_bytes);
    rc = troc__put(a->write, TROC__DB_KEYS, k->public_key.data, TROC_PUBLIC_KEY_SIZE, owner_bytes,
                   sizeof owner_bytes, 0);
    if (rc != 0) return rc;
    troc__member_pubkey_key(slot->member_id, k->public_key.data, member_key);
    MDB_val key = {sizeof member_key, member_key}, value;
    troc__member_key_record stored;
    rc = mdb_get(a->write->txn, a->write->ledger->dbs[TROC__DB_MEMBER_KEYS], &key, &value);
    if (rc == 0) rc = troc__member_key_decode(&value, &stored);
    if (rc != 0) return troc__write_fail(a->write, rc == MDB_NOTFOUND ? TROC_ECORRUPT : rc);
    stored.revoked_us = a->write->timestamp_us;
    troc__member_key_encode(&stored, record);
    troc__directory_key_forget(&a->write->ledger->members, slot->member_id, k->public_key.data);
    slot->current.active_key_count--;
    slot->dirty = true;
    return troc__put(a->write, TROC__DB_MEMBER_KEYS, member_key, sizeof member_key, record, sizeof record, 0);
}

static int limit_set(action *a, const Troc__V1__LimitSet *l) {
    bool remove_max = l != NULL && l->has_remove_balance_max && l->remove_balance_max;
    if (l == NULL || (!l->has_credit_limit_cents && !l->has_balance_max_cents && !remove_max) ||
        (l->has_balance_max_cents && remove_max)) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    a->code = limit_check(l->has_credit_limit_cents, l->credit_limit_cents);
    if (a->code == TROC_RESULT_OK) a->code = limit_check(l->has_balance_max_cents, l->balance_max_cents);
    if (a->code == TROC_RESULT_OK) a->code = troc__reason_check(a->write, l->reason);
    troc__slot *slot = NULL;
    int rc = a->code == TROC_RESULT_OK ? member_find(a, l->name, &slot) : 0;
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    troc__account_record next = slot->current;
    if (l->has_credit_limit_cents) next.credit_limit_cents = l->credit_limit_cents;
    if (l->has_balance_max_cents) {
        next.balance_max_cents = l->balance_max_cents;
        next.flags |= TROC__ACCOUNT_HAS_BALANCE_MAX;
    }
    if (remove_max) {
        next.balance_max_cents = 0;
        next.flags &= ~TROC__ACCOUNT_HAS_BALANCE_MAX;
    }
    if (next.credit_limit_cents == slot->current.credit_limit_cents &&
        next.balance_max_cents == slot->current.balance_max_cents && next.flags == slot->current.flags) {
        a->code = TROC_RESULT_NOTHING_CHANGED;
        return 0;
    }
    slot->current = next;
    slot->dirty = true;
    return limit_history_put(a, slot, l->reason);
}

/* Freezes (`freeze`) or unfreezes an account, recording the reason. */
static int freeze_set(action *a, const Troc__V1__Freeze *f, bool freeze) {
    if (f == NULL) {
        a->code = TROC_RESULT_MALFORMED;
        return 0;
    }
    a->code = troc__reason_check(a->write, f->reason);
    troc__slot *slot = NULL;
    int rc = a->code == TROC_RESULT_OK ? member_find(a, f->name, &slot) : 0;
    if (rc != 0 || a->code != TROC_RESULT_OK) return rc;
    bool frozen = (slot->current.flags & TROC__ACCOUNT_FROZEN) != 0;
    if (frozen == freeze) {
        a->code = freeze ? TROC_RESULT_ALREADY_FROZEN : TROC_RESULT_NOT_FROZEN;
        return 0;
    }
    troc__profile profile = {.frozen_us = freeze ? a->write->timestamp_us : 0};
    size_t name_length = 0;
    const char *name = troc__directory_name(&a->write->ledger->members, slot->member_id, &name_length);
    memcpy(profile.name, name, name_length);
    profile.name[name_length] = '\0';
    if (freeze) {
        memcpy(profile.frozen_by, a->admin_key, TROC_PUBLIC_KEY_SIZE);
        snprintf(profile.freeze_reason, sizeof profile.freeze_reason, "%s", f->reason);
    }
    uint8_t key[4], value[TROC__PROFILE_SIZE_MAX];
    troc__member_id_key(slot->member_id, key);
    size_t size = troc__profile_encode(&profile, value);
    slot->current.flags ^= TROC__ACCOUNT_FROZEN;
    slot->dirty = true;
    return troc__put(a->write, TROC__DB_PROFILES, key, sizeof key, value, size, 0);
}

/* Runs the action's handler. */
static int action_dispatch(action *a, const Troc__V1__AdminAction *body) {
    switch (body->action_case) {
    case TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD: return member_add(a, body->member_add);
    case TROC__V1__ADMIN_ACTION__ACTION_KEY_ADD: return key_add(a, body->key_add);
    case TROC__V1__ADMIN_ACTION__ACTION_KEY_REVOKE: return key_revoke(a, body->key_revoke);
    case TROC__V1__ADMIN_ACTION__ACTION_LIMIT_SET: return limit_set(a, body->limit_set);
    case TROC__V1__ADMIN_ACTION__ACTION_FREEZE: return freeze_set(a, body->freeze, true);
    case TROC__V1__ADMIN_ACTION__ACTION_UNFREEZE: return freeze_set(a, body->unfreeze, false);
    case TROC__V1__ADMIN_ACTION__ACTION_CLEARING_RUN:
        /* A request, journaled as such: the server runs the round and
         * applies it with requested_by naming this action. */
        if (body->clearing_run == NULL) a->code = TROC_RESULT_MALFORMED;
        return 0;
    default: a->code = TROC_RESULT_MALFORMED; return 0;
    }
}

/* Is the signer an admin?  Sets the action's code when not. */
static int admin_check(action *a) {
    troc__key_owner owner;
    int rc = troc__key_owner_get(a->write->txn, a->write->ledger, a->admin_key, &owner);
    if (rc == TROC_ENOT_FOUND || (rc == 0 && (owner.flags & TROC__KEY_REVOKED))) {
        a->code = TROC_RESULT_UNKNOWN_KEY;
        return 0;
    }
    if (rc != 0) return troc__write_fail(a->write, rc);
    if (owner.owner != TROC__OWNER_ADMIN) a->code = TROC_RESULT_NOT_ADMIN;
    return 0;
}

int troc__action_open(troc_ledger_write *write, const troc_item *item, bool well_formed, const uint8_t *id,
                      troc_item_result *result) {
    assert(write != NULL && item != NULL && result != NULL);
    assert(!well_formed || id != NULL);
    if (!well_formed) {
        result->code = TROC_RESULT_MALFORMED;
        return 1;
    }
    if (!item->signature_valid) {
        result->code = TROC_RESULT_BAD_SIGNATURE;
        return 1;
    }
    troc__id_record existing;
    int rc = troc__ids_get(write->txn, write->ledger, id, &existing);
    if (rc == 0) {
        rc = troc__ids_answer(write, &existing, &(troc__id_match){.item = item}, result);
        return rc != 0 ? rc : 1;
    }
    if (rc != TROC_ENOT_FOUND) return troc__write_fail(write, rc);
    return 0;
}

/* Journals an accepted action and remembers its id. */
int troc__action_record(troc_ledger_write *write, const troc_item *item, const uint8_t id[TROC_ID_SIZE],
                        troc_item_result *result) {
    int rc = troc__write_journal(write, item);
    if (rc != 0) return rc;
    troc__id_record record = {.journal_seq = write->head.seq, .kind = (uint8_t)item->kind, .code = TROC_RESULT_OK};
    uint8_t value[TROC__ID_RECORD_HEADER_SIZE];
    troc__id_record_encode(&record, value);
    rc = troc__put(write, TROC__DB_IDS, id, TROC_ID_SIZE, value, sizeof value, MDB_NOOVERWRITE);
    assert(rc != MDB_KEYEXIST && "the action's id was free when it began");
    if (rc != 0) return rc;
    result->code = TROC_RESULT_OK;
    result->journal_seq = write->head.seq;
    result->timestamp_us = write->timestamp_us;
    return 0;
}

int troc__apply_admin(troc_ledger_write *write, const troc_item *item, troc_item_result *result) {
    const Troc__V1__AdminAction *body = item->decoded.admin;
    bool well_formed = body != NULL && body->has_id && body->id.len == TROC_ID_SIZE &&
                       body->action_case != TROC__V1__ADMIN_ACTION__ACTION__NOT_SET;
    int rc = troc__action_open(write, item, well_formed, well_formed ? body->id.data : NULL, result);
    if (rc != 0) return rc > 0 ? 0 : rc;
    action a = {.write = write, .admin_key = item->signer, .code = TROC_RESULT_OK};
    if ((rc = admin_check(&a)) != 0) return rc;
    if (a.code == TROC_RESULT_OK && (rc = action_dispatch(&a, body)) != 0) return rc;
    if (a.code != TROC_RESULT_OK) {
        result->code = a.code;
        return 0;
    }
    return troc__action_record(write, item, body->id.data, result);
}
