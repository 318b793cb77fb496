/* SPDX-License-Identifier: Apache-2.0 */
/*
 * troc keygen FILE, troc pubkey FILE: the member's or administrator's secret
 * key file.  keygen never replaces an existing file, so a key cannot be lost
 * by a typo; neither takes a mistyped option for the file's name.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

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

/* The FILE of `troc keygen FILE` or `troc pubkey FILE`.  Neither command
 * has an option, but a word starting with '-' is refused as one, as troc
 * clear refuses it: `troc keygen --bogus` would otherwise write a secret key
 * named --bogus.  A file name starting with '-' follows "--". */
static int key_file_argument(int argc, char **argv, const char *usage, const char **path_out) {
    assert(argc >= 1 && usage != NULL && path_out != NULL);
    *path_out = NULL;
    bool after_dashes = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!after_dashes && strcmp(arg, "--") == 0) {
            after_dashes = true;
        } else if (!after_dashes && arg[0] == '-' && arg[1] != '\0') {
            return troc_cli_fail(TROC_EXIT_USAGE, "unknown option %s\nusage: %s", arg, usage);
        } else if (*path_out != NULL) {
            return troc_cli_fail(TROC_EXIT_USAGE, "one FILE only ('%s' and '%s')\nusage: %s", *path_out, arg, usage);
        } else {
            *path_out = arg;
        }
    }
    if (*path_out == NULL) return troc_cli_fail(TROC_EXIT_USAGE, "no FILE\nusage: %s", usage);
    return 0;
}

int troc__cmd_keygen(const troc_cli *cli, int argc, char **argv) {
    const char *path = NULL;
    int status = key_file_argument(argc, argv, "troc keygen FILE", &path);
    if (status != 0) return status;
    troc_keypair keypair;
    troc_keypair_generate(&keypair);
    int rc = troc_keyfile_write(path, &keypair);
    if (rc == -EEXIST) {
        return troc_cli_fail(TROC_EXIT_USAGE, "%s exists; choose another file name (an existing key is never replaced)",
                             path);
    }
    if (rc != 0) return troc_cli_fail(TROC_EXIT_USAGE, "cannot write %s: %s", path, troc_strerror(rc));
    return print_public_key(cli, path, &keypair);
}

int troc__cmd_pubkey(const troc_cli *cli, int argc, char **argv) {
    const char *path = NULL;
    int status = key_file_argument(argc, argv, "troc pubkey FILE", &path);
    if (status != 0) return status;
    troc_keypair keypair;
    int rc = troc_keyfile_read(path, &keypair);
    if (rc != 0) {
        char message[1024];
        troc_keyfile_describe_error(path, rc, message, sizeof message);
        return troc_cli_fail(TROC_EXIT_USAGE, "%s", message);
    }
    return print_public_key(cli, path, &keypair);
}
