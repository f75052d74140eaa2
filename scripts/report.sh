#!/usr/bin/env bash
# Regenerates every number in docs/DETECTION.md and docs/BENCHMARKS.md, into bench/out/.
# Usage: scripts/report.sh [DATA_DIR]   (default: ../shared/data beside the checkout)
# Run it on an otherwise idle machine; timings on a shared machine are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
out=bench/out
mkdir -p "$out"

cargo build --release --locked -p airlock
airlock=target/release/airlock

for task in injection:injection.jsonl secrets:secrets_gitleaks.jsonl pii:pii_synthetic.jsonl; do
  name=${task%%:*}
  file=$data/${task#*:}
  echo "== airlock eval $file --task $name --split dev"
  "$airlock" eval "$file" --task "$name" --split dev | tee "$out/eval-$name-dev.txt"
  "$airlock" eval "$file" --task "$name" --split dev --format json > "$out/eval-$name-dev.json"
done

# False positives of the secrets and PII detectors on benign prose, code and docs.
for task in secrets pii; do
  echo "== airlock eval $data/injection.jsonl --task $task --split dev (benign text: every positive is a false alarm)"
  "$airlock" eval "$data/injection.jsonl" --task "$task" --split dev | tee "$out/eval-$task-on-benign-dev.txt"
done

echo "== per-event latency (4 KB events)"
cargo bench --locked -p airlock-detect --bench latency | tee "$out/latency.md"

echo "== criterion throughput (1 KB / 4 KB / 64 KB)"
cargo bench --locked -p airlock-detect --bench throughput -- --noplot 2>&1 | tee "$out/throughput.txt"

echo "== policy evaluation, audit append, HTTP authorize round trip"
cargo bench --locked -p airlock-policy --bench authorize 2>&1 | tee "$out/policy-authorize.txt"
cargo bench --locked -p airlock-audit --bench append 2>&1 | tee "$out/audit-append.txt"
cargo bench --locked -p airlock-server --bench http_authorize | tee "$out/http-authorize.md"
