#!/usr/bin/env bash
# Runs a test program beside a real single-node Slurm cluster made for it (docs/remote.md):
# a munged with its own key and socket, a slurmctld and a slurmd on 127.0.0.1 at free
# high ports, this machine as the only node, every file in one temporary folder. The
# daemons are stopped when this script ends, however it ends.
#
#   with_slurm.sh PROGRAM [ARGS...]
#
# PROGRAM sees SLURM_CONF (so sbatch, squeue and scontrol reach this cluster) and
# PLAB_TEST_SLURM_DIR. Exit 77 (skipped) when munged, slurmctld, slurmd or sbatch is
# missing (scripts/setup.sh installs them) or when not run as root (slurmd starts jobs
# as their user, which takes root).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemons.sh"

for tool in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "SKIP: $tool is not installed (scripts/setup.sh installs munge, slurmctld, slurmd, slurm-client)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: a test Slurm cluster needs root (slurmd runs jobs as their user)"; exit 77; }
export PATH="$PATH:/usr/sbin"

dir=$(mktemp -d "${TMPDIR:-/tmp}/plab-slurm.XXXXXX")
chmod 755 "$dir"
pids=()
stop_cluster() {
  set +e
  # Jobs first, so that no task of this cluster outlives it.
  [ -n "${SLURM_CONF:-}" ] && [ ${#pids[@]} -ge 3 ] && scancel --quiet --user="$(id -un)" 2>/dev/null
  # slurmd first (it ends the job steps it started), then the controller, then munge.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${pids[$i]}" 2>/dev/null
    wait "${pids[$i]}" 2>/dev/null
  done
  rm -rf "$dir"
}
trap stop_cluster EXIT
exit_on_signals

mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
# --force: munged refuses a key folder it does not own outright otherwise.
munged --foreground --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
  2> "$dir/log/munged.err" &
pids+=($!)
wait_until 100 0.05 test -S "$dir/munge/munge.socket" || { echo "munged did not start:" >&2; cat "$dir/log/munged.err" "$dir/munge/munged.log" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=""
for _ in $(seq 1 20); do
  p=$(random_test_port)
  if port_free "$p" && port_free $((p + 1)); then ctld_port=$p; break; fi
done
[ -n "$ctld_port" ] || { echo "no two free ports found" >&2; exit 1; }
node=$(hostname -s)
# The node line as slurmd sees this machine (CPUs, sockets, memory), named after it.
node_line=$(slurmd -C | head -n 1)
cat > "$dir/slurm.conf" <<CONF
ClusterName=plabtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups (a container may have none to give): processes are tracked by parentage.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=plab Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -D -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
pids+=($!)

# Ready when the node is idle in its partition.
node_idle() { [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ]; }
if ! wait_until 300 0.1 node_idle; then
  echo "the test cluster did not come up; its logs:" >&2
  tail -n 20 "$dir/log/"* >&2
  exit 1
fi

export PLAB_TEST_SLURM_DIR=$dir
run_beside "slurmctld and slurmd logs" 30 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" -- "$@"
