# SPDX-License-Identifier: Apache-2.0
"""Every bad input and bad usage of `troc clear`: exit status 2, a message that
names the file, the line and the problem, nothing on standard output, and no
output file at all (not even a temporary one).  A RESULT that existed before a
refused run keeps its content.  A header without rows is not bad: it clears
nothing and writes a RESULT holding only the header.
"""
import os
import resource
import stat
import subprocess
import threading

from clear_support import Context

ctx = Context()
HEADER = "id,debtor,creditor,amount\n"
ACCOUNTS_HEADER = "member,balance,credit_limit,balance_max\n"
GOOD_ACCOUNTS = ACCOUNTS_HEADER + "A,0,10,\n"


def refused(name, content, expected, accounts=None, args=(), before=None):
    """Runs troc clear on `content` (and `accounts`) with outputs in a fresh
    directory; expects a refusal whose message holds every text of
    `expected`; "FILE line N" names INPUT (input.csv) or ACCOUNTS
    (accounts.csv)."""
    directory = ctx.path(name)
    os.makedirs(directory)
    inputs = {"input.csv"}
    inp = ctx.write(f"{name}/input.csv", content) if content is not None else os.path.join(directory, "input.csv")
    result = os.path.join(directory, "result.csv")
    command = [inp, "--out", result]
    if accounts is not None:
        command += ["--with-credit", ctx.write(f"{name}/accounts.csv", accounts),
                    "--balances-out", os.path.join(directory, "balances.csv")]
        inputs.add("accounts.csv")
    if before is not None:
        ctx.write(f"{name}/result.csv", before)
        inputs.add("result.csv")
    status, out, err = ctx.clear(*command, *args)
    ctx.check(status == 2, f"{name}: exit status {status}, expected 2 (stderr: {err.strip()})")
    ctx.check(out == b"", f"{name}: printed on standard output: {out[:200]!r}")
    for text in expected:
        ctx.check(text in err, f"{name}: message {err.strip()!r} does not say {text!r}")
    left = set(os.listdir(directory)) - (inputs if content is not None else set())
    ctx.check(left == set(), f"{name}: left files behind: {sorted(left)}")
    if before is not None:
        with open(result, "rb") as f:
            ctx.check(f.read() == before.encode(), f"{name}: the existing RESULT was changed")
    print(f"{name}: {err.strip()}")


def at(line, file="input.csv"):
    return f"{file} line {line}:"


# Amounts.
refused("negative", HEADER + "a1,A,B,10\na2,B,C,-5\n", [at(3), "'-5'", "must be positive"])
refused("zero", HEADER + "a1,A,B,0.00\n", [at(2), "must be positive"])
refused("three-decimals", HEADER + "a1,A,B,1.5\na2,B,C,1.234\n", [at(3), "'1.234'", "more than two fractional digits"])
refused("not-a-number", HEADER + "a1,A,B,12a\n", [at(2), "'12a'", "not a number"])
refused("comma-decimal", HEADER + 'a1,A,B,"1,5"\n', [at(2), "not a number"])
refused("exponent", HEADER + "a1,A,B,1e3\n", [at(2), "not a number"])
refused("empty-amount", HEADER + "a1,A,B,\n", [at(2), "amount is empty"])
refused("amount-too-large", HEADER + "a1,A,B,10000000000000.01\n",
        [at(2), "out of range (from 0.01 to 10000000000000.00)"])
refused("amount-beyond-int64", HEADER + "a1,A,B,99999999999999999999\n", [at(2), "out of range"])
# The total passes a quarter of int64 (TROC_CLEARING_TOTAL_CENTS_MAX) at the
# 2306th obligation of the largest amount, on line 2307.
refused("total-overflow", HEADER + "".join(f"a{i},A{i},B,10000000000000\n" for i in range(2400)),
        [at(2307), "add up to more than"])

# Firms and ids.
refused("same-firm", HEADER + "a1,A,B,1\na2,Caf\u00e9,Caf\u00e9,1\n", [at(3), "same firm 'Caf\u00e9'"])
refused("empty-debtor", HEADER + "a1,,B,1\n", [at(2), "debtor is empty"])
refused("padded-creditor", HEADER + "a1,A,B ,1\n", [at(2), "creditor 'B '", "space"])
# Spaces and invisible characters beyond ASCII's: a byte-order mark pasted
# before a name, a no-break space after one.
refused("bom-before-debtor", HEADER + "a1,A,B,1\na2,\ufeffB,A,1\n", [at(3), "begins with U+FEFF"])
refused("nbsp-after-creditor", HEADER + "a1,A,B\u00a0,1\n", [at(2), "ends with U+00A0"])
refused("zero-width-member", HEADER + "a1,A,B,1\n", [at(2, "accounts.csv"), "member", "begins with U+200B"],
        accounts=ACCOUNTS_HEADER + "\u200bA,0,10,\n")
refused("name-on-two-lines", HEADER + 'a1,"A\nB",C,1\n', [at(2), "'A\\nB' holds a line break"])
refused("duplicate-id", HEADER + "a1,A,B,1\na2,B,C,1\na1,C,A,1\n", [at(4), "'a1'", "already used on line 2"])
refused("empty-id", HEADER + "a1,A,B,1\n,B,C,1\n", [at(3), "id is empty"])
# The first problem of the file is reported, though ids are compared last:
# a duplicate id before a bad amount, in a file read in several parts.
refused("duplicate-before-bad-amount", HEADER + "".join(
    f"a{i},A{i % 100},B{i % 97},1\n" if i not in (5, 150000) else ("a1,A,B,1\n" if i == 5 else f"a{i},A,B,-3\n")
    for i in range(200000)), [at(7), "'a1'", "already used on line 3"])

# Columns and rows.
refused("missing-column", "id,debtor,creditor,sum\na1,A,B,1\n", [at(1), "no column 'amount'"])
refused("missing-debtor", "creditor,amount\nB,1\n", [at(1), "no column 'debtor'"])
refused("two-amounts", "debtor,creditor,amount,Amount\nA,B,1,2\n", [at(1), "two columns are named 'amount'"])
refused("result-as-input", "debtor,creditor,amount,cleared,remaining\nA,B,1,0,1\n", [at(1), "'cleared'"])
refused("short-row", HEADER + "a1,A,B,1\na2,B,C\n", [at(3), "3 fields, but the header has 4"])
refused("long-row", HEADER + "a1,A,B,1\na2,B,C,1,5\n", [at(3), "5 fields, but the header has 4"])
refused("blank-line", HEADER + "a1,A,B,1\n \t \na2,B,C,1\n",
        [at(3), "1 field, but the header has 4 (the line holds only spaces or tabs: delete them)"])
refused("empty-quoted-line", HEADER + 'a1,A,B,1\n""\n', [at(3), "1 field, but the header has 4 (a field is missing)"])
refused("line-after-quoted-break", "id,debtor,creditor,amount,memo\n"
        'a1,A,B,1,"two\nlines"\na2,B,C,x,memo\n', [at(4), "not a number"])

# The file itself.
refused("empty-file", "", ["input.csv: empty file"])
refused("blank-file", "\n\n", ["input.csv: empty file"])
refused("bad-utf8", HEADER.encode() + b"a1,A,B,1\na2,Caf\xe9,B,1\n", [at(3), "not valid UTF-8"])
refused("control-character", HEADER + "a1,A,B\x01,1\n", [at(2), "control character 0x01"])
refused("control-character-copied-column", "debtor,creditor,amount,note\nA,B,1,x\x7fy\n",
        [at(2), "control character 0x7F"])
refused("c1-control-character", HEADER + "a1,A\u0085,B,1\n", [at(2), "control character U+0085"])
refused("utf-16", (HEADER + "a1,A,B,1\n").encode("utf-16"), [at(1), "NUL byte", "UTF-16"])
# A NUL in a quoted field that the data ends in (as when reading stops at the
# first NUL of a pipe): the NUL is the fault, not the quote.
refused("nul-in-open-quote", HEADER + 'a1,A,B,"1\0 2', [at(2), "NUL byte"])
refused("semicolons", "debtor;creditor;amount\nA;B;1\n", [at(1), "no column 'debtor'", "semicolons"])
refused("tabs", "debtor\tcreditor\tamount\nA\tB\t1\n", [at(1), "no column 'debtor'", "tabs"])
refused("semicolons-decimal-comma", "id;debtor;creditor;amount\n1;a;b;1,50\n", [at(2), "2 fields", "semicolons"])
refused("unterminated-quote", HEADER + 'a1,A,B,1\na2,"B,C,1\na3,C,A,1\n', [at(3), "never closed"])
refused("stray-quote", HEADER + 'a1,A,B"x,C,1\n', [at(2), "quote"])
refused("bare-carriage-return", HEADER + "a1,A,B,1\ra2,B,C,1\n", [at(2), "carriage return"])
refused("missing-file", None, ["input.csv: cannot read", "No such file"])
refused("existing-result-kept", HEADER + "a1,A,B,-1\n", [at(2)], before="old result\n")

# ACCOUNTS.
refused("negative-limit", HEADER + "a1,A,B,1\n", [at(3, "accounts.csv"), "credit_limit '-5' cannot be negative"],
        accounts=ACCOUNTS_HEADER + "A,0,10,\nB,0,-5,\n")
refused("negative-maximum", HEADER + "a1,A,B,1\n", [at(2, "accounts.csv"), "balance_max", "cannot be negative"],
        accounts=ACCOUNTS_HEADER + "A,0,10,-1\n")
refused("bad-balance", HEADER + "a1,A,B,1\n", [at(2, "accounts.csv"), "balance 'ten' is not a number"],
        accounts=ACCOUNTS_HEADER + "A,ten,10,\n")
# Account figures take the range of a ledger's (int64 cents).
refused("balance-too-low", HEADER + "a1,A,B,1\n", [at(2, "accounts.csv"), "out of range",
                                                   "from -92233720368547758.07 to 92233720368547758.07"],
        accounts=ACCOUNTS_HEADER + "A,-92233720368547758.08,10,\n")
refused("limit-too-large", HEADER + "a1,A,B,1\n",
        [at(2, "accounts.csv"),
         "credit_limit '92233720368547758.08' is out of range (from 0.00 to 92233720368547758.07)"],
        accounts=ACCOUNTS_HEADER + "A,0,92233720368547758.08,\n")
refused("duplicate-member", HEADER + "a1,A,B,1\n", [at(3, "accounts.csv"), "already has an account on line 2"],
        accounts=ACCOUNTS_HEADER + "A,0,10,\nA,5,0,\n")
refused("no-limit-column", HEADER + "a1,A,B,1\n", [at(1, "accounts.csv"), "no column 'credit_limit'"],
        accounts="member,balance\nA,0\n")
refused("empty-accounts", HEADER + "a1,A,B,1\n", ["accounts.csv: empty file"], accounts="")

# Usage.
refused("balances-without-credit", HEADER + "a1,A,B,1\n", ["--balances-out needs --with-credit"],
        args=("--balances-out", "b.csv"))
refused("unknown-option", HEADER + "a1,A,B,1\n", ["unknown option --fast"], args=("--fast",))
refused("two-inputs", HEADER + "a1,A,B,1\n", ["one INPUT file only"], args=("other.csv",))

# An input pipe that turns into NUL bytes (a device such as /dev/zero, a
# UTF-16 stream) is refused once the first NUL is read, not after 2 GiB: the
# writer finds the pipe closed long before it has written all it would.
nul_pipe = ctx.path("nul-pipe")
os.mkfifo(nul_pipe)
fed = {"closed_early": False}


def feed_nul_bytes():
    # The pipe may break on a write or on the flush that closing it makes.
    try:
        with open(nul_pipe, "wb") as pipe:
            pipe.write((HEADER + "a1,A,B,1\n").encode())
            for _ in range(1024):  # 64 MiB
                pipe.write(b"\0" * 65536)
    except BrokenPipeError:
        fed["closed_early"] = True


feeder = threading.Thread(target=feed_nul_bytes)
feeder.start()
status, out, err = ctx.clear(nul_pipe, "--out", ctx.path("nul-result.csv"))
feeder.join()
ctx.check(status == 2 and at(3, "nul-pipe") in err, f"NUL bytes from a pipe: status {status}, {err!r}")
ctx.check(fed["closed_early"], "NUL bytes from a pipe: all 64 MiB were read before the refusal")

status, out, err = ctx.clear()
ctx.check(status == 2 and "no INPUT file" in err, f"no arguments: status {status}, {err!r}")
status, out, err = ctx.clear(ctx.write("empty-out.csv", HEADER + "a1,A,B,1\n"), "--out", "")
ctx.check(status == 2 and "--out needs a file name" in err, f"--out '': status {status}, {err!r}")

# Outputs that are not regular files would be replaced by one (renamed into
# place): a device or a pipe (a pipe here: a regression must not replace a
# device of the machine), the file standard output goes to, a link to
# nothing, a loop of links.  Each is refused and left as it was.
good = ctx.write("good.csv", HEADER + "a1,A,B,1\n")
fifo = ctx.path("pipe")
os.mkfifo(fifo)
os.symlink("nowhere.csv", ctx.path("dangling.csv"))
os.symlink("loop-b.csv", ctx.path("loop-a.csv"))
os.symlink("loop-a.csv", ctx.path("loop-b.csv"))
for target, words in ((fifo, "not a regular file"), (ctx.path("dangling.csv"), "link to nothing"),
                      (ctx.path("loop-a.csv"), "a loop of symbolic links")):
    status, out, err = ctx.clear(good, "--out", target)
    ctx.check(status == 2 and words in err, f"--out {target}: status {status}, {err!r}")
ctx.check(stat.S_ISFIFO(os.stat(fifo).st_mode), "the pipe is still a pipe")
accounts = ctx.write("accounts-pair.csv", GOOD_ACCOUNTS)
status, out, err = ctx.clear(good, "--out", "pair.csv", "--with-credit", accounts, "--balances-out", "./pair.csv",
                             cwd=ctx.work)
ctx.check(status == 2 and "name the same file" in err, f"one new file named twice: status {status}, {err!r}")
ctx.check(not os.path.exists(ctx.path("pair.csv")), "one new file named twice: written")
stdout_file = ctx.path("stdout.txt")
with open(stdout_file, "wb") as redirected:
    done = subprocess.run([ctx.troc, "clear", good, "--out", "/dev/stdout"], stdout=redirected,
                          stderr=subprocess.PIPE, timeout=60)
ctx.check(done.returncode == 2 and b"standard output" in done.stderr, f"--out /dev/stdout: {done}")
status, out, err = ctx.clear("--help")
help_text = out.decode()
ctx.check(status == 0 and help_text.startswith("usage: troc clear INPUT.csv"), f"--help: status {status}, {help_text!r}")
for words in ("debtor, creditor, amount", "--with-credit ACCOUNTS.csv", "credit_limit", "--balances-out FILE",
              "--threads N", "exit status: 0 done; 2 bad usage or bad input"):
    ctx.check(words in help_text, f"--help does not explain {words!r}: {help_text!r}")
inp = ctx.write("replace/input.csv", HEADER + "a1,A,B,1\n")
status, out, err = ctx.clear(inp, "--out", "-", "--json")
ctx.check(status == 2 and "choose one" in err and out == b"", f"--out - --json: status {status}, {err!r}")
status, out, err = ctx.clear(inp, "--out", inp)
ctx.check(status == 2 and "would replace the input" in err, f"--out INPUT: status {status}, {err!r}")
with open(inp) as f:
    ctx.check(f.read() == HEADER + "a1,A,B,1\n", "--out INPUT changed INPUT")
status, out, err = ctx.clear(inp, "--out", ctx.path("no", "such", "dir", "r.csv"))
ctx.check(status == 2 and "cannot write in directory" in err, f"--out in a missing directory: {status}, {err!r}")
status, out, err = ctx.clear(ctx.work)
ctx.check(status == 2 and "Is a directory" in err, f"a directory as INPUT: {status}, {err!r}")

# A file size limit (ulimit -f) fails the write like a full disk: exit 1,
# a message, the old RESULT kept, no temporary file left.
big = ctx.write("fsize/input.csv", HEADER + "".join(f"a{i},A{i % 50},A{(i + 1) % 50},1.{i % 100:02d}\n"
                                                      for i in range(20000)))
result = ctx.write("fsize/result.csv", "old result\n")
done = subprocess.run([ctx.troc, "clear", big, "--out", result], capture_output=True, timeout=120,
                      preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024)))
ctx.check(done.returncode == 1 and b"File too large (nothing was written)" in done.stderr,
          f"ulimit -f: {done.returncode} {done.stderr!r}")
with open(result) as f:
    ctx.check(f.read() == "old result\n", "ulimit -f: the old RESULT changed")
ctx.check(sorted(os.listdir(ctx.path("fsize"))) == ["input.csv", "result.csv"],
          f"ulimit -f left {os.listdir(ctx.path('fsize'))}")

# Not bad: a header without rows clears nothing and writes the header.
inp = ctx.write("header-only/input.csv", "id,debtor,creditor,amount,memo\r\n")
result = ctx.path("header-only", "result.csv")
status, out, err = ctx.clear(inp, "--out", result)
ctx.check(status == 0, f"header only: exit status {status}: {err}")
with open(result, "rb") as f:
    ctx.check(f.read() == b"id,debtor,creditor,amount,memo,cleared,remaining\r\n", "header only: RESULT")
ctx.check(b"obligations      0\n" in out and b"cleared          0.00\n" in out, f"header only: summary {out!r}")

ctx.done()
