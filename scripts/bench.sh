#!/usr/bin/env bash
# The benchmarks behind `make bench`: plan and apply of 200 registered
# services through the real CLI, a no-op plan over 50 lab VMs (with its peak
# RSS), and the Kubernetes provider's registration benchmark. Each package
# brings up its own lab instance (real kube-apiserver/etcd, sshd VMs);
# cmd/meshx/e2e/bench's has 50 VMs and takes a few minutes. Extra
# arguments go to `go test` (e.g. -benchtime 10x). Speed targets live here, never in test assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "== go test -bench (3 iterations each; labs come up per package)"
set +e
go test -count=1 -timeout 60m -run '^$' -bench . -benchtime 3x "$@" \
	./cmd/meshx/e2e/bench/ ./providers/kube/ 2>&1 | tee "$out" |
	grep --line-buffered -E '^(Benchmark|ok|FAIL|---|panic|pkg:)'
status=${PIPESTATUS[0]}
set -e
echo
echo "== results"
awk '/^Benchmark/ {
	line = sprintf("%-34s %4s runs", $1, $2)
	for (i = 3; i + 1 <= NF; i += 2) {
		v = $i; u = $(i+1)
		if (u == "ns/op") { line = line sprintf("  %10.3f s/op", v / 1e9) } else { line = line sprintf("  %10.1f %s", v, u) }
	}
	print line
}' "$out"
if [ "$status" -ne 0 ]; then
	echo "benchmarks failed (exit $status); full output:" >&2
	cat "$out" >&2
fi
exit "$status"
