#!/usr/bin/env bash
# make bench: meshx measured against Ansible, kubectl and the bare SSH floor
# on a lab instance with 200 VMs, in one run (cmd/meshx/e2e/bench
# says what is compared). It prints one table and writes it, with the
# machine's description, to docs/performance.md. It takes long and uses
# every core: it is not part of `make test`, and asserts nothing.
#
# Only the bench needs Ansible (Debian's ansible-core, with python3-apt for
# its apt module) and kubectl: this script installs the first and builds
# the second once, from the Kubernetes release the lab runs, into the lab
# cache. Extra arguments go to meshxbench (e.g. -vms 10,50 -runs 5).
# BENCH_VMS sets the lab's VM count (default 200); BENCH_KEEP_LAB=1 leaves
# the lab up for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
name=bench
vms=${BENCH_VMS:-200}

missing=()
for p in ansible-core python3-apt; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "== installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

k8s=$(sed -n 's/^const KubernetesVersion = "\(.*\)"$/\1/p' lab/build.go)
kubectl=${MESHX_LAB_CACHE:-$HOME/.cache/meshx-lab}/kubectl-$k8s/kubectl
if [ ! -x "$kubectl" ]; then
	echo "== building kubectl $k8s (once; several minutes)"
	# k8s.io/kubernetes/cmd/kubectl needs a few modules the lab's tools
	# module does not list: resolve them in a copy of its go.mod, leaving
	# the lab's own module (and the stamp of its cached binaries) as is.
	mod=$(mktemp -d)
	trap 'rm -rf "$mod"' EXIT
	cp lab/tools/go.mod lab/tools/go.sum "$mod/"
	(cd lab/tools && go build -modfile="$mod/go.mod" -mod=mod -o "$kubectl" k8s.io/kubernetes/cmd/kubectl)
fi

go build -o bin/meshxbench ./cmd/meshx/e2e/bench
echo "== lab $name with $vms VMs"
start=$(date +%s)
bin/meshx-lab up -name "$name" -clusters control -istio=false -vms "$vms"
echo "lab up in $(($(date +%s) - start)) s"
status=0
bin/meshxbench -lab "$name" -kubectl "$kubectl" "$@" || status=$?
if [ "${BENCH_KEEP_LAB:-}" != 1 ]; then
	bin/meshx-lab down -name "$name"
fi
exit "$status"
