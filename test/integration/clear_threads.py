# SPDX-License-Identifier: Apache-2.0
"""`troc clear --threads N`: the same RESULT, byte for byte, and the same
summary whatever the number of threads, on a file large enough to be read,
checked and written in several parts (and RESULT in more than one wave of
them), each input row copied in order; the same refusal (message and line)
for bad rows placed far into the file, where a later part reads them; and
the refusals of a bad --threads.
"""
import json
import os
import subprocess
import sys

from clear_support import Context

ctx = Context()
ROWS = 140000  # past a wave of RESULT parts (131,072 rows) and four parts of checks

generated = ctx.path("big.csv")
subprocess.run([sys.executable, os.path.join(ctx.shared, "tools", "gen_obligations.py"), "--firms", "14000",
                "--obligations", str(ROWS), "--seed", "7", "--out", generated], check=True, timeout=120)
with open(generated, "rb") as f:
    LINES = f.read().splitlines(keepends=True)


def summary(out):
    fields = json.loads(out)
    for key in [key for key in fields if key.endswith("seconds")] + ["result"]:
        del fields[key]
    return fields


results = {}
for threads in ("1", "2", "4"):
    result = ctx.path(f"result-{threads}.csv")
    status, out, err = ctx.clear(generated, "--out", result, "--threads", threads, "--json")
    ctx.check(status == 0, f"--threads {threads}: exit status {status}: {err.strip()}")
    with open(result, "rb") as f:
        results[threads] = (f.read(), summary(out))
for threads in ("2", "4"):
    ctx.check(results[threads][0] == results["1"][0], f"--threads {threads}: RESULT differs from --threads 1")
    ctx.check(results[threads][1] == results["1"][1], f"--threads {threads}: summary differs from --threads 1")
ctx.check(results["1"][1]["obligations"] == ROWS, f"summary: {results['1'][1]}")
written = results["1"][0].splitlines(keepends=True)
ctx.check(len(written) == len(LINES), f"RESULT has {len(written)} lines, INPUT {len(LINES)}")
for line, (read, wrote) in enumerate(zip(LINES, written), start=1):
    if not wrote.startswith(read.rstrip(b"\n") + b","):
        ctx.check(False, f"RESULT line {line} is not INPUT's line {line} with two columns added: {wrote!r}")
        break

# On a terminal, progress: "reading" (INPUT is over 4 MiB), the solver's
# stages and RESULT written (over 100,000 rows), each stage on the same
# line, erased at the end; a refusal replaces the line rather than running
# on after it.  Not on a pipe.
status, out, shown = ctx.clear_on_terminal(generated, "--out", ctx.path("result-tty.csv"))
ctx.check(status == 0, f"on a terminal: exit status {status}: {shown!r}")
for stage in ("troc: reading\x1b[K", "troc: flow 100%", "troc: writing 100%"):
    ctx.check(stage in shown, f"on a terminal: no {stage!r} in {shown!r}")
ctx.check("\n" not in shown and shown.endswith("\r\x1b[K"), f"on a terminal: not one line, erased: {shown!r}")
with open(ctx.path("result-tty.csv"), "rb") as f:
    ctx.check(f.read() == results["1"][0], "on a terminal: RESULT differs")
ctx.check(b"cleared" in out, f"on a terminal: the summary is not on stdout: {out!r}")
status, out, err = ctx.clear(generated, "--out", ctx.path("result-pipe.csv"))
ctx.check(status == 0 and err == "", f"on a pipe: status {status}, stderr {err!r}")


def with_rows(name, replaced):
    """The generated file with some rows (0-based data rows) replaced."""
    lines = list(LINES)
    for row, text in replaced.items():
        lines[1 + row] = text.encode("utf-8") + b"\n"
    return ctx.write(f"{name}.csv", b"".join(lines))


def refused_alike(name, replaced, expected):
    path = with_rows(name, replaced)
    messages = set()
    for threads in ("1", "3"):
        status, out, err = ctx.clear(path, "--threads", threads)
        ctx.check(status == 2, f"{name} --threads {threads}: exit status {status}, expected 2: {err.strip()}")
        ctx.check(expected in err, f"{name} --threads {threads}: {err.strip()!r} does not say {expected!r}")
        messages.add(err)
    ctx.check(len(messages) == 1, f"{name}: the message depends on the threads: {messages}")


# The first bad row in the file is the one reported, wherever the parts fall.
refused_alike("amount", {61234: "x1,a,b,12.345", 65000: "x2,a,b,-1"}, f"line {61236}: amount '12.345'")
status, out, shown = ctx.clear_on_terminal(with_rows("short-tty", {70000: "x,a,b"}), "--out", ctx.path("r.csv"))
ctx.check(status == 2 and "\r\x1b[Ktroc: " in shown and "line 70002: 3 fields" in shown and "readingtroc" not in shown,
          f"a refusal on a terminal: status {status}, {shown!r}")
refused_alike("same-firm", {50001: "x3,firm1,firm1,5.00", 60000: "x4,a,b,zero"}, f"line {50003}: debtor and creditor")
refused_alike("fields", {69999: "x5,a,b"}, f"line {70001}: 3 fields")
refused_alike("empty-id", {40000: ",a,b,1.00"}, f"line {40002}: id is empty")
refused_alike("duplicate-id", {12: "dup,a,b,1.00", 66666: "dup,c,d,2.00", 67777: "inv5,c,d,2.00"},
              f"line {66668}: id 'dup' is already used on line 14")
# The largest amount, many times over from row 40,000: the total passes its
# bound (a quarter of int64, in cents) a few thousand rows later.
TOTAL_MAX = (2**63 - 1) // 4
big = {row: f"t{row},a,b,10000000000000.00" for row in range(40000, 43000)}
total, first_over = 0, None
for row in range(ROWS):
    amount = big[row].rsplit(",", 1)[1] if row in big else LINES[1 + row].decode().strip().rsplit(",", 1)[1]
    units, cents = amount.split(".")
    total += int(units) * 100 + int(cents)
    if total > TOTAL_MAX:
        first_over = row
        break
refused_alike("total", big, f"line {first_over + 2}: the amounts up to this line add up to more than")

for bad in ("0", "9", "two", "", "-1"):
    status, out, err = ctx.clear(generated, "--threads", bad)
    ctx.check(status == 2 and "--threads" in err, f"--threads {bad!r}: status {status}, message {err.strip()!r}")
status, out, err = ctx.clear(generated, "--threads", "2", "--threads", "2")
ctx.check(status == 2 and "twice" in err, f"--threads twice: status {status}, message {err.strip()!r}")
status, out, err = ctx.clear(generated, "--threads")
ctx.check(status == 2 and "needs a number" in err, f"--threads alone: status {status}, message {err.strip()!r}")
ctx.done()
