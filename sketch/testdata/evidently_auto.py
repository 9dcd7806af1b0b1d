#!/usr/bin/env python3
"""Writes evidently_auto.json: what Evidently's data drift does with each
column of shared test data when no test is configured (`auto`): the test it
chooses (get_stattest with stattest_func=None, i.e. _get_default_stattest),
its score (p-value or distance) and its verdict at the default threshold.
The ground truth of sketch.TestAutoMatchesEvidently (CI has no Evidently).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install evidently==0.7.23 "pandas<2.3"
    /tmp/venv/bin/python sketch/testdata/evidently_auto.py > sketch/testdata/evidently_auto.json

The data are rebuilt bit for bit by the Go test from the specs written here:
uniforms u from ks_pvalues.py's 64-bit linear congruential generator
(lcg_uniforms), turned into
  binary:  1 if u < p else 0 (numeric) / "yes" if u < p else "no" (categorical)
  levels:  floor(u * k) (numeric) / "c" + str(floor(u * k)) (categorical)
  uniform: u, or u*u with square, plus shift (numeric)

Evidently sums Jensen-Shannon over a Python set of categories, so the last
bits of a categorical js score vary from run to run (hash randomisation); the
Go test compares scores to 1e-12.
"""
import json
import sys

import numpy as np
import pandas as pd
import evidently
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType

from ks_pvalues import lcg_uniforms  # beside this file


def column(spec, kind):
    u = lcg_uniforms(spec["n"], spec["seed"])
    gen = spec["gen"]
    if gen == "binary":
        v = (u < spec["p"]).astype(np.float64)
        if kind == "categorical":
            return pd.Series(np.where(v == 1, "yes", "no"))
        return pd.Series(v)
    if gen == "levels":
        v = np.floor(u * spec["k"])
        if kind == "categorical":
            return pd.Series(["c%d" % int(x) for x in v])
        return pd.Series(v)
    if gen == "uniform":
        if spec.get("square"):
            u = u * u
        return pd.Series(u + spec.get("shift", 0.0))
    raise ValueError(gen)


def spec(n, seed, gen, **kw):
    return dict(n=n, seed=seed, gen=gen, **kw)


CASES = [
    # Issue 16, item 7: a two-valued numeric feature with an 800-row reference.
    ("numeric", "binary, small reference", spec(800, 1, "binary", p=0.3), spec(5000, 2, "binary", p=0.3)),
    ("numeric", "binary, small reference, moved", spec(800, 1, "binary", p=0.3), spec(5000, 3, "binary", p=0.35)),
    ("numeric", "binary, one value in all", spec(800, 1, "binary", p=0.0), spec(5000, 2, "binary", p=0.0)),
    ("numeric", "binary, one value each", spec(800, 1, "binary", p=0.0), spec(5000, 2, "binary", p=1.0)),
    ("numeric", "one value in the reference, two in the window", spec(800, 1, "binary", p=0.0), spec(5000, 2, "binary", p=0.01)),
    ("numeric", "three values, small reference", spec(800, 4, "levels", k=3), spec(5000, 5, "levels", k=3)),
    ("numeric", "five values, small reference, moved", spec(1000, 4, "levels", k=5), spec(5000, 6, "levels", k=4)),
    ("numeric", "six values, small reference", spec(1000, 4, "levels", k=6), spec(5000, 5, "levels", k=6)),
    ("numeric", "continuous, small reference", spec(800, 7, "uniform"), spec(5000, 8, "uniform")),
    ("numeric", "continuous, small reference, moved", spec(800, 7, "uniform"), spec(5000, 8, "uniform", square=True)),
    ("numeric", "binary, 1001 reference values", spec(1001, 1, "binary", p=0.3), spec(5000, 3, "binary", p=0.35)),
    ("numeric", "four values, large reference", spec(5000, 9, "levels", k=4), spec(5000, 10, "levels", k=4)),
    ("numeric", "continuous, large reference", spec(5000, 11, "uniform"), spec(5000, 12, "uniform", shift=0.05)),
    ("categorical", "two values, small reference", spec(800, 1, "binary", p=0.3), spec(5000, 2, "binary", p=0.3)),
    ("categorical", "two values, small reference, moved", spec(800, 1, "binary", p=0.3), spec(5000, 3, "binary", p=0.35)),
    ("categorical", "one value in all", spec(800, 1, "binary", p=0.0), spec(5000, 2, "binary", p=0.0)),
    ("categorical", "a second value in the window", spec(800, 1, "binary", p=0.0), spec(5000, 2, "binary", p=0.002)),
    ("categorical", "three values, small reference", spec(1000, 13, "levels", k=3), spec(5000, 14, "levels", k=3)),
    ("categorical", "two values, large reference", spec(5000, 15, "binary", p=0.5), spec(5000, 16, "binary", p=0.45)),
    ("categorical", "many values, large reference", spec(5000, 17, "levels", k=40), spec(5000, 18, "levels", k=40)),
]

# Issue 16, item 7: 20 windows of 5,000 rows of a two-valued feature against
# an 800-row reference; the shares move in the second half.
for i in range(20):
    p = 0.3 if i < 10 else 0.3 + 0.005 * (i - 9)
    CASES.append(("numeric", "windows %d" % i, spec(800, 1, "binary", p=0.3), spec(5000, 100 + i, "binary", p=p)))


def run(kind, ref, cur):
    ctype = ColumnType.Numerical if kind == "numeric" else ColumnType.Categorical
    r, c = column(ref, kind), column(cur, kind)
    test = get_stattest(r, c, ctype, None)
    res = test(r, c, ctype, None)
    return test.name, float(res.drift_score), bool(res.drifted), float(res.actual_threshold)


out = []
for kind, name, ref, cur in CASES:
    test, score, drifted, threshold = run(kind, ref, cur)
    out.append(dict(name=name, kind=kind, ref=ref, cur=cur, test=test, score=score,
                    drifted=drifted, threshold=threshold))

json.dump({"evidently": evidently.__version__, "cases": out}, sys.stdout, indent=1)
sys.stdout.write("\n")
