"""Float data a loss takes beside its scores, one number per sample (a PPO loss's advantages
and old log-probabilities beside logits (N, A)), was drawn shaped like the scores: broadcast,
the right gradient came out (N, N, A), a false alarm. Such data is tried shaped like the
input first, then one number per sample."""
from tests.owncode_loading import hunt_alone

PPO = '''
import numpy as np


class ClippedSurrogate:
    def __init__(self, clip_eps=0.2):
        self.clip_eps = clip_eps

    def forward(self, logits, actions, advantages, old_logp):
        n = logits.shape[0]
        m = logits.max(axis=1, keepdims=True)
        log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
        ratio = np.exp(log_probs[np.arange(n), actions] - old_logp)
        s1 = ratio * advantages
        s2 = np.clip(ratio, 1 - self.clip_eps, 1 + self.clip_eps) * advantages
        self.cache = (np.exp(log_probs), actions, ratio, advantages, s1 <= s2)
        return -np.minimum(s1, s2).mean()

    def backward(self):
        probs, actions, ratio, adv, active = self.cache
        n = probs.shape[0]
        g = np.where({active}, -adv * ratio, 0.0) / n
        dlogits = -probs * g[:, None]
        dlogits[np.arange(n), actions] += g
        return dlogits
'''


def test_per_sample_data_beside_the_scores_is_one_number_a_sample(tmp_path):
    item, failed = hunt_alone(tmp_path, "ppo", PPO.format(active="active"))
    assert "advantages: float (N,)" in item.how and failed is None, (item.how, failed)
    _, failed = hunt_alone(tmp_path, "ppo_bug", PPO.format(active="True"), max_examples=25)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dlogits"}
