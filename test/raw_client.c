/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The raw test client (raw_client.h).  Blocking I/O with SO_RCVTIMEO, one
 * frame per call; the handshake uses engine/net's own client functions so
 * that the server is tested against the same code libtroc uses.
 */
#include "raw_client.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "net/frame.h"

#define RECEIVE_TIMEOUT_SECONDS 20

#define BUFFER_SIZE (TROC_FRAME_HEADER_SIZE + TROC_FRAME_SIZE_MAX)

static int client_setup(raw_client *client, int fd) {
    memset(client, 0, sizeof *client);
    client->fd = fd;
    client->in = malloc(BUFFER_SIZE);
    client->out = malloc(BUFFER_SIZE);
    assert_non_null(client->in);
    assert_non_null(client->out);
    struct timeval timeout = {.tv_sec = RECEIVE_TIMEOUT_SECONDS};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    return 0;
}

int raw_connect(raw_client *client, int port) {
    return raw_connect_receive_buffer(client, port, 0);
}

/* Connects to 127.0.0.1:`port` from `source` (NULL: the system's choice),
 * with a receive buffer of `receive_buffer_bytes` (0: the system's). */
static int connect_loopback(raw_client *client, int port, const char *source, int receive_buffer_bytes) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    /* Before connect: the window the client offers is set at the SYN. */
    if (receive_buffer_bytes > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (source != NULL) {
        struct sockaddr_in local = {.sin_family = AF_INET};
        int rc = inet_pton(AF_INET, source, &local.sin_addr) == 1 ? 0 : -EINVAL;
        if (rc == 0 && bind(fd, (struct sockaddr *)&local, sizeof local) != 0) rc = -errno;
        if (rc != 0) {
            close(fd);
            return rc;
        }
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return client_setup(client, fd);
}

int raw_connect_receive_buffer(raw_client *client, int port, int receive_buffer_bytes) {
    return connect_loopback(client, port, NULL, receive_buffer_bytes);
}

int raw_connect_from(raw_client *client, int port, const char *source) {
    return connect_loopback(client, port, source, 0);
}

int raw_connect_unix(raw_client *client, const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return client_setup(client, fd);
}

void raw_close(raw_client *client) {
    if (client->fd >= 0) close(client->fd);
    client->fd = -1;
    free(client->in);
    free(client->out);
    client->in = client->out = NULL;
}

int raw_send_bytes(raw_client *client, const void *data, size_t size) {
    const uint8_t *bytes = data;
    while (size > 0) {
        ssize_t sent = send(client->fd, bytes, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        bytes += sent;
        size -= (size_t)sent;
    }
    return 0;
}

int raw_send_clear(raw_client *client, const uint8_t *payload, size_t size) {
    uint8_t header[TROC_FRAME_HEADER_SIZE];
    troc_frame_header_write(header, size);
    int rc = raw_send_bytes(client, header, sizeof header);
    return rc != 0 ? rc : raw_send_bytes(client, payload, size);
}

int raw_send_sealed(raw_client *client, const uint8_t *plaintext, size_t size) {
    if (plaintext != client->out + TROC_FRAME_HEADER_SIZE) memmove(client->out + TROC_FRAME_HEADER_SIZE, plaintext, size);
    size_t frame_size = troc_channel_seal(&client->channel, client->out + TROC_FRAME_HEADER_SIZE, size, client->out);
    return raw_send_bytes(client, client->out, frame_size);
}

int raw_send_frame(raw_client *client, const Troc__V1__ClientFrame *frame) {
    uint8_t *packed = client->out + TROC_FRAME_HEADER_SIZE;
    size_t size = troc__v1__client_frame__get_packed_size(frame);
    assert_true(size <= TROC_CHANNEL_PLAINTEXT_MAX);
    troc__v1__client_frame__pack(frame, packed);
    return client->sealed ? raw_send_sealed(client, packed, size) : raw_send_clear(client, packed, size);
}

static int receive_exactly(raw_client *client, uint8_t *data, size_t size) {
    while (size > 0) {
        ssize_t got = recv(client->fd, data, size, 0);
        if (got == 0) return TROC_ECLOSED;
        if (got < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        data += got;
        size -= (size_t)got;
    }
    return 0;
}

/* Receives one whole frame into client->in; returns its size or an error. */
static long receive_frame(raw_client *client) {
    int rc = receive_exactly(client, client->in, TROC_FRAME_HEADER_SIZE);
    if (rc != 0) return rc;
    size_t payload_size = 0;
    rc = troc_frame_peek(client->in, TROC_FRAME_HEADER_SIZE, &payload_size);
    if (rc < 0) return rc;
    rc = receive_exactly(client, client->in + TROC_FRAME_HEADER_SIZE, payload_size);
    if (rc != 0) return rc;
    return (long)(TROC_FRAME_HEADER_SIZE + payload_size);
}

Troc__V1__ServerFrame *raw_recv(raw_client *client) {
    long frame_size = receive_frame(client);
    if (frame_size < 0) return NULL;
    uint8_t *payload = client->in + TROC_FRAME_HEADER_SIZE;
    size_t payload_size = (size_t)frame_size - TROC_FRAME_HEADER_SIZE;
    if (client->sealed &&
        troc_channel_open(&client->channel, client->in, (size_t)frame_size, payload, &payload_size) != 0) {
        return NULL;
    }
    return troc__v1__server_frame__unpack(NULL, payload_size, payload);
}

/* The code of a clear ServerFrame{error} (a server refusing the
 * connection, e.g. TROC_EBUSY), or 0 for any other payload. */
static int server_error(const uint8_t *payload, size_t payload_size) {
    Troc__V1__ServerFrame *frame = troc__v1__server_frame__unpack(NULL, payload_size, payload);
    int code = 0;
    if (frame != NULL && frame->kind_case == TROC__V1__SERVER_FRAME__KIND_ERROR) code = frame->error->code;
    if (frame != NULL) troc__v1__server_frame__free_unpacked(frame, NULL);
    return code;
}

int raw_handshake(raw_client *client, const troc_keypair *identity) {
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX], auth[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0, auth_size = 0;
    int rc = troc_handshake_client_hello(&client->handshake, hello, &hello_size);
    if (rc == 0) rc = raw_send_clear(client, hello, hello_size);
    if (rc != 0) return rc;
    long frame_size = receive_frame(client);
    if (frame_size < 0) return (int)frame_size;
    rc = server_error(client->in + TROC_FRAME_HEADER_SIZE, (size_t)frame_size - TROC_FRAME_HEADER_SIZE);
    if (rc != 0) return rc;
    rc = troc_handshake_client_auth(&client->handshake, client->in + TROC_FRAME_HEADER_SIZE,
                                    (size_t)frame_size - TROC_FRAME_HEADER_SIZE, NULL, identity, &client->channel,
                                    auth, &auth_size);
    if (rc != 0) return rc;
    client->sealed = true;
    rc = raw_send_sealed(client, auth, auth_size);
    if (rc != 0) return rc;
    Troc__V1__ServerFrame *frame = raw_recv(client);
    if (frame == NULL) return TROC_ECLOSED;
    rc = frame->kind_case == TROC__V1__SERVER_FRAME__KIND_AUTH_RESULT ? 0 : TROC_EPROTOCOL;
    if (rc == 0) {
        client->role = frame->auth_result->role;
        snprintf(client->member, sizeof client->member, "%s",
                 frame->auth_result->member != NULL ? frame->auth_result->member : "");
    }
    troc__v1__server_frame__free_unpacked(frame, NULL);
    return rc;
}

void raw_login(raw_client *client, int port, const troc_keypair *identity) {
    assert_int_equal(raw_connect(client, port), 0);
    assert_int_equal(raw_handshake(client, identity), 0);
    assert_int_not_equal(client->role, TROC__V1__ROLE__ROLE_NONE);
}

uint64_t raw_send_request(raw_client *client, Troc__V1__Request *request) {
    request->has_request_id = 1;
    request->request_id = ++client->next_request_id;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = request;
    assert_int_equal(raw_send_frame(client, &frame), 0);
    return request->request_id;
}

Troc__V1__ServerFrame *raw_call(raw_client *client, Troc__V1__Request *request) {
    uint64_t id = raw_send_request(client, request);
    Troc__V1__ServerFrame *frame = raw_recv(client);
    assert_non_null(frame);
    assert_int_equal(frame->kind_case, TROC__V1__SERVER_FRAME__KIND_RESPONSE);
    assert_int_equal(frame->response->request_id, id);
    return frame;
}

void raw_response_free(Troc__V1__ServerFrame *frame) {
    troc__v1__server_frame__free_unpacked(frame, NULL);
}

bool raw_expect_closed(raw_client *client, int *error_code_out) {
    *error_code_out = 0;
    for (int frames = 0; frames < 1000; frames++) {
        long frame_size = receive_frame(client);
        if (frame_size == TROC_ECLOSED || frame_size == -ECONNRESET) return true;
        if (frame_size < 0) return false;
        uint8_t *payload = client->in + TROC_FRAME_HEADER_SIZE;
        size_t payload_size = (size_t)frame_size - TROC_FRAME_HEADER_SIZE;
        if (client->sealed &&
            troc_channel_open(&client->channel, client->in, (size_t)frame_size, payload, &payload_size) != 0) {
            continue;
        }
        Troc__V1__ServerFrame *frame = troc__v1__server_frame__unpack(NULL, payload_size, payload);
        if (frame != NULL && frame->kind_case == TROC__V1__SERVER_FRAME__KIND_ERROR) *error_code_out = frame->error->code;
        if (frame != NULL) troc__v1__server_frame__free_unpacked(frame, NULL);
    }
    return false;
}

/* ------------------------------------------------------------ signing */

static void sign_body(signed_item *item, const troc_keypair *key, troc_domain domain,
                      const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE]) {
    memcpy(item->signer, key->public_key, TROC_PUBLIC_KEY_SIZE);
    assert_int_equal(troc_sign(key, domain, territory_key, item->body, item->body_size, item->signature), 0);
}

void sign_transfer(signed_item *item, const troc_keypair *key, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE],
                   const char *payer, const char *payee, int64_t amount_cents) {
    troc_id_generate(item->id);
    Troc__V1__Transfer transfer = TROC__V1__TRANSFER__INIT;
    transfer.has_id = 1;
    transfer.id = (ProtobufCBinaryData){TROC_ID_SIZE, item->id};
    transfer.payer = (char *)payer;
    transfer.payee = (char *)payee;
    transfer.has_amount_cents = 1;
    transfer.amount_cents = amount_cents;
    assert_true(troc__v1__transfer__get_packed_size(&transfer) <= sizeof item->body);
    item->body_size = troc__v1__transfer__pack(&transfer, item->body);
    item->kind = TROC__V1__ENVELOPE_KIND__KIND_TRANSFER;
    sign_body(item, key, TROC_DOMAIN_TRANSFER, territory_key);
}

void sign_member_add(signed_item *item, const troc_keypair *key, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE],
                     const char *name, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], int64_t credit_limit_cents) {
    troc_id_generate(item->id);
    Troc__V1__MemberAdd add = TROC__V1__MEMBER_ADD__INIT;
    add.name = (char *)name;
    add.has_public_key = 1;
    add.public_key = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)public_key};
    add.has_credit_limit_cents = 1;
    add.credit_limit_cents = credit_limit_cents;
    Troc__V1__AdminAction action = TROC__V1__ADMIN_ACTION__INIT;
    action.has_id = 1;
    action.id = (ProtobufCBinaryData){TROC_ID_SIZE, item->id};
    action.action_case = TROC__V1__ADMIN_ACTION__ACTION_MEMBER_ADD;
    action.member_add = &add;
    item->body_size = troc__v1__admin_action__pack(&action, item->body);
    item->kind = TROC__V1__ENVELOPE_KIND__KIND_ADMIN;
    sign_body(item, key, TROC_DOMAIN_ADMIN, territory_key);
}

void sign_batch(signed_item *item, const troc_keypair *key, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE],
                const char *payer, const char *const *payees, size_t count, int64_t amount_cents) {
    enum { ITEMS_MAX = 32 };
    assert_true(count <= ITEMS_MAX);
    Troc__V1__BatchItem items[ITEMS_MAX];
    Troc__V1__BatchItem *pointers[ITEMS_MAX];
    uint8_t ids[ITEMS_MAX][TROC_ID_SIZE];
    for (size_t i = 0; i < count; i++) {
        troc__v1__batch_item__init(&items[i]);
        troc_id_generate(ids[i]);
        items[i].has_id = 1;
        items[i].id = (ProtobufCBinaryData){TROC_ID_SIZE, ids[i]};
        items[i].payee = (char *)payees[i];
        items[i].has_amount_cents = 1;
        items[i].amount_cents = amount_cents;
        pointers[i] = &items[i];
    }
    troc_id_generate(item->id);
    Troc__V1__TransferBatch batch = TROC__V1__TRANSFER_BATCH__INIT;
    batch.has_id = 1;
    batch.id = (ProtobufCBinaryData){TROC_ID_SIZE, item->id};
    batch.payer = (char *)payer;
    batch.n_items = count;
    batch.items = pointers;
    assert_true(troc__v1__transfer_batch__get_packed_size(&batch) <= sizeof item->body);
    item->body_size = troc__v1__transfer_batch__pack(&batch, item->body);
    item->kind = TROC__V1__ENVELOPE_KIND__KIND_BATCH;
    sign_body(item, key, TROC_DOMAIN_BATCH, territory_key);
}

/* ------------------------------------------------------------ requests */

void submit_request(Troc__V1__Request *request, Troc__V1__Submit *submit, Troc__V1__Envelope *envelopes,
                    Troc__V1__Envelope **pointers, signed_item *items, size_t count) {
    troc__v1__submit__init(submit);
    for (size_t i = 0; i < count; i++) {
        troc__v1__envelope__init(&envelopes[i]);
        envelopes[i].has_kind = 1;
        envelopes[i].kind = items[i].kind;
        envelopes[i].has_body = 1;
        envelopes[i].body = (ProtobufCBinaryData){items[i].body_size, items[i].body};
        envelopes[i].has_signer = 1;
        envelopes[i].signer = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, items[i].signer};
        envelopes[i].has_signature = 1;
        envelopes[i].signature = (ProtobufCBinaryData){TROC_SIGNATURE_SIZE, items[i].signature};
        pointers[i] = &envelopes[i];
    }
    submit->n_envelopes = count;
    submit->envelopes = pointers;
    troc__v1__request__init(request);
    request->kind_case = TROC__V1__REQUEST__KIND_SUBMIT;
    request->submit = submit;
}

Troc__V1__ServerFrame *raw_submit(raw_client *client, signed_item *items, size_t count) {
    Troc__V1__Envelope *envelopes = calloc(count, sizeof *envelopes);
    Troc__V1__Envelope **pointers = calloc(count, sizeof *pointers);
    assert_non_null(envelopes);
    assert_non_null(pointers);
    Troc__V1__Request request;
    Troc__V1__Submit submit;
    submit_request(&request, &submit, envelopes, pointers, items, count);
    Troc__V1__ServerFrame *frame = raw_call(client, &request);
    free(envelopes);
    free(pointers);
    assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_SUBMIT);
    assert_int_equal(frame->response->submit->n_results, count);
    return frame;
}

int raw_submit_one(raw_client *client, signed_item *item) {
    Troc__V1__ServerFrame *frame = raw_submit(client, item, 1);
    int code = frame->response->submit->results[0]->code;
    raw_response_free(frame);
    return code;
}

int raw_balance(raw_client *client, const char *member, int64_t *balance_out) {
    Troc__V1__BalanceQuery query = TROC__V1__BALANCE_QUERY__INIT;
    query.member = (char *)member;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &query;
    Troc__V1__ServerFrame *frame = raw_call(client, &request);
    int rc = 0;
    if (frame->response->kind_case == TROC__V1__RESPONSE__KIND_BALANCE) {
        *balance_out = frame->response->balance->balance_cents;
    } else {
        assert_int_equal(frame->response->kind_case, TROC__V1__RESPONSE__KIND_ERROR);
        rc = frame->response->error->code;
    }
    raw_response_free(frame);
    return rc;
}
