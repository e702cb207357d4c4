"""The web client's rules that need no browser (times, navigation, pages, form messages, estimates, the
session's refresh), run by Node's test runner in milliseconds; the browser tests check the pages."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_client_modules_keep_their_rules():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make test` needs Node 20 for the web client")
    # A zone far from New York: times must come out in New York's all the same.
    env = {**os.environ, "TZ": "Asia/Tokyo", "LANG": "en_US.UTF-8"}
    run = subprocess.run(
        [node, "--test", str(ROOT / "tests" / "unit" / "web")], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 14" in run.stdout, run.stdout[-2000:]
