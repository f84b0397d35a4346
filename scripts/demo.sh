#!/usr/bin/env bash
# make demo: the seeds' bookinfo-on-a-VM flow, end to end, on the local lab:
# two real Kubernetes clusters (etcd + kube-apiserver + controller-manager)
# and two VMs (real sshd and dnsmasq in network namespaces). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' N=$'\033[0m'; else B= G= R= N=; fi
say()  { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
fail() { printf '\n%sDemo failed: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
run()  { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }

[ "$(id -u)" = 0 ] || fail "the lab needs root (network namespaces, mounts); run: sudo make demo"

say "Installing what the lab needs (Debian packages), once"
make -s deps

say "Building the lab's Kubernetes and Istio binaries (cached after the first run) and starting the lab"
./bin/meshx-lab build
./bin/meshx-lab up

EX=examples/bookinfo-vm
# The lab writes the values all the examples read; keep the lines of the
# variables this example declares, so that meshx has no undeclared
# variable to warn about.
VARS=.lab/bookinfo-vm.vars
declared=$(sed -n 's/^variable "\([a-z_0-9]*\)".*/\1/p' "$EX"/*.hcl | paste -sd'|')
grep -E "^($declared) = " .lab/examples.vars > "$VARS"
meshx() { run ./bin/meshx -chdir="$EX" "$@" -var-file="$PWD/$VARS"; }
var() { sed -n "s/^$1 = \"\(.*\)\"$/\1/p" "$VARS"; }
VM=$(var vm_address) KEY=$(var ssh_private_key) KNOWN=$(var known_hosts)

say "Starting from a clean slate: removing what an earlier demo applied, if anything"
./bin/meshx -chdir="$EX" destroy -auto-approve -var-file="$PWD/$VARS" | tail -n 1

say "1. Validate the configuration (offline)"
meshx validate

say "2. Plan: what meshx would change on the cluster and on the VM"
meshx plan

say "3. Apply: ILBs and their addresses, Services/Endpoints for details and mysqldb, and the VM's cluster.env, kubedns, certificates, sidecar and units"
meshx apply -auto-approve

say "4. Inside the VM, its own dnsmasq resolves the control plane to the ILB address"
pilot=$(./bin/meshx -chdir="$EX" output -var-file="$PWD/$VARS" -raw pilot_ilb)
cmd=(ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN" -o StrictHostKeyChecking=yes -o BatchMode=yes "root@$VM" host -t A istio-pilot.istio-system)
printf '%s$ %s%s\n' "$B" "${cmd[*]}" "$N"
answer=$("${cmd[@]}")
echo "$answer"
case "$answer" in
  *"has address $pilot"*) ;;
  *) fail "the VM resolved istio-pilot.istio-system to something other than the pilot ILB address $pilot" ;;
esac

say "5. Through dns-ilb, the cluster's own DNS (the lab's CoreDNS) answers a Service name with its ClusterIP"
# The lab's istiod reads the same cluster; its registry has the ClusterIP.
DEBUG=$(sed -n 's/^ *"debugURL": "\(.*\)",*$/\1/p' .lab/lab.json)
[ -n "$DEBUG" ] || fail "lab.json names no istiod (the lab runs one unless up -istio=false)"
vip=$(curl -fsS "$DEBUG/debug/registryz" | grep -o '"hostname":"istio-pilot.istio-system.svc.cluster.local","clusterVIPs":{"Addresses":{"control":\["[0-9.]*"' | grep -o '[0-9.]*"$' | tr -d '"')
[ -n "$vip" ] || fail "istiod's registry has no ClusterIP for istio-pilot.istio-system"
cmd=(ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN" -o StrictHostKeyChecking=yes -o BatchMode=yes "root@$VM" host -t A istio-pilot.istio-system.svc.cluster.local.)
printf '%s$ %s%s\n' "$B" "${cmd[*]}" "$N"
answer=$("${cmd[@]}")
echo "$answer"
case "$answer" in
  *"has address $vip"*) ;;
  *) fail "the VM resolved istio-pilot.istio-system.svc.cluster.local. to something other than its ClusterIP $vip" ;;
esac

say "6. A real control plane reads what meshx registered: istiod lists details.bookinfo with the VM's IP"
printf '%s$ curl -s %s/debug/endpointz%s\n' "$B" "$DEBUG" "$N"
details=$(curl -fsS "$DEBUG/debug/endpointz" | grep -o '"details.bookinfo.svc.cluster.local":{[^]]*]' || true)
echo "$details" | cut -c1-300
case "$details" in
  *"\"$VM\""*) ;;
  *) fail "istiod does not list details.bookinfo with the VM's IP $VM" ;;
esac

say "7. Verify: every check meshx verify makes, from inside the VM and against the cluster, in one table"
meshx verify || fail "meshx verify found a check failing (see the table above)"

say "8. Plan again: nothing left to do"
set +e
meshx plan -detailed-exitcode
code=$?
set -e
[ "$code" = 0 ] || fail "the second plan wanted changes (exit $code)"

printf '\n%sDemo complete.%s meshx created the mesh-expansion load balancers and waited for their\n' "$G" "$N"
printf 'addresses, registered details and mysqldb as Services with the VM'"'"'s IP, set up the VM\n'
printf '(%s) over SSH with verified host keys, and the VM now resolves istio-pilot to\n' "$VM"
printf 'the pilot load balancer (%s) through its own dnsmasq, and cluster Service names through\n' "$pilot"
printf 'dns-ilb to the cluster'"'"'s CoreDNS; a real istiod lists details with the VM'"'"'s IP.\n'
printf 'meshx verify proved all of it from inside the VM, and a second plan found nothing to change.\n\n'
printf 'Try: edit a file on the VM or a Service by hand and run the plan again to see the drift;\nstop dnsmasq on the VM (systemctl stop dnsmasq) and run meshx verify to see what it names.\n'
printf 'Undo it all with: ./bin/meshx -chdir=%s destroy -var-file=%s\n' "$EX" "$PWD/$VARS"
printf 'Stop the lab with: make lab-down\n'
