#!/bin/sh
# Times a bare `git log --first-parent --numstat` against `ouro accel` side by
# side on a generated repository of 50,000 commits (built once with git
# fast-import) and prints the wall-time ratio (goal <= 1.3x) and peak RSS.
#
# Usage: scripts/accel-bench.sh [REPO_DIR]
#   OURO_ACCEL_BENCH_COMMITS  commits in a newly built repository (50000)
#   OURO_ACCEL_BENCH_ROUNDS   alternating rounds, the median is reported (3)
#   OURO_ACCEL_BENCH_ARGS     extra flags for ouro accel, e.g. "--survival"
#
# Peak RSS is ru_maxrss from wait4 of each command (read by the Go helper, so
# /usr/bin/time is not needed); for ouro it is the larger of ouro itself and
# its git children. `ouro accel -v` also prints ouro's own peak RSS.
set -eu
cd "$(dirname "$0")/.."
repo=${1:-${TMPDIR:-/tmp}/ouro-accel-bench}
bin=${TMPDIR:-/tmp}/ouro-accel-bench-bin
export OURO_ACCEL_BENCH_COMMITS="${OURO_ACCEL_BENCH_COMMITS:-50000}"

go build -o "$bin" ./cmd/ouro
if [ ! -d "$repo/.git" ]; then
	echo "building $repo ($OURO_ACCEL_BENCH_COMMITS commits with git fast-import)"
	OURO_ACCEL_BENCH_REPO="$repo" go test ./accel/ -run '^TestMakeBenchRepo$' -count=1 -v -timeout 30m | grep -v '^=== RUN'
fi
OURO_ACCEL_BENCH_REPO="$repo" OURO_ACCEL_BENCH_BIN="$bin" \
	go test ./accel/ -run '^TestAccelBenchCompare$' -count=1 -v -timeout 60m | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS' -e '^ok'
echo "ouro's own figures:"
"$bin" accel --repo "$repo" -v ${OURO_ACCEL_BENCH_ARGS:-} 2>&1 >/dev/null | tail -3
