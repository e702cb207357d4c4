"""What `make test` cost, stage by stage, and which tests belong to the fast lane.

`make test` drops a timestamp file into a folder as each stage ends and pytest's JUnit report
beside them; this prints the stages' times and the five slowest tests, then refreshes
``tests/slow-tests.txt``, the tests that `make test-fast` leaves out (tests/conftest.py reads it).
A test joins the list at ``SLOW_SECONDS`` and leaves it under half that, so a test near the line
does not flip in and out from run to run.

    python tests/timing.py TIMING_DIR
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOW_TESTS = Path(__file__).with_name("slow-tests.txt")
SLOW_SECONDS = 0.5
HEADER = (
    "# Tests that take SLOW_SECONDS or more (tests/timing.py): `make test-fast` leaves them out.\n"
    "# `make test` rewrites this list from its own measurements; commit it with the change.\n"
)


def test_times(junit: Path, root: Path = ROOT) -> dict[str, float]:
    """Seconds per pytest node id (setup, call and teardown together)."""
    times: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        # classname is the module's dotted path, then any class: map it back to a node id.
        parts = case.get("classname", "").split(".")
        cut = next((c for c in range(len(parts), 0, -1) if (root / Path(*parts[:c])).with_suffix(".py").exists()), 0)
        node = "/".join(parts[:cut]) + ".py::" + "::".join([*parts[cut:], case.get("name", "")])
        times[node] = times.get(node, 0.0) + float(case.get("time", 0))
    return times


def read_slow_list(path: Path = SLOW_TESTS) -> set[str]:
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def refresh_slow_list(times: dict[str, float], path: Path = SLOW_TESTS) -> bool:
    listed = read_slow_list(path)
    slow = {
        node
        for node, seconds in times.items()
        if seconds >= SLOW_SECONDS or (node in listed and seconds >= SLOW_SECONDS / 2)
    }
    if slow == listed:
        return False
    path.write_text(HEADER + "".join(f"{node}\n" for node in sorted(slow)))
    return True


def stages(folder: Path) -> list[tuple[str, float]]:
    """(stage, seconds) from the timestamp files 0-start, 1-set-up, 2-lint-and-templates, ..."""
    marks = sorted((p for p in folder.iterdir() if p.name[:1].isdigit()), key=lambda p: int(p.name.split("-")[0]))
    times = [float(p.read_text()) for p in marks]
    return [(marks[i].name.split("-", 1)[1].replace("-", " "), times[i] - times[i - 1]) for i in range(1, len(marks))]


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:4.1f} s" if seconds >= 60 else f"{seconds:.1f} s"


def main(folder: Path) -> int:
    spent = stages(folder)
    print("\n== make test: where the time went ==")
    for name, seconds in spent:
        print(f"  {name:<22} {minutes(seconds):>14}")
    print(f"  {'total':<22} {minutes(sum(s for _, s in spent)):>14}")
    junit = folder / "junit.xml"
    if junit.exists():
        times = test_times(junit)
        print(f"  the five slowest of {len(times)} tests:")
        for node, seconds in sorted(times.items(), key=lambda item: -item[1])[:5]:
            print(f"    {seconds:6.1f} s  {node}")
        if refresh_slow_list(times):
            print(f"  {SLOW_TESTS.relative_to(ROOT)} updated (the fast lane's exclusions): commit it")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
