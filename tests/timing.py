"""What `make test` cost, stage by stage, and which tests are slow.

`make test` drops a timestamp file into a folder as each stage ends and pytest's JUnit report
beside them; this prints the stages' times and the five slowest tests, then refreshes
``tests/slow-tests.txt``: each test that took ``SLOW_SECONDS`` or more, with its time rounded down
to a power of two. tests/conftest.py reads it twice: `make test-fast` leaves those tests out, and
every run starts with the files that hold the longest tests, so that under pytest-xdist no long
test starts last. A time is rewritten only when it moved by more than a factor of two, and a test
leaves the list under half of ``SLOW_SECONDS``, so the file changes little from run to run.

    python tests/timing.py TIMING_DIR
"""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOW_TESTS = Path(__file__).with_name("slow-tests.txt")
SLOW_SECONDS = 0.5
HEADER = (
    "# Tests that take SLOW_SECONDS or more: seconds (rounded down to a power of two), node id.\n"
    "# `make test-fast` leaves them out; every run starts with the files that hold the longest.\n"
    "# `make test` rewrites this list from its own measurements (tests/timing.py): commit it.\n"
)


def _node_id(case: ET.Element, root: Path) -> str:
    # classname is the module's dotted path, then any class: map it back to a node id.
    parts = case.get("classname", "").split(".")
    cut = next((c for c in range(len(parts), 0, -1) if (root / Path(*parts[:c])).with_suffix(".py").exists()), 0)
    return "/".join(parts[:cut]) + ".py::" + "::".join([*parts[cut:], case.get("name", "")])


def test_times(junit: Path, root: Path = ROOT) -> dict[str, float]:
    """Seconds per pytest node id (setup, call and teardown together)."""
    times: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        node = _node_id(case, root)
        times[node] = times.get(node, 0.0) + float(case.get("time", 0))
    return times


def passed_tests(junit: Path, root: Path = ROOT) -> set[str]:
    """The node ids the report shows passing: no failure, error or skip in any phase."""
    cases: dict[str, bool] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        node = _node_id(case, root)
        bad = any(child.tag in ("failure", "error", "skipped") for child in case)
        cases[node] = cases.get(node, True) and not bad
    return {node for node, passed in cases.items() if passed}


def read_slow_list(path: Path = SLOW_TESTS) -> dict[str, float]:
    """Node id -> seconds (a power of two) of each listed test."""
    if not path.exists():
        return {}
    listed = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            seconds, node = line.split(" ", 1)
            listed[node] = float(seconds)
    return listed


def power_of_two_below(seconds: float) -> float:
    return 2.0 ** math.floor(math.log2(seconds))


def refresh_slow_list(times: dict[str, float], path: Path = SLOW_TESTS) -> bool:
    listed = read_slow_list(path)
    slow = {}
    for node, seconds in times.items():
        old = listed.get(node)
        if seconds >= SLOW_SECONDS:
            new = power_of_two_below(seconds)
            slow[node] = old if old is not None and new / 2 <= old <= new * 2 else new
        elif old is not None and seconds >= SLOW_SECONDS / 2:
            slow[node] = old
    if slow == listed:
        return False
    lines = [f"{slow[node]:g} {node}\n" for node in sorted(slow)]
    path.write_text(HEADER + "".join(lines))
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
            print(f"  {SLOW_TESTS.relative_to(ROOT)} updated (the slow tests and their times): commit it")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
