"""The storm benchmark's arithmetic and its baseline's `docker run` (make bench runs the rest)."""

import math

import pytest

from schoolhub_lab import bench

# A user's service as SchoolSwarmSpawner makes it (the parts the baseline copies).
SERVICE = {
    "ContainerSpec": {
        "Image": "schoolhub-singleuser:abc@sha256:0123",
        "User": "root",
        "Env": [
            "NB_USER=student001",
            "NB_UID=1000",
            "JUPYTERHUB_API_TOKEN=secret",
            "JPY_API_TOKEN=secret",
            "SCHOOL_ADMIN=no",
        ],
        "Mounts": [
            {"Type": "volume", "Source": "schoolhub-home-student001", "Target": "/home/student001"},
            {"Type": "bind", "Source": "/mnt/schoolhub/data", "Target": "/data", "ReadOnly": True},
            {"Type": "bind", "Source": "/mnt/schoolhub/admin", "Target": "/home/admin"},
            {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 536870912}},
        ],
        "CapabilityDrop": ["ALL"],
        "CapabilityAdd": ["CAP_CHOWN", "CAP_SETUID"],
        "Sysctls": {"net.ipv4.ip_unprivileged_port_start": "1024"},
    },
    "Resources": {"Limits": {"MemoryBytes": 1073741824, "NanoCPUs": 1500000000, "Pids": 200}},
}


def test_the_baseline_runs_the_services_image_mounts_and_limits_without_the_hub():
    args = bench.raw_run_args(SERVICE, 7)
    joined = " ".join(args)
    assert args[:3] == ["run", "--detach", "--name"] and args[3] == "bench-raw-007"
    assert "--memory 1073741824b" in joined and "--cpus 1.5" in joined
    assert "--pids-limit 200" in joined
    assert "--cap-drop=ALL" in args and {"--cap-add=CHOWN", "--cap-add=SETUID"} <= set(args)
    assert "--sysctl=net.ipv4.ip_unprivileged_port_start=1024" in args
    # The hub's token stays out; the user is the container's own.
    assert "secret" not in joined and "NB_USER=bench-raw-007" in args and "NB_UID=1000" in args
    # Its own home volume (labelled, removed after), the same shares.
    assert (
        "type=volume,source=bench-raw-007,target=/home/bench-raw-007,"
        f"volume-label={bench.RAW_LABEL}"
    ) in args
    assert "type=bind,source=/mnt/schoolhub/data,target=/data,readonly" in args
    assert "type=bind,source=/mnt/schoolhub/admin,target=/home/admin" in args
    assert "/tmp:rw,noexec,nosuid,nodev,size=536870912,mode=1777" in args  # as Swarm's
    assert f"{bench.RAW_PORT + 7}:8888" in args
    image = args.index("schoolhub-singleuser:abc")
    assert args[image + 1 : image + 3] == ["jupyter", "lab"]


METRICS = """
# HELP jupyterhub_event_loop_interval_seconds Distribution of measured event loop intervals
jupyterhub_event_loop_interval_seconds_bucket{le="0.05"} %d
jupyterhub_event_loop_interval_seconds_bucket{le="0.1"} %d
jupyterhub_event_loop_interval_seconds_bucket{le="1.0"} %d
jupyterhub_event_loop_interval_seconds_bucket{le="+Inf"} %d
"""


def test_the_loop_lag_is_read_from_what_the_histogram_gained_during_the_storm():
    name = "jupyterhub_event_loop_interval_seconds"
    before = bench.histogram(METRICS % (1000, 1000, 1000, 1000), name)
    # During the storm: 90 short ticks, 8 up to 1 s, 2 longer.
    after = bench.histogram(METRICS % (1090, 1098, 1098, 1100), name)
    assert after[math.inf] == 1100
    assert bench.bucket_quantile(before, after, 0.5) == 0.05
    assert bench.bucket_quantile(before, after, 0.95) == 0.1
    assert bench.bucket_quantile(before, after, 0.99) == math.inf
    assert bench.bucket_quantile(before, before, 0.5) is None


@pytest.mark.parametrize(
    ("usage", "expected"),
    [("12.5MiB / 1GiB", 12.5), ("1.5GiB / 2GiB", 1536.0), ("512KiB / 1GiB", 0.5)],
)
def test_docker_stats_memory_in_mib(usage, expected):
    assert bench.mib(usage) == expected


def test_quantiles_and_ratios_of_a_storm():
    starts = [bench.Start(f"s{n}", ok=True, ready=float(n), requested=0.5) for n in range(1, 21)]
    starts.append(bench.Start("late", reason="TimeoutError: no answer within the patience"))
    result = bench.result_of(starts)
    assert (result["failed"], result["p50"], result["p95"], result["max"]) == (1, 10.0, 19.0, 20.0)
    assert result["reasons"] == {"TimeoutError: no answer within the patience": 1}
    raw = {"p50": 5.0, "p95": 10.0, "max": None}
    assert bench.ratios(result, raw) == {"p50": 2.0, "p95": 1.9, "max": None}


def test_the_bench_class_is_its_own_org_with_its_students_and_one_ta():
    settings = bench.lab_settings(bench.student_names(3))
    data = settings["jupyterhub_fake_github_data"]
    teams = data["orgs"][settings["jupyterhub_github_org"]]["teams"]
    assert teams[settings["jupyterhub_github_user_teams"][0]] == [
        bench.PROBE,
        "student001",
        "student002",
        "student003",
    ]
    assert teams[settings["jupyterhub_github_admin_teams"][0]] == [bench.TA]
    assert {u["login"] for u in data["users"]} - {bench.PROBE} == {
        bench.TA,
        "student001",
        "student002",
        "student003",
    }


def test_the_results_are_written_as_json_markdown_and_a_plot(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    raw = bench.result_of([bench.Start(f"r{n}", ok=True, ready=10.0 + n) for n in range(10)])
    ours = bench.result_of(
        [bench.Start(f"s{n}", ok=True, ready=12.0 + n) for n in range(9)]
        + [bench.Start("s9", reason="sign-in: HubError: sign-in page 429: Too many users")]
    )
    ours["vs_raw"] = bench.ratios(ours, raw)
    results = {"users": 10, "when": "2026-11-24T10:00:00Z", "storms": {"raw": raw, "cold": ours}}
    directory = bench.write_results(results)
    assert directory == tmp_path / "2026-11-24T100000Z"
    summary = (directory / "summary.md").read_text()
    assert "| cold | 1 | 16.00 | 20.00 | 20.00 | 1.05 |" in summary
    assert "- cold: 1 × sign-in: HubError: sign-in page 429: Too many users" in summary
    assert (directory / "storm.png").read_bytes()[:4] == b"\x89PNG"
    assert '"failed": 1' in (directory / "results.json").read_text()


def test_each_step_of_a_start_is_timed_from_the_hosts_clocks():
    assert bench.epoch("2026-11-25T01:50:03.250000000Z") == 1795571403.25
    points = [
        {"storm": 0.0, "created": 2.0, "started": 10.0, "ready": 30.0},
        {"storm": 0.0, "created": 4.0, "ready": 40.0},  # no container seen: not in its spans
    ]
    spans = bench.spans(points, ["storm", "created", "started", "ready"])
    assert spans["storm → created"] == {"n": 2, "p50": 2.0, "p95": 4.0}  # nearest rank
    assert spans["created → started"] == {"n": 1, "p50": 8.0, "p95": 8.0}
    assert spans["started → ready"]["p50"] == 20.0
