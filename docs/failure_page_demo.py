"""Regenerate docs/failure-page.png: a real failure page from a real pytest run.

    .venv/bin/python docs/failure_page_demo.py

Runs the battery's grads_tf property (properties.search.run_property) under
pytest on a planted ReLU whose derivative at 0 is 1 (TF says 0), drawn on
4 x 5 images with exact zeros, then screenshots the page the report wrote for
that failure (its top 1900 px) with Debian's headless Chromium.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_TEST = '''
from hypothesis import settings, strategies as st
from properties.catalog.core import stateless
from properties.registry import per_sample
from properties.battery import all_properties
from properties.catalog import get
from properties.registry import Entry, register
from tests.planted.core import ReLUGradAtZeroIsOne
from properties.search import run_property

settings.register_profile("demo", max_examples=20, deadline=None, database=None, derandomize=True)
settings.load_profile("demo")
register(Entry("demo.ReLUGradAtZeroIsOne", stateless(ReLUGradAtZeroIsOne),
               st.just({"shape": (2, 4, 5)}), tf_kinds=("ties",)), planted=__name__)


def test_relu_kink(result_log):
    run_property(all_properties()["grads_tf"], get("demo.ReLUGradAtZeroIsOne"), result_log)
'''


def main():
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "test_demo.py").write_text(DEMO_TEST)
        (Path(tmp) / "pytest.ini").write_text("[pytest]\nmarkers =\n    verify: the battery\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--report-dir", "report", "test_demo.py"], cwd=tmp, env=env)
        (page,) = (Path(tmp) / "report" / "failures").glob("demo.ReLU*.html")
        from reports.screenshot import screenshot
        print(screenshot(page, ROOT / "docs" / "failure-page.png", width=1100, height=1900))


if __name__ == "__main__":
    main()
