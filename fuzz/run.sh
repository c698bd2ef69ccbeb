#!/usr/bin/env bash
# Runs each fuzz target for a set time and prints executions and crashes per target.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     (default: 1800 s each, all four targets)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The seed
# corpora are fuzz/seeds/TARGET; what the fuzzer learns goes to fuzz/corpus/TARGET,
# crashes to fuzz/artifacts/TARGET, and each run's log to fuzz/logs/.
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
  log="logs/$t-$(date +%Y%m%dT%H%M%S).log"
  # -timeout: an input running past 10 s is a finding (queries carry a 200 ms timeout);
  # -rss_limit_mb: so is one using past 4 GiB.
  cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
    -print_final_stats=1 >"$log" 2>&1 || true
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  crashes=$(find "artifacts/$t" -type f | wc -l)
  echo "$t: ${seconds}s, $execs executions, $crashes crash files in artifacts/$t (log $log)"
done
