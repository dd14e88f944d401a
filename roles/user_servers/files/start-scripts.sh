# Sourced as root by the image's start.sh (the docker-stacks before-notebook.d
# convention) at every start of a user's server. Mounted read-only by the hub.
#
# Runs /home/admin/start/as-root.sh as root and as-user.sh as the user, each
# within SCHOOL_SCRIPT_TIMEOUT seconds, logging to
# /home/admin/logs/<user>-as-root.log and -as-user.log (owner admin, mode 0640:
# TAs may read them, students may not). The logs are written by the admin uid,
# never by root (root is squashed on the NFS share). as-root.sh runs in a clean
# environment: working directory /, HOME=/root, a fixed PATH, nothing of the
# user's on any search path. Scripts saved with Windows line endings run as if
# they had Unix ones (the log says so). A missing, failing or hanging script is
# logged, and the server starts all the same; so does it when the admin share
# is missing or does not answer (its NFS server is down): the server's log says so.

_school_start_scripts() {
  local dir=/home/admin/start logs=/home/admin/logs limit=${SCHOOL_SCRIPT_TIMEOUT:-60}
  local admin_uid=${SCHOOL_ADMIN_UID:-1500} admin_gid=${SCHOOL_ADMIN_GID:-1500}
  local as script log status group copy
  local as_admin=(setpriv --reuid="$admin_uid" --regid="$admin_gid" --clear-groups)
  # How start.sh runs things as the user (a docker-stacks image's start.sh has no AS_USER).
  local as_user=(setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups)
  [ "${GRANT_SUDO:-no}" = yes ] || as_user+=(--no-new-privs --bounding-set=-all --inh-caps=-all)
  [ -n "${AS_USER+set}" ] && as_user=("${AS_USER[@]}")
  local root_env=(env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    LANG=C.UTF-8 PYTHONNOUSERSITE=1 NB_USER="$NB_USER" NB_UID="$NB_UID" NB_GID="$NB_GID"
    SCHOOL_ADMIN="${SCHOOL_ADMIN:-no}")

  # TAs join the admin group: they may edit the scripts and the data share, and read logs.
  if [ "${SCHOOL_ADMIN:-no}" = yes ]; then
    getent group "$admin_gid" >/dev/null || groupadd --gid "$admin_gid" school-admins
    group=$(getent group "$admin_gid" | cut -d: -f1)
    usermod --append --groups "$group" "$NB_USER"
  fi

  # The admin share may be missing (not mounted) or hang (its NFS server is
  # down: a hard mount waits): the server starts without the scripts, and
  # waits for the share at most $limit seconds.
  if ! timeout --kill-after=5 "$limit" "${as_admin[@]}" sh -c 'touch "$1/.probe" && rm "$1/.probe"' \
    sh "$logs" 2>/dev/null; then
    echo "start-scripts: the admin share ($logs) is missing, not writable by uid $admin_uid," \
      "or did not answer within ${limit}s: start scripts skipped" >&2
    return 0
  fi

  for as in root user; do
    script=$dir/as-$as.sh
    log=$logs/$NB_USER-as-$as.log
    {
      echo "# $script at $(date -Is), limit ${limit}s"
      if [ ! -f "$script" ]; then
        echo "# no $script: nothing to run"
      else
        # A private copy: the TAs' edits during the run do not mix in, and
        # Windows line endings go.
        copy=$(mktemp /tmp/school-as-$as.XXXXXX)
        if grep -q $'\r' "$script"; then
          echo "# $script has Windows line endings (CRLF): run with Unix ones (LF)"
        fi
        sed 's/\r$//' "$script" >"$copy"
        chmod 0644 "$copy"
        if [ "$as" = root ]; then
          (cd / && timeout --kill-after=5 "$limit" "${root_env[@]}" bash --noprofile --norc "$copy")
        else
          timeout --kill-after=5 "$limit" "${as_user[@]}" env HOME="/home/$NB_USER" USER="$NB_USER" \
            PATH="$PATH" bash -c 'cd "$HOME" && exec bash "$0"' "$copy"
        fi
        status=$?
        rm -f "$copy"
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
          echo "# stopped: still running after the ${limit}s limit"
        else
          echo "# exit status $status"
        fi
      fi
    } 2>&1 </dev/null | "${as_admin[@]}" sh -c 'umask 027 && cat >"$1"' sh "$log"
  done
}

# Never let a script stop the server from starting (start.sh runs with set -e).
_school_start_scripts || echo "start-scripts: failed, the server starts anyway" >&2
unset -f _school_start_scripts
