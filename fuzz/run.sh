#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run.sh HARNESS SECONDS SEEDS WORKDIR: runs one libFuzzer harness for a
# bounded time.  New inputs go to WORKDIR (in the build tree), never into the
# committed seed corpus, which is read as a second corpus directory.
set -eu
harness=$1 seconds=$2 seeds=$3 work=$4
mkdir -p "$work"
# libFuzzer's own exit status for a finding is 77, which meson reads as a
# skipped test: a crash, a leak or a timeout must fail it.
exec "$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 "$work" "$seeds"
