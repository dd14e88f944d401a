"""Build the container test hosts' images without any container registry.

A Debian base image is made with debootstrap from the Debian mirror this
machine's apt already uses, then a host image (systemd, Docker engine, python3,
the machine's extra CA certificates) is built on it. Each tag carries a hash of
its inputs, so an unchanged input means the image is reused, never rebuilt.

    python -m schoolhub_lab.images host --os debian13   # prints the host image tag
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

HERE = Path(__file__).parent
DEFAULT_CA_DIR = Path("/usr/local/share/ca-certificates")
DEBIAN_SUITES = {"bullseye", "bookworm", "trixie", "forky", "sid", "stable", "testing"}
# Bump when the way the base image is made changes (its inputs are otherwise only text).
BASE_RECIPE = "debootstrap --variant=minbase, slim v3"
# As Debian's own -slim images (the role's default base, debian:trixie-slim):
# dpkg leaves out documentation, manuals and translations, now and in every
# image built on this one. Every image the roles build carries the base, and
# every test host loads those images: 210 MB -> 80 MB each.
SLIM = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
# Also as Debian's own images: apt keeps neither the packages it downloaded
# nor its caches of the package lists. Without it every image built on this
# base carried its packages twice: 100-126 MB of the hub's, proxy's, TLS front's
# and single-user images (a quarter to two fifths of each, loaded on every host).
_APT_RM = "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb"
APT_CLEAN = f"""DPkg::Post-Invoke {{ "{_APT_RM} /var/cache/apt/*.bin || true"; }};
APT::Update::Post-Invoke {{ "{_APT_RM} /var/cache/apt/*.bin || true"; }};
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
HOST_PACKAGES = (
    "systemd systemd-sysv dbus python3 python3-apt sudo ca-certificates "
    "iproute2 procps iputils-ping"
)


@dataclass(frozen=True)
class HostOS:
    name: str
    suite: str
    packages: str  # beyond HOST_PACKAGES


HOST_OSES = {
    "debian12": HostOS("debian12", "bookworm", "docker.io"),
    # Debian 13 split the Docker CLI out of docker.io.
    "debian13": HostOS("debian13", "trixie", "docker.io docker-cli"),
}


# The base of the images the roles build in the hosts (hub, proxy, single-user,
# TLS front): Debian 13, as the role's default (debian:trixie-slim), whatever
# the host's own release. So every chain can load the images one chain built.
IMAGES_OS = "debian13"
IMAGES_SUITE = HOST_OSES[IMAGES_OS].suite


class BuildError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"images: {message}", file=sys.stderr, flush=True)


def short_hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def parse_apt_sources(text: str, deb822: bool) -> list[tuple[str, list[str]]]:
    """Return (uri, suites) pairs from a sources.list or a deb822 .sources file."""
    entries = []
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                entries += [(uri, fields.get("suites", [])) for uri in fields.get("uris", [])]
    else:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], [words[2]]))
    return entries


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive this machine's apt uses (DEBIAN_MIRROR overrides it)."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file() or path.suffix not in {"", ".list", ".sources"}:
            continue
        for uri, suites in parse_apt_sources(path.read_text(), path.suffix == ".sources"):
            if any(suite in DEBIAN_SUITES for suite in suites):
                return uri.rstrip("/")
    raise BuildError(
        f"no Debian mirror found in {apt_dir}/sources.list(.d): "
        "set DEBIAN_MIRROR to your Debian archive's URL (the one apt would use)"
    )


def run(*args: str, stdin=None, check: bool = True, timeout: float = 1800) -> str:
    """Run a command quietly and return its output; on failure (when `check`),
    raise with the end of what it said. Nothing runs longer than `timeout` seconds."""
    try:
        done = subprocess.run(args, stdin=stdin, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise BuildError(f"{' '.join(args[:3])} ... still running after {timeout:.0f}s") from error
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise BuildError(f"{' '.join(args[:3])} ... failed:\n" + "\n".join(said))
    return done.stdout.strip()


def image_exists(tag: str) -> bool:
    found = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, timeout=60)
    return found.returncode == 0


def build_base(suite: str, mirror: str) -> str:
    tag = f"schoolhub-base:{suite}-{short_hash(BASE_RECIPE, suite, mirror)}"
    if image_exists(tag):
        log(f"reusing {tag}")
        return tag
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: apt-get install debootstrap")
    log(f"building {tag}: debootstrap {suite} from {mirror} (about a minute)...")
    with tempfile.TemporaryDirectory(prefix="schoolhub-rootfs-") as root:
        run("debootstrap", "--variant=minbase", suite, root, mirror)
        slim(Path(root))
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        label = f"LABEL org.schoolhub.recipe={BASE_RECIPE!r}"
        run("docker", "import", "--change", label, "-", tag, stdin=tar.stdout)
        if tar.wait() != 0:
            raise BuildError(f"tar of the {suite} root file system failed")
    return tag


def slim(root: Path) -> None:
    """Leave out what Debian's -slim images leave out (SLIM: for dpkg, and
    removed now), and the package lists and downloaded packages (every build
    runs apt-get update anyway; APT_CLEAN: apt removes them after each run)."""
    (root / "etc/dpkg/dpkg.cfg.d/slim").write_text(SLIM)
    (root / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN)
    rules = [line.split(" ", 1) for line in SLIM.splitlines()]
    excluded = [path for kind, path in rules if kind == "path-exclude"]
    included = [path for kind, path in rules if kind == "path-include"]
    for found in sorted(root.glob("usr/share/**/*"), reverse=True):  # files before their folders
        path = "/" + str(found.relative_to(root))
        if any(fnmatch(path, rule) for rule in excluded) and not any(
            fnmatch(path, rule) for rule in included
        ):
            if found.is_dir() and not found.is_symlink():
                if not any(found.iterdir()):
                    found.rmdir()
            else:
                found.unlink()
    for directory in ("var/lib/apt/lists", "var/cache/apt", "var/cache/apt/archives"):
        for found in (root / directory).glob("*"):
            if found.is_file():
                found.unlink()


def extra_ca_files(ca_dir: Path) -> list[Path]:
    return sorted(ca_dir.glob("*.crt")) if ca_dir.is_dir() else []


def build_host(host_os: HostOS, mirror: str, ca_dir: Path) -> str:
    base = build_base(host_os.suite, mirror)
    dockerfile = (HERE / "host.Dockerfile").read_text()
    packages = f"{HOST_PACKAGES} {host_os.packages}"
    cas = extra_ca_files(ca_dir)
    digest = short_hash(dockerfile, packages, base, *(p.name + p.read_text() for p in cas))
    tag = f"schoolhub-host:{host_os.name}-{digest}"
    if image_exists(tag):
        log(f"reusing {tag}")
        return tag
    log(f"building {tag} (systemd, Docker engine, python3; a few minutes)...")
    with tempfile.TemporaryDirectory(prefix="schoolhub-host-") as context:
        (Path(context) / "ca").mkdir()
        for ca in cas:
            shutil.copy(ca, Path(context) / "ca" / ca.name)
        (Path(context) / "Dockerfile").write_text(dockerfile)
        run(
            "docker",
            "build",
            "--build-arg",
            f"BASE={base}",
            "--build-arg",
            f"PACKAGES={packages}",
            "--tag",
            tag,
            context,
        )
    return tag


def save_archive(tag: str, directory: Path) -> Path:
    """`docker save` an image once into `directory` (the tag carries its hash)."""
    path = directory / (tag.replace(":", "_").replace("/", "_") + ".tar")
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        log(f"saving {tag} to {path}...")
        # A file of its own: two labs or scenarios may save the same image at once.
        handle, partial = tempfile.mkstemp(dir=directory, prefix=path.name, suffix=".partial")
        os.close(handle)
        try:
            run("docker", "save", "--output", partial, tag)
            Path(partial).rename(path)
        finally:
            Path(partial).unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what",
        choices=["host", "base", "archive"],
        help="host: the test-host image; base: the Debian base image; "
        "archive: the base of the images built in the hosts (Debian 13 whatever --os), "
        "saved as a file (for hosts without a registry)",
    )
    parser.add_argument(
        "--os",
        default=os.environ.get("HOST_OS", "debian13"),
        choices=sorted(HOST_OSES),
        help="host operating system (HOST_OS)",
    )
    parser.add_argument(
        "--ca-dir",
        type=Path,
        default=DEFAULT_CA_DIR,
        help="extra CA certificates (*.crt) to trust inside the hosts",
    )
    args = parser.parse_args(argv)
    host_os = HOST_OSES[args.os]

    def build() -> None:
        mirror = debian_mirror()
        if args.what == "base":
            print(build_base(host_os.suite, mirror))
        elif args.what == "archive":
            print(save_archive(build_base(IMAGES_SUITE, mirror), Path("build/images")))
        else:
            print(build_host(host_os, mirror, args.ca_dir))

    return exit_code(build, (BuildError,), log)


def exit_code(action, failures: tuple, say) -> int:
    """A command's exit code: run `action`; one of the `failures` is told in
    one line with `say` (no traceback) and gives 1."""
    try:
        action()
    except failures as error:
        say(f"error: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
