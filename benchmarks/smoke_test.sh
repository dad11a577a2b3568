#!/bin/bash
# ctest bench_smoke: rwkv-bench --smoke writes JSON that parses, names every measurement once and
# has positive times and finite rates; --filter runs only the matching measurements and their
# ceilings, and a filter that matches nothing fails with the names. Usage: smoke_test.sh RWKV_BENCH WORK_DIR
set -euo pipefail
bench=$1
work=$2
mkdir -p "$work"
json=$work/smoke.json
rm -f "$json"
"$bench" --smoke --threads 2 --json "$json" >"$work/table.txt"
/usr/bin/python3 -m json.tool "$json" >/dev/null
/usr/bin/python3 - "$json" <<'PY'
import json, math, sys
report = json.load(open(sys.argv[1]))
for field in ("device", "backend", "compiler", "kokkos_version", "git_revision", "ceilings", "results"):
    assert field in report, f"missing field {field}"
assert report["arch"] == "rwkv-4", report["arch"]  # --arch's default
c = report["ceilings"]
for name in ("stream_gbs", "triad_gbs", "update_gbs", "read_gbs", "copy_gbs", "sgemm_gflops", "step_ms"):
    assert c[name] > 0, f"ceiling {name} = {c[name]}"
# The sgemm ceiling names the fastest GEMM library and the one the library calls, with each one's rate.
rates = c["sgemm_by_backend"]
assert all(rate > 0 for rate in rates.values()), rates
assert c["sgemm_library_backend"] in rates and c["sgemm_backend"] in rates, c
assert c["sgemm_gflops"] == max(rates.values()), c
# Host builds time the GEMM rows on each host backend too.
host_backends = [b for b in ("openblas", "onednn") if b in rates]
expected = {f"{row}_{b}" for b in host_backends for row in ("gemm_y=xW^T", "gemm_dx+=dyW", "gemm_dW+=dy^Tx")} | {"wkv_forward", "wkv_backward", "wkv7_forward", "wkv7_backward", "time_mix_forward", "time_mix_backward", "layer_norm_forward",
            "layer_norm_backward", "gemm_y=xW^T", "gemm_dx+=dyW", "gemm_dW+=dy^Tx", "cross_entropy_forward",
            "cross_entropy_backward", "adamw_step", "train_step", "train_step_bf16", "prefill_float32", "decode_float32",
            "decode_float32_multi", "decode_int8", "decode_int8_multi", "decode_bfloat16", "decode_bfloat16_multi",
            "generate_float32", "sample_greedy",
            "sample_all_options"}
names = [r["name"] for r in report["results"]]
assert sorted(names) == sorted(expected), f"measurements {names}"
for r in report["results"]:
    t = r["seconds"]
    assert 0 < t["min"] <= t["median"] <= t["max"], f"{r['name']}: times {t}"
    assert r["flops"] > 0 and math.isfinite(r["fraction_of_ceiling"]) and r["fraction_of_ceiling"] > 0, r
print(f"bench_smoke: {len(names)} measurements, JSON fine")
PY
# scripts/bench-table.py (the tables of docs/PERFORMANCE.md) reads the same report.
/usr/bin/python3 "$(dirname "$0")/../scripts/bench-table.py" "$json" >"$work/table.md"
grep -q '^| `decode_int8_multi` | ' "$work/table.md" || { echo "bench_smoke: bench-table.py lost a row" >&2; exit 1; }
# The table names every measurement too.
for name in wkv_forward adamw_step decode_int8_multi; do
  grep -q "^$name " "$work/table.txt" || { echo "bench_smoke: $name missing from the table" >&2; exit 1; }
done

# --filter: only the measurements whose name contains the text, and only the ceilings they need.
"$bench" --smoke --threads 2 --filter adamw --json "$work/filter.json" >"$work/filter.txt"
/usr/bin/python3 - "$work/filter.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
names = [r["name"] for r in report["results"]]
assert names == ["adamw_step"], f"--filter adamw ran {names}"
assert report["filter"] == "adamw", report.get("filter")
c = report["ceilings"]
assert c["stream_gbs"] > 0 and c["triad_gbs"] > 0 and c["update_gbs"] > 0, c
assert c["read_gbs"] is None and c["copy_gbs"] is None and c["sgemm_gflops"] is None and c["step_ms"] is None, c
PY
grep -q "^adamw_step " "$work/filter.txt" || { echo "bench_smoke: --filter adamw: no adamw_step in the table" >&2; exit 1; }
# A filter that matches nothing: a usage error (exit code 2) that lists the measurements.
rc=0
"$bench" --smoke --threads 2 --filter no_such_measurement >"$work/no_match.txt" 2>&1 || rc=$?
[ $rc -eq 2 ] || { echo "bench_smoke: --filter no_such_measurement: exit code $rc, not 2" >&2; exit 1; }
grep -q "matches no measurement; the measurements: wkv_forward, .*sample_all_options" "$work/no_match.txt" ||
  { echo "bench_smoke: --filter no_such_measurement: no list of the measurements:" >&2; cat "$work/no_match.txt" >&2; exit 1; }
echo "bench_smoke: --filter as expected"
# --arch: an unknown version is refused, naming the known ones.
rc=0
"$bench" --smoke --arch v99 >"$work/arch.txt" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "unknown architecture 'v99'; this build knows v4" "$work/arch.txt" ||
  { echo "bench_smoke: --arch v99: exit code $rc, output:" >&2; cat "$work/arch.txt" >&2; exit 1; }
echo "bench_smoke: --arch as expected"
