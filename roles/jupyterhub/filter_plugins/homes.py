"""A user's home volume, as playbooks move and back it up."""

import re


def home(volume: dict, names: str, user_label: str, home_label: str) -> dict:
    """A volume as Docker lists it, as {volume, path, escaped, user, labels,
    moved_label}: `names` is the regular expression of home volume names, its
    group the escaped user name; the user's own name is the volume's
    `user_label` when it has one; `labels` are what a copy of the volume gets;
    `moved_label` marks the node a home moved to (`home_label` + escaped name)."""
    escaped = re.match(names, volume["Name"]).group(1)
    user = (volume.get("Labels") or {}).get(user_label) or escaped
    return {
        "volume": volume["Name"],
        "path": volume["Mountpoint"],
        "escaped": escaped,
        "user": user,
        "labels": {user_label: user},
        "moved_label": home_label + escaped,
    }


class FilterModule:
    def filters(self):
        return {"schoolhub_home": home}
