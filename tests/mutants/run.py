"""`make mutants`: plant each realistic bug of the catalogue, one at a time, and check a test fails.

Each mutant in ``catalogue.toml`` names a file, an exact snippet that must occur there once, its
replacement, and the tests that cover the rule. The runner copies the working tree once per
worker and, for each mutant, applies the change in a copy, runs tests against an embedded Postgres
started here, and restores the file. A mutant is killed when pytest reports a failing test (exit
code 1); any other outcome (no tests collected, a crash, a timeout) is an error of the catalogue,
reported as such. Exits non-zero unless every mutant is killed.

What keeps it fast without judging less (Petrović and Ivanković, "Practical Mutation Testing at
Scale"): ``killers.json`` records, per mutant, the test that killed it last time and what that
cost. That test runs first, alone; if it no longer fails, the mutant's covering tests run in
full (``-x``: the first failure decides) and the new killer is recorded. A kill counts only when
its test passes unmutated in the same environment: the recorded killers are run unmutated first
(the baseline), and a newly found killer is run unmutated right after its kill. Mutants are
handed out costliest first, and every run is a fork of a warm host (``host.py``) that has already
imported the heavy libraries. ``--full`` ignores the record: every covering file is baselined and
every mutant runs its covering tests in full.

``--green-from JUNIT`` (what `make test` passes, right after its suite ran on the same tree): a
recorded killer the suite's report shows passing needs no second unmutated run; the rest are run,
and so is the cheapest killer of each test file, which proves that each file's tests run in the
mutation environment (its copy of the tree, its forked host, its database) as they did in the suite.

    .venv/bin/python tests/mutants/run.py [--jobs 2] [--only ID_PREFIX ...] [--full] [--list]
        [--green-from .test-timing/junit.xml]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Path(__file__).with_name("catalogue.toml")
KILLERS = Path(__file__).with_name("killers.json")
HOST = Path(__file__).with_name("host.py")
WORK = ROOT / ".mutants"
TIMEOUT_SECONDS = 300
# The baseline runs many tests at once (a share per worker), not one mutant's few.
BASELINE_TIMEOUT_SECONDS = 900
# A mutant with no recorded cost goes out first: it may be the slowest.
UNKNOWN_COST_SECONDS = 60.0


@dataclass
class Mutant:
    id: str
    file: str
    find: str
    replace: str
    tests: list[str]
    why: str
    k: str | None = None
    outcome: str = "not run"
    seconds: float = 0.0
    killer: str | None = None  # the test that killed it last time (killers.json)
    killed_by: str | None = None
    output: str = field(default="", repr=False)


def load(path: Path = CATALOGUE) -> list[Mutant]:
    entries = tomllib.loads(path.read_text())["mutant"]
    mutants = [Mutant(**entry) for entry in entries]
    ids = [m.id for m in mutants]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise SystemExit(f"catalogue: duplicate ids {sorted(duplicates)}")
    problems = []
    for m in mutants:
        source = (ROOT / m.file).read_text()
        found = source.count(m.find)
        if found != 1:
            problems.append(f"{m.id}: the snippet occurs {found} times in {m.file} (the code moved; update the mutant)")
        if m.find == m.replace:
            problems.append(f"{m.id}: the replacement is the original")
    if problems:
        raise SystemExit("catalogue out of date:\n  " + "\n  ".join(problems))
    return mutants


def load_killers(path: Path = KILLERS) -> dict[str, dict]:
    return json.loads(path.read_text()) if path.exists() else {}


def copy_tree(dest: Path) -> None:
    """The files git would commit (tracked, and untracked but not ignored), as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    if dest.exists():
        shutil.rmtree(dest)
    for raw in filter(None, listed):
        rel = raw.decode()
        source = ROOT / rel
        if source.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    # The browser tests build the web client from the copy's sources with the installed packages.
    if (ROOT / "web" / "node_modules").is_dir():
        (dest / "web" / "node_modules").symlink_to(ROOT / "web" / "node_modules")


def start_postgres(worker: int) -> str:
    """A server per worker: some tests stop and restart theirs (outages, reconnects)."""
    sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
    from tickerwatch.embedded import embedded_database_url

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return embedded_database_url(WORK / f"pg-home-{worker}", "postgres")


class Worker:
    """One copy of the tree, one Postgres and one warm pytest host."""

    def __init__(self, number: int, admin_url: str):
        self.number = number
        self.copy = WORK / f"worker-{number}"
        self.admin_url = admin_url
        self.log = WORK / f"worker-{number}.log"
        self.result = WORK / f"worker-{number}.json"
        self.failed: str | None = None  # the first failing test of the last run
        self.host = subprocess.Popen(
            [sys.executable, str(HOST)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def pytest(self, tests: list[str], k: str | None = None, timeout: float = TIMEOUT_SECONDS) -> tuple[int, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(self.copy / "layers" / "shared" / "python"),
            "TICKERWATCH_TEST_ADMIN_URL": self.admin_url,
            "TICKERWATCH_TEST_PGDATA": str((WORK / f"pg-home-{self.number}" / "pg").resolve()),
            "TICKERWATCH_TEST_DB": "tickerwatch_mutants",
        }
        # Bytecode is cached in the copy (assertion-rewritten test modules too): judge() gives every
        # version of a mutated file its own mtime, so no run can load another version's bytecode.
        for name in ("DATABASE_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        env["TICKERWATCH_MUTATION_RUN"] = "1"  # hypothesis need not shrink what only has to fail
        args = ["-x", "-q", "-p", "no:cacheprovider", "--timeout", "120", *tests]
        if k:
            args += ["-k", k]
        request = {
            "cwd": str(self.copy),
            "args": args,
            "env": env,
            "log": str(self.log),
            "result": str(self.result),
            "timeout": timeout,
        }
        self.result.unlink(missing_ok=True)
        assert self.host.stdin and self.host.stdout
        self.host.stdin.write(json.dumps(request) + "\n")
        self.host.stdin.flush()
        reply = self.host.stdout.readline()
        if not reply:
            raise SystemExit(f"the pytest host of worker {self.number} died")
        code = json.loads(reply)["code"]
        output = self.log.read_text(errors="replace")
        self.failed = json.loads(self.result.read_text())["failed"] if self.result.exists() else None
        if code == -1:
            return -1, f"timed out after {timeout:.0f} s\n{output[-4000:]}"
        return code, output[-4000:]

    def close(self) -> None:
        if self.host.stdin:
            self.host.stdin.close()
        self.host.wait(timeout=30)


def plant(path: Path, text: str, mtime: int) -> None:
    """Write the file with an mtime of our choosing: Python and pytest reuse cached bytecode whose
    source has the same mtime (in whole seconds) and size, so each version of a file gets its own."""
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def judge(worker: Worker, mutant: Mutant, full: bool, known_green: set[str], number: int) -> None:
    path = worker.copy / mutant.file
    original = path.read_text()
    original_mtime = int(path.stat().st_mtime)
    # Seconds before the original's: unique to this mutant, never the original's own.
    plant(path, original.replace(mutant.find, mutant.replace, 1), original_mtime - 1 - number)
    started = time.monotonic()
    code, output = None, ""
    try:
        if mutant.killer and not full:
            code, output = worker.pytest([mutant.killer])
            if code == 1:
                mutant.killed_by = mutant.killer
        if mutant.killed_by is None:
            code, output = worker.pytest(mutant.tests, mutant.k)
            if code == 1:
                mutant.killed_by = worker.failed
    finally:
        plant(path, original, original_mtime)
    mutant.output = output
    if code == 1 and mutant.killed_by is None:
        mutant.outcome = "error (pytest failed, but no test did)"
    elif code == 1:
        mutant.outcome = "killed"
        if mutant.killed_by not in known_green:
            # A kill by a test that was not in the baseline counts once that test passes unmutated.
            unmutated, unmutated_output = worker.pytest([mutant.killed_by])
            if unmutated == 0:
                known_green.add(mutant.killed_by)
            else:
                mutant.outcome = f"error ({mutant.killed_by} fails unmutated too)"
                mutant.output = unmutated_output
    else:
        mutant.outcome = {0: "survived"}.get(code, f"error (pytest exit {code})")
    mutant.seconds = time.monotonic() - started


def shares_by_cost(targets: list[str], costs: dict[str, float], count: int) -> list[list[str]]:
    """The targets dealt to ``count`` workers, the dearest first to the least loaded (a browser test
    costs twenty cheap ones: dealt in turn, one worker ran it and its share of the rest alone)."""
    shares: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for test in sorted(targets, key=lambda t: (-costs.get(t, UNKNOWN_COST_SECONDS), t)):
        least = loads.index(min(loads))
        shares[least].append(test)
        loads[least] += costs.get(test, UNKNOWN_COST_SECONDS)
    return [sorted(share) for share in shares]


def baseline(workers: list[Worker], targets: list[str], costs: dict[str, float] | None = None) -> None:
    """Every test that will decide a kill must pass unmutated here, or a "kill" means nothing."""
    shares = shares_by_cost(targets, costs or {}, len(workers))
    results: list[tuple[int, str]] = [(0, "")] * len(workers)

    def run(index: int) -> None:
        if shares[index]:
            results[index] = workers[index].pytest(shares[index], timeout=BASELINE_TIMEOUT_SECONDS)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for code, output in results:
        if code != 0:
            print(output)
            raise SystemExit(f"baseline failed (pytest exit {code}): fix the suite before judging mutants")


def baseline_targets(killers: dict[str, dict], recorded: set[str], green: set[str]) -> list[str]:
    """The recorded killers to run unmutated: those the suite's report does not show passing, and
    the cheapest of each test file."""
    cheapest: dict[str, tuple[float, str]] = {}
    for entry in killers.values():
        test = entry["test"]
        if test in recorded:
            path = test.split("::", 1)[0]
            cheapest[path] = min(cheapest.get(path, (float("inf"), test)), (entry["seconds"], test))
    return sorted((recorded - green) | {test for _, test in cheapest.values()})


def record(mutants: list[Mutant], killers: dict[str, dict]) -> bool:
    """Keep each killed mutant's killer and cost; True when the file changed."""
    updated = dict(killers)
    for m in mutants:
        if m.outcome == "killed":
            old = killers.get(m.id, {})
            seconds = round(m.seconds, 1)
            # Costs only steer the order: rewrite them when they moved a lot, not every run.
            if old.get("test") == m.killed_by and 0.5 <= seconds / max(old.get("seconds", 0.1), 0.1) <= 2:
                seconds = old["seconds"]
            updated[m.id] = {"test": m.killed_by, "seconds": seconds}
    catalogue_ids = {m.id for m in load()}
    updated = {i: v for i, v in sorted(updated.items()) if i in catalogue_ids}
    if updated == killers:
        return False
    KILLERS.write_text(json.dumps(updated, indent=1) + "\n")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="run the mutants whose id starts with one of these")
    parser.add_argument("--full", action="store_true", help="ignore killers.json: run every covering test in full")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    parser.add_argument(
        "--green-from", type=Path, help="a JUnit report of the suite just run on this tree: its passes need no baseline"
    )
    args = parser.parse_args()

    mutants = load()
    if args.only:
        mutants = [m for m in mutants if any(m.id.startswith(prefix) for prefix in args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.id:<44} {m.why}")
        return 0
    if not mutants:
        raise SystemExit("no mutants selected")
    killers = load_killers()
    for m in mutants:
        m.killer = killers.get(m.id, {}).get("test")

    started = time.monotonic()
    WORK.mkdir(exist_ok=True)
    shared = WORK / "shared"  # the copies find ../shared as the checkout does
    if not shared.exists():
        shared.symlink_to(ROOT.parent / "shared")
    jobs = max(1, min(args.jobs, len(mutants)))
    admin_urls = [start_postgres(worker) for worker in range(jobs)]
    workers = []
    for number in range(jobs):
        copy_tree(WORK / f"worker-{number}")
        workers.append(Worker(number, admin_urls[number]))

    if args.full:
        targets = sorted({t for m in mutants for t in m.tests})
    else:
        # Mutants with no recorded killer run their covering tests; those kills are checked one by one.
        targets = sorted({m.killer for m in mutants if m.killer})
    known_green = set(targets)
    shown_green = ""
    if args.green_from and not args.full:
        sys.path.insert(0, str(ROOT / "tests"))
        from timing import passed_tests

        targets = baseline_targets(killers, known_green, passed_tests(args.green_from))
        shown_green = f" (the other {len(known_green) - len(targets)} passed in {args.green_from})"
    costs: dict[str, float] = {}
    for entry in killers.values():
        costs[entry["test"]] = max(costs.get(entry["test"], 0.0), entry["seconds"])
    baseline(workers, targets, costs)
    what = "test files" if args.full else "recorded killers"
    elapsed = time.monotonic() - started
    print(f"baseline green: {len(targets)} {what} in {elapsed:.0f} s{shown_green}", flush=True)

    lock = threading.Lock()
    done = [0]

    def progress(m: Mutant) -> None:
        with lock:
            done[0] += 1
            by = f" by {m.killed_by}" if m.outcome == "killed" and m.killed_by != m.killer else ""
            print(f"[{done[0]:>3}/{len(mutants)}] {m.outcome:<10} {m.id}  ({m.seconds:.1f} s){by}", flush=True)

    def cost(m: Mutant) -> float:
        return killers.get(m.id, {}).get("seconds", UNKNOWN_COST_SECONDS)

    numbers = {m.id: n for n, m in enumerate(mutants)}
    work: queue.Queue = queue.Queue()
    for m in sorted(mutants, key=cost, reverse=True):
        work.put(m)

    def loop(worker: Worker) -> None:
        while True:
            try:
                mutant: Mutant = work.get_nowait()
            except queue.Empty:
                return
            judge(worker, mutant, args.full, known_green, numbers[mutant.id])
            progress(mutant)

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.close()

    killed = [m for m in mutants if m.outcome == "killed"]
    failing = [m for m in mutants if m.outcome != "killed"]
    elapsed = time.monotonic() - started
    print(f"\n{len(killed)}/{len(mutants)} mutants killed ({100 * len(killed) / len(mutants):.0f}%) in {elapsed:.0f} s")
    for m in failing:
        print(f"\n{m.outcome.upper()}: {m.id} ({m.file})\n  why it matters: {m.why}\n  tests: {' '.join(m.tests)}")
        if m.outcome.startswith("error"):
            print("  " + m.output[-1500:].replace("\n", "\n  "))
    if record(mutants, killers):
        print(f"\n{KILLERS.relative_to(ROOT)} updated (new killers or costs): commit it with the change")
    report = {
        "killed": len(killed),
        "total": len(mutants),
        "seconds": round(elapsed),
        "mutants": [
            {"id": m.id, "outcome": m.outcome, "seconds": round(m.seconds, 1), "killed_by": m.killed_by}
            for m in mutants
        ],
    }
    (WORK / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
