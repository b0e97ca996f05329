#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for `nabla sweep --slurm --submit`:
#
#   1. start munged (its own key and socket), slurmctld and slurmd from a generated
#      slurm.conf in a scratch directory (no systemd; ports picked free on 127.0.0.1);
#   2. submit a 4x2 sweep (8 cells) with `nabla sweep FILE --slurm --submit`, wait for the
#      array and its dependent merge job;
#   3. check the merged summary equals the in-process sweep's byte for byte (report.html
#      apart from the cells' seconds), and that every cell trained exactly once;
#   4. delete two cells' results, submit `--slurm --only-missing`, check only those two
#      train again and the merge is the same again;
#   5. stop the daemons by their pid files and delete the scratch directory.
#
# Needs root and Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge). When the
# cluster cannot start here it prints "skipped: <why>" and exits 0.
#
# Usage: tests/slurm/run_cluster_test.sh [path to the nabla binary]
set -euo pipefail

NABLA=${1:-${NABLA_BIN:-target/release/nabla}}
skip() {
    echo "skipped: $*"
    exit 0
}

[ -x "$NABLA" ] || { echo "no nabla binary at $NABLA" >&2; exit 1; }
NABLA=$(cd "$(dirname "$NABLA")" && pwd)/$(basename "$NABLA")
for tool in munged slurmctld slurmd sbatch squeue sinfo scontrol runuser; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install -y slurm-wlm munge)"
done
[ "$(id -u)" = 0 ] || skip "starting slurmd needs root"
id munge >/dev/null 2>&1 || skip "there is no munge user (install Debian's munge package)"

SCRATCH=$(mktemp -d /tmp/nabla-slurm.XXXXXX)
chmod 755 "$SCRATCH"
pids_to_stop=()
teardown() {
    local status=$?
    set +e
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
        scancel --quiet --user=root >/dev/null 2>&1
    fi
    for pidfile in "$SCRATCH/slurmd.pid" "$SCRATCH/slurmctld.pid" "$SCRATCH/munge/munged.pid"; do
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$SCRATCH"
    exit $status
}
trap teardown EXIT

# --- munge: its own key, socket and pid file, run as the munge user -----------------------
mkdir -p "$SCRATCH/munge"
dd if=/dev/urandom of="$SCRATCH/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$SCRATCH/munge"
chmod 700 "$SCRATCH/munge"
chmod 400 "$SCRATCH/munge/munge.key"
SOCKET=$SCRATCH/munge/munge.socket
if ! runuser -u munge -- munged --force \
    --key-file="$SCRATCH/munge/munge.key" --socket="$SOCKET" \
    --pid-file="$SCRATCH/munge/munged.pid" --log-file="$SCRATCH/munge/munged.log" \
    --seed-file="$SCRATCH/munge/munged.seed" 2>"$SCRATCH/munged.err"; then
    skip "munged did not start: $(tail -n 3 "$SCRATCH/munged.err" "$SCRATCH/munge/munged.log" 2>/dev/null | tr '\n' ' ')"
fi

# --- slurm.conf: this host as controller and node, state and logs in the scratch dir ------
free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    skip "no free port found"
}
HOST=$(hostname -s)
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
[ "$CTLD_PORT" != "$SLURMD_PORT" ] || SLURMD_PORT=$((CTLD_PORT + 1))
CPUS=$(nproc)
mkdir -p "$SCRATCH/state" "$SCRATCH/spool"
export SLURM_CONF=$SCRATCH/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=nabla-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/slurmctld.log
SlurmdLogFile=$SCRATCH/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -i -f "$SLURM_CONF" 2>"$SCRATCH/slurmctld.err" || skip "slurmctld did not start: $(tail -n 3 "$SCRATCH/slurmctld.err" "$SCRATCH/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
slurmd -f "$SLURM_CONF" 2>"$SCRATCH/slurmd.err" || skip "slurmd did not start: $(tail -n 3 "$SCRATCH/slurmd.err" "$SCRATCH/slurmd.log" 2>/dev/null | tr '\n' ' ')"
ready=no
for _ in $(seq 60); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    if [ "$state" = idle ]; then ready=yes; break; fi
    sleep 0.5
done
[ "$ready" = yes ] || skip "the node did not become idle (state '${state:-none}'): $(tail -n 5 "$SCRATCH/slurmctld.log" "$SCRATCH/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "cluster up: $HOST, slurmctld :$CTLD_PORT, slurmd :$SLURMD_PORT, $CPUS CPUs"

# --- the sweep: 4 L2 values x 2 replicates of a tiny MLP on the built-in sample -----------
WORK=$SCRATCH/work
mkdir -p "$WORK"
cat >"$WORK/sweep.toml" <<'EOF'
name = "cluster sweep"
[data]
source = "mnist-sample"
limit = 300
[model]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 16, activation = "relu" },
  { type = "Dense", units = 10, activation = "softmax" },
]
[training]
epochs = 1
batch_size = 32
[sweep]
replicates = 2
grid = { "model.l2" = [1e-6, 1e-5, 1e-4, 1e-3] }
EOF
export NABLA_TEST_TRAIN_LOG=$WORK/trainings.log
cd "$WORK"

# Waits until none of the given jobs is queued or running (bounded: 10 minutes).
wait_jobs() {
    for _ in $(seq 1200); do
        [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
        sleep 0.5
    done
    echo "jobs $1 still queued after 10 minutes:" >&2
    squeue >&2
    return 1
}

# Submits with `--slurm --submit ARGS...` and waits for the array and its merge job.
submit_and_wait() {
    "$NABLA" sweep sweep.toml --out "$WORK/cluster" --threads 1 --slurm --submit --jobs 2 "$@" | tee "$WORK/submit.txt"
    array=$(sed -n 's/^Submitted array job \([0-9]*\)$/\1/p' "$WORK/submit.txt")
    merge=$(sed -n 's/^Submitted merge job \([0-9]*\) .*/\1/p' "$WORK/submit.txt")
    [ -n "$array" ] && [ -n "$merge" ] || { echo "no job ids in the output of --submit" >&2; exit 1; }
    wait_jobs "$array,$merge"
    if [ ! -f "$WORK/cluster/summary.csv" ]; then
        echo "the merge job wrote no summary; task logs:" >&2
        tail -n 20 "$WORK"/cluster/slurm/*.out >&2 || true
        exit 1
    fi
}

same_outputs() {
    for f in summary.csv summary.json sweep.svg; do
        cmp "$WORK/local/$f" "$WORK/cluster/$f" || { echo "$f differs from the in-process sweep's" >&2; exit 1; }
    done
    # The report's cells table has each cell's seconds (one decimal): everything else is equal.
    mask() { sed -E 's#<td>[0-9]+\.[0-9]</td>#<td>(seconds)</td>#g' "$1"; }
    if ! diff <(mask "$WORK/local/report.html") <(mask "$WORK/cluster/report.html") >/dev/null; then
        echo "report.html differs from the in-process sweep's beyond timings" >&2
        exit 1
    fi
}

submit_and_wait
grep -q '^#SBATCH --array=0-7%2$' "$WORK/cluster/slurm/cells.sbatch" || { echo "unexpected --array line" >&2; exit 1; }
trained=$(wc -l <"$NABLA_TEST_TRAIN_LOG")
[ "$trained" = 8 ] || { echo "expected 8 trainings on the cluster, counted $trained" >&2; cat "$NABLA_TEST_TRAIN_LOG" >&2; exit 1; }
[ "$(cut -d' ' -f1 "$NABLA_TEST_TRAIN_LOG" | sort -n | uniq | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 " ] || { echo "some cell trained twice" >&2; exit 1; }
ls "$WORK"/cluster/slurm/*-merge.out >/dev/null || { echo "the merge job left no output" >&2; exit 1; }

# The same sweep in one process, elsewhere; it must not count as cluster trainings.
NABLA_TEST_TRAIN_LOG=$WORK/local.log "$NABLA" sweep sweep.toml --out "$WORK/local" --threads 1 --jobs 1 >/dev/null
same_outputs
echo "cluster sweep: 8 cells, each trained once, merged summary equals the in-process one"

# Two cells lost: --only-missing submits just those, and the merge is the same again.
rm "$WORK/cluster/cells/p001-r1.json" "$WORK/cluster/cells/p003-r0.json" "$WORK/cluster/summary.csv"
: >"$NABLA_TEST_TRAIN_LOG"
submit_and_wait --only-missing
grep -q '^#SBATCH --array=3,6%2$' "$WORK/cluster/slurm/cells.sbatch" || { echo "--only-missing did not ask for cells 3 and 6:" >&2; grep array "$WORK/cluster/slurm/cells.sbatch" >&2; exit 1; }
[ "$(cut -d' ' -f1 "$NABLA_TEST_TRAIN_LOG" | sort -n | tr '\n' ' ')" = "3 6 " ] || { echo "--only-missing trained: $(cat "$NABLA_TEST_TRAIN_LOG")" >&2; exit 1; }
same_outputs
echo "only-missing: cells 3 and 6 trained again, merged summary equal again"
echo "slurm cluster test passed"
