"""Screenshots of the e-mail digest's HTML part in the three languages (docs/screenshots/digest_<lang>.png).

    python -m monitoring digest --db DB --to you@example.org --dry-run --out DIR
    python tools/digest_screenshots.py DIR [docs/screenshots]

Headless Chromium through Playwright, with the system's browser (never ``playwright install``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def main(folder: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 760, "height": 1000})
        for lang in ("en", "sq", "sr"):
            page.goto((folder / f"digest_{lang}.html").resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(out / f"digest_{lang}.png"), full_page=True)
            print(out / f"digest_{lang}.png")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "docs/screenshots"))
