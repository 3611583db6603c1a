"""Accuracy of slab's least-squares methods against exact answers.

Each problem's data are doubles; the exact least-squares answer of exactly those doubles comes from
the normal equations solved in rational arithmetic (fractions). The accuracy of an estimate is its
LRE (log relative error: the number of correct significant digits), -log10 |est - cert| / |cert|,
minimised over the coefficients. Statistics are checked against exact rational values too.
"""
import math
import unittest
from fractions import Fraction

import h5py
import numpy as np

from slabrun import TempDirTest, error_lines

DIGITS = 15.95  # an exact match counts as this many digits


def exact_lstsq(A, y):
    """The least-squares solution of A z ~ y, exactly (Gauss-Jordan on the normal equations)."""
    a = [[Fraction(float(v)) for v in row] for row in A]
    b = [Fraction(float(v)) for v in y]
    n, m = len(a), len(a[0])
    g = [[sum(a[k][i] * a[k][j] for k in range(n)) for j in range(m)] + [sum(a[k][i] * b[k] for k in range(n))]
         for i in range(m)]
    for c in range(m):
        p = next(r for r in range(c, m) if g[r][c] != 0)
        g[c], g[p] = g[p], g[c]
        for r in range(m):
            if r != c and g[r][c] != 0:
                f = g[r][c] / g[c][c]
                g[r] = [u - f * v for u, v in zip(g[r], g[c])]
    return [g[i][m] / g[i][i] for i in range(m)]


def exact_inverse_diagonal(A):
    """diag((A^T A)^-1), exactly."""
    a = [[Fraction(float(v)) for v in row] for row in A]
    n, m = len(a), len(a[0])
    g = [[sum(a[k][i] * a[k][j] for k in range(n)) for j in range(m)] + [Fraction(int(i == j)) for j in range(m)]
         for i in range(m)]
    for c in range(m):
        p = next(r for r in range(c, m) if g[r][c] != 0)
        g[c], g[p] = g[p], g[c]
        for r in range(m):
            if r != c and g[r][c] != 0:
                f = g[r][c] / g[c][c]
                g[r] = [u - f * v for u, v in zip(g[r], g[c])]
    return [g[i][m + i] / g[i][i] for i in range(m)]


def lre(estimate, certified):
    digits = DIGITS
    for e, c in zip(estimate, certified):
        err = abs(Fraction(float(e)) - c) / abs(c)
        if err > 0:
            digits = min(digits, -math.log10(err))
    return digits


def polynomial_problem():
    """x^1..x^6 on x = 5..20 with the intercept: cond([X 1]) = 1.4e10."""
    x = np.arange(5.0, 21.0)
    X = np.column_stack([x**k for k in range(1, 7)])
    y = np.round(1000 * np.sin(x)) + np.random.default_rng(5).integers(-50, 50, 16)
    return X, y.astype(float)


def collinear_problem():
    """Two columns that differ by +-2^-20 on a scale of 1000, and a third one: cond ~ 1e9."""
    rng = np.random.default_rng(3)
    x1 = rng.integers(0, 1000, size=30).astype(float)
    x2 = x1 + 2.0**-20 * rng.integers(-1, 2, size=30)
    x3 = rng.integers(0, 100, size=30).astype(float)
    y = 3 * x1 - 2 * x2 + 0.5 * x3 + 7 + rng.integers(-8, 9, size=30) / 8
    return np.column_stack([x1, x2, x3]), y


def well_conditioned_problem():
    rng = np.random.default_rng(11)
    X = rng.integers(-20, 21, size=(41, 3)).astype(float)
    y = X @ [1.5, -2.0, 0.25] + 4 + rng.integers(-16, 17, size=41) / 4
    return X, y


class LeastSquaresAccuracy(TempDirTest):
    def fit(self, ranks, X, y, method, *extra, check=True):
        """Runs slab on (X, y); returns the fit's datasets and attributes, or None when it failed."""
        data = self.path("data.npz")
        np.savez(data, X=X, y=y)
        out = self.path(f"{method}-{ranks}.h5")
        result = self.slab(ranks, "regress", "--data", data, "--method", method, "--out", out, "--overwrite", "-q",
                           *extra, check=check)
        if result.returncode != 0:
            return None
        with h5py.File(out) as f:
            r = f["regression"]
            fit = {name: r[name][()] for name in ("w", "b", "w_stderr", "b_stderr", "t_values")}
            fit.update(dict(r.attrs))
        return fit

    def test_qr_is_as_accurate_as_lapack_and_far_better_than_normal_equations(self):
        for name, (X, y) in (("polynomial", polynomial_problem()), ("collinear", collinear_problem())):
            A = np.column_stack([X, np.ones(len(y))])
            cert = exact_lstsq(A, y)
            numpy_digits = lre(np.linalg.lstsq(A, y, rcond=None)[0], cert)
            fits = {ranks: self.fit(ranks, X, y, "qr") for ranks in (1, 2, 3)}
            qr_digits = lre(np.r_[fits[1]["w"], fits[1]["b"]], cert)
            # The normal equations square the condition number: Cholesky may fail outright (0 digits).
            normal = self.fit(2, X, y, "normal", check=False)
            normal_digits = 0.0 if normal is None else lre(np.r_[normal["w"], normal["b"]], cert)
            print(f"{name}: cond {fits[1]['condition_number']:.3g}, LRE qr {qr_digits:.2f}, "
                  f"numpy.linalg.lstsq {numpy_digits:.2f}, normal {normal_digits:.2f}")
            self.assertGreaterEqual(qr_digits, numpy_digits - 1, name)
            self.assertGreaterEqual(qr_digits, normal_digits + 3, name)
            self.assertGreater(fits[1]["condition_number"], 1e9, name)
            for ranks in (2, 3):  # the same bits on any rank count
                for key in ("w", "b", "w_stderr", "b_stderr", "t_values", "r_squared", "condition_number"):
                    np.testing.assert_array_equal(fits[ranks][key], fits[1][key], f"{name} {key} at {ranks} ranks")

    def test_statistics_match_exact_rational_values(self):
        X, y = well_conditioned_problem()
        A = np.column_stack([X, np.ones(len(y))])
        n, m = A.shape
        cert = exact_lstsq(A, y)
        ys = [Fraction(float(v)) for v in y]
        a = [[Fraction(float(v)) for v in row] for row in A]
        rss = sum((yi - sum(c * ai for c, ai in zip(cert, row)))**2 for yi, row in zip(ys, a))
        mean = sum(ys) / n
        tss = sum((yi - mean)**2 for yi in ys)
        r2 = 1 - rss / tss
        adj = 1 - (1 - r2) * (n - 1) / (n - m)
        stderr = [math.sqrt(rss / (n - m) * d) for d in exact_inverse_diagonal(A)]
        for method in ("qr", "normal", "lstsq"):
            fit = self.fit(2, X, y, method)
            self.assertEqual(fit["dof"], n - m)
            self.assertAlmostEqual(fit["r_squared"], float(r2), delta=1e-12, msg=method)
            self.assertAlmostEqual(fit["adj_r_squared"], float(adj), delta=1e-12, msg=method)
            np.testing.assert_allclose(fit["residual_std"], math.sqrt(rss / (n - m)), rtol=1e-10, err_msg=method)
            np.testing.assert_allclose(np.r_[fit["w_stderr"], fit["b_stderr"]], stderr, rtol=1e-10, err_msg=method)
            t = [float(c) / s for c, s in zip(cert, stderr)]
            np.testing.assert_allclose(fit["t_values"], t, rtol=1e-9, err_msg=method)
            cond = np.linalg.cond(A)
            np.testing.assert_allclose(fit["condition_number"], cond, rtol=1e-10, err_msg=method)
        # gd on standardised features: the statistics are those of the original X at the fit, whose
        # rss is within (relative error of the fit)^2 of the minimum.
        fit = self.fit(2, X, y, "gd", "--standardize", "--iters", "3000", "--tol", "0")
        np.testing.assert_allclose(np.r_[fit["w_stderr"], fit["b_stderr"]], stderr, rtol=1e-8)
        self.assertAlmostEqual(fit["r_squared"], float(r2), delta=1e-10)
        np.testing.assert_allclose(fit["condition_number"], np.linalg.cond(A), rtol=1e-10)

    def test_rank_deficient_columns_are_named_or_solved_for_minimum_norm(self):
        X, y = well_conditioned_problem()
        X = np.column_stack([X, X[:, 1]])  # column 3 duplicates column 1
        data = self.path("dup.npz")
        np.savez(data, X=X, y=y)
        result = self.slab(3, "regress", "--data", data, "--method", "qr", "--out", "dup.h5", "-q", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = error_lines(result.stderr)
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("X column 3 (0-based) is numerically a linear combination", lines[0])
        fit = self.fit(3, X, y, "qr", "--rank-deficient", "min-norm")
        z = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
        np.testing.assert_allclose(np.r_[fit["w"], fit["b"]], z, rtol=1e-12)
        self.assertTrue(np.isnan(fit["w_stderr"]).all())


if __name__ == "__main__":
    unittest.main()
