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

/* Usage of the network commands (after "troc NAME "), shared by the table
 * and the commands' own usage errors. */
#define TROC_USAGE_MEMBER_ADD "NAME --pubkey PK [--credit-limit AMOUNT] [--balance-max AMOUNT|none]"
#define TROC_USAGE_KEY "NAME PK"
#define TROC_USAGE_LIMIT "NAME [--credit-limit AMOUNT] [--balance-max AMOUNT|none] --reason TEXT"
#define TROC_USAGE_FREEZE "NAME --reason TEXT"
#define TROC_USAGE_STATS ""
#define TROC_USAGE_MEMBER_LIST "[--over-limit] [--frozen] [--limit N] [--after NAME]"
#define TROC_USAGE_PAY "TO AMOUNT [--memo TEXT] [--id HEX]"
#define TROC_USAGE_BALANCE "[NAME]"
#define TROC_USAGE_HISTORY "[NAME] [--limit N] [--before SEQ]"
#define TROC_USAGE_MEMBER "[NAME]"
#define TROC_USAGE_INVOICE_ISSUE "DEBTOR AMOUNT [--ref TEXT] [--due YYYY-MM-DD] [--id HEX]"
#define TROC_USAGE_INVOICE_ID "ID"
#define TROC_USAGE_INVOICE_REJECT "ID --reason TEXT"
#define TROC_USAGE_INVOICE_PAY "ID [AMOUNT] [--memo TEXT] [--id HEX]"
#define TROC_USAGE_INVOICE_LIST "[NAME] [--open] [--as debtor|creditor] [--limit N] [--after ID]"
#define TROC_USAGE_CLEAR "[--with-credit] [--dry-run [--limit N]] [--id HEX]"
#define TROC_USAGE_CLEARING_SHOW "[RUN] [--limit N] [--offset N]"
#define TROC_USAGE_BACKUP "DEST"

troc_cli_command_fn troc__cmd_admin_member_add;
troc_cli_command_fn troc__cmd_admin_key_add;
troc_cli_command_fn troc__cmd_admin_key_revoke;
troc_cli_command_fn troc__cmd_admin_limit;
troc_cli_command_fn troc__cmd_admin_freeze;
troc_cli_command_fn troc__cmd_admin_unfreeze;
troc_cli_command_fn troc__cmd_admin_stats;
troc_cli_command_fn troc__cmd_admin_member_list;
troc_cli_command_fn troc__cmd_pay;
troc_cli_command_fn troc__cmd_balance;
troc_cli_command_fn troc__cmd_history;
troc_cli_command_fn troc__cmd_member;
troc_cli_command_fn troc__cmd_invoice_issue;
troc_cli_command_fn troc__cmd_invoice_accept;
troc_cli_command_fn troc__cmd_invoice_reject;
troc_cli_command_fn troc__cmd_invoice_cancel;
troc_cli_command_fn troc__cmd_invoice_pay;
troc_cli_command_fn troc__cmd_invoice_list;
troc_cli_command_fn troc__cmd_invoice_show;
troc_cli_command_fn troc__cmd_admin_clear;
troc_cli_command_fn troc__cmd_clearing_show;
troc_cli_command_fn troc__cmd_admin_backup;

#endif /* TROC_COMMANDS_H */
