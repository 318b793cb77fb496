#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Integration test of `trocd init`, `trocd verify` and the refusals of
# `trocd run` through the binary: --help everywhere, refusals (non-empty
# directory, bad or missing admin key, illegal name) that leave nothing
# behind, a territory created and verified, its JSON output, a second daemon
# on the same ledger refused, malformed or busy listen addresses, a port
# file that cannot be written failing the start, key files
# missing, too open or not regular files, a backup made with mdb_copy
# verifying too, a damaged ledger refused by verify and by run, trocd
# and troc started with their standard streams closed (standard output
# closed: refused, but for trocd run), troc's output that
# cannot be written, SIGTERM, SIGINT and SIGHUP each stopping trocd in
# order, an interrupted verify leaving no scratch ledger, a scratch ledger
# that cannot be made naming no journal entry, and options given twice or
# without a value refused.
#   trocd_cli_test.sh TROCD TROC
set -euo pipefail
trocd=$1
troc=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/troc-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect STATUS COMMAND...: runs COMMAND, checks its exit status.
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want: $(cat "$work/err")"
}

# --help answers on stdout with status 0.
for args in "--help" "init --help" "verify --help"; do
  expect 0 "$trocd" $args
  grep -q "usage: trocd" "$work/out" || fail "trocd $args prints no usage"
done
expect 0 "$trocd" --help
grep -q -- "--version" "$work/out" || fail "trocd --help does not mention --version"
expect 0 "$trocd" --version
grep -Eqx "trocd [0-9]+\.[0-9]+\.[0-9]+" "$work/out" || fail "trocd --version printed '$(cat "$work/out")'"
expect 2 "$trocd"
expect 2 "$trocd" frobnicate

admin=$("$troc" keygen "$work/admin.key")
[ ${#admin} -eq 64 ] || fail "troc keygen printed '$admin'"

# Output that cannot be written (a full disk) fails the command, saying why,
# whatever the command: a script must not take an empty file for a result.
# full_output COMMAND...: runs COMMAND with its standard output on /dev/full.
full_output() {
  [ -w /dev/full ] || return 0
  local got=0
  "$@" >/dev/full 2>"$work/err" || got=$?
  [ "$got" -eq 1 ] || fail "'$*' >/dev/full exited $got, expected 1: $(cat "$work/err")"
  grep -qx "trocd\{0,1\}: cannot write the output: No space left on device" "$work/err" ||
    fail "'$*' >/dev/full: $(cat "$work/err")"
}
full_output "$troc" --help
full_output "$troc" pay --help
full_output "$troc" --version
full_output "$troc" pubkey "$work/admin.key"
full_output "$troc" --json pubkey "$work/admin.key"
full_output "$trocd" --help
full_output "$trocd" --version
# init creates the territory whatever becomes of its output: the key it
# could not print is said on stderr.
if [ -w /dev/full ]; then
  status=0
  "$trocd" init --data "$work/made" --territory lyon --admin "$admin" --json >/dev/full 2>"$work/err" || status=$?
  [ "$status" -eq 1 ] || fail "trocd init >/dev/full exited $status"
  grep -q "the territory was created all the same in $work/made, its key $("$troc" pubkey "$work/made/territory.key")" \
    "$work/err" || fail "trocd init >/dev/full: $(cat "$work/err")"
  rm -r "$work/made"
fi

# With standard output closed, a command whose result goes there refuses to
# run (exit 2, saying why on standard error) before doing anything: its
# result would be lost and the exit status say all went well.  (trocd run,
# whose output is its log, serves all the same: see below.)
# closed_output COMMAND...: runs COMMAND with its standard output closed.
closed_output() {
  local got=0
  "$@" >&- 2>"$work/err" || got=$?
  [ "$got" -eq 2 ] || fail "'$*' >&- exited $got, expected 2: $(cat "$work/err")"
  grep -qx "trocd\{0,1\}: standard output is closed: give the command an output (>/dev/null to discard it)" \
    "$work/err" || fail "'$*' >&-: $(cat "$work/err")"
}
closed_output "$trocd" init --data "$work/closed" --territory lyon --admin "$admin"
[ ! -e "$work/closed" ] || fail "trocd init with standard output closed created the data directory"
closed_output "$trocd" init --data "$work/closed" --territory lyon --admin "$admin" --json
[ ! -e "$work/closed" ] || fail "trocd init --json with standard output closed created the data directory"
closed_output "$trocd" --version
closed_output "$trocd" run --help
closed_output "$troc" keygen "$work/closed.key"
[ ! -e "$work/closed.key" ] || fail "troc keygen with standard output closed wrote a key file"
closed_output "$troc" pubkey "$work/admin.key"
closed_output "$troc" --help
# Standard error closed too: the exit status alone says it.
status=0
"$trocd" init --data "$work/closed" --territory lyon --admin "$admin" >&- 2>&- || status=$?
[ "$status" -eq 2 ] && [ ! -e "$work/closed" ] || fail "trocd init >&- 2>&- exited $status"

# Refusals change nothing.
mkdir "$work/full"; echo x >"$work/full/keep"
expect 1 "$trocd" init --data "$work/full" --territory lyon --admin "$admin"
grep -q "not empty" "$work/err" || fail "non-empty directory: no clear message"
[ "$(ls "$work/full")" = "keep" ] || fail "a refused init left files behind"
expect 2 "$trocd" init --data "$work/d" --territory lyon --admin nothex
grep -q "64 hexadecimal digits" "$work/err" || fail "bad admin key: no clear message"
expect 2 "$trocd" init --data "$work/d" --territory lyon
expect 2 "$trocd" init --data "$work/d" --territory lyon --admin "$(printf '0%.0s' $(seq 64))"
grep -q "not a key anyone can sign with" "$work/err" || fail "an all-zero admin key: no clear message"
expect 2 "$trocd" init --data "$work/d" --territory "Lyon Nord" --admin "$admin"
expect 2 "$trocd" init --data "$work/d" --territory lyon --admin "$admin" --admin "$admin"
expect 2 "$trocd" init --territory lyon --admin "$admin"
[ ! -e "$work/d" ] || fail "a refused init created the directory"
expect 1 "$trocd" verify --data "$work/d"
grep -q "no ledger" "$work/err" || fail "verify of nothing: no clear message"
# With --json every failure is one object on stdout, whatever stopped it:
# no ledger, a file where the directory should be, no scratch directory.
# check_failure_json FILE ERROR: ok false, that error, a difference.
check_failure_json() {
  python3 - "$@" <<'PY' || fail "verify --json printed '$(cat "$1")'"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["error"] == sys.argv[2] and o["difference"], o
PY
}
expect 1 "$trocd" verify --data "$work/d" --json
check_failure_json "$work/out" TROC_ENOT_FOUND
grep -q "no ledger in $work/d" "$work/out" || fail "verify --json of nothing: $(cat "$work/out")"
expect 1 "$trocd" verify --data "$work/full/keep" --json
check_failure_json "$work/out" ENOTDIR
expect 1 env TMPDIR="$work/none" "$trocd" verify --data "$work/full" --json
check_failure_json "$work/out" ENOENT
grep -q "scratch directory" "$work/out" || fail "verify --json without a scratch directory: $(cat "$work/out")"
expect 2 "$trocd" verify
# An option given twice is refused, not the last one taken; one without its
# value is named, in every subcommand.
for command in "verify --data $work/d --data $work/full" "run --data $work/d --data $work/full" \
               "init --data $work/d --data $work/full --territory lyon --admin $admin" \
               "verify --data $work/d --json --json" "run --data $work/d --listen none --listen none" \
               "init --data $work/d --territory lyon --territory nord --admin $admin"; do
  expect 2 "$trocd" $command
  grep -Eq -- "--(data|json|listen|territory) is given twice" "$work/err" ||
    fail "trocd $command: $(cat "$work/err")"
done
for command in verify run init; do
  expect 2 "$trocd" $command --data
  grep -q -- "--data needs a value" "$work/err" || fail "trocd $command --data: $(cat "$work/err")"
done
[ ! -e "$work/d" ] || fail "a refused command created $work/d"

# A territory, in JSON.
expect 0 "$trocd" init --data "$work/d" --territory lyon --admin "$admin" --unit WIR --json
python3 - "$work/out" <<'PY' || fail "init --json output"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["territory"] == "lyon" and o["unit"] == "WIR" and o["admin_keys"] == 1, o
assert len(o["territory_key"]) == 64, o
PY
[ "$(stat -c %a "$work/d/territory.key")" = "600" ] || fail "territory.key is not mode 600"
expect 1 "$trocd" init --data "$work/d" --territory lyon --admin "$admin"

expect 0 "$trocd" verify --data "$work/d"
grep -qx "ok entries=1 members=0 transfers=0" "$work/out" || fail "verify printed '$(cat "$work/out")'"
closed_output "$trocd" verify --data "$work/d"
closed_output "$trocd" verify --data "$work/d" --json
expect 0 "$trocd" verify --data "$work/d" --json
grep -q '"ok":true' "$work/out" || fail "verify --json printed '$(cat "$work/out")'"
full_output "$trocd" verify --data "$work/d"
full_output "$trocd" verify --data "$work/d" --json
expect 0 "$trocd" verify --data "$work/d" --threads 3
grep -qx "ok entries=1 members=0 transfers=0" "$work/out" || fail "verify --threads 3 printed '$(cat "$work/out")'"
for threads in 0 65 -1 2x ""; do
  expect 2 "$trocd" verify --data "$work/d" --threads "$threads"
  grep -q "not a whole number from 1 to 64" "$work/err" || fail "verify --threads '$threads': no clear message"
done
# A scratch ledger that cannot be made is verify's failure, not the
# journal's: --json names no entry, though entry 1 was being replayed.  A
# $TMPDIR of 4070 bytes holds the scratch directory within PATH_MAX (4096),
# but not the files in it (ENAMETOOLONG), whoever runs the test.
long=$work/long
while [ $((4070 - ${#long})) -gt 250 ]; do long=$long/$(printf '%0200d' 0); done
long=$long/$(printf "%0$((4070 - ${#long} - 1))d" 0)
mkdir -p "$long"
expect 1 env TMPDIR="$long" "$trocd" verify --data "$work/d" --json
python3 - "$work/out" <<'PY' || fail "verify --json without a scratch ledger: $(cat "$work/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["error"] == "ENAMETOOLONG", o
assert "entry" not in o, o
assert o["difference"].startswith("cannot create the scratch ledger: "), o
PY
[ -z "$(ls -A "$long")" ] || fail "verify without a scratch ledger left $(ls -A "$long") in TMPDIR"
rm -r "$work/long"

# One daemon per ledger: a second trocd on the same directory is refused
# while the first serves, and the first keeps serving.
(umask 027 && exec "$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/first.log") &
first=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || fail "the first trocd did not start: $(cat "$work/first.log")"
# Written under a name of its own, renamed into place, as the umask says.
[ "$(stat -c %a "$work/port")" = 640 ] || fail "port file mode $(stat -c %a "$work/port"), not 640 (umask 027)"
[ -z "$(ls "$work" | grep '^port\.')" ] || fail "a temporary port file was left: $(ls "$work")"
expect 1 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -q "in use by another process" "$work/err" || fail "second trocd: no clear message: $(cat "$work/err")"
kill -0 "$first" 2>/dev/null || fail "the first trocd stopped"
mkdir "$work/config"
for json in "" --json; do
  full_output env HOME="$work" XDG_CONFIG_HOME="$work/config" "$troc" --server "127.0.0.1:$(cat "$work/port")" \
    --key "$work/admin.key" $json admin stats
done
kill -TERM "$first"
wait "$first" || fail "the first trocd did not exit 0"
# Its pool has a thread per core and one more, which a clearing solve may
# hold for seconds without stopping every signature check.
grep -q ", $(( $(nproc) + 1 )) pool threads (signatures, clearing solves)" "$work/first.log" ||
  fail "the pool is not one thread per core and one more: $(head -1 "$work/first.log")"
# An operator's UV_THREADPOOL_SIZE is logged as libuv reads it.
rm -f "$work/port"
UV_THREADPOOL_SIZE=abc "$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/pool.log" &
pool=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
kill -TERM "$pool"
wait "$pool" || fail "trocd with UV_THREADPOOL_SIZE=abc did not exit 0: $(cat "$work/pool.log")"
grep -q ", 1 pool thread, from UV_THREADPOOL_SIZE=abc (signatures" "$work/pool.log" ||
  fail "UV_THREADPOOL_SIZE=abc: $(head -1 "$work/pool.log")"

# SIGTERM, SIGINT and SIGHUP (its terminal gone) each stop trocd in order:
# logged, exit 0, the port file and the socket removed.
for signal in TERM INT HUP; do
  rm -f "$work/port"
  "$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" --socket "$work/stop.sock" \
    2>"$work/stop.log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && [ -S "$work/stop.sock" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || fail "trocd did not start before SIG$signal: $(cat "$work/stop.log")"
  kill -"$signal" "$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "SIG$signal: trocd exited $status, expected 0: $(cat "$work/stop.log")"
  grep -q "stopping (SIG$signal): no new connections" "$work/stop.log" || fail "SIG$signal: no stopping line"
  grep -q "stopped: 0 connections served (0 refused), 0 requests, 0 commits of 0 items (at most 0 in one), 0 commits refused" \
    "$work/stop.log" || fail "SIG$signal: no stopped line: $(cat "$work/stop.log")"
  [ ! -e "$work/port" ] || fail "SIG$signal left the port file behind"
  [ ! -e "$work/stop.sock" ] || fail "SIG$signal left the socket behind"
done

# A count of one is said in the singular: one connection, which made one
# request and is still open when the stop begins.
rm -f "$work/port"
"$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/one.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
python3 - "$(cat "$work/port")" "$pid" <<'PY' || fail "one connection open at the stop: $(cat "$work/one.log")"
import os, signal, socket, sys, time
connection = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
connection.sendall(b"\x00\x00\x00\x05hello")  # not a frame trocd takes: one request, refused
time.sleep(0.2)
os.kill(int(sys.argv[2]), signal.SIGTERM)
time.sleep(0.2)
connection.close()
PY
wait "$pid" || fail "trocd stopped with one connection open did not exit 0: $(cat "$work/one.log")"
grep -q "answering the 1 open one$" "$work/one.log" && grep -q "stopped: 1 connection served (0 refused)" "$work/one.log" ||
  fail "counts of one: $(cat "$work/one.log")"

# Two daemons given one port file: the one that stops first leaves the file
# the other wrote since, which still names a port that serves.
expect 0 "$trocd" init --data "$work/shared-port" --territory marseille --admin "$admin"
rm -f "$work/port"
"$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/a.log" &
first=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
first_port=$(cat "$work/port")
"$trocd" run --data "$work/shared-port" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/b.log" &
second=$!
for _ in $(seq 100); do [ -s "$work/port" ] && [ "$(cat "$work/port")" != "$first_port" ] && break; sleep 0.05; done
second_port=$(cat "$work/port")
[ "$second_port" != "$first_port" ] || fail "the second trocd did not write its port: $(cat "$work/b.log")"
kill -TERM "$first"
wait "$first" || fail "the first trocd did not exit 0: $(cat "$work/a.log")"
[ "$(cat "$work/port" 2>/dev/null)" = "$second_port" ] ||
  fail "the first trocd removed the port file the second wrote"
kill -TERM "$second"
wait "$second" || fail "the second trocd did not exit 0: $(cat "$work/b.log")"
[ ! -e "$work/port" ] || fail "the second trocd left its port file behind"

# Started with its standard streams closed, trocd writes its log nowhere,
# not into the ledger's files, which take the lowest descriptors free.
"$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" <&- >&- 2>&- &
closed=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || fail "trocd with closed streams did not start"
kill -TERM "$closed"
wait "$closed" || fail "trocd with closed streams did not exit 0"
expect 0 "$trocd" verify --data "$work/d"
! grep -q "trocd: " "$work/d/data.mdb" "$work/d/lock.mdb" 2>/dev/null ||
  fail "trocd with closed streams wrote its log into the ledger's files"
# troc likewise prints nothing into the file it writes: with standard
# output closed it refuses to run, and writes nothing; with standard input
# and error closed it writes only the result into the file.
printf 'debtor,creditor,amount\na,b,1\nb,a,1\n' >"$work/cycle.csv"
closed_output "$troc" clear "$work/cycle.csv" --out "$work/cycle-out.csv"
[ ! -e "$work/cycle-out.csv" ] || fail "troc clear with standard output closed wrote its result"
"$troc" clear "$work/cycle.csv" --out "$work/cycle-out.csv" <&- >/dev/null 2>&- ||
  fail "troc clear with closed streams failed"
[ "$(head -1 "$work/cycle-out.csv")" = "debtor,creditor,amount,cleared,remaining" ] ||
  fail "troc clear with closed streams wrote: $(head -2 "$work/cycle-out.csv")"

# A low descriptor limit: trocd raises the soft one as far as the hard one
# allows, and when the hard one is too low serves fewer connections, saying
# how many (a daemon out of descriptors could not even answer "busy").
# start_limited ULIMIT_OPTION: runs trocd under `ulimit ULIMIT_OPTION 200`
# until it listens, then stops it; its log is in $work/limited.log.
start_limited() {
  rm -f "$work/port"
  (ulimit "$1" 200 && exec "$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port") \
    2>"$work/limited.log" &
  local pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || fail "trocd under ulimit $1 200 did not start: $(cat "$work/limited.log")"
  kill -TERM "$pid"
  wait "$pid" || fail "trocd under ulimit $1 200 did not exit 0"
}
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 200 ]; then
  start_limited -Sn
  grep -q "raised the descriptor limit (ulimit -n) from 200 to" "$work/limited.log" ||
    fail "soft limit 200: not raised: $(cat "$work/limited.log")"
  start_limited -n
  grep -q "serving at most 72 connections instead of 1024: the descriptor limit (ulimit -n) is 200" \
    "$work/limited.log" || fail "hard limit 200: no lower connection limit: $(cat "$work/limited.log")"
fi

# --map-size outside 1M..its maximum, or not a size, is bad usage.
for size in 1048575 1023K 0 2x 1T ""; do
  expect 2 "$trocd" run --data "$work/d" --listen 127.0.0.1:0 --map-size "$size"
  grep -q "is not a size from 1M" "$work/err" || fail "--map-size '$size': no clear message: $(cat "$work/err")"
done

# The port file is replaced at start and removed at stop: one that names a
# file of the ledger's directory, or anything but a regular file, is bad
# usage, and the ledger is left whole.
before=$(sha256sum "$work/d/data.mdb" "$work/d/territory.key")
for port_file in "$work/d/data.mdb" "$work/d/territory.key" "$work/d/port" /dev/null "$work/d" ""; do
  expect 2 "$trocd" run --data "$work/d" --listen 127.0.0.1:0 --port-file "$port_file"
  grep -q -e "lies in the ledger's directory" -e "is not a regular file" -e "is empty" "$work/err" ||
    fail "--port-file '$port_file': $(cat "$work/err")"
done
[ "$(sha256sum "$work/d/data.mdb" "$work/d/territory.key")" = "$before" ] || fail "a refused --port-file changed the ledger"
[ -c /dev/null ] || fail "/dev/null is no longer a device"

# A malformed --listen or --socket is bad usage, told before the ledger
# is opened (here there is none), with what is wrong.
expect 2 "$trocd" run --data "$work/none" --listen localhost:0
grep -q "host that is not a numeric address" "$work/err" || fail "--listen localhost:0: $(cat "$work/err")"
expect 2 "$trocd" run --data "$work/none" --listen 127.0.0.1
grep -q "'127.0.0.1' has no port" "$work/err" || fail "--listen 127.0.0.1: $(cat "$work/err")"
grep -q "numeric" "$work/err" && fail "--listen 127.0.0.1 blames the host: $(cat "$work/err")"
for listen in ":7400" "::1" "[::1]" "127.0.0.1:65536" "127.0.0.1:x"; do
  expect 2 "$trocd" run --data "$work/none" --listen "$listen"
  grep -qF "trocd run: --listen '$listen' has" "$work/err" || fail "--listen '$listen': $(cat "$work/err")"
done
expect 2 "$trocd" run --data "$work/none" --socket "$work/$(printf 's%.0s' $(seq 110))"
grep -q "longer than 107 bytes" "$work/err" || fail "a long --socket: $(cat "$work/err")"

# A socket another trocd serves is named as the cause, before anything
# else is said of the second daemon, which never claims its TCP address.
"$trocd" run --data "$work/d" --listen none --socket "$work/sock" 2>"$work/first.log" &
first=$!
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.05; done
expect 0 "$trocd" init --data "$work/d2" --territory lyon --admin "$admin"
expect 1 "$trocd" run --data "$work/d2" --listen 127.0.0.1:0 --socket "$work/sock"
grep -q "cannot listen on unix:$work/sock: .*another process (another trocd?) serves this socket" "$work/err" ||
  fail "busy socket: $(cat "$work/err")"
grep -Eq "listening on|stopping" "$work/err" && fail "busy socket: the failed start says more: $(cat "$work/err")"
kill -TERM "$first"
wait "$first" || fail "the trocd serving the socket did not exit 0"
# A file that is not a socket is not taken for one, nor removed.
echo keep >"$work/notsock"
expect 1 "$trocd" run --data "$work/d2" --listen none --socket "$work/notsock"
grep -q "unix:$work/notsock: .*exists and is not a socket" "$work/err" || fail "not a socket: $(cat "$work/err")"
[ "$(cat "$work/notsock")" = keep ] || fail "a file at --socket was replaced"
expect 1 "$trocd" run --data "$work/d2" --listen none --socket "$work/nodir/sock"
grep -q "directory does not exist" "$work/err" || fail "socket in a missing directory: $(cat "$work/err")"
# A port file that cannot be written fails the start with exit status 1,
# saying why, before trocd says it listens or serves (nobody asked it to
# stop), and leaves neither the socket nor a port file behind.
expect 1 "$trocd" run --data "$work/d2" --listen 127.0.0.1:0 --socket "$work/port.sock" \
  --port-file "$work/nodir/port"
grep -qx ".* trocd: cannot start the server: cannot write the port file $work/nodir/port: No such file or directory" \
  "$work/err" || fail "port file in a missing directory: $(cat "$work/err")"
grep -Eq "listening on|serving|stopping|stopped" "$work/err" &&
  fail "port file in a missing directory: the failed start says more: $(cat "$work/err")"
[ ! -e "$work/port.sock" ] || fail "a failed port file left the socket behind"
[ ! -e "$work/nodir" ] || fail "a failed port file left $work/nodir behind"

# trocd run names the key file when it is missing or another territory's.
expect 0 "$trocd" init --data "$work/other" --territory other --admin "$admin"
cp "$work/d/territory.key" "$work/d.key"
cp "$work/other/territory.key" "$work/d/territory.key"
expect 1 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -q "territory.key is not this territory's key" "$work/err" || fail "another key: $(cat "$work/err")"
rm "$work/d/territory.key"
expect 1 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -q "territory.key is missing" "$work/err" || fail "no key: $(cat "$work/err")"
cp "$work/d.key" "$work/d/territory.key"
# A key left readable by others (a restore's easy slip) is named with the
# chmod that fixes it; verify, whose verdict is the data's, warns of it.
chmod 644 "$work/d/territory.key"
expect 1 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -qF "territory.key may be read by its group or others, and a secret key must be private; run: chmod 600 $work/d/territory.key" \
  "$work/err" || fail "key readable by others: $(cat "$work/err")"
expect 0 "$trocd" verify --data "$work/d"
grep -qF "warning: trocd run cannot serve this ledger yet: the territory's key file $work/d/territory.key may be read" \
  "$work/err" || fail "verify of a key readable by others: $(cat "$work/err")"
expect 0 "$trocd" verify --data "$work/d" --json
python3 - "$work/out" <<'PY' || fail "verify --json of a key readable by others: $(cat "$work/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["key_file_ok"] is False and "chmod 600" in o["key_file_problem"], o
PY
chmod 600 "$work/d/territory.key"
expect 0 "$trocd" verify --data "$work/d"
[ -s "$work/err" ] && fail "verify of a sound ledger warns: $(cat "$work/err")"
# A key file that is not a regular file is refused for what it is.
mv "$work/d/territory.key" "$work/d.key.real"
mkdir "$work/d/territory.key"
expect 1 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -q "territory.key is a directory, not a key file" "$work/err" || fail "a directory as key: $(cat "$work/err")"
rmdir "$work/d/territory.key"
mkfifo "$work/d/territory.key"
expect 1 timeout 10 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -q "territory.key is a FIFO, not a key file" "$work/err" || fail "a FIFO as key: $(cat "$work/err")"
rm "$work/d/territory.key"
mv "$work/d.key.real" "$work/d/territory.key"

# Files the daemon's user may not read are named with the system's reason,
# not "unknown error" (LMDB returns it as a positive errno): the data file
# for run and verify, then the key file for run.  As root, the commands run
# as nobody; otherwise the files are made unreadable.
expect 0 "$trocd" init --data "$work/perm" --territory lyon --admin "$admin"
as_other=()
if [ "$(id -u)" -eq 0 ]; then
  as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod 711 "$work"
  chmod 755 "$work/perm"
  chmod 666 "$work/perm/lock.mdb"
else
  chmod 000 "$work/perm/data.mdb"
fi
expect 1 "${as_other[@]}" "$trocd" run --data "$work/perm" --listen 127.0.0.1:0
grep -qx "trocd run: cannot open the ledger in $work/perm: Permission denied" "$work/err" ||
  fail "unreadable data file: $(cat "$work/err")"
expect 1 "${as_other[@]}" "$trocd" verify --data "$work/perm" --json
check_failure_json "$work/out" EACCES
grep -q "cannot read the ledger in $work/perm: Permission denied" "$work/out" ||
  fail "verify --json of an unreadable data file: $(cat "$work/out")"
if [ "$(id -u)" -eq 0 ]; then
  chmod 666 "$work/perm/data.mdb"          # the key stays root's, mode 600
else
  chmod 600 "$work/perm/data.mdb"
  chmod 000 "$work/perm/territory.key"
fi
expect 1 "${as_other[@]}" "$trocd" run --data "$work/perm" --listen 127.0.0.1:0
grep -qF "the territory's key file $work/perm/territory.key cannot be read by this user (Permission denied)" \
  "$work/err" || fail "unreadable key file: $(cat "$work/err")"
chmod 700 "$work"

# An interrupted verify leaves no scratch ledger in $TMPDIR.  A data file
# that is a FIFO nobody writes holds verify in its open, once the scratch
# directory is made.  (env --default-signal: a script's background jobs
# start with SIGINT ignored.)  Under nohup (SIGHUP ignored) verify keeps
# ignoring SIGHUP.
mkdir "$work/vtmp" "$work/held"
mkfifo "$work/held/data.mdb"
# held_verify [PREFIX...]: starts verify held on the FIFO, in $pid, once its
# scratch directory is there.
held_verify() {
  TMPDIR="$work/vtmp" "$@" "$trocd" verify --data "$work/held" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -n "$(ls "$work/vtmp")" ] && break; sleep 0.05; done
  [ -n "$(ls "$work/vtmp")" ] || fail "verify made no scratch directory"
  sleep 0.1                                # into its open of the FIFO
}
# stopped_within PID: true once PID has exited, waiting at most 5 s.
stopped_within() {
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  return 1
}
# held_left: true while a process verifying the held ledger remains (verify
# checks in a child process, which must stop with it).
held_left() {
  grep -qsF -- "$work/held" /proc/[0-9]*/cmdline
}
# none_held_within: true once no such process is left, waiting at most 5 s.
none_held_within() {
  for _ in $(seq 100); do held_left || return 0; sleep 0.05; done
  return 1
}
for signal in INT TERM HUP; do
  held_verify env --default-signal=INT,TERM,HUP
  kill -"$signal" "$pid"
  stopped_within "$pid" || { fail "SIG$signal did not stop verify"; kill -KILL "$pid"; }
  status=0
  wait "$pid" || status=$?
  [ "$status" -gt 128 ] || fail "SIG$signal: verify exited $status, not killed by the signal"
  [ -z "$(ls "$work/vtmp")" ] || fail "SIG$signal: verify left $(ls "$work/vtmp") behind"
  none_held_within || fail "SIG$signal: verify's child kept running"
  rm -rf "${work:?}/vtmp/"*
done
held_verify env --default-signal=TERM nohup
kill -HUP "$pid"
sleep 0.1
kill -0 "$pid" 2>/dev/null || fail "verify under nohup stopped on SIGHUP"
kill -TERM "$pid"
stopped_within "$pid" || { fail "SIGTERM did not stop verify under nohup"; kill -KILL "$pid"; }
wait "$pid" || true
[ -z "$(ls "$work/vtmp")" ] || fail "verify under nohup left $(ls "$work/vtmp") behind"
none_held_within || fail "SIGTERM under nohup: verify's child kept running"

# A backup made with mdb_copy verifies.
if command -v mdb_copy >/dev/null; then
  mkdir "$work/backup"
  mdb_copy "$work/d" "$work/backup"
  expect 0 "$trocd" verify --data "$work/backup"
fi

# A damaged data file is reported, not trusted: every copy of the
# territory's name (in meta and in the signed init entry) is altered.
python3 - "$work/d/data.mdb" <<'PY'
import sys
path = sys.argv[1]
data = open(path, "rb").read().replace(b"lyon", b"lyOn")
open(path, "wb").write(data)
PY
expect 1 "$trocd" verify --data "$work/d"
expect 1 "$trocd" verify --data "$work/d" --json
check_failure_json "$work/out" TROC_ESIGNATURE
grep -q "\"entry\":1," "$work/out" || fail "verify --json of a bad entry names none: $(cat "$work/out")"
# trocd run checks the ledger cheaply before serving it (the init entry
# among what it checks) and refuses it the way it refuses one it cannot
# read, pointing to verify and the restore steps; the data file is left
# as it was.
sum_before=$(cksum <"$work/d/data.mdb")
expect 1 timeout 10 "$trocd" run --data "$work/d" --listen 127.0.0.1:0
grep -q "cannot open the ledger in $work/d: stored data is corrupt (journal entry 1 " \
  "$work/err" || fail "trocd run of a damaged ledger: $(cat "$work/err")"
grep -q "see what is damaged with: trocd verify --data $work/d (docs/operations.md says how to restore a backup)" \
  "$work/err" || fail "trocd run of a damaged ledger does not point to verify: $(cat "$work/err")"
[ "$(cksum <"$work/d/data.mdb")" = "$sum_before" ] || fail "a refused trocd run changed the data file"
# The command it advises can be pasted whatever the path holds.
cp -r "$work/d" "$work/d copy"
expect 1 timeout 10 "$trocd" run --data "$work/d copy" --listen 127.0.0.1:0
grep -q "see what is damaged with: trocd verify --data '$work/d copy' (" "$work/err" ||
  fail "trocd run does not quote the path it advises: $(cat "$work/err")"

[ "$failures" -eq 0 ] && echo "trocd cli: all checks passed"
exit "$failures"
