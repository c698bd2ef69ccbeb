#!/usr/bin/env bash
# Runs each fuzz target for a set time and prints executions and findings per target.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     (default: 1800 s each, all four targets)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The seed
# corpora are fuzz/seeds/TARGET; what the fuzzer learns goes to fuzz/corpus/TARGET,
# findings to fuzz/artifacts/TARGET, and each run's log to fuzz/logs/. Inputs that
# once failed are kept in fuzz/regressions/TARGET and replayed first.
#
# libFuzzer runs in fork mode and keeps going after a finding, so a run lasts its
# whole time and reports every crash, timeout and out-of-memory it met. An input
# is a timeout past 30 s (every query carries a 200 ms limit) or an OOM past 4 GiB.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-1800}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xpath cypher xml_ingest csv_load)
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  cargo +nightly fuzz build "$t"
  bin="target/x86_64-unknown-linux-gnu/release/$t"
  if compgen -G "regressions/$t/*" >/dev/null; then
    "$bin" -timeout=30 -rss_limit_mb=4096 regressions/"$t"/* >/dev/null 2>&1 \
      || { echo "$t: a regression input fails again"; exit 1; }
  fi
  log="logs/$t-$(date +%Y%m%dT%H%M%S).log"
  "$bin" -artifact_prefix="artifacts/$t/" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=4096 \
    "corpus/$t" "seeds/$t" >"$log" 2>&1 || true
  last=$(grep -E '^#[0-9]+: cov' "$log" | tail -1)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
  findings=$(grep -oE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" || echo 'oom/timeout/crash: ?')
  echo "$t: ${seconds}s, ${execs:-?} executions, $findings, $(find "artifacts/$t" -type f | wc -l) files in artifacts/$t (log $log)"
done
