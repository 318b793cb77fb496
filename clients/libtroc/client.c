/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client: its settings, the connection and the handshake, and what the
 * session learnt about itself.
 *
 * Connecting runs the handshake of engine/net/handshake.h over the socket:
 * the client's hello in clear, the server's signed hello, then (sealed from
 * here on) the client's proof and the server's AuthResult.  The territory
 * key is checked after the server's signature over it has verified and
 * before the client proves anything, against the key set by the caller or,
 * failing that, the one pinned in the known-territories file; a first
 * connection that completes pins it, or fails when it cannot (an unpinned
 * key would be trusted again at every connection).  A mismatch is reported
 * with both keys and the file's line, because the user must decide whether
 * the territory was re-initialised or someone is impersonating it.
 *
 * Every failure of the known-territories file is TROC_EKNOWN_TERRITORIES,
 * and its message says what is wrong and the fixes every program offers
 * (make the file writable, fix a line, set HOME or XDG_CONFIG_HOME); the
 * others depend on the program (troc's --server-key, a library caller's
 * troc_client_set_server_key()), which adds its own.
 *
 * All buffers are allocated at create, so connecting and exchanging
 * requests never allocate beyond what protobuf-c needs past the arena.
 */
#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_int.h"
#include "net/handshake.h"

static void *arena_alloc(void *data, size_t size) {
    troc__arena *arena = data;
    size_t aligned = (size + 15u) & ~(size_t)15u;
    if (aligned >= size && arena->size - arena->used >= aligned) {
        void *pointer = arena->memory + arena->used;
        arena->used += aligned;
        return pointer;
    }
    return malloc(size);
}

static void arena_free(void *data, void *pointer) {
    troc__arena *arena = data;
    uint8_t *byte = pointer;
    if (byte >= arena->memory && byte < arena->memory + arena->size) return; /* released at reset */
    free(pointer);
}

int troc_client_create(troc_client **client_out) {
    assert(client_out != NULL);
    *client_out = NULL;
    int rc = troc_crypto_init();
    if (rc != 0) return rc;
    troc_client *client = calloc(1, sizeof *client);
    if (client == NULL) return -ENOMEM;
    client->fd = -1;
    client->next_request_id = 1;
    client->connect_timeout_ms = TROC_CLIENT_CONNECT_TIMEOUT_MS;
    client->read_timeout_ms = TROC_CLIENT_READ_TIMEOUT_MS;
    client->input = malloc(TROC__CLIENT_FRAME_BUFFER_SIZE);
    client->output = malloc(TROC__CLIENT_FRAME_BUFFER_SIZE);
    client->plaintext = malloc(TROC_FRAME_SIZE_MAX);
    client->arena.memory = malloc(TROC__CLIENT_ARENA_SIZE);
    client->in_flight_batch_items = malloc(TROC_REQUESTS_IN_FLIGHT_MAX * sizeof *client->in_flight_batch_items);
    client->uniform_codes = malloc((size_t)TROC__CLIENT_RESULT_CODES * TROC_BATCH_ITEMS_MAX * sizeof(int));
    client->arena.size = TROC__CLIENT_ARENA_SIZE;
    client->allocator = (ProtobufCAllocator){arena_alloc, arena_free, &client->arena};
    client->known_default_error =
        troc__known_default_path(client->known_path, sizeof client->known_path, &client->known_directories_max);
    if (client->input == NULL || client->output == NULL || client->plaintext == NULL || client->arena.memory == NULL ||
        client->in_flight_batch_items == NULL || client->uniform_codes == NULL) {
        troc_client_free(client);
        return -ENOMEM;
    }
    *client_out = client;
    return 0;
}

void troc_client_free(troc_client *client) {
    if (client == NULL) return;
    troc_client_close(client);
    free(client->input);
    free(client->output);
    free(client->plaintext);
    free(client->arena.memory);
    free(client->in_flight_batch_items);
    free(client->uniform_codes);
    sodium_memzero(client, sizeof *client);
    free(client);
}

int troc_client_set_key(troc_client *client, const troc_key *key) {
    assert(client != NULL);
    if (key == NULL) return troc__client_fail(client, TROC_EUSAGE, "no key given");
    client->keypair = key->keypair;
    client->has_key = true;
    return 0;
}

int troc_client_set_key_file(troc_client *client, const char *path) {
    assert(client != NULL);
    if (path == NULL) return troc__client_fail(client, TROC_EUSAGE, "no key file given");
    int rc = troc_keyfile_read(path, &client->keypair);
    if (rc != 0) {
        char message[1024];
        troc_keyfile_describe_error(path, rc, message, sizeof message);
        return troc__client_fail(client, rc, "%s", message);
    }
    client->has_key = true;
    return 0;
}

int troc_client_set_server_key(troc_client *client, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE]) {
    assert(client != NULL);
    client->has_server_key = territory_key != NULL;
    if (territory_key != NULL) memcpy(client->server_key, territory_key, TROC_PUBLIC_KEY_SIZE);
    return 0;
}

int troc_client_set_known_territories(troc_client *client, const char *path) {
    assert(client != NULL);
    if (path == NULL) {
        client->known_path[0] = '\0';
        client->known_default_error = 0;
        return 0;
    }
    if (path[0] == '\0' || strlen(path) >= sizeof client->known_path) {
        return troc__client_fail(client, TROC_EUSAGE, "known-territories path is empty or too long");
    }
    strcpy(client->known_path, path);
    client->known_directories_max = 1; /* its own directory, not its parents */
    client->known_default_error = 0;
    return 0;
}

int troc_client_set_timeouts(troc_client *client, int connect_timeout_ms, int read_timeout_ms) {
    assert(client != NULL);
    if (connect_timeout_ms < 0 || read_timeout_ms < 0) {
        return troc__client_fail(client, TROC_EUSAGE, "timeouts must be positive (0: the default)");
    }
    client->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : TROC_CLIENT_CONNECT_TIMEOUT_MS;
    client->read_timeout_ms = read_timeout_ms > 0 ? read_timeout_ms : TROC_CLIENT_READ_TIMEOUT_MS;
    return 0;
}

void troc__client_disconnect(troc_client *client) {
    assert(client != NULL);
    if (client->fd >= 0) close(client->fd);
    client->fd = -1;
    troc_channel_clear(&client->channel);
    client->role = TROC_SESSION_NONE;
    client->member[0] = client->territory[0] = client->unit[0] = '\0';
    client->input_start = client->input_end = 0;
    client->output_size = 0;
    client->requests_sent = false;
}

void troc__client_reset(troc_client *client) {
    assert(client != NULL);
    troc__client_reply_release(client);
    troc__client_disconnect(client);
    client->in_flight_count = 0;
    client->lost_error = 0;
}

void troc_client_close(troc_client *client) {
    if (client == NULL) return;
    troc__client_reset(client);
}

bool troc_client_connected(const troc_client *client) {
    assert(client != NULL);
    /* A connection that failed is no longer one, even while the replies
     * already on their way are still read from its socket.  With nothing
     * in flight the server sends nothing unless it is closing the
     * connection (idle for too long, stopping: see request.c), so bytes
     * or the end of the stream waiting then mean it is gone. */
    if (client->fd < 0 || client->lost_error != 0) return false;
    return client->in_flight_count != 0 || !troc__io_readable(client->fd);
}

const char *troc_client_error_message(const troc_client *client) {
    assert(client != NULL);
    return client->message;
}

troc_session_role troc_client_role(const troc_client *client) {
    assert(client != NULL);
    return client->role;
}

const char *troc_client_member(const troc_client *client) {
    assert(client != NULL);
    return client->member;
}

const char *troc_client_territory(const troc_client *client) {
    assert(client != NULL);
    return client->territory;
}

const char *troc_client_unit(const troc_client *client) {
    assert(client != NULL);
    return client->unit;
}

const uint8_t *troc_client_territory_key(const troc_client *client) {
    assert(client != NULL);
    if (client->fd >= 0 && client->role != TROC_SESSION_NONE) return client->territory_key;
    return client->has_server_key ? client->server_key : NULL;
}

/* ------------------------------------------------------------ handshake */

/* What the presented territory key must equal, if anything is known. */
typedef struct expectation {
    bool known;                                /* a key to compare with */
    bool pinned;                               /* from the file (not set by the caller) */
    int line;                                  /* its line in the file */
    uint8_t key[TROC_PUBLIC_KEY_SIZE];
} expectation;

static int expectation_load(troc_client *client, expectation *expected) {
    memset(expected, 0, sizeof *expected);
    if (client->has_server_key) {
        expected->known = true;
        memcpy(expected->key, client->server_key, TROC_PUBLIC_KEY_SIZE);
        return 0;
    }
    if (client->known_default_error != 0) {
        /* Connecting unchecked would silently drop the protection the user
         * was promised; disabling it must be the caller's choice. */
        return troc__client_fail(client, TROC_EKNOWN_TERRITORIES, "%s",
                                 client->known_default_error == -ENAMETOOLONG
                                     ? "cannot check the territory's key: the known-territories path under "
                                       "XDG_CONFIG_HOME or HOME is too long; set XDG_CONFIG_HOME to a shorter "
                                       "directory"
                                     : "cannot check the territory's key: no home directory to keep the "
                                       "known-territories file in (HOME is unset or relative, and the "
                                       "password database names none); set HOME");
    }
    if (client->known_path[0] == '\0') return 0;
    if (!troc__known_address_valid(client->address)) {
        /* The file's fields are separated by spaces and '#' starts a
         * comment: such a socket path cannot have a line of its own. */
        return troc__client_fail(client, TROC_EKNOWN_TERRITORIES,
                                 "the territory key of '%s' cannot be pinned in %s: the path holds a space, '#' or "
                                 "control character",
                                 client->address, client->known_path);
    }
    /* A file that cannot be read, or holds a malformed line, is the local
     * configuration's fault, not the server's: one code for every way the
     * file fails, so that a caller tells them from the network's. */
    int rc = troc__known_lookup(client->known_path, client->address, expected->key, &expected->known, &expected->line);
    if (rc == TROC_ECORRUPT) {
        return troc__client_fail(client, TROC_EKNOWN_TERRITORIES,
                                 "%s, line %d, is not 'SERVER-ADDRESS TERRITORY-KEY'; fix or remove it",
                                 client->known_path, expected->line);
    }
    if (rc == TROC_ELIMIT) {
        return troc__client_fail(client, TROC_EKNOWN_TERRITORIES,
                                 "%s holds %d lines or more, more than any client needs; remove the "
                                 "territories no longer used",
                                 client->known_path, TROC_KNOWN_TERRITORIES_LINES_MAX);
    }
    if (rc != 0) {
        return troc__client_fail(client, TROC_EKNOWN_TERRITORIES, "cannot read %s: %s", client->known_path,
                                 troc_strerror(rc));
    }
    expected->pinned = expected->known;
    return 0;
}

static int key_mismatch(troc_client *client, const expectation *expected, const uint8_t *presented) {
    char want[TROC_PUBLIC_KEY_HEX_SIZE], got[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(expected->key, want);
    troc_public_key_to_hex(presented, got);
    if (expected->pinned) {
        return troc__client_fail(client, TROC_ESERVER_KEY,
                                 "THE TERRITORY KEY OF %s HAS CHANGED.\n"
                                 "  pinned in %s, line %d: %s\n"
                                 "  presented by the server now:  %s\n"
                                 "Someone may be impersonating the territory, or it was re-initialised.  If the new\n"
                                 "key is right (ask the territory's administrator), remove that line and connect again.",
                                 client->address, client->known_path, expected->line, want, got);
    }
    return troc__client_fail(client, TROC_ESERVER_KEY,
                             "the territory key of %s is not the one expected.\n"
                             "  expected (the key given):    %s\n"
                             "  presented by the server now: %s",
                             client->address, want, got);
}

/* Hello out, server hello in: checks the territory's signature and key and
 * writes the sealed proof into the output. */
static int handshake_hello(troc_client *client, troc_handshake *handshake, const expectation *expected,
                           troc__deadline deadline) {
    uint8_t frame[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t size = 0;
    int rc = troc_handshake_client_hello(handshake, frame, &size);
    if (rc == 0) rc = troc__client_queue(client, frame, size, false);
    if (rc == 0) rc = troc__client_flush_until(client, deadline);
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    if (rc == 0) rc = troc__client_read_payload(client, deadline, false, &payload, &payload_size);
    if (rc == TROC_ECLOSED || rc == -ECONNRESET || rc == -EPIPE) {
        /* Closed before a word: trocd does so to newcomers when it is
         * already telling too many others it is busy (each such answer
         * waits up to 2 s to be read), and when it is stopping. */
        return troc__client_fail(client, rc, "%s closed the connection before answering the handshake: the server "
                                 "may be busy (too many connections at once) or stopping; retry later",
                                 client->address);
    }
    if (rc == TROC_EFRAME_SIZE || rc == TROC_EFRAME) {
        /* What comes back is not a frame at all: another service (a web
         * server, ssh) listens there. */
        return troc__client_fail(client, rc, "%s does not speak the troc protocol (%s): is this trocd's address and port?",
                                 client->address, troc_strerror(rc));
    }
    if (rc != 0) return rc;
    /* The exact bytes received: the signature and the transcript cover them. */
    rc = troc_handshake_client_auth(handshake, payload, payload_size, NULL, &client->keypair, &client->channel, frame,
                                    &size);
    if (rc == TROC_EHANDSHAKE) {
        /* A server that refuses the connection (busy) says so in an error
         * frame; what does not even decode comes from another service. */
        int refusal = troc__client_decode(client, payload, payload_size);
        if (refusal == TROC_EDECODE) {
            return troc__client_fail(client, rc,
                                     "%s does not speak the troc protocol (its answer cannot be decoded): is this "
                                     "trocd's address and port?",
                                     client->address);
        }
        if (refusal != 0) return refusal;
    }
    if (rc != 0) {
        return troc__client_fail(client, rc, "%s is not a troc server we can talk to: %s", client->address,
                                 troc_strerror(rc));
    }
    if (expected->known && sodium_memcmp(handshake->territory_key, expected->key, TROC_PUBLIC_KEY_SIZE) != 0) {
        return key_mismatch(client, expected, handshake->territory_key);
    }
    return troc__client_queue(client, frame, size, true);
}

/* Proof out, AuthResult in: the session's role and member. */
static int handshake_auth(troc_client *client, troc__deadline deadline) {
    int rc = troc__client_flush_until(client, deadline);
    if (rc == 0) rc = troc__client_read_frame(client, deadline, true);
    if (rc != 0) return rc;
    const Troc__V1__AuthResult *auth = client->reply->auth_result;
    if (client->reply->kind_case != TROC__V1__SERVER_FRAME__KIND_AUTH_RESULT) {
        return troc__client_fail(client, TROC_EHANDSHAKE, "%s answered the handshake with something else",
                                 client->address);
    }
    char hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(client->keypair.public_key, hex);
    bool member = auth->has_role && auth->role == TROC__V1__ROLE__ROLE_MEMBER;
    bool admin = auth->has_role && auth->role == TROC__V1__ROLE__ROLE_ADMIN;
    if (!member && !admin) {
        /* The server does not say which of the two: what to do differs,
         * since a revoked key is never registered again; and so does whose
         * key it is meant to be, since administrators' keys are registered
         * once, when the territory is made. */
        return troc__client_fail(client, TROC_EDENIED,
                                 "the key %s is not an active key in territory %s: a member's key never "
                                 "registered there needs an administrator to register it (an administrator's "
                                 "keys are the ones the territory was made with); a revoked one can never be "
                                 "registered again: make a new key and have that one registered",
                                 hex, client->territory);
    }
    if (member && (auth->member == NULL || strlen(auth->member) > TROC_NAME_LENGTH_MAX || auth->member[0] == '\0')) {
        return troc__client_fail(client, TROC_EHANDSHAKE, "%s named no member for this session", client->address);
    }
    client->role = member ? TROC_SESSION_MEMBER : TROC_SESSION_ADMIN;
    troc__copy_text(client->member, sizeof client->member, member ? auth->member : "");
    return 0;
}

static int handshake_run(troc_client *client, const expectation *expected, troc__deadline deadline) {
    troc_handshake handshake;
    int rc = handshake_hello(client, &handshake, expected, deadline);
    if (rc == 0) {
        memcpy(client->territory_key, handshake.territory_key, TROC_PUBLIC_KEY_SIZE);
        troc__copy_text(client->territory, sizeof client->territory, handshake.territory);
        troc__copy_text(client->unit, sizeof client->unit, handshake.unit);
        rc = handshake_auth(client, deadline);
    }
    troc_handshake_clear(&handshake);
    troc__client_reply_release(client);
    return rc;
}

/* When the default file could not be created because the directory above
 * the configuration directory is missing (the home directory, HOME or the
 * password database's, or the parent of XDG_CONFIG_HOME), says so and
 * returns true.  libtroc never creates it (a mistyped HOME would grow a
 * tree in the wrong place), so the message names it and the variables to
 * fix, rather than suggesting to create it.  A directory that exists
 * (the configuration directory a link to nothing, say) is not this case. */
static bool home_missing(troc_client *client) {
    char base[TROC__CLIENT_PATH_SIZE];
    troc__copy_text(base, sizeof base, client->known_path);
    for (int i = 0; i < 3; i++) { /* drop "known_territories", "troc", and the configuration directory */
        char *slash = strrchr(base, '/');
        if (slash == NULL) break;
        *slash = '\0';
    }
    struct stat st;
    if (base[0] == '\0' || lstat(base, &st) == 0 || errno != ENOENT) return false;
    troc__client_fail(client, TROC_EKNOWN_TERRITORIES,
                             "cannot record the territory key of %s in %s: the directory %s does not exist (a home "
                             "directory is never created).  Without the key recorded it could not be checked "
                             "next time, so the connection is closed: fix HOME (or XDG_CONFIG_HOME, whichever names "
                             "that directory), or set XDG_CONFIG_HOME to a directory you may write",
                             client->address, client->known_path, base);
    return true;
}

/* Trust on first use: records the key the territory presented.  A key that
 * cannot be recorded fails the connection, because every later connection
 * would be a first use too and accept any key. */
static int pin_first_use(troc_client *client) {
    int rc = troc__known_pin(client->known_path, client->known_directories_max, client->address,
                             client->territory_key);
    if (rc == 0) return 0;
    /* The default file (its directory and the configuration directory may
     * be created) moves with XDG_CONFIG_HOME; a file the caller named does
     * not. */
    const bool default_file = client->known_directories_max > 1;
    if (default_file && rc == -ENOENT && home_missing(client)) return TROC_EKNOWN_TERRITORIES;
    return troc__client_fail(client, TROC_EKNOWN_TERRITORIES,
                             "cannot record the territory key of %s in %s: %s.  Without it the key could not be "
                             "checked next time, so the connection is closed: make that file writable (or create "
                             "its directory)%s",
                             client->address, client->known_path, troc_strerror(rc),
                             default_file ? ", or set XDG_CONFIG_HOME to a directory you may write" : "");
}

static int connect_address(troc_client *client) {
    expectation expected;
    int rc = expectation_load(client, &expected);
    if (rc != 0) return rc;
    /* One deadline for the connect and the handshake: the connect timeout
     * bounds the whole of it. */
    troc__deadline deadline;
    rc = troc__io_connect(client->address, client->connect_timeout_ms, &deadline, &client->fd, client->message,
                          sizeof client->message);
    if (rc != 0) return rc;
    rc = handshake_run(client, &expected, deadline);
    if (rc == 0 && !expected.known && client->known_path[0] != '\0') rc = pin_first_use(client);
    if (rc != 0) troc__client_reset(client);
    return rc;
}

/* True when `address` may be connected to: a socket path (holding a '/')
 * of any characters, as file names may hold spaces, or a HOST:PORT without
 * spaces or control characters (io.c checks its shape). */
static bool address_valid(const char *address) {
    size_t length = strlen(address);
    if (length == 0 || length > TROC_ADDRESS_LENGTH_MAX) return false;
    return strchr(address, '/') != NULL || troc__known_address_valid(address);
}

int troc_client_connect(troc_client *client, const char *address) {
    assert(client != NULL);
    troc_client_close(client);
    client->message[0] = '\0';
    client->address[0] = '\0'; /* a refused address leaves none for troc_client_reconnect, not an older one */
    if (address == NULL || !address_valid(address)) {
        return troc__client_fail(client, TROC_EUSAGE, "'%s' is not a server address (HOST:PORT or a socket path)",
                                 address != NULL ? address : "");
    }
    if (!client->has_key) return troc__client_fail(client, TROC_EUSAGE, "no key: set one before connecting");
    strcpy(client->address, address);
    return connect_address(client);
}

int troc_client_reconnect(troc_client *client) {
    assert(client != NULL);
    if (client->address[0] == '\0') {
        return troc__client_fail(client, TROC_EUSAGE, "no address to connect to again: troc_client_connect first");
    }
    troc_client_close(client);
    client->message[0] = '\0';
    return connect_address(client);
}
