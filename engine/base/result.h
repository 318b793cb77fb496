/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ledger result codes: the answer to one submitted item (a transfer, an admin
 * action, an invoice action).  A refusal is not an error; it is a result, and
 * each cause has its own code so that a client can act on it.
 *
 * Each entry is (NAME, value, lower-case name for the CLI and JSON, text).
 * Values are explicit and never renumbered: they are mirrored one to one in
 * proto/troc.proto (enum ResultCode, same names prefixed RESULT_) and stored
 * in the ledger for idempotent replies.  New codes are appended.
 */
#ifndef TROC_RESULT_H
#define TROC_RESULT_H

#define TROC_RESULT_MAP(XX)                                                           \
    XX(OK, 0, "ok", "accepted")                                                                     \
    XX(ID_REUSED, 1, "id_reused", "this id was already used with a different body")                 \
    XX(MALFORMED, 2, "malformed", "the item cannot be decoded or misses a field")                   \
    XX(BAD_SIGNATURE, 3, "bad_signature", "the signature does not verify")                          \
    XX(UNKNOWN_KEY, 4, "unknown_key", "the signing key is not an active key (never registered, or revoked)") \
    XX(KEY_NOT_OWNED, 5, "key_not_owned", "the signing key belongs to another member")              \
    XX(NOT_ADMIN, 6, "not_admin", "the action needs an admin key")                                  \
    XX(INVALID_NAME, 7, "invalid_name", "illegal name (use 1 to 64 of a-z 0-9 . _ -)")              \
    XX(INVALID_TEXT, 8, "invalid_text", "text is not valid UTF-8, or holds control or bidirectional control characters") \
    XX(MEMO_TOO_LONG, 9, "memo_too_long", "memo too long")                                          \
    XX(UNKNOWN_PAYER, 10, "unknown_payer", "unknown payer")                                         \
    XX(UNKNOWN_PAYEE, 11, "unknown_payee", "unknown payee")                                         \
    XX(SAME_ACCOUNT, 12, "same_account", "both parties are the same account")                       \
    XX(AMOUNT_NOT_POSITIVE, 13, "amount_not_positive", "amount must be positive")                   \
    XX(AMOUNT_TOO_LARGE, 14, "amount_too_large", "amount beyond the largest allowed")               \
    XX(PAYER_FROZEN, 15, "payer_frozen", "payer's account is frozen")                               \
    XX(PAYEE_FROZEN, 16, "payee_frozen", "payee's account is frozen")                               \
    XX(EXCEEDS_CREDIT_LIMIT, 17, "exceeds_credit_limit", "payment would take the payer below its credit limit") \
    XX(EXCEEDS_BALANCE_MAX, 18, "exceeds_balance_max", "payment would take the payee above its balance maximum") \
    XX(BALANCE_OVERFLOW, 19, "balance_overflow", "a balance or the territory's total debt would overflow") \
    XX(MEMBER_EXISTS, 20, "member_exists", "a member with this name exists")                        \
    XX(UNKNOWN_MEMBER, 21, "unknown_member", "unknown member")                                      \
    XX(KEY_IN_USE, 22, "key_in_use", "this key is already registered")                              \
    XX(KEY_NOT_FOUND, 23, "key_not_found", "this key is not one of the member's active keys")              \
    XX(LAST_KEY, 24, "last_key", "a member must keep at least one key")                             \
    XX(TOO_MANY_KEYS, 25, "too_many_keys", "the member holds the maximum number of keys")           \
    XX(REASON_REQUIRED, 26, "reason_required", "a reason is required, one that shows more than spaces") \
    XX(REASON_TOO_LONG, 27, "reason_too_long", "reason too long")                                   \
    XX(INVALID_LIMIT, 28, "invalid_limit", "a credit limit or balance maximum must be zero or positive") \
    XX(ALREADY_FROZEN, 29, "already_frozen", "the account is already frozen")                       \
    XX(NOT_FROZEN, 30, "not_frozen", "the account is not frozen")                                   \
    XX(BATCH_TOO_LARGE, 31, "batch_too_large", "too many items in one batch")                       \
    XX(WRONG_TERRITORY, 32, "wrong_territory", "reserved: an item for another territory is bad_signature") \
    XX(UNKNOWN_INVOICE, 33, "unknown_invoice", "unknown invoice")                                   \
    XX(NOT_DEBTOR, 34, "not_debtor", "only the invoice's debtor may do this")                       \
    XX(NOT_CREDITOR, 35, "not_creditor", "only the invoice's creditor may do this")                 \
    XX(INVOICE_NOT_PENDING, 36, "invoice_not_pending", "the invoice is no longer waiting for acceptance") \
    XX(INVOICE_NOT_OPEN, 37, "invoice_not_open", "the invoice is not an open obligation")           \
    XX(EXCEEDS_OBLIGATION, 38, "exceeds_obligation", "payment larger than what remains owed")       \
    XX(REF_TOO_LONG, 39, "ref_too_long", "invoice reference too long")                              \
    XX(INVALID_DATE, 40, "invalid_date", "not a date (YYYY-MM-DD)")                                 \
    XX(STORAGE_FULL, 41, "storage_full", "the ledger's storage is full; the batch was not applied") \
    XX(UNAVAILABLE, 42, "unavailable", "the ledger cannot apply items now")                         \
    XX(NOTHING_CHANGED, 43, "nothing_changed", "the new limits equal the current ones")             \
    XX(OBLIGATIONS_FULL, 44, "obligations_full",                                                   \
       "the territory holds as many open obligations as a clearing round can take; "    \
       "pay or clear some first")

typedef enum troc_result {
#define TROC_RESULT_ENUM(name, value, lower, text) TROC_RESULT_##name = (value),
    TROC_RESULT_MAP(TROC_RESULT_ENUM)
#undef TROC_RESULT_ENUM
} troc_result;

/* Lower-case name as printed by the command line and in JSON
 * ("exceeds_credit_limit"); "unknown" for a value not in the map. */
const char *troc_result_name(int result);

/* One-line human explanation; never NULL. */
const char *troc_result_text(int result);

#endif /* TROC_RESULT_H */
