"""bench/predict.py at this tree and at another commit, alternating in one run, side by side.

    python bench/predict_against.py d28b821 [--rounds 2]

The other commit is checked out into a temporary git worktree and its own bench/predict.py runs
there (its package first on the path, its functions), against the same embedded Postgres; rounds
alternate between the two trees, so a slow spell of the machine hits both alike. Prints each
round's medians and the ratio of the medians (this tree / the other).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    "uncached, with the 4 plots",
    "uncached, plots: false",
    "cached, with the 4 plots",
    "  in process: the forecast",
)


def run_bench(tree: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "layers" / "shared" / "python"),
        "TICKERWATCH_FUNCTIONS_DIR": str(tree / "functions"),
        "TICKERWATCH_DATA_DIR": str(ROOT / ".tickerwatch"),  # one Postgres server for both trees
        "TICKERWATCH_MARKET_DATA": f"csv:{ROOT.parent / 'shared' / 'data'}",
        "TICKERWATCH_BENCH_RECORD": "0",  # a comparison, not the standard measurement
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, str(tree / "bench" / "predict.py")], cwd=tree, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench/predict.py failed in {tree}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    medians = {}
    for case in CASES:
        found = re.search(r"(?m)^" + re.escape(case) + r"\s+n=\d+\s+median\s+([\d.]+) ms", done.stdout)
        if found:
            medians[case.strip()] = float(found.group(1))
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ref", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), args.ref], cwd=ROOT, check=True)
        try:
            rounds: dict[str, list[dict[str, float]]] = {"this tree": [], args.ref: []}
            for i in range(args.rounds):
                for name, tree in ((args.ref, other), ("this tree", ROOT)):
                    rounds[name].append(run_bench(tree))
                    print(
                        f"round {i + 1}, {name}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in rounds[name][-1].items())
                    )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    print(f"\nmedian of the rounds' medians (ms): this tree against {args.ref}")
    for case in (c.strip() for c in CASES):
        ours = [r[case] for r in rounds["this tree"] if case in r]
        theirs = [r[case] for r in rounds[args.ref] if case in r]
        if ours and theirs:
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"  {case:<30} {a:8.1f} vs {b:8.1f}   ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
