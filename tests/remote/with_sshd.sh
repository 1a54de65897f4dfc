#!/usr/bin/env bash
# Runs a test program beside a real sshd made for it (docs/remote.md): host keys and
# user keys generated here, an sshd on 127.0.0.1 at a free high port that accepts only
# the test's key, and ssh client configurations for the cases the test checks. The
# sshd and every session it started are stopped when this script ends, however it ends.
#
#   with_sshd.sh PROGRAM [ARGS...]
#
# PROGRAM sees PLAB_TEST_SSH_DIR (the folder below), PLAB_TEST_SSH_PORT, PLAB_TEST_SSH_USER
# and PLAB_TEST_SSHD_PID. In the folder, ssh_config_<case> for each case:
#   good            the host key known, the accepted user key
#   wrong_host_key  known_hosts holds another key for the host
#   unknown_host    known_hosts is empty
#   refused_key     a user key that authorized_keys does not hold
# Exit 77 (skipped) when sshd, ssh or ssh-keygen is missing (scripts/setup.sh installs them).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemons.sh"

sshd=/usr/sbin/sshd
for tool in ssh ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup.sh installs openssh-client)"; exit 77; }
done
[ -x "$sshd" ] || { echo "SKIP: $sshd is not installed (scripts/setup.sh installs openssh-server)"; exit 77; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/plab-sshd.XXXXXX")
sshd_pid=""
# The processes whose parent is $1, from /proc (no procps needed).
children_of() {
  local stat rest
  for stat in /proc/[0-9]*/stat; do
    read -r rest < "$stat" 2>/dev/null || continue
    rest=${rest##*) }          # after the command name, which may hold spaces
    set -- "$1" $rest          # $2 state, $3 parent
    [ "$3" = "$1" ] && { stat=${stat#/proc/}; echo "${stat%/stat}"; }
  done
}
descendants_of() {
  local child
  for child in $(children_of "$1"); do
    echo "$child"
    descendants_of "$child"
  done
}
stop_sshd() {
  if [ -n "$sshd_pid" ]; then
    # Every process the sessions started (a remote worker, say), the sessions (each a
    # child of the listener), then the listener itself. Listed before any is killed:
    # a session's command outlives its session, reparented away from the listener.
    local tree
    tree=$(descendants_of "$sshd_pid")
    for pid in $tree; do kill "$pid" 2>/dev/null || true; done
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap stop_sshd EXIT
exit_on_signals

user=$(id -un)
ssh-keygen -q -t ed25519 -N '' -C plab-test-host -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -C plab-test-other-host -f "$dir/other_host_key"
ssh-keygen -q -t ed25519 -N '' -C plab-test-user -f "$dir/user_key"
ssh-keygen -q -t ed25519 -N '' -C plab-test-refused -f "$dir/refused_key"
cp "$dir/user_key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
# sshd wants its privilege separation folder even when it runs as root.
[ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd

# A free port: try random high ones until sshd says it listens (a port taken by
# another process makes it exit with "Cannot bind any address").
port=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  candidate=$(random_test_port)
  cat > "$dir/sshd_config" <<CONF
Port $candidate
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
# OpenBLAS picks its kernel (and so the order of fp32 sums) from OPENBLAS_CORETYPE when
# set: the worker at the other end must use the one this side uses for its runs to be
# bit-identical to local ones (docs/remote.md, "Same results").
AcceptEnv OPENBLAS_*
CONF
  "$sshd" -D -e -f "$dir/sshd_config" 2> "$dir/sshd.log" &
  sshd_pid=$!
  # Listening, or gone (the port was taken).
  wait_until 100 0.05 eval 'grep -q "Server listening" "$dir/sshd.log" || ! kill -0 "$sshd_pid" 2>/dev/null' || true
  if grep -q "Server listening" "$dir/sshd.log"; then
    port=$candidate
    break
  fi
  wait "$sshd_pid" 2>/dev/null || true
  sshd_pid=""
done
if [ -z "$port" ]; then
  echo "cannot start sshd on a free port; its last log:" >&2
  cat "$dir/sshd.log" >&2
  exit 1
fi

host_line() { echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$1")"; }
host_line "$dir/host_key.pub" > "$dir/known_hosts_good"
host_line "$dir/other_host_key.pub" > "$dir/known_hosts_wrong"
: > "$dir/known_hosts_empty"
write_config() {  # case known_hosts identity
  cat > "$dir/ssh_config_$1" <<CONF
Host 127.0.0.1
  User $user
  IdentityFile $dir/$3
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $dir/$2
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  ConnectTimeout 10
  SendEnv OPENBLAS_*
CONF
}
write_config good known_hosts_good user_key
write_config wrong_host_key known_hosts_wrong user_key
write_config unknown_host known_hosts_empty user_key
write_config refused_key known_hosts_good refused_key

# The set-up itself must work before the program's checks mean anything.
if ! ssh -F "$dir/ssh_config_good" -o BatchMode=yes -p "$port" 127.0.0.1 true; then
  echo "the test's own ssh login to 127.0.0.1:$port failed; sshd's log:" >&2
  cat "$dir/sshd.log" >&2
  exit 1
fi

export PLAB_TEST_SSH_DIR=$dir PLAB_TEST_SSH_PORT=$port PLAB_TEST_SSH_USER=$user PLAB_TEST_SSHD_PID=$sshd_pid
run_beside "sshd log" 40 "$dir/sshd.log" -- "$@"
