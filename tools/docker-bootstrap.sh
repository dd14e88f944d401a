#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine.
# Idempotent: does nothing when `docker info` already works. On Debian/Ubuntu,
# as root, installs docker.io and starts the daemon (systemd when it is PID 1,
# otherwise dockerd in the background, logging to $DOCKERD_LOG).
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

say() { printf 'docker-bootstrap: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ ! -r /etc/os-release ] || ! grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; then
  say "no Docker engine answers and this is not Debian/Ubuntu: install Docker yourself, then re-run."
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  say "no Docker engine answers: run this as root (or install and start Docker, and add yourself to the docker group)."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "installing docker.io from the distribution (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  say "starting docker with systemd..."
  systemctl enable --now docker
elif ! pgrep -x dockerd >/dev/null; then
  say "starting dockerd in the background (log: $DOCKERD_LOG)..."
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
fi

for _ in $(seq "$WAIT_SECONDS"); do
  if docker info >/dev/null 2>&1; then
    say "Docker engine $(docker info --format '{{.ServerVersion}}') is ready."
    exit 0
  fi
  sleep 1
done
say "Docker did not answer within ${WAIT_SECONDS}s; see $DOCKERD_LOG"
exit 1
