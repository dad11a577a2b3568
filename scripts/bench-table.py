#!/usr/bin/env python3
"""Prints rwkv-bench JSON reports (rwkv-bench --json FILE) as markdown tables.

  scripts/bench-table.py RUN.json [RUN.json ...]
      One table: the last file's measurements; with several files a last column gives, per
      measurement, the median and range of its fraction of the ceiling over all of them (one
      machine's repeated runs: the spread shows how much the load moved the figures).

  scripts/bench-table.py --performance ANALYSIS.md [RUN.json ...]
      docs/PERFORMANCE.md: ANALYSIS.md (hand-written) with its line `<!-- rwkv-bench tables -->`
      replaced by the tables of the given reports, one table per machine (same device, backend,
      concurrency and mode; the files of one machine are its repeated runs, in the order given),
      each saying which files it was made from. scripts/performance-doc.sh runs this on docs/perf/.

Standard library only.
"""
import json
import statistics
import sys

MARKER = "<!-- rwkv-bench tables -->"


def fail(message):
    sys.exit(f"bench-table: {message}")


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except OSError as e:
        fail(f"{path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON: {e}")
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        fail(f"{path}: no 'results' list: not an rwkv-bench report")
    for field in ("mode", "device", "backend", "concurrency", "compiler", "kokkos_version", "git_revision",
                  "ceilings"):
        if field not in report:
            fail(f"{path}: no '{field}' field: not an rwkv-bench report")
    return report


def percent(x):
    return f"{100 * x:.0f}%"


def ceilings_text(report):
    """The ceilings in one line; "-" for those a --filter run did not measure (null)."""
    c = report["ceilings"]

    def value(x):
        return "-" if x is None else f"{x:.1f}"

    # Reports since the GEMM backends (2026-12) name the fastest library and the one the library calls.
    backends = ""
    if c.get("sgemm_by_backend"):
        others = "".join(f"; {name} {value(rate)}" for name, rate in c["sgemm_by_backend"].items()
                         if name != c["sgemm_backend"])
        backends = f" ({c['sgemm_backend']}; the library calls {c['sgemm_library_backend']}{others})"
    return (f"stream {value(c.get('stream_gbs', c.get('triad_gbs')))} GB/s (triad {value(c['triad_gbs'])}, update "
            f"{value(c.get('update_gbs'))}), read {value(c['read_gbs'])} GB/s, copy {value(c['copy_gbs'])} GB/s, "
            f"sgemm {value(c['sgemm_gflops'])} GFLOP/s{backends}")


def mode_text(report):
    """The mode, the model rows' version where it is not RWKV-4 (reports before --arch had none), and
    the filter of a --filter run."""
    arch = report.get("arch", "rwkv-4")
    return (report["mode"] + (f", {arch} model rows" if arch != "rwkv-4" else "")
            + (f", filter {report['filter']}" if report.get("filter") else ""))


def table(reports):
    """The markdown lines of one table: the last report's rows, the spread over all of them."""
    last = reports[-1]
    lines = [f"`rwkv-bench` ({mode_text(last)}) at {last['git_revision']} on {last['device']}, {last['backend']} x"
             f"{last['concurrency']}, {last['compiler']}, Kokkos {last['kokkos_version']}; ceilings: "
             f"{ceilings_text(last)}.", ""]
    many = len(reports) > 1
    header = ["measurement", "sizes", "ms median (min-max)", "GFLOP/s", "GB/s", "tokens/s", "of ceiling"]
    if many:
        header.append(f"over {len(reports)} runs")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: |" + (" ---: |" if many else ""))
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
        lines.append("| " + " | ".join(row) + " |")
    return lines


def machine_of(report):
    """What makes runs comparable: the same machine and measurements."""
    return (report["device"], report["backend"], report["concurrency"], mode_text(report))


def tables_section(paths, reports):
    """What replaces the marker: one table per machine, each naming the files it was made from."""
    if not paths:
        return ["No rwkv-bench JSON report was given, so there is no table yet (see [Adding a run](#adding-a-run))."]
    groups = {}
    for path, report in zip(paths, reports):
        groups.setdefault(machine_of(report), []).append((path, report))
    lines = [f"Made from {len(paths)} rwkv-bench JSON report{'s' if len(paths) > 1 else ''}: "
             + ", ".join(f"`{p}`" for p in paths) + "."]
    for (device, backend, concurrency, mode), members in groups.items():
        lines += ["", f"### {device}, {backend} x{concurrency}, {mode}", ""]
        if len(members) > 1:
            lines.append(f"{len(members)} runs; the table is the last one's, the last column the median (range) "
                         f"of each fraction over all {len(members)}:")
        else:
            lines.append("One run:")
        lines.append("")
        for path, report in members:
            lines.append(f"- `{path}`: {report['git_revision']}; ceilings {ceilings_text(report)}")
        lines.append("")
        lines += table([report for _, report in members])
    return lines


def performance(analysis_path, paths):
    try:
        with open(analysis_path) as f:
            analysis = f.read().splitlines()
    except OSError as e:
        fail(f"{analysis_path}: cannot read: {e.strerror}")
    at = [i for i, line in enumerate(analysis) if line.strip() == MARKER]
    if len(at) != 1:
        fail(f"{analysis_path}: needs exactly one line '{MARKER}' where the tables go (found {len(at)})")
    reports = [load(p) for p in paths]
    source = " ".join([analysis_path] + list(paths))
    head = [f"<!-- Generated by scripts/bench-table.py --performance {source}",
            "     (scripts/performance-doc.sh). Edit the analysis file or add JSON, then regenerate. -->"]
    lines = head + analysis[:at[0]] + tables_section(paths, reports) + analysis[at[0] + 1:]
    print("\n".join(lines))


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    if args[0] == "--performance":
        if len(args) < 2:
            fail("--performance needs the analysis file (see --help)")
        performance(args[1], args[2:])
        return 0
    print("\n".join(table([load(p) for p in args])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
