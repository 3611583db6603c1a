#!/usr/bin/python3
"""Plots what slab wrote, headless: PNGs next to each input (.h5, .npz, .json, or a CSV directory).

  heat output:       <name>_profiles.png (u(x) at every snapshot), <name>_spacetime.png (u(x, t))
  regression output: <name>_loss.png (loss per iteration, log scale) for gradient descent, or
                     <name>_residuals.png (residuals against fitted values) for a direct method;
                     <name>_weights.png (w with standard errors when the file has them, and w_true)

Usage: jobs/plot.py OUTPUT [OUTPUT ...]
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load(path):
    """Every array (by path, "heat/u") and every group's attributes ("heat", "provenance") of an output."""
    if os.path.isdir(path):  # --out run.csv wrote the directory run/
        with open(os.path.join(path, "attributes.json")) as handle:
            meta = json.load(handle)
        arrays = {}
        for name, entry in meta.items():
            if name == "attributes":
                continue
            table = np.loadtxt(os.path.join(path, name.replace("/", "_") + ".csv"), delimiter=",", skiprows=1,
                               ndmin=2)
            arrays[name] = table.reshape(entry["shape"])
        return arrays, meta["attributes"]
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files if name != "attributes"}
            attributes = json.loads(str(z["attributes"]))["attributes"] if "attributes" in z.files else {}
        return arrays, attributes
    if path.endswith(".json"):
        with open(path) as handle:
            doc = json.load(handle)
        arrays = {name: np.array(entry["data"], dtype=float).reshape(entry["shape"])
                  for name, entry in doc.items() if name != "attributes"}
        return arrays, doc.get("attributes", {})
    arrays, attributes = {}, {}
    with h5py.File(path, "r") as f:
        def visit(name, item):
            if isinstance(item, h5py.Dataset) and item.dtype.kind == "f" and "NAME" not in item.attrs:
                arrays[name] = item[()]
            elif isinstance(item, h5py.Group):
                attributes[name] = dict(item.attrs)
        f.visititems(visit)
        # Coordinate variables are dimension scales too (NAME set): keep those slab wrote as data.
        for name in ("heat/x", "heat/t", "regression/history/iteration"):
            if name in f:
                arrays[name] = f[name][()]
    return arrays, attributes


def ranks(attributes, group):
    """The rank count, from /provenance (or, in files before it existed, from the group's attributes)."""
    return attributes.get("provenance", {}).get("nranks", attributes.get(group, {}).get("nranks", "?"))


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_heat(stem, arrays, attributes):
    x, t, u = arrays["heat/x"], arrays["heat/t"], arrays["heat/u"]
    a = attributes.get("heat", {})
    length_units = a.get("length_units", "1")
    xlabel = "x" if length_units == "1" else f"x [{length_units}]"
    title = (f"heat: {a.get('scheme', '?')}, {a.get('bc', '?')}, nx={a.get('nx', len(x))}, "
             f"alpha={a.get('alpha', float('nan')):g}, {ranks(attributes, 'heat')} ranks")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.cm.viridis(np.linspace(0, 1, len(t)))
    for k in range(len(t)):
        ax.plot(x, u[k], color=colors[k], label=f"t = {t[k]:.3g}")
    ax.set(xlabel=xlabel, ylabel="u(x, t)", title=title)
    ax.legend(fontsize=7, ncol=2)
    written = [save(fig, stem + "_profiles.png")]

    fig, ax = plt.subplots(figsize=(7, 4.5))
    image = ax.pcolormesh(x, t, u, shading="nearest", cmap="inferno")
    fig.colorbar(image, ax=ax, label="u")
    ax.set(xlabel=xlabel, ylabel="t", title=title)
    written.append(save(fig, stem + "_spacetime.png"))
    return written


def plot_fit_quality(stem, arrays, title):
    """The loss history of gradient descent; residuals for a direct method (its history is one value)."""
    loss = arrays.get("regression/history/loss", arrays.get("regression/loss", np.empty(0)))
    if loss.size > 1:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.semilogy(np.arange(loss.size), loss)
        ax.set(xlabel="iteration", ylabel="mean squared error", title=title)
        ax.grid(True, which="both", alpha=0.3)
        return [save(fig, stem + "_loss.png")]
    if "regression/X" not in arrays:
        return []  # --no-data: nothing to compute residuals from
    X, y, w, b = arrays["regression/X"], arrays["regression/y"], arrays["regression/w"], arrays["regression/b"]
    fitted = X @ w + float(b)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(fitted, y - fitted, s=4, alpha=0.5)
    ax.axhline(0, color="gray", linestyle="--")
    ax.set(xlabel="fitted y", ylabel="residual y - fitted", title=title)
    return [save(fig, stem + "_residuals.png")]


def plot_weights(stem, arrays):
    w = arrays["regression/w"]
    index = np.arange(w.size)
    stderr = arrays.get("regression/w_stderr")
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * w.size + 2), 4.5))
    if stderr is not None:
        ax.errorbar(index, w, yerr=1.96 * stderr, fmt="o", capsize=3, label="fitted w ± 1.96 stderr", zorder=3)
    else:
        ax.plot(index, w, "o", label="fitted w", zorder=3)
    if "regression/w_true" in arrays:
        ax.plot(index, arrays["regression/w_true"], "x", color="gray", label="w_true")
    b = float(arrays["regression/b"])
    note = f"b = {b:.4g}"
    if "regression/b_stderr" in arrays:
        note += f" ± {1.96 * float(arrays['regression/b_stderr']):.2g}"
    if "regression/b_true" in arrays:
        note += f" (true {float(arrays['regression/b_true']):.4g})"
    ax.axhline(0, color="lightgray", linewidth=0.8)
    ax.set(xlabel="feature", ylabel="coefficient", title=note, xticks=index)
    ax.legend()
    return [save(fig, stem + "_weights.png")]


def plot_regression(stem, arrays, attributes):
    a = attributes.get("regression", {})
    title = (f"regression: {a.get('method', '?')}, N={a.get('rows', '?')}, D={a.get('cols', '?')}, "
             f"{ranks(attributes, 'regression')} ranks")
    return plot_fit_quality(stem, arrays, title) + plot_weights(stem, arrays)


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for path in paths:
        path = path.rstrip("/")
        if path.endswith(".csv") and not os.path.exists(path):
            path = path[:-4]  # --out run.csv names the directory run
        arrays, attributes = load(path)
        stem = os.path.splitext(path)[0] if not os.path.isdir(path) else path
        if "heat/u" in arrays:
            written = plot_heat(stem, arrays, attributes)
        elif "regression/w" in arrays:
            written = plot_regression(stem, arrays, attributes)
        else:
            print(f"plot: {path} holds neither heat nor regression results", file=sys.stderr)
            return 1
        print("plot: wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
