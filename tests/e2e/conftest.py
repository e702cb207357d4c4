"""The web client in a real headless Chromium, against `tickerwatch serve` on the embedded Postgres.

The tests judge the client's sources as they are: they use web/dist when it was built after every
source changed (as `make test` does just before), and otherwise build into a temporary folder. The
server replays a copy of ../shared/data that tests may edit to move the market. On failure each test
leaves a screenshot, the page's HTML and the browser console under .e2e-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from e2e_settings import ROOT, e2e_server

sys.path.insert(0, str(ROOT / "tests" / "integration"))

SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
ARTIFACTS = ROOT / ".e2e-artifacts"
CHROMIUM = os.environ.get("TICKERWATCH_CHROMIUM", "/usr/bin/chromium")
VIEWPORTS = {"phone": {"width": 375, "height": 740}, "desktop": {"width": 1280, "height": 860}}
E2E_DB = "tickerwatch_e2e"


def built_from_current_sources(dist: Path) -> bool:
    """web/dist (what `make` builds) is newer than every source of the client: `make test` builds it
    just before the tests, from the same sources, so the tests need not build it again."""
    index = dist / "index.html"
    if not index.exists():
        return False
    web = ROOT / "web"
    sources = [p for folder in ("src", "public") for p in (web / folder).rglob("*") if p.is_file()]
    sources += [web / name for name in ("index.html", "vite.config.js", "package.json", "package-lock.json")]
    return all(p.stat().st_mtime <= index.stat().st_mtime for p in sources if p.exists())


@pytest.fixture(scope="session")
def web_build(tmp_path_factory) -> Path:
    web = ROOT / "web"
    if built_from_current_sources(web / "dist"):
        return web / "dist"
    out = tmp_path_factory.mktemp("web") / "dist"
    if not (web / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=web, check=True, capture_output=True)
    built = subprocess.run(
        ["npm", "run", "build", "--", "--outDir", str(out), "--emptyOutDir"],
        cwd=web,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory) -> Path:
    """A copy of the shared histories that the replayed market reads; tests edit it to move prices."""
    folder = tmp_path_factory.mktemp("market")
    for name in ("TSLA.csv", "GOOG.csv"):
        shutil.copy(SHARED_DATA / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def e2e_database(database_url) -> str:
    """A database of its own: the integration tests empty theirs between tests."""
    test_db = re.search(r"/([^/?]+)\?", database_url).group(1)
    admin = database_url.replace(f"/{test_db}?", "/postgres?")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{E2E_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{E2E_DB}"')
    return database_url.replace(f"/{test_db}?", f"/{E2E_DB}?")


# Module scope: Playwright's sync API runs an event loop in this thread while it is open, and the
# integration tests after this module call Lambda handlers that run their own (Mangum).
@pytest.fixture(scope="module")
def site(web_build, market_dir, e2e_database):
    # The webhook test delivers to a receiver on this machine.
    server = e2e_server(web_build, e2e_database, f"replay:{market_dir}", TICKERWATCH_WEBHOOK_ALLOW_PRIVATE="true")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, site):
    context = browser.new_context(viewport=VIEWPORTS[request.param], base_url=site.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "screenshot.png"), full_page=True)
        (folder / "page.html").write_text(page.content())
        (folder / "console.log").write_text("\n".join(console))
    context.close()
    errors = [line for line in console if line.startswith("pageerror")]
    assert not errors, errors
