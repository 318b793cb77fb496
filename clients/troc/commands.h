/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The commands of `troc`, one function each, implemented in cmd_*.c and
 * listed with their usage in main.c's command table.
 */
#ifndef TROC_COMMANDS_H
#define TROC_COMMANDS_H

#include "cli.h"

troc_cli_command_fn troc__cmd_keygen;
troc_cli_command_fn troc__cmd_pubkey;
troc_cli_command_fn troc__cmd_clear;

#endif /* TROC_COMMANDS_H */
