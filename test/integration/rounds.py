#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Integration tests of invoices and clearing rounds through the `troc`
# command line against a real trocd (the harness of cli.py: a fresh
# territory in a temporary directory, trocd on a free port).
#
#   rounds.py TROCD TROC SCENARIO
#
# Scenarios:
#   invoices     the invoice life cycle and every refusal, exit statuses
#   triangle     a cycle of accepted invoices set off by `troc admin clear`:
#                no balance moves, statements show the set-offs, `troc
#                clearing show` prints the round, `trocd verify` replays it
#   credit       credit mode pays what cannot clear, within every limit,
#                and leaves frozen members' obligations out
#   dry_run      --dry-run changes nothing
#   idempotent   the same clearing request answers the same round
#   clear_every  `trocd run --clear-every` runs rounds on its own
#   unread       an invoice action applied whose invoice cannot be read
#                back prints what is known of it, and how to see it
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402  (reads TROCD and TROC from sys.argv, as this script does)
from cli import Failure, Territory, check  # noqa: E402

# How long clear_every waits for the daemon's first round (a bound on a
# hang, not a timing assertion: the round normally comes within a second).
ROUND_WAIT_S = 60


def issue(t, creditor_key, debtor, amount, *extra):
    """Issues an invoice; returns its id."""
    out = t.json("invoice", "issue", debtor, amount, *extra, key=creditor_key)
    check(out["result"] == "ok" and out["action"] == "issue", out)
    check(re.fullmatch(r"[0-9a-f]{32}", out["invoice_id"]) and out["invoice"]["state"] == "pending", out)
    return out["invoice_id"]


def accept(t, debtor_key, invoice_id):
    out = t.json("invoice", "accept", invoice_id, key=debtor_key)
    check(out["invoice"]["state"] == "open", out)


def invoices(t, member):
    """The member's invoices, by id (read by the admin)."""
    listed = t.json("invoice", "list", member, "--limit", "1000")
    return {v["id"]: v for v in listed["invoices"]}


def accounts(t, names):
    return {name: t.json("balance", name) for name in names}


def stats(t):
    return t.json("admin", "stats")


def within_limits(account):
    balance = float(account["balance"])
    ok = balance >= -float(account["credit_limit"])
    if account["balance_max"] is not None:
        ok = ok and balance <= float(account["balance_max"])
    return ok


def stop_and_verify(t):
    """Stops trocd and runs `trocd verify` on its ledger."""
    t.stop()
    done = subprocess.run([cli.TROCD, "verify", "--data", t.data, "--json"], capture_output=True, text=True,
                          timeout=120)
    check(done.returncode == 0, "trocd verify: %d %s %s" % (done.returncode, done.stdout, done.stderr))
    check(json.loads(done.stdout)["ok"] is True, done.stdout)


# ------------------------------------------------------------- scenarios

def scenario_invoices(t):
    """Issue, accept, reject, cancel, pay partly and fully, list, and every
    refusal with exit 1 and the code's name."""
    alice = t.member("alice", "500")
    bob = t.member("bob", "100")
    carol = t.member("carol", "100")
    first = issue(t, alice, "bob", "100", "--ref", "F-1", "--due", "2026-12-31")
    second = issue(t, alice, "bob", "40")
    third = issue(t, alice, "bob", "15.50")
    listed = t.json("invoice", "list", key=bob)
    check([v["id"] for v in listed["invoices"]] == [third, second, first], "newest first: %r" % listed)
    check(listed["invoices"][2]["ref"] == "F-1" and listed["invoices"][2]["due"] == "2026-12-31", listed)
    check(t.json("invoice", "list", key=carol)["invoices"] == [], "carol is party to none")
    before = cli.journal_entries(t)
    unknown = "00" * 16
    t.refused("unknown_invoice", "invoice", "accept", first, key=carol)       # not party to it
    t.refused("unknown_invoice", "invoice", "reject", first, "--reason", "no", key=carol)
    t.refused("unknown_invoice", "invoice", "cancel", first, key=carol)
    t.refused("not_debtor", "invoice", "accept", first, key=alice)
    t.refused("not_creditor", "invoice", "cancel", first, key=bob)
    t.refused("not_debtor", "invoice", "reject", first, "--reason", "no", key=alice)
    t.refused("unknown_invoice", "invoice", "accept", unknown, key=bob)
    t.refused("unknown_invoice", "invoice", "cancel", unknown, key=alice)
    t.refused("invoice_not_open", "invoice", "pay", first, "1", key=bob)      # still pending
    t.refused("unknown_invoice", "invoice", "pay", unknown, key=bob)
    t.refused("unknown_invoice", "invoice", "pay", first, key=carol)         # not party to it
    err = t.refused("unknown_member", "invoice", "issue", "dave", "1", key=alice)
    check("no member is named 'dave'" in err, "unknown_member names the debtor: " + err)
    t.refused("same_account", "invoice", "issue", "alice", "1", key=alice)
    check(cli.journal_entries(t) == before, "refusals changed nothing")
    check(stats(t)["invoices_pending"] == 3, "three pending")

    rejected = t.json("invoice", "reject", second, "--reason", "not ordered", key=bob)
    check(rejected["invoice"]["state"] == "rejected" and rejected["invoice"]["reject_reason"] == "not ordered",
          rejected)
    check(rejected["invoice"]["remaining"] == "0.00", "a rejected invoice is owed by no one: %r" % rejected)
    t.refused("invoice_not_pending", "invoice", "accept", second, key=bob)
    t.refused("invoice_not_pending", "invoice", "cancel", second, key=alice)
    cancelled = t.json("invoice", "cancel", third, key=alice)
    check(cancelled["invoice"]["state"] == "cancelled" and cancelled["invoice"]["remaining"] == "0.00", cancelled)
    t.refused("invoice_not_pending", "invoice", "accept", third, key=bob)
    out = t.ok("invoice", "accept", first, key=bob)
    check("accepted invoice " + first in out and "open" in out, out)
    t.refused("invoice_not_pending", "invoice", "cancel", first, key=alice)
    t.refused("invoice_not_pending", "invoice", "accept", first, key=bob)
    check(stats(t)["obligations_open"] == 1 and stats(t)["obligations"] == "100.00", stats(t))

    paid = t.json("invoice", "pay", first, "30", key=bob)
    check(paid["paid"] == "30.00" and paid["invoice"]["remaining"] == "70.00" and paid["invoice"]["paid"] == "30.00",
          paid)
    check(cli.balance(t, "bob") == "-30.00" and cli.balance(t, "alice") == "30.00", "the payment moved credit")
    t.refused("exceeds_obligation", "invoice", "pay", first, "70.01", key=bob)
    for reader in (bob, alice, t.admin):                                   # both parties, and an admin
        shown = t.json("invoice", "show", first, key=reader)
        check(shown["invoice"]["id"] == first and shown["invoice"]["remaining"] == "70.00" and
              shown["invoice"]["state"] == "open" and shown["unit"] == "EUR", shown)
    out = t.ok("invoice", "show", first.upper(), key=bob)                  # ids are read in either case
    check(out.startswith("invoice " + first) and "remaining  70.00 EUR (paid 30.00" in out and "issued" in out, out)
    t.refused("unknown_invoice", "invoice", "show", first, key=carol)       # not party to it
    t.refused("unknown_invoice", "invoice", "show", unknown, key=bob)
    t.refused("not_debtor", "invoice", "pay", first, "1", key=alice)
    fourth = issue(t, carol, "bob", "200")
    accept(t, bob, fourth)
    t.refused("exceeds_credit_limit", "invoice", "pay", fourth, key=bob)  # all 200 would pass -100
    out = t.ok("invoice", "pay", first, key=bob)                           # all that remains
    check("paid 70.00 EUR of invoice " + first in out and "settled" in out, out)
    t.refused("invoice_not_open", "invoice", "pay", first, "1", key=bob)
    check(cli.balance(t, "bob") == "-100.00", "bob paid 100 in all")
    history = t.json("history", key=bob)
    check([line["memo"] for line in history["lines"]] == ["invoice F-1", "invoice F-1"], history)

    states = {v["id"]: v["state"] for v in t.json("invoice", "list", key=alice)["invoices"]}
    check(states == {first: "settled", second: "rejected", third: "cancelled"}, states)
    live = t.json("invoice", "list", "--open", key=bob)["invoices"]
    check([v["id"] for v in live] == [fourth], "only the open one: %r" % live)
    check([v["id"] for v in t.json("invoice", "list", "--as", "creditor", key=carol)["invoices"]] == [fourth],
          "carol as creditor")
    check(t.json("invoice", "list", "--as", "debtor", key=carol)["invoices"] == [], "carol owes nothing")
    paged = t.json("invoice", "list", "--limit", "2", key=bob)
    check(len(paged["invoices"]) == 2 and paged["more"], paged)
    check(len(t.json("invoice", "list", "bob")["invoices"]) == 4, "an admin names the member")
    t.refused("denied", "invoice", "list", "alice", key=bob)
    out = t.ok("invoice", "list", key=alice)
    check(first in out and "settled" in out and "F-1" in out, out)

    # Paying "what remains" again under the same --id: the first run was
    # applied, so the second signs another amount; the refusal says why.
    fifth = issue(t, carol, "alice", "50")
    accept(t, alice, fifth)
    out = t.ok("invoice", "pay", fifth, "10", "--id", "cd" * 16, key=alice)
    check("\n  id         " + "cd" * 16 + "\n" in out, "the payment's id, as troc pay prints it: " + out)
    memos = [line["memo"] for line in t.json("history", key=alice)["lines"]]
    check(memos[0] == "invoice " + fifth, "without a reference the memo names the invoice's id: %r" % memos)
    again = "ab" * 16
    paid = t.json("invoice", "pay", fifth, "--id", again, key=alice)
    check(paid["paid"] == "40.00" and paid["invoice"]["state"] == "settled", paid)
    err = t.refused("id_reused", "invoice", "pay", fifth, "--id", again, key=alice)
    check("the ledger applied it" in err and "troc history" in err, err)
    check("run the first command again exactly" not in err, "no general hint against the command's own: " + err)

    dead = "127.0.0.1:1"
    for args in (["invoice", "accept", "xyz"], ["invoice", "issue", "bob", "0"], ["invoice", "issue", "Bob", "1"],
                 ["invoice", "issue", "bob", "1.001"], ["invoice", "issue", "bob", "1", "--id", "zz"],
                 ["invoice", "reject", first], ["invoice", "reject", first, "--reason", ""],
                 ["invoice", "pay", first, "-1"], ["invoice", "pay"], ["invoice", "list", "--as", "both"],
                 ["invoice", "list", "--open", "--open"], ["invoice", "list", "--limit", "0"],
                 ["invoice", "cancel", first, "extra"], ["invoice", "show"], ["invoice", "show", "xyz"],
                 ["invoice", "show", first, "extra"], ["admin", "clear", "--dry-run", "--id", "00" * 16],
                 ["admin", "clear", "--limit", "5"], ["admin", "clear", "extra"], ["clearing", "show", "0"],
                 ["clearing", "show", "x"]):
        status, _, err = t.troc(*args, key=bob, server=dead)
        check(status == 2 and err.startswith("troc: "), "troc %s: exit %d: %s" % (" ".join(args), status, err))
    # A reference is checked as a memo is, before anything is sent.
    # Text that is not UTF-8 is told from a control character, which is
    # named by its code point (and as a line break, which it is, for \n);
    # a byte that starts a character is told from one that never does
    # (\udcXX is the byte XX, as the command line passes it).
    for ref, said in (("r" * 129, "--ref is 129 bytes long; at most 128"),
                      ("F-1\nF-2", "--ref holds a line break (U+000A) at byte 4: it is one line of text"),
                      ("F-1\r", "--ref holds a line break (U+000D) at byte 4"),
                      ("F\x7f1", "--ref holds a control character (U+007F) at byte 2: remove it"),
                      ("F-\x01", "--ref holds a control character (U+0001) at byte 3"),
                      ("F\u0085", "--ref holds a line break (U+0085) at byte 2"),
                      ("F\u009b", "--ref holds a control character (U+009B) at byte 2"),
                      ("ab\udcff", "--ref is not valid UTF-8 text: byte 3 (0xFF) begins no UTF-8 character"),
                      ("a\udc80", "--ref is not valid UTF-8 text: byte 2 (0x80) begins no UTF-8 character"),
                      ("ab\udce2\udc82", "--ref is not valid UTF-8 text: byte 3 (0xE2) starts a UTF-8 character that "
                                        "is cut short or ill-formed"),
                      ("a\udced\udca0\udc80", "--ref is not valid UTF-8 text: byte 2 (0xED) starts a UTF-8 "
                                               "character that is cut short or ill-formed")):
        status, _, err = t.troc("invoice", "issue", "bob", "1", "--ref", ref, key=alice, server=dead)
        check(status == 2 and said in err, "--ref %r: exit %d: %s" % (ref, status, err))
    status, _, err = t.troc("invoice", "issue", "bob", "1", "--due", "", key=alice, server=dead)
    check(status == 2 and "--due must not be empty" in err, "an empty --due: exit %d: %s" % (status, err))
    for due in ("2026-02-30", "2026-02-29", "tomorrow", "2026-1-05", "0000-01-01"):
        status, _, err = t.troc("invoice", "issue", "bob", "1", "--due", due, key=alice, server=dead)
        check(status == 2 and "--due %s is not a calendar date" % due in err, "--due %s: exit %d: %s" % (due, status, err))
    status, _, err = t.troc("pay", "bob", "1", "--memo", "x\x1b", key=alice, server=dead)
    check(status == 2 and "--memo holds a control character (U+001B) at byte 2: remove it" in err, err)
    status, _, err = t.troc("pay", "bob", "1", "--memo", "ab\udce2\udc82", key=alice, server=dead)
    check(status == 2 and "--memo is not valid UTF-8 text: byte 3 (0xE2) starts a UTF-8 character that is cut "
          "short or ill-formed; give it in UTF-8" in err, err)
    longest = issue(t, alice, "bob", "1", "--ref", "r" * 128)
    check(invoices(t, "bob")[longest]["ref"] == "r" * 128, "a reference of 128 bytes is taken")
    status, _, err = t.troc("invoice", "issue", "bob", "1")
    check(status == 2 and "member's key" in err, "an admin cannot issue: %d %s" % (status, err))
    status, _, err = t.troc("invoice", "list")
    check(status == 2 and "NAME" in err, "an admin names the member: %d %s" % (status, err))
    for command in (["invoice", "issue"], ["invoice", "accept"], ["invoice", "reject"], ["invoice", "cancel"],
                    ["invoice", "pay"], ["invoice", "show"], ["invoice", "list"], ["admin", "clear"], ["clearing", "show"]):
        status, out, _ = t.troc(*command, "--help", server=dead)
        check(status == 0 and out.startswith("usage: troc " + " ".join(command)), "help: " + out)
    status, out, _ = t.troc("admin", "clear", "--help", server=dead)
    check(all(words in out for words in ("--dry-run", "--limit N", "--id HEX", "exit status: 0 done",
                                         "--server HOST:PORT")),
          "admin clear --help explains its options: " + out)
    # Still owed past its due date (by this machine's clock): overdue;
    # not yet owed (pending), not yet due, or owed no more: not.
    late = issue(t, alice, "carol", "3", "--due", "2020-01-31")
    later = issue(t, alice, "carol", "3", "--due", "2999-12-31")
    unaccepted = issue(t, alice, "carol", "3", "--due", "2020-02-29")
    for invoice_id in (late, later):
        accept(t, carol, invoice_id)
    listed = invoices(t, "carol")
    check(listed[late]["overdue"] and not listed[later]["overdue"], (listed[late], listed[later]))
    check(not listed[unaccepted]["overdue"], "a pending invoice is not owed yet: %r" % listed[unaccepted])
    out = t.ok("invoice", "list", "carol")
    check("2020-01-31 overdue" in out, "the list marks it: " + out)
    check("2020-02-29 overdue" not in out and "2020-02-29" in out, "but not the pending one: " + out)
    check("due        2020-01-31 (overdue)" in t.ok("invoice", "show", late, key=alice), "so does show")
    check("due        2020-02-29\n" in t.ok("invoice", "show", unaccepted, key=alice), "not the pending one")
    t.ok("invoice", "pay", late, key=carol)
    check(not t.json("invoice", "show", late, key=alice)["invoice"]["overdue"], "a settled invoice is owed no more")
    t.ok("invoice", "cancel", unaccepted, key=alice)
    check(not t.json("invoice", "show", unaccepted, key=alice)["invoice"]["overdue"], "nor a cancelled one")


def refused_json(t, code, *args, **options):
    """Runs troc with --json; checks the refusal (exit 1, the code's name on
    stderr and in the object) and returns (object, stderr)."""
    status, out, err = t.troc(*args, json_output=True, **options)
    check(status == 1 and "refused: " + code in err, "troc %s: exit %d: %s" % (" ".join(args), status, err))
    refusal = json.loads(out)
    check(refusal["result"] == code, refusal)
    return refusal, err


class HookBeforeRequest(cli.DropFirstReply):
    """A TCP proxy to trocd that forwards everything, but runs `hook` before
    it forwards the client's request number `index` (0: the first after the
    handshake): the ledger changes between two requests of one command."""

    DROPS_REPLIES = False

    def __init__(self, target_port, index, hook):
        self.index = index
        self.hook = hook
        self.hooked = False
        super().__init__(target_port)

    def before_forwarding(self, state):
        if not self.hooked and state["client_frames"] > self.HANDSHAKE_FRAMES + self.index:
            self.hooked = True
            self.hook()


def scenario_refusal_states(t):
    """A refusal about an invoice's state (invoice_not_pending,
    invoice_not_open, exceeds_obligation) keeps its code and exit 1, and
    troc reads the invoice to add what it now is and what to do: on stderr,
    and with --json as the `invoice` object; a read that fails leaves the
    refusal as the ledger gave it."""
    alice = t.member("alice", "500")
    bob = t.member("bob", "500")
    first = issue(t, alice, "bob", "100")
    refusal, err = refused_json(t, "invoice_not_open", "invoice", "pay", first, "10", key=bob)
    check("troc: the invoice is pending: bob must accept it before it can be paid (troc invoice accept %s)" % first
          in err, err)
    check(refusal["invoice"]["id"] == first and refusal["invoice"]["state"] == "pending" and
          refusal["unit"] == "EUR" and refusal["id"], refusal)

    accept(t, bob, first)
    # A retried accept (its first answer lost) says that the first worked.
    refusal, err = refused_json(t, "invoice_not_pending", "invoice", "accept", first, key=bob)
    check("troc: the invoice is already accepted (an open obligation of 100.00 EUR)\n" in err, err)
    check(refusal["invoice"]["state"] == "open" and refusal["invoice"]["remaining"] == "100.00", refusal)
    err = t.refused("invoice_not_pending", "invoice", "cancel", first, key=alice)
    check("the invoice is already accepted (an open obligation of 100.00 EUR): it can no longer be cancelled, "
          "only paid or set off by clearing" in err, err)
    t.ok("invoice", "pay", first, "30", key=bob)
    refusal, err = refused_json(t, "exceeds_obligation", "invoice", "pay", first, "70.01", key=bob)
    check("troc: 70.00 EUR remain: pay at most that, or pay it off with no AMOUNT" in err, err)
    check(refusal["invoice"]["remaining"] == "70.00", refusal)
    err = t.refused("invoice_not_pending", "invoice", "reject", first, "--reason", "late", key=bob)
    check("already accepted (an open obligation of 100.00 EUR, 70.00 remaining): it can no longer be rejected"
          in err, err)
    t.ok("invoice", "pay", first, key=bob)
    err = t.refused("invoice_not_open", "invoice", "pay", first, "1", key=bob)
    check("troc: the invoice is settled: nothing remains to pay" in err, err)
    refusal, err = refused_json(t, "invoice_not_pending", "invoice", "accept", first, key=bob)
    check("troc: the invoice is settled: nothing remains owed" in err and refusal["invoice"]["state"] == "settled",
          err)

    second = issue(t, alice, "bob", "40")
    t.ok("invoice", "cancel", second, key=alice)
    refusal, err = refused_json(t, "invoice_not_pending", "invoice", "cancel", second, key=alice)  # a retry
    check("troc: the invoice was cancelled by alice: nothing is owed on it" in err, err)
    check(refusal["invoice"]["state"] == "cancelled", refusal)
    err = t.refused("invoice_not_open", "invoice", "pay", second, key=bob)
    check("the invoice was cancelled by alice" in err, err)
    third = issue(t, alice, "bob", "15")
    t.ok("invoice", "reject", third, "--reason", "not ordered", key=bob)
    err = t.refused("invoice_not_pending", "invoice", "accept", third, key=bob)
    check("troc: the invoice was rejected by bob (not ordered): nothing is owed on it" in err, err)

    # Paying what remains (no AMOUNT) while a clearing round sets part of
    # it off: the payment, of what remained when read, is refused, and the
    # line says so rather than to give an AMOUNT that was never given.
    carol = t.member("carol", "500")
    owed = issue(t, alice, "bob", "100")
    accept(t, bob, owed)
    accept(t, alice, issue(t, carol, "alice", "30"))
    accept(t, carol, issue(t, bob, "carol", "30"))
    rounds = []
    proxy = HookBeforeRequest(t.port, 1, lambda: rounds.append(t.json("admin", "clear")["clearing"]))
    status, _, err = t.troc("invoice", "pay", owed, key=bob, server=proxy.address)
    check(rounds and rounds[0]["cleared"] == "90.00", "a round between the read and the payment: %r" % rounds)
    check(status == 1 and "refused: exceeds_obligation" in err, "paid what remained before the round: " + err)
    check("troc: what remains owed changed while paying (a clearing round may have set part of it off): 70.00 EUR "
          "remain now; run the same command again to pay that\n" in err and "AMOUNT" not in err, err)
    paid = t.json("invoice", "pay", owed, key=bob)
    check(paid["paid"] == "70.00" and paid["invoice"]["state"] == "settled", paid)

    # An action whose answer is lost twice has an unknown outcome: the
    # message names the invoice and the command that shows it (the
    # action's own id names nothing a member can look up), and running the
    # command again is safe: refused, saying what the invoice now is.
    for action, party, said in (("accept", bob, "the invoice is already accepted"),
                                ("reject", bob, "the invoice was rejected by bob (no)"),
                                ("cancel", alice, "the invoice was cancelled by alice")):
        pending = issue(t, alice, "bob", "5")
        extra = ["--reason", "no"] if action == "reject" else []
        lost = cli.DropFirstReply(t.port, every=True)
        status, _, err = t.troc("invoice", action, pending, *extra, key=party, server=lost.address)
        verb = {"accept": "accepted", "reject": "rejected", "cancel": "cancelled"}[action]
        check(status == 3 and "troc: the invoice action's outcome is unknown; see whether invoice %s was %s with: "
              "troc invoice show %s.  Running the same command again is safe" % (pending, verb, pending) in err,
              "%s, its answer lost: %d %s" % (action, status, err))
        check("troc member" not in err and "--id" not in err, err)
        check("safe: if this one was applied, the ledger refuses that one (invoice_not_pending) and troc says what "
              "the invoice now is.\n" in err, "what a second run meets: " + err)
        err = t.refused("invoice_not_pending", "invoice", action, pending, *extra, key=party)
        check("troc: " + said in err, "%s run again: %s" % (action, err))
        # With --json, the invoice to look at is named beside the action's
        # own id.
        pending = issue(t, alice, "bob", "5")
        status, out, err = t.troc("invoice", action, pending, *extra, key=party, server=lost.address,
                                  json_output=True)
        report = json.loads(out)
        check(status == 3 and report["outcome"] == "unknown" and report["invoice_id"] == pending and
              report["id"] != pending, "%s --json, its answer lost: %d %r %s" % (action, status, out, err))

    # The read after the refusal fails (its reply lost): the refusal as
    # the ledger gave it, nothing more.
    proxy = cli.DropFirstReply(t.port, answered=1, refuse_after=True)
    status, out, err = t.troc("invoice", "accept", third, key=bob, server=proxy.address, json_output=True)
    refusal = json.loads(out)
    check(status == 1 and "refused: invoice_not_pending" in err and "the invoice was" not in err, err)
    check(refusal["result"] == "invoice_not_pending" and "invoice" not in refusal, refusal)


def triangle(t):
    """alice owes bob 100, bob owes carol 120, carol owes alice 80, and alice
    owes dave 50 outside any cycle.  The optimum sets off 80 on each arc of
    the cycle: 240."""
    keys = {name: t.member(name, "1000") for name in ("alice", "bob", "carol", "dave")}
    ids = {
        "ab": issue(t, keys["bob"], "alice", "100"),
        "bc": issue(t, keys["carol"], "bob", "120"),
        "ca": issue(t, keys["alice"], "carol", "80"),
        "ad": issue(t, keys["dave"], "alice", "50"),
    }
    for pair, debtor in (("ab", "alice"), ("bc", "bob"), ("ca", "carol"), ("ad", "alice")):
        accept(t, keys[debtor], ids[pair])
    t.ok("pay", "bob", "12.34", key=keys["alice"])   # balances that are not all zero
    return keys, ids


def scenario_triangle(t):
    keys, ids = triangle(t)
    names = sorted(keys)
    before = accounts(t, names)
    check(stats(t)["obligations_open"] == 4 and stats(t)["obligations"] == "350.00", stats(t))
    t.refused("not_admin", "admin", "clear", key=keys["alice"])
    t.refused("denied", "clearing", "show", key=keys["alice"])
    t.refused("not_found", "clearing", "show")
    done = t.json("admin", "clear")
    round_ = done["clearing"]
    check(done["result"] == "ok" and round_["applied"] and round_["run"] == 1, done)
    check(round_["cleared"] == "240.00" and round_["paid"] == "0.00" and round_["obligations"] == 4, round_)
    check(round_["total"] == "350.00" and round_["settlement_count"] == 3 and round_["mode"] == "set_off", round_)
    check(round_["requested_by"] == done["id"], "the round names the request: %r" % done)
    check(accounts(t, names) == before, "no balance moved")
    after = {**invoices(t, "alice"), **invoices(t, "carol")}
    check(after[ids["ab"]]["cleared"] == "80.00" and after[ids["ab"]]["remaining"] == "20.00", after[ids["ab"]])
    check(after[ids["bc"]]["remaining"] == "40.00" and after[ids["ca"]]["state"] == "settled", after)
    check(after[ids["ad"]]["remaining"] == "50.00" and after[ids["ad"]]["cleared"] == "0.00", "dave's untouched")
    check(stats(t)["obligations"] == "110.00" and stats(t)["clearing_runs"] == 1, stats(t))

    history = t.json("history", key=keys["alice"])
    setoffs = [line for line in history["lines"] if line["kind"] == "setoff"]
    check(sorted((line["counterparty"], line["amount"], line["id"]) for line in setoffs) ==
          [("bob", "-80.00", ids["ab"]), ("carol", "80.00", ids["ca"])], "alice's set-off lines: %r" % setoffs)
    check(all(line["balance_after"] == before["alice"]["balance"] for line in setoffs), setoffs)
    out = t.ok("history", key=keys["alice"])
    check("set-off of invoice " + ids["ab"] in out and "set-off of invoice " + ids["ca"] in out, out)
    check("it leaves the balance as it was" in out, "set-off lines are explained: " + out)

    shown = t.json("clearing", "show")
    check(shown["run"] == 1 and shown["journal_seq"] == round_["journal_seq"] and not shown["more"], shown)
    settled = {s["invoice_id"]: (s["debtor"], s["creditor"], s["cleared"], s["paid"]) for s in shown["settlements"]}
    check(settled == {ids["ab"]: ("alice", "bob", "80.00", "0.00"), ids["bc"]: ("bob", "carol", "80.00", "0.00"),
                      ids["ca"]: ("carol", "alice", "80.00", "0.00")}, settled)
    out = t.ok("clearing", "show", "1")
    check("clearing run 1 (set-off)" in out and "240.00 EUR" in out and ids["bc"] in out, out)
    check_pages(t, keys, shown, settled)
    t.refused("not_found", "clearing", "show", "2")
    again = t.json("admin", "clear")
    check(again["clearing"]["applied"] is False and again["clearing"]["run"] == 0, again)
    check(again["clearing"]["cleared"] == "0.00" and again["clearing"]["obligations"] == 3, again)
    status, out, err = t.troc("admin", "clear", stderr_terminal=True)
    check(status == 0 and "nothing to clear" in out and "the daemon is running the round" in err, (out, err))
    check(stats(t)["clearing_runs"] == 1, "an empty round is not recorded")
    entries = cli.journal_entries(t)
    listed = {name: invoices(t, name) for name in names}
    stop_and_verify(t)
    t.start()
    check(accounts(t, names) == before and {name: invoices(t, name) for name in names} == listed,
          "the same state after a restart")
    check(cli.journal_entries(t) == entries, "journal")


def check_pages(t, keys, shown, settled):
    """Every list reads on past its --limit with the cursor it names: pages
    of settlements (--offset), statement lines (--before) and invoices
    (--after) add up to the whole."""
    first = t.json("clearing", "show", "--limit", "2")
    check(len(first["settlements"]) == 2 and first["more"] and first["offset"] == 0 and first["next_offset"] == 2,
          first)
    out = t.ok("clearing", "show", "--limit", "2")
    check("(1 more settlement: troc clearing show 1 --offset 2 lists it)" in out, out)
    rest = t.json("clearing", "show", "1", "--offset", "2")
    check(len(rest["settlements"]) == 1 and not rest["more"] and rest["offset"] == 2 and rest["next_offset"] is None,
          rest)
    check(first["settlements"] + rest["settlements"] == shown["settlements"], "pages of settlements")
    out = t.ok("clearing", "show", "--offset", "5")
    check("(--offset 5 is past the last of its 3 settlements)" in out and not ids_in(out) & set(settled), out)

    whole = t.json("history", key=keys["alice"])
    check(len(whole["lines"]) >= 2 and not whole["more"] and whole["next_before"] is None, whole)
    page = t.json("history", "--limit", "1", key=keys["alice"])
    check(page["more"] and page["next_before"] == whole["lines"][0]["seq"], page)
    out = t.ok("history", "--limit", "1", key=keys["alice"])
    check("add --before %d to see them" % page["next_before"] in out, out)
    out = t.ok("history", "--before", "1", key=keys["alice"])
    check("no lines before line 1" in out and "no movements yet" not in out, out)
    older = t.json("history", "--before", page["next_before"], key=keys["alice"])
    check(page["lines"] + older["lines"] == whole["lines"], "pages of a statement")

    whole = t.json("invoice", "list", "alice")
    check(len(whole["invoices"]) >= 2 and not whole["more"] and whole["next_after"] is None, whole)
    page = t.json("invoice", "list", "alice", "--limit", "1")
    check(page["more"] and page["next_after"] == whole["invoices"][0]["id"], page)
    out = t.ok("invoice", "list", "alice", "--limit", "1")
    check("add --after %s to see them" % page["next_after"] in out, out)
    older = t.json("invoice", "list", "alice", "--after", page["next_after"])
    check(page["invoices"] + older["invoices"] == whole["invoices"], "pages of invoices")


def ids_in(text):
    return set(re.findall(r"\b[0-9a-f]{32}\b", text))


def scenario_credit(t):
    """A chain that cannot clear is paid in credit within every line."""
    alice = t.member("alice", "50")
    t.member("bob", "0")
    carol = t.member("carol", "500")
    dave = t.member("dave", "0", "25")
    bob_key = t.keygen("bob")
    owed = {"ab": issue(t, bob_key, "alice", "80"), "cd": issue(t, dave, "carol", "40")}
    accept(t, alice, owed["ab"])
    accept(t, carol, owed["cd"])
    names = ["alice", "bob", "carol", "dave"]
    plain = t.json("admin", "clear")["clearing"]
    check(not plain["applied"] and plain["cleared"] == "0.00", "no cycle: nothing to set off: %r" % plain)
    done = t.json("admin", "clear", "--with-credit")["clearing"]
    check(done["applied"] and done["mode"] == "with_credit" and done["cleared"] == "0.00", done)
    check(done["paid"] == "75.00", "alice may pay 50, dave take 25: %r" % done)
    # A round's credit payments are no member's payment: the stats count
    # only signed transfers, and say so.
    check(stats(t)["transfers"] == 0, "a round's payments are not transfers: %r" % stats(t))
    out = t.ok("admin", "stats")
    check(re.search(r"\n  member payments +0\n", out) and "transfers" not in out, out)
    out = t.ok("admin", "stats", "--help")
    check("A clearing round's set-offs and credit\n" in out and "payments are not counted" in out, out)
    after = accounts(t, names)
    check(all(within_limits(a) for a in after.values()), "every account within its limits: %r" % after)
    check([after[n]["balance"] for n in names] == ["-50.00", "50.00", "-25.00", "25.00"], after)
    left = {**invoices(t, "alice"), **invoices(t, "carol")}
    check(left[owed["ab"]]["remaining"] == "30.00" and left[owed["ab"]]["paid"] == "50.00", left)
    check(left[owed["cd"]]["remaining"] == "15.00", left)
    lines = t.json("history", key=alice)["lines"]
    check([(line["kind"], line["amount"]) for line in lines] == [("clearing_payment", "-50.00")], lines)
    check("clearing payment of invoice" in t.ok("history", key=alice), "rendered")
    again = t.json("admin", "clear", "--with-credit")["clearing"]
    check(not again["applied"] and again["paid"] == "0.00", "no room left: %r" % again)
    # A frozen account can neither pay nor be paid: credit rounds leave its
    # obligations out, even where payments in and out would net to nothing
    # (frank owes erin, erin owes gus: frank could pay gus through erin);
    # plain rounds still set them off.
    erin, frank, gus = t.member("erin", "100"), t.member("frank", "100"), t.member("gus", "100")
    owed_erin = issue(t, erin, "frank", "30")
    accept(t, frank, owed_erin)
    owed_frank = issue(t, frank, "erin", "10")
    accept(t, erin, owed_frank)
    accept(t, erin, issue(t, gus, "erin", "15"))
    t.ok("admin", "freeze", "erin", "--reason", "audit")
    frozen = t.json("admin", "clear", "--with-credit")["clearing"]
    check(not frozen["applied"] and frozen["paid"] == "0.00", "a frozen member's obligations are left out: %r" % frozen)
    history = t.json("history", "erin")["lines"]
    check(history == [], "no line for erin: %r" % history)
    plain = t.json("admin", "clear")["clearing"]
    check(plain["applied"] and plain["cleared"] == "20.00", "a plain round sets them off: %r" % plain)
    check([a["balance"] for a in accounts(t, ["erin", "frank", "gus"]).values()] == ["0.00"] * 3, "no balance moved")
    check(invoices(t, "erin")[owed_erin]["remaining"] == "20.00", "the rest stays owed")
    t.ok("admin", "unfreeze", "erin", "--reason", "audit done")
    paid = t.json("admin", "clear", "--with-credit")["clearing"]
    check(paid["applied"] and paid["paid"] == "35.00", "unfrozen, what erin owes and is owed is paid: %r" % paid)
    stop_and_verify(t)


def scenario_dry_run(t):
    """--dry-run solves and shows, and changes nothing."""
    keys, ids = triangle(t)
    names = sorted(keys)
    before_accounts, before_stats = accounts(t, names), stats(t)
    before_invoices = {name: invoices(t, name) for name in names}
    preview = t.json("admin", "clear", "--dry-run")
    check(not preview["applied"] and preview["run"] == 0 and preview["cleared"] == "240.00", preview)
    check({s["invoice_id"] for s in preview["settlements"]} == {ids["ab"], ids["bc"], ids["ca"]}, preview)
    one = t.json("admin", "clear", "--dry-run", "--limit", "1")
    check(len(one["settlements"]) == 1 and one["more"], one)
    out = t.ok("admin", "clear", "--dry-run", "--limit", "1")
    check("(2 more settlements not listed: --limit N lists up to 1000)" in out, out)
    credit = t.json("admin", "clear", "--dry-run", "--with-credit")
    check(credit["mode"] == "with_credit" and float(credit["paid"]) > 0, credit)
    out = t.ok("admin", "clear", "--dry-run")
    check("nothing was applied" in out and "240.00 EUR" in out, out)
    # A terminal is told what the wait is for; a pipe is not.
    status, out, err = t.troc("admin", "clear", "--dry-run", stderr_terminal=True)
    check(status == 0 and "the daemon is solving a dry run" in err and "nothing was applied" in out, err)
    status, out, err = t.troc("admin", "clear", key=keys["bob"], stderr_terminal=True)
    check(status == 1 and "not_admin" in err and "the daemon is" not in err, "a member is refused at once: " + err)
    # Refused either way, a member's key is told what the command needs.
    needs = "troc: 'troc admin clear' needs an administrator's key, and %s is member bob's: name the " \
            "administrator's key file with --key FILE or TROC_KEY" % keys["bob"]
    check(needs in err, "not_admin says which key to use: " + err)
    status, out, err = t.troc("admin", "clear", "--dry-run")
    check(status == 0 and err == "", "stderr of a dry run into a pipe: %r" % err)
    err = t.refused("denied", "admin", "clear", "--dry-run", key=keys["bob"])
    check(needs in err, "a denied dry run says which key to use: " + err)
    check(accounts(t, names) == before_accounts and stats(t) == before_stats, "nothing changed")
    check({name: invoices(t, name) for name in names} == before_invoices, "no invoice changed")
    t.refused("not_found", "clearing", "show")


def scenario_idempotent(t):
    """The same clearing request, sent again, answers the same round; a
    request that found nothing left no record, and its retry is new."""
    early = "fedcba9876543210fedcba9876543210"
    nothing = t.json("admin", "clear", "--id", early)
    check(not nothing["clearing"]["applied"] and nothing["clearing"]["cleared"] == "0.00", nothing)
    triangle(t)
    request = "0123456789abcdef0123456789abcdef"
    first = t.json("admin", "clear", "--id", request)
    again = t.json("admin", "clear", "--id", request)
    check(first["clearing"]["run"] == 1 and again["clearing"] == first["clearing"], "%r %r" % (first, again))
    check(again["journal_seq"] == first["journal_seq"], "the original request")
    check(stats(t)["clearing_runs"] == 1, "one round")
    t.refused("id_reused", "admin", "clear", "--with-credit", "--id", request)
    frank, grace = t.member("frank"), t.member("grace")
    accept(t, grace, issue(t, frank, "grace", "10"))
    accept(t, frank, issue(t, grace, "frank", "10"))
    retried = t.json("admin", "clear", "--id", early)
    check(retried["clearing"]["applied"] and retried["clearing"]["run"] == 2, "run as a new request: %r" % retried)
    check(retried["clearing"]["cleared"] == "20.00", retried)


def scenario_unread(t):
    """The connection is lost after an invoice action's reply, before the
    invoice is read back: the read is tried once more on a new connection.
    When that fails too, the action is still done (exit 0); --json gives
    its result and invoice id, what an issue sent and why the invoice could
    not be read, and the text says how to see it."""
    alice = t.member("alice", "100")
    bob = t.member("bob", "100")
    # The read's reply is lost, and the new connection gets it.
    lost_once = cli.DropFirstReply(t.port, answered=1)
    status, out, err = t.troc("invoice", "issue", "bob", "7", key=alice, server=lost_once.address, json_output=True)
    issued = json.loads(out)
    check(status == 0 and lost_once.connections == 2 and "could not read" not in err,
          "read again: %d %s" % (status, err))
    check(issued["invoice"]["amount"] == "7.00" and issued["invoice"]["state"] == "pending", issued)

    def lost(answered=1):
        """A proxy that loses the reply after `answered` ones (the read
        back's) and refuses the new connection."""
        return cli.DropFirstReply(t.port, answered=answered, refuse_after=True)

    proxy = lost()
    status, out, err = t.troc("invoice", "issue", "bob", "120", "--ref", "F-9", "--due", "2026-12-31", key=alice,
                              server=proxy.address, json_output=True)
    check(status == 0 and "could not read it back" in err, "issued: %d %s" % (status, err))
    issued = json.loads(out)
    check(issued["result"] == "ok" and issued["action"] == "issue" and issued["id"] == issued["invoice_id"], issued)
    check("invoice" not in issued and issued["unit"] == "EUR" and issued["read_error"], issued)
    check((issued["creditor"], issued["debtor"], issued["amount"], issued["ref"], issued["due"]) ==
          ("alice", "bob", "120.00", "F-9", "2026-12-31"), issued)
    shown = t.json("invoice", "show", issued["invoice_id"], key=alice)["invoice"]
    check(shown["state"] == "pending" and shown["amount"] == "120.00" and shown["debtor"] == "bob", shown)

    status, out, err = t.troc("invoice", "issue", "bob", "5", key=alice, server=lost().address)
    lines = out.splitlines()
    check(status == 0 and re.fullmatch(r"issued invoice [0-9a-f]{32}", lines[0]), "issued: %d %r" % (status, out))
    invoice_id = lines[0].split()[-1]
    check("  debtor     bob" in lines and "  amount     5.00 EUR" in lines, out)
    check(lines[-1] == "  see it as it stands with: troc invoice show " + invoice_id, out)
    check("troc invoice show " + invoice_id in err, "the warning says it too: " + err)

    t.ok("invoice", "accept", issued["invoice_id"], key=bob)
    # A payment reads the invoice first: its read back is the third request.
    status, out, err = t.troc("invoice", "pay", issued["invoice_id"], "20", key=bob, server=lost(answered=2).address,
                              json_output=True)
    paid = json.loads(out)
    check(status == 0 and paid["paid"] == "20.00" and paid["unit"] == "EUR" and "invoice" not in paid, paid)
    check(t.json("invoice", "show", issued["invoice_id"], key=bob)["invoice"]["remaining"] == "100.00", "paid once")


def scenario_clear_every(t):
    """trocd run --clear-every runs rounds on its own."""
    t.stop()
    t.run_args = ["--clear-every", "1s"]
    t.start()
    keys, ids = triangle(t)
    names = sorted(keys)
    before = accounts(t, names)
    deadline = time.monotonic() + ROUND_WAIT_S
    while True:
        status, out, _ = t.troc("clearing", "show", json_output=True)
        if status == 0:
            break
        refusal = json.loads(out)
        check(refusal.get("result") == "not_found" and refusal.get("detail"), "no round yet: " + out)
        check(time.monotonic() < deadline, "no timed round within %d s" % ROUND_WAIT_S)
        time.sleep(0.2)
    shown = json.loads(out)
    check(shown["run"] == 1 and shown["requested_by"] is None and shown["mode"] == "set_off", shown)
    check(shown["cleared"] == "240.00" and shown["settlement_count"] == 3, shown)
    check(accounts(t, names) == before, "a timed round moves no balance")
    # The round is readable once committed; its log line follows from the
    # loop thread, which may come a moment later (under ASan it did).  The
    # timer may fire before alice's obligation to dave is accepted: the
    # round then holds the cycle's 3 obligations, not 4, and clears the same.
    logged = r"clearing run 1 \(set-off, timer\): [34] obligations \(\S+ EUR\), cleared 240\.00"
    log = open(os.path.join(t.root, "trocd.log")).read()
    while not re.search(logged, log) and time.monotonic() < deadline:
        time.sleep(0.2)
        log = open(os.path.join(t.root, "trocd.log")).read()
    check(re.search(logged, log), "logged: " + log[-2000:])
    # The ticks after it find nothing: the first says so, the next are quiet.
    def quiet_lines():
        log = open(os.path.join(t.root, "trocd.log")).read()
        after = log[log.index("clearing run 1 (set-off, timer)"):]
        return re.findall(r"clearing \(set-off, timer\): nothing to clear", after)
    while not quiet_lines():
        check(time.monotonic() < deadline, "no empty timed round within %d s" % ROUND_WAIT_S)
        time.sleep(0.2)
    time.sleep(2.5)  # two ticks or more, each of which would log without the rule
    check(len(quiet_lines()) == 1, "one line for a series of empty timed rounds: %r" % quiet_lines())
    stop_and_verify(t)
    status = subprocess.run([cli.TROCD, "run", "--data", t.data, "--clear-every", "0s"], capture_output=True,
                            text=True, timeout=30)
    check(status.returncode == 2 and "--clear-every" in status.stderr, "bad duration: %r" % status)


if __name__ == "__main__":
    sys.exit(cli.run_scenario(globals(), "troc-rounds-"))
