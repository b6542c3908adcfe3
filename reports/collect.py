"""Keep, per check, the results worth reporting: the worst pass and the final (minimal) failure.

Hypothesis runs many examples per test and replays the shrunk failing example
last, so for each (layer, property, tensor, oracle) the log keeps the last
failing result and the passing result closest to its tolerance.
"""
import json

from oracle.result import Result


class ResultLog:
    def __init__(self, planted=False):
        self.records = {}
        self.examples = 0
        self.planted = planted

    def add(self, results):
        self.examples += 1
        for r in results:
            key = (r.layer, r.prop, r.tensor, r.oracle)
            old = self.records.get(key)
            if not r.passed or old is None or (old.passed and r.ratio >= old.ratio):
                self.records[key] = r

    def to_json(self):
        """JSON text of the kept results: plain Python only, safe to cross xdist workers."""
        return json.dumps({"examples": self.examples, "planted": self.planted,
                           "results": [r.to_plain() for r in self.records.values()]})


def results_from_json(text):
    data = json.loads(text)
    return data, [Result(**{k: v for k, v in d.items() if k in Result.__dataclass_fields__})
                  for d in data["results"]]
