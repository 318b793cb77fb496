# SPDX-License-Identifier: Apache-2.0
"""A result that fails its certificate check is never written: run with a troc
whose troc_clearing_check() fails every result (test/failing_check.c).

troc clear checks its result while RESULT is synced to disk, and renames
RESULT into place only once the check passed; what goes to standard output
is checked before the first byte.  Whatever the output, the run exits with
status 1 and says the check failed; a RESULT already there is left as it
was, no temporary file stays behind, and no summary is printed.
"""
import os

from clear_support import Context

ctx = Context()
small = os.path.join(ctx.shared, "data", "clearing", "small", "triangle.csv")
# Large enough to be read in parts and have its ids compared beside the solve.
large = os.path.join(ctx.shared, "data", "clearing", "gen-10k.csv")
out_dir = ctx.path("out")
os.makedirs(out_dir)
result = os.path.join(out_dir, "result.csv")
balances = os.path.join(out_dir, "balances.csv")
accounts = ctx.write("accounts.csv", "member,balance,credit_limit,balance_max\nA,0.00,100.00,\n")
OLD = b"an earlier result\n"


def failed(status, err, what):
    ctx.check(status == 1, f"{what}: exit status {status}, expected 1: {err}")
    ctx.check("failed its check" in err and "nothing was written" in err, f"{what}: message {err!r}")


for input_path in (small, large):
    for extra in ((), ("--json",)):
        what = f"{os.path.basename(input_path)} --out {' '.join(extra)}"
        with open(result, "wb") as f:
            f.write(OLD)
        status, out, err = ctx.clear(input_path, "--out", result, *extra)
        failed(status, err, what)
        ctx.check(out == b"", f"{what}: a summary was printed: {out!r}")
        with open(result, "rb") as f:
            ctx.check(f.read() == OLD, f"{what}: the earlier RESULT was replaced")
        ctx.check(sorted(os.listdir(out_dir)) == ["result.csv"], f"{what}: left {os.listdir(out_dir)}")
os.remove(result)

# With credit: neither RESULT nor BALANCES.
status, out, err = ctx.clear(small, "--with-credit", accounts, "--out", result, "--balances-out", balances)
failed(status, err, "credit mode")
ctx.check(os.listdir(out_dir) == [], f"credit mode left {os.listdir(out_dir)}")

# RESULT on standard output: checked before the first byte.
status, out, err = ctx.clear(large, "--out", "-")
failed(status, err, "--out -")
ctx.check(out == b"", f"--out -: {len(out)} bytes on standard output")

# No --out: no summary.
for extra in ((), ("--json",)):
    status, out, err = ctx.clear(small, *extra)
    failed(status, err, f"no --out {' '.join(extra)}")
    ctx.check(out == b"", f"no --out: a summary was printed: {out!r}")

ctx.done()
