#!/usr/bin/env bash
# Build every fuzz target and run each one for SECONDS (default 30) on a copy of its
# seed corpus (fuzz/corpus/<target>/ is left as it is). Exits non-zero if any target
# crashes, panics, times out or runs out of memory, and prints where the input is.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]
#
# Works on the stable toolchain: built without a sanitizer by default (the library is
# #![forbid(unsafe_code)], so panics, hangs and memory blow-ups are what there is to
# find). FUZZ_SANITIZER=address adds AddressSanitizer for the C and assembly in `ring`
# and unsafe code in dependencies: stable rustc ships its runtime, and RUSTC_BOOTSTRAP=1
# unlocks -Zsanitizer; that build is about as long again and fuzzes 3-5 times slower.
# FUZZ_TARGETS="cms xml" runs only those targets; FUZZ_TARGET_DIR builds elsewhere than
# fuzz/target (e.g. a cache that outlives the CI's fresh clone).
set -euo pipefail
seconds="${1:-30}"
here="$(cd "$(dirname "$0")" && pwd)"
# From the repository root: the dispatch corpus names the test keys by relative paths.
cd "$here/.."
# The fuzz build has flags of its own: never share the main build's target directory.
unset CARGO_TARGET_DIR

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

sanitizer="${FUZZ_SANITIZER:-none}"
[ "$sanitizer" = none ] || export RUSTC_BOOTSTRAP=1
flags=(--sanitizer "$sanitizer" --codegen-units 16)
[ -n "${FUZZ_TARGET_DIR:-}" ] && flags+=(--target-dir "$FUZZ_TARGET_DIR")
start=$SECONDS
cargo fuzz build "${flags[@]}"
echo "fuzz: build took $((SECONDS - start)) s"

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for t in $targets; do
  mkdir -p "$work/corpus/$t"
  cp -r "$here/corpus/$t/." "$work/corpus/$t/"
  extra=()
  [ -f "$here/dict/$t.dict" ] && extra+=("-dict=$here/dict/$t.dict")
  log="$work/$t.log"
  status=0
  # One process per target, one target at a time (no -jobs/-fork: 2 shared cores).
  cargo fuzz run "${flags[@]}" "$t" "$work/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    "${extra[@]}" >"$log" 2>&1 || status=$?
  last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $t ok: $last"
  else
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status); the end of its log:"
    tail -n 60 "$log"
    for input in $(grep -oE 'Test unit written to [^ ]+' "$log" | awk '{print $5}'); do
      echo "fuzz: $t crash input: $input"
      echo "fuzz:   reproduce: cargo fuzz run ${flags[*]} $t $input"
    done
  fi
done
echo "fuzz: build and run took $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
