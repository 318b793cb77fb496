#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Integration tests of the `troc` command line against a real trocd: each
# scenario initialises a territory in a temporary directory, starts
# `trocd run` on a free port (and a Unix socket), drives it with the troc
# binary and checks exit statuses, stderr names and --json output.
#
#   cli.py TROCD TROC SCENARIO
#
# Every troc call runs with HOME and XDG_CONFIG_HOME inside the temporary
# directory (created, as a user's ~/.config is), so pinning never touches
# the user's known-territories file.
import json
import os
import pty
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TROCD, TROC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
START_TIMEOUT_S = 10


UNSET = object()                    # an environment variable left unset
NAMELESS_USER = 4242                # a user id the password database does not name


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Territory:
    """A trocd serving a fresh ledger in `root`, with an admin key."""

    def __init__(self, root, name="testland", socket_path=None):
        self.root = root
        self.data = os.path.join(root, name)
        self.socket = socket_path or os.path.join(root, name + ".sock")
        self.admin = self.keygen("admin-" + name)
        out = subprocess.run([TROCD, "init", "--data", self.data, "--territory", name, "--admin",
                              self.pubkey(self.admin), "--unit", "EUR"],
                             check=True, capture_output=True, text=True).stdout
        keys = re.findall(r"\b[0-9a-f]{64}\b", out)
        check(keys, "trocd init printed no territory key: " + out)
        self.territory_key = keys[-1]
        self.process = None
        self.port = None
        self.run_args = []                  # more options for `trocd run` (e.g. --clear-every)

    def keygen(self, name):
        path = os.path.join(self.root, name + ".key")
        if not os.path.exists(path):
            subprocess.run([TROC, "keygen", path], check=True, capture_output=True)
        return path

    def pubkey(self, path):
        return subprocess.run([TROC, "pubkey", path], check=True, capture_output=True, text=True).stdout.strip()

    def start(self):
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.log = open(os.path.join(self.root, "trocd.log"), "a")
        self.process = subprocess.Popen([TROCD, "run", "--data", self.data, "--listen", "127.0.0.1:0",
                                         "--port-file", port_file, "--socket", self.socket] + self.run_args,
                                        stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not os.path.exists(port_file):
            check(self.process.poll() is None, "trocd run exited at start; see trocd.log")
            check(time.monotonic() < deadline, "trocd run did not listen in time")
            time.sleep(0.02)
        self.port = int(open(port_file).read())
        self.server = "127.0.0.1:%d" % self.port
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            status = self.process.wait(timeout=START_TIMEOUT_S)
            check(status == 0, "trocd run exited with %d after SIGTERM" % status)
        self.process = None
        self.log.close()

    def troc(self, *args, key=None, server=None, json_output=False, config_home=None, stderr_terminal=False,
             stdout_closed=False, home=None, user=None):
        """Runs troc; returns (status, stdout, stderr).  `config_home`
        replaces the XDG_CONFIG_HOME made for the test, `home` the HOME
        (UNSET: either left unset); `stderr_terminal` gives troc a terminal
        (a pseudo-terminal) for its standard error; `stdout_closed` starts it
        with its standard output closed; `user`, a user id, runs it as that
        user (the tests run as root)."""
        if config_home is None:
            config_home = os.path.join(self.root, "config")
            os.makedirs(config_home, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home or self.root,
               "XDG_CONFIG_HOME": config_home}
        env = {name: value for name, value in env.items() if value is not UNSET}
        command = [TROC, "--server", server or self.server, "--key", key or self.admin]
        if stdout_closed:
            command = ["sh", "-c", 'exec "$@" >&-', "sh"] + command
        if user is not None:
            command = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + command
        if json_output:
            command.append("--json")
        if not stderr_terminal:
            done = subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, env=env,
                                  timeout=60)
            return done.returncode, done.stdout, done.stderr
        terminal, terminal_end = pty.openpty()
        try:
            done = subprocess.run(command + [str(a) for a in args], stdout=subprocess.PIPE, stderr=terminal_end,
                                  text=True, env=env, timeout=60)
        finally:
            os.close(terminal_end)
        err = b""
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            err += chunk
        os.close(terminal)
        return done.returncode, done.stdout, err.decode("utf-8", "replace")

    def ok(self, *args, **options):
        status, out, err = self.troc(*args, **options)
        check(status == 0, "troc %s: exit %d, stderr: %s" % (" ".join(map(str, args)), status, err))
        return out

    def json(self, *args, **options):
        return json.loads(self.ok(*args, json_output=True, **options))

    def refused(self, code, *args, **options):
        status, out, err = self.troc(*args, **options)
        check(status == 1, "troc %s: expected exit 1 (%s), got %d: %s" % (" ".join(map(str, args)), code,
                                                                          status, err))
        check("refused: " + code in err, "troc %s: stderr lacks 'refused: %s': %s" % (" ".join(map(str, args)),
                                                                                    code, err))
        return err

    def member(self, name, credit_limit=None, balance_max=None):
        key = self.keygen(name)
        args = ["admin", "member", "add", name, "--pubkey", self.pubkey(key)]
        if credit_limit is not None:
            args += ["--credit-limit", credit_limit]
        if balance_max is not None:
            args += ["--balance-max", balance_max]
        self.ok(*args)
        return key


def balance(t, name):
    return t.json("balance", name)["balance"]


def journal_entries(t):
    return t.json("admin", "stats")["journal_entries"]


# ------------------------------------------------------------- scenarios

def scenario_story(t):
    """The issue's story: an admin, three members with credit lines,
    payments, one refused for its credit limit, balances and statements."""
    alice = t.member("alice", "500")
    bob = t.member("bob", "300", "1000")
    carol = t.member("carol", "100")
    out = t.ok("pay", "bob", "120.50", "--memo", "bread, May", key=alice)
    check("paid 120.50 EUR from alice to bob" in out, "pay output: " + out)
    t.ok("pay", "carol", "50", key=bob)
    err = t.refused("exceeds_credit_limit", "pay", "alice", "200", key=carol)
    check("credit" in err, "refusal explains itself: " + err)
    check("you can pay 150.00 EUR now (balance 50.00, credit limit 100.00)" in err, "and what can be paid: " + err)
    t.ok("pay", "alice", "150", key=carol)            # exactly down to -100.00
    check(balance(t, "alice") == "29.50", "alice")
    check(balance(t, "bob") == "70.50", "bob")
    check(balance(t, "carol") == "-100.00", "carol")
    out = t.ok("balance", key=carol)
    for expected in ("carol", "-100.00 EUR", "100.00 EUR", "none", "active"):
        check(expected in out, "balance output lacks %r: %s" % (expected, out))
    out = t.ok("history", key=alice)
    lines = [line for line in out.splitlines() if re.match(r"\s+\d+\s", line)]
    check(len(lines) == 2, "alice's statement has 2 lines: " + out)
    check("carol" in lines[0] and "150.00" in lines[0] and "29.50" in lines[0], "newest first: " + out)
    check("bob" in lines[1] and "-120.50" in lines[1] and "bread, May" in lines[1], "oldest: " + out)
    stats = t.json("admin", "stats")
    check(stats["members"] == 3 and stats["transfers"] == 3, "stats: %r" % stats)
    check(stats["balance_sum"] == "0.00" and stats["debt"] == "100.00", "stats: %r" % stats)
    out = t.ok("admin", "stats")
    check("debt outstanding" in out and "100.00 EUR" in out, "stats output: " + out)
    check_member_list(t, alice, carol)


def check_member_list(t, alice, carol):
    """The administrator's roll: every member by name, a page at a time,
    and those over their limit or frozen, which the stats only count."""
    roll = t.json("admin", "member", "list")
    check([m["member"] for m in roll["members"]] == ["alice", "bob", "carol"] and not roll["more"], roll)
    check(roll["next_after"] is None and roll["unit"] == "EUR", roll)
    carol_row = roll["members"][2]
    check(carol_row == {"member": "carol", "balance": "-100.00", "credit_limit": "100.00", "balance_max": None,
                        "frozen": False, "over_limit": False}, carol_row)
    check(roll["members"][1]["balance_max"] == "1000.00", roll)
    page = t.json("admin", "member", "list", "--limit", "2")
    check([m["member"] for m in page["members"]] == ["alice", "bob"] and page["next_after"] == "bob", page)
    out = t.ok("admin", "member", "list", "--limit", "2")
    check("add --after bob to see them" in out and "carol" not in out, out)
    rest = t.json("admin", "member", "list", "--after", "bob")
    check([m["member"] for m in rest["members"]] == ["carol"] and not rest["more"], rest)
    out = t.ok("admin", "limit", "carol", "--credit-limit", "50", "--reason", "late")
    check("credit limit  50.00 EUR" in out, "amounts with their unit: " + out)
    t.ok("admin", "freeze", "bob", "--reason", "fees")
    over = t.json("admin", "member", "list", "--over-limit")
    check([m["member"] for m in over["members"]] == ["carol"] and over["members"][0]["over_limit"], over)
    check(t.json("admin", "stats")["accounts_over_limit"] == 1, "the stats count the same accounts")
    frozen = t.json("admin", "member", "list", "--frozen")
    check([m["member"] for m in frozen["members"]] == ["bob"] and frozen["members"][0]["frozen"], frozen)
    full = t.json("admin", "member", "list", "--frozen", "--limit", "1")  # carol follows, not frozen
    check([m["member"] for m in full["members"]] == ["bob"] and not full["more"] and full["next_after"] is None, full)
    out = t.ok("admin", "member", "list")
    check(re.search(r"bob .* frozen", out) and re.search(r"carol .* -100\.00 .* active, over its limit", out), out)
    check(t.ok("admin", "member", "list", "--over-limit", "--frozen").count("none") == 1, "none both")
    t.refused("denied", "admin", "member", "list", key=alice)
    # A balance words the account as the roll does: below a lowered credit
    # line, above a lowered balance maximum.
    check(account_status(t, "carol") == "active, over its limit", "carol's balance")
    # The words do not move the amounts: they end where a plain account's do.
    ends = [[len(line) for line in t.ok("balance", name).splitlines() if line.startswith("  balance  ")]
            for name in ("carol", "alice")]
    check(ends[0] == ends[1] and len(ends[0]) == 1, "the balance column moved for an account over its limit")
    check(account_status(t, "bob") == "frozen", "bob's balance")
    t.ok("admin", "limit", "bob", "--balance-max", "50", "--reason", "review")
    check(account_status(t, "bob") == "frozen, over its limit", "bob's balance over its maximum")
    t.ok("admin", "unfreeze", "bob", "--reason", "paid")
    check(account_status(t, "bob") == "active, over its limit", "bob's balance over its maximum")
    shown = t.json("balance", "bob")
    check(shown["over_limit"] is True and shown["frozen"] is False, shown)
    check(t.json("balance", "alice")["over_limit"] is False, "alice is within her limits")
    t.ok("admin", "limit", "bob", "--balance-max", "1000", "--reason", "review done")
    t.ok("admin", "limit", "carol", "--credit-limit", "100", "--reason", "paid")
    check(account_status(t, "carol") == "active", "carol's balance")


def account_status(t, name):
    """The account's state as `troc balance NAME` words it, checked to be
    the one `troc admin member list` shows for it."""
    shown = [line for line in t.ok("balance", name).splitlines() if line.startswith("  account ")]
    check(len(shown) == 1, "no account line in the balance of " + name)
    status = shown[0][len("  account "):].strip()
    listed = [line for line in t.ok("admin", "member", "list").splitlines() if line.startswith(name + " ")]
    check(len(listed) == 1 and listed[0].endswith("  " + status), "the roll shows %r, the balance %r" %
          (listed, status))
    return status


def scenario_refusals(t):
    """Every refusal the command line can meet: exit 1 and the code's name."""
    alice = t.member("alice", "5000", "100000")
    bob = t.member("bob", "300", "1000")
    t.member("carol", "100")
    # "none" admits a member without a balance maximum, as `admin limit` takes it.
    added = t.json("admin", "member", "add", "erin", "--pubkey", t.pubkey(t.keygen("erin")), "--balance-max", "none")
    check(added["balance_max"] is None and t.json("balance", "erin")["balance_max"] is None,
          "erin has no balance maximum: %s" % added)
    before = journal_entries(t)
    err = t.refused("unknown_payee", "pay", "dave", "1", key=alice)
    check("no member is named 'dave' in this territory" in err, "unknown_payee names the payee: " + err)
    t.refused("same_account", "pay", "alice", "1", key=alice)
    err = t.refused("exceeds_balance_max", "pay", "bob", "1000.01", key=alice)
    check("the payee may not hold that much" in err, "exceeds_balance_max says what to do: " + err)
    t.refused("member_exists", "admin", "member", "add", "alice", "--pubkey", t.pubkey(t.keygen("other")))
    t.refused("key_in_use", "admin", "member", "add", "dave", "--pubkey", t.pubkey(alice))
    t.refused("unknown_member", "admin", "limit", "dave", "--credit-limit", "5", "--reason", "r")
    err = t.refused("unknown_member", "admin", "freeze", "dave", "--reason", "r")
    check("no member is named 'dave' in this territory" in err, "unknown_member names the member: " + err)
    t.refused("nothing_changed", "admin", "limit", "bob", "--credit-limit", "300", "--reason", "same")
    err = t.refused("key_in_use", "admin", "member", "key", "add", "bob", t.pubkey(alice))
    check("make a new one with 'troc keygen'" in err, "key_in_use says what to do: " + err)
    t.refused("key_not_found", "admin", "member", "key", "revoke", "bob", t.pubkey(t.keygen("stray")))
    err = t.refused("last_key", "admin", "member", "key", "revoke", "bob", t.pubkey(bob))
    check("add its new key first" in err, "last_key says what to do: " + err)
    t.refused("not_frozen", "admin", "unfreeze", "bob", "--reason", "r")
    err = t.refused("not_admin", "admin", "freeze", "bob", "--reason", "r", key=alice)
    check("'troc admin freeze' needs an administrator's key, and %s is member alice's" % alice in err, err)
    err = t.refused("denied", "admin", "stats", key=alice)
    check("'troc admin stats' needs an administrator's key" in err and "--key FILE or TROC_KEY" in err, err)
    err = t.refused("denied", "clearing", "show", key=alice)
    check("'troc clearing show' needs an administrator's key" in err, err)
    err = t.refused("denied", "balance", "bob", key=alice)
    check("administrator's key" not in err, "a member's own command says nothing of admin keys: " + err)
    check(journal_entries(t) == before, "refusals changed nothing")
    t.ok("admin", "freeze", "bob", "--reason", "audit")
    t.refused("already_frozen", "admin", "freeze", "bob", "--reason", "again")
    err = t.refused("payee_frozen", "pay", "bob", "1", key=alice)
    check("once an administrator unfreezes it" in err, "payee_frozen says what to do: " + err)
    err = t.refused("payer_frozen", "pay", "alice", "1", key=bob)
    check("'troc member' shows why" in err, "a frozen payer is told where the reason is: " + err)
    out = t.ok("balance", key=bob)
    check(re.search(r"can pay +0\.00 EUR", out) and "frozen" in out, "a frozen account can pay nothing: " + out)
    t.ok("admin", "unfreeze", "bob", "--reason", "audit done")
    t.ok("pay", "bob", "1", key=alice)
    # Lowering a limit below the current debt is allowed and blocks debits.
    t.ok("pay", "alice", "200", key=bob)
    out = t.ok("admin", "limit", "bob", "--credit-limit", "100", "--reason", "risk review")
    check("note: bob's balance -199.00 EUR is below its new credit limit of 100.00: it can pay nothing until it "
          "is back to -100.00 or above\n" in out, "the change says bob is now over his limit: " + out)
    t.refused("exceeds_credit_limit", "pay", "alice", "0.01", key=bob)
    # The same for a balance maximum lowered under a positive balance; a
    # change that leaves the account within its limits says nothing more.
    t.ok("pay", "erin", "50", key=alice)
    out = t.ok("admin", "limit", "erin", "--credit-limit", "10", "--reason", "trial")
    check("note:" not in out, "erin is within her limits: " + out)
    out = t.ok("admin", "limit", "erin", "--balance-max", "20", "--reason", "cap")
    check("note: erin's balance 50.00 EUR is above its new balance maximum of 20.00: it can be paid nothing "
          "until it is back to 20.00 or below\n" in out, "the change says erin is now over her maximum: " + out)
    changed = t.json("admin", "limit", "erin", "--balance-max", "none", "--reason", "uncapped")
    check(changed["balance"] == "50.00" and changed["over_limit"] is False, "--json: %s" % changed)
    check(t.json("admin", "stats")["accounts_over_limit"] == 1, "bob is over his lowered limit")
    # A member reads only its own account.
    t.refused("denied", "balance", "bob", key=alice)
    t.refused("denied", "history", "bob", key=alice)
    t.refused("denied", "member", "bob", key=alice)
    t.refused("not_found", "balance", "dave")
    # A revoked key can no longer connect.
    second = t.keygen("bob2")
    t.ok("admin", "member", "key", "add", "bob", t.pubkey(second))
    t.ok("admin", "member", "key", "revoke", "bob", t.pubkey(bob))
    err = t.refused("key_not_found", "admin", "member", "key", "revoke", "bob", t.pubkey(bob))
    check("active" in err, "a revoked key is not active: " + err)
    status, _, err = t.troc("balance", key=bob)
    check(status == 1 and "refused: denied" in err and "not an active key" in err, "revoked key refused: %d %s" %
          (status, err))
    # The server does not say whether a key was revoked or never
    # registered: the advice fits both, and a revoked key is never
    # registered again.
    check("a revoked one can never be registered again: make a new key and have that one registered" in err and
          "troc: a new key is made with 'troc keygen FILE'" in err, "what to do with a revoked key: " + err)
    # The commands that register a key: a newcomer is added as a member
    # with it ('member key add' needs a member already there).
    check("'troc admin member add NAME --pubkey PK' for a new member, 'troc admin member key add NAME PK' for an "
          "extra or replacement key of an existing member" in err, "the commands that register a key: " + err)
    # An administrator's key is none an administrator registers: those
    # trocd init registered are the only ones, to be named.
    stranger = t.keygen("stranger")
    for command in (["admin", "stats"], ["clearing", "show"]):
        err = t.refused("denied", *command, key=stranger)
        check("troc: 'troc %s' needs an administrator's key, and administrators' keys are those 'trocd init' "
              "registered (no command adds one): name one with --key FILE or TROC_KEY" % " ".join(command) in err and
              "member add" not in err and "troc keygen" not in err, "an unknown key for %s: %s" % (command, err))
    check(balance(t, "bob") == "-199.00", "bob's balance")
    t.ok("balance", key=second)


def scenario_usage(t):
    """Bad usage and bad input: exit 2, checked before connecting (the
    server named is not even listening), nothing sent."""
    alice = t.member("alice", "100")
    before = journal_entries(t)
    dead = "127.0.0.1:1"
    pk = t.pubkey(alice)
    cases = [
        ["pay"], ["pay", "bob"], ["pay", "bob", "0"], ["pay", "bob", "-5"], ["pay", "bob", "1.005"],
        ["pay", "bob", "1e3"], ["pay", "Bob", "1"], ["pay", "bob", "1", "--memo", "x" * 257],
        ["pay", "bob", "1", "--id", "xyz"], ["pay", "bob", "1", "--id", "00" * 15], ["pay", "bob", "1", "extra"],
        ["pay", "bob", "1", "--unknown", "v"], ["pay", "bob", "10000000000000.01"],
        ["admin", "member", "add", "bob"], ["admin", "member", "add", "bob", "--pubkey", "abc"],
        ["admin", "member", "add", "bob", "--pubkey", pk, "--credit-limit", "-1"],
        ["admin", "member", "add", "bob", "--pubkey", pk, "--balance-max", "nothing"],
        ["admin", "member", "key", "add", "bob"], ["admin", "member", "key", "revoke", "bob", "zz"],
        ["admin", "limit", "bob", "--reason", "r"], ["admin", "limit", "bob", "--credit-limit", "5"],
        ["admin", "limit", "bob", "--credit-limit", "5", "--reason", ""],
        ["admin", "limit", "bob", "--balance-max", "lots", "--reason", "r"],
        ["admin", "freeze", "bob"], ["admin", "unfreeze", "bob", "--reason", "r" * 513],
        ["admin", "freeze", "bob", "--reason", "   "], ["admin", "unfreeze", "bob", "--reason", "\u200b"],
        ["admin", "limit", "bob", "--credit-limit", "5", "--reason", "\u00a0\t\u202e"],
        ["pay", "bob", "1", "--memo", "invoice \u202e1234"], ["admin", "freeze", "bob", "--reason", "a\u2066b"],
        ["admin", "stats", "extra"], ["balance", "a", "b"], ["balance", "NOT_A_NAME"],
        ["history", "--limit", "0"], ["history", "--limit", "many"], ["history", "--limit", "10001"],
        ["history", "--before", "0"], ["history", "--before", "-3"], ["clearing", "show", "--offset", "x"],
        ["clearing", "show", "--offset", "-1"], ["invoice", "list", "alice", "--after", "zz"],
        ["member", "x y"], ["admin"], ["frobnicate"],
        ["admin", "member", "list", "--after", "Bob"], ["admin", "member", "list", "--limit", "0"],
        ["admin", "member", "list", "extra"], ["admin", "member", "list", "--frozen", "--frozen"],
        ["pay", "bob", "1", "--key", "other.key"], ["balance", "--server", "127.0.0.1:2"],  # twice: whose?
        ["balance", "--server-key", "00" * 32, "--server-key", "11" * 32],
    ]
    for args in cases:
        status, out, err = t.troc(*args, server=dead)
        check(status == 2, "troc %s: expected exit 2, got %d: %s" % (" ".join(args), status, err))
        check(err.startswith("troc: "), "troc %s explains itself: %r" % (" ".join(args), err))
    # An option without its value is named the way trocd names it.
    status, _, err = t.troc("pay", "bob", "1", "--memo", server=dead)
    check(status == 2 and err.startswith("troc: --memo needs a value\n"), "a missing value: " + err)
    # Keys no one can sign with are refused before anything is sent.
    for zeros in (["admin", "member", "add", "bob", "--pubkey", "00" * 32],
                  ["admin", "member", "key", "add", "bob", "ff" * 32]):
        status, _, err = t.troc(*zeros, server=dead)
        check(status == 2 and "is not a key anyone can sign with" in err, "troc %s: %d %s" % (" ".join(zeros),
                                                                                           status, err))
    # A decimal comma is named, with the amount written the way troc reads it.
    status, _, err = t.troc("pay", "bob", "12,50", server=dead)
    check(status == 2 and err.rstrip().endswith("write it with a point: 12.50"), "a decimal comma: %s" % err)
    status, _, err = t.troc("pay", "bob", "1,2,3", server=dead)
    check(status == 2 and "with a point" not in err, "not a decimal comma: %s" % err)
    # A partial command lists what can follow it.
    status, _, err = t.troc("admin", "member", server=dead)
    check(status == 2 and "admin member key revoke" in err and "admin stats" not in err,
          "troc admin member lists its commands: %d %s" % (status, err))
    check(err.startswith("troc: a command is missing after 'troc admin member'; one of:"), "missing: " + err)
    # A word that continues no command is named as unknown, not as missing,
    # and the commands that could follow are listed.
    for args, group, listed in ((["admin", "frobnicate"], "admin", "admin stats"),
                                (["admin", "--bogus"], "admin", "admin stats"),
                                (["admin", "member", "frob"], "admin member", "admin member list"),
                                (["invoice", "frob", "x"], "invoice", "invoice accept"),
                                (["clearing", "frob"], "clearing", "clearing show")):
        status, _, err = t.troc(*args, server=dead)
        unknown = args[len(group.split())]
        check(status == 2 and err.startswith("troc: unknown command '%s' after 'troc %s'; one of:" % (unknown, group))
              and "troc " + listed in err, "troc %s: %d %s" % (" ".join(args), status, err))
    status, out, _ = t.troc("--version", server=dead)
    check(status == 0 and re.fullmatch(r"troc \d+\.\d+\.\d+\n", out), "troc --version: %d %r" % (status, out))
    status, out, _ = t.troc("--version", server=dead, json_output=True)
    check(status == 0 and re.fullmatch(r"\{\"version\": ?\"\d+\.\d+\.\d+\"\}\n", out),
          "troc --version --json: one object: %d %r" % (status, out))
    status, out, _ = t.troc("invoice", "--help", server=dead)
    check(status == 0 and "troc invoice accept ID" in out, "troc invoice --help: %d %s" % (status, out))
    # An empty key setting is no key, as an unset one is.
    no_key = "troc: no key: pass --key FILE or set TROC_KEY (create one with 'troc keygen')\n"
    for command, environment in (([TROC, "--server", dead, "balance"], {"TROC_KEY": ""}),
                                 ([TROC, "--server", dead, "--key", "", "balance"], {}),
                                 ([TROC, "--server", dead, "balance"], {})):
        done = subprocess.run(command, capture_output=True, text=True,
                              env=dict(environment, PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=t.root))
        check(done.returncode == 2 and done.stderr == no_key, "%s with %s: %d %s" % (command, environment,
                                                                                   done.returncode, done.stderr))
    status, _, err = t.troc("balance", key=os.path.join(t.root, "missing.key"), server=dead)
    check(status == 2 and "missing.key" in err, "missing key file: %d %s" % (status, err))
    # A key that is not a private regular file is refused from its type or
    # mode alone (a FIFO must not block), saying what it is and what to do.
    fifo = os.path.join(t.root, "fifo.key")
    os.mkfifo(fifo)
    too_open = os.path.join(t.root, "open key's.key")
    shutil.copy(alice, too_open)
    os.chmod(too_open, 0o644)
    quoted = "'" + too_open.replace("'", "'\\''") + "'"
    for path, want in ((t.root, t.root + " is a directory, not a key file"),
                       ("/dev/null", "/dev/null is a character device, not a key file"),
                       (fifo, fifo + " is a FIFO, not a key file"),
                       (too_open, too_open + " may be read by its group or others, and a secret key must be "
                                             "private; run: chmod 600 " + quoted)):
        for args, key in ((["balance", "alice"], path), (["pubkey", path], None)):
            status, _, err = t.troc(*args, key=key, server=dead)
            check(status == 2 and want in err and ("chmod" in err) == (path == too_open),
                  "troc %s with key %s: %d %s" % (args[0], path, status, err))
    chmod = subprocess.run(["sh", "-c", "chmod 600 " + quoted], capture_output=True, text=True)
    check(chmod.returncode == 0 and os.stat(too_open).st_mode & 0o777 == 0o600, "the chmod given: " + chmod.stderr)
    status, _, err = t.troc("balance", "--server-key", "00ff", server=dead)
    check(status == 2, "malformed --server-key: %d %s" % (status, err))
    status, _, err = t.troc("balance", server="no-port")
    check(status == 2, "malformed server address: %d %s" % (status, err))
    # An IPv6 address without brackets is a typing error, not a network
    # failure (split at its last ':', "::1" would be looked up as "::").
    for server in ("::1", "::1:7400"):
        status, _, err = t.troc("balance", server=server)
        check(status == 2 and "write it as [ADDRESS]:PORT, such as [::1]:7400" in err,
              "--server %s: %d %s" % (server, status, err))
    status, _, err = t.troc("balance", server="[::1]")
    check(status == 2 and "write an IPv6 address as [ADDRESS]:PORT" in err, "--server [::1]: %d %s" % (status, err))
    # An admin session must name the member; a member cannot pay as admin.
    status, _, err = t.troc("balance")
    check(status == 2 and "NAME" in err, "admin without NAME: %d %s" % (status, err))
    status, _, err = t.troc("pay", "alice", "1")
    check(status == 2 and "member's key" in err, "admin cannot pay: %d %s" % (status, err))
    for command in (["pay"], ["admin", "limit"], ["history"], ["admin", "member", "key", "revoke"]):
        status, out, _ = t.troc(*command, "--help", server=dead)
        check(status == 0 and out.startswith("usage: troc " + " ".join(command)), "help: " + out)
        check("--server HOST:PORT" in out and "exit status: 0 done, 1 refused" in out,
              "help names the common options and exit statuses: " + out)
    # The rules of the administrator's commands, and whose NAME is, are in
    # their help, not only in the README.
    for command, said in ((["admin", "limit"], ("none removes the maximum", "At least one of the two limits is "
                                                "needed", "at\n                 most 512 bytes")),
                          (["admin", "member", "add"], ("--balance-max AMOUNT|none", "default none: no maximum",
                                                        "1 to 64 of a-z")),
                          (["admin", "freeze"], ("at most 512 bytes",)),
                          (["admin", "member", "key", "add"], ("at most 16 keys", "never again once revoked")),
                          (["balance"], ("(administrators, who must name one)",)),
                          (["member"], ("(administrators, who must name one)",)),
                          (["history"], ("(administrators, who must name one)",))):
        status, out, _ = t.troc(*command, "--help", server=dead)
        check(status == 0 and all(part in out for part in said), "troc %s --help: %s" % (" ".join(command), out))
    status, out, _ = t.troc("keygen", "--help")
    check(status == 0 and "--server" not in out, "keygen needs no server: " + out)
    # keygen and pubkey have no option: a word starting with '-' is refused
    # as one, not taken for a file's name (a secret key named --bogus); a
    # name starting with '-' follows "--".
    for command in ("keygen", "pubkey"):
        for word in ("--bogus", "-z.key"):
            done = subprocess.run([TROC, command, word], cwd=t.root, capture_output=True, text=True)
            check(done.returncode == 2 and done.stderr.startswith("troc: unknown option " + word + "\n"),
                  "troc %s %s: %d %s" % (command, word, done.returncode, done.stderr))
    check(not os.path.exists(os.path.join(t.root, "--bogus")) and not os.path.exists(os.path.join(t.root, "-z.key")),
          "a refused keygen wrote a key file")
    made = subprocess.run([TROC, "keygen", "--", "-z.key"], cwd=t.root, capture_output=True, text=True)
    check(made.returncode == 0 and os.path.exists(os.path.join(t.root, "-z.key")), "keygen -- -z.key: " + made.stderr)
    read = subprocess.run([TROC, "pubkey", "--", "-z.key"], cwd=t.root, capture_output=True, text=True)
    check(read.returncode == 0 and read.stdout == made.stdout, "pubkey -- -z.key: %r %s" % (read.stdout, read.stderr))
    # A word starting with '-' that is no option of the command is refused
    # as an unknown option, not taken for a NAME (a member named
    # -credit-limit, admitted for good); the message says what was meant.
    for args, said in ((["admin", "member", "add", "-credit-limit", "--pubkey", pk],
                        "unknown option -credit-limit: options take two dashes (--credit-limit)\n"),
                       (["pay", "bob", "-5"], "unknown option -5 (amounts and numbers are never negative); "),
                       (["admin", "freeze", "-dash", "--reason", "r"], "unknown option -dash; an argument that "
                        "starts with '-' goes after '--', every option before it (... -- -dash)\n"),
                       (["balance", "-x"], "unknown option -x; "),
                       (["admin", "freeze", "--", "-dash", "--reason", "r"],
                        "unexpected argument --reason: after '--' every word is an argument; give the options "
                        "before '--'\n"),
                       (["admin", "limit", "bob", "--reason", "--credit-limit", "5"],
                        "--reason needs a value, but is followed by the option --credit-limit\n")):
        status, _, err = t.troc(*args, server=dead)
        check(status == 2 and err.startswith("troc: " + said), "troc %s: %d %s" % (" ".join(args), status, err))
    # After "--" such a word is an argument, and "-" alone always is.
    t.refused("unknown_member", "admin", "freeze", "--reason", "r", "--", "-dash")
    t.refused("not_found", "balance", "-")
    check(journal_entries(t) == before, "usage errors sent nothing")


def scenario_unreachable(t):
    """Exit 3 when the server cannot be reached or talked to."""
    t.member("alice")
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    closed_port = free.getsockname()[1]
    free.close()
    status, _, err = t.troc("admin", "stats", server="127.0.0.1:%d" % closed_port)
    check(status == 3 and "refused" in err.lower(), "closed port: %d %s" % (status, err))
    status, _, err = t.troc("admin", "stats", server=os.path.join(t.root, "nobody.sock"))
    check(status == 3, "missing socket: %d %s" % (status, err))
    # Something that accepts and says nothing troc understands.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(4)

    def answer_garbage():
        for _ in range(2):
            connection, _ = mute.accept()
            connection.recv(1024)
            connection.sendall(b"\x00\x00\x00\x05hello")
            connection.close()
    threading.Thread(target=answer_garbage, daemon=True).start()
    status, _, err = t.troc("admin", "stats", server="127.0.0.1:%d" % mute.getsockname()[1])
    check(status == 3, "not a troc server: %d %s" % (status, err))
    status, out, err = t.troc("admin", "stats", server="127.0.0.1:%d" % closed_port, json_output=True)
    check(status == 3 and json.loads(out)["error"] == "ECONNREFUSED", "json error: %d %s" % (status, out))
    # The key is not registered in this territory.
    status, _, err = t.troc("balance", key=t.keygen("stranger"))
    check(status == 1 and "refused: denied" in err and "not an active key" in err, "unregistered key: %d %s" % (status, err))
    check("a member's key never registered there needs an administrator to register it (an administrator's keys "
          "are the ones the territory was made with)" in err, "what to do: " + err)
    status, out, _ = t.troc("balance", key=t.keygen("stranger"), json_output=True)
    check(status == 1 and json.loads(out)["result"] == "denied", "unregistered key, --json: %d %s" % (status, out))
    # The daemon stops: exit 3, then it serves again after a restart.
    t.stop()
    status, _, err = t.troc("admin", "stats", server=t.socket)
    check(status == 3, "stopped daemon: %d %s" % (status, err))
    t.start()
    t.ok("admin", "stats")


def scenario_closed_output(t):
    """Standard output closed: every command refuses to run (exit 2, and
    why on stderr) before anything is sent, rather than act and lose its
    result (a payment's id, a balance) behind exit status 0."""
    alice = t.member("alice", "100")
    t.member("bob")
    before = journal_entries(t)
    said = "troc: standard output is closed: give the command an output (>/dev/null to discard it)\n"
    for args, key, json_output in ((["pay", "bob", "0.01"], alice, False), (["pay", "bob", "0.01"], alice, True),
                                   (["balance"], alice, False), (["balance", "bob"], None, True),
                                   (["admin", "member", "add", "carol", "--pubkey", t.pubkey(t.keygen("carol"))],
                                    None, False),
                                   (["admin", "freeze", "bob", "--reason", "r"], None, False),
                                   (["--help"], None, False), (["--version"], None, True)):
        status, out, err = t.troc(*args, key=key, json_output=json_output, stdout_closed=True)
        check(status == 2 and out == "" and err == said,
              "troc %s >&-: %d %r %r" % (" ".join(args), status, out, err))
    check(journal_entries(t) == before, "a command refused for its closed output changed the ledger")
    check(balance(t, "bob") == "0.00" and balance(t, "alice") == "0.00", "the payment was made")
    check([m["member"] for m in t.json("admin", "member", "list")["members"]] == ["alice", "bob"], "carol admitted")
    # Standard error closed too: the status alone speaks.
    done = subprocess.run(["sh", "-c", 'exec "$@" >&- 2>&-', "sh", TROC, "--server", t.server, "--key", alice,
                           "pay", "bob", "0.01"], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                       "HOME": t.root,
                                                       "XDG_CONFIG_HOME": os.path.join(t.root, "config")})
    check(done.returncode == 2 and balance(t, "bob") == "0.00", "troc pay >&- 2>&-: %d" % done.returncode)
    # Standard output full: the item is made, exit 1, and its id (the
    # output lost) is named on stderr, for every command that submits one.
    if not os.access("/dev/full", os.W_OK):
        return
    pay_id = "5a" * 16
    for args, key, what in ((["pay", "bob", "0.02", "--id", pay_id], alice, "payment"),
                            (["admin", "freeze", "bob", "--reason", "r"], None, "action"),
                            (["invoice", "issue", "bob", "3"], alice, "invoice action")):
        for json_output in (False, True):
            with open("/dev/full", "w") as full:
                command = [TROC, "--server", t.server, "--key", key or t.admin] + args
                done = subprocess.run(command + (["--json"] if json_output else []), stdout=full,
                                      stderr=subprocess.PIPE, text=True, env={"PATH": os.environ.get("PATH", ""),
                                                                             "HOME": t.root})
            found = re.search(r"\ntroc: the %s was made all the same and stands: id ([0-9a-f]{32}), journal #(\d+)\n$"
                              % what, done.stderr)
            check(done.returncode == 1 and done.stderr.startswith("troc: cannot write the output: ") and found,
                  "troc %s >/dev/full: %d %s" % (" ".join(args), done.returncode, done.stderr))
            if what == "payment":
                check(found.group(1) == pay_id, "the payment's id: " + done.stderr)
            if what == "action":
                t.ok("admin", "unfreeze", "bob", "--reason", "r")
    check(balance(t, "bob") == "0.02", "the payment was made once")


def scenario_idempotent(t):
    """Resubmitting with --id returns the original result; the same id with
    another payment is refused."""
    alice = t.member("alice", "500")
    t.member("bob")
    payment_id = "0123456789abcdef0123456789abcdef"
    first = t.json("pay", "bob", "25", "--memo", "once", "--id", payment_id, key=alice)
    again = t.json("pay", "bob", "25", "--memo", "once", "--id", payment_id, key=alice)
    check(first["result"] == "ok" and again["result"] == "ok", "both ok: %r %r" % (first, again))
    check(first["id"] == payment_id == again["id"], "ids")
    check(first["journal_seq"] == again["journal_seq"], "the original result: %r %r" % (first, again))
    check(balance(t, "alice") == "-25.00", "paid once")
    err = t.refused("id_reused", "pay", "bob", "26", "--memo", "once", "--id", payment_id, key=alice)
    check("run the first command again exactly" in err, "id_reused says what to do: " + err)
    status, out, _ = t.troc("pay", "bob", "26", "--id", payment_id, key=alice, json_output=True)
    check(status == 1 and json.loads(out)["result"] == "id_reused", "json refusal: " + out)
    check(balance(t, "alice") == "-25.00", "still paid once")
    check(t.json("admin", "stats")["transfers"] == 1, "one transfer")


class DropFirstReply:
    """A TCP proxy to trocd that, on its first connection, forwards the
    client's request but drops the connection instead of the reply: the
    payment is committed and the client cannot know it.  With `answered`,
    that many requests are answered first and the one after them is the
    one whose reply is lost."""

    HANDSHAKE_FRAMES = 2                    # the client's frames before its first request
    DROPS_REPLIES = True                    # False: a subclass that only watches the requests

    def __init__(self, target_port, every=False, answered=0, refuse_after=False):
        self.target_port = target_port
        self.every = every                  # drop the reply on every connection, not only the first
        self.answered = answered            # requests answered before the reply dropped
        self.refuse_after = refuse_after    # close every connection after the first at once
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            client, _ = self.listener.accept()
            self.connections += 1
            if self.refuse_after and self.connections > 1:
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            drop = self.DROPS_REPLIES and (self.every or self.connections == 1)
            state = {"client_frames": 0}
            threading.Thread(target=self.pump, args=(client, server, state, None), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, state, drop), daemon=True).start()

    @staticmethod
    def frames(buffer):
        count = 0
        while len(buffer) >= 4:
            size = int.from_bytes(buffer[:4], "big")
            if len(buffer) < 4 + size:
                break
            buffer = buffer[4 + size:]
            count += 1
        return count, buffer

    def before_forwarding(self, state):
        """Called with the count of the client's frames so far, before they
        are forwarded."""

    def pump(self, source, destination, state, drop):
        pending = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if drop is None:
                    count, pending = self.frames(pending + data)
                    state["client_frames"] += count
                    self.before_forwarding(state)
                elif drop and state["client_frames"] > self.HANDSHAKE_FRAMES + self.answered:
                    break  # the reply to the request: lost
                destination.sendall(data)
        except OSError:
            pass
        for s in (source, destination):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def scenario_retry(t):
    """troc pay retries once, with the same id, after a lost connection."""
    alice = t.member("alice", "500")
    t.member("bob")
    proxy = DropFirstReply(t.port)
    paid = t.json("pay", "bob", "12.34", key=alice, server=proxy.address)
    check(paid["result"] == "ok", "paid: %r" % paid)
    check(proxy.connections == 2, "the payment was sent on a second connection (%d)" % proxy.connections)
    check(balance(t, "alice") == "-12.34", "paid exactly once")
    check(t.json("admin", "stats")["transfers"] == 1, "one transfer")
    # When the retry is lost too, --json still names the id to send again
    # with, and sending it again pays nothing twice.
    lost = DropFirstReply(t.port, every=True)
    status, out, err = t.troc("pay", "bob", "1.00", key=alice, server=lost.address, json_output=True)
    report = json.loads(out)
    check(status == 3 and report["outcome"] == "unknown" and re.fullmatch(r"[0-9a-f]{32}", report["id"]),
          "an unknown outcome: %d %r %s" % (status, out, err))
    check(report["id"] in err, "stderr names the id too: " + err)
    again = t.json("pay", "bob", "1.00", "--id", report["id"], key=alice)
    check(again["result"] == "ok" and again["id"] == report["id"], "resent: %r" % again)
    check(balance(t, "alice") == "-13.34" and t.json("admin", "stats")["transfers"] == 2, "paid once")
    # An administrator's action takes no --id: its unknown outcome says
    # where to see what it did, and that running it again is safe.
    status, _, err = t.troc("admin", "freeze", "bob", "--reason", "audit", server=lost.address)
    check(status == 3 and "troc: the action's outcome is unknown; see whether it was applied with: troc member bob "
          "(its account, keys and limit changes).  Running the same command again is safe: if this one was "
          "applied, the ledger refuses that one (already_frozen)." in err, "freeze, its answer lost: %s" % err)
    t.refused("already_frozen", "admin", "freeze", "bob", "--reason", "audit")
    # With --json, the member to look at is named beside the action's id.
    status, out, err = t.troc("admin", "unfreeze", "bob", "--reason", "audit done", server=lost.address,
                              json_output=True)
    report = json.loads(out)
    check(status == 3 and report["outcome"] == "unknown" and report["member"] == "bob" and
          re.fullmatch(r"[0-9a-f]{32}", report["id"]), "unfreeze, its answer lost: %d %r %s" % (status, out, err))
    t.refused("not_frozen", "admin", "unfreeze", "bob", "--reason", "audit done")
    # When connecting again fails too, the message still says that the
    # request's connection was lost, not only why the new one failed.
    gone = DropFirstReply(t.port, refuse_after=True)
    status, _, err = t.troc("pay", "bob", "1.00", key=alice, server=gone.address)
    check(status == 3 and "closed the connection; connecting again to resend it failed" in err and
          "outcome is unknown" in err, "a failed reconnect: %d %s" % (status, err))


def scenario_server_key(t):
    """The territory key is pinned on first use; a changed key is refused
    loudly; --server-key must match."""
    t.member("alice")
    t.ok("admin", "stats", server=t.socket)
    known = os.path.join(t.root, "config", "troc", "known_territories")
    check(t.territory_key in open(known).read(), "pinned in the known-territories file")
    # A key that cannot be recorded fails the command, and a configuration
    # directory that does not exist is not created.
    nowhere = os.path.join(t.root, "nonexistent", "config")
    status, _, err = t.troc("admin", "stats", server=t.socket, config_home=nowhere)
    check(status == 2 and "cannot record the territory key" in err and "--server-key" in err,
          "unrecordable key refused: %d %s" % (status, err))
    check(not os.path.exists(os.path.join(t.root, "nonexistent")), "nothing created under a missing directory")
    status, _, err = t.troc("admin", "stats", "--server-key", t.territory_key)
    check(status == 0, "matching --server-key: %s" % err)
    status, _, err = t.troc("admin", "stats", "--server-key", "ab" * 32)
    check(status == 3 and t.territory_key in err and "ab" * 32 in err, "wrong --server-key: %s" % err)
    t.stop()
    # Another territory answers at the same socket path.
    other = Territory(t.root, "otherland", socket_path=t.socket)
    other.start()
    try:
        status, out, err = other.troc("admin", "stats", server=t.socket)
        check(status == 3, "changed key refused (exit 3): %d" % status)
        check("HAS CHANGED" in err and t.territory_key in err and other.territory_key in err,
              "the refusal shows both keys: " + err)
        check(known in err, "and names the file: " + err)
        # With the right --server-key the user can still reach it.
        status, _, err = other.troc("admin", "stats", "--server-key", other.territory_key, server=t.socket)
        check(status == 0, "explicit key: %s" % err)
    finally:
        other.stop()


KNOWN_FILE_HINT = ("troc: to connect without the known-territories file, give the territory's key: "
                   "--server-key HEX, as 'trocd init' printed it\n")


def check_known_file_refusal(what, status, out, err, *said):
    """Exit 2, nothing on stdout, and on stderr what `said` holds, then what
    a troc user can do (not what a libtroc caller can: a function)."""
    check(status == 2 and out == "" and all(s in err for s in said) and err.endswith(KNOWN_FILE_HINT) and
          "troc_client_" not in err, "%s: %d %r %s" % (what, status, out, err))


def scenario_known_file(t):
    """A known-territories file troc cannot use (not writable, no home
    directory to keep it in, a malformed line) is a local configuration
    problem, found before any item is sent: exit 2, its message on stderr
    only, also with --json, saying what a troc user can do."""
    alice = t.member("alice")
    before = journal_entries(t)
    # Root writes any file: the refused user is then another one, with a
    # key of its own.  It needs to reach its key through the test's directory.
    user = NAMELESS_USER if os.getuid() == 0 else None
    key = os.path.join(t.root, "alice-elsewhere.key")
    shutil.copy(alice, key)
    if user is not None:
        os.chown(key, user, user)
        os.chmod(t.root, 0o711)
    read_only = os.path.join(t.root, "read-only")
    known = os.path.join(read_only, "troc", "known_territories")
    os.makedirs(os.path.dirname(known))
    with open(known, "w") as f:
        f.write("# pinned by hand\n")
    for path, mode in ((known, 0o444), (os.path.dirname(known), 0o555), (read_only, 0o555)):
        os.chmod(path, mode)
    for json_output in (False, True):
        status, out, err = t.troc("balance", key=key, config_home=read_only, user=user, json_output=json_output)
        check_known_file_refusal("a file that cannot be written (--json %s)" % json_output, status, out, err,
                                 "cannot record the territory key", known, "Permission denied",
                                 "set XDG_CONFIG_HOME to a directory you may write")
    check(open(known).read() == "# pinned by hand\n", "the file was changed")
    if user is not None:
        # No home directory at all: HOME unset, and a user the password
        # database does not name.
        for json_output in (False, True):
            status, out, err = t.troc("balance", key=key, config_home=UNSET, home=UNSET, user=user,
                                      json_output=json_output)
            check_known_file_refusal("no home directory (--json %s)" % json_output, status, out, err,
                                     "no home directory", "set HOME")
    else:
        print("skipped: no home directory (needs root, to run troc as a user without one)")
    # A malformed line before the server's own is the file's fault, not the
    # server's: the same status, and the line named.
    pinned = os.path.join(t.root, "config", "troc", "known_territories")
    with open(pinned) as f:
        lines = f.read()
    with open(pinned, "w") as f:
        f.write("# pinned\n127.0.0.1:7400 not-a-key\n" + lines)
    for json_output in (False, True):
        status, out, err = t.troc("balance", key=alice, json_output=json_output)
        check_known_file_refusal("a malformed line (--json %s)" % json_output, status, out, err,
                                 pinned + ", line 2, is not 'SERVER-ADDRESS TERRITORY-KEY'; fix or remove it")
    with open(pinned, "w") as f:
        f.write(lines)
    # As README says: a missing ~/.config or $XDG_CONFIG_HOME is created,
    # a missing home directory or parent of $XDG_CONFIG_HOME is not.
    home = os.path.join(t.root, "home")
    os.mkdir(home)
    t.ok("balance", key=alice, home=home, config_home=UNSET)
    check(os.path.exists(os.path.join(home, ".config", "troc", "known_territories")), "~/.config was not made")
    t.ok("balance", key=alice, config_home=os.path.join(t.root, "new-config"))
    check(os.path.exists(os.path.join(t.root, "new-config", "troc", "known_territories")), "no XDG_CONFIG_HOME")
    for home, config_home in ((os.path.join(t.root, "no-home"), UNSET),
                              (home, os.path.join(t.root, "no-parent", "config"))):
        status, out, err = t.troc("balance", key=alice, home=home, config_home=config_home)
        check_known_file_refusal("HOME %s, XDG_CONFIG_HOME %s" % (home, config_home), status, out, err,
                                 "cannot record the territory key", "does not exist", "fix HOME")
    check(not os.path.exists(os.path.join(t.root, "no-home")) and not os.path.exists(os.path.join(t.root, "no-parent")),
          "a missing home directory or parent of XDG_CONFIG_HOME was made")
    check(journal_entries(t) == before, "something was sent")


def scenario_json(t):
    """--json: one object per command, parsed with python's json."""
    alice = t.member("alice", "500", "1000")
    bob = t.member("bob", "50")
    added = t.json("admin", "member", "add", "carol", "--pubkey", t.pubkey(t.keygen("carol")))
    check(added["result"] == "ok" and added["action"] == "member_add" and added["balance_max"] is None and
          added["credit_limit"] == "0.00", added)
    check(re.fullmatch(r"[0-9a-f]{32}", added["id"]) and added["journal_seq"] > 0, added)
    paid = t.json("pay", "bob", "120.5", "--memo", "caf\u00e9 \"quoted\"", key=alice)
    check(paid["amount"] == "120.50" and paid["payer"] == "alice" and paid["memo"] == "caf\u00e9 \"quoted\"", paid)
    own = t.json("balance", key=alice)
    check(own == {"member": "alice", "balance": "-120.50", "credit_limit": "500.00", "balance_max": "1000.00",
                  "frozen": False, "over_limit": False, "unit": "EUR"}, own)
    check(t.json("balance", key=bob)["balance_max"] is None, "no maximum: null")
    history = t.json("history", "--limit", "5", key=alice)
    check(history["member"] == "alice" and len(history["lines"]) == 1 and not history["more"], history)
    line = history["lines"][0]
    check(line["counterparty"] == "bob" and line["amount"] == "-120.50" and line["balance_after"] == "-120.50"
          and line["kind"] == "transfer" and line["id"] == paid["id"], line)
    limit = t.json("admin", "limit", "alice", "--balance-max", "none", "--reason", "wholesaler")
    check(limit["balance_max"] is None and limit["reason"] == "wholesaler", limit)
    record = t.json("member", "alice")
    check(record["balance_max"] is None and len(record["keys"]) == 1 and not record["keys"][0]["revoked"], record)
    check(record["limit_changes"][0]["reason"] == "wholesaler", record)
    stats = t.json("admin", "stats")
    for field in ("members", "transfers", "balance_sum", "debt", "accounts_over_limit", "journal_entries"):
        check(field in stats, "stats has " + field)
    status, out, err = t.troc("pay", "bob", "5000", key=alice, json_output=True)
    refusal = json.loads(out)
    check(status == 1 and refusal["result"] == "exceeds_credit_limit" and refusal["detail"], refusal)
    status, out, _ = t.troc("balance", "bob", key=alice, json_output=True)
    check(status == 1 and json.loads(out)["result"] == "denied", out)


def scenario_backup(t):
    """troc admin backup: a copy trocd verify accepts, refusals with their
    exit status, and the restore of docs/operations.md."""
    alice = t.member("alice", "500")
    t.member("bob")
    t.ok("pay", "bob", "12.34", key=alice)
    status, out, _ = t.troc("admin", "backup", "--help")
    check(status == 0 and out.startswith("usage: troc admin backup DEST"), "help: " + out)
    destination = os.path.join(t.root, "backups", "first")
    os.mkdir(os.path.dirname(destination))
    copy = t.json("admin", "backup", destination)
    check(copy["path"] == destination and copy["journal_entries"] == journal_entries(t) and copy["bytes"] > 0,
          "backup json: %r" % copy)
    check(copy["result"] == "ok" and copy["action"] == "backup", "a result as the other admin actions: %r" % copy)
    check(sorted(os.listdir(destination)) == ["data.mdb", "territory.key"], os.listdir(destination))
    check(os.stat(os.path.join(destination, "territory.key")).st_mode & 0o777 == 0o600, "key mode")
    check(os.listdir(os.path.dirname(destination)) == ["first"], "no temporary directory left")
    verify = subprocess.run([TROCD, "verify", "--data", destination, "--json"], capture_output=True, text=True)
    check(verify.returncode == 0 and json.loads(verify.stdout)["ok"], "verify: " + verify.stdout + verify.stderr)
    out = t.ok("admin", "backup", os.path.join(t.root, "backups", "second"))
    check("backup written to" in out and "trocd verify --data" in out, "backup output: " + out)
    # The command it suggests can be pasted into a shell whatever the path holds.
    odd = os.path.join(t.root, "backups", "it's $HOME; a copy")
    out = t.ok("admin", "backup", odd)
    suggested = [line for line in out.splitlines() if line.startswith("check it with: ")]
    check(len(suggested) == 1 and "'\\''" in suggested[0], "backup output: " + out)
    command = suggested[0][len("check it with: "):].replace("trocd", shlex.quote(TROCD), 1)
    pasted = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    check(pasted.returncode == 0 and pasted.stdout.startswith("ok "), "pasted: %s: %s" % (command, pasted.stderr))
    t.refused("not_empty", "admin", "backup", destination)
    # A link to an empty directory is taken as that directory.
    os.mkdir(os.path.join(t.root, "backups", "nightly"))
    link = os.path.join(t.root, "backups", "latest")
    os.symlink("nightly", link)
    out = t.ok("admin", "backup", link)
    check(os.path.islink(link) and "territory.key" in os.listdir(link), "backup through a link: " + out)
    t.refused("denied", "admin", "backup", os.path.join(t.root, "backups", "third"), key=alice)
    t.refused("enoent", "admin", "backup", os.path.join(t.root, "nowhere", "copy"))
    status, out, err = t.troc("admin", "backup", "relative/dir")
    check(status == 2 and "absolute" in err, "relative DEST: %d %s" % (status, err))
    status, _, err = t.troc("admin", "backup")
    check(status == 2 and "usage" in err, "no DEST: %d %s" % (status, err))
    status, out, _ = t.troc("admin", "backup", destination, json_output=True)
    check(status == 1 and json.loads(out)["result"] == "not_empty", "json refusal: " + out)
    # After the backup: a payment the restore will lose, then the restore.
    t.ok("pay", "bob", "1.00", key=alice)
    check(balance(t, "alice") == "-13.34", "before the restore")
    t.stop()
    os.rename(t.data, t.data + ".replaced")
    subprocess.run(["cp", "-a", destination, t.data], check=True)
    verify = subprocess.run([TROCD, "verify", "--data", t.data], capture_output=True, text=True)
    check(verify.returncode == 0 and verify.stdout.startswith("ok "), "verify restored: " + verify.stdout)
    t.start()
    check(balance(t, "alice") == "-12.34", "the restored ledger is the backup's")
    check(journal_entries(t) == copy["journal_entries"], "journal entries of the backup")
    t.stop()
    status, _, err = t.troc("admin", "backup", os.path.join(t.root, "backups", "fourth"))
    check(status == 3, "daemon stopped: %d %s" % (status, err))
    t.start()


def cell_spans(line, text):
    """Where `text` stands as a cell of `line` (between spaces or the
    line's ends), each time it does."""
    spans = [m.span() for m in re.finditer(r"(?:^|(?<= ))" + re.escape(text) + r"(?= |$)", line)]
    check(spans, "%r is not a cell of %r" % (text, line))
    return spans


def check_table(out, heading, rows):
    """In the table of `out` whose heading line starts with `heading`, the
    row holding each key has each of its texts under its column's heading:
    amounts, counts and "none" (no balance maximum) flush right, other
    texts flush left."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(heading)]
    check(len(starts) == 1, "one heading line %r in: %s" % (heading, out))
    header = lines[starts[0]]
    for key, cells in rows:
        found = [line for line in lines[starts[0] + 1:] if key in line]
        check(found, "no row holds %r: %s" % (key, out))
        for title, text in cells.items():
            title_start, title_end = cell_spans(header, title)[0]
            right = text == "none" or re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None
            check(any((title_end == end) if right else (title_start == start)
                      for start, end in cell_spans(found[0], text)),
                  "%r is not under %r:\n%s\n%s" % (text, title, header, found[0]))


def check_figures(out, figures):
    """Each (label, value) of `figures` is a line of `out`; the values end
    in one column."""
    ends = set()
    for label, value in figures:
        found = [line for line in out.splitlines() if line.startswith("  " + label + "  ")]
        check(len(found) == 1, "one line %r in: %s" % (label, out))
        ends.add(cell_spans(found[0], value)[-1][1])
    check(len(ends) == 1, "the values are not flush right in one column: " + out)


def scenario_columns(t):
    """Columns widen to the widest text they print: names of the 64
    characters a name may have, amounts of 17 digits and more (a credit
    line and a payment reach 10,000,000,000,000.00; balances and totals
    add them up), in every table of the human outputs."""
    big = "10000000000000"
    name = "la-cooperative-des-boulangers-du-vieux-port-de-marseille-et-env"
    name += "s" * (64 - len(name))
    check(len(name) == 64, name)
    short = "a-name-of-25-characters.1"          # one more than the member list's usual 24
    t.member(short, "5")
    out = t.ok("admin", "member", "list")
    check_table(out, "member ", [(short, {"member": short, "balance": "0.00", "credit limit": "5.00",
                                          "balance max": "none", "account": "active"})])
    long_key = t.member(name, big)
    payers = {payer: t.member(payer, big) for payer in ("p1", "p2", "p3")}
    for key in payers.values():
        t.ok("pay", name, big, key=key)
    rich, owing = "30000000000000.00", "-10000000000000.00"

    out = t.ok("admin", "member", "list")
    check_table(out, "member ", [(name, {"member": name, "balance": rich, "credit limit": big + ".00",
                                        "balance max": "none", "account": "active"}),
                                ("p1 ", {"member": "p1", "balance": owing, "credit limit": big + ".00",
                                         "account": "active"})])
    out = t.ok("balance", name)
    check_figures(out, [("balance", rich), ("credit limit", big + ".00"), ("balance max", "none"),
                        ("can pay", "40000000000000.00")])
    check("\n  account       active\n" in out, "the account's state, after the amounts: " + out)
    out = t.ok("history", name)
    check_table(out, "   seq", [("p3", {"counterparty": "p3", "amount": big + ".00", "balance": rich}),
                               ("p1", {"counterparty": "p1", "amount": big + ".00", "balance": big + ".00"})])
    out = t.ok("history", "p1")
    check_table(out, "   seq", [(name, {"counterparty": name, "amount": owing, "balance": owing})])

    # A cycle of the largest invoices: name -> p1 -> p2 -> name.
    first = t.json("invoice", "issue", "p1", big, "--ref", "R-1", key=long_key)["invoice_id"]
    second = t.json("invoice", "issue", "p2", big, key=payers["p1"])["invoice_id"]
    third = t.json("invoice", "issue", name, big, key=payers["p2"])["invoice_id"]
    t.ok("invoice", "accept", first, key=payers["p1"])
    t.ok("invoice", "accept", second, key=payers["p2"])
    t.ok("invoice", "accept", third, key=long_key)
    out = t.ok("invoice", "list", name)
    row = {"debtor": "p1", "creditor": name, "amount": big + ".00", "remaining": big + ".00", "due": "-",
           "ref": "R-1"}
    # An invoice without a reference shows '-' there, as an empty due date.
    check_table(out, "id ", [(first, row), (third, {"debtor": name, "creditor": "p2", "amount": big + ".00",
                                                    "due": "-", "ref": "-"})])
    out = t.ok("admin", "stats")
    check_figures(out, [("members", "5"), ("sum of balances", "0.00"), ("debt outstanding", rich),
                        ("obligations open", "3"), ("obligations owed", rich)])
    check(t.json("admin", "clear")["clearing"]["cleared"] == rich, "the cycle clears whole")
    out = t.ok("clearing", "show")
    check_table(out, "invoice ", [(first, {"debtor": "p1", "creditor": name, "cleared": big + ".00",
                                           "paid": "0.00"}),
                                  (third, {"debtor": name, "creditor": "p2", "cleared": big + ".00"})])
    out = t.ok("history", name)
    check_table(out, "   seq", [("set-off of invoice " + third, {"counterparty": "p2", "amount": "-" + big + ".00",
                                                                  "balance": rich})])
    check(not any(line.endswith(" ") for line in out.splitlines()), "no line ends with a space: %r" % out)


def run_scenario(scenarios, prefix):
    """Runs the scenario named by argv[3], taken from `scenarios` (a module's
    globals), in a fresh territory; prints trocd's log tail on failure."""
    scenario = scenarios.get("scenario_" + sys.argv[3])
    if scenario is None:
        print("unknown scenario " + sys.argv[3], file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=prefix) as root:
        territory = Territory(root)
        territory.start()
        try:
            scenario(territory)
        except Failure as failure:
            print("FAILED: %s" % failure, file=sys.stderr)
            log = os.path.join(root, "trocd.log")
            if os.path.exists(log):
                print("--- trocd.log (tail)\n" + "".join(open(log).readlines()[-30:]), file=sys.stderr)
            return 1
        finally:
            territory.stop()
    print("ok: " + sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(run_scenario(globals(), "troc-cli-"))
