# What the wrappers that start real daemons for a test share (with_sshd.sh,
# with_slurm.sh; docs/remote.md): sourced, not run.

# A random port for a test daemon, below Linux's ephemeral ports (32768 and up), so
# that no outgoing connection of this machine holds it by chance.
random_test_port() { echo $((20000 + RANDOM % 12000)); }

# wait_until TRIES PAUSE COMMAND...: runs COMMAND until it succeeds, at most TRIES
# times, PAUSE seconds apart; its status is the last try's.
wait_until() {
  local tries=$1 pause=$2
  shift 2
  local i
  for ((i = 1; i < tries; i++)); do
    "$@" && return 0
    sleep "$pause"
  done
  "$@"
}

# Ends the wrapper on TERM and INT with the usual codes, so that its EXIT trap (which
# stops the daemons) runs however the test ends.
exit_on_signals() {
  trap 'exit 143' TERM
  trap 'exit 130' INT
}

# run_beside LOG_TITLE LOG_LINES LOG_FILES... -- PROGRAM [ARGS...]: runs the test
# program and exits with its status; when it failed, the tails of the daemons' logs
# follow its output.
run_beside() {
  local title=$1 lines=$2
  shift 2
  local logs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do logs+=("$1"); shift; done
  shift
  local rc
  set +e
  "$@"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "--- $title ---" >&2
    tail -n "$lines" "${logs[@]}" >&2 2>/dev/null || true
  fi
  exit "$rc"
}
