#!/usr/bin/python3
"""Peer side of bench/run_metrics.sh: scikit-learn (liblinear inside LinearSVC) on the same data.

    peer_metrics.py gen DIR                 write the inputs (raw little-endian float64 / int32)
    peer_metrics.py run DIR KIND [--ref]    time one fit of KIND (pls | logistic | logistic-lbfgs |
                                            svm), append the
                                            seconds to DIR/peer_KIND.txt; --ref also writes the
                                            reference outputs that bench_metrics validates against

Settings (the C side uses the same ones):
  pls       PLSRegression(n_components=25, scale=False), defaults max_iter=500, tol=1e-6, on
            X 2560 x 10000 -> Y 2560 x 256 (latent-factor data), predicting 256 held-out rows.
  logistic  StandardScaler + LogisticRegression(multinomial, newton-cg, C = 1/(0.463 n), tol=1e-8),
            1188 x 1000 features, 10 classes, 132 test images: the sklearn solver that reaches the
            optimum we solve to (same probabilities to 1e-6).
  logistic-lbfgs  the same with sklearn's default solver lbfgs (tol=1e-8): faster, but scipy's
            L-BFGS-B stops on its relative-decrease test (ftol = 64 eps) first, about 4e-5 away from
            the optimum in probability here; timed for information, validated at 1e-4.
  svm       StandardScaler + LinearSVC(C=1e-3, squared hinge, dual, tol=1e-6), same data.
"""
import os
import sys
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")

PLS_N, PLS_P, PLS_Q, PLS_T, PLS_D = 2560, 10000, 256, 256, 40
DEC_N, DEC_P, DEC_C, DEC_T = 1188, 1000, 10, 132
LAMBDA, SVM_C = 0.463, 1e-3


def path(d, name):
    return os.path.join(d, name)


def save(d, name, a, dtype="<f8"):
    np.ascontiguousarray(a, dtype=dtype).tofile(path(d, name))


def load(d, name, shape, dtype="<f8"):
    return np.fromfile(path(d, name), dtype=dtype).reshape(shape)


def gen(d):
    rng = np.random.default_rng(2022)
    L = rng.standard_normal((PLS_N + PLS_T, PLS_D))
    A = rng.standard_normal((PLS_D, PLS_P)) * 0.3
    B = rng.standard_normal((PLS_D, PLS_Q)) * 0.2
    X = L @ A + rng.standard_normal((PLS_N + PLS_T, PLS_P))
    Y = L[:PLS_N] @ B + rng.standard_normal((PLS_N, PLS_Q))
    save(d, "pls_X.f64", X[:PLS_N])
    save(d, "pls_Xt.f64", X[PLS_N:])
    save(d, "pls_Y.f64", Y)
    n = DEC_N + DEC_T
    y = np.arange(n) % DEC_C
    rng.shuffle(y)
    proto = rng.standard_normal((DEC_C, DEC_P))
    strength = rng.uniform(0.0, 0.25, n)
    F = proto[y] * strength[:, None] + rng.standard_normal((n, DEC_P)) + rng.uniform(-1, 1, DEC_P)
    save(d, "dec_X.f64", F[:DEC_N])
    save(d, "dec_Xt.f64", F[DEC_N:])
    save(d, "dec_y.i32", y[:DEC_N], "<i4")
    save(d, "dec_yt.i32", y[DEC_N:], "<i4")


def run(d, kind, ref):
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC
    if kind == "pls":
        X, Y, Xt = load(d, "pls_X.f64", (PLS_N, PLS_P)), load(d, "pls_Y.f64", (PLS_N, PLS_Q)), load(d, "pls_Xt.f64", (PLS_T, PLS_P))
        t0 = time.perf_counter()
        m = PLSRegression(n_components=25, scale=False).fit(X, Y)
        pred = m.predict(Xt)
        dt = time.perf_counter() - t0
        if ref:
            save(d, "ref_pls_pred.f64", pred)
            save(d, "ref_pls_coef.f64", m.coef_)
    else:
        X, Xt = load(d, "dec_X.f64", (DEC_N, DEC_P)), load(d, "dec_Xt.f64", (DEC_T, DEC_P))
        y = load(d, "dec_y.i32", (DEC_N,), "<i4")
        t0 = time.perf_counter()
        sc = StandardScaler().fit(X)
        Z, Zt = sc.transform(X), sc.transform(Xt)
        if kind in ("logistic", "logistic-lbfgs"):
            m = LogisticRegression(C=1.0 / (LAMBDA * DEC_N), multi_class="multinomial",
                                   solver="newton-cg" if kind == "logistic" else "lbfgs", tol=1e-8,
                                   max_iter=100000).fit(Z, y)
            out = m.predict_proba(Zt)
        else:
            m = LinearSVC(C=SVM_C, tol=1e-6, max_iter=100000).fit(Z, y)
            out = m.decision_function(Zt)
        dt = time.perf_counter() - t0
        if ref:
            save(d, "ref_%s.f64" % kind, out)
    with open(path(d, "peer_%s.txt" % kind), "a") as f:
        f.write("%.6f\n" % dt)
    print("peer %-8s %.3f s" % (kind, dt))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "run" and sys.argv[3] in ("pls", "logistic", "logistic-lbfgs", "svm"):
        run(sys.argv[2], sys.argv[3], "--ref" in sys.argv)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
