# SPDX-License-Identifier: Apache-2.0
"""`troc clear --with-credit` on a network whose answer was worked out by hand,
each part with a unique optimum:

  chain     A owes B 100, B owes C 50.  A may go down to -60, C up to +30:
            A pays B 60, B pays C 30 (B keeps 30).
  triangle  P, Q, R owe each other 100 around a cycle: set off in full;
            S owes P 50 and may go down to -20: S pays 20.
  outside   X is already at -100 with a limit of 50: it may not go further
            down, so it pays nothing of its 30.
  capped    Z has 10 and no credit, W may hold at most 5: Z pays 5 of 30.
  no account  N has no row in ACCOUNTS (balance 0, no credit): pays nothing.
  M         has an account but no obligation: its balance is only reported.

Also checks, independently of the hand answer, that every final balance lies
within its limits or did not move away from them, that balances moved by
exactly the payments, and that BALANCES lists every member.
"""
import json
import subprocess

from clear_support import Context, read_csv, rows_as_dicts

ctx = Context()
inp = ctx.write("input.csv", """id,debtor,creditor,amount,memo
c1,A,B,100.00,chain
c2,B,C,50.00,chain
t1,P,Q,100,triangle
t2,Q,R,100,triangle
t3,R,P,100,triangle
t4,S,P,50,into the triangle
o1,X,Y,30,outside its limit
o2,Z,W,30,capped receiver
n1,N,A,10,no account
""")
accounts = ctx.write("accounts.csv", """member,balance,credit_limit,balance_max
A,0,60,
B,0,0,
C,0,0,30
P,0,0,
Q,0,0,
R,0,0,
S,0,20,
X,-100,50,
Y,0,0,
Z,10,0,
W,0,0,5
M,7.5,0,
""")
result, balances = ctx.path("result.csv"), ctx.path("balances.csv")
status, out, err = ctx.clear(inp, "--with-credit", accounts, "--out", result, "--balances-out", balances, "--json")
ctx.check(status == 0, f"troc clear exited {status}: {err}")

expected_rows = {  # id: (cleared, paid, remaining)
    "c1": ("0.00", "60.00", "40.00"), "c2": ("0.00", "30.00", "20.00"),
    "t1": ("100.00", "0.00", "0.00"), "t2": ("100.00", "0.00", "0.00"), "t3": ("100.00", "0.00", "0.00"),
    "t4": ("0.00", "20.00", "30.00"), "o1": ("0.00", "0.00", "30.00"), "o2": ("0.00", "5.00", "25.00"),
    "n1": ("0.00", "0.00", "10.00"),
}
rows = read_csv(result)
ctx.check(rows[0] == ["id", "debtor", "creditor", "amount", "memo", "cleared", "paid", "remaining"],
          f"RESULT header {rows[0]}")
ctx.check([r[0] for r in rows[1:]] == list(expected_rows), "RESULT rows are not in INPUT's order")
for row in rows[1:]:
    ctx.check(tuple(row[5:]) == expected_rows[row[0]],
              f"row {row[0]}: cleared, paid, remaining {row[5:]}, expected {expected_rows[row[0]]}")

expected_balances = [  # member, before, paid, received, after
    ["A", "0.00", "60.00", "0.00", "-60.00"], ["B", "0.00", "30.00", "60.00", "30.00"],
    ["C", "0.00", "0.00", "30.00", "30.00"], ["P", "0.00", "0.00", "20.00", "20.00"],
    ["Q", "0.00", "0.00", "0.00", "0.00"], ["R", "0.00", "0.00", "0.00", "0.00"],
    ["S", "0.00", "20.00", "0.00", "-20.00"], ["X", "-100.00", "0.00", "0.00", "-100.00"],
    ["Y", "0.00", "0.00", "0.00", "0.00"], ["Z", "10.00", "5.00", "0.00", "5.00"],
    ["W", "0.00", "0.00", "5.00", "5.00"], ["M", "7.50", "0.00", "0.00", "7.50"],
    ["N", "0.00", "0.00", "0.00", "0.00"],
]
got = read_csv(balances)
ctx.check(got[0] == ["member", "balance_before", "paid", "received", "balance_after"], f"BALANCES header {got[0]}")
ctx.check(got[1:] == expected_balances, f"BALANCES\n{got[1:]}\nexpected\n{expected_balances}")

summary = json.loads(out)
ctx.check(summary["mode"] == "credit", f"mode {summary['mode']}")
ctx.check((summary["total"], summary["cleared"], summary["paid"], summary["remaining"]) ==
          ("570.00", "300.00", "115.00", "155.00"), f"summary totals {summary}")
ctx.check(summary["firms_without_account"] == 1, f"firms_without_account {summary['firms_without_account']}")
ctx.check(summary["balances"] == balances, f"balances path {summary['balances']}")


# Independent of the hand answer: limits hold, balances move by the payments.
def cents(text):
    whole, _, fraction = text.strip().partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((fraction + "00")[:2]))


limits = {a["member"]: a for a in rows_as_dicts(accounts)}
moved = {}
for r in rows_as_dicts(result):
    amount, cleared, paid = cents(r["amount"]), cents(r["cleared"]), cents(r["paid"])
    ctx.check(0 <= cleared and 0 <= paid and cleared + paid <= amount, f"row {r['id']} out of bounds")
    ctx.check(cents(r["remaining"]) == amount - cleared - paid, f"row {r['id']}: remaining")
    moved[r["debtor"]] = moved.get(r["debtor"], 0) - paid
    moved[r["creditor"]] = moved.get(r["creditor"], 0) + paid
for member, before, paid, received, after in got[1:]:
    ctx.check(cents(after) == cents(before) + moved.get(member, 0), f"{member}: balance moved by other than payments")
    account = limits.get(member, {"credit_limit": "0", "balance_max": ""})
    low = -cents(account["credit_limit"])
    high = cents(account["balance_max"]) if account["balance_max"].strip() else None
    ctx.check(cents(after) >= min(low, cents(before)), f"{member}: below its credit line")
    ctx.check(high is None or cents(after) <= max(high, cents(before)), f"{member}: above its maximum")

# ACCOUNTS from standard input ("-") gives the same BALANCES; INPUT and
# ACCOUNTS cannot both be it.
with open(accounts, "rb") as f:
    accounts_text = f.read()
piped = ctx.path("piped-balances.csv")
done = subprocess.run([ctx.troc, "clear", inp, "--with-credit", "-", "--balances-out", piped], input=accounts_text,
                      capture_output=True, timeout=60)
ctx.check(done.returncode == 0 and read_csv(piped)[1:] == expected_balances,
          f"--with-credit -: {done.returncode} {done.stderr!r}")
done = subprocess.run([ctx.troc, "clear", "-", "--with-credit", "-"], input=accounts_text, capture_output=True,
                      timeout=60)
ctx.check(done.returncode == 2 and b"cannot both be standard input" in done.stderr,
          f"INPUT and ACCOUNTS both -: {done.returncode} {done.stderr!r}")

# Accounts at the ends of a ledger's range, as a territory's export may hold
# them: A is owed nearly the most a balance holds and has no maximum, so it
# may rise by 2.00 only; B is in debt nearly as far, with a credit line to
# match; C has the largest credit line.  B owes A 10 and A owes C 5 (a path,
# nothing to set off): A is paid 7.00 (5.00 it pays on, 2.00 it keeps).
big = ctx.write("big-input.csv", "debtor,creditor,amount\nB,A,10\nA,C,5\n")
big_accounts = ctx.write("big-accounts.csv", """member,balance,credit_limit,balance_max
A,92233720368547756.07,0,
B,-92233720368547750.00,92233720368547758.07,
C,0,92233720368547758.07,
""")
big_result, big_balances = ctx.path("big-result.csv"), ctx.path("big-balances.csv")
status, out, err = ctx.clear(big, "--with-credit", big_accounts, "--out", big_result, "--balances-out", big_balances)
ctx.check(status == 0, f"accounts at int64's ends: exit {status}: {err}")
ctx.check(read_csv(big_balances)[1:] == [
    ["A", "92233720368547756.07", "5.00", "7.00", "92233720368547758.07"],
    ["B", "-92233720368547750.00", "7.00", "0.00", "-92233720368547757.00"],
    ["C", "0.00", "0.00", "5.00", "5.00"],
], f"BALANCES at int64's ends: {read_csv(big_balances)}")

# Plain mode on the same INPUT clears the triangle and pays nothing.
status, out, err = ctx.clear(inp, "--json")
ctx.check(status == 0, f"plain mode exited {status}: {err}")
plain = json.loads(out)
ctx.check(plain["mode"] == "plain" and plain["cleared"] == "300.00" and "paid" not in plain, f"plain summary {plain}")

ctx.done()
