"""Every place on the container's own filesystem (its writable layer, on the
host's disk) this user may write: files and directories under / that are on
the same filesystem as /, walked without entering other filesystems (the
home, memory filesystems, the shares)."""

import os

root = os.stat("/").st_dev
seen = 0
for directory, subdirectories, files in os.walk("/"):
    kept = []
    for name in subdirectories + files:
        path = os.path.join(directory, name)
        try:
            other = os.lstat(path).st_dev != root
        except OSError:
            continue
        seen += 1
        if other or os.path.islink(path):
            continue
        if os.access(path, os.W_OK):
            print(f"writable {path}")
        if name in subdirectories:
            kept.append(name)
    subdirectories[:] = kept
print(f"writable: {seen} paths looked at")
