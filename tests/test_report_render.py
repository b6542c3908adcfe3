"""The HTML report of a real run with planted failures, checked structurally.

The run (``tests.test_report_plugin.failing_run``) has a Hypothesis failure on a
rank-4 tensor, a layer named ``<script>alert(1)</script>`` whose gradient holds
NaN and +Inf, a planted bug caught, correct layers passing, a plain assertion
failure and a skip. The pages are parsed into a small DOM and compared with the
run's own results.json and arrays, never with numbers written here.
"""
import base64
import importlib
import json
import math
import os
import shlex
import struct
import zlib
from html.parser import HTMLParser
from importlib import metadata

import numpy as np
import pytest

from properties.replay import replay
from reports import heatmap
from reports.collect import load_arrays
from reports.failure_page import build_failure_page
from reports.model import Check, RecordedTest
from reports.render import template_env, tol_use, write_report
from tests.test_report_plugin import XSS, failing_run, outcome_counts

# slow: the module shares one expensive run (kept on one xdist worker: conftest.py)
pytestmark = pytest.mark.slow

VOID = {"meta", "link", "img", "br", "hr", "input", "source", "col", "area", "base", "wbr"}


class Node:
    def __init__(self, tag, attrs=(), parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def all(self, tag=None, cls=None, **attrs):
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.attrs.get("class", "").split())
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def one(self, tag=None, cls=None, **attrs):
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one <{tag} class={cls} {attrs}>, found {len(found)}"
        return found[0]

    @property
    def text(self):
        return "".join(c if isinstance(c, str) else c.text for c in self.children)


class Dom(HTMLParser):
    def __init__(self, source):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#document")
        self.feed(source)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_endtag(self, tag):
        node = self.node
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def page(path):
    return Dom(path.read_text(encoding="utf-8")).root


def decode_png(uri):
    """Pixels (H, W, 3) of a data: URI PNG, checking signature, chunk CRCs and filters."""
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(tag + body)
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + n
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    assert not rows[:, 0].any()
    return rows[:, 1:].reshape(h, w, 3)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out, proc = failing_run(tmp_path_factory)
    assert (out / "index.html").is_file(), proc.stdout[-4000:] + proc.stderr[-4000:]
    return out, proc, {t["nodeid"]: t for t in json.loads((out / "results.json").read_text())["tests"]}


def failing(tests, nodeid_part):
    (t,) = [t for n, t in tests.items() if nodeid_part in n]
    return [r for r in t["results"] if not r["passed"]]


def page_of(out, layer):
    """The failure page linked from the index for ``layer``'s first failing check."""
    index = page(out / "index.html")
    row = next(r for r in index.all("tr", cls="failure") if r.all("td")[0].text == layer)
    return out / row.one("a").attrs["href"]


def test_counts_agree_with_pytest_and_the_results(run):
    out, proc, tests = run
    counts = {d.attrs["data-count"]: int(d.text) for d in page(out / "index.html").all("dd")}
    from_pytest = outcome_counts(proc.stdout)
    assert {k: counts[k] for k in from_pytest} == from_pytest
    assert counts["tests"] == len(tests) == sum(from_pytest.values())
    main_failures = [r for t in tests.values() if not t["planted"] and t["outcome"] == "failed"
                     for r in t["results"] if not r["passed"]]
    assert counts["checks_failed"] == len(main_failures) > 0
    assert counts["selfchecks"] == len(failing(tests, "test_planted_bug_is_caught"))


def test_matrix_cells_show_outcome_and_margin_and_link_failures(run):
    out, _, tests = run
    index = page(out / "index.html")
    matrix = index.one("table", cls="matrix")
    props = [th.text for th in matrix.one("thead").all("th")][1:]
    rows = {tr.one("th").text: tr for tr in matrix.all("tr", cls="layer-row")}
    planted_layers = {r["layer"] for t in tests.values() if t["planted"] for r in t["results"]}
    main = [r for t in tests.values() if not t["planted"] for r in t["results"]]
    assert set(rows) == {r["layer"] for r in main} and not set(rows) & planted_layers
    for r in main:
        cell = rows[r["layer"]].all("td")[props.index(r["prop"])]
        same = [x for x in main if (x["layer"], x["prop"]) == (r["layer"], r["prop"])]
        worst = max(float(x["ratio"]) for x in same)
        assert cell.one("span", cls="ratio").text == tol_use(worst)
        if all(x["passed"] for x in same):    # a float32-only excess passes, marked apart
            want = ("warn",) if any(x.get("warning") for x in same) else ("pass", "close")
            assert cell.attrs["data-outcome"] in want and not cell.all("a")
        else:
            assert cell.attrs["data-outcome"] == "fail"
            assert (out / cell.one("a").attrs["href"]).is_file()
    selfcheck_layers = [tr.all("td")[0].text for tr in index.all("tr", cls="selfcheck")]
    assert set(selfcheck_layers) == planted_layers
    assert {tr.one("span", cls="outcome").text for tr in index.all("tr", cls="selfcheck")} == {"caught"}


def test_failure_page_of_a_rank4_tensor(run):
    out, _, tests = run
    (res,) = failing(tests, "test_rank4_hypothesis_failure")
    arrays = load_arrays(out, res["arrays_file"])
    doc = page(page_of(out, "inner.Rank4Sigmoid"))
    assert "inner.Rank4Sigmoid" in doc.one("h1").text and res["tensor"] in doc.one("h1").text
    assert doc.one("span", cls="verdict").text == res["verdict"]
    assert res["explanation"] in doc.one("section", id="verdict").text
    assert doc.one("code", id="repro-line").text == res["reproduce"]
    hypothesis_text = doc.one("pre", cls="hypothesis").text
    assert "Case(" in hypothesis_text and "inner.Rank4Sigmoid" in hypothesis_text
    a, b = arrays["layer"].astype(float), arrays["tf"].astype(float)
    figures = doc.all("figure", cls="heat")
    lead = list(np.ndindex(*a.shape[:-2]))
    assert [f.one("figcaption").text for f in figures] == \
        [f"dx[{', '.join(map(str, i))}, :, :]" for i in lead]
    for f, i in zip(figures, lead):
        pixels = decode_png(f.one("img", cls="heatmap").attrs["src"])
        assert pixels.shape[:2] == a.shape[-2:]
        d = a[i] - b[i]
        visible = np.abs(d) > 0.05 * np.abs(a - b).max()
        red, blue = pixels[..., 0].astype(int), pixels[..., 2].astype(int)
        assert (red > blue)[visible & (d > 0)].all() and (red >= blue)[d > 0].all()
        assert (blue > red)[visible & (d < 0)].all() and (blue >= red)[d < 0].all()
    allowed = res["atol"] * res["scale"] + res["rtol"] * np.abs(b)
    blocks = doc.all("div", cls="slice-values")
    assert len(blocks) == len(lead)
    for block, i in zip(blocks, lead):
        tables = {t.one("caption").text: t for t in block.all("table", cls="values")}
        assert set(tables) == {"hand-written", "TensorFlow tape", "finite differences",
                               "difference (layer - oracle)"}
        cells = [tr.all("td") for tr in tables["hand-written"].one("tbody").all("tr")]
        shown = np.array([[float(td.text) for td in row] for row in cells])
        np.testing.assert_allclose(shown, a[i], rtol=1e-5)
        outside = np.array([["outside" in td.attrs["class"] for td in row] for row in cells])
        np.testing.assert_array_equal(outside, np.abs(a[i] - b[i]) > allowed[i])
    worst_rows = doc.one("table", cls="worst").one("tbody").all("tr")
    assert [tr.all("td")[0].text for tr in worst_rows] == \
        [f"dx[{', '.join(map(str, w[0]))}]" for w in res["worst"]]


def test_markup_in_names_is_text_and_nonfinite_values_are_spelled_out(run):
    out, _, tests = run
    raw_index = (out / "index.html").read_text()
    assert XSS not in raw_index and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw_index
    path = page_of(out, XSS)
    raw = path.read_text()
    assert XSS not in raw
    doc = page(path)
    assert [s.attrs.get("src") for s in doc.all("script")] == ["../static/report.js"]
    assert XSS in doc.one("span", cls="layer-name").text
    (res,) = failing(tests, "test_nonfinite_and_markup")
    layer = load_arrays(out, res["arrays_file"])["layer"]
    first, last = doc.all("div", cls="slice-values")[0], doc.all("div", cls="slice-values")[-1]
    hand = lambda block: next(t for t in block.all("table") if t.one("caption").text == "hand-written")
    assert hand(first).one("tbody").all("tr")[0].all("td")[0].text == "NaN"
    assert hand(last).one("tbody").all("tr")[-1].all("td")[-1].text == "+Inf"
    assert np.isnan(layer.flat[0]) and np.isposinf(layer.flat[-1])
    images = [decode_png(img.attrs["src"]) for img in doc.all("img", cls="heatmap")]
    assert tuple(images[0][0, 0]) == heatmap.NAN_RGB and tuple(images[-1][-1, -1]) == heatmap.INF_RGB


def test_a_failure_without_result_objects_is_listed_with_its_message(run):
    out, _, _ = run
    index = page(out / "index.html")
    item = next(li for li in index.all("li", cls="failed-test")
                if "test_a_plain_assertion" in li.one("code").text)
    assert "plain <b>message</b> & no result object" in item.one("pre", cls="message").text
    assert "&lt;b&gt;message&lt;/b&gt;" in (out / "index.html").read_text()


def test_training_curves_are_drawn_from_the_file_and_survive_nan(run):
    out, _, _ = run
    curves = json.loads((out / "training_curves.json").read_text())["models"][0]
    section = page(out / "index.html").one("section", id="training")
    assert section.one("figcaption").text == curves["name"]
    svg = section.one("svg")
    paths = {k: svg.all("path", cls=k) for k in ("ours", "tf", "golden", "band")}
    breaks = sum(1 for v in curves["ours"] if not math.isfinite(float(v)))
    assert len(paths["ours"]) == breaks + 1 and len(paths["tf"]) == len(paths["golden"]) == 1
    assert len(paths["band"]) == 1
    assert f"{curves['final_accuracy']:.4g}" in section.one("p", cls="facts").text


def test_environment_names_versions_and_the_hypothesis_profile(run):
    out, _, _ = run
    rows = {tr.one("th").text: tr.one("td").text
            for tr in page(out / "index.html").one("table", cls="env").all("tr")}
    assert rows["numpy"] == metadata.version("numpy")
    assert rows["Hypothesis"] == metadata.version("hypothesis")
    assert rows["Hypothesis profile"].startswith("inner ")
    assert rows["Hypothesis seed"].startswith("derandomized")
    assert "s writing this folder" in rows["report overhead"]


def test_the_folder_is_self_contained(run):
    out, _, _ = run
    pages = [out / "index.html", *sorted((out / "failures").glob("*.html"))]
    assert len(pages) > 3
    for p in pages:
        for node in page(p).iter():
            for attr in ("src", "href"):
                link = node.attrs.get(attr)
                if link is None or link.startswith(("data:", "#")):
                    continue
                assert ":" not in link.split("#")[0], f"{p.name}: {link}"
                target = (p.parent / link.split("#")[0]).resolve()
                assert target.is_file() and out.resolve() in target.parents, f"{p.name}: {link}"
    static = "".join((out / "static" / n).read_text() for n in ("report.css", "report.js"))
    for needle in ("http:", "https:", "url(", "fetch(", "XMLHttpRequest", "import("):
        assert needle not in static


def test_a_planted_failure_page_replays_with_its_one_line(run):
    out, _, tests = run
    doc = page(page_of_selfcheck(out))
    words = shlex.split(doc.one("code", id="repro-line").text)
    args = words[words.index("replay") + 1:]
    if args[0] == "--import":
        importlib.import_module(args[1])
        args = args[2:]
    results = [r for r in replay(*args) if not r.passed]
    shown = [tr.all("td")[0].text for tr in doc.one("table", cls="worst").one("tbody").all("tr")]
    assert [f"{r.tensor}[{', '.join(map(str, w[0]))}]" for r in results for w in r.worst] == shown


def page_of_selfcheck(out):
    row = page(out / "index.html").all("tr", cls="selfcheck")[0]
    return out / row.one("a").attrs["href"]


def test_rerendering_without_arrays_or_curves_degrades_gracefully(run, tmp_path):
    out, _, tests = run
    records = [RecordedTest(**t) for t in tests.values()]
    index = write_report(tmp_path, records)
    doc = page(index)
    assert not doc.all("section", id="training")
    failure_pages = sorted((tmp_path / "failures").glob("*.html"))
    assert len(failure_pages) == len(doc.all("tr", cls="failure")) + len(doc.all("tr", cls="selfcheck"))
    assert "were not saved" in page(failure_pages[0]).one("section", id="arrays").text


def test_training_curves_from_before_the_run_are_not_shown_as_its_own(run, tmp_path):
    """A ``harness check`` writing into the folder of an earlier ``harness verify``: that
    run's curves file is older than this run, and its chart is not this run's."""
    out, _, tests = run
    records = [RecordedTest(**t) for t in tests.values()]
    curves_file = tmp_path / "training_curves.json"
    curves_file.write_text((out / "training_curves.json").read_text())
    written = curves_file.stat().st_mtime
    os.utime(curves_file, (written - 60, written - 60))      # written a minute before the run
    assert not page(write_report(tmp_path, records, since=written)).all("section", id="training")
    assert page(write_report(tmp_path, records, since=written - 120)).all("section", id="training")
    assert page(write_report(tmp_path, records)).all("section", id="training")


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
def test_heatmap_slices_cover_every_element_of_any_rank(shape):
    rng = np.random.default_rng(len(shape))
    diff = rng.standard_normal(shape)
    slices = heatmap.slices_of("t", diff)
    assert len(slices) == int(np.prod(shape[:-2], dtype=int))
    assert sum(s.values.size for s in slices) == diff.size
    for s in slices:
        pixels = decode_png(heatmap.data_uri(s.values, heatmap.scale_of(diff)))
        assert pixels.shape[:2] == s.values.shape
        assert s.label.startswith("t") and s.label.count(":") == min(len(shape), 2)


def test_a_failure_page_with_a_shape_mismatch_explains_instead_of_drawing(tmp_path):
    check = Check.from_plain({"layer": "L", "prop": "grads_tf", "tensor": "dW", "oracle": "tf",
                              "passed": False, "ratio": "inf", "note": "shape (2, 3) differs"},
                             "t::x")
    view = build_failure_page(check, None, {"layer": np.zeros((2, 3)), "tf": np.zeros((3, 2))})
    html = template_env().get_template("failure.html.j2").render(page=view, root="../",
                                                                 written="now")
    doc = Dom(html).root
    assert "has shape (2, 3) but the tf oracle's has shape (3, 2)" in doc.one("section", id="arrays").text
    assert not doc.all("figure", cls="heat")
    views = doc.one("section", id="arrays").all("div", cls="array-view")
    assert [v.attrs["data-shape"] for v in views] == ["[2, 3]", "[3, 2]"]
