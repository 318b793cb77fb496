/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed inputs of the frame and handshake harnesses into
 * fuzz/corpus/ (run it from the source tree: `build-fuzz/fuzz/make_seeds
 * fuzz/corpus`).  The frame seeds are real conversations: a client hello in
 * clear, then requests sealed with the harness's fixed key, so the fuzzer
 * starts from inputs that reach the protobuf decoders.  The handshake seeds
 * are the frames of the genuine exchange of fuzz_handshake.h: randomness is
 * fixed, so the harness's client and server repeat them on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fuzz_handshake.h"
#include "net/channel.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "troc.pb-c.h"

static void write_file(const char *directory, const char *name, const uint8_t *data, size_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "wb");
    if (file == NULL || fwrite(data, 1, size, file) != size || fclose(file) != 0) {
        perror(path);
        exit(1);
    }
}

/* Packs a ClientFrame{request} sealed with the fixed key into out. */
static size_t sealed_request(troc_channel *channel, Troc__V1__Request *request, uint8_t *out) {
    Troc__V1__ClientFrame frame = TROC__V1__CLIENT_FRAME__INIT;
    frame.kind_case = TROC__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = request;
    uint8_t plain[4096];
    size_t size = troc__v1__client_frame__pack(&frame, plain);
    return troc_channel_seal(channel, plain, size, out);
}

static size_t transfer_request(troc_channel *channel, const troc_keypair *payer, uint8_t *out) {
    Troc__V1__Transfer transfer = TROC__V1__TRANSFER__INIT;
    uint8_t id[TROC_ID_SIZE];
    troc_id_generate(id);
    transfer.has_id = 1;
    transfer.id = (ProtobufCBinaryData){sizeof id, id};
    transfer.payer = "alice";
    transfer.payee = "bob";
    transfer.has_amount_cents = 1;
    transfer.amount_cents = 12050;
    transfer.memo = "fuzz seed";
    uint8_t body[512];
    size_t body_size = troc__v1__transfer__pack(&transfer, body);
    uint8_t territory[TROC_PUBLIC_KEY_SIZE] = {0};
    uint8_t signature[TROC_SIGNATURE_SIZE];
    troc_sign(payer, TROC_DOMAIN_TRANSFER, territory, body, body_size, signature);
    Troc__V1__Envelope envelope = TROC__V1__ENVELOPE__INIT;
    Troc__V1__Envelope *envelopes[1] = {&envelope};
    envelope.has_kind = 1;
    envelope.kind = TROC__V1__ENVELOPE_KIND__KIND_TRANSFER;
    envelope.has_body = 1;
    envelope.body = (ProtobufCBinaryData){body_size, body};
    envelope.has_signer = 1;
    envelope.signer = (ProtobufCBinaryData){TROC_PUBLIC_KEY_SIZE, (uint8_t *)payer->public_key};
    envelope.has_signature = 1;
    envelope.signature = (ProtobufCBinaryData){TROC_SIGNATURE_SIZE, signature};
    Troc__V1__Submit submit = TROC__V1__SUBMIT__INIT;
    submit.n_envelopes = 1;
    submit.envelopes = envelopes;
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.has_request_id = 1;
    request.request_id = 1;
    request.kind_case = TROC__V1__REQUEST__KIND_SUBMIT;
    request.submit = &submit;
    return sealed_request(channel, &request, out);
}

int main(int argc, char **argv) {
    if (argc != 2 || fuzz_crypto_init() != 0) {
        fputs("usage: make_seeds CORPUS_DIR\n", stderr);
        return 2;
    }
    char directory[512];
    troc_keypair payer;
    troc_keypair_generate(&payer);
    fuzz_exchange exchange;
    if (fuzz_exchange_run(&exchange) != 0) {
        fputs("make_seeds: the genuine handshake failed\n", stderr);
        return 1;
    }
    snprintf(directory, sizeof directory, "%s/handshake", argv[1]);
    write_file(directory, "client-hello", exchange.client_hello, exchange.client_hello_size);
    write_file(directory, "server-hello", exchange.server_hello, exchange.server_hello_size);
    write_file(directory, "client-auth", exchange.client_auth, exchange.client_auth_size);
    const uint8_t *hello = exchange.client_hello;
    const size_t hello_size = exchange.client_hello_size;

    uint8_t stream[8192];
    size_t size = 0;
    troc_frame_header_write(stream, hello_size);
    memcpy(stream + TROC_FRAME_HEADER_SIZE, hello, hello_size);
    size = TROC_FRAME_HEADER_SIZE + hello_size;
    troc_channel channel;
    memset(&channel, 0, sizeof channel);
    memset(channel.send_key, 0x42, sizeof channel.send_key);
    size += transfer_request(&channel, &payer, stream + size);
    Troc__V1__BalanceQuery balance = TROC__V1__BALANCE_QUERY__INIT;
    balance.member = "bob";
    Troc__V1__Request request = TROC__V1__REQUEST__INIT;
    request.has_request_id = 1;
    request.request_id = 2;
    request.kind_case = TROC__V1__REQUEST__KIND_BALANCE;
    request.balance = &balance;
    size += sealed_request(&channel, &request, stream + size);
    snprintf(directory, sizeof directory, "%s/frame", argv[1]);
    write_file(directory, "hello-transfer-balance", stream, size);
    return 0;
}
