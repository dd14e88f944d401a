import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("summary", ROOT / "tools/summary.py")
summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(summary)

REPORT = '<testsuites><testsuite tests="5" failures="1" errors="1" skipped="1"/></testsuites>'


def test_counts_are_added_up(tmp_path, capsys):
    (tmp_path / "a.xml").write_text(REPORT)
    (tmp_path / "b.xml").write_text('<testsuite tests="3" failures="0" errors="0" skipped="0"/>')
    assert summary.main(str(tmp_path)) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "tests: 5 passed, 2 failed, 1 skipped"


def test_no_test_at_all_is_a_failure(tmp_path, capsys):
    assert summary.main(str(tmp_path)) == 1
    assert "no test ran" in capsys.readouterr().out


def test_all_passed_is_success(tmp_path):
    (tmp_path / "a.xml").write_text('<testsuite tests="2" failures="0" errors="0" skipped="0"/>')
    assert summary.main(str(tmp_path)) == 0
