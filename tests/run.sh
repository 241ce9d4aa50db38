#!/usr/bin/env bash
# The test suite: builds pgkb twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer), runs every
# unit and integration test (real PostgreSQL and HTTP servers on loopback) in both, then each libFuzzer target
# for a bounded time. usage: tests/run.sh [--quick] (--quick: plain build only, no fuzzing)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
"$SRC/deploy/install-deps.sh"
QUICK=0; [ "${1:-}" = --quick ] && QUICK=1
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
JOBS=$(nproc)
status=0

run_suite() { # NAME BUILD_DIR CMAKE_ARGS...
	local name=$1 dir=$2; shift 2
	echo "=== $name: build"
	cmake -S "$SRC" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$JOBS" 2>&1 | grep -E "error|warning" && return 1
	echo "=== $name: tests"
	local rc=0
	(cd "$dir" && ctest --output-on-failure --timeout 900) 2>&1 | tee "$dir/ctest.out" || rc=1
	grep -q "100% tests passed" "$dir/ctest.out" || rc=1
	local line total failed
	line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$dir/ctest.out" | tail -1)
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line"); failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
	ALL_PASS=$((ALL_PASS + ${total:-0} - ${failed:-0})); ALL_FAIL=$((ALL_FAIL + ${failed:-1}))
	return $rc
}
ALL_PASS=0; ALL_FAIL=0

run_suite "plain build" "$SRC/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo || status=1
if [ "$QUICK" = 0 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	PGKB_NO_VALGRIND=1 run_suite "ASan+UBSan build" "$SRC/build-asan" -DCMAKE_BUILD_TYPE=Debug -DPGKB_SANITIZE=ON || status=1
	unset ASAN_OPTIONS UBSAN_OPTIONS
	echo "=== fuzzing: each target for ${FUZZ_SECONDS}s"
	CC=clang cmake -S "$SRC" -B "$SRC/build-fuzz" -DPGKB_FUZZ=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$SRC/build-fuzz" -j"$JOBS" >/dev/null
	fz_pass=0; fz_fail=0
	for t in "$SRC"/build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t"); name=${name#fuzz_}
		corpus=$(mktemp -d); cp -r "$SRC/tests/fuzz/corpus/$name/." "$corpus/" 2>/dev/null || true
		dict=(); [ -f "$SRC/tests/fuzz/$name.dict" ] && dict=(-dict="$SRC/tests/fuzz/$name.dict")
		if "$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 "${dict[@]}" "$corpus" >"$corpus.log" 2>&1; then
			echo "ok   fuzz_$name ($(grep -o 'Done [0-9]* runs' "$corpus.log" | tail -1))"; fz_pass=$((fz_pass + 1))
		else
			echo "FAIL fuzz_$name"; tail -n 40 "$corpus.log"; fz_fail=$((fz_fail + 1)); status=1
		fi
		rm -rf "$corpus" "$corpus.log"
	done
	echo "fuzz: $fz_pass passed, $fz_fail failed"
	ALL_PASS=$((ALL_PASS + fz_pass)); ALL_FAIL=$((ALL_FAIL + fz_fail))
fi
echo "all: $ALL_PASS passed, $ALL_FAIL failed"
exit $status
