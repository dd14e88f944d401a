#!/bin/bash
# Runs as the user at every start of their server, in their home directory;
# output goes to /home/admin/logs/<user>-as-user.log.
# For example, fetch or update the course material:
#   [ -d ~/course ] || git clone https://github.com/<org>/<course>.git ~/course
echo "as-user: hello $USER, home is $HOME"
