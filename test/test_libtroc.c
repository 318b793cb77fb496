/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of libtroc that need no trocd:
 *   - troc.h's copies of the engine's codes and sizes match the engine;
 *   - the known-territories file: default path, parsing, pinning, refusals;
 *   - signed items: every kind decodes to what was asked and its signature
 *     verifies with troc_verify over the exact body bytes, for the right
 *     domain and territory only;
 *   - argument errors, refused before anything is sent;
 *   - the connection paths, against a scripted server thread on a Unix
 *     socket (the socket is the system boundary mocked here): handshake and
 *     pinning, a changed territory key refused before the client proves
 *     anything, results, pipelined replies out of order, a lost connection
 *     retried with the same envelope, pipelined replies received before the
 *     connection failed (to read or to write) handed over before each
 *     unanswered request is named as unknown, timeouts, busy, malformed
 *     frames and request-level refusals.
 *   - name lookups, failing as each test says through getaddrinfo wrapped
 *     at link time (the resolver is the system boundary there).
 *
 * troc.h is included first, so that its own definitions of the error and
 * result codes are the ones compiled here and compared with the engine's
 * names at run time.
 */
#include "troc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_int.h"
#include "net/handshake.h"

/* ------------------------------------------------------- name lookups */

/* What the next name lookups fail with (EAI_*); 0 passes them to the
 * system's resolver. */
static int getaddrinfo_error;

int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    if (getaddrinfo_error != 0) return getaddrinfo_error;
    return __real_getaddrinfo(node, service, hints, res);
}

/* ------------------------------------------------------------ fixture */

typedef struct fixture {
    char directory[64];       /* a fresh temporary directory per test */
    char known[128];          /* its known-territories file */
    uint8_t territory[TROC_PUBLIC_KEY_SIZE];
    troc_client *client;
} fixture;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state) {
    static fixture f;
    memset(&f, 0, sizeof f);
    strcpy(f.directory, "/tmp/troc-libtroc-XXXXXX");
    if (mkdtemp(f.directory) == NULL) return -1;
    snprintf(f.known, sizeof f.known, "%s/troc/known_territories", f.directory);
    if (troc_client_create(&f.client) != 0) return -1;
    troc_key *key = NULL;
    if (troc_key_generate(&key) != 0) return -1;
    troc_client_set_key(f.client, key);
    troc_key_free(key);
    troc_client_set_known_territories(f.client, f.known);
    for (size_t i = 0; i < sizeof f.territory; i++) f.territory[i] = (uint8_t)(i * 7 + 1);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    troc_client_free(f->client);
    return nftw(f->directory, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------ header copies */

static void test_header_codes_match_engine(void **state) {
    (void)state;
    assert_string_equal(troc_err_name(TROC_EAMOUNT), "TROC_EAMOUNT");
    assert_string_equal(troc_err_name(TROC_EHANDSHAKE), "TROC_EHANDSHAKE");
    assert_string_equal(troc_err_name(TROC_ESERVER_KEY), "TROC_ESERVER_KEY");
    /* The key may have been given by the caller, not pinned. */
    assert_non_null(strstr(troc_strerror(TROC_ESERVER_KEY), "expected"));
    assert_string_equal(troc_err_name(TROC_ECLOSED), "TROC_ECLOSED");
    assert_string_equal(troc_err_name(TROC_EUSAGE), "TROC_EUSAGE");
    assert_string_equal(troc_err_name(TROC_EBUSY), "TROC_EBUSY");
    assert_string_equal(troc_err_name(TROC_ETIMEOUT), "TROC_ETIMEOUT");
    assert_string_equal(troc_err_name(TROC_EDENIED), "TROC_EDENIED");
    assert_string_equal(troc_err_name(TROC_EUNAVAILABLE), "TROC_EUNAVAILABLE");
    assert_string_equal(troc_err_name(TROC_EINFEASIBLE), "TROC_EINFEASIBLE");
    assert_string_equal(troc_err_name(TROC_ENOT_OPTIMAL), "TROC_ENOT_OPTIMAL");
    assert_string_equal(troc_err_name(TROC_ESTALE), "TROC_ESTALE");
    assert_string_equal(troc_err_name(TROC_EFORMAT), "TROC_EFORMAT");
    assert_string_equal(troc_err_name(TROC_EKNOWN_TERRITORIES), "TROC_EKNOWN_TERRITORIES");
    assert_string_equal(troc_result_name(TROC_RESULT_OK), "ok");
    assert_string_equal(troc_result_name(TROC_RESULT_ID_REUSED), "id_reused");
    assert_string_equal(troc_result_name(TROC_RESULT_EXCEEDS_CREDIT_LIMIT), "exceeds_credit_limit");
    assert_string_equal(troc_result_name(TROC_RESULT_EXCEEDS_BALANCE_MAX), "exceeds_balance_max");
    assert_string_equal(troc_result_name(TROC_RESULT_PAYER_FROZEN), "payer_frozen");
    assert_string_equal(troc_result_name(TROC_RESULT_UNKNOWN_MEMBER), "unknown_member");
    assert_string_equal(troc_result_name(TROC_RESULT_OBLIGATIONS_FULL), "obligations_full");
    /* Every result value of the header has a name in the engine's map. */
    for (int code = TROC_RESULT_OK; code <= TROC_RESULT_OBLIGATIONS_FULL; code++) {
        assert_string_not_equal(troc_result_name(code), "unknown");
    }
    assert_int_equal(TROC_MEMBER_RECORD_KEYS_MAX >= TROC_MEMBER_KEYS_MAX, 1);
}

static void test_amounts_and_ids(void **state) {
    (void)state;
    int64_t cents = 0;
    assert_int_equal(troc_amount_parse("-120.5", 6, &cents), 0);
    assert_int_equal(cents, -12050);
    char text[TROC_AMOUNT_TEXT_SIZE];
    assert_string_equal(troc_amount_format(cents, text), "-120.50");
    uint8_t id[TROC_ID_SIZE], back[TROC_ID_SIZE];
    char hex[TROC_ID_HEX_SIZE];
    troc_id_generate(id);
    troc_id_to_hex(id, hex);
    assert_int_equal(strlen(hex), 32);
    assert_int_equal(troc_id_from_hex(hex, back), 0);
    assert_memory_equal(id, back, TROC_ID_SIZE);
    for (char *p = hex; *p != '\0'; p++) *p = (char)toupper((unsigned char)*p); /* either case is read */
    memset(back, 0, sizeof back);
    assert_int_equal(troc_id_from_hex(hex, back), 0);
    assert_memory_equal(id, back, TROC_ID_SIZE);
    assert_int_equal(troc_id_from_hex("abc", back), TROC_EHEX);
    assert_int_equal(troc_id_from_hex(NULL, back), TROC_EHEX);
    assert_true(troc_error_is_retryable(TROC_ECLOSED));
    assert_true(troc_error_is_retryable(-ECONNRESET));
    assert_false(troc_error_is_retryable(TROC_ESERVER_KEY));
    assert_false(troc_error_is_retryable(TROC_EDENIED));
}

/* ------------------------------------------------- known territories */

static void write_file(const char *path, const char *text) {
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void test_known_default_path(void **state) {
    (void)state;
    char *xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char path[256];
    int directories = 0;
    setenv("XDG_CONFIG_HOME", "/x/config", 1);
    assert_int_equal(troc__known_default_path(path, sizeof path, &directories), 0);
    assert_string_equal(path, "/x/config/troc/known_territories");
    assert_int_equal(directories, 2); /* troc/ and the configuration directory: its parent must exist */
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", "/home/ana", 1);
    assert_int_equal(troc__known_default_path(path, sizeof path, &directories), 0);
    assert_string_equal(path, "/home/ana/.config/troc/known_territories");
    assert_int_equal(directories, 2); /* .config/troc/: the home directory must exist */
    /* Without HOME (cron jobs, services), or with a relative one: the home
     * directory of the password database, when it names one (a container's
     * user may have no entry: then there is no default). */
    const struct passwd *user = getpwuid(getuid());
    bool listed = user != NULL && user->pw_dir != NULL && user->pw_dir[0] == '/';
    char expected[256] = "";
    if (listed) snprintf(expected, sizeof expected, "%s/.config/troc/known_territories", user->pw_dir);
    unsetenv("HOME");
    assert_int_equal(troc__known_default_path(path, sizeof path, &directories), listed ? 0 : -ENOENT);
    assert_string_equal(path, expected);
    setenv("HOME", "relative", 1);
    assert_int_equal(troc__known_default_path(path, sizeof path, &directories), listed ? 0 : -ENOENT);
    assert_string_equal(path, expected);
    setenv("HOME", "/home/ana", 1);
    char tiny[8];
    assert_int_equal(troc__known_default_path(tiny, sizeof tiny, &directories), -ENAMETOOLONG);
    if (xdg != NULL) setenv("XDG_CONFIG_HOME", xdg, 1);
    if (home != NULL) setenv("HOME", home, 1);
    free(xdg);
    free(home);
}

static void test_known_pin_and_lookup(void **state) {
    fixture *f = *state;
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    bool found = true;
    int line = -1;
    assert_int_equal(troc__known_lookup(f->known, "127.0.0.1:7400", key, &found, &line), 0);
    assert_false(found);
    assert_int_equal(troc__known_pin(f->known, 1, "127.0.0.1:7400", f->territory), 0);
    struct stat st;
    assert_int_equal(stat(f->known, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t other[TROC_PUBLIC_KEY_SIZE];
    memset(other, 0xab, sizeof other);
    assert_int_equal(troc__known_pin(f->known, 1, "/run/trocd.sock", other), 0);
    assert_int_equal(troc__known_lookup(f->known, "127.0.0.1:7400", key, &found, &line), 0);
    assert_true(found);
    assert_int_equal(line, 2); /* after the header comment */
    assert_memory_equal(key, f->territory, sizeof key);
    assert_int_equal(troc__known_lookup(f->known, "/run/trocd.sock", key, &found, &line), 0);
    assert_true(found);
    assert_int_equal(line, 3);
    assert_memory_equal(key, other, sizeof key);
    assert_int_equal(troc__known_lookup(f->known, "127.0.0.1:7401", key, &found, &line), 0);
    assert_false(found);
    assert_int_equal(troc__known_pin(f->known, 1, "has space", other), TROC_EUSAGE);
    /* A file edited by hand, its last line without a line end and with a
     * comment: a new pin starts a line of its own, and both are read. */
    char hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(other, hex);
    FILE *edited = fopen(f->known, "w");
    assert_non_null(edited);
    fprintf(edited, "10.0.0.1:7400 %s  # the office", hex);
    assert_int_equal(fclose(edited), 0);
    assert_int_equal(troc__known_pin(f->known, 1, "127.0.0.1:7402", f->territory), 0);
    assert_int_equal(troc__known_lookup(f->known, "10.0.0.1:7400", key, &found, &line), 0);
    assert_true(found);
    assert_int_equal(line, 1);
    assert_memory_equal(key, other, sizeof key);
    assert_int_equal(troc__known_lookup(f->known, "127.0.0.1:7402", key, &found, &line), 0);
    assert_true(found);
    assert_int_equal(line, 2);
    assert_memory_equal(key, f->territory, sizeof key);
}

/* Pinning creates the directories troc names (.config/troc under a home
 * directory), never the home directory itself nor anything above it. */
static void test_known_pin_creates_only_its_directories(void **state) {
    fixture *f = *state;
    char home[128], path[192];
    snprintf(home, sizeof home, "%s/home", f->directory);
    snprintf(path, sizeof path, "%s/.config/troc/known_territories", home);
    assert_int_equal(troc__known_pin(path, 2, "host:1", f->territory), -ENOENT);
    assert_int_equal(access(home, F_OK), -1); /* nothing created */
    assert_int_equal(mkdir(home, 0700), 0);
    assert_int_equal(troc__known_pin(path, 1, "host:1", f->territory), -ENOENT); /* .config/ is missing too */
    assert_int_equal(troc__known_pin(path, 2, "host:1", f->territory), 0);
    char config[160];
    snprintf(config, sizeof config, "%s/.config", home);
    struct stat st;
    assert_int_equal(stat(config, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* Both exist now: nothing more to create. */
    assert_int_equal(troc__known_pin(path, 0, "host:2", f->territory), 0);
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    bool found = false;
    int line = 0;
    assert_int_equal(troc__known_lookup(path, "host:2", key, &found, &line), 0);
    assert_true(found);
}

static void test_known_parsing(void **state) {
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/known", f->directory);
    char hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(f->territory, hex);
    char text[1024];
    /* Comments, blank lines, tabs, CRLF, upper-case hex; the first line wins. */
    snprintf(text, sizeof text, "# comment\n\n   \t\nhost:1\t  %s  \r\nhost:1 %064d\n", hex, 0);
    for (char *p = strstr(text, hex); p != NULL && *p != ' '; p++) *p = (char)(*p >= 'a' ? *p - 32 : *p);
    write_file(path, text);
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
    bool found = false;
    int line = 0;
    assert_int_equal(troc__known_lookup(path, "host:1", key, &found, &line), 0);
    assert_true(found);
    assert_int_equal(line, 4);
    assert_memory_equal(key, f->territory, sizeof key);

    char bad[4][600];
    int bad_lines[] = {1, 1, 1, 2};
    snprintf(bad[0], sizeof bad[0], "host:1\n");                         /* no key */
    snprintf(bad[1], sizeof bad[1], "host:1 abcd\n");                    /* short key */
    snprintf(bad[2], sizeof bad[2], "host:1 %s extra\n", hex);           /* a third field */
    snprintf(bad[3], sizeof bad[3], "ok:1 %s\nhost:1 %s%s\n", hex, hex, hex); /* a key too long, line 2 */
    for (size_t i = 0; i < 4; i++) {
        write_file(path, bad[i]);
        assert_int_equal(troc__known_lookup(path, "host:1", key, &found, &line), TROC_ECORRUPT);
        assert_int_equal(line, bad_lines[i]);
    }
    /* A line longer than any valid one. */
    char *long_line = malloc(4096);
    memset(long_line, 'a', 4095);
    long_line[4095] = '\0';
    write_file(path, long_line);
    free(long_line);
    assert_int_equal(troc__known_lookup(path, "host:1", key, &found, &line), TROC_ECORRUPT);
    /* A directory where the file should be cannot be read. */
    assert_int_equal(troc__known_lookup(f->directory, "host:1", key, &found, &line), -EISDIR);
    assert_true(troc__known_address_valid("[::1]:7400"));
    assert_false(troc__known_address_valid(""));
    assert_false(troc__known_address_valid("a#b"));
    assert_false(troc__known_address_valid("a\tb"));
}

/* ------------------------------------------------------- signed items */

/* Checks the envelope's signature over its exact body, and that it holds
 * for no other domain or territory. */
static void assert_signed(const troc_envelope *envelope, troc_domain domain, const uint8_t *territory,
                          const uint8_t *signer) {
    const Troc__V1__Envelope *message = &envelope->message;
    assert_true(message->has_body && message->body.len > 0);
    assert_int_equal(message->signer.len, TROC_PUBLIC_KEY_SIZE);
    assert_memory_equal(message->signer.data, signer, TROC_PUBLIC_KEY_SIZE);
    assert_true(troc_verify(signer, domain, territory, message->body.data, message->body.len,
                            message->signature.data));
    troc_domain other = domain == TROC_DOMAIN_TRANSFER ? TROC_DOMAIN_BATCH : TROC_DOMAIN_TRANSFER;
    assert_false(troc_verify(signer, other, territory, message->body.data, message->body.len,
                             message->signature.data));
    uint8_t elsewhere[TROC_PUBLIC_KEY_SIZE];
    memcpy(elsewhere, territory, sizeof elsewhere);
    elsewhere[0] ^= 1;
    assert_false(troc_verify(signer, domain, elsewhere, message->body.data, message->body.len,
                             message->signature.data));
}

static void test_sign_transfer(void **state) {
    fixture *f = *state;
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_transfer transfer = {.payer = "alice", .payee = "bob", .amount_cents = 12050, .memo = "bread"};
    /* No territory yet: nothing to sign for. */
    assert_int_equal(troc_sign_transfer(f->client, NULL, &transfer, envelope), TROC_EUSAGE);
    troc_client_set_server_key(f->client, f->territory);
    uint8_t id[TROC_ID_SIZE];
    memset(id, 0x42, sizeof id);
    transfer.id = id;
    assert_int_equal(troc_sign_transfer(f->client, NULL, &transfer, envelope), 0);
    assert_int_equal(envelope->message.kind, TROC__V1__ENVELOPE_KIND__KIND_TRANSFER);
    assert_signed(envelope, TROC_DOMAIN_TRANSFER, f->territory, f->client->keypair.public_key);
    Troc__V1__Transfer *body =
        troc__v1__transfer__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_non_null(body);
    assert_memory_equal(body->id.data, id, TROC_ID_SIZE);
    assert_string_equal(body->payer, "alice");
    assert_string_equal(body->payee, "bob");
    assert_int_equal(body->amount_cents, 12050);
    assert_string_equal(body->memo, "bread");
    assert_false(body->has_invoice_id);
    troc__v1__transfer__free_unpacked(body, NULL);
    uint8_t got[TROC_ID_SIZE];
    troc_envelope_id(envelope, got);
    assert_memory_equal(got, id, TROC_ID_SIZE);

    /* Another signer, a random id, an invoice paid. */
    troc_key *key = NULL;
    assert_int_equal(troc_key_generate(&key), 0);
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(key, public_key);
    uint8_t invoice[TROC_ID_SIZE];
    memset(invoice, 0x17, sizeof invoice);
    troc_transfer second = {.payer = "carol", .payee = "bob", .amount_cents = 1, .invoice_id = invoice};
    assert_int_equal(troc_sign_transfer(f->client, key, &second, envelope), 0);
    assert_signed(envelope, TROC_DOMAIN_TRANSFER, f->territory, public_key);
    body = troc__v1__transfer__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_non_null(body);
    assert_memory_not_equal(body->id.data, id, TROC_ID_SIZE);
    troc_envelope_id(envelope, got);
    assert_memory_equal(body->id.data, got, TROC_ID_SIZE);
    assert_null(body->memo);
    assert_true(body->has_invoice_id);
    assert_memory_equal(body->invoice_id.data, invoice, TROC_ID_SIZE);
    troc__v1__transfer__free_unpacked(body, NULL);
    troc_key_free(key);

    /* Missing payer (no member session) or payee: refused, envelope emptied. */
    second.payer = NULL;
    assert_int_equal(troc_sign_transfer(f->client, NULL, &second, envelope), TROC_EUSAGE);
    assert_int_equal(envelope->message.body.len, 0);
    assert_non_null(strstr(troc_client_error_message(f->client), "payer"));
    second.payer = "carol";
    second.payee = NULL;
    assert_int_equal(troc_sign_transfer(f->client, NULL, &second, envelope), TROC_EUSAGE);
    /* A memo that could never fit in a frame. */
    char *memo = malloc(TROC_FRAME_SIZE_MAX);
    memset(memo, 'm', TROC_FRAME_SIZE_MAX - 1);
    memo[TROC_FRAME_SIZE_MAX - 1] = '\0';
    second.payee = "bob";
    second.memo = memo;
    assert_int_equal(troc_sign_transfer(f->client, NULL, &second, envelope), TROC_EFRAME_SIZE);
    free(memo);
    troc_envelope_free(envelope);
}

static void test_sign_batch(void **state) {
    fixture *f = *state;
    troc_client_set_server_key(f->client, f->territory);
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    enum { COUNT = 1000 };
    static troc_batch_item items[COUNT];
    uint8_t first_id[TROC_ID_SIZE];
    memset(first_id, 9, sizeof first_id);
    for (size_t i = 0; i < COUNT; i++) {
        items[i] = (troc_batch_item){.payee = i % 2 ? "bob" : "carol", .amount_cents = (int64_t)i + 1};
    }
    items[0].id = first_id;
    items[1].memo = "second";
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, "alice", items, COUNT, envelope), 0);
    assert_int_equal(envelope->message.kind, TROC__V1__ENVELOPE_KIND__KIND_BATCH);
    assert_signed(envelope, TROC_DOMAIN_BATCH, f->territory, f->client->keypair.public_key);
    Troc__V1__TransferBatch *batch =
        troc__v1__transfer_batch__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_non_null(batch);
    assert_string_equal(batch->payer, "alice");
    assert_int_equal(batch->n_items, COUNT);
    assert_memory_equal(batch->items[0]->id.data, first_id, TROC_ID_SIZE);
    assert_string_equal(batch->items[1]->memo, "second");
    assert_int_equal(batch->items[999]->amount_cents, 1000);
    assert_string_equal(batch->items[999]->payee, "bob");
    assert_memory_not_equal(batch->items[1]->id.data, batch->items[2]->id.data, TROC_ID_SIZE);
    troc__v1__transfer_batch__free_unpacked(batch, NULL);
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, "alice", items, 0, envelope), TROC_EUSAGE);
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, "alice", items, TROC_BATCH_ITEMS_MAX + 1, envelope),
                     TROC_EUSAGE);
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, NULL, items, 1, envelope), TROC_EUSAGE);
    items[3].payee = NULL;
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, "alice", items, 5, envelope), TROC_EUSAGE);
    assert_int_equal(envelope->message.body.len, 0);
    troc_envelope_free(envelope);
}

static Troc__V1__AdminAction *sign_admin(fixture *f, const troc_admin_action *action, troc_envelope *envelope) {
    assert_int_equal(troc_sign_admin(f->client, NULL, action, envelope), 0);
    assert_int_equal(envelope->message.kind, TROC__V1__ENVELOPE_KIND__KIND_ADMIN);
    assert_signed(envelope, TROC_DOMAIN_ADMIN, f->territory, f->client->keypair.public_key);
    Troc__V1__AdminAction *body =
        troc__v1__admin_action__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_non_null(body);
    return body;
}

static void test_sign_admin(void **state) {
    fixture *f = *state;
    troc_client_set_server_key(f->client, f->territory);
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    uint8_t member_key[TROC_PUBLIC_KEY_SIZE];
    memset(member_key, 0x33, sizeof member_key);
    troc_admin_action add = {.kind = TROC_ADMIN_MEMBER_ADD, .member = "alice", .public_key = member_key,
                             .has_credit_limit = true, .credit_limit_cents = 50000};
    Troc__V1__AdminAction *body = sign_admin(f, &add, envelope);
    assert_int_equal(body->action_case, TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD);
    assert_string_equal(body->member_add->name, "alice");
    assert_memory_equal(body->member_add->public_key.data, member_key, TROC_PUBLIC_KEY_SIZE);
    assert_int_equal(body->member_add->credit_limit_cents, 50000);
    assert_false(body->member_add->has_balance_max_cents);
    troc__v1__admin_action__free_unpacked(body, NULL);

    troc_admin_action limit = {.kind = TROC_ADMIN_LIMIT_SET, .member = "alice", .remove_balance_max = true,
                               .reason = "new contract"};
    body = sign_admin(f, &limit, envelope);
    assert_int_equal(body->action_case, TROC__V1__ADMIN_ACTION__ACTION_LIMIT_SET);
    assert_false(body->limit_set->has_credit_limit_cents);
    assert_true(body->limit_set->has_remove_balance_max && body->limit_set->remove_balance_max);
    assert_string_equal(body->limit_set->reason, "new contract");
    troc__v1__admin_action__free_unpacked(body, NULL);

    troc_admin_action revoke = {.kind = TROC_ADMIN_KEY_REVOKE, .member = "alice", .public_key = member_key};
    body = sign_admin(f, &revoke, envelope);
    assert_int_equal(body->action_case, TROC__V1__ADMIN_ACTION__ACTION_KEY_REVOKE);
    troc__v1__admin_action__free_unpacked(body, NULL);
    troc_admin_action unfreeze = {.kind = TROC_ADMIN_UNFREEZE, .member = "alice", .reason = "paid up"};
    body = sign_admin(f, &unfreeze, envelope);
    assert_int_equal(body->action_case, TROC__V1__ADMIN_ACTION__ACTION_UNFREEZE);
    assert_string_equal(body->unfreeze->reason, "paid up");
    troc__v1__admin_action__free_unpacked(body, NULL);
    troc_admin_action clear = {.kind = TROC_ADMIN_CLEARING_RUN, .with_credit = true};
    body = sign_admin(f, &clear, envelope);
    assert_int_equal(body->action_case, TROC__V1__ADMIN_ACTION__ACTION_CLEARING_RUN);
    assert_true(body->clearing_run->has_with_credit && body->clearing_run->with_credit);
    troc__v1__admin_action__free_unpacked(body, NULL);
    clear.with_credit = false;
    body = sign_admin(f, &clear, envelope);
    assert_int_equal(body->action_case, TROC__V1__ADMIN_ACTION__ACTION_CLEARING_RUN);
    assert_false(body->clearing_run->has_with_credit && body->clearing_run->with_credit);
    troc__v1__admin_action__free_unpacked(body, NULL);

    /* Shapes refused before signing. */
    troc_admin_action wrong[] = {
        {.kind = 0, .member = "alice"},
        {.kind = TROC_ADMIN_FREEZE},                                                       /* no member */
        {.kind = TROC_ADMIN_KEY_ADD, .member = "alice"},                                   /* no key */
        {.kind = TROC_ADMIN_FREEZE, .member = "alice", .public_key = member_key},          /* unused field */
        {.kind = TROC_ADMIN_MEMBER_ADD, .member = "a", .public_key = member_key, .reason = "x"},
        {.kind = TROC_ADMIN_LIMIT_SET, .member = "a", .credit_limit_cents = 5},            /* value without flag */
        {.kind = TROC_ADMIN_LIMIT_SET, .member = "a", .has_balance_max = true, .remove_balance_max = true},
        {.kind = TROC_ADMIN_CLEARING_RUN, .member = "alice"},                              /* names no member */
        {.kind = TROC_ADMIN_CLEARING_RUN, .reason = "x"},                                  /* unused field */
        {.kind = TROC_ADMIN_FREEZE, .member = "alice", .reason = "r", .with_credit = true}, /* unused field */
        {.kind = TROC_ADMIN_CLEARING_RUN + 1},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        assert_int_equal(troc_sign_admin(f->client, NULL, &wrong[i], envelope), TROC_EUSAGE);
        assert_int_equal(envelope->message.body.len, 0);
    }
    /* A limit change that changes nothing: the ledger would answer only
     * 'malformed'. */
    assert_int_equal(troc_sign_admin(f->client, NULL, &limit, envelope), 0);
    troc_admin_action nothing = {.kind = TROC_ADMIN_LIMIT_SET, .member = "alice", .reason = "review"};
    assert_int_equal(troc_sign_admin(f->client, NULL, &nothing, envelope), TROC_EUSAGE);
    assert_int_equal(envelope->message.body.len, 0);
    assert_non_null(strstr(troc_client_error_message(f->client), "a limit change needs"));
    troc_envelope_free(envelope);
}

static void test_sign_invoice(void **state) {
    fixture *f = *state;
    troc_client_set_server_key(f->client, f->territory);
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_invoice_action issue = {.kind = TROC_INVOICE_ISSUE, .creditor = "bob", .debtor = "alice",
                                 .amount_cents = 9900, .ref = "F-2024-001", .due = "2024-06-30"};
    assert_int_equal(troc_sign_invoice(f->client, NULL, &issue, envelope), 0);
    assert_signed(envelope, TROC_DOMAIN_INVOICE, f->territory, f->client->keypair.public_key);
    Troc__V1__InvoiceAction *body =
        troc__v1__invoice_action__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_non_null(body);
    assert_int_equal(body->action_case, TROC__V1__INVOICE_ACTION__ACTION_ISSUE);
    assert_string_equal(body->issue->creditor, "bob");
    assert_string_equal(body->issue->debtor, "alice");
    assert_int_equal(body->issue->amount_cents, 9900);
    assert_string_equal(body->issue->due, "2024-06-30");
    uint8_t invoice_id[TROC_ID_SIZE];
    memcpy(invoice_id, body->id.data, TROC_ID_SIZE); /* the invoice takes the action's id */
    troc__v1__invoice_action__free_unpacked(body, NULL);
    issue.due = ""; /* no date, as a read gives it back: not sent */
    assert_int_equal(troc_sign_invoice(f->client, NULL, &issue, envelope), 0);
    body = troc__v1__invoice_action__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_non_null(body);
    assert_null(body->issue->due);
    troc__v1__invoice_action__free_unpacked(body, NULL);

    troc_invoice_action reject = {.kind = TROC_INVOICE_REJECT, .invoice_id = invoice_id, .reason = "not ordered"};
    assert_int_equal(troc_sign_invoice(f->client, NULL, &reject, envelope), 0);
    body = troc__v1__invoice_action__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_int_equal(body->action_case, TROC__V1__INVOICE_ACTION__ACTION_REJECT);
    assert_memory_equal(body->reject->invoice_id.data, invoice_id, TROC_ID_SIZE);
    assert_string_equal(body->reject->reason, "not ordered");
    troc__v1__invoice_action__free_unpacked(body, NULL);
    troc_invoice_action accept = {.kind = TROC_INVOICE_ACCEPT, .invoice_id = invoice_id};
    assert_int_equal(troc_sign_invoice(f->client, NULL, &accept, envelope), 0);
    body = troc__v1__invoice_action__unpack(NULL, envelope->message.body.len, envelope->message.body.data);
    assert_int_equal(body->action_case, TROC__V1__INVOICE_ACTION__ACTION_ACCEPT);
    troc__v1__invoice_action__free_unpacked(body, NULL);

    troc_invoice_action wrong[] = {
        {.kind = TROC_INVOICE_ISSUE, .creditor = "bob", .amount_cents = 1},          /* no debtor */
        {.kind = TROC_INVOICE_ISSUE, .debtor = "alice", .amount_cents = 1},          /* no creditor, no session */
        {.kind = TROC_INVOICE_CANCEL},                                               /* no invoice id */
        {.kind = TROC_INVOICE_ACCEPT, .invoice_id = invoice_id, .reason = "why"},    /* unused field */
        {.kind = 9, .invoice_id = invoice_id},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        assert_int_equal(troc_sign_invoice(f->client, NULL, &wrong[i], envelope), TROC_EUSAGE);
    }
    troc_envelope_free(envelope);
}

/* ----------------------------------------------------- argument errors */

static void test_argument_errors(void **state) {
    fixture *f = *state;
    troc_client *bare = NULL;
    assert_int_equal(troc_client_create(&bare), 0);
    assert_int_equal(troc_client_connect(bare, "127.0.0.1:7400"), TROC_EUSAGE); /* no key */
    assert_non_null(strstr(troc_client_error_message(bare), "no key"));
    troc_client_free(bare);
    assert_int_equal(troc_client_connect(f->client, "no port"), TROC_EUSAGE);
    assert_int_equal(troc_client_connect(f->client, "host:"), TROC_EUSAGE);
    assert_int_equal(troc_client_connect(f->client, "host:99999"), TROC_EUSAGE);
    assert_int_equal(troc_client_connect(f->client, "host:7a"), TROC_EUSAGE);
    assert_int_equal(troc_client_connect(f->client, ""), TROC_EUSAGE);
    assert_int_equal(troc_client_reconnect(f->client), TROC_EUSAGE);
    assert_int_equal(troc_client_set_timeouts(f->client, -1, 0), TROC_EUSAGE);
    assert_int_equal(troc_client_set_known_territories(f->client, ""), TROC_EUSAGE);
    assert_false(troc_client_connected(f->client));
    assert_int_equal(troc_client_role(f->client), TROC_SESSION_NONE);

    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_submit_result result;
    const troc_envelope *list[] = {envelope};
    uint64_t request_id = 0;
    assert_int_equal(troc_client_send(f->client, list, 1, &request_id), TROC_EUSAGE); /* nothing signed */
    troc_client_set_server_key(f->client, f->territory);
    troc_transfer transfer = {.payer = "alice", .payee = "bob", .amount_cents = 1};
    assert_int_equal(troc_sign_transfer(f->client, NULL, &transfer, envelope), 0);
    assert_int_equal(troc_client_submit(f->client, list, 1, &result, 0), TROC_ECLOSED);
    assert_int_equal(troc_client_send(f->client, list, 1, &request_id), TROC_ECLOSED);
    troc_reply reply;
    assert_int_equal(troc_client_receive(f->client, &reply), TROC_ECLOSED);
    troc_history_line line;
    size_t count = 0;
    uint64_t next = 0;
    assert_int_equal(troc_client_history(f->client, NULL, 0, &line, 0, &count, &next), TROC_EUSAGE);
    assert_int_equal(troc_client_history(f->client, NULL, 0, &line, TROC_PAGE_ROWS_MAX + 1, &count, &next),
                     TROC_EUSAGE);
    troc_invoice_record invoice;
    bool more = true;
    troc_invoice_query query = {0};
    assert_int_equal(troc_client_invoices(f->client, &query, &invoice, 0, &count, &more), TROC_EUSAGE);
    assert_int_equal(troc_client_invoices(f->client, NULL, &invoice, 1, &count, &more), TROC_EUSAGE);
    query.roles = 0x4;
    assert_int_equal(troc_client_invoices(f->client, &query, &invoice, 1, &count, &more), TROC_EUSAGE);
    assert_false(more);
    assert_int_equal(troc_client_invoice(f->client, NULL, &invoice), TROC_EUSAGE);
    troc_clearing_report report;
    troc_clearing_settlement settlement;
    assert_int_equal(troc_client_clearing_round(f->client, 0, &report, NULL, 0, 1, &count), TROC_EUSAGE);
    assert_int_equal(troc_client_clearing_preview(f->client, false, &report, &settlement, 0, TROC_PAGE_ROWS_MAX + 1,
                                                  &count),
                     TROC_EUSAGE);
    assert_int_equal(troc_client_clearing_round(f->client, 0, &report, NULL, 0, 0, &count), TROC_ECLOSED);
    troc_envelope_free(envelope);

    /* A key file others can read is refused, as ssh does. */
    char path[128];
    snprintf(path, sizeof path, "%s/open.key", f->directory);
    troc_keypair keypair;
    troc_keypair_generate(&keypair);
    assert_int_equal(troc_keyfile_write(path, &keypair), 0);
    troc_key *key = NULL;
    assert_int_equal(troc_key_read(path, &key), 0);
    uint8_t public_key[TROC_PUBLIC_KEY_SIZE];
    troc_key_public(key, public_key);
    assert_memory_equal(public_key, keypair.public_key, TROC_PUBLIC_KEY_SIZE);
    troc_key_free(key);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(troc_key_read(path, &key), -EPERM);
    assert_int_equal(troc_client_set_key_file(f->client, path), -EPERM);
    assert_non_null(strstr(troc_client_error_message(f->client), "chmod 600"));
    /* A directory is no key file, whatever its mode. */
    assert_int_equal(troc_key_read(f->directory, &key), TROC_EKEYFILE);
    assert_int_equal(troc_client_set_key_file(f->client, f->directory), TROC_EKEYFILE);
    assert_non_null(strstr(troc_client_error_message(f->client), "is a directory, not a key file"));
    assert_int_equal(troc_key_from_seed(keypair.secret_key, &key), 0); /* the seed is the first half */
    troc_key_public(key, public_key);
    assert_memory_equal(public_key, keypair.public_key, TROC_PUBLIC_KEY_SIZE);
    troc_key_free(key);
}

/* Runs `call` in a child process; true when it ended by an assertion
 * (SIGABRT), not by a crash or a return. */
static bool aborts(void (*call)(const char *), const char *argument) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* cmocka's handler would report, not crash */
        signal(SIGABRT, SIG_DFL);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        if (freopen("/dev/null", "w", stderr) == NULL) _exit(2);
        call(argument);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void key_read_into_null(const char *path) {
    (void)troc_key_read(path, NULL);
}

static void key_generate_into_null(const char *unused) {
    (void)unused;
    (void)troc_key_generate(NULL);
}

static void key_from_seed_into_null(const char *unused) {
    (void)unused;
    uint8_t seed[TROC_SEED_SIZE] = {0};
    (void)troc_key_from_seed(seed, NULL);
}

static void id_generate_into_null(const char *unused) {
    (void)unused;
    troc_id_generate(NULL);
}

static void client_create_into_null(const char *unused) {
    (void)unused;
    (void)troc_client_create(NULL);
}

/* A NULL where a pointer is required is a programming error: an assertion
 * stops the program, rather than a crash somewhere later. */
#ifdef NDEBUG
static const bool assertions_on = false;
#else
static const bool assertions_on = true;
#endif

static void test_null_pointers_abort(void **state) {
    if (!assertions_on) skip(); /* built with -Db_ndebug=true: nothing stops a NULL */
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/member.key", f->directory);
    troc_keypair keypair;
    troc_keypair_generate(&keypair);
    assert_int_equal(troc_keyfile_write(path, &keypair), 0);
    assert_true(aborts(key_read_into_null, path));
    assert_true(aborts(key_generate_into_null, NULL));
    assert_true(aborts(key_from_seed_into_null, NULL));
    assert_true(aborts(id_generate_into_null, NULL));
    assert_true(aborts(client_create_into_null, NULL));
}

/* ------------------------------------------------- a scripted server */

typedef struct server server;
typedef void behaviour_fn(server *s, int fd, troc_channel *channel);

struct server {
    char path[108];
    int listen_fd;
    pthread_t thread;
    troc_keypair territory;
    behaviour_fn *behave;
    int connections_max;       /* accepted before the thread ends */
    int connection;            /* the one being served, from 0 */
    bool busy;                 /* answer the hello with a busy error */
    bool hang_up;              /* close on the hello without a word (trocd past TROC_REFUSALS_MAX) */
    bool foreign;              /* answer the hello as a web server would */
    bool undecodable;          /* answer the hello with a frame that is no protobuf message */
    bool trickle_hello;        /* send the hello a byte every TRICKLE_GAP_MS, then stop */
    size_t trickle_size;       /* bytes of the last frame trickled */
    size_t trickled;           /* of which the client took before leaving */
    bool got_auth;             /* a client proof arrived */
    int submits;               /* submit requests read */
    uint8_t first_body[1024];  /* the first envelope body of the first and last submit */
    size_t first_body_size;
    bool same_body_again;      /* a later submit carried the same body bytes */
};

static bool read_exact(int fd, uint8_t *data, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, data + done, size - done);
        if (n <= 0) return false;
        done += (size_t)n;
    }
    return true;
}

/* Reads one frame (header included) into `frame`; its size, or 0. */
static size_t server_read_frame(int fd, uint8_t *frame, size_t capacity) {
    if (!read_exact(fd, frame, TROC_FRAME_HEADER_SIZE)) return 0;
    size_t payload = 0;
    if (troc_frame_peek(frame, TROC_FRAME_HEADER_SIZE, &payload) < 0) return 0;
    if (TROC_FRAME_HEADER_SIZE + payload > capacity) return 0;
    if (!read_exact(fd, frame + TROC_FRAME_HEADER_SIZE, payload)) return 0;
    return TROC_FRAME_HEADER_SIZE + payload;
}

static void server_write_clear(int fd, const uint8_t *payload, size_t size) {
    uint8_t header[TROC_FRAME_HEADER_SIZE];
    troc_frame_header_write(header, size);
    assert_int_equal(write(fd, header, sizeof header), (ssize_t)sizeof header);
    assert_int_equal(write(fd, payload, size), (ssize_t)size);
}

/* Seals `frame` into `sealed` (65536 + 64 bytes); the bytes to send. */
static size_t server_seal(troc_channel *channel, const Troc__V1__ServerFrame *frame, uint8_t *sealed) {
    static uint8_t plain[65536];
    size_t size = troc__v1__server_frame__pack(frame, plain);
    return troc_channel_seal(channel, plain, size, sealed);
}

static void server_send(int fd, troc_channel *channel, const Troc__V1__ServerFrame *frame) {
    static uint8_t sealed[65536 + 64];
    size_t total = server_seal(channel, frame, sealed);
    assert_int_equal(write(fd, sealed, total), (ssize_t)total);
}

/* Sends `response` as the answer to request `request_id`. */
static void server_respond(int fd, troc_channel *channel, uint64_t request_id, Troc__V1__Response *response) {
    response->has_request_id = 1;
    response->request_id = request_id;
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_RESPONSE;
    frame.response = response;
    server_send(fd, channel, &frame);
}

/* Sends a SubmitReply of `count` results to request `request_id`. */
static void server_submit_reply(int fd, troc_channel *channel, uint64_t request_id, Troc__V1__ItemResult **results,
                                size_t count) {
    Troc__V1__SubmitReply reply = TROC__V1__SUBMIT_REPLY__INIT;
    reply.n_results = count;
    reply.results = results;
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.kind_case = TROC__V1__RESPONSE__KIND_SUBMIT;
    response.submit = &reply;
    server_respond(fd, channel, request_id, &response);
}

/* Pause between two trickled bytes: far below the timeouts of the tests
 * that trickle, so that only a timeout bounding the whole call can end
 * them. */
#define TRICKLE_GAP_MS 50

/* Sends `data` a byte at a time, TRICKLE_GAP_MS apart, until done or until
 * the client leaves; counts the bytes it took. */
static void server_trickle(server *s, int fd, const uint8_t *data, size_t size) {
    s->trickle_size = size;
    s->trickled = 0;
    for (size_t i = 0; i < size; i++) {
        if (send(fd, data + i, 1, MSG_NOSIGNAL) != 1) return;
        s->trickled++;
        struct timespec gap = {.tv_nsec = TRICKLE_GAP_MS * 1000000L};
        nanosleep(&gap, NULL);
    }
}

/* Reads and decodes the next sealed ClientFrame; NULL when the client is
 * gone. */
static Troc__V1__ClientFrame *server_receive(int fd, troc_channel *channel) {
    static uint8_t frame[65536], plain[65536];
    size_t size = server_read_frame(fd, frame, sizeof frame);
    if (size == 0) return NULL;
    size_t plain_size = 0;
    if (troc_channel_open(channel, frame, size, plain, &plain_size) != 0) return NULL;
    return troc__v1__client_frame__unpack(NULL, plain_size, plain);
}

static bool server_handshake(server *s, int fd, troc_channel *channel) {
    uint8_t frame[1024], out[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t size = server_read_frame(fd, frame, sizeof frame), out_size = 0;
    if (size == 0 || s->hang_up) return false;
    if (s->foreign) {
        static const char answer[] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        assert_int_equal(write(fd, answer, sizeof answer - 1), (ssize_t)(sizeof answer - 1));
        return false;
    }
    if (s->undecodable) {
        static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        server_write_clear(fd, garbage, sizeof garbage);
        return false;
    }
    if (s->busy) {
        Troc__V1__Error error = TROC__V1__ERROR__INIT;
        error.has_code = 1;
        error.code = TROC_EBUSY;
        error.message = "too many connections; try again later";
        Troc__V1__ServerFrame reply = TROC__V1__SERVER_FRAME__INIT;
        reply.kind_case = TROC__V1__SERVER_FRAME__KIND_ERROR;
        reply.error = &error;
        size = troc__v1__server_frame__pack(&reply, out);
        server_write_clear(fd, out, size);
        return false;
    }
    troc_handshake handshake;
    if (troc_handshake_server_hello(&handshake, frame + 4, size - 4, &s->territory, "lyon", "EUR", channel, out,
                                    &out_size) != 0) {
        return false;
    }
    if (s->trickle_hello) {
        uint8_t hello[TROC_FRAME_HEADER_SIZE + sizeof out];
        troc_frame_header_write(hello, out_size);
        memcpy(hello + TROC_FRAME_HEADER_SIZE, out, out_size);
        server_trickle(s, fd, hello, TROC_FRAME_HEADER_SIZE + out_size);
        return false;
    }
    server_write_clear(fd, out, out_size);
    Troc__V1__ClientFrame *auth = server_receive(fd, channel);
    if (auth == NULL) return false;
    s->got_auth = true;
    bool ok = auth->kind_case == TROC__V1__CLIENT_FRAME__KIND_AUTH &&
              troc_handshake_server_verify(&handshake, auth->auth->public_key.data, auth->auth->public_key.len,
                                           auth->auth->signature.data, auth->auth->signature.len) == 0;
    troc__v1__client_frame__free_unpacked(auth, NULL);
    if (!ok) return false;
    Troc__V1__AuthResult result = TROC__V1__AUTH_RESULT__INIT;
    result.has_role = 1;
    result.role = TROC__V1__ROLE__ROLE_MEMBER;
    result.member = "alice";
    Troc__V1__ServerFrame reply = TROC__V1__SERVER_FRAME__INIT;
    reply.kind_case = TROC__V1__SERVER_FRAME__KIND_AUTH_RESULT;
    reply.auth_result = &result;
    server_send(fd, channel, &reply);
    return true;
}

static void *server_main(void *argument) {
    server *s = argument;
    for (s->connection = 0; s->connection < s->connections_max; s->connection++) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) break;
        troc_channel channel;
        if (server_handshake(s, fd, &channel) && s->behave != NULL) s->behave(s, fd, &channel);
        close(fd);
    }
    return NULL;
}

/* Starts a server on the socket `name` in the fixture's directory. */
static void server_start_named(fixture *f, server *s, const char *name, behaviour_fn *behave, int connections_max) {
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s/%s", f->directory, name);
    troc_keypair_generate(&s->territory);
    s->behave = behave;
    s->connections_max = connections_max;
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, s->path);
    unlink(s->path);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_start(fixture *f, server *s, behaviour_fn *behave, int connections_max) {
    server_start_named(f, s, "trocd.sock", behave, connections_max);
}

static void server_stop(server *s) {
    assert_int_equal(pthread_join(s->thread, NULL), 0);
    close(s->listen_fd);
    unlink(s->path);
}

/* Answers a submit: one OK result per envelope, with the transfer's id. */
static void answer_submit(int fd, troc_channel *channel, uint64_t request_id, const Troc__V1__Submit *submit) {
    Troc__V1__ItemResult results[8];
    Troc__V1__ItemResult *pointers[8];
    Troc__V1__Transfer *bodies[8] = {0};
    size_t count = submit->n_envelopes < 8 ? submit->n_envelopes : 8;
    for (size_t i = 0; i < count; i++) {
        const Troc__V1__Envelope *envelope = submit->envelopes[i];
        bodies[i] = troc__v1__transfer__unpack(NULL, envelope->body.len, envelope->body.data);
        results[i] = (Troc__V1__ItemResult)TROC__V1__ITEM_RESULT__INIT;
        results[i].has_code = 1;
        results[i].code = bodies[i] != NULL && bodies[i]->amount_cents > 100000 ? TROC__V1__RESULT_CODE__RESULT_EXCEEDS_CREDIT_LIMIT
                                                                               : TROC__V1__RESULT_CODE__RESULT_OK;
        if (results[i].code != TROC__V1__RESULT_CODE__RESULT_OK) results[i].detail = "over the line";
        if (bodies[i] != NULL) {
            results[i].has_id = 1;
            results[i].id = bodies[i]->id;
        }
        results[i].has_journal_seq = 1;
        results[i].journal_seq = request_id * 10 + i;
        results[i].has_timestamp_us = 1;
        results[i].timestamp_us = 1714564800000000LL;
        pointers[i] = &results[i];
    }
    server_submit_reply(fd, channel, request_id, pointers, count);
    for (size_t i = 0; i < count; i++) {
        if (bodies[i] != NULL) troc__v1__transfer__free_unpacked(bodies[i], NULL);
    }
}

/* Notes the first envelope's body of a submit. */
static void remember_submit(server *s, const Troc__V1__Submit *submit) {
    s->submits++;
    if (submit->n_envelopes == 0) return;
    const ProtobufCBinaryData *body = &submit->envelopes[0]->body;
    if (s->first_body_size == 0 && body->len <= sizeof s->first_body) {
        memcpy(s->first_body, body->data, body->len);
        s->first_body_size = body->len;
    } else if (body->len == s->first_body_size && memcmp(body->data, s->first_body, body->len) == 0) {
        s->same_body_again = true;
    }
}

/* Answers submits with results and balance queries with a refusal, until
 * the client leaves. */
static void behave_answer(server *s, int fd, troc_channel *channel) {
    for (;;) {
        Troc__V1__ClientFrame *frame = server_receive(fd, channel);
        if (frame == NULL) return;
        Troc__V1__Request *request = frame->request;
        if (request->kind_case == TROC__V1__REQUEST__KIND_SUBMIT) {
            remember_submit(s, request->submit);
            answer_submit(fd, channel, request->request_id, request->submit);
        } else {
            Troc__V1__Error error = TROC__V1__ERROR__INIT;
            error.has_code = 1;
            error.code = TROC_EDENIED;
            error.message = "a member reads only its own account";
            Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
            response.kind_case = TROC__V1__RESPONSE__KIND_ERROR;
            response.error = &error;
            server_respond(fd, channel, request->request_id, &response);
        }
        troc__v1__client_frame__free_unpacked(frame, NULL);
    }
}

/* The first connection reads a submit and drops it unanswered; later ones
 * answer. */
static void behave_drop_first(server *s, int fd, troc_channel *channel) {
    if (s->connection > 0) {
        behave_answer(s, fd, channel);
        return;
    }
    Troc__V1__ClientFrame *frame = server_receive(fd, channel);
    if (frame != NULL && frame->request->kind_case == TROC__V1__REQUEST__KIND_SUBMIT) {
        remember_submit(s, frame->request->submit);
    }
    if (frame != NULL) troc__v1__client_frame__free_unpacked(frame, NULL);
}

/* Reads a submit, then goes away for good: its socket is removed before
 * the connection is dropped, so that connecting again fails too. */
static void behave_vanish(server *s, int fd, troc_channel *channel) {
    Troc__V1__ClientFrame *frame = server_receive(fd, channel);
    if (frame != NULL && frame->request->kind_case == TROC__V1__REQUEST__KIND_SUBMIT) {
        remember_submit(s, frame->request->submit);
    }
    if (frame != NULL) troc__v1__client_frame__free_unpacked(frame, NULL);
    unlink(s->path);
}

/* Reads requests and never answers, until the client leaves. */
static void behave_silent(server *s, int fd, troc_channel *channel) {
    (void)s;
    Troc__V1__ClientFrame *frame;
    while ((frame = server_receive(fd, channel)) != NULL) troc__v1__client_frame__free_unpacked(frame, NULL);
}

/* Reads three submits, then answers them newest first. */
static void behave_reverse(server *s, int fd, troc_channel *channel) {
    Troc__V1__ClientFrame *frames[3];
    for (int i = 0; i < 3; i++) {
        frames[i] = server_receive(fd, channel);
        if (frames[i] == NULL) return;
        s->submits++;
    }
    for (int i = 2; i >= 0; i--) {
        answer_submit(fd, channel, frames[i]->request->request_id, frames[i]->request->submit);
        troc__v1__client_frame__free_unpacked(frames[i], NULL);
    }
    behave_silent(s, fd, channel);
}

/* Reads two submits, answers them, then closes the connection (a daemon
 * stopped or killed with more requests on their way). */
static void behave_answer_two_then_close(server *s, int fd, troc_channel *channel) {
    for (int i = 0; i < 2; i++) {
        Troc__V1__ClientFrame *frame = server_receive(fd, channel);
        if (frame == NULL) return;
        s->submits++;
        answer_submit(fd, channel, frame->request->request_id, frame->request->submit);
        troc__v1__client_frame__free_unpacked(frame, NULL);
    }
}

/* The first connection as behave_answer_two_then_close; later ones are
 * closed at once, before their first request. */
static void behave_answer_two_then_close_at_once(server *s, int fd, troc_channel *channel) {
    if (s->connection == 0) behave_answer_two_then_close(s, fd, channel);
}

/* Answers the first request under an id nobody asked for. */
static void behave_stray_reply(server *s, int fd, troc_channel *channel) {
    Troc__V1__ClientFrame *frame = server_receive(fd, channel);
    if (frame == NULL) return;
    answer_submit(fd, channel, frame->request->request_id + 1000, frame->request->submit);
    troc__v1__client_frame__free_unpacked(frame, NULL);
    behave_silent(s, fd, channel);
}

/* Answers the first request with a refusal sent a byte at a time. */
static void behave_trickle_reply(server *s, int fd, troc_channel *channel) {
    Troc__V1__ClientFrame *frame = server_receive(fd, channel);
    if (frame == NULL) return;
    Troc__V1__Error error = TROC__V1__ERROR__INIT;
    error.has_code = 1;
    error.code = TROC_EDENIED;
    error.message = "a member reads only its own account";
    Troc__V1__Response response = TROC__V1__RESPONSE__INIT;
    response.has_request_id = 1;
    response.request_id = frame->request->request_id;
    response.kind_case = TROC__V1__RESPONSE__KIND_ERROR;
    response.error = &error;
    Troc__V1__ServerFrame reply = TROC__V1__SERVER_FRAME__INIT;
    reply.kind_case = TROC__V1__SERVER_FRAME__KIND_RESPONSE;
    reply.response = &response;
    static uint8_t sealed[65536 + 64];
    server_trickle(s, fd, sealed, server_seal(channel, &reply, sealed));
    troc__v1__client_frame__free_unpacked(frame, NULL);
}

/* Sends a frame header announcing more than the maximum. */
static void behave_oversized(server *s, int fd, troc_channel *channel) {
    uint8_t header[4] = {0x7f, 0xff, 0xff, 0xff};
    Troc__V1__ClientFrame *frame = server_receive(fd, channel);
    if (frame != NULL) troc__v1__client_frame__free_unpacked(frame, NULL);
    assert_int_equal(write(fd, header, sizeof header), 4);
    behave_silent(s, fd, channel);
}

/* Answers each submit's envelopes as the ledger answers a batch refused as
 * a whole (an unknown payer): the code alone, no item codes. */
static void behave_refuse_whole(server *s, int fd, troc_channel *channel) {
    Troc__V1__ClientFrame *frame;
    while ((frame = server_receive(fd, channel)) != NULL) {
        s->submits++;
        Troc__V1__ItemResult results[8];
        Troc__V1__ItemResult *pointers[8];
        size_t count = frame->request->submit->n_envelopes < 8 ? frame->request->submit->n_envelopes : 8;
        for (size_t i = 0; i < count; i++) {
            results[i] = (Troc__V1__ItemResult)TROC__V1__ITEM_RESULT__INIT;
            results[i].has_code = 1;
            results[i].code = TROC__V1__RESULT_CODE__RESULT_UNKNOWN_PAYER;
            pointers[i] = &results[i];
        }
        server_submit_reply(fd, channel, frame->request->request_id, pointers, count);
        troc__v1__client_frame__free_unpacked(frame, NULL);
    }
}

/* The first two connections are closed as trocd closes one idle for
 * TROC_IDLE_TIMEOUT_MS (engine/server/conn.c): its Error frame, then the
 * end of the stream; later ones answer. */
static void behave_idle_close_twice(server *s, int fd, troc_channel *channel) {
    if (s->connection >= 2) {
        behave_answer(s, fd, channel);
        return;
    }
    Troc__V1__Error error = TROC__V1__ERROR__INIT;
    error.has_code = 1;
    error.code = TROC_ETIMEOUT;
    error.message = "idle for too long";
    Troc__V1__ServerFrame frame = TROC__V1__SERVER_FRAME__INIT;
    frame.kind_case = TROC__V1__SERVER_FRAME__KIND_ERROR;
    frame.error = &error;
    server_send(fd, channel, &frame);
}

/* Signs and returns one envelope paying bob `cents`. */
static troc_envelope *payment(fixture *f, int64_t cents) {
    troc_envelope *envelope = NULL;
    assert_int_equal(troc_envelope_create(&envelope), 0);
    troc_transfer transfer = {.payee = "bob", .amount_cents = cents};
    assert_int_equal(troc_sign_transfer(f->client, NULL, &transfer, envelope), 0);
    return envelope;
}

static void test_connect_pins_then_refuses_changed_key(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    assert_true(troc_client_connected(f->client));
    assert_int_equal(troc_client_role(f->client), TROC_SESSION_MEMBER);
    assert_string_equal(troc_client_member(f->client), "alice");
    assert_string_equal(troc_client_territory(f->client), "lyon");
    assert_string_equal(troc_client_unit(f->client), "EUR");
    assert_memory_equal(troc_client_territory_key(f->client), s.territory.public_key, TROC_PUBLIC_KEY_SIZE);
    troc_client_close(f->client);
    server_stop(&s);
    /* First use pinned the key for this address. */
    uint8_t pinned[TROC_PUBLIC_KEY_SIZE];
    bool found = false;
    int line = 0;
    assert_int_equal(troc__known_lookup(f->known, s.path, pinned, &found, &line), 0);
    assert_true(found);
    assert_memory_equal(pinned, s.territory.public_key, TROC_PUBLIC_KEY_SIZE);

    /* Another territory at the same address: refused before any proof. */
    server impostor;
    server_start(f, &impostor, behave_answer, 1);
    assert_int_equal(troc_client_connect(f->client, impostor.path), TROC_ESERVER_KEY);
    assert_false(troc_client_connected(f->client));
    char want[TROC_PUBLIC_KEY_HEX_SIZE], got[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(s.territory.public_key, want);
    troc_public_key_to_hex(impostor.territory.public_key, got);
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, want));
    assert_non_null(strstr(message, got));
    assert_non_null(strstr(message, "HAS CHANGED"));
    server_stop(&impostor);
    assert_false(impostor.got_auth);
}

/* True when `message` offers what only one program can do: troc's options
 * or libtroc's functions.  The library's messages about the
 * known-territories file say what is wrong, and the fixes any program
 * offers; troc adds its own (tested in test/integration/cli.py), a library
 * caller reads troc.h. */
static bool names_a_remedy_of_one_program(const char *message) {
    return strstr(message, "--server-key") != NULL || strstr(message, "troc_client_") != NULL;
}

/* No file to pin in, and the caller chose none: connecting unchecked is
 * refused, unless the caller disables pinning or names the key. */
static void test_connect_without_known_file_refused(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 2);
    f->client->known_default_error = -ENOENT; /* as troc_client_create() leaves it without a home */
    f->client->known_path[0] = '\0';
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    assert_non_null(strstr(troc_client_error_message(f->client), "no home directory"));
    assert_non_null(strstr(troc_client_error_message(f->client), "set HOME"));
    assert_false(names_a_remedy_of_one_program(troc_client_error_message(f->client)));
    troc_client_set_server_key(f->client, s.territory.public_key);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_client_close(f->client);
    troc_client_set_server_key(f->client, NULL);
    troc_client_set_known_territories(f->client, NULL); /* the caller's choice: no pinning */
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_client_close(f->client);
    server_stop(&s);
}

/* HOME naming a directory that does not exist: pinning in the default
 * file fails, and the message names the missing home directory and the
 * variables to fix, not creating directories (libtroc never creates a
 * home). */
static void test_connect_with_missing_home_refused(void **state) {
    fixture *f = *state;
    char *xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nonexistent", f->directory);
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", missing, 1);
    /* What troc_client_create() finds by default. */
    f->client->known_default_error = troc__known_default_path(f->client->known_path, sizeof f->client->known_path,
                                                              &f->client->known_directories_max);
    if (xdg != NULL) setenv("XDG_CONFIG_HOME", xdg, 1);
    if (home != NULL) setenv("HOME", home, 1);
    else unsetenv("HOME");
    free(xdg);
    free(home);
    assert_int_equal(f->client->known_default_error, 0);
    server s;
    server_start(f, &s, behave_answer, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    const char *message = troc_client_error_message(f->client);
    char expected[192];
    snprintf(expected, sizeof expected, "the directory %s does not exist", missing);
    assert_non_null(strstr(message, expected));
    assert_non_null(strstr(message, "fix HOME"));
    assert_null(strstr(message, "create its directory"));
    assert_false(names_a_remedy_of_one_program(message));
    server_stop(&s);
    struct stat st;
    assert_int_equal(stat(missing, &st), -1); /* nothing created */
    /* A home that exists, whose .config is a link to nothing: not a
     * missing home, and not called one. */
    assert_int_equal(mkdir(missing, 0700), 0);
    char config[192];
    snprintf(config, sizeof config, "%s/.config", missing);
    assert_int_equal(symlink("nowhere", config), 0);
    server_start(f, &s, behave_answer, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    message = troc_client_error_message(f->client);
    assert_null(strstr(message, "does not exist"));
    assert_null(strstr(message, "fix HOME"));
    assert_non_null(strstr(message, "cannot record the territory key"));
    server_stop(&s);
    assert_int_equal(unlink(config), 0);
    assert_int_equal(rmdir(missing), 0);
}

/* A key that cannot be recorded fails the connection: otherwise every
 * later connection would be a first use too, and accept any key. */
static void test_connect_unpinnable_refused(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 3);
    /* The file is a link to a directory that does not exist. */
    char directory[128], target[160];
    snprintf(directory, sizeof directory, "%s/troc", f->directory);
    snprintf(target, sizeof target, "%s/missing/known_territories", f->directory);
    assert_int_equal(mkdir(directory, 0700), 0);
    assert_int_equal(symlink(target, f->known), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    assert_false(troc_client_connected(f->client));
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, f->known));
    assert_non_null(strstr(message, troc_strerror(-ENOENT)));
    assert_non_null(strstr(message, "make that file writable"));
    assert_null(strstr(message, "XDG_CONFIG_HOME")); /* a file the caller named does not move with it */
    assert_false(names_a_remedy_of_one_program(message));

    /* The default file under a HOME that does not exist: nothing is
     * created there, and the connection fails the same way. */
    char *xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char nowhere[128];
    snprintf(nowhere, sizeof nowhere, "%s/nonexistent/dir", f->directory);
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", nowhere, 1);
    troc_client *homeless = NULL;
    assert_int_equal(troc_client_create(&homeless), 0);
    if (xdg != NULL) setenv("XDG_CONFIG_HOME", xdg, 1);
    if (home != NULL) setenv("HOME", home, 1);
    free(xdg);
    free(home);
    troc_key *key = NULL;
    assert_int_equal(troc_key_generate(&key), 0);
    assert_int_equal(troc_client_set_key(homeless, key), 0);
    troc_key_free(key);
    assert_int_equal(troc_client_connect(homeless, s.path), TROC_EKNOWN_TERRITORIES);
    assert_false(troc_client_connected(homeless));
    assert_non_null(strstr(troc_client_error_message(homeless), "nonexistent/dir/.config/troc/known_territories"));
    assert_non_null(strstr(troc_client_error_message(homeless), "set XDG_CONFIG_HOME to a directory you may write"));
    assert_false(names_a_remedy_of_one_program(troc_client_error_message(homeless)));
    snprintf(nowhere, sizeof nowhere, "%s/nonexistent", f->directory);
    assert_int_equal(access(nowhere, F_OK), -1);
    troc_client_free(homeless);

    /* The alternatives the message offers work. */
    troc_client_set_server_key(f->client, s.territory.public_key);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_client_close(f->client);
    server_stop(&s);
}

/* A known-territories file that holds a malformed line (before the
 * server's own), or cannot be read, fails the connection before anything
 * is sent, with the code of every failure of the file: the local
 * configuration's, not the network's. */
static void test_connect_bad_known_file_refused(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 1);
    char hex[TROC_PUBLIC_KEY_HEX_SIZE], directory[128];
    troc_public_key_to_hex(s.territory.public_key, hex);
    snprintf(directory, sizeof directory, "%s/troc", f->directory);
    assert_int_equal(mkdir(directory, 0700), 0);
    FILE *file = fopen(f->known, "w");
    assert_non_null(file);
    fprintf(file, "# pinned\nnot a line\n%s %s\n", s.path, hex);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    assert_false(troc_client_connected(f->client));
    assert_non_null(strstr(troc_client_error_message(f->client), "line 2, is not 'SERVER-ADDRESS TERRITORY-KEY'"));
    file = fopen(f->known, "w");
    assert_non_null(file);
    fprintf(file, "%s %s\n", s.path, hex);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), 0); /* the line fixed */
    troc_client_close(f->client);
    /* As many well-formed lines as a file may hold, none the server's: it
     * cannot take the server's line, and is named as full. */
    file = fopen(f->known, "w");
    assert_non_null(file);
    for (int i = 0; i < TROC_KNOWN_TERRITORIES_LINES_MAX; i++) fprintf(file, "other-%d:1 %s\n", i, hex);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    assert_non_null(strstr(troc_client_error_message(f->client), "holds 100000 lines or more"));
    server_stop(&s);
    /* A directory where the file should be: it cannot be read. */
    assert_int_equal(unlink(f->known), 0);
    assert_int_equal(mkdir(f->known, 0700), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    assert_non_null(strstr(troc_client_error_message(f->client), troc_strerror(-EISDIR)));
}

/* A socket path may hold a space or a '#': it is connected to, but cannot
 * be pinned (the file's fields are separated by spaces), so its key must
 * be given, or pinning disabled. */
static void test_socket_path_with_space(void **state) {
    fixture *f = *state;
    server s;
    server_start_named(f, &s, "troc d#1.sock", behave_answer, 2);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EKNOWN_TERRITORIES);
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, "cannot be pinned"));
    assert_false(names_a_remedy_of_one_program(message));
    troc_client_set_server_key(f->client, s.territory.public_key);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    assert_int_equal(troc_client_reconnect(f->client), 0);
    troc_client_close(f->client);
    server_stop(&s);
    assert_int_equal(access(f->known, F_OK), -1); /* nothing pinned */
    server_start_named(f, &s, "troc d#1.sock", behave_answer, 1);
    troc_client_set_server_key(f->client, NULL);
    troc_client_set_known_territories(f->client, NULL);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_client_close(f->client);
    server_stop(&s);
    /* Only the length of sockaddr_un's path limits it. */
    char path[256];
    snprintf(path, sizeof path, "%s/%0100d.sock", f->directory, 0);
    assert_int_equal(troc_client_connect(f->client, path), TROC_EUSAGE);
    assert_non_null(strstr(troc_client_error_message(f->client), "too long"));
}

static void test_connect_with_expected_key(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 2);
    troc_client_set_server_key(f->client, f->territory); /* not this server's key */
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_ESERVER_KEY);
    /* Both keys, named in the library's words, not in a program's options. */
    char want[TROC_PUBLIC_KEY_HEX_SIZE], got[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(f->territory, want);
    troc_public_key_to_hex(s.territory.public_key, got);
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, want));
    assert_non_null(strstr(message, got));
    assert_non_null(strstr(message, "the key given"));
    assert_null(strstr(message, "--server-key"));
    troc_client_set_server_key(f->client, s.territory.public_key);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_client_close(f->client);
    server_stop(&s);
    /* With an expected key, nothing is pinned. */
    assert_int_equal(access(f->known, F_OK), -1);
}

static void test_submit_and_request_refusal(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *ok = payment(f, 2050);
    troc_envelope *over = payment(f, 500000);
    const troc_envelope *list[] = {ok, over};
    troc_submit_result results[2];
    assert_int_equal(troc_client_submit(f->client, list, 2, results, 0), 0);
    uint8_t id[TROC_ID_SIZE];
    troc_envelope_id(ok, id);
    assert_int_equal(results[0].code, TROC_RESULT_OK);
    assert_memory_equal(results[0].id, id, TROC_ID_SIZE);
    assert_int_equal(results[0].journal_seq, 10);
    assert_int_equal(results[0].timestamp_us, 1714564800000000LL);
    assert_null(results[0].detail);
    assert_int_equal(results[1].code, TROC_RESULT_EXCEEDS_CREDIT_LIMIT);
    assert_string_equal(results[1].detail, "over the line");
    /* A request-level refusal keeps the connection. */
    troc_balance balance;
    assert_int_equal(troc_client_balance(f->client, "bob", &balance), TROC_EDENIED);
    assert_string_equal(troc_client_error_message(f->client), "a member reads only its own account");
    assert_true(troc_client_connected(f->client));
    assert_int_equal(troc_client_submit(f->client, list, 1, results, 0), 0);
    assert_int_equal(results[0].journal_seq, 30);
    /* Envelopes must be signed, and a submit holds 1..max of them. */
    troc_envelope *empty = NULL;
    assert_int_equal(troc_envelope_create(&empty), 0);
    const troc_envelope *bad[] = {empty};
    assert_int_equal(troc_client_submit(f->client, bad, 1, results, 0), TROC_EUSAGE);
    assert_int_equal(troc_client_submit(f->client, list, 0, results, 0), TROC_EUSAGE);
    troc_envelope_free(empty);
    troc_client_close(f->client);
    server_stop(&s);
    troc_envelope_free(ok);
    troc_envelope_free(over);
}

/* Checks that `result` answers a batch of `count` items refused whole:
 * one code per item, each the batch's. */
static void assert_refused_whole(const troc_submit_result *result, size_t count) {
    assert_int_equal(result->code, TROC_RESULT_UNKNOWN_PAYER);
    assert_int_equal(result->item_count, count);
    assert_non_null(result->item_codes);
    for (size_t i = 0; i < count; i++) assert_int_equal(result->item_codes[i], TROC_RESULT_UNKNOWN_PAYER);
}

/* A batch the ledger refuses as a whole is answered with its code alone;
 * troc.h promises one code per item all the same, synchronous or
 * pipelined, and none for an envelope that is no batch. */
static void test_batch_refused_whole_has_a_code_per_item(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_refuse_whole, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    /* A large batch, within what the test server reads in one frame. */
    enum { LARGE = 1500 };
    troc_batch_item items[LARGE];
    for (size_t i = 0; i < LARGE; i++) items[i] = (troc_batch_item){.payee = "bob", .amount_cents = 1};
    troc_envelope *small = NULL, *large = NULL;
    assert_int_equal(troc_envelope_create(&small), 0);
    assert_int_equal(troc_envelope_create(&large), 0);
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, "zed", items, 3, small), 0);
    assert_int_equal(troc_sign_batch(f->client, NULL, NULL, "zed", items, LARGE, large), 0);
    troc_envelope *single = payment(f, 700);
    const troc_envelope *list[] = {small, single, large};
    troc_submit_result results[3];
    assert_int_equal(troc_client_submit(f->client, list, 3, results, 0), 0);
    assert_refused_whole(&results[0], 3);
    assert_null(results[1].item_codes);
    assert_int_equal(results[1].item_count, 0);
    assert_refused_whole(&results[2], LARGE);
    /* The same through the pipelined interface, the requests answered out
     * of the order the in-flight table keeps them in. */
    uint64_t first = 0, second = 0;
    assert_int_equal(troc_client_send(f->client, (const troc_envelope *const[]){single}, 1, &first), 0);
    assert_int_equal(troc_client_send(f->client, (const troc_envelope *const[]){small}, 1, &second), 0);
    troc_reply reply;
    assert_int_equal(troc_client_receive(f->client, &reply), 0);
    assert_int_equal(reply.request_id, first);
    assert_null(reply.results[0].item_codes);
    assert_int_equal(troc_client_receive(f->client, &reply), 0);
    assert_int_equal(reply.request_id, second);
    assert_refused_whole(&reply.results[0], 3);
    troc_client_close(f->client);
    server_stop(&s);
    troc_envelope_free(small);
    troc_envelope_free(large);
    troc_envelope_free(single);
}

/* Waits (at most 5 s) until the client sees that the server closed its
 * connection. */
static void wait_until_disconnected(troc_client *client) {
    for (int i = 0; i < 500 && troc_client_connected(client); i++) {
        struct timespec pause = {.tv_nsec = 10 * 1000000L};
        nanosleep(&pause, NULL);
    }
    assert_false(troc_client_connected(client));
}

/* A connection trocd closed for idleness is reported as closed, with
 * nothing sent, not as a timeout: troc_client_connected() turns false, the
 * next read fails with TROC_ECLOSED saying to reconnect, and a submit's
 * retry reconnects and sends its envelope once. */
static void test_idle_close_reported_as_closed(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_idle_close_twice, 3);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    wait_until_disconnected(f->client);
    troc_balance balance;
    int rc = troc_client_balance(f->client, NULL, &balance);
    assert_int_equal(rc, TROC_ECLOSED);
    assert_true(troc_error_is_retryable(rc));
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, "closed the connection after it was idle for too long"));
    assert_non_null(strstr(message, "reconnect and call again"));
    assert_false(names_a_remedy_of_one_program(message));
    assert_false(troc_client_connected(f->client));
    assert_int_equal(troc_client_reconnect(f->client), 0);
    wait_until_disconnected(f->client);
    troc_envelope *envelope = payment(f, 700);
    troc_submit_result result;
    assert_int_equal(troc_client_submit(f->client, (const troc_envelope *const[]){envelope}, 1, &result, 1), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    assert_true(troc_client_connected(f->client));
    troc_client_close(f->client);
    server_stop(&s);
    assert_int_equal(s.submits, 1);
    troc_envelope_free(envelope);
}

/* A connection closed at once, before its first request (a daemon that
 * began to stop as it was made): the call fails as closed, nothing sent,
 * and the message says the connection was just made, not idle; once a
 * request has been answered on it, a close with nothing in flight is one
 * of an idle connection.  A new connection starts fresh again: closed at
 * once, it was just made, whatever the one before it carried. */
static void test_close_before_first_request_not_idle(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, NULL, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    wait_until_disconnected(f->client);
    troc_balance balance;
    assert_int_equal(troc_client_balance(f->client, NULL, &balance), TROC_ECLOSED);
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, "closed the connection just after it was made, before the request was sent"));
    assert_non_null(strstr(message, "nothing was sent"));
    assert_null(strstr(message, "idle"));
    server_stop(&s);

    server_start_named(f, &s, "another.sock", behave_answer_two_then_close_at_once, 2); /* another territory key */
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 700);
    troc_submit_result result;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(troc_client_submit(f->client, (const troc_envelope *const[]){envelope}, 1, &result, 0), 0);
    }
    wait_until_disconnected(f->client);
    assert_int_equal(troc_client_balance(f->client, NULL, &balance), TROC_ECLOSED);
    assert_non_null(strstr(troc_client_error_message(f->client), "while the client was idle"));

    assert_int_equal(troc_client_reconnect(f->client), 0);
    wait_until_disconnected(f->client);
    assert_int_equal(troc_client_balance(f->client, NULL, &balance), TROC_ECLOSED);
    message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, "closed the connection just after it was made, before the request was sent"));
    assert_null(strstr(message, "idle"));
    server_stop(&s);
    troc_envelope_free(envelope);
}

/* "" names no member: refused as a name before anything is sent, rather
 * than taken for NULL (the session's own account). */
static void test_empty_member_name_refused(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_balance balance;
    assert_int_equal(troc_client_balance(f->client, "", &balance), TROC_ENAME);
    assert_non_null(strstr(troc_client_error_message(f->client), "pass NULL"));
    troc_history_line lines[2];
    size_t count = 0;
    uint64_t next = 0;
    assert_int_equal(troc_client_history(f->client, "", 0, lines, 2, &count, &next), TROC_ENAME);
    static troc_member_record record;
    assert_int_equal(troc_client_member_record(f->client, "", &record), TROC_ENAME);
    /* The server's answer to a read that was sent: its refusal. */
    assert_int_equal(troc_client_balance(f->client, "bob", &balance), TROC_EDENIED);
    assert_true(troc_client_connected(f->client));
    troc_client_close(f->client);
    server_stop(&s);
}

static void test_lost_connection_retried_with_same_envelope(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_drop_first, 2);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 700);
    const troc_envelope *list[] = {envelope};
    troc_submit_result result;
    assert_int_equal(troc_client_submit(f->client, list, 1, &result, 1), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    troc_client_close(f->client);
    server_stop(&s);
    assert_int_equal(s.submits, 2);
    assert_true(s.same_body_again); /* the very same signed bytes */
    troc_envelope_free(envelope);
}

static void test_lost_connection_without_retry(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_drop_first, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 700);
    const troc_envelope *list[] = {envelope};
    troc_submit_result result;
    int rc = troc_client_submit(f->client, list, 1, &result, 0);
    assert_int_equal(rc, TROC_ECLOSED);
    assert_true(troc_error_is_retryable(rc));
    assert_false(troc_client_connected(f->client));
    assert_non_null(strstr(troc_client_error_message(f->client), "closed the connection"));
    server_stop(&s);
    troc_envelope_free(envelope);
}

/* The request was read, then the server went away for good: the retry's
 * reconnect fails with an error that retrying cannot cure (the socket is
 * gone), which ends the retries.  The payment may have been applied, so the
 * error stays the lost connection's, one troc_error_is_retryable()
 * accepts, and the message gives both failures. */
static void test_failed_reconnect_keeps_the_outcome_unknown(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_vanish, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 700);
    const troc_envelope *list[] = {envelope};
    troc_submit_result result;
    int rc = troc_client_submit(f->client, list, 1, &result, 3);
    assert_int_equal(rc, TROC_ECLOSED);
    assert_true(troc_error_is_retryable(rc));
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, "closed the connection"));
    assert_non_null(strstr(message, "connecting again to resend it failed"));
    assert_non_null(strstr(message, "No such file or directory"));
    server_stop(&s);
    assert_int_equal(s.submits, 1);
    troc_envelope_free(envelope);
}

/* Request ids go on across a reconnect: a caller that keeps the requests
 * of a failed connection by id never meets one of their ids again.  And a
 * reconnect goes to the address last given, not to an older one. */
static void test_request_ids_go_on_after_reconnect(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer, 2);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 700);
    const troc_envelope *list[] = {envelope};
    uint64_t first = 0, second = 0;
    troc_reply reply;
    assert_int_equal(troc_client_send(f->client, list, 1, &first), 0);
    assert_int_equal(troc_client_receive(f->client, &reply), 0);
    assert_int_equal(reply.request_id, first);
    assert_int_equal(troc_client_reconnect(f->client), 0);
    assert_int_equal(troc_client_send(f->client, list, 1, &second), 0);
    assert_int_equal(troc_client_receive(f->client, &reply), 0);
    assert_int_equal(reply.request_id, second);
    assert_true(second > first);
    /* A refused address leaves nothing to reconnect to, not the older one. */
    assert_int_equal(troc_client_connect(f->client, "no port"), TROC_EUSAGE);
    assert_int_equal(troc_client_reconnect(f->client), TROC_EUSAGE);
    assert_non_null(strstr(troc_client_error_message(f->client), "no address to connect to again"));
    troc_client_close(f->client);
    server_stop(&s);
    troc_envelope_free(envelope);
}

static void test_read_timeout(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_silent, 1);
    assert_int_equal(troc_client_set_timeouts(f->client, 0, 100), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 700);
    const troc_envelope *list[] = {envelope};
    troc_submit_result result;
    assert_int_equal(troc_client_submit(f->client, list, 1, &result, 0), TROC_ETIMEOUT);
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
    troc_envelope_free(envelope);
}

/* A reply trickled a byte every TRICKLE_GAP_MS: each wait is short, but the
 * read timeout bounds the whole call, so it ends before the reply does. */
static void test_read_timeout_bounds_a_trickled_reply(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_trickle_reply, 1);
    assert_int_equal(troc_client_set_timeouts(f->client, 0, 6 * TRICKLE_GAP_MS), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_balance balance;
    assert_int_equal(troc_client_balance(f->client, NULL, &balance), TROC_ETIMEOUT);
    assert_false(troc_client_connected(f->client));
    assert_non_null(strstr(troc_client_error_message(f->client), "no complete answer"));
    server_stop(&s);
    assert_true(s.trickled < s.trickle_size);
}

/* The same for a server that accepts and trickles its hello: the connect
 * timeout bounds the connect and the handshake together. */
static void test_connect_timeout_bounds_a_trickled_hello(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, NULL, 1);
    s.trickle_hello = true;
    assert_int_equal(troc_client_set_timeouts(f->client, 6 * TRICKLE_GAP_MS, 0), 0);
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_ETIMEOUT);
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
    assert_true(s.trickled < s.trickle_size);
}

static void test_busy_server(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, NULL, 1);
    s.busy = true;
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EBUSY);
    assert_non_null(strstr(troc_client_error_message(f->client), "too many connections"));
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
}

/* A server that closes the connection before its hello (trocd does when
 * too many newcomers are being told busy at once): the message says the
 * server may be busy, and the error is one to retry. */
static void test_closed_before_the_hello(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, NULL, 1);
    s.hang_up = true;
    int rc = troc_client_connect(f->client, s.path);
    assert_int_equal(rc, TROC_ECLOSED);
    assert_true(troc_error_is_retryable(rc));
    assert_non_null(strstr(troc_client_error_message(f->client), "may be busy"));
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
}

static void test_foreign_server(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, NULL, 1);
    s.foreign = true;
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EFRAME_SIZE);
    assert_non_null(strstr(troc_client_error_message(f->client), "does not speak the troc protocol"));
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
    /* A frame, but no message of the protocol in it. */
    server_start(f, &s, NULL, 1);
    s.undecodable = true;
    assert_int_equal(troc_client_connect(f->client, s.path), TROC_EHANDSHAKE);
    assert_non_null(strstr(troc_client_error_message(f->client), "does not speak the troc protocol"));
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
}

static void test_unreachable(void **state) {
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/nobody.sock", f->directory);
    assert_int_equal(troc_client_connect(f->client, path), -ENOENT);
    assert_non_null(strstr(troc_client_error_message(f->client), "cannot connect"));
}

/* A host name that does not exist will not exist on a retry either; a
 * resolver that cannot answer now may answer later. */
static void test_name_lookup_failures(void **state) {
    fixture *f = *state;
    const int permanent[] = {EAI_NONAME, EAI_FAIL, EAI_NODATA};
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++) {
        getaddrinfo_error = permanent[i];
        int rc = troc_client_connect(f->client, "nosuch.invalid:7400");
        assert_int_equal(rc, TROC_ENOT_FOUND);
        assert_false(troc_error_is_retryable(rc));
        assert_non_null(strstr(troc_client_error_message(f->client), "cannot resolve nosuch.invalid: "));
    }
    getaddrinfo_error = EAI_AGAIN;
    int rc = troc_client_connect(f->client, "nosuch.invalid:7400");
    assert_true(troc_error_is_retryable(rc));
    assert_non_null(strstr(troc_client_error_message(f->client), "cannot resolve nosuch.invalid: "));
    getaddrinfo_error = 0;
    assert_false(troc_client_connected(f->client));
}

static void test_pipelined_replies_matched_by_id(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_reverse, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelopes[3];
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        envelopes[i] = payment(f, 100 + i);
        const troc_envelope *list[] = {envelopes[i]};
        assert_int_equal(troc_client_send(f->client, list, 1, &ids[i]), 0);
    }
    assert_int_equal(troc_client_in_flight(f->client), 3);
    /* Synchronous calls wait until the pipeline is drained. */
    troc_balance balance;
    assert_int_equal(troc_client_balance(f->client, NULL, &balance), TROC_EUSAGE);
    for (int expected = 2; expected >= 0; expected--) {
        troc_reply reply;
        assert_int_equal(troc_client_receive(f->client, &reply), 0);
        assert_int_equal(reply.request_id, ids[expected]);
        assert_int_equal(reply.error, 0);
        assert_int_equal(reply.result_count, 1);
        uint8_t id[TROC_ID_SIZE];
        troc_envelope_id(envelopes[expected], id);
        assert_memory_equal(reply.results[0].id, id, TROC_ID_SIZE);
    }
    assert_int_equal(troc_client_in_flight(f->client), 0);
    troc_reply reply;
    assert_int_equal(troc_client_receive(f->client, &reply), TROC_EUSAGE);
    troc_client_close(f->client);
    server_stop(&s);
    for (int i = 0; i < 3; i++) troc_envelope_free(envelopes[i]);
}

/* Receives a reply to `request_id` of one OK result for `envelope`. */
static void receive_answer(troc_client *client, uint64_t request_id, const troc_envelope *envelope) {
    troc_reply reply;
    assert_int_equal(troc_client_receive(client, &reply), 0);
    assert_int_equal(reply.request_id, request_id);
    assert_int_equal(reply.error, 0);
    assert_int_equal(reply.result_count, 1);
    assert_int_equal(reply.results[0].code, TROC_RESULT_OK);
    uint8_t id[TROC_ID_SIZE];
    troc_envelope_id(envelope, id);
    assert_memory_equal(reply.results[0].id, id, TROC_ID_SIZE);
}

/* Receives the news that `request_id` was sent and never answered: an
 * error the caller may retry (the same envelopes, on a new connection),
 * naming the request. */
static void receive_unknown(troc_client *client, uint64_t request_id) {
    troc_reply reply;
    int rc = troc_client_receive(client, &reply);
    assert_true(rc < 0);
    assert_true(troc_error_is_retryable(rc));
    assert_int_equal(reply.request_id, request_id);
    assert_int_equal(reply.result_count, 0);
    assert_non_null(strstr(troc_client_error_message(client), "outcome is unknown"));
    assert_false(troc_client_connected(client));
}

/* The server answers two of five pipelined requests and closes: the two
 * replies come first, then each other request, in the order sent, as one
 * whose outcome is unknown, and only then is the client empty. */
static void test_pipelined_close_reports_each_unanswered_request(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_answer_two_then_close, 1);
    assert_int_equal(troc_client_set_known_territories(f->client, NULL), 0); /* the next server has another key */
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelopes[5];
    uint64_t ids[5];
    for (int i = 0; i < 5; i++) {
        envelopes[i] = payment(f, 100 + i);
        const troc_envelope *list[] = {envelopes[i]};
        assert_int_equal(troc_client_send(f->client, list, 1, &ids[i]), 0);
    }
    receive_answer(f->client, ids[0], envelopes[0]);
    receive_answer(f->client, ids[1], envelopes[1]);
    for (int i = 2; i < 5; i++) {
        receive_unknown(f->client, ids[i]);
        assert_int_equal(troc_client_in_flight(f->client), (size_t)(4 - i));
    }
    troc_reply reply;
    assert_int_equal(troc_client_receive(f->client, &reply), TROC_ECLOSED);
    assert_int_equal(reply.request_id, 0);
    server_stop(&s);
    assert_int_equal(s.submits, 2);
    /* The client connects again as usual, with nothing left over. */
    server_start(f, &s, behave_answer, 1);
    assert_int_equal(troc_client_reconnect(f->client), 0);
    troc_submit_result result;
    const troc_envelope *again[] = {envelopes[2]};
    assert_int_equal(troc_client_submit(f->client, again, 1, &result, 0), 0);
    assert_int_equal(result.code, TROC_RESULT_OK);
    troc_client_close(f->client);
    server_stop(&s);
    for (int i = 0; i < 5; i++) troc_envelope_free(envelopes[i]);
}

/* Two replies arrive, then the server is gone and writing the requests
 * queued after them fails: in a send whose output buffer is full
 * (`in_receive` false), or in the receive that flushes them.  The replies
 * already in the socket are still received, in order, then every request
 * queued behind them is reported unknown. */
static void write_failure_keeps_received_replies(fixture *f, bool in_receive) {
    server s;
    server_start(f, &s, behave_answer_two_then_close, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *answered[2];
    uint64_t ids[2];
    for (int i = 0; i < 2; i++) {
        answered[i] = payment(f, 100 + i);
        const troc_envelope *list[] = {answered[i]};
        assert_int_equal(troc_client_send(f->client, list, 1, &ids[i]), 0);
    }
    assert_int_equal(troc_client_flush(f->client), 0);
    server_stop(&s); /* both answered, and the connection closed */
    troc_envelope *filler = payment(f, 300);
    const troc_envelope *fillers[TROC_SUBMIT_ENVELOPES_MAX];
    for (size_t i = 0; i < TROC_SUBMIT_ENVELOPES_MAX; i++) fillers[i] = filler;
    uint64_t first_queued = 0, last_queued = 0, id = 0;
    if (in_receive) {
        /* Queued, not yet written: the receive writes it first. */
        assert_int_equal(troc_client_send(f->client, fillers, 1, &first_queued), 0);
        last_queued = first_queued;
    } else {
        /* Large submits fill the output buffer until writing it fails. */
        int rc = 0;
        for (int i = 2; i < TROC_REQUESTS_IN_FLIGHT_MAX && rc == 0; i++) {
            rc = troc_client_send(f->client, fillers, TROC_SUBMIT_ENVELOPES_MAX, &id);
            if (rc == 0 && first_queued == 0) first_queued = id;
            if (rc == 0) last_queued = id;
        }
        assert_true(troc_error_is_retryable(rc));
        assert_false(troc_client_connected(f->client));
    }
    assert_true(first_queued == ids[1] + 1 && last_queued >= first_queued);
    receive_answer(f->client, ids[0], answered[0]);
    receive_answer(f->client, ids[1], answered[1]);
    assert_false(troc_client_connected(f->client));
    assert_int_equal(troc_client_in_flight(f->client), (size_t)(last_queued - first_queued + 1));
    /* Nothing more is sent on a connection that failed. */
    assert_int_equal(troc_client_send(f->client, fillers, 1, &id), TROC_ECLOSED);
    for (uint64_t queued = first_queued; queued <= last_queued; queued++) receive_unknown(f->client, queued);
    assert_int_equal(troc_client_in_flight(f->client), 0);
    troc_reply reply;
    assert_int_equal(troc_client_receive(f->client, &reply), TROC_ECLOSED);
    troc_envelope_free(filler);
    for (int i = 0; i < 2; i++) troc_envelope_free(answered[i]);
}

static void test_pipelined_send_failure_keeps_received_replies(void **state) {
    write_failure_keeps_received_replies(*state, false);
}

static void test_pipelined_flush_failure_keeps_received_replies(void **state) {
    write_failure_keeps_received_replies(*state, true);
}

/* A payment submitted to a server behaving as `behave` (it reads the
 * request, then answers what cannot be trusted) fails, and the client
 * closes the connection.  The request may have been applied: the error is
 * one troc_error_is_retryable() accepts, so that a caller resubmits it
 * rather than taking it for refused, and the message names the `cause`. */
static void submit_fails_against(fixture *f, behaviour_fn *behave, const char *cause) {
    server s;
    server_start(f, &s, behave, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 100);
    const troc_envelope *list[] = {envelope};
    troc_submit_result result;
    assert_int_equal(troc_client_submit(f->client, list, 1, &result, 0), TROC_ECLOSED);
    assert_true(troc_error_is_retryable(TROC_ECLOSED));
    const char *message = troc_client_error_message(f->client);
    assert_non_null(strstr(message, cause));
    assert_non_null(strstr(message, "the request's outcome is unknown"));
    assert_false(troc_client_connected(f->client));
    server_stop(&s);
    troc_envelope_free(envelope);
}

static void test_stray_reply_is_protocol_error(void **state) {
    submit_fails_against(*state, behave_stray_reply, "sent a reply to no request in flight");
}

static void test_oversized_frame_refused(void **state) {
    submit_fails_against(*state, behave_oversized, "frame");
}

static void test_in_flight_bound(void **state) {
    fixture *f = *state;
    server s;
    server_start(f, &s, behave_silent, 1);
    assert_int_equal(troc_client_connect(f->client, s.path), 0);
    troc_envelope *envelope = payment(f, 100);
    const troc_envelope *list[] = {envelope};
    uint64_t id = 0;
    for (int i = 0; i < TROC_REQUESTS_IN_FLIGHT_MAX; i++) assert_int_equal(troc_client_send(f->client, list, 1, &id), 0);
    assert_int_equal(id, TROC_REQUESTS_IN_FLIGHT_MAX);
    assert_int_equal(troc_client_send(f->client, list, 1, &id), TROC_EBUSY);
    assert_int_equal(troc_client_flush(f->client), 0);
    troc_client_close(f->client);
    server_stop(&s);
    troc_envelope_free(envelope);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_codes_match_engine),
        cmocka_unit_test(test_amounts_and_ids),
        cmocka_unit_test(test_known_default_path),
        cmocka_unit_test_setup_teardown(test_known_pin_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_pin_creates_only_its_directories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_parsing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_invoice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_pointers_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_pins_then_refuses_changed_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_without_known_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_unpinnable_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_with_missing_home_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_bad_known_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_path_with_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_with_expected_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_and_request_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_refused_whole_has_a_code_per_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_close_reported_as_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_before_first_request_not_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_member_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_retried_with_same_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_without_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reconnect_keeps_the_outcome_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_ids_go_on_after_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout_bounds_a_trickled_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout_bounds_a_trickled_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_before_the_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_lookup_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_replies_matched_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_close_reports_each_unanswered_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_send_failure_keeps_received_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_flush_failure_keeps_received_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stray_reply_is_protocol_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_frame_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_flight_bound, setup, teardown),
    };
    if (troc_init() != 0) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
