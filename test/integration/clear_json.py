# SPDX-License-Identifier: Apache-2.0
"""The summary of `troc clear`: with --json one JSON object on one line, with
amounts as decimal strings, counts as numbers and seconds as numbers, whether
--json comes before or after the command; without it, one figure per line.
"""
import json
import os
import re
import subprocess

from clear_support import Context

ctx = Context()
triangle = os.path.join(ctx.shared, "data", "clearing", "small", "triangle.csv")
result = ctx.path("result.csv")
AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")

for args in (("clear", triangle, "--out", result, "--json"), ("--json", "clear", triangle, "--out", result)):
    status, out, err = ctx.run(*args)
    ctx.check(status == 0, f"{args}: exit status {status}: {err}")
    ctx.check(out.count(b"\n") == 1 and out.endswith(b"\n"), f"{args}: not one line: {out!r}")
    summary = json.loads(out)
    ctx.check(summary["mode"] == "plain", f"mode {summary['mode']}")
    for key, value in (("obligations", 3), ("firms", 3), ("components", 1), ("cycle_firms", 3),
                       ("cycle_obligations", 3)):
        ctx.check(type(summary[key]) is int and summary[key] == value, f"{key}: {summary[key]!r}, expected {value}")
    for key, value in (("total", "300.00"), ("cleared", "300.00"), ("remaining", "0.00")):
        ctx.check(isinstance(summary[key], str) and AMOUNT.fullmatch(summary[key]) and summary[key] == value,
                  f"{key}: {summary[key]!r}, expected {value!r}")
    ctx.check(summary["share"] == 100, f"share {summary['share']!r}")
    for key in ("seconds", "read_seconds", "solve_seconds", "write_seconds"):
        ctx.check(type(summary[key]) in (int, float) and summary[key] >= 0, f"{key}: {summary[key]!r}")
    ctx.check(summary["seconds"] >= summary["solve_seconds"], "seconds less than solve_seconds")
    ctx.check(summary["result"] == result, f"result {summary['result']!r}")
    ctx.check("paid" not in summary and "balances" not in summary, "plain mode reports payments")

# Without --out: a dry run, result null, nothing written.
os.remove(result)
status, out, err = ctx.clear(triangle, "--json")
summary = json.loads(out)
ctx.check(status == 0 and summary["result"] is None, f"no --out: {summary}")
ctx.check(not os.path.exists(result), "no --out wrote a file")

# A file name that is not UTF-8 (any bytes may name a file) still gives
# valid JSON: the stray byte reads as U+FFFD.
odd = os.path.join(ctx.work.encode(), b"result-\xff.csv")
status, out, err = ctx.run("clear", triangle, "--out", odd, "--json")
ctx.check(status == 0, f"odd name: exit status {status}: {err}")
summary = json.loads(out.decode("utf-8"))
ctx.check(summary["result"] == os.path.join(ctx.work, "result-\ufffd.csv"), f"odd name: {summary['result']!r}")
ctx.check(os.path.exists(odd), "the result is written under the name given")

# A summary that cannot be printed (standard output full) is a failure: it
# is the only output without --out.
for args in ((triangle,), (triangle, "--json")):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([ctx.troc, "clear", *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
    ctx.check(done.returncode == 1 and b"summary" in done.stderr, f"{args} into /dev/full: {done}")

# Text summary.
chain = os.path.join(ctx.shared, "data", "clearing", "small", "parallel.csv")
status, out, err = ctx.clear(chain)
lines = out.decode().splitlines()
ctx.check(status == 0 and lines[:6] == ["obligations      3", "firms            2", "total            140.00",
                                        "cleared          120.00", "remaining        20.00", "share            85.71 %"],
          f"text summary {lines}")
ctx.check(lines[6].startswith("seconds          "), f"seconds line {lines[6]!r}")

# The share is rounded down: 100 only when nothing remains.
almost = ctx.write("almost.csv", "debtor,creditor,amount\nA,B,5000000.00\nB,A,5000000.01\n")
status, out, err = ctx.clear(almost, "--json")
summary = json.loads(out)
ctx.check(status == 0 and summary["remaining"] == "0.01" and summary["share"] == 99.9999, f"almost all: {summary}")
status, out, err = ctx.clear(almost)
ctx.check(status == 0 and "share            99.99 %" in out.decode(), f"almost all, text: {out!r}")

ctx.done()
