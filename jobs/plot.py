#!/usr/bin/python3
"""Plots what slab wrote, headless: PNGs next to each input file.

  heat file:       <name>_profiles.png (u(x) at every snapshot), <name>_spacetime.png (u(x, t))
  regression file: <name>_loss.png (loss per iteration, log scale), <name>_weights.png (w vs w_true)

Usage: jobs/plot.py FILE.h5 [FILE.h5 ...]
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_heat(path, group):
    x, t, u = group["x"][()], group["t"][()], np.asarray(group["u"])
    a = group.attrs
    title = f"heat: {a['scheme']}, {a['bc']}, nx={a['nx']}, alpha={a['alpha']:g}, {a['nranks']} ranks"
    stem = os.path.splitext(path)[0]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.cm.viridis(np.linspace(0, 1, len(t)))
    for k in range(len(t)):
        ax.plot(x, u[k], color=colors[k], label=f"t = {t[k]:.3g}")
    ax.set(xlabel="x", ylabel="u(x, t)", title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(stem + "_profiles.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    image = ax.pcolormesh(x, t, u, shading="nearest", cmap="inferno")
    fig.colorbar(image, ax=ax, label="u")
    ax.set(xlabel="x", ylabel="t", title=title)
    fig.tight_layout()
    fig.savefig(stem + "_spacetime.png", dpi=110)
    plt.close(fig)
    return [stem + "_profiles.png", stem + "_spacetime.png"]


def plot_regression(path, group):
    a = group.attrs
    stem = os.path.splitext(path)[0]
    loss = group["loss"][()]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.semilogy(np.arange(len(loss)), loss)
    ax.set(xlabel="iteration", ylabel="mean squared error",
           title=f"regression: {a['method']}, N={a['rows']}, D={a['cols']}, {a['nranks']} ranks")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(stem + "_loss.png", dpi=110)
    plt.close(fig)
    outputs = [stem + "_loss.png"]
    if "w_true" in group:
        w, w_true = group["w"][()], group["w_true"][()]
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(w_true, w, zorder=3)
        lo, hi = min(w_true.min(), w.min()), max(w_true.max(), w.max())
        ax.plot([lo, hi], [lo, hi], color="gray", linestyle="--", label="w = w_true")
        ax.set(xlabel="w_true", ylabel="fitted w", title=f"b = {group['b'][()]:.4g} (true {group['b_true'][()]:.4g})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(stem + "_weights.png", dpi=110)
        plt.close(fig)
        outputs.append(stem + "_weights.png")
    return outputs


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for path in paths:
        with h5py.File(path, "r") as f:
            if "heat" in f:
                written = plot_heat(path, f["heat"])
            elif "regression" in f:
                written = plot_regression(path, f["regression"])
            else:
                print(f"plot: {path} holds neither /heat nor /regression", file=sys.stderr)
                return 1
        print("plot: wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
