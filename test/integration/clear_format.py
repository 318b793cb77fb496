# SPDX-License-Identifier: Apache-2.0
"""What RESULT looks like: the input's rows in order with every column, each
value written back exactly as read (quoted again where it must be), then
`cleared` and `remaining`; the input's byte-order mark and CRLF line ends are
kept; columns are found by name whatever their case and the spaces around
them; amounts may carry spaces around them.  "--out -" writes RESULT on
standard output and the summary on standard error.
"""
import subprocess

from clear_support import Context, parse_csv_text

ctx = Context()
source = ("\ufeffInvoice No, Debtor ,creditor,AMOUNT,memo,empty\r\n"
          "1,Caf\u00e9 du Port,\"Dupont, fils\",12.50,\"said \"\"pay\"\" soon\",\r\n"
          "2,\"Dupont, fils\",Caf\u00e9 du Port, 12.5 ,\"two\r\nlines\",\r\n"
          "\"3\",x,y,7,\"plain\",\"\"\r\n")
expected = ("\ufeffInvoice No, Debtor ,creditor,AMOUNT,memo,empty,cleared,remaining\r\n"
            "1,Caf\u00e9 du Port,\"Dupont, fils\",12.50,\"said \"\"pay\"\" soon\",,12.50,0.00\r\n"
            "2,\"Dupont, fils\",Caf\u00e9 du Port, 12.5 ,\"two\r\nlines\",,12.50,0.00\r\n"
            "3,x,y,7,plain,,0.00,7.00\r\n").encode("utf-8")
inp = ctx.write("input.csv", source)
result = ctx.path("result.csv")
status, out, err = ctx.clear(inp, "--out", result)
ctx.check(status == 0, f"exit status {status}: {err}")
with open(result, "rb") as f:
    written = f.read()
ctx.check(written == expected, f"RESULT is\n{written!r}\nexpected\n{expected!r}")
ctx.check(b"cleared          25.00\n" in out, f"summary {out!r}")

# The same through standard output: identical bytes, summary on stderr.
status, out, err = ctx.clear(inp, "--out", "-")
ctx.check(status == 0, f"--out -: exit status {status}: {err}")
ctx.check(out == expected, f"--out - wrote {out!r}")
ctx.check("obligations      3\n" in err, f"--out -: summary not on standard error: {err!r}")

# INPUT from a pipe (read by chunks, its size unknown).
with open(inp, "rb") as f:
    done = subprocess.run([ctx.troc, "clear", "/dev/stdin", "--out", "-"], stdin=f, capture_output=True, timeout=60)
ctx.check(done.returncode == 0 and done.stdout == expected, f"/dev/stdin: {done.returncode} {done.stderr!r}")

# "-" is standard input: a pipe (its size unknown, read by chunks) gives the
# same RESULT, and a bad row is named by its line in "standard input".
done = subprocess.run([ctx.troc, "clear", "-", "--out", "-"], input=source.encode("utf-8"), capture_output=True,
                      timeout=60)
ctx.check(done.returncode == 0 and done.stdout == expected, f"- : {done.returncode} {done.stderr!r}")
with open(inp, "rb") as f:  # RESULT cannot replace the file standard input reads
    done = subprocess.run([ctx.troc, "clear", "-", "--out", inp], stdin=f, capture_output=True, timeout=60)
with open(inp, "rb") as f:
    kept = f.read()
ctx.check(done.returncode == 2 and b"is the file standard input reads" in done.stderr and kept == source.encode(),
          f"- --out INPUT: {done.returncode} {done.stderr!r}")
done = subprocess.run([ctx.troc, "clear", "-"], input=b"debtor,creditor,amount\nA,B,1\nB,B,2\n",
                      capture_output=True, timeout=60)
ctx.check(done.returncode == 2 and b"troc: standard input line 3: debtor and creditor are the same firm" in done.stderr,
          f"- with a bad row: {done.returncode} {done.stderr!r}")

# LF without a byte-order mark stays so; a RESULT read back has the input's
# values and columns.
lf = ("id,debtor,creditor,amount,note\n"
      "a,A,B,100,\"x,y\"\n"
      "b,B,A,40,\n"
      "c,B,C,5,\"multi\nline\"\n")
inp = ctx.write("lf.csv", lf)
result = ctx.path("lf-result.csv")
status, out, err = ctx.clear(inp, "--out", result)
ctx.check(status == 0, f"LF input: exit status {status}: {err}")
with open(result, "rb") as f:
    written = f.read()
ctx.check(not written.startswith(b"\xef\xbb\xbf") and b"\r\n" not in written, f"LF input: {written!r}")
rows, back = parse_csv_text(lf), parse_csv_text(written.decode("utf-8"))
ctx.check(len(back) == len(rows), f"LF input: {len(back)} rows back, {len(rows)} in")
ctx.check(all(b[:5] == r for b, r in zip(back, rows)), f"LF input: values changed: {back}")
ctx.check([b[5:] for b in back] == [["cleared", "remaining"], ["40.00", "60.00"], ["40.00", "0.00"],
                                     ["0.00", "5.00"]], f"LF input: cleared, remaining {back}")

ctx.done()
