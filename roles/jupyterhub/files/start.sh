#!/bin/bash
# Start a single-user server the docker-stacks way: as root, create NB_USER
# with NB_UID/NB_GID, own the home, run the before-notebook.d hooks, then run
# the command as that user. Without GRANT_SUDO=yes the user's processes can
# never become root again: no new privileges (setuid binaries such as sudo do
# nothing) and an empty capability bounding set.
set -euo pipefail

NB_USER=${NB_USER:-jovyan}
NB_UID=${NB_UID:-1000}
NB_GID=${NB_GID:-100}
export HOME=/home/$NB_USER
# How this script (and the start hook) runs anything as the user.
AS_USER=(setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups)
if [ "${GRANT_SUDO:-no}" != yes ]; then
  AS_USER+=(--no-new-privs --bounding-set=-all --inh-caps=-all)
fi

run_hooks() {
  local hook
  for hook in /usr/local/bin/before-notebook.d/*; do
    [ -e "$hook" ] || continue
    case "$hook" in
      *.sh) echo "start.sh: sourcing $hook"; source "$hook" ;;
      *) [ -x "$hook" ] && { echo "start.sh: running $hook"; "$hook"; } ;;
    esac
  done
}

# The server's own firewall, in its network namespace, before anything of the
# user's runs (docs/security.md): only the proxy and the hub
# (SCHOOLHUB_SERVER_PEERS: their fixed addresses on the users' network) open
# connections to this server, on its port; loopback (Docker's DNS) and replies
# to the server's own connections pass; classmates' containers get a refusal.
# A table of its own: Docker's rules for its DNS (ip nat) stay as they are.
# nft needs CAP_NET_ADMIN, which nobody keeps: the script starts again
# without it in its bounding set (root too: a TA's sudo cannot undo the rules).
if [ "$(id -u)" = 0 ] && [ -n "${SCHOOLHUB_SERVER_PEERS:-}" ]; then
  port=${JUPYTERHUB_SERVICE_URL:-http://0.0.0.0:8888/}
  port=${port#*://*:}
  port=${port%%/*}
  nft -f - <<EOF
table inet schoolhub
delete table inet schoolhub
table inet schoolhub {
  chain input {
    type filter hook input priority filter; policy drop;
    iif lo accept
    ct state established,related accept
    ip saddr { $SCHOOLHUB_SERVER_PEERS } tcp dport $port accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    meta l4proto tcp reject with tcp reset
    reject with icmpx admin-prohibited
  }
}
EOF
  unset SCHOOLHUB_SERVER_PEERS
  exec setpriv --bounding-set=-net_admin --inh-caps=-net_admin -- "$0" "$@"
fi

if [ "$(id -u)" != 0 ]; then
  run_hooks
  exec "$@"
fi

getent group "$NB_GID" >/dev/null || groupadd --gid "$NB_GID" "$NB_USER"
if ! id "$NB_USER" >/dev/null 2>&1; then
  useradd --badname --no-create-home --home-dir "$HOME" --uid "$NB_UID" \
    --gid "$NB_GID" --shell /bin/bash "$NB_USER" 2>/dev/null \
  || useradd --no-create-home --home-dir "$HOME" --uid "$NB_UID" \
    --gid "$NB_GID" --shell /bin/bash "$NB_USER"
fi
mkdir -p "$HOME"
if [ "$(stat -c %u "$HOME")" != "$NB_UID" ] && { [ "${CHOWN_HOME:-no}" = yes ] || [ "$(stat -c %u "$HOME")" = 0 ]; }; then
  chown "$NB_UID:$NB_GID" "$HOME"
fi
# A new home gets the usual dot files, written by the user (root may be
# squashed on an NFS home); the mount point of team folders does not count.
if [ -z "$(ls -A "$HOME" | grep -vx teams)" ]; then
  "${AS_USER[@]}" cp -rT /etc/skel "$HOME"
fi
# Team folders are mounted at ~/teams/<team>; the empty mount points of
# teams the user has left since (Docker made them in the home) go.
if [ -d "$HOME/teams" ]; then
  for folder in "$HOME"/teams/*/; do
    mountpoint -q "$folder" || rmdir "$folder" 2>/dev/null || true
  done
  rmdir "$HOME/teams" 2>/dev/null || true
fi
# The course-wide shared folder (SCHOOLHUB_SHARED, the data share) where
# JupyterLab's file browser shows it: ~/shared, unless the user has one.
if [ -n "${SCHOOLHUB_SHARED:-}" ] && [ -d "$SCHOOLHUB_SHARED" ] \
   && [ ! -e "$HOME/shared" ] && [ ! -L "$HOME/shared" ]; then
  "${AS_USER[@]}" ln -s "$SCHOOLHUB_SHARED" "$HOME/shared"
fi
if [ "${GRANT_SUDO:-no}" = yes ]; then
  echo "$NB_USER ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/notebook
  chmod 0440 /etc/sudoers.d/notebook
else
  rm -f /etc/sudoers.d/notebook
fi

run_hooks
cd "$HOME"
exec "${AS_USER[@]}" env HOME="$HOME" USER="$NB_USER" PATH="$PATH" "$@"
