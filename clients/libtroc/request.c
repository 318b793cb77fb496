/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames out and in, and the request/response exchange on top of them.
 *
 * Out: a request is encoded into the plaintext buffer, sealed into the
 * output buffer (which holds several frames, so that pipelined requests
 * leave in few system calls) and written when the buffer would overflow, on
 * flush, and before waiting for a reply.  Nothing is allocated per request:
 * the Submit's array of envelope pointers lives in the client.
 *
 * In: bytes are read into the input buffer until a whole frame is there
 * (troc_frame_peek refuses an oversized header before its payload is
 * read), opened with the channel and decoded into the arena.  The decoded
 * frame is kept until the next one is read, so that results can point into
 * it without copying.
 *
 * Time: a synchronous call, and troc_client_receive, takes one deadline of
 * the read timeout for writing what is queued and reading the reply; a
 * flush alone takes its own.  The deadline is computed once per call and
 * passed down to every wait, so the timeout bounds the call, not each
 * silence within it.
 *
 * Request ids are 1, 2, ... for the client's life, not restarted by a
 * reconnect, so that a caller keeping the unanswered requests of a failed
 * connection by id never meets one of them again; the ids in flight are
 * kept in a small array so that an unexpected or repeated reply is a
 * protocol error, not a silent mix-up.
 *
 * A connection that fails while pipelined requests are in flight is not
 * simply dropped: the server may have answered some of them, and a caller
 * who cannot tell those from the others would have to resubmit them all
 * blind.  So the failure is kept (lost_error) and the connection goes
 * through two more states before it is closed:
 *   - draining: writing failed (the server went away, or stopped reading),
 *     but the socket stays open and troc_client_receive goes on reading
 *     the replies the server sent before it, in the order they come;
 *   - reporting: reading failed too (end of stream, reset, timeout, a
 *     frame that cannot be trusted), so the socket is closed, and each
 *     troc_client_receive returns lost_error naming one unanswered request,
 *     the oldest first, whose outcome is unknown.
 * Only when the last one is reported is the client reset.  Nothing more is
 * sent in either state.  With nothing in flight (the handshake, a
 * synchronous call done), a failure closes the connection at once, as
 * there is nothing left to collect.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

int troc__client_queue(troc_client *client, const uint8_t *payload, size_t payload_size, bool sealed) {
    assert(client != NULL && payload != NULL && client->fd >= 0);
    assert(payload_size >= 1 && payload_size <= TROC_CHANNEL_PLAINTEXT_MAX);
    size_t frame_size = TROC_FRAME_HEADER_SIZE + payload_size + (sealed ? TROC_CHANNEL_TAG_SIZE : 0);
    assert(frame_size <= TROC__CLIENT_FRAME_BUFFER_SIZE);
    if (client->output_size + frame_size > TROC__CLIENT_FRAME_BUFFER_SIZE) {
        int rc = troc_client_flush(client);
        if (rc != 0) return rc;
    }
    uint8_t *frame = client->output + client->output_size;
    if (sealed) {
        size_t written = troc_channel_seal(&client->channel, payload, payload_size, frame);
        assert(written == frame_size);
        (void)written; /* read by the assertion only */
    } else {
        troc_frame_header_write(frame, payload_size);
        memcpy(frame + TROC_FRAME_HEADER_SIZE, payload, payload_size);
    }
    client->output_size += frame_size;
    return 0;
}

/* TROC_ECLOSED, for a request or a write the connection cannot take. */
static int not_writable(troc_client *client) {
    if (client->lost_error == 0) return troc__client_fail(client, TROC_ECLOSED, "not connected");
    return troc__client_fail(client, TROC_ECLOSED,
                             "the connection failed (%s): receive what is left of the %zu requests in flight "
                             "(their replies, or that their outcome is unknown), then reconnect",
                             client->lost_message, client->in_flight_count);
}

/* The connection failed with `error`, its text in client->message.  With
 * nothing in flight it is closed.  Otherwise the first failure is kept for
 * the unanswered requests; when the socket is still `readable` it stays
 * open for the replies already on their way, else it is closed. */
static int connection_lost(troc_client *client, int error, bool readable) {
    assert(error < 0);
    if (client->in_flight_count == 0) {
        troc__client_reset(client);
        return error;
    }
    if (client->lost_error == 0) {
        client->lost_error = error;
        troc__copy_text(client->lost_message, sizeof client->lost_message, client->message);
    }
    client->output_size = 0; /* requests in it count as sent: their outcome will be reported unknown */
    if (!readable) troc__client_disconnect(client);
    return error;
}

int troc__client_flush_until(troc_client *client, troc__deadline deadline) {
    assert(client != NULL);
    if (client->fd < 0 || client->lost_error != 0) return not_writable(client);
    if (client->output_size == 0) return 0;
    int rc = troc__io_write(client->fd, client->output, client->output_size, deadline);
    if (rc != 0) {
        troc__client_fail(client, rc, "cannot send to %s: %s", client->address, troc_strerror(rc));
        return connection_lost(client, rc, true);
    }
    client->output_size = 0;
    return 0;
}

int troc_client_flush(troc_client *client) {
    assert(client != NULL);
    return troc__client_flush_until(client, troc__deadline_in(client->read_timeout_ms));
}

void troc__client_reply_release(troc_client *client) {
    assert(client != NULL);
    if (client->reply != NULL) troc__v1__server_frame__free_unpacked(client->reply, &client->allocator);
    client->reply = NULL;
    client->arena.used = 0;
}

/* Makes room at the end of the input buffer by moving unread bytes to its
 * start. */
static void input_compact(troc_client *client) {
    size_t unread = client->input_end - client->input_start;
    if (client->input_start > 0 && unread > 0) memmove(client->input, client->input + client->input_start, unread);
    client->input_start = 0;
    client->input_end = unread;
}

/* Waits until the input holds a whole frame; its size in *frame_size_out. */
static int input_frame(troc_client *client, troc__deadline deadline, size_t *frame_size_out) {
    for (;;) {
        size_t payload_size = 0;
        int whole = troc_frame_peek(client->input + client->input_start, client->input_end - client->input_start,
                                    &payload_size);
        if (whole < 0) return whole;
        if (whole == 1) {
            *frame_size_out = TROC_FRAME_HEADER_SIZE + payload_size;
            return 0;
        }
        if (client->input_end == TROC__CLIENT_FRAME_BUFFER_SIZE) input_compact(client);
        size_t got = 0;
        int rc = troc__io_read(client->fd, client->input + client->input_end,
                               TROC__CLIENT_FRAME_BUFFER_SIZE - client->input_end, deadline, &got);
        if (rc != 0) return rc;
        client->input_end += got;
    }
}

/* Returns a connection-level error frame's code (its text in the message). */
static int server_error(troc_client *client, const Troc__V1__Error *error) {
    int code = error->has_code && error->code < 0 ? error->code : TROC_EPROTOCOL;
    return troc__client_fail(client, code, "%s: %s", client->address,
                             error->message != NULL && error->message[0] != '\0' ? error->message
                                                                                 : troc_strerror(code));
}

/* Takes the next whole frame from the input (opened with the channel when
 * `sealed`); *payload_out stays valid until the next read. */
static int read_payload(troc_client *client, troc__deadline deadline, bool sealed, const uint8_t **payload_out,
                        size_t *payload_size_out) {
    size_t frame_size = 0;
    int rc = input_frame(client, deadline, &frame_size);
    if (rc != 0) return rc;
    const uint8_t *frame = client->input + client->input_start;
    const uint8_t *payload = frame + TROC_FRAME_HEADER_SIZE;
    size_t payload_size = frame_size - TROC_FRAME_HEADER_SIZE;
    if (sealed) {
        rc = troc_channel_open(&client->channel, frame, frame_size, client->plaintext, &payload_size);
        if (rc != 0) return rc;
        payload = client->plaintext;
    }
    client->input_start += frame_size;
    *payload_out = payload;
    *payload_size_out = payload_size;
    return 0;
}

static int decode(troc_client *client, const uint8_t *payload, size_t payload_size) {
    troc__client_reply_release(client);
    client->reply = troc__v1__server_frame__unpack(&client->allocator, payload_size, payload);
    if (client->reply == NULL) return TROC_EDECODE;
    if (client->reply->kind_case == TROC__V1__SERVER_FRAME__KIND_ERROR) return server_error(client, client->reply->error);
    return 0;
}

/* Says what went wrong (unless the server did) and drops the connection:
 * after a failed read the stream can no longer be trusted or followed. */
static int read_failed(troc_client *client, int rc, int timeout_ms) {
    bool told = client->reply != NULL && client->reply->kind_case == TROC__V1__SERVER_FRAME__KIND_ERROR;
    if (told) {
        /* server_error() wrote the server's own words. */
    } else if (rc == TROC_ECLOSED) {
        troc__client_fail(client, rc, "%s closed the connection", client->address);
    } else if (rc == TROC_ETIMEOUT) {
        troc__client_fail(client, rc, "no complete answer from %s within %d ms", client->address, timeout_ms);
    } else {
        troc__client_fail(client, rc, "%s: %s", client->address, troc_strerror(rc));
    }
    return connection_lost(client, rc, false);
}

int troc__client_read_payload(troc_client *client, troc__deadline deadline, bool sealed, const uint8_t **payload_out,
                              size_t *payload_size_out) {
    assert(client != NULL && client->fd >= 0);
    assert(payload_out != NULL && payload_size_out != NULL);
    troc__client_reply_release(client);
    int rc = read_payload(client, deadline, sealed, payload_out, payload_size_out);
    return rc == 0 ? 0 : read_failed(client, rc, deadline.timeout_ms);
}

int troc__client_decode(troc_client *client, const uint8_t *payload, size_t payload_size) {
    assert(client != NULL && payload != NULL);
    int rc = decode(client, payload, payload_size);
    return rc == 0 ? 0 : read_failed(client, rc, client->read_timeout_ms);
}

int troc__client_read_frame(troc_client *client, troc__deadline deadline, bool sealed) {
    assert(client != NULL && client->fd >= 0);
    troc__client_reply_release(client);
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    int rc = read_payload(client, deadline, sealed, &payload, &payload_size);
    if (rc == 0) rc = decode(client, payload, payload_size);
    return rc == 0 ? 0 : read_failed(client, rc, deadline.timeout_ms);
}

/* trocd closes a connection that sent nothing for TROC_IDLE_TIMEOUT_MS
 * (5 minutes) while nothing of its was in flight, with an Error frame
 * (TROC_ETIMEOUT, "idle for too long"); a daemon stopping closes its
 * connections too.  A program that keeps its client through a quiet spell
 * finds that frame, or the end of the stream, waiting at its next call,
 * with nothing in flight (the server sends nothing unasked otherwise).
 * It is read before anything is sent, so that the call fails as on a
 * closed connection (TROC_ECLOSED: nothing was sent, and a submit's
 * retries reconnect and send it), saying to reconnect, rather than with a
 * timeout the client never had.  A connection closed before its first
 * request was not idle: the caller has just made it, and a daemon that
 * began to stop meanwhile closes it so. */
static int closed_while_idle(troc_client *client) {
    if (client->fd < 0 || client->lost_error != 0 || client->in_flight_count != 0) return 0;
    if (!troc__io_readable(client->fd)) return 0;
    const bool fresh = !client->requests_sent; /* before a failed read resets the client */
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    int rc = troc__client_read_payload(client, troc__deadline_in(client->read_timeout_ms), true, &payload,
                                       &payload_size);
    bool idle = false;
    if (rc == 0) {
        rc = troc__client_decode(client, payload, payload_size);
        idle = rc == TROC_ETIMEOUT; /* the daemon's own words: it timed the connection out */
        if (rc == 0) troc__client_fail(client, TROC_EPROTOCOL, "%s sent a frame nobody asked for", client->address);
    }
    char why[TROC__CLIENT_MESSAGE_SIZE];
    troc__copy_text(why, sizeof why, client->message);
    troc__client_reset(client);
    if (idle) {
        return troc__client_fail(client, TROC_ECLOSED,
                                 "%s closed the connection after it was idle for too long (trocd closes a connection "
                                 "that sends nothing for %d minutes): reconnect and call again; nothing was sent",
                                 client->address, TROC_IDLE_TIMEOUT_MS / 60000);
    }
    if (!fresh) {
        return troc__client_fail(client, TROC_ECLOSED,
                                 "%s, while the client was idle: reconnect and call again; nothing was sent", why);
    }
    return troc__client_fail(client, TROC_ECLOSED,
                             "%s just after it was made, before the request was sent (trocd does so when it is "
                             "stopping): nothing was sent; call again once it serves",
                             why);
}

/* Encodes `frame`, seals it into the output and records the request id. */
static int queue_request(troc_client *client, Troc__V1__Request *request, uint64_t *request_id_out) {
    int rc = closed_while_idle(client);
    if (rc != 0) return rc;
    if (client->fd < 0 || client->lost_error != 0) return not_writable(client);
    if (client->in_flight_count == TROC_REQUESTS_IN_FLIGHT_MAX) {
        return troc__client_fail(client, TROC_EBUSY, "%d requests in flight: receive a reply first",
                                 TROC_REQUESTS_IN_FLIGHT_MAX);
    }
    request->has_request_id = 1;
    request->request_id = client->next_request_id;
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = request;
    size_t size = troc__v1__client_frame__get_packed_size(&frame);
    if (size > TROC_CHANNEL_PLAINTEXT_MAX) {
        return troc__client_fail(client, TROC_EFRAME_SIZE, "request of %zu bytes is larger than a frame", size);
    }
    size_t packed = troc__v1__client_frame__pack(&frame, client->plaintext);
    assert(packed == size);
    rc = troc__client_queue(client, client->plaintext, packed, true);
    if (rc != 0) return rc;
    memset(client->in_flight_batch_items[client->in_flight_count], 0, sizeof *client->in_flight_batch_items);
    client->requests_sent = true;
    client->in_flight[client->in_flight_count++] = client->next_request_id;
    *request_id_out = client->next_request_id++;
    return 0;
}

/* Takes in_flight[index] out of the ids in flight, its batches' item counts
 * into reply_batch_items, and returns its id. */
static uint64_t in_flight_take(troc_client *client, size_t index) {
    assert(index < client->in_flight_count);
    uint64_t request_id = client->in_flight[index];
    memcpy(client->reply_batch_items, client->in_flight_batch_items[index], sizeof client->reply_batch_items);
    size_t last = --client->in_flight_count;
    client->in_flight[index] = client->in_flight[last];
    if (index != last) {
        memcpy(client->in_flight_batch_items[index], client->in_flight_batch_items[last],
               sizeof *client->in_flight_batch_items);
    }
    return request_id;
}

/* Removes `request_id` from the ids in flight; false when it is not there. */
static bool in_flight_remove(troc_client *client, uint64_t request_id) {
    for (size_t i = 0; i < client->in_flight_count; i++) {
        if (client->in_flight[i] != request_id) continue;
        (void)in_flight_take(client, i);
        return true;
    }
    return false;
}

/* Reads the next response before `deadline` and checks that it answers a
 * request in flight. */
static int receive_response(troc_client *client, troc__deadline deadline, const Troc__V1__Response **response_out) {
    int rc = troc__client_read_frame(client, deadline, true);
    if (rc != 0) return rc;
    const Troc__V1__Response *response = client->reply->response;
    if (client->reply->kind_case != TROC__V1__SERVER_FRAME__KIND_RESPONSE || !response->has_request_id ||
        !in_flight_remove(client, response->request_id)) {
        troc__client_fail(client, TROC_EPROTOCOL, "%s sent a reply to no request in flight", client->address);
        return connection_lost(client, TROC_EPROTOCOL, false);
    }
    *response_out = response;
    return 0;
}

/* The code of a request-level refusal, with the server's text. */
static int response_error(troc_client *client, const Troc__V1__Error *error) {
    int code = error->has_code && error->code < 0 ? error->code : TROC_EPROTOCOL;
    const char *text = error->message != NULL && error->message[0] != '\0' ? error->message : troc_strerror(code);
    return troc__client_fail(client, code, "%s", text);
}

int troc__client_call(troc_client *client, Troc__V1__Request *request, const Troc__V1__Response **response_out) {
    assert(client != NULL && request != NULL && response_out != NULL);
    client->message[0] = '\0';
    if (client->in_flight_count != 0) {
        return troc__client_fail(client, TROC_EUSAGE, "receive the pipelined replies before a synchronous call");
    }
    troc__deadline deadline = troc__deadline_in(client->read_timeout_ms);
    uint64_t request_id = 0;
    int rc = queue_request(client, request, &request_id);
    if (rc != 0) return rc;
    /* A request that could not be written cannot have been answered, and
     * nothing else is in flight: no reply is left to wait for. */
    const Troc__V1__Response *response = NULL;
    rc = troc__client_flush_until(client, deadline);
    if (rc == 0) rc = receive_response(client, deadline, &response);
    if (rc != 0) {
        troc__client_reset(client);
        return rc;
    }
    assert(response->request_id == request_id);
    if (response->kind_case == TROC__V1__RESPONSE__KIND_ERROR) return response_error(client, response->error);
    *response_out = response;
    return 0;
}

/* ------------------------------------------------------------ submit */

static int submit_request(troc_client *client, const troc_envelope *const *envelopes, size_t count,
                          uint64_t *request_id_out) {
    if (envelopes == NULL || count == 0 || count > TROC_SUBMIT_ENVELOPES_MAX) {
        return troc__client_fail(client, TROC_EUSAGE, "a submit holds 1 to %d envelopes", TROC_SUBMIT_ENVELOPES_MAX);
    }
    for (size_t i = 0; i < count; i++) {
        if (envelopes[i] == NULL || envelopes[i]->message.body.len == 0) {
            return troc__client_fail(client, TROC_EUSAGE, "envelope %zu is empty: sign an item into it first", i);
        }
        /* The encoder only reads through these pointers. */
        client->envelope_pointers[i] = (Troc__V1__Envelope *)&envelopes[i]->message;
    }
    Troc__V1__Submit submit = TROC__V1__SUBMIT__INIT;
    submit.n_envelopes = count;
    submit.envelopes = client->envelope_pointers;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.kind_case = TROC__V1__REQUEST__KIND_SUBMIT;
    request.submit = &submit;
    int rc = queue_request(client, &request, request_id_out);
    if (rc != 0) return rc;
    /* Kept until the reply, which names no item count for a batch refused
     * whole (see item_codes_fill). */
    uint16_t *items = client->in_flight_batch_items[client->in_flight_count - 1];
    for (size_t i = 0; i < count; i++) items[i] = (uint16_t)envelopes[i]->batch_item_count;
    return 0;
}

int troc_client_send(troc_client *client, const troc_envelope *const *envelopes, size_t count,
                     uint64_t *request_id_out) {
    assert(client != NULL && request_id_out != NULL);
    return submit_request(client, envelopes, count, request_id_out);
}

size_t troc_client_in_flight(const troc_client *client) {
    assert(client != NULL);
    return client->in_flight_count;
}

_Static_assert(sizeof(Troc__V1__ResultCode) == sizeof(int), "item codes are read as int");

/* TROC_BATCH_ITEMS_MAX copies of `code`: the item codes of a batch the
 * ledger refused as a whole (a bad signature, an unknown payer, a key the
 * payer does not own), which the daemon answers with the batch's code
 * alone.  troc.h promises one code per item, so that a caller may index
 * them without checking; one row per code, written on first use and kept
 * for the client's life, serves every such batch without allocating.
 * NULL for a code past the table (a newer daemon's): that batch comes
 * without item codes, as troc.h says. */
static const int *uniform_codes(troc_client *client, int code) {
    if (code < 0 || code >= TROC__CLIENT_RESULT_CODES) return NULL;
    int *row = client->uniform_codes + (size_t)code * TROC_BATCH_ITEMS_MAX;
    if (!client->uniform_filled[code]) {
        for (size_t i = 0; i < TROC_BATCH_ITEMS_MAX; i++) row[i] = code;
        client->uniform_filled[code] = true;
    }
    return row;
}

/* Points result->item_codes at one code per item of envelope `index` of
 * the request answered, a batch of reply_batch_items[index] items (0: not
 * a batch). */
static int item_codes_fill(troc_client *client, const Troc__V1__ItemResult *item, size_t index,
                           troc_submit_result *result) {
    size_t batch_items = client->reply_batch_items[index];
    if (item->n_item_codes > 0) {
        if (batch_items != 0 && item->n_item_codes != batch_items) return TROC_EPROTOCOL;
        result->item_codes = (const int *)item->item_codes;
        result->item_count = item->n_item_codes;
    } else if (batch_items > 0) {
        result->item_codes = uniform_codes(client, result->code);
        result->item_count = result->item_codes != NULL ? batch_items : 0;
    }
    return 0;
}

/* Fills client->results from a SubmitReply. */
static int results_fill(troc_client *client, const Troc__V1__SubmitReply *reply) {
    if (reply->n_results > TROC_SUBMIT_ENVELOPES_MAX) return TROC_EPROTOCOL;
    for (size_t i = 0; i < reply->n_results; i++) {
        const Troc__V1__ItemResult *item = reply->results[i];
        troc_submit_result *result = &client->results[i];
        memset(result, 0, sizeof *result);
        result->code = item->has_code ? (int)item->code : TROC_RESULT_MALFORMED;
        if (item->has_id && item->id.len == TROC_ID_SIZE) memcpy(result->id, item->id.data, TROC_ID_SIZE);
        result->journal_seq = item->has_journal_seq ? item->journal_seq : 0;
        result->timestamp_us = item->has_timestamp_us ? item->timestamp_us : 0;
        result->detail = item->detail != NULL && item->detail[0] != '\0' ? item->detail : NULL;
        if (item_codes_fill(client, item, i, result) != 0) return TROC_EPROTOCOL;
        if (item->clearing != NULL) {
            troc__clearing_report_copy(item->clearing, &client->reports[i]);
            result->clearing = &client->reports[i];
        }
    }
    return 0;
}

/* Reports the oldest request in flight (ids grow with time) as one whose
 * outcome is unknown, with the failure that ended the connection (and the
 * request's id in the text when `pipelined`: a synchronous caller never saw
 * it); resets the client after the last. */
static int unknown_next(troc_client *client, troc_reply *reply, bool pipelined) {
    assert(client->lost_error != 0 && client->fd < 0 && client->in_flight_count > 0);
    size_t oldest = 0;
    for (size_t i = 1; i < client->in_flight_count; i++) {
        if (client->in_flight[i] < client->in_flight[oldest]) oldest = i;
    }
    reply->request_id = in_flight_take(client, oldest);
    int error = client->lost_error;
    if (pipelined) {
        troc__client_fail(client, error,
                          "%s; request %llu got no reply: its outcome is unknown (submit its envelopes again, with "
                          "the same ids, on a new connection)",
                          client->lost_message, (unsigned long long)reply->request_id);
    } else {
        troc__client_fail(client, error, "%s", client->lost_message);
    }
    if (client->in_flight_count == 0) troc__client_reset(client);
    assert(reply->request_id != 0);
    return error;
}

/* Turns `response`, a reply to a submit, into *reply.  A reply that is no
 * submit's fails the connection, and the request it answered is the first
 * whose outcome is unknown: reply->request_id names it. */
static int reply_fill(troc_client *client, const Troc__V1__Response *response, troc_reply *reply) {
    reply->request_id = response->request_id;
    if (response->kind_case == TROC__V1__RESPONSE__KIND_ERROR) {
        reply->error = response_error(client, response->error);
        return 0;
    }
    if (response->kind_case != TROC__V1__RESPONSE__KIND_SUBMIT || results_fill(client, response->submit) != 0) {
        troc__client_fail(client, TROC_EPROTOCOL, "%s answered a submit with something else", client->address);
        return connection_lost(client, TROC_EPROTOCOL, false);
    }
    reply->result_count = response->submit->n_results;
    reply->results = client->results;
    return 0;
}

/* troc_client_receive, for a `pipelined` caller or a synchronous submit. */
static int receive_reply(troc_client *client, troc_reply *reply, bool pipelined) {
    assert(client != NULL && reply != NULL);
    memset(reply, 0, sizeof *reply);
    if (client->lost_error != 0 && client->fd < 0) return unknown_next(client, reply, pipelined);
    client->message[0] = '\0';
    if (client->fd < 0) return troc__client_fail(client, TROC_ECLOSED, "not connected");
    if (client->in_flight_count == 0) return troc__client_fail(client, TROC_EUSAGE, "no request in flight");
    troc__deadline deadline = troc__deadline_in(client->read_timeout_ms);
    /* A failed write does not end the call: the replies the server sent
     * before it went away are still to be read (the connection drains). */
    if (client->lost_error == 0) (void)troc__client_flush_until(client, deadline);
    const Troc__V1__Response *response = NULL;
    int rc = receive_response(client, deadline, &response);
    if (rc != 0) return client->lost_error != 0 ? unknown_next(client, reply, pipelined) : rc;
    rc = reply_fill(client, response, reply);
    if (rc != 0) return rc;
    if (client->lost_error != 0 && client->in_flight_count == 0) {
        /* The last reply the failed connection owed: close it, keeping the
         * frame the reply points into. */
        troc__client_disconnect(client);
        client->lost_error = 0;
    }
    return 0;
}

int troc_client_receive(troc_client *client, troc_reply *reply) {
    return receive_reply(client, reply, true);
}

/* A failure once the request has left: whether the server applied it is
 * unknown, which a caller learns from troc_error_is_retryable() (see
 * troc.h), whatever ended the connection.  A lost connection or a timeout
 * keeps its own code; a reply that cannot be trusted (a malformed frame,
 * an answer to something else) becomes TROC_ECLOSED, since the connection
 * is closed for it, with its text kept. */
static int outcome_unknown(troc_client *client, int error) {
    if (troc_error_is_retryable(error)) return error;
    char why[TROC__CLIENT_MESSAGE_SIZE];
    troc__copy_text(why, sizeof why, client->message);
    troc__client_reset(client);
    return troc__client_fail(client, TROC_ECLOSED, "%s: the request's outcome is unknown", why);
}

/* One attempt: send, wait, check that there is one result per envelope. */
static int submit_once(troc_client *client, const troc_envelope *const *envelopes, size_t count,
                       troc_submit_result *results) {
    if (client->in_flight_count != 0) {
        return troc__client_fail(client, TROC_EUSAGE, "receive the pipelined replies before a synchronous call");
    }
    uint64_t request_id = 0;
    int rc = submit_request(client, envelopes, count, &request_id);
    if (rc != 0) return rc;
    troc_reply reply;
    rc = receive_reply(client, &reply, false);
    if (rc != 0) return outcome_unknown(client, rc);
    if (reply.error != 0) return reply.error; /* refused: nothing applied */
    if (reply.result_count != count) {
        troc__client_fail(client, TROC_EPROTOCOL, "%s answered %zu results for %zu envelopes", client->address,
                          reply.result_count, count);
        return outcome_unknown(client, TROC_EPROTOCOL);
    }
    memcpy(results, reply.results, count * sizeof *results);
    return 0;
}

int troc_client_submit(troc_client *client, const troc_envelope *const *envelopes, size_t count,
                       troc_submit_result *results, int retries) {
    assert(client != NULL);
    if (results == NULL || retries < 0) return troc__client_fail(client, TROC_EUSAGE, "results and retries >= 0");
    client->message[0] = '\0';
    int rc = client->fd >= 0 ? submit_once(client, envelopes, count, results)
                             : troc__client_fail(client, TROC_ECLOSED, "not connected");
    for (int attempt = 0; attempt < retries && troc_error_is_retryable(rc); attempt++) {
        /* A reconnect that fails speaks of a new connection ("closed before
         * answering the handshake", "no such file"): the request's outcome
         * is still unknown, so its error stays the one that lost it, which
         * says so, with both texts; a reconnect that cannot succeed
         * (refused key, missing socket) ends the retries. */
        char lost[TROC__CLIENT_MESSAGE_SIZE];
        troc__copy_text(lost, sizeof lost, client->message);
        int reconnected = troc_client_reconnect(client);
        if (reconnected != 0) {
            char again[TROC__CLIENT_MESSAGE_SIZE];
            troc__copy_text(again, sizeof again, client->message);
            troc__client_fail(client, rc, "%s; connecting again to resend it failed: %s", lost, again);
            if (!troc_error_is_retryable(reconnected)) break;
            continue;
        }
        rc = submit_once(client, envelopes, count, results);
    }
    return rc;
}
