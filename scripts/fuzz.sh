#!/usr/bin/env bash
# Fuzzes Parley's parsers with cargo-fuzz (libFuzzer): webhook signature
# headers, webhook and chat JSON, topic tokens, and the moderation
# normaliser. Each target runs for FUZZ_SECONDS (default 60) on the corpus
# kept in fuzz/corpus/<target>, which grows with what it finds.
#
#   scripts/fuzz.sh                     # every target, 60 s each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh token
#   FUZZ_SECONDS=10 FUZZ_KEEP_CORPUS=0 scripts/fuzz.sh   # the smoke run of the test command
#
# cargo-fuzz needs nightly compiler flags; this machine has only the stable
# toolchain, which accepts them with RUSTC_BOOTSTRAP=1. No sanitizer: the
# project forbids unsafe code, so the fuzzer looks for panics (debug
# assertions on: overflows count) and broken invariants the targets assert.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
seconds=${FUZZ_SECONDS:-60}
targets=${*:-signature delivery token moderation}
if ! cargo fuzz --version >/dev/null 2>&1; then
  step "Installing cargo-fuzz (crates.io)"
  cargo install --locked cargo-fuzz@0.13.1
fi
export RUSTC_BOOTSTRAP=1
# The corpus travels in git as one small archive (thousands of tiny files otherwise).
if [ ! -d fuzz/corpus ] && [ -f fuzz/corpus.tar.gz ]; then
  tar xzf fuzz/corpus.tar.gz -C fuzz
fi
mkdir -p fuzz/artifacts
for target in $targets; do
  step "Fuzzing $target for ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  log="fuzz/artifacts/$target.log"
  if ! cargo fuzz run --sanitizer none --debug-assertions "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $target failed; the input that did it is in fuzz/artifacts/$target/ (log: $log)"
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|^Done" "$log" || true
done
if [ "${FUZZ_KEEP_CORPUS:-1}" = 1 ]; then
  for target in $targets; do
    cargo fuzz cmin --sanitizer none --debug-assertions "$target" "fuzz/corpus/$target" >/dev/null 2>&1 || true
  done
  tar czf fuzz/corpus.tar.gz -C fuzz corpus
fi
