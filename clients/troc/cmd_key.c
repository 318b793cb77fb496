/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc keygen FILE, troc pubkey FILE: the member's or administrator's secret
 * key file.  keygen never replaces an existing file, so a key cannot be lost
 * by a typo.
 */
#include <errno.h>

#include "base/error.h"
#include "commands.h"
#include "crypto/crypto.h"

static int print_public_key(const troc_cli *cli, const char *path, const troc_keypair *keypair) {
    char hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(keypair->public_key, hex);
    if (cli->json) {
        troc_json json;
        troc_json_start(&json, stdout);
        troc_json_string(&json, "file", path);
        troc_json_string(&json, "public_key", hex);
        troc_json_finish(&json);
    } else {
        printf("%s\n", hex);
    }
    return TROC_EXIT_OK;
}

int troc__cmd_keygen(const troc_cli *cli, int argc, char **argv) {
    if (argc != 2) return troc_cli_fail(TROC_EXIT_USAGE, "usage: troc keygen FILE");
    troc_keypair keypair;
    troc_keypair_generate(&keypair);
    int rc = troc_keyfile_write(argv[1], &keypair);
    if (rc == -EEXIST) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s exists; choose another file name (an existing key is never replaced)",
                             argv[1]);
    }
    if (rc != 0) return troc_cli_fail(TROC_EXIT_USAGE, "cannot write %s: %s", argv[1], troc_strerror(rc));
    return print_public_key(cli, argv[1], &keypair);
}

int troc__cmd_pubkey(const troc_cli *cli, int argc, char **argv) {
    if (argc != 2) return troc_cli_fail(TROC_EXIT_USAGE, "usage: troc pubkey FILE");
    troc_keypair keypair;
    int rc = troc_keyfile_read(argv[1], &keypair);
    if (rc != 0) {
        char message[1024];
        troc_keyfile_describe_error(argv[1], rc, message, sizeof message);
        return troc_cli_fail(TROC_EXIT_USAGE, "%s", message);
    }
    return print_public_key(cli, argv[1], &keypair);
}
