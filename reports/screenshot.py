"""Screenshot a report page with Debian's headless Chromium (for the README, or to share).

    python -m reports.screenshot PAGE.html OUT.png [--width 1280] [--height H]

Without ``--height`` the whole page is captured; with it, the top H pixels.

Uses the system browser (``/usr/bin/chromium``, ``apt-get install chromium``)
through Playwright; never downloads one.
"""
import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def screenshot(page_path, out_path, width=1280, height=None):
    """Open ``page_path`` from disk and save a PNG of it (or of its top ``height`` px)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no browser at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height or 900})
        page.goto(Path(page_path).resolve().as_uri())
        page.screenshot(path=str(out_path), full_page=height is None)
        browser.close()
    return Path(out_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page")
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=None)
    args = parser.parse_args(argv)
    print(screenshot(args.page, args.out, args.width, args.height))


if __name__ == "__main__":
    main()
