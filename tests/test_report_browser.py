"""The report in a real headless browser: Debian's chromium through Playwright.

Opens the report of a real run with planted failures from disk, and checks that
it shows the failures with no console errors, no page errors, no dialogs and no
request leaving the report folder; exercises the filters and a failure page;
saves screenshots next to the report. Skips only when /usr/bin/chromium is
absent (CI installs it in .ci/run).
"""
import json
from pathlib import Path

import pytest

from tests.test_report_plugin import XSS, failing_run

# slow: the module shares one expensive run (kept on one xdist worker: conftest.py)
pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} "
                    "(apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    out, proc = failing_run(tmp_path_factory)
    assert (out / "index.html").is_file(), proc.stdout[-4000:]
    events = {"console": [], "errors": [], "requests": [], "dialogs": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: events["console"].append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: events["errors"].append(str(e)))
        page.on("request", lambda r: events["requests"].append(r.url))
        page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
        yield out, page, events
        browser.close()


def assert_quiet(out, events):
    assert not events["errors"] and not events["dialogs"], events
    assert not [m for m in events["console"] if m.startswith(("error", "warning"))], events
    root = out.resolve().as_uri() + "/"
    assert events["requests"] and all(u.startswith((root, "data:")) for u in events["requests"]), \
        events["requests"]


def visible(page, selector):
    return page.locator(f"{selector}:visible")


def test_index_shows_the_failures_and_filters_them(browser_page):
    out, page, events = browser_page
    tests = json.loads((out / "results.json").read_text())["tests"]
    failing = [r for t in tests if not t["planted"] and t["outcome"] == "failed"
               for r in t["results"] if not r["passed"]]
    page.goto((out / "index.html").resolve().as_uri())
    assert visible(page, "tr.failure").count() == len(failing) > 0
    assert visible(page, "td.cell.fail").count() == len({(r["layer"], r["prop"]) for r in failing})
    assert visible(page, "tr.layer-row th").filter(has_text=XSS).count() == 1

    page.select_option("#filters select[name=layer]", "Dense")
    assert [t.strip() for t in visible(page, "tr.layer-row th").all_inner_texts()] == ["Dense"]
    assert visible(page, "tr.failure").count() == 0
    page.select_option("#filters select[name=layer]", "")
    page.select_option("#filters select[name=outcome]", "fail")
    rows = visible(page, "tr.layer-row th").all_inner_texts()
    assert sorted(rows) == sorted({r["layer"] for r in failing})
    assert page.locator("td.cell.pass.dim").count() == page.locator("td.cell.pass").count() > 0
    assert "outcome=fail" in page.url
    page.reload()
    assert page.locator("#filters select[name=outcome]").input_value() == "fail"
    assert visible(page, "tr.layer-row").count() == len(rows)
    save_screenshot(page, out, "index.png")
    assert_quiet(out, events)


def save_screenshot(page, out, name):
    """Save a full-page screenshot under out/screenshots and check it is a real picture."""
    path = out / "screenshots" / name
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_a_failure_page_draws_its_heatmaps_and_reads_out_elements(browser_page):
    out, page, events = browser_page
    page.goto((out / "index.html").resolve().as_uri())
    page.locator("tr.failure", has_text="inner.Rank4Sigmoid").get_by_role("link").click()
    assert "inner.Rank4Sigmoid" in page.locator("h1").inner_text()
    heatmaps = page.locator("img.heatmap")
    assert heatmaps.count() > 1
    for i in range(heatmaps.count()):
        natural = heatmaps.nth(i).evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        cols = int(heatmaps.nth(i).evaluate("img => img.closest('figure').dataset.cols"))
        rows = int(heatmaps.nth(i).evaluate("img => img.closest('figure').dataset.rows"))
        assert natural == [True, cols, rows]
    first = heatmaps.first
    box = first.bounding_box()
    rows, cols = (int(first.evaluate(f"img => img.closest('figure').dataset.{k}")) for k in ("rows", "cols"))
    first.hover(position={"x": box["width"] * (cols - 0.5) / cols, "y": box["height"] * (rows - 0.5) / rows})
    readout = page.locator("figure.heat .readout").first.inner_text()
    assert readout.startswith(f"dx[0, 0, {rows - 1}, {cols - 1}]") and "layer" in readout and "diff" in readout
    page.locator("button.copy").click()
    page.wait_for_function("document.querySelector('button.copy').textContent !== 'copy'")
    save_screenshot(page, out, "failure-page.png")
    assert_quiet(out, events)


def test_the_markup_named_layer_runs_no_script(browser_page):
    out, page, events = browser_page
    page.goto((out / "index.html").resolve().as_uri())
    page.locator("tr.failure", has_text=XSS).get_by_role("link").click()
    assert XSS in page.locator("h1").inner_text()
    assert page.locator("script").count() == 1
    assert page.locator("td", has_text="NaN").count() > 0 and page.locator("td", has_text="+Inf").count() > 0
    assert_quiet(out, events)


def test_a_diagnosed_failure_page_shows_the_diagnosis_by_the_verdict(browser_page):
    from tests.test_report_diagnosis import diagnosed_report

    out, page, events = browser_page
    folder = out / "diagnosed"
    folder.mkdir(exist_ok=True)
    r = diagnosed_report(folder)["max pool overlap assigned"]
    (path,) = [p for p in (folder / "failures").glob("*.html") if r["layer"] in p.read_text()]
    page.goto(path.resolve().as_uri())
    box = page.locator("#verdict #diagnosis")
    assert box.is_visible()
    assert page.locator(".diagnosis-kind").inner_text() == r["diagnosis"]["kind"]
    assert r["diagnosis"]["summary"] in box.inner_text()
    verdict, diagnosis = page.locator("#verdict h2").bounding_box(), box.bounding_box()
    assert 0 < diagnosis["y"] - verdict["y"] < 300                # right under the verdict
    assert visible(page, "#inputs .array-view").count() == 2      # x and dout
    heat = page.locator("img.heatmap").first
    rows, cols = (int(heat.evaluate(f"img => img.closest('figure').dataset.{k}")) for k in ("rows", "cols"))
    box = heat.bounding_box()
    heat.hover(position={"x": box["width"] * (cols - 0.5) / cols, "y": box["height"] * (rows - 0.5) / rows})
    readout = page.locator("figure.heat .readout").first.inner_text()
    assert readout.startswith(f"dx[0, 0, {rows - 1}, {cols - 1}]"), readout   # the size-1 batch axis kept
    save_screenshot(page, out, "diagnosed-failure-page.png")
    assert_quiet(out, events)
