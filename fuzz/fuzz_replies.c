/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for libtroc's handling of what a server sends back:
 * untrusted bytes from the network, opened, decoded and copied into the
 * caller's structs by every call of troc.h that reads a reply.
 *
 * The harness plays the server.  For each input it gives the client one
 * end of a fresh socketpair, as if connected, with fixed channel keys, and
 * writes to the other end the replies the input holds, sealed with the
 * matching key, then ends its side.  Input layout:
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       1     which call to make (modulo CALL_COUNT; see call_make)
 *   1       2     size N of the first reply's plaintext, big-endian
 *   3       N     a ServerFrame, as the server would pack it
 *   ...           more (size, ServerFrame) pairs, at most REPLIES_MAX
 *
 * The client's requests carry ids 1, 2, ... as on any new connection, so
 * seeds that answer id 1 reach the copying code.  Nothing may crash or read
 * out of bounds (ASan), a call returns 0 or a negative error, and what it
 * returns is within the bounds troc.h promises (counts within capacity,
 * strings terminated inside their fields).
 */
#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_int.h"
#include "fuzz_keys.h"
#include "net/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLIES_MAX 8
#define CALL_COUNT 14
#define PAGE 16                            /* rows the reads ask for */

static troc_client *client;
static troc_envelope *envelopes[3];
static troc_channel server_channel;        /* the harness's side */

static void setup(void) {
    if (troc_init() != 0 || troc_client_create(&client) != 0) abort();
    troc_key *key = fuzz_key(0);
    uint8_t territory[TROC_PUBLIC_KEY_SIZE];
    memset(territory, 0x33, sizeof territory);
    if (key == NULL || troc_client_set_key(client, key) != 0 || troc_client_set_server_key(client, territory) != 0) {
        abort();
    }
    troc_key_free(key);
    troc_client_set_known_territories(client, NULL);
    for (int i = 0; i < 3; i++) {
        troc_transfer transfer = {.payer = "m0", .payee = "m1", .amount_cents = 100 + i};
        if (troc_envelope_create(&envelopes[i]) != 0 || troc_sign_transfer(client, NULL, &transfer, envelopes[i]) != 0) {
            abort();
        }
    }
}

/* "Connects" the client to one end of a socketpair; returns the other. */
static int connect_pair(void) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) abort();
    int buffer = 1 << 20;
    setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    troc__client_reset(client);
    client->fd = fds[0];
    memset(&client->channel, 0, sizeof client->channel);
    memset(client->channel.receive_key, 0x42, TROC_CHANNEL_KEY_SIZE);
    memset(client->channel.send_key, 0x24, TROC_CHANNEL_KEY_SIZE);
    client->role = TROC_SESSION_ADMIN;
    snprintf(client->address, sizeof client->address, "fuzz");
    memset(&server_channel, 0, sizeof server_channel);
    memset(server_channel.send_key, 0x42, TROC_CHANNEL_KEY_SIZE);
    return fds[1];
}

/* Seals the input's replies into `fd`, then ends its sending side (the
 * client still writes its requests into it). */
static void replies_write(int fd, const uint8_t *data, size_t size) {
    static uint8_t frame[TROC_FRAME_HEADER_SIZE + 65536 + TROC_CHANNEL_TAG_SIZE];
    size_t offset = 0;
    for (int replies = 0; replies < REPLIES_MAX && offset + 2 <= size; replies++) {
        size_t length = (size_t)data[offset] << 8 | data[offset + 1];
        offset += 2;
        if (length > size - offset) length = size - offset;
        if (length == 0) break;
        size_t frame_size = troc_channel_seal(&server_channel, data + offset, length, frame);
        if (write(fd, frame, frame_size) != (ssize_t)frame_size) break;
        offset += length;
    }
    shutdown(fd, SHUT_WR);
}

static void text_check(const char *text, size_t size) {
    assert(strnlen(text, size) < size);
    (void)text, (void)size;
}

static void results_check(const troc_submit_result *results, size_t count) {
    for (size_t i = 0; i < count; i++) {
        assert((results[i].item_codes != NULL) == (results[i].item_count > 0));
        for (size_t c = 0; c < results[i].item_count; c++) (void)troc_result_name(results[i].item_codes[c]);
        if (results[i].detail != NULL) (void)strlen(results[i].detail);
    }
}

/* Reads of a page: the count stays within what was asked. */
static int call_reads(int which) {
    static troc_history_line lines[PAGE];
    static troc_invoice_record invoices[PAGE];
    static troc_clearing_settlement settlements[PAGE];
    static troc_member_record member;
    size_t count = 0;
    uint64_t next = 0;
    bool more = false;
    troc_clearing_report report;
    int rc = 0;
    switch (which) {
    case 2: rc = troc_client_history(client, "m0", 0, lines, PAGE, &count, &next); break;
    case 3:
        rc = troc_client_member_record(client, "m0", &member);
        if (rc == 0) assert(member.key_count <= TROC_MEMBER_RECORD_KEYS_MAX && member.limit_change_count <= TROC_MEMBER_RECORD_CHANGES_MAX);
        if (rc == 0) text_check(member.freeze_reason, sizeof member.freeze_reason);
        break;
    case 5: {
        troc_invoice_query query = {.member = "m0"};
        rc = troc_client_invoices(client, &query, invoices, PAGE, &count, &more);
        break;
    }
    case 6: rc = troc_client_invoice(client, (const uint8_t[TROC_ID_SIZE]){1}, &invoices[0]); break;
    case 7: rc = troc_client_clearing_round(client, 0, &report, settlements, 0, PAGE, &count); break;
    default: rc = troc_client_clearing_preview(client, true, &report, settlements, 0, PAGE, &count); break;
    }
    assert(count <= PAGE);
    for (size_t i = 0; rc == 0 && which == 2 && i < count; i++) text_check(lines[i].memo, sizeof lines[i].memo);
    for (size_t i = 0; rc == 0 && which == 5 && i < count; i++) text_check(invoices[i].ref, sizeof invoices[i].ref);
    return rc;
}

/* A page of the member list: within what was asked, names and the cursor
 * terminated. */
static int call_member_list(void) {
    static troc_balance members[PAGE];
    char next[TROC_NAME_LENGTH_MAX + 1];
    size_t count = 0;
    int rc = troc_client_member_list(client, "m0", TROC_MEMBER_LIST_FROZEN, members, PAGE, &count, next);
    assert(count <= PAGE);
    for (size_t i = 0; rc == 0 && i < count; i++) text_check(members[i].member, sizeof members[i].member);
    if (rc == 0) text_check(next, sizeof next);
    return rc;
}

/* Pipelined: three submits sent, their replies received in any order. */
static int call_pipelined(void) {
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        int rc = troc_client_send(client, (const troc_envelope *const[]){envelopes[i]}, 1, &ids[i]);
        if (rc != 0) return rc;
    }
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        troc_reply reply;
        rc = troc_client_receive(client, &reply);
        if (rc == 0 && reply.error == 0) {
            assert(reply.result_count <= TROC_SUBMIT_ENVELOPES_MAX);
            results_check(reply.results, reply.result_count);
        }
    }
    return rc;
}

static int call_make(int which) {
    troc_balance balance;
    troc_territory_stats stats;
    troc_submit_result results[3];
    troc_backup_info backup;
    int rc = 0;
    switch (which) {
    case 0: rc = troc_client_balance(client, NULL, &balance); break;
    case 1:
        rc = troc_client_balance(client, "m1", &balance);
        if (rc == 0) text_check(balance.member, sizeof balance.member);
        break;
    case 4:
        rc = troc_client_stats(client, &stats);
        if (rc == 0) text_check(stats.territory, sizeof stats.territory);
        break;
    case 9: rc = troc_client_submit(client, (const troc_envelope *const *)envelopes, 1, results, 0); break;
    case 10:
        rc = troc_client_submit(client, (const troc_envelope *const *)envelopes, 3, results, 0);
        if (rc == 0) results_check(results, 3);
        break;
    case 11: rc = call_pipelined(); break;
    case 12:
        rc = troc_client_backup(client, "/backups/fuzz", &backup);
        if (rc == 0) text_check(backup.path, sizeof backup.path);
        break;
    case 13: rc = call_member_list(); break;
    default: rc = call_reads(which); break;
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (client == NULL) setup();
    if (size < 1) return 0;
    int peer = connect_pair();
    replies_write(peer, data + 1, size - 1);
    int rc = call_make(data[0] % CALL_COUNT);
    assert(rc <= 0);
    (void)rc;
    troc__client_reset(client);
    close(peer);
    return 0;
}
