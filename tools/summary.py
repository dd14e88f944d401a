"""Add up the JUnit reports of one `make test` and print the closing line.

    python tools/summary.py build/reports   ->   "tests: 42 passed, 0 failed, 1 skipped"

Exits 1 when anything failed or when no test ran at all.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(report: Path) -> tuple[int, int, int]:
    root = ET.parse(report).getroot()  # noqa: S314 (our own reports)
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def main(directory: str) -> int:
    passed = failed = skipped = 0
    for report in sorted(Path(directory).glob("*.xml")):
        p, f, s = count(report)
        print(f"  {report.stem}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    if passed + failed == 0:
        print("no test ran: treat as a failure")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/reports"))
