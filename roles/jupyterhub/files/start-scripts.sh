# Sourced as root by the image's start.sh (the docker-stacks before-notebook.d
# convention) at every start of a user's server. Mounted read-only by the hub.
#
# Runs /home/admin/start/as-root.sh as root and as-user.sh as the user, each
# within SCHOOL_SCRIPT_TIMEOUT seconds, logging to
# /home/admin/logs/<user>-as-root.log and -as-user.log (owner admin, mode 0640:
# TAs may read them, students may not). A missing, failing or hanging script is
# logged, and the server starts all the same.

_school_start_scripts() {
  local dir=/home/admin/start logs=/home/admin/logs limit=${SCHOOL_SCRIPT_TIMEOUT:-60}
  local admin_gid=${SCHOOL_ADMIN_GID:-1500} owner="${SCHOOL_ADMIN_UID:-1500}:${SCHOOL_ADMIN_GID:-1500}"
  local as script log status group

  # TAs join the admin group: they may edit the scripts and the data share, and read logs.
  if [ "${SCHOOL_ADMIN:-no}" = yes ]; then
    getent group "$admin_gid" >/dev/null || groupadd --gid "$admin_gid" school-admins
    group=$(getent group "$admin_gid" | cut -d: -f1)
    usermod --append --groups "$group" "$NB_USER"
  fi

  if ! { [ -d "$logs" ] && touch "$logs/.probe" 2>/dev/null; }; then
    echo "start-scripts: $logs is missing or not writable: start scripts skipped" >&2
    return 0
  fi
  rm -f "$logs/.probe"

  for as in root user; do
    script=$dir/as-$as.sh
    log=$logs/$NB_USER-as-$as.log
    (umask 027 && : >"$log") && chown "$owner" "$log" && chmod 0640 "$log"
    {
      echo "# $script at $(date -Is), limit ${limit}s"
      if [ ! -f "$script" ]; then
        echo "# no $script: nothing to run"
      else
        if [ "$as" = root ]; then
          timeout --kill-after=5 "$limit" bash "$script"
        else
          timeout --kill-after=5 "$limit" setpriv --reuid="$NB_UID" --regid="$NB_GID" \
            --init-groups env HOME="/home/$NB_USER" USER="$NB_USER" \
            bash -c 'cd "$HOME" && exec bash "$0"' "$script"
        fi
        status=$?
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
          echo "# stopped: still running after the ${limit}s limit"
        else
          echo "# exit status $status"
        fi
      fi
    } >>"$log" 2>&1 </dev/null
  done
}

# Never let a script stop the server from starting (start.sh runs with set -e).
_school_start_scripts || echo "start-scripts: failed, the server starts anyway" >&2
unset -f _school_start_scripts
