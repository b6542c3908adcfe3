"""The failure page of a diagnosed failure: the diagnosis by the verdict, what the layer was
given (x, dout), a shape mismatch side by side, heatmaps without size-1 axes, and the
minimal example without Hypothesis' decorator advice.

The results are real: planted bugs from ``tests/test_diagnosis.py`` checked against
their TF twins, written through the report's own ``ResultLog`` and ``write_report``.
"""
import json

import numpy as np

from reports.collect import ResultLog, load_arrays
from reports.failure_page import array_view
from reports.model import RecordedTest, hypothesis_example
from reports.render import write_report
from tests.test_diagnosis import CASES
from tests.test_report_render import Dom

DIAGNOSED = {"ReLU'(0) = 1": "dx", "conv channel 0 skipped": "dx", "db with keepdims": "db",
             "max pool overlap assigned": "dx"}


def diagnosed_report(out):
    """Write a report of four diagnosed planted failures to ``out``; return {case: page path}."""
    runs = {name: run for name, _, _, run in CASES}
    tests, pages = [], {}
    for i, (case, tensor) in enumerate(DIAGNOSED.items()):
        log = ResultLog(arrays_dir=out / "arrays")
        log.add([runs[case]()[tensor]])
        payload = json.loads(log.to_json())
        tests.append(RecordedTest(nodeid=f"test_diag.py::test_{i}", outcome="failed",
                                  message="diagnosed", results=payload["results"], order=i))
    write_report(out, tests)
    for t, case in zip(tests, DIAGNOSED):
        r = t.results[0]
        pages[case] = r
    return pages


def page_of(out, result):
    pages = sorted((out / "failures").glob("*.html"))
    found = [p for p in pages if result["layer"] in p.read_text()]
    assert len(found) == 1, [p.name for p in pages]
    return Dom(found[0].read_text()).root


def test_a_diagnosed_page_shows_the_diagnosis_next_to_the_verdict(tmp_path):
    results = diagnosed_report(tmp_path)
    for case, r in results.items():
        doc = page_of(tmp_path, r)
        box = doc.one("section", id="verdict")
        assert box.one("span", cls="verdict").text == r["verdict"]
        assert box.one("span", cls="diagnosis-kind").text == r["diagnosis"]["kind"]
        assert box.one("p", cls="diagnosis-summary").text == r["diagnosis"]["summary"]
        assert box.one("p", cls="diagnosis-evidence").text == r["diagnosis"]["evidence"]


def test_the_page_shows_x_and_dout_in_full_when_small(tmp_path):
    results = diagnosed_report(tmp_path)
    r = results["ReLU'(0) = 1"]
    arrays = load_arrays(tmp_path, r["arrays_file"])
    views = page_of(tmp_path, r).one("section", id="inputs").all("div", cls="array-view")
    assert [v.one("h4").text.split(":")[0] for v in views] == ["input x", "upstream gradient dout"]
    for view, key in zip(views, ["x", "dout"]):
        assert json.loads(view.attrs["data-shape"]) == list(arrays[key].shape)
        rows = [[float(td.text) for td in tr.all("td")] for tr in view.all("tr")]
        np.testing.assert_allclose(rows, arrays[key], rtol=1e-5)


def test_an_input_is_shown_as_its_first_slices_when_large():
    x = np.random.default_rng(0).standard_normal((2, 3, 20, 20))
    view = array_view("input x", "x", x)
    assert "showing 4 of 6 slice(s)" in view.note
    assert [caption for caption, _ in view.tables] == \
        [f"x[{n}, {c}, :, :] (first 12 x 12)" for n, c in np.ndindex(2, 3)][:4]
    for (_, rows), (n, c) in zip(view.tables, np.ndindex(2, 3)):
        np.testing.assert_allclose(np.array(rows, float), x[n, c, :12, :12], rtol=1e-5)


def test_a_shape_mismatch_shows_both_arrays_side_by_side(tmp_path):
    results = diagnosed_report(tmp_path)
    r = results["db with keepdims"]
    arrays = load_arrays(tmp_path, r["arrays_file"])
    doc = page_of(tmp_path, r)
    assert "0 of 0" not in doc.one("section", id="verdict").text
    views = doc.one("section", id="arrays").all("div", cls="array-view")
    assert [json.loads(v.attrs["data-shape"]) for v in views] == \
        [list(arrays["layer"].shape), list(arrays["tf"].shape)]
    for view, key in zip(views, ["layer", "tf"]):
        shown = [float(td.text) for td in view.iter() if td.tag == "td"]
        np.testing.assert_allclose(shown, arrays[key].ravel(), rtol=1e-5)


def test_heatmaps_drop_size_one_axes(tmp_path):
    """A (1, C, H, W) difference is drawn as C slices labelled dx[0, c, :, :]: the size-1
    axis is not a slice of its own, and the label keeps the full index."""
    results = diagnosed_report(tmp_path)
    r = results["max pool overlap assigned"]
    a = load_arrays(tmp_path, r["arrays_file"])["layer"]
    figures = page_of(tmp_path, r).all("figure", cls="heat")
    kept = [d for d in a.shape if d != 1]
    assert a.ndim > len(kept) and len(figures) == int(np.prod(kept[:-2]))
    for f in figures:
        template = json.loads(f.attrs["data-template"])
        assert len(template) == a.ndim and template.count(None) == 2
        assert all(a.shape[i] != 1 for i, t in enumerate(template) if t is None)
        label = "dx[" + ", ".join(":" if t is None else str(t) for t in template) + "]"
        assert f.one("figcaption").text == label


def test_the_minimal_example_leaves_out_the_decorator_advice():
    text = ("E   Falsifying example: run(\nE       drawn=Case(layer='X'),\nE   )\n"
            "E   You can reproduce this example by temporarily adding "
            "@reproduce_failure('6.170.0', b'AXic') as a decorator on your test case\n")
    kept = hypothesis_example(text)
    assert "Falsifying example" in kept and "drawn=Case(layer='X')" in kept
    assert "reproduce_failure" not in kept and "decorator" not in kept
