# SPDX-License-Identifier: Apache-2.0
"""`troc clear` on every shared clearing instance (small/*.csv and gen-*.csv),
each result checked by the shared checker against the known optimum of
expected.tsv, and the summary's figures against the same numbers.

Every instance on disk must have a line in expected.tsv and every line an
instance, so that an instance added to the shared data is never silently left
out.
"""
import glob
import json
import os
import subprocess
import sys

from clear_support import Context

ctx = Context()
data = os.path.join(ctx.shared, "data", "clearing")
checker = os.path.join(ctx.shared, "tools", "check_clearing.py")
ctx.check(os.path.isfile(checker), f"no checker at {checker}")

expected = {}
with open(os.path.join(data, "expected.tsv"), encoding="utf-8") as f:
    header = f.readline().rstrip("\n").split("\t")
    ctx.check(header == ["file", "obligations", "total", "cleared"], f"unexpected expected.tsv header {header}")
    for line in f:
        if line.strip():
            name, obligations, total, cleared = line.rstrip("\n").split("\t")
            expected[name] = (int(obligations), total, cleared)

on_disk = sorted(os.path.relpath(p, data) for p in
                 glob.glob(os.path.join(data, "small", "*.csv")) + glob.glob(os.path.join(data, "gen-*.csv")))
ctx.check(len(on_disk) >= 8, f"only {len(on_disk)} instances found in {data}")
ctx.check(sorted(expected) == on_disk,
          f"instances and expected.tsv differ: {sorted(set(on_disk) ^ set(expected))}")

for name in on_disk:
    obligations, total, cleared = expected[name]
    result = ctx.path(name.replace("/", "_") + ".result.csv")
    status, out, err = ctx.clear(os.path.join(data, name), "--out", result, "--json")
    ctx.check(status == 0, f"{name}: troc clear exited {status}: {err}")
    summary = json.loads(out)
    ctx.check(summary["obligations"] == obligations, f"{name}: {summary['obligations']} obligations, not {obligations}")
    ctx.check(summary["total"] == total, f"{name}: total {summary['total']}, expected {total}")
    ctx.check(summary["cleared"] == cleared, f"{name}: cleared {summary['cleared']}, optimum {cleared}")
    verdict = subprocess.run([sys.executable, checker, os.path.join(data, name), result, cleared],
                             capture_output=True, text=True, timeout=300)
    ctx.check(verdict.returncode == 0, f"{name}: checker refused the result: {verdict.stdout}{verdict.stderr}")
    print(f"{name}: {verdict.stdout.strip()}")

ctx.done()
