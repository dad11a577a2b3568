#!/usr/bin/env python3
"""Prints rwkv-bench JSON reports as the README's markdown table.

  scripts/bench-table.py RUN1.json [RUN2.json ...]

The table holds the last file's measurements; with several files a last column gives, per
measurement, the median and range of its fraction of the ceiling over all of them (one machine's
repeated runs: the spread shows how much the load moved the figures). Standard library only.
"""
import json
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except OSError as e:
        sys.exit(f"bench-table: {path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"bench-table: {path}: not JSON: {e}")
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        sys.exit(f"bench-table: {path}: no 'results' list: not an rwkv-bench report")
    return report


def percent(x):
    return f"{100 * x:.0f}%"


def main():
    paths = sys.argv[1:]
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if paths else 2
    reports = [load(p) for p in paths]
    last = reports[-1]
    c = last["ceilings"]
    print(f"`rwkv-bench` ({last['mode']}) at {last['git_revision']} on {last['device']}, {last['backend']} x"
          f"{last['concurrency']}, {last['compiler']}, Kokkos {last['kokkos_version']}; ceilings: stream "
          f"{c.get('stream_gbs', c.get('triad_gbs', 0)):.1f} GB/s (triad {c['triad_gbs']:.1f}, update "
          f"{c.get('update_gbs', 0):.1f}), read {c['read_gbs']:.1f} GB/s, copy {c['copy_gbs']:.1f} GB/s, sgemm "
          f"{c['sgemm_gflops']:.1f} GFLOP/s.\n")
    many = len(reports) > 1
    header = ["measurement", "sizes", "ms median (min-max)", "GFLOP/s", "GB/s", "tokens/s", "of ceiling"]
    if many:
        header.append(f"over {len(reports)} runs")
    print("| " + " | ".join(header) + " |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |" + (" ---: |" if many else ""))
    for r in last["results"]:
        s = r["seconds"]
        sizes = " ".join(f"{k}={v}" for k, v in r["sizes"].items())
        gbs = f"{r['gbs']:.1f}" if r.get("gbs") is not None else "-"
        tokens = f"{r['tokens_per_s']:.1f}" if r.get("tokens_per_s") is not None else "-"
        row = [f"`{r['name']}`", sizes, f"{1e3 * s['median']:.1f} ({1e3 * s['min']:.1f}-{1e3 * s['max']:.1f})",
               f"{r['gflops']:.1f}", gbs, tokens, f"{percent(r['fraction_of_ceiling'])} {r['ceiling']}"]
        if many:
            fractions = [x["fraction_of_ceiling"] for rep in reports for x in rep["results"] if x["name"] == r["name"]]
            row.append(f"{percent(statistics.median(fractions))} ({percent(min(fractions))[:-1]}-"
                       f"{percent(max(fractions))[:-1]})")
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
