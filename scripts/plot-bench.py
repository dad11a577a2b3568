#!/usr/bin/python3
"""Compares rwkv-bench JSON reports measurement by measurement in one PNG.

  /usr/bin/python3 scripts/plot-bench.py RUN.json [RUN.json ...] -o bench.png

Top: each measurement's fraction of its ceiling (grouped bars, one per file); bottom: its absolute
rate (GB/s against bandwidth ceilings, GFLOP/s against sgemm; log scale). Each file is labelled by
device, backend, thread count and file name. Needs Debian's python3-matplotlib.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except OSError as e:
        sys.exit(f"plot-bench: {path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"plot-bench: {path}: not JSON: {e}")
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        sys.exit(f"plot-bench: {path}: no 'results' list: not an rwkv-bench report")
    for i, r in enumerate(report["results"]):
        for field in ("name", "ceiling", "fraction_of_ceiling", "gflops"):
            if field not in r:
                sys.exit(f"plot-bench: {path}: results[{i}] has no field '{field}'")
    return report


def label(path, report):
    return (f"{report.get('device', '?')} / {report.get('backend', '?')} x{report.get('concurrency', '?')}"
            f" / {report.get('mode', '?')} / {os.path.basename(path)}")


def rate(result):
    """The rate its ceiling judges: GB/s for bandwidth ceilings, GFLOP/s for sgemm."""
    if result["ceiling"] == "sgemm" or result.get("gbs") is None:
        return result["gflops"], "GFLOP/s"
    return result["gbs"], "GB/s"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", help="rwkv-bench --json files")
    parser.add_argument("-o", "--output", default="bench.png", help="PNG to write (default bench.png)")
    args = parser.parse_args()

    reports = [(path, load(path)) for path in args.reports]
    names = []  # measurements in the order of first appearance
    for _, report in reports:
        for r in report["results"]:
            if r["name"] not in names:
                names.append(r["name"])
    by_name = [{r["name"]: r for r in report["results"]} for _, report in reports]

    width = 0.8 / len(reports)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(12, 0.75 * len(names) * max(1, len(reports) / 2)), 10),
                                      sharex=True)
    units = {}
    for k, ((path, report), results) in enumerate(zip(reports, by_name)):
        xs, fractions, rates = [], [], []
        for i, name in enumerate(names):
            if name in results:
                xs.append(i - 0.4 + width * (k + 0.5))
                fractions.append(results[name]["fraction_of_ceiling"])
                value, unit = rate(results[name])
                rates.append(value)
                units[name] = f"{results[name]['ceiling']}, {unit}"
        top.bar(xs, fractions, width, label=label(path, report))
        bottom.bar(xs, rates, width)

    top.set_yscale("log")
    top.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    top.set_ylabel("fraction of its ceiling (log)")
    fig.suptitle("rwkv-bench: each measurement against the ceiling of its own run (dashed: 1.0)")
    # Above the axes: tall bars (kernels whose data stays in cache pass 1.0) never hide it.
    top.legend(fontsize="small", loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    top.grid(axis="y", alpha=0.3)
    bottom.set_yscale("log")
    bottom.set_ylabel("rate (GB/s or GFLOP/s, see label)")
    bottom.grid(axis="y", alpha=0.3, which="both")
    bottom.set_xticks(range(len(names)))
    bottom.set_xticklabels([f"{n}\n({units[n]})" for n in names], rotation=60, ha="right", fontsize="small")
    fig.tight_layout()
    try:
        fig.savefig(args.output, dpi=110)
    except OSError as e:
        sys.exit(f"plot-bench: {args.output}: cannot write: {e.strerror}")
    print(f"plot-bench: wrote {args.output} ({len(names)} measurements, {len(reports)} files)")


if __name__ == "__main__":
    main()
