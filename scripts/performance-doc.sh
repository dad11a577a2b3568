#!/usr/bin/env bash
# Regenerates docs/PERFORMANCE.md from docs/perf/analysis.md (hand-written) and the rwkv-bench
# JSON reports in docs/perf/ (rwkv-bench --json docs/perf/NAME.json), taken in name order:
#   scripts/performance-doc.sh           write docs/PERFORMANCE.md
#   scripts/performance-doc.sh --check   exit 1 if docs/PERFORMANCE.md is not what it would write
# Name reports MACHINE-YYYY-MM-DD-REVISION.json so that each machine's newest run comes last.
# PYTHON (default python3) runs scripts/bench-table.py, which needs the standard library only.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "performance-doc.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

shopt -s nullglob
reports=(docs/perf/*.json)
out=docs/PERFORMANCE.md
tmp=$(mktemp "${TMPDIR:-/tmp}/performance-doc.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"${PYTHON:-python3}" scripts/bench-table.py --performance docs/perf/analysis.md "${reports[@]}" >"$tmp"

if [ $check -eq 1 ]; then
  if ! diff -u "$out" "$tmp" >&2; then
    echo "performance-doc.sh: $out is out of date: run scripts/performance-doc.sh (edit docs/perf/analysis.md, not $out)" >&2
    exit 1
  fi
  echo "performance-doc.sh: $out is up to date (${#reports[@]} JSON reports)"
else
  cp "$tmp" "$out"
  echo "performance-doc.sh: wrote $out from docs/perf/analysis.md and ${#reports[@]} JSON reports" >&2
fi
