/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of frames, the secure channel and the handshake: a full
 * client/server handshake over byte buffers, and every way a peer can lie
 * (wrong territory key, forged or replayed proofs, tampered, replayed,
 * reordered and truncated frames).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "net/channel.h"
#include "net/frame.h"
#include "net/handshake.h"

typedef struct fixture {
    troc_keypair territory;
    troc_keypair member;
    troc_handshake client;
    troc_handshake server;
    troc_channel client_channel;
    troc_channel server_channel;
    uint8_t auth[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t auth_size;
} fixture;

static int setup(void **state) {
    static fixture f;
    memset(&f, 0, sizeof f);
    assert_int_equal(troc_crypto_init(), 0);
    troc_keypair_generate(&f.territory);
    troc_keypair_generate(&f.member);
    *state = &f;
    return 0;
}

/* Runs hello and server hello; returns client_auth's result. */
static int handshake(fixture *f, const uint8_t *expected_key) {
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX], reply[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0, reply_size = 0;
    assert_int_equal(troc_handshake_client_hello(&f->client, hello, &hello_size), 0);
    assert_int_equal(troc_handshake_server_hello(&f->server, hello, hello_size, &f->territory, "lyon", "EUR",
                                                 &f->server_channel, reply, &reply_size),
                     0);
    return troc_handshake_client_auth(&f->client, reply, reply_size, expected_key, &f->member, &f->client_channel,
                                      f->auth, &f->auth_size);
}

static void test_frame_peek(void **state) {
    (void)state;
    uint8_t data[8] = {0, 0, 0, 3, 'a', 'b', 'c', 'd'};
    size_t size = 0;
    assert_int_equal(troc_frame_peek(data, 3, &size), 0);
    assert_int_equal(troc_frame_peek(data, 6, &size), 0);
    assert_int_equal(troc_frame_peek(data, 7, &size), 1);
    assert_int_equal(size, 3);
    uint8_t zero[4] = {0, 0, 0, 0};
    assert_int_equal(troc_frame_peek(zero, 4, &size), TROC_EFRAME);
    uint8_t header[4];
    troc_frame_header_write(header, TROC_FRAME_SIZE_MAX);
    assert_int_equal(troc_frame_peek(header, 4, &size), 0);
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(troc_frame_peek(huge, 4, &size), TROC_EFRAME_SIZE);
    uint32_t over = TROC_FRAME_SIZE_MAX + 1;
    uint8_t just_over[4] = {(uint8_t)(over >> 24), (uint8_t)(over >> 16), (uint8_t)(over >> 8), (uint8_t)over};
    assert_int_equal(troc_frame_peek(just_over, 4, &size), TROC_EFRAME_SIZE);
}

static void test_handshake_succeeds_and_channel_works(void **state) {
    fixture *f = *state;
    assert_int_equal(handshake(f, f->territory.public_key), 0);
    assert_string_equal(f->client.territory, "lyon");
    assert_string_equal(f->client.unit, "EUR");
    assert_memory_equal(f->client.territory_key, f->territory.public_key, TROC_PUBLIC_KEY_SIZE);
    assert_memory_equal(f->client_channel.send_key, f->server_channel.receive_key, TROC_CHANNEL_KEY_SIZE);
    assert_memory_equal(f->client_channel.receive_key, f->server_channel.send_key, TROC_CHANNEL_KEY_SIZE);
    /* The server sees the client's auth (normally sealed) and verifies it. */
    assert_int_equal(troc_handshake_server_verify(&f->server, f->member.public_key, TROC_PUBLIC_KEY_SIZE,
                                                  f->auth + f->auth_size - TROC_SIGNATURE_SIZE, TROC_SIGNATURE_SIZE),
                     0);
    uint8_t frame[64], plain[64];
    size_t frame_size = troc_channel_seal(&f->client_channel, (const uint8_t *)"hello", 5, frame);
    assert_int_equal(frame_size, TROC_FRAME_HEADER_SIZE + 5 + TROC_CHANNEL_TAG_SIZE);
    size_t payload = 0, plain_size = 0;
    assert_int_equal(troc_frame_peek(frame, frame_size, &payload), 1);
    assert_int_equal(troc_channel_open(&f->server_channel, frame, frame_size, plain, &plain_size), 0);
    assert_int_equal(plain_size, 5);
    assert_memory_equal(plain, "hello", 5);
}

static void test_handshake_refuses_unexpected_territory(void **state) {
    fixture *f = *state;
    troc_keypair other;
    troc_keypair_generate(&other);
    assert_int_equal(handshake(f, other.public_key), TROC_ESERVER_KEY);
}

static void test_handshake_refuses_forged_server_hello(void **state) {
    fixture *f = *state;
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX], reply[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0, reply_size = 0;
    assert_int_equal(troc_handshake_client_hello(&f->client, hello, &hello_size), 0);
    assert_int_equal(troc_handshake_server_hello(&f->server, hello, hello_size, &f->territory, "lyon", "EUR",
                                                 &f->server_channel, reply, &reply_size),
                     0);
    for (size_t i = 0; i < reply_size; i++) {
        uint8_t tampered[TROC_HANDSHAKE_FRAME_SIZE_MAX];
        memcpy(tampered, reply, reply_size);
        tampered[i] ^= 0x01;
        troc_handshake copy = f->client;
        assert_int_not_equal(troc_handshake_client_auth(&copy, tampered, reply_size, NULL, &f->member,
                                                        &f->client_channel, f->auth, &f->auth_size),
                             0);
    }
}

static void test_handshake_refuses_answer_to_another_hello(void **state) {
    fixture *f = *state;
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX], reply[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0, reply_size = 0;
    assert_int_equal(troc_handshake_client_hello(&f->client, hello, &hello_size), 0);
    assert_int_equal(troc_handshake_server_hello(&f->server, hello, hello_size, &f->territory, "lyon", "EUR",
                                                 &f->server_channel, reply, &reply_size),
                     0);
    troc_handshake second;
    assert_int_equal(troc_handshake_client_hello(&second, hello, &hello_size), 0);
    assert_int_equal(troc_handshake_client_auth(&second, reply, reply_size, NULL, &f->member, &f->client_channel,
                                                f->auth, &f->auth_size),
                     TROC_EHANDSHAKE);
}

static void test_server_refuses_bad_proofs(void **state) {
    fixture *f = *state;
    assert_int_equal(handshake(f, NULL), 0);
    const uint8_t *signature = f->auth + f->auth_size - TROC_SIGNATURE_SIZE;
    troc_keypair other;
    troc_keypair_generate(&other);
    /* The proof of one key does not pass for another. */
    assert_int_equal(
        troc_handshake_server_verify(&f->server, other.public_key, TROC_PUBLIC_KEY_SIZE, signature, TROC_SIGNATURE_SIZE),
        TROC_EHANDSHAKE);
    /* A proof recorded on one connection does not open another. */
    fixture g = *f;
    assert_int_equal(handshake(&g, NULL), 0);
    assert_int_equal(
        troc_handshake_server_verify(&g.server, f->member.public_key, TROC_PUBLIC_KEY_SIZE, signature, TROC_SIGNATURE_SIZE),
        TROC_EHANDSHAKE);
    assert_int_equal(troc_handshake_server_verify(&f->server, f->member.public_key, 31, signature, TROC_SIGNATURE_SIZE),
                     TROC_EHANDSHAKE);
    assert_int_equal(troc_handshake_server_verify(&f->server, f->member.public_key, TROC_PUBLIC_KEY_SIZE, signature, 63),
                     TROC_EHANDSHAKE);
}

static void test_server_refuses_bad_hello(void **state) {
    fixture *f = *state;
    uint8_t reply[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t reply_size = 0;
    static const uint8_t garbage[] = {0x0a, 0xff, 0x01};
    assert_int_equal(troc_handshake_server_hello(&f->server, garbage, sizeof garbage, &f->territory, "lyon", "EUR",
                                                 &f->server_channel, reply, &reply_size),
                     TROC_EHANDSHAKE);
    /* A well-formed hello of another version. */
    uint8_t hello[TROC_HANDSHAKE_FRAME_SIZE_MAX];
    size_t hello_size = 0;
    assert_int_equal(troc_handshake_client_hello(&f->client, hello, &hello_size), 0);
    /* ClientFrame{hello{version=1 ...}}: field 1 of the hello is its first byte after the two headers. */
    assert_int_equal(hello[2], 0x08);
    hello[3] = 2;
    assert_int_equal(troc_handshake_server_hello(&f->server, hello, hello_size, &f->territory, "lyon", "EUR",
                                                 &f->server_channel, reply, &reply_size),
                     TROC_EHANDSHAKE);
}

static void test_channel_refuses_tampered_replayed_reordered_truncated(void **state) {
    fixture *f = *state;
    assert_int_equal(handshake(f, NULL), 0);
    uint8_t first[64], second[64], plain[64];
    size_t first_size = troc_channel_seal(&f->client_channel, (const uint8_t *)"one", 3, first);
    size_t second_size = troc_channel_seal(&f->client_channel, (const uint8_t *)"two", 3, second);
    size_t plain_size = 0;
    /* Reordered: the second frame first. */
    assert_int_equal(troc_channel_open(&f->server_channel, second, second_size, plain, &plain_size), TROC_EFRAME);
    /* Tampered, anywhere including the header. */
    for (size_t i = 0; i < first_size; i++) {
        uint8_t tampered[64];
        memcpy(tampered, first, first_size);
        tampered[i] ^= 0x80;
        assert_int_equal(troc_channel_open(&f->server_channel, tampered, first_size, plain, &plain_size), TROC_EFRAME);
    }
    /* Truncated. */
    assert_int_equal(troc_channel_open(&f->server_channel, first, first_size - 1, plain, &plain_size), TROC_EFRAME);
    assert_int_equal(troc_channel_open(&f->server_channel, first, 5, plain, &plain_size), TROC_EFRAME);
    /* The genuine frames still open, in order, once each. */
    assert_int_equal(troc_channel_open(&f->server_channel, first, first_size, plain, &plain_size), 0);
    assert_memory_equal(plain, "one", 3);
    assert_int_equal(troc_channel_open(&f->server_channel, first, first_size, plain, &plain_size), TROC_EFRAME);
    assert_int_equal(troc_channel_open(&f->server_channel, second, second_size, plain, &plain_size), 0);
    assert_memory_equal(plain, "two", 3);
    /* A frame sealed in one direction does not open in the other. */
    size_t back_size = troc_channel_seal(&f->client_channel, (const uint8_t *)"x", 1, first);
    assert_int_equal(troc_channel_open(&f->client_channel, first, back_size, plain, &plain_size), TROC_EFRAME);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_peek),
        cmocka_unit_test_setup(test_handshake_succeeds_and_channel_works, setup),
        cmocka_unit_test_setup(test_handshake_refuses_unexpected_territory, setup),
        cmocka_unit_test_setup(test_handshake_refuses_forged_server_hello, setup),
        cmocka_unit_test_setup(test_handshake_refuses_answer_to_another_hello, setup),
        cmocka_unit_test_setup(test_server_refuses_bad_proofs, setup),
        cmocka_unit_test_setup(test_server_refuses_bad_hello, setup),
        cmocka_unit_test_setup(test_channel_refuses_tampered_replayed_reordered_truncated, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
