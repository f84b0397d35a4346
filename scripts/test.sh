#!/usr/bin/env bash
# The test command behind `make test` and .ci/run: unit tests, testscript CLI
# tests, short fuzz runs, and the integration tests on the lab (real
# kube-apiserver/etcd, real sshd VMs, real dnsmasq). Each integration package
# starts its own isolated lab instance through package lab and removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
# In CI nothing may skip for want of root or the lab.
if [ -n "${CI:-}" ]; then export MESHX_LAB_REQUIRED=1; fi

echo "== building the lab's Kubernetes and Istio binaries (cached after the first run)"
./bin/meshx-lab build

echo "== go test ./..."
go test -count=1 -timeout 40m ./...

echo "== the lab's stand-in envoy against Istio's own readiness probe and drain call"
(cd lab/istiotools && GOWORK=off go test -count=1 ./...)

echo "== fuzzing briefly (run counts, not time: the machine may be loaded)"
go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 2000x ./config
go test -run '^$' -fuzz '^FuzzRead$' -fuzztime 2000x ./planfile
go test -run '^$' -fuzz '^FuzzRenderers$' -fuzztime 2000x ./cmd/meshx/views
go test -run '^$' -fuzz '^FuzzMergeEnv$' -fuzztime 2000x ./providers/vm/envfile
