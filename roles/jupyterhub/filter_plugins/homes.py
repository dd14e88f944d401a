"""A user's home volume, as playbooks move and back it up."""

import re


def home(volume: dict, names: str) -> dict:
    """`docker volume inspect`'s entry as {volume, path, escaped, user}: `names`
    is the regular expression of home volume names, its group the escaped user
    name; the user's own name is the volume's label when it has one."""
    escaped = re.match(names, volume["Name"]).group(1)
    return {
        "volume": volume["Name"],
        "path": volume["Mountpoint"],
        "escaped": escaped,
        "user": (volume.get("Labels") or {}).get("org.schoolhub.user") or escaped,
    }


class FilterModule:
    def filters(self):
        return {"schoolhub_home": home}
