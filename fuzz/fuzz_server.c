/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the server end to end: a real server
 * (engine/server) over a real ledger in a directory of this process,
 * listening on a Unix socket in a thread of the harness (fuzz_ledger.h).
 * Each input is a stream of plaintexts, each prefixed by its 2-byte
 * big-endian length; the harness opens a session with the administrator's
 * key (so that every read is allowed), seals each plaintext as one frame of
 * the channel and sends it, then sends a StatsQuery and reads until every
 * request it sent is answered or the server closes the connection.  The
 * server must neither crash (sanitizers watch both threads) nor hang (the
 * harness aborts when an answer does not come).
 *
 * Signatures are checked for real.  The territory's key, the
 * administrator's and those of members m0 .. m3 (admitted with their credit
 * lines at start) are the fixed keys of fuzz_keys.h: troc_keypair_generate
 * is wrapped to give the territory's, the only key pair the harness's
 * process generates.  So the seeds make_request_seeds writes -- transfers,
 * a batch, invoices that form a cycle, a clearing run, each signed for this
 * territory -- are items the ledger applies, and the fuzzer starts inside
 * signature checking, the verification queue, the writer and the clearing
 * engine rather than at the refusal of a signature.
 *
 * Waiting for every answer, not only the StatsQuery's, keeps a submit's
 * commit inside the input that sent it: reads are answered at once, a
 * submit only after its commit.
 *
 * Every input starts from the same ledger, the members admitted and
 * nothing else: after an input that journaled anything, or that sent a
 * submit the server closed the connection before answering (its commit
 * may still be on its way), the template is copied back (fuzz_ledger.h).
 * So a committed seed's items apply on every run, not only the first
 * (they would be refused as duplicate ids), libFuzzer's second run of an
 * input when it looks for a leak takes the same path as the first, and a
 * finding reproduces from its one input.  About one input in twelve pays for
 * the restart; each already pays for a handshake with real signatures, so
 * on one core from the committed corpus it runs 257 inputs a second,
 * against 223 when one ledger, on /tmp, grew for the whole run.
 *
 * The daemon's log is formatted and dropped (troc_log is wrapped): a line
 * per connection would swamp libFuzzer's report and slow every run, while
 * formatting still lets the sanitizers check each line's arguments.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/limits.h"
#include "client_int.h"
#include "fuzz_keys.h"
#include "fuzz_ledger.h"
#include "ledger/ledger.h"
#include "net/channel.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "server/log.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __wrap_troc_keypair_generate(troc_keypair *keypair);
void __wrap_troc_log(const char *format, ...) TROC_PRINTF(1, 2);

#define PING_REQUEST_ID UINT64_C(0xfeedface)

static struct {
    bool started;
    fuzz_ledger served;                    /* the ledger, its server and its template (fuzz_ledger.h) */
    troc_keypair admin;                    /* the administrator's key of fuzz_keys.h */
} harness;

static uint8_t frame_in[TROC_FRAME_HEADER_SIZE + TROC_FRAME_SIZE_MAX];
static uint8_t frame_out[TROC_FRAME_HEADER_SIZE + TROC_FRAME_SIZE_MAX];

static void check(bool ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "fuzz_server: %s\n", what);
    abort();
}

/* The territory's key is the fixed one the seeds are signed for. */
void __wrap_troc_keypair_generate(troc_keypair *keypair) {
    troc_key *key = fuzz_key(FUZZ_TERRITORY);
    check(key != NULL, "cannot make the territory's key");
    *keypair = key->keypair;
    troc_key_free(key);
}

void __wrap_troc_log(const char *format, ...) {
    char line[1024];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(line, sizeof line, format, arguments);
    va_end(arguments);
}

/* Stops the server and removes the ledger when libFuzzer exits (a crash
 * leaves it to the next run of the harness, fuzz_workdir.h). */
static void harness_stop(void) {
    fuzz_ledger_close(&harness.served, "fuzz_server");
}

/* Admits the members through a libtroc session of the administrator. */
static void members_admit(void) {
    troc_key *admin = fuzz_key(-1), *members[FUZZ_MEMBERS];
    for (int i = 0; i < FUZZ_MEMBERS; i++) members[i] = fuzz_key(i);
    troc_client *client = NULL;
    check(troc_client_create(&client) == 0, "cannot create a client");
    troc_client_set_key(client, admin);
    troc_client_set_server_key(client, troc_ledger_territory_keypair(harness.served.ledger)->public_key);
    check(troc_client_connect(client, harness.served.socket_path) == 0, "cannot open the administrator's session");
    check(fuzz_members_admit(client, members) == 0, "cannot admit the members");
    troc_client_free(client);
    troc_key_free(admin);
    for (int i = 0; i < FUZZ_MEMBERS; i++) troc_key_free(members[i]);
}

/* Creates the ledger, admits the members and keeps it as the template. */
static void start_once(void) {
    if (harness.started) return;
    harness.started = true;
    check(troc_init() == 0 && troc_crypto_init() == 0, "cannot initialise libsodium");
    troc_key *admin = fuzz_key(-1);
    check(admin != NULL, "cannot make the administrator's key");
    harness.admin = admin->keypair;
    troc_key_free(admin);
    fuzz_ledger_create(&harness.served, "troc-fuzz-server", harness.admin.public_key);
    atexit(harness_stop);
    fuzz_ledger_start(&harness.served);
    members_admit();
    fuzz_ledger_template_keep(&harness.served);
}

static bool send_all(int fd, const uint8_t *bytes, size_t size) {
    while (size > 0) {
        ssize_t sent = send(fd, bytes, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return false;
        bytes += sent;
        size -= (size_t)sent;
    }
    return true;
}

/* Reads one frame into frame_in; its size, 0 at the end of the stream. */
static size_t receive_frame(int fd) {
    size_t have = 0, need = TROC_FRAME_HEADER_SIZE, payload = 0;
    while (have < need) {
        ssize_t got = recv(fd, frame_in + have, need - have, 0);
        if (got < 0 && errno == EINTR) continue;
        check(!(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)), "the server stopped answering");
        if (got <= 0) return 0;
        have += (size_t)got;
        if (have == TROC_FRAME_HEADER_SIZE) {
            check(troc_frame_peek(frame_in, have, &payload) >= 0, "the server sent a malformed frame");
            need += payload;
        }
    }
    return have;
}

/* Connects and opens an admin session; the socket, or -1. */
static int session_open(troc_channel *channel) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(fd >= 0, "cannot create a socket");
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, harness.served.socket_path);
    check(connect(fd, (struct sockaddr *)&address, sizeof address) == 0, "cannot connect to the server");
    troc_handshake handshake;
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX], auth[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0, auth_size = 0;
    check(troc_handshake_client_hello(&handshake, hello, &hello_size) == 0, "cannot make a hello");
    troc_frame_header_write(frame_out, hello_size);
    memcpy(frame_out + TROC_FRAME_HEADER_SIZE, hello, hello_size);
    check(send_all(fd, frame_out, TROC_FRAME_HEADER_SIZE + hello_size), "cannot send the hello");
    size_t frame_size = receive_frame(fd);
    check(frame_size > 0, "no server hello");
    check(troc_handshake_client_auth(&handshake, frame_in + TROC_FRAME_HEADER_SIZE, frame_size - TROC_FRAME_HEADER_SIZE,
                                     NULL, &harness.admin, channel, auth, &auth_size) == 0,
          "the server's hello does not check");
    size_t sealed = troc_channel_seal(channel, auth, auth_size, frame_out);
    check(send_all(fd, frame_out, sealed), "cannot send the proof");
    frame_size = receive_frame(fd);
    check(frame_size > 0, "no AuthResult");
    size_t plain_size = 0;
    check(troc_channel_open(channel, frame_in, frame_size, frame_in + TROC_FRAME_HEADER_SIZE, &plain_size) == 0,
          "the AuthResult does not open");
    Troc__V1__ServerFrame *result = troc__v1__server_frame__unpack(NULL, plain_size, frame_in + TROC_FRAME_HEADER_SIZE);
    check(result != NULL && result->kind_case == TROC__V1__SERVER_FRAME__KIND_AUTH_RESULT &&
              result->auth_result->role == TROC__V1__ROLE__ROLE_ADMIN,
          "no admin session");
    troc__v1__server_frame__free_unpacked(result, NULL);
    return fd;
}

/* Sends a StatsQuery, then reads until `owed` answers and its own have
 * come, or the end of the stream; true when every answer came. */
static bool ping(int fd, troc_channel *channel, size_t owed) {
    Troc__V1__StatsQuery query = TROC__V1__STATS_QUERY__INIT;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.has_request_id = 1;
    request.request_id = PING_REQUEST_ID;
    request.kind_case = TROC__V1__REQUEST__KIND_STATS;
    request.stats = &query;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &request;
    size_t size = troc__v1__client_frame__pack(&frame, frame_out + TROC_FRAME_HEADER_SIZE);
    if (!send_all(fd, frame_out, troc_channel_seal(channel, frame_out + TROC_FRAME_HEADER_SIZE, size, frame_out))) {
        return false;                      /* the server already closed this connection */
    }
    owed++;
    /* Bounded by the requests sent: each is answered once, or the stream ends. */
    while (owed > 0) {
        size_t frame_size = receive_frame(fd);
        if (frame_size == 0) return false;
        size_t plain_size = 0;
        check(troc_channel_open(channel, frame_in, frame_size, frame_in + TROC_FRAME_HEADER_SIZE, &plain_size) == 0,
              "a server frame does not open");
        Troc__V1__ServerFrame *reply = troc__v1__server_frame__unpack(NULL, plain_size, frame_in + TROC_FRAME_HEADER_SIZE);
        check(reply != NULL, "a server frame does not decode");
        if (reply->kind_case == TROC__V1__SERVER_FRAME__KIND_RESPONSE) owed--;
        troc__v1__server_frame__free_unpacked(reply, NULL);
    }
    return true;
}

/* True when `plaintext` is a request, which the server answers once;
 * `submit` says whether it is a submit, which may journal. */
static bool is_request(const uint8_t *plaintext, size_t size, bool *submit) {
    Troc__V1__ClientFrame *frame = troc__v1__client_frame__unpack(NULL, size, plaintext);
    bool request = frame != NULL && frame->kind_case == TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    *submit = request && frame->request->kind_case == TROC__V1__REQUEST__KIND_SUBMIT;
    if (frame != NULL) troc__v1__client_frame__free_unpacked(frame, NULL);
    return request;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    start_once();
    troc_channel channel;
    int fd = session_open(&channel);
    size_t offset = 0, requests = 0, submits = 0;
    bool sent = true;
    while (sent && size - offset >= 2) {
        size_t length = (size_t)data[offset] << 8 | data[offset + 1];
        offset += 2;
        if (length == 0 || length > size - offset) break;
        memcpy(frame_out + TROC_FRAME_HEADER_SIZE, data + offset, length);
        bool submit = false;
        requests += is_request(data + offset, length, &submit);
        submits += submit;
        sent = send_all(fd, frame_out, troc_channel_seal(&channel, frame_out + TROC_FRAME_HEADER_SIZE, length, frame_out));
        offset += length;
    }
    bool answered = sent && ping(fd, &channel, requests);
    close(fd);
    if ((submits > 0 && !answered) || fuzz_ledger_changed(&harness.served)) fuzz_ledger_restore(&harness.served);
    return 0;
}
