# The step harness of tools/gpu-check and tools/multi-gpu-check (sourced, not run): a summary
# table in $out/summary.md, and step NAME LOGFILE COMMAND... that runs one check bounded by
# GPU_CHECK_STEP_TIMEOUT (default 400 s) and, with GPU_CHECK_DEADLINE=S (seconds from the start),
# skips the steps that would begin after it. $status becomes 1 when a step fails. Needs $out.
summary="$out/summary.md"
status=0
echo "| step | result | seconds |" >"$summary"
echo "|---|---|---|" >>"$summary"

deadline="${GPU_CHECK_DEADLINE:-0}"
step_timeout="${GPU_CHECK_STEP_TIMEOUT:-400}"
export build=build-gpu out
step() {  # step NAME LOGFILE COMMAND... (COMMAND may be a function of this script)
  local name="$1" log="$2" limit="$step_timeout" rc=0
  shift 2
  if ((deadline > 0)); then
    local left=$((deadline - SECONDS))
    if ((left < 15)); then
      echo "| $name | skipped (deadline) | 0 |" >>"$summary"
      status=1
      return
    fi
    ((left < limit)) && limit=$left
  fi
  local t0=$SECONDS
  echo "== $name ($(date +%T), limit ${limit} s)" | tee -a "$out/progress.log"
  # A child bash with this script's functions, so that timeout can end a function's whole work.
  timeout -k 10 "$limit" bash -c "$(declare -f); \"\$@\"" step "$@" >"$out/$log" 2>&1 || rc=$?
  # A GoogleTest binary's counts (summed over shards): a step whose every test skipped tested
  # nothing, and fails.
  local counts="" passed skipped failed
  if grep -q '^\[  PASSED  \]\|^\[  FAILED  \] [0-9]* test\|^\[  SKIPPED \]' "$out/$log"; then
    passed=$(gtest_count PASSED "$out/$log") skipped=$(gtest_count SKIPPED "$out/$log")
    failed=$(gtest_count FAILED "$out/$log")
    counts=" ($passed passed, $skipped skipped, $failed failed)"
    if ((rc == 0 && passed == 0)); then
      rc=1
      counts="$counts: every test skipped"
    fi
  fi
  if ((rc == 0)); then
    echo "| $name | pass$counts | $((SECONDS - t0)) |" >>"$summary"
  else
    local why="rc $rc"
    ((rc == 124 || rc == 137)) && why="timed out after ${limit} s"
    echo "| $name | FAIL ($why$counts, see $log) | $((SECONDS - t0)) |" >>"$summary"
    status=1
    tail -n 40 "$out/$log"
  fi
}
# gtest_count PASSED|SKIPPED|FAILED LOG: the sum of GoogleTest's summary counts of that kind.
gtest_count() {
  local tag="$1"
  [ "$tag" = SKIPPED ] && tag="SKIPPED "
  grep -o "^\[  $tag\(  \)\?\] [0-9]* test" "$2" | awk '{ n += $(NF - 1) } END { print n + 0 }'
}
