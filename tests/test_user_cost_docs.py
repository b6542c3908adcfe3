"""Cost functions of the simulation style: physical params in a dict of numbers the function
reads by key (``params["k"]``), the data's shapes in its docstring. The dict was not opened
(no module dict nor initializer made it: "nothing recognised"), and where a cost was found its
arrays were guessed (an observed trajectory of 3 steps, where a slip in the reverse sweep
shows from 4 on). The keys it reads are the params now, and the docstring's shapes are tried
first."""
from tests.owncode_loading import collect_source

SPRING = '''
import numpy as np


def loss_and_grad(params, x0, v0, x_obs, dt=0.05):
    """x0, v0: (N,) initial states; x_obs: (T, N) observed positions."""
    k, c = params["k"], params["c"]
    xs, vs, x, v = [x0], [v0], x0, v0
    for _ in range(x_obs.shape[0]):
        x, v = x + dt * v, v + dt * (-k * x - c * v)
        xs.append(x)
        vs.append(v)
    r = np.array(xs[1:]) - x_obs
    gx, gv, dk, dc = np.zeros_like(x0), np.zeros_like(v0), 0.0, 0.0
    for t in reversed(range(x_obs.shape[0])):
        gx = gx + r[t] / r.size
        dk += np.sum(gv * dt * -xs[t])
        dc += np.sum(gv * dt * -vs[t])
        gx, gv = gx + gv * {dt}(-k), gx * dt + gv * (1.0 - dt * c)
    return 0.5 * np.mean(r ** 2), {"k": dk, "c": dc}
'''


def _item(tmp_path, name, dt):
    (tmp_path / name).mkdir()
    found, collected = collect_source(tmp_path / name, f"{name}.py", SPRING.replace("{dt}", dt))
    assert f"{name}.loss_and_grad" in found, {s.label: s.reason for s in collected.skipped}
    return found[f"{name}.loss_and_grad"]


def test_a_dict_of_numbers_read_by_key_is_the_params_and_the_docstring_shapes_the_data(tmp_path):
    item = _item(tmp_path, "spring", "dt * ")
    assert "params_k (); params_c ()" in item.how and "x_obs (4, 6)" in item.how, item.how
    results = item.check()
    assert results and all(r.passed for r in results), [r.message() for r in results][:1]


def test_a_dt_missing_in_the_reverse_sweep_is_caught(tmp_path):
    failed = [r for r in _item(tmp_path, "spring_bug", "").check() if not r.passed]
    assert failed and {r.tensor for r in failed} <= {"params_k", "params_c"}, failed
