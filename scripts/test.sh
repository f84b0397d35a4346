#!/usr/bin/env bash
# The test command behind `make test` and .ci/run: unit tests, testscript CLI
# tests, a short fuzz run over the loader, and the integration tests on the
# lab (real kube-apiserver/etcd, real sshd VMs). Integration packages start
# their own isolated lab instances through package lab.
set -euo pipefail
cd "$(dirname "$0")/.."
export MESHX_LAB_REQUIRED=${CI:+1}   # in CI nothing may skip for want of root or the lab
echo "== building lab binaries (cached after the first run)"
./bin/meshx-lab build
echo "== go test"
go test -count=1 -timeout 45m ./...
