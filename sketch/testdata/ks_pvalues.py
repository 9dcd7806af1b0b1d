#!/usr/bin/env python3
"""Writes ks_pvalues.json: SciPy's two-sample KS p-values, the ground truth of
sketch.TestKSPValueSciPy and TestKSSamplesSciPy (CI has no SciPy).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy==1.17.1 numpy
    /tmp/venv/bin/python sketch/testdata/ks_pvalues.py > sketch/testdata/ks_pvalues.json

Three tables:
  kstwo:   kstwo.sf(d, n), the asymptotic distribution ks_2samp uses beyond
           10,000 values per side, on a grid that reaches every branch of
           scipy.stats._ksstats._kolmogn;
  pvalues: (n, m, d) -> the p-value ks_2samp(method="auto") computes for a
           statistic d, with SciPy's own choice of method and its lattice
           rounding of d (the code of ks_2samp from "g = math.gcd" on);
  samples: whole ks_2samp runs on samples the Go test rebuilds bit for bit
           (lcgUniforms: a 64-bit linear congruential generator, optionally
           squared, shifted or rounded), so that the statistic is checked too.
"""
import json
import math
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.stats import _stats_py


def kstwo_grid():
    out = []
    ns = [1, 2, 3, 5, 10, 20, 50, 100, 139, 140, 141, 200, 500, 1000, 4545,
          10000, 50000, 99999, 100001, 500000, 2000000]
    zs = [0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.36, 1.4, 1.48,
          1.5, 1.63, 1.8, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0, 19.3, 20.0]
    for n in ns:
        ds = set()
        for z in zs:
            ds.add(z / math.sqrt(n))
        # Ruben-Gambino and the x >= 0.5 branch.
        for t in (0.3, 0.5, 0.7, 0.99, 1.0):
            ds.add(t / n)
        ds.update([0.5, 0.75, 0.999, 1 - 1.5 / n if n > 2 else 0.6])
        for d in sorted(ds):
            if 0 < d < 1:
                out.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})
    return out


def pvalue(n1, n2, d):
    """ks_2samp's p-value for statistic d (two-sided, method="auto")."""
    g = math.gcd(n1, n2)
    mode = "exact" if max(n1, n2) <= 10000 else "asymp"
    if mode == "exact":
        ok, d2, prob = _stats_py._attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
        if ok:
            return float(d2), float(np.clip(prob, 0, 1)), "exact"
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(d), float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1)), "asymp"


def pvalue_grid():
    out = []
    pairs = [(1, 1), (1, 7), (10, 10), (7, 13), (100, 100), (800, 5000),
             (800, 5001), (999, 1000), (5000, 5000), (1234, 9876),
             (10000, 10000), (9999, 10000), (10000, 10001), (50, 20000),
             (800, 50000), (5000, 50000), (50000, 50000), (1000000, 1000000)]
    for n1, n2 in pairs:
        s = math.sqrt(1 / n1 + 1 / n2)
        for z in (1e-9, 0.3, 0.5, 1.0, 1.224, 1.36, 1.63, 2.5, 4.0, 7.0):
            d = z * s
            if not 0 < d <= 1:
                continue
            dr, p, mode = pvalue(n1, n2, d)
            out.append({"n": n1, "m": n2, "d": d, "dr": dr, "p": p, "mode": mode})
    return out


def lcg_uniforms(k, seed):
    """k uniforms in [0, 1): state = state*6364136223846793005 +
    1442695040888963407 mod 2**64 (Knuth's MMIX constants), value = the top 53
    bits * 2**-53. sketch/ks_test.go's lcgUniforms is the same."""
    out = np.empty(k)
    x = seed
    for i in range(k):
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out[i] = (x >> 11) * 2.0**-53
    return out


def sample_cases():
    out = []
    for n1, n2, square, shift, digits in [
            (800, 5000, False, 0.0, None), (800, 5000, True, 0.03, None),
            (5000, 5000, False, 0.01, None), (1000, 7000, True, 0.0, 3),
            (300, 12000, False, 0.02, 3), (20, 50, False, 0.1, None),
            (9000, 10000, True, 0.005, None), (800, 800, False, 0.05, None)]:
        a = lcg_uniforms(n1, 1)
        b = lcg_uniforms(n2, 2)
        if square:
            a, b = a * a, b * b
        b = b + shift
        if digits is not None:
            a, b = np.round(a, digits), np.round(b, digits)
        r = stats.ks_2samp(a, b)
        out.append({"n": n1, "m": n2, "square": square, "shift": shift,
                    "digits": -1 if digits is None else digits,
                    "d": float(r.statistic), "p": float(r.pvalue)})
    return out


if __name__ == "__main__":
    json.dump({"scipy": scipy.__version__, "kstwo": kstwo_grid(),
               "pvalues": pvalue_grid(), "samples": sample_cases()},
              sys.stdout, indent=1)
    sys.stdout.write("\n")
