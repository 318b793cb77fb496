/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pieces shared by the invoice and clearing commands (cmd_invoice.c,
 * cmd_clearing.c): flags without a value, invoice ids given as arguments,
 * and the words an invoice's state is printed with.
 */
#ifndef TROC_CLI_INVOICE_H
#define TROC_CLI_INVOICE_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "troc.h"

/* Removes every `flag` ("--open") from argv before a "--" and returns how
 * many there were; *argc is updated.  argv[0] is never a flag. */
int troc__cli_take_flag(int *argc, char **argv, const char *flag);

/* Reads flags that take no value (each at most once) out of argv: exit 2
 * after saying why when one is given twice. */
int troc__cli_flags(int *argc, char **argv, const char *usage, const char *const *names, bool *values,
                    int count);

/* An invoice id (32 hex digits) given as the argument `what`. */
int troc__cli_check_invoice_id(const char *what, const char *text, uint8_t id[TROC_ID_SIZE]);

/* "pending", "open", "settled", "rejected", "cancelled". */
const char *troc__cli_invoice_status(troc_invoice_status status);

#endif /* TROC_CLI_INVOICE_H */
