/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw test client of trocd built directly on engine/net: blocking
 * sockets, one frame at a time.  It speaks the protocol honestly when asked
 * and can also send any bytes at all, which is how the server's tests send
 * malformed, oversized, truncated and tampered frames.  Every receive has a
 * timeout so that a test fails instead of hanging.  Clients share nothing:
 * one thread per client may run at once.
 */
#ifndef TROC_TEST_RAW_CLIENT_H
#define TROC_TEST_RAW_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "net/channel.h"
#include "net/handshake.h"
#include "troc.pb-c.h"

typedef struct raw_client {
    int fd;
    uint8_t *in;                           /* a frame received */
    uint8_t *out;                          /* a frame being sent */
    bool sealed;                           /* the channel is up */
    troc_channel channel;
    troc_handshake handshake;
    Troc__V1__Role role;
    char member[TROC_NAME_LENGTH_MAX + 1];
    uint64_t next_request_id;
} raw_client;

/* One signed item, ready to go in an envelope. */
typedef struct signed_item {
    Troc__V1__EnvelopeKind kind;
    uint8_t body[2048];
    size_t body_size;
    uint8_t signer[TROC_PUBLIC_KEY_SIZE];
    uint8_t signature[TROC_SIGNATURE_SIZE];
    uint8_t id[TROC_ID_SIZE];
} signed_item;

int raw_connect(raw_client *client, int port);
/* Connects with a receive buffer of `receive_buffer_bytes` (SO_RCVBUF; 0:
 * the system's), as a client reading slowly would have. */
int raw_connect_receive_buffer(raw_client *client, int port, int receive_buffer_bytes);
/* Connects from the loopback address `source` ("127.0.0.2": Linux routes
 * all of 127.0.0.0/8 to the loopback interface), as another host would. */
int raw_connect_from(raw_client *client, int port, const char *source);
int raw_connect_unix(raw_client *client, const char *path);
void raw_close(raw_client *client);

/* Sends bytes as they are. */
int raw_send_bytes(raw_client *client, const void *data, size_t size);
/* Sends a frame: header then payload, in clear. */
int raw_send_clear(raw_client *client, const uint8_t *payload, size_t size);
/* Seals `plaintext` on the channel and sends it. */
int raw_send_sealed(raw_client *client, const uint8_t *plaintext, size_t size);
/* Packs a ClientFrame and sends it, sealed once the channel is up. */
int raw_send_frame(raw_client *client, const Troc__V1__ClientFrame *frame);

/* Receives one frame and decodes it (opening it once the channel is up);
 * NULL on end of stream, timeout or a frame that does not open. */
Troc__V1__ServerFrame *raw_recv(raw_client *client);

/* Runs the handshake with `identity`; 0 when the server answered with an
 * AuthResult (see client->role), the code of the server's error frame when
 * it refused the connection (TROC_EBUSY), another error otherwise. */
int raw_handshake(raw_client *client, const troc_keypair *identity);

/* Connects and runs the handshake; asserts it worked. */
void raw_login(raw_client *client, int port, const troc_keypair *identity);

/* Sends `request` with the next request id (returned). */
uint64_t raw_send_request(raw_client *client, Troc__V1__Request *request);

/* Sends `request` and waits for its response (frames for other requests
 * are not expected).  Free with raw_response_free. */
Troc__V1__ServerFrame *raw_call(raw_client *client, Troc__V1__Request *request);
void raw_response_free(Troc__V1__ServerFrame *frame);

/* Reads until the server closes the connection.  Returns true when it did
 * (within the receive timeout) and writes the code of the last Error frame
 * seen (0 if none). */
bool raw_expect_closed(raw_client *client, int *error_code_out);

/* Signs a transfer of `amount_cents` from payer to payee. */
void sign_transfer(signed_item *item, const troc_keypair *key, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE],
                   const char *payer, const char *payee, int64_t amount_cents);

/* Signs an admin action admitting `name` with `public_key`. */
void sign_member_add(signed_item *item, const troc_keypair *key, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE],
                     const char *name, const uint8_t public_key[TROC_PUBLIC_KEY_SIZE], int64_t credit_limit_cents);

/* Signs a batch of `count` transfers of `amount_cents` each from payer to
 * the payees in turn. */
void sign_batch(signed_item *item, const troc_keypair *key, const uint8_t territory_key[TROC_PUBLIC_KEY_SIZE],
                const char *payer, const char *const *payees, size_t count, int64_t amount_cents);

/* Builds a Submit request of `count` items (envelopes and pointers in the
 * caller's arrays). */
void submit_request(Troc__V1__Request *request, Troc__V1__Submit *submit, Troc__V1__Envelope *envelopes,
                    Troc__V1__Envelope **pointers, signed_item *items, size_t count);

/* Submits items and waits for the reply; asserts it is a SubmitReply with
 * one result per item and returns the frame. */
Troc__V1__ServerFrame *raw_submit(raw_client *client, signed_item *items, size_t count);

/* Submits one item and returns its result code. */
int raw_submit_one(raw_client *client, signed_item *item);

/* Asks for `member`'s balance (NULL: the session's own).  Returns 0 and the
 * balance, or the Error's code. */
int raw_balance(raw_client *client, const char *member, int64_t *balance_out);

#endif /* TROC_TEST_RAW_CLIENT_H */
