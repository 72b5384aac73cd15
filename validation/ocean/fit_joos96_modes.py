"""Fit the Joos et al. (1996) HILDA mixed-layer pulse response r_s(t) with one sum of exponentials.

The published r_s(t) is piecewise (t < 2 yr and t >= 2 yr). Stepping it cell by cell is cheapest as a
sum of decaying modes: we keep Joos's own timescales, add 0.6 yr, and fit non-negative weights by least
squares on 0..2 yr (400 points) and 2..2000 yr (600 log-spaced points). The result is shipped in
esm/ocean/params.py (JOOS96_MODE_*); tests/test_ocean_model.py checks it against the piecewise function.

Run: python validation/ocean/fit_joos96_modes.py   (needs scipy)
"""
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from esm.ocean.params import joos96_mixed_layer_response  # noqa: E402

TAUS = np.array([0.034569, 0.26936, 0.6, 1.2679, 5.2528, 18.601, 68.736, 232.30, np.inf])


def main():
    t = np.concatenate([np.linspace(0, 2, 400), np.geomspace(2, 2000, 600)])
    a = np.stack([np.exp(-t / tau) if np.isfinite(tau) else np.ones_like(t) for tau in TAUS], axis=1)
    w, _ = nnls(a, joos96_mixed_layer_response(t))
    err = a @ w - joos96_mixed_layer_response(t)
    print("tau (yr):", TAUS.tolist())
    print("weights :", np.round(w, 6).tolist(), "sum", w.sum())
    print(f"max |error| {np.abs(err).max():.2e} at t = {t[np.argmax(np.abs(err))]:.2f} yr")


if __name__ == "__main__":
    main()
