from pathlib import Path

import pytest

from schoolhub_lab import images

DEB822 = """\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def write_apt(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "sources.list.d").mkdir(exist_ok=True)
    (tmp_path / "sources.list.d" / name).write_text(text)
    return tmp_path


def test_deb822_sources_are_parsed():
    entries = images.parse_apt_sources(DEB822, deb822=True)
    assert entries[0] == ("http://mirror.example/debian", ["bookworm", "bookworm-updates"])
    assert entries[1][1] == ["bookworm-security"]


def test_one_line_sources_are_parsed_with_options():
    text = "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian trixie main\n# deb x y z\n"
    assert images.parse_apt_sources(text, deb822=False) == [("http://m.example/debian", ["trixie"])]


def test_disabled_deb822_stanza_is_ignored():
    text = "Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: trixie\n"
    assert images.parse_apt_sources(text, deb822=True) == []


def test_mirror_is_the_main_debian_archive(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBIAN_MIRROR", raising=False)
    apt = write_apt(tmp_path, "debian.sources", DEB822)
    assert images.debian_mirror(apt) == "http://mirror.example/debian"


def test_mirror_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIAN_MIRROR", "http://other.example/debian")
    assert images.debian_mirror(tmp_path) == "http://other.example/debian"


def test_no_debian_mirror_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBIAN_MIRROR", raising=False)
    apt = write_apt(tmp_path, "ubuntu.sources", DEB822.replace("bookworm", "noble"))
    with pytest.raises(images.BuildError, match="DEBIAN_MIRROR"):
        images.debian_mirror(apt)


def test_hash_depends_on_every_input():
    assert images.short_hash("a", "b") == images.short_hash("a", "b")
    assert images.short_hash("a", "b") != images.short_hash("ab")
    assert len(images.short_hash("x")) == 12


def test_both_debian_releases_are_known():
    assert images.HOST_OSES["debian12"].suite == "bookworm"
    assert images.HOST_OSES["debian13"].suite == "trixie"
    assert "docker-cli" in images.HOST_OSES["debian13"].packages


def test_the_base_is_slim_as_debians_own_slim_images(tmp_path):
    kept = ["usr/share/doc/bash/copyright", "usr/share/perl5/Debconf.pm", "var/lib/apt/lists/"]
    gone = [
        "usr/share/doc/bash/README.gz",
        "usr/share/man/man1/bash.1.gz",
        "usr/share/locale/de/LC_MESSAGES/bash.mo",
        "var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease",
        "var/cache/apt/pkgcache.bin",
        "var/cache/apt/archives/bash_5.2_amd64.deb",
    ]
    (tmp_path / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True)
    (tmp_path / "etc/apt/apt.conf.d").mkdir(parents=True)
    for path in kept + gone:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        if not path.endswith("/"):
            (tmp_path / path).write_text("x")
    images.slim(tmp_path)
    assert [p for p in kept if not (tmp_path / p).exists()] == []
    assert [p for p in gone if (tmp_path / p).exists()] == []
    # ...and dpkg leaves them out of every package installed later.
    rules = (tmp_path / "etc/dpkg/dpkg.cfg.d/slim").read_text()
    assert "path-exclude /usr/share/locale/*" in rules
    # ...and apt keeps none of the packages it downloads later.
    apt = (tmp_path / "etc/apt/apt.conf.d/docker-clean").read_text()
    assert 'Dir::Cache::pkgcache "";' in apt
    assert "rm -f /var/cache/apt/archives/*.deb" in apt
