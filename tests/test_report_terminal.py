"""What the terminal prints under the test run, built from results in process: the report's
path, the layer-by-property matrix (each cell's outcome and ratio, 'fd' where finite differences
judged alone) and the warnings listed under it."""


def test_the_report_path_is_shown_relative_only_below_where_the_command_ran(monkeypatch):
    from reports.plugin import _shown
    monkeypatch.setenv("GRADCHECK_CWD", "/work/proj")
    assert _shown("/work/proj/reports/out/index.html") == "reports/out/index.html"
    assert _shown("/elsewhere/index.html") == "/elsewhere/index.html"
    monkeypatch.setenv("GRADCHECK_CWD", "/")
    assert _shown("/work/proj/reports/out/index.html") == "/work/proj/reports/out/index.html"


def test_a_tf_cell_judged_by_finite_differences_alone_says_so():
    """A layer with no TF twin: its grads_tf results compare with finite differences; the
    terminal matrix marks those cells 'fd' and says what that means, and only those."""
    from oracle.result import Result
    from reports.model import Check, build_matrix
    from reports.plugin import matrix_lines

    def check(layer, prop, oracle, ratio):
        return Check("t::x", Result(layer=layer, prop=prop, tensor="dx", oracle=oracle,
                                    passed=True, ratio=ratio))
    lines = matrix_lines(build_matrix([check("mine.NoTwin", "grads_tf", "fd", 0.5),
                                       check("mine.NoTwin", "grads_fd", "fd", 0.25),
                                       check("mine.Dense", "grads_tf", "tf", 0.125),
                                       check("mine.Dense", "grads_fd", "fd", 0.25)]))
    rows = {line.split()[0]: line for line in lines if line.startswith("mine.")}
    assert rows["mine.NoTwin"].split()[1:] == ["ok", "0.5", "fd", "ok", "0.25"]
    assert rows["mine.Dense"].split()[1:] == ["ok", "0.12", "ok", "0.25"]
    assert "fd: no TF twin, judged by finite differences alone" in lines[-1]
    assert "fd:" not in matrix_lines(build_matrix([check("mine.Dense", "grads_tf", "tf", 0.1)]))[-1]
    failed = Check("t::x", Result(layer="mine.Wide", prop="grads_tf", tensor="dx", oracle="fd",
                                  passed=False, ratio=1.9e5))
    wide = matrix_lines(build_matrix([failed, check("mine.Wide", "grads_fd", "fd", 0.25)]))
    row = next(line for line in wide if line.startswith("mine.Wide"))
    assert row.split()[1:] == ["FAIL", "1.9e+05", "fd", "ok", "0.25"], row   # a space between


def test_each_warning_is_said_in_the_terminal_with_its_reason_and_replay_line():
    """A WARN cell counts as passed, but the matrix alone did not say why: each warned check
    is listed under it, once, with its verdict, explanation, note and replay line."""
    from oracle.result import Result
    from reports.model import Check, build_matrix
    from reports.plugin import warning_lines

    def check(layer, prop, tensor, warning, n=0):
        return Check(f"t::{n}", Result(
            layer=layer, prop=prop, tensor=tensor, oracle="tf", passed=True, warning=warning,
            ratio=0.5, verdict="convention" if warning else "", note="sum, not mean",
            explanation="a known convention" if warning else "",
            reproduce="harness replay x" if warning else ""))
    lines = warning_lines(build_matrix([check("mine.Loss", "forward_tf", "out", True),
                                        check("mine.Loss", "forward_tf", "out", True, n=1),
                                        check("mine.Loss", "grads_tf", "dx", False),
                                        check("mine.Relu", "grads_tf", "dx", False)]))
    assert lines[0].startswith("warnings") and lines[-1] == ""
    assert lines[1:-1] == ["WARN mine.Loss [forward_tf] out (convention): a known convention",
                           "  note: sum, not mean", "  reproduce: harness replay x"]
    assert warning_lines(build_matrix([check("mine.Relu", "grads_tf", "dx", False)])) == []
    many = [check(f"mine.L{i}", "forward_tf", "out", True) for i in range(15)]
    assert warning_lines(build_matrix(many), limit=3)[-2] == "... and 12 more warnings in the report"
