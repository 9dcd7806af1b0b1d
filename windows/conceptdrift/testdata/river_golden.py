"""Generate river_golden.json: where River's detectors fire on fixed streams.

The Go test TestMatchesRiver replays the same streams (splitmix64, below)
through this package's detectors and expects the same detection indices.
Regenerate by hand, never in CI:

    python3 -m venv /tmp/rv && /tmp/rv/bin/pip install river==0.26.1
    /tmp/rv/bin/python river_golden.py > river_golden.json
"""

import json

import river
from river import drift

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed & MASK
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield (z ^ (z >> 31)) >> 11  # 53 random bits


def stream(spec):
    """Bernoulli segments [p, n] give 0/1; uniform segments [a, n] give a + u/2."""
    rng = splitmix64(spec["seed"])
    out = []
    for a, n in spec["segments"]:
        for _ in range(n):
            u = next(rng) / float(1 << 53)
            out.append((1.0 if u < a else 0.0) if spec["kind"] == "bernoulli" else a + 0.5 * u)
    return out


DETECTORS = {
    "adwin": lambda: drift.ADWIN(),
    "adwin_clock1": lambda: drift.ADWIN(clock=1),
    "adwin_small": lambda: drift.ADWIN(delta=0.05, max_buckets=2, min_window_length=3, grace_period=4, clock=4),
    "ddm": lambda: drift.binary.DDM(),
    "page_hinkley": lambda: drift.PageHinkley(),
    "page_hinkley_up": lambda: drift.PageHinkley(mode="up"),
    "page_hinkley_tuned": lambda: drift.PageHinkley(min_instances=10, delta=0.01, threshold=8, alpha=0.999),
}

STREAMS = [
    {"name": "0.1 to 0.4 at 2000", "kind": "bernoulli", "seed": 1, "segments": [[0.1, 2000], [0.4, 4000]]},
    {"name": "0.2 to 0.25 at 3000", "kind": "bernoulli", "seed": 2, "segments": [[0.2, 3000], [0.25, 17000]]},
    {"name": "stationary 0.3", "kind": "bernoulli", "seed": 3, "segments": [[0.3, 30000]]},
    {"name": "0.5 to 0.1 at 2000", "kind": "bernoulli", "seed": 4, "segments": [[0.5, 2000], [0.1, 4000]]},
    {"name": "uniform shift", "kind": "uniform", "seed": 5, "segments": [[0.0, 3000], [0.2, 3000], [0.1, 3000]]},
]


def main():
    out = {"river": river.__version__, "streams": []}
    for spec in STREAMS:
        xs = stream(spec)
        det = {}
        for name, make in DETECTORS.items():
            if name.startswith("ddm") and spec["kind"] != "bernoulli":
                continue
            d, hits = make(), []
            for i, x in enumerate(xs):
                d.update(x)
                if d.drift_detected:
                    hits.append(i)
            det[name] = hits
        out["streams"].append(dict(spec, detections=det))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
