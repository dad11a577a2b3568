# Sourced by the command-line tests: each check prints "ok: ..." or "FAILED: ..." and counts
# failures; finish reports them and sets the exit status.
failures=0
check() {  # description, then a command that must succeed (its output goes to commands.log)
  local what=$1
  shift
  if "$@" >>commands.log 2>&1; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
fails_with() {  # expected message, then the command; it must exit non-zero and say the message on one line
  local message=$1
  shift
  local out rc
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 0 ] && grep -qF -- "$message" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 1 ]; then
    echo "ok: exit $rc with '$message'"
  else
    echo "FAILED: expected a non-zero exit with one line saying '$message', got exit $rc: $out"
    failures=$((failures + 1))
  fi
}
losses() { grep -o '"loss":[^,]*' "$1"; }  # the training losses of a JSON-lines log
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed; commands.log in $PWD"
    exit 1
  fi
  echo "all checks passed"
}
