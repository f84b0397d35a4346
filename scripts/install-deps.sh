#!/usr/bin/env bash
# Installs the Debian packages meshx's lab and tests use. Idempotent; quick
# when everything is already there.
set -euo pipefail
# python3: the probe test's application in a VM is a small HTTP server.
pkgs=(openssh-server openssh-client dnsmasq bind9-host dnsutils iproute2 iptables procps psmisc curl dpkg-dev sudo openssl passwd hostname python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) && [ "$(id -u)" != 0 ]; then
  echo "not root: cannot install ${missing[*]}; the lab tests will skip (run as root to run them)" >&2
  exit 0
fi
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the daemons it installs; the lab runs its own copies.
for svc in ssh dnsmasq; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done
