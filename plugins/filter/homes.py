"""A user's home volume, as playbooks move and back it up."""

import re


def home(volume: dict, names: str, user_label: str, home_label: str) -> dict:
    """A volume as Docker lists it, as {volume, driver, path, escaped, user,
    labels, moved_label}: `names` is the regular expression of home volume names, its
    group the escaped user name; the user's own name is the volume's
    `user_label` when it has one; `labels` are what a copy of the volume gets;
    `moved_label` marks the node a home moved to (`home_label` + escaped name)."""
    escaped = re.match(names, volume["Name"]).group(1)
    user = (volume.get("Labels") or {}).get(user_label) or escaped
    return {
        "volume": volume["Name"],
        "driver": volume["Driver"],
        "path": volume["Mountpoint"],
        "escaped": escaped,
        "user": user,
        "labels": {user_label: user},
        "moved_label": home_label + escaped,
    }


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.0f}M"


def usage(results: list[dict], warn: int) -> list[str]:
    """Lines for the homes that docker_volume_info `results` found (their
    loop item: a home), fullest first: user, used, size (the filesystem's, as
    `df` shows it), per cent, and a flag from `warn` per cent on."""
    rows = []
    for result in results:
        status = result["volume"].get("Status") or {}
        if "size" not in status:
            rows.append((-1, f"{result['item']['user']}: not mounted"))
            continue
        percent = round(100 * status["used"] / status["size"])
        line = f"{result['item']['user']}: {mebibytes(status['used'])} of "
        line += f"{mebibytes(status['size'])} ({percent}%)"
        rows.append((percent, line + (" NEAR THE LIMIT" if percent >= warn else "")))
    return [line for _, line in sorted(rows, key=lambda row: -row[0])]


class FilterModule:
    def filters(self):
        return {"home": home, "usage": usage}
