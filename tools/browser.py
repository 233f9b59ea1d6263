"""Drive the dashboard in a real headless Chromium: start ``streamlit run``, open pages, wait for them.

Used by the browser test, the dashboard benchmark and the screenshots of every page::

    python -m tests.test_browser --db PATH --out docs/screenshots

Debian's chromium, never a downloaded browser (no ``playwright install``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BROWSER_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db: Path, *, env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[str]:
    """A ``streamlit run dashboard.py`` on a free port against ``db``; yields its base URL."""
    port = free_port()
    environment = {**os.environ, "MONITOR_DB": str(db), **(env or {})}
    log = open(Path(str(db) + f".streamlit-{port}.log"), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def browser_page(width: int = 1440, height: int = 900):
    """A Playwright page in Debian's headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def settle(page, timeout_s: float = 120.0, quiet_s: float = 1.2) -> None:
    """Wait until the script has stopped running and nothing changed for ``quiet_s`` seconds."""
    page.wait_for_selector("[data-testid='stMain']", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    calm_since = None
    while time.monotonic() < deadline:
        busy = page.evaluate(
            "() => !!document.querySelector('[data-testid=\"stStatusWidget\"] button')"
            " || !!document.querySelector('[data-testid=\"stSpinner\"]')"
            " || !!document.querySelector('[data-testid=\"stSkeleton\"]')")
        now = time.monotonic()
        if busy:
            calm_since = None
        elif calm_since is None:
            calm_since = now
        elif now - calm_since >= quiet_s:
            return
        page.wait_for_timeout(150)
    raise TimeoutError("the page kept running")
