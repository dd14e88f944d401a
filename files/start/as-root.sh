#!/bin/bash
# Runs as root at every start of every user's server, before the user's own
# session; output goes to /home/admin/logs/<user>-as-root.log. Edit it on the
# admin share (TAs can): the next server start runs the new version.
# $NB_USER is the user; a failing or slow script never stops the server starting.
echo "as-root: preparing the container of $NB_USER at $(date -Is)"
