#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the tests and the lab need on this machine
# (only those missing). Idempotent.
set -euo pipefail
packages=(debootstrap busybox-static chromium libnfs-utils "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: please install: ${missing[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}..." >&2
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
