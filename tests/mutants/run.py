"""`make mutants`: plant each realistic bug of the catalogue, one at a time, and check a test fails.

Each mutant in ``catalogue.toml`` names a file, an exact snippet that must occur there once, its
replacement, and the tests that cover the rule. The runner copies the working tree once per
worker, checks the covering tests pass unmutated (a red baseline would make every mutant look
killed), then for each mutant applies the change in a copy, runs its tests against one embedded
Postgres started here, and restores the file. A mutant is killed when pytest reports a failing
test (exit code 1); any other outcome (no tests collected, a crash, a timeout) is an error of the
catalogue, reported as such. Exits non-zero unless every mutant is killed.

    .venv/bin/python tests/mutants/run.py [--jobs 2] [--only ID_PREFIX ...] [--list]
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
WORK = ROOT / ".mutants"
TIMEOUT_SECONDS = 300
# The baseline runs every covering file (a share per worker), not one mutant's few tests.
BASELINE_TIMEOUT_SECONDS = 900


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


def run_tests(
    copy: Path, tests: list[str], k: str | None, admin_url: str, worker: int, timeout: float = TIMEOUT_SECONDS
) -> tuple[int, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(copy / "layers" / "shared" / "python"),
        "TICKERWATCH_TEST_ADMIN_URL": admin_url,
        "TICKERWATCH_TEST_PGDATA": str((WORK / f"pg-home-{worker}" / "pg").resolve()),
        "TICKERWATCH_TEST_DB": "tickerwatch_mutants",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--timeout", "120", *tests]
    if k:
        command += ["-k", k]
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return -1, f"timed out after {timeout:.0f} s\n{exc.stdout or ''}"
    return done.returncode, done.stdout[-4000:] + done.stderr[-2000:]


def worker_loop(worker: int, work: queue.Queue, admin_urls: list[str], progress) -> None:
    admin_url = admin_urls[worker]
    copy = WORK / f"worker-{worker}"
    while True:
        try:
            mutant: Mutant = work.get_nowait()
        except queue.Empty:
            return
        path = copy / mutant.file
        original = path.read_text()
        path.write_text(original.replace(mutant.find, mutant.replace, 1))
        started = time.monotonic()
        try:
            code, output = run_tests(copy, mutant.tests, mutant.k, admin_url, worker)
        finally:
            path.write_text(original)
        mutant.seconds = time.monotonic() - started
        mutant.output = output
        mutant.outcome = {0: "survived", 1: "killed"}.get(code, f"error (pytest exit {code})")
        progress(mutant)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="run the mutants whose id starts with one of these")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
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

    started = time.monotonic()
    WORK.mkdir(exist_ok=True)
    shared = WORK / "shared"  # the copies find ../shared as the checkout does
    if not shared.exists():
        shared.symlink_to(ROOT.parent / "shared")
    jobs = max(1, min(args.jobs, len(mutants)))
    admin_urls = [start_postgres(worker) for worker in range(jobs)]
    for worker in range(jobs):
        copy_tree(WORK / f"worker-{worker}")

    # The baseline: every covering test, unmutated, must pass, or a "kill" means nothing. The files
    # are shared out among the workers, which run them side by side.
    targets = sorted({t for m in mutants for t in m.tests})
    shares = [targets[w::jobs] for w in range(jobs)]
    results: list[tuple[int, str]] = [(0, "")] * jobs

    def baseline(worker: int) -> None:
        if shares[worker]:
            copy = WORK / f"worker-{worker}"
            results[worker] = run_tests(
                copy, shares[worker], None, admin_urls[worker], worker, BASELINE_TIMEOUT_SECONDS
            )

    runners = [threading.Thread(target=baseline, args=(w,)) for w in range(jobs)]
    for t in runners:
        t.start()
    for t in runners:
        t.join()
    for code, output in results:
        if code != 0:
            print(output)
            raise SystemExit(f"baseline failed (pytest exit {code}): fix the suite before judging mutants")
    print(f"baseline green: {len(targets)} test files in {time.monotonic() - started:.0f} s", flush=True)

    lock = threading.Lock()
    done = [0]

    def progress(m: Mutant) -> None:
        with lock:
            done[0] += 1
            print(f"[{done[0]:>3}/{len(mutants)}] {m.outcome:<10} {m.id}  ({m.seconds:.1f} s)", flush=True)

    work: queue.Queue = queue.Queue()
    for m in mutants:
        work.put(m)
    threads = [threading.Thread(target=worker_loop, args=(w, work, admin_urls, progress)) for w in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    killed = [m for m in mutants if m.outcome == "killed"]
    failing = [m for m in mutants if m.outcome != "killed"]
    elapsed = time.monotonic() - started
    print(f"\n{len(killed)}/{len(mutants)} mutants killed ({100 * len(killed) / len(mutants):.0f}%) in {elapsed:.0f} s")
    for m in failing:
        print(f"\n{m.outcome.upper()}: {m.id} ({m.file})\n  why it matters: {m.why}\n  tests: {' '.join(m.tests)}")
        if m.outcome.startswith("error"):
            print("  " + m.output[-1500:].replace("\n", "\n  "))
    report = {
        "killed": len(killed),
        "total": len(mutants),
        "seconds": round(elapsed),
        "mutants": [{"id": m.id, "outcome": m.outcome, "seconds": round(m.seconds, 1)} for m in mutants],
    }
    (WORK / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
