/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ledger's result codes (engine/base/result.h) and the protocol's
 * ResultCode (proto/troc.proto) must mirror each other one to one: same
 * value, same name (RESULT_ + the upper-case name), nothing missing on
 * either side.  Checked through protobuf-c's enum descriptor.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/result.h"
#include "troc.pb-c.h"

static void test_every_result_is_in_the_proto(void **state) {
    (void)state;
    const ProtobufCEnumDescriptor *descriptor = &troc__v1__result_code__descriptor;
    size_t count = 0;
#define CHECK(NAME, VALUE, LOWER, TEXT)                                                              \
    do {                                                                                             \
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(descriptor, "RESULT_" #NAME); \
        assert_non_null(v);                                                                          \
        assert_int_equal(v->value, VALUE);                                                           \
        assert_int_equal(TROC_RESULT_##NAME, VALUE);                                                 \
        char upper[64];                                                                              \
        size_t i = 0;                                                                                \
        for (; LOWER[i] != '\0' && i < sizeof upper - 1; i++) upper[i] = (char)toupper((unsigned char)LOWER[i]); \
        upper[i] = '\0';                                                                             \
        assert_string_equal(upper, #NAME);                                                           \
        assert_string_equal(troc_result_name(VALUE), LOWER);                                         \
        count++;                                                                                     \
    } while (0);
    TROC_RESULT_MAP(CHECK)
#undef CHECK
    assert_int_equal(count, descriptor->n_values);
}

static void test_every_proto_code_is_a_result(void **state) {
    (void)state;
    const ProtobufCEnumDescriptor *descriptor = &troc__v1__result_code__descriptor;
    for (unsigned i = 0; i < descriptor->n_values; i++) {
        const ProtobufCEnumValue *v = &descriptor->values[i];
        assert_string_not_equal(troc_result_name(v->value), "unknown");
        char expected[80];
        snprintf(expected, sizeof expected, "RESULT_%s", troc_result_name(v->value));
        for (char *p = expected; *p != '\0'; p++) *p = (char)toupper((unsigned char)*p);
        assert_string_equal(v->name, expected);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_result_is_in_the_proto),
        cmocka_unit_test(test_every_proto_code_is_a_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
