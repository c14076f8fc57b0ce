#!/usr/bin/env bash
# Generate (or resume) a table on a machine with an NVIDIA GPU and no network, in one call:
# install the given wheels, print the device, run the throughput benchmark briefly, then
# train until a time limit and report the rows done. docs/table.md, "On a GPU in one call".
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benchmarks/gpu_run.sh [--preset NAME] [--dataset NAME] [--minutes N] [--out PATH] [--wheels DIR]
                             [--throughput-args "ARGS"] [--skip-throughput]
                             [--generate-args "ARGS"]

  --preset NAME             trainer preset of the table and the benchmark (default: gpu)
  --dataset NAME            dataset (task) of the table (default: mnist1d)
  --minutes N               time limit of the generation, fractions allowed (default: 8)
  --out PATH                table to create or resume (default: data/nb201_DATASET_gpu.h5)
  --wheels DIR              wheels to install offline (default: .whl; skipped if missing or empty)
  --throughput-args "ARGS"  extra arguments for benchmarks/train_throughput.py
  --skip-throughput         do not run the throughput benchmark
  --generate-args "ARGS"    extra arguments for generate (e.g. "--chunk 128")

Relative paths are taken from the current directory; the commands run in the repository
root. Logs go to PATH without .h5 + .logs/ and, when $OUT is set, the table and the logs
are copied into $OUT at the end. Environment: PYTHON (default python3), SITE (where the
wheels are installed, default $TMPDIR/nasbench-lite-site), NASBENCH_LITE_CACHE (caches).
Reaching the time limit is success: the table keeps every finished chunk and a later run
resumes it.
EOF
}

die() {
    echo "gpu_run: error: $*" >&2
    exit 2
}

step() { printf '\n== %s ==\n' "$*"; }

absolute() { # a path from the caller's directory, made absolute
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$PWD/$1" ;;
    esac
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=gpu
dataset=mnist1d
minutes=8
out=
wheels=$ROOT/.whl
throughput_args=""
generate_args=""
skip_throughput=0
while (($#)); do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --skip-throughput) skip_throughput=1; shift; continue ;;
        --preset | --dataset | --minutes | --out | --wheels | --throughput-args | --generate-args)
            (($# >= 2)) || die "$1 needs a value" ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    case $1 in
        --preset) preset=$2 ;;
        --dataset) dataset=$2 ;;
        --minutes) minutes=$2 ;;
        --out) out=$(absolute "$2") ;;
        --wheels) wheels=$(absolute "$2") ;;
        --throughput-args) throughput_args=$2 ;;
        --generate-args) generate_args=$2 ;;
    esac
    shift 2
done
[[ $minutes =~ ^([0-9]+([.][0-9]*)?|[.][0-9]+)$ ]] || die "--minutes '$minutes' is not a number"
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%.1f", m * 60 }')
awk -v s="$seconds" 'BEGIN { exit !(s > 0) }' || die "--minutes $minutes is not positive"
out=${out:-$ROOT/data/nb201_${dataset}_gpu.h5}  # named for its task
[[ $out == *.h5 ]] || die "--out '$out' does not end in .h5"
read -r -a extra_throughput <<<"$throughput_args"
read -r -a extra_generate <<<"$generate_args"

PYTHON=${PYTHON:-python3}
SITE=${SITE:-${TMPDIR:-/tmp}/nasbench-lite-site}
export PYTHONUNBUFFERED=1
cd "$ROOT"

logs=${out%.h5}.logs
stamp=$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logs" "$(dirname "$out")"
log=$logs/gpu_run_$stamp.log
# Everything below goes to the terminal and to the log; the original streams are kept in
# fds 3 and 4 so that the exit handler can wait for tee to finish the log.
exec 3>&1 4>&2
exec > >(tee -a "$log") 2>&1
tee_pid=$!

finish() {
    local rc=$?
    if [[ -n ${OUT:-} ]]; then
        mkdir -p "$OUT"
        if [[ -f $out ]]; then
            cp -p "$out" "$OUT/" && echo "copied $out to $OUT/" || echo "could not copy $out"
        fi
    fi
    if ((rc == 0)); then echo "gpu_run: done"; else echo "gpu_run: failed (exit $rc)"; fi
    exec 1>&3 2>&4
    wait "$tee_pid" 2>/dev/null || true
    if [[ -n ${OUT:-} ]]; then cp -rp "$logs" "$OUT/" || echo "could not copy $logs" >&2; fi
    exit "$rc"
}
trap finish EXIT

echo "gpu_run: preset $preset, dataset $dataset, time limit $minutes min, table $out"
echo "gpu_run: repository $ROOT, log $log, $(date -Is)"

step "1. wheels"
shopt -s nullglob
wheel_files=("$wheels"/*.whl)
shopt -u nullglob
if [[ ! -d $wheels ]]; then
    echo "no wheel directory $wheels: nothing to install, using the packages already present"
elif ((${#wheel_files[@]} == 0)); then
    echo "no wheels in $wheels: nothing to install, using the packages already present"
else
    # A distribution the image already has is kept: its version matches the image's jax.
    listing=$("$PYTHON" - "${wheel_files[@]}" <<'EOF'
import importlib.metadata as metadata
import os
import sys

for path in sys.argv[1:]:
    name = os.path.basename(path).split("-")[0]
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(path)
    else:
        print(f"already installed: {name} {version}, skipping {path}", file=sys.stderr)
EOF
    )
    install=()
    [[ -z $listing ]] || mapfile -t install <<<"$listing"
    if ((${#install[@]} == 0)); then
        echo "every wheel in $wheels is already installed"
    else
        echo "installing ${#install[@]} wheel(s) from $wheels into $SITE"
        if "$PYTHON" -m pip --version >/dev/null 2>&1; then
            "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --upgrade \
                --target "$SITE" "${install[@]}"
        else # a wheel is a zip file laid out for site-packages
            echo "no pip for $PYTHON: unpacking the wheels instead"
            "$PYTHON" -c 'import sys, zipfile
for wheel in sys.argv[2:]:
    zipfile.ZipFile(wheel).extractall(sys.argv[1])' "$SITE" "${install[@]}"
        fi
        printf '  %s\n' "${install[@]##*/}"
    fi
fi
export PYTHONPATH=$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}

step "2. device and versions"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
else
    echo "nvidia-smi: not found"
fi
devices=$("$PYTHON" -c 'import jax; print(jax.devices(), jax.default_backend())') ||
    { echo "gpu_run: JAX could not start"; exit 1; }
echo "$devices"
backend=${devices##* }
count=$(grep -o 'id=' <<<"$devices" | wc -l)
[[ $backend == gpu ]] || echo "warning: JAX's backend is '$backend', not gpu: training runs there"
"$PYTHON" - <<'EOF'
import importlib
import importlib.metadata as metadata
import platform

print("python", platform.python_version())
for name in ("jax", "jaxlib", "flax", "optax", "h5py", "mnist1d", "numpy", "scipy", "tqdm"):
    try:
        print(name, metadata.version(name))
    except metadata.PackageNotFoundError:
        print(name, "not installed")
missing = []
for module in ("flax.linen", "optax", "h5py", "tqdm", "scipy.stats", "mnist1d.data",
               "nasbench_lite.generate.run", "nasbench_lite.table.reader"):
    try:
        importlib.import_module(module)
    except ImportError as err:
        missing.append(f"{module}: {err}")
if missing:
    raise SystemExit("cannot import (add the wheels to --wheels):\n  " + "\n  ".join(missing))
EOF

step "3. throughput"
if ((skip_throughput)); then
    echo "skipped (--skip-throughput)"
else
    # --quick measures 4 classes, generate's CPU chunk; on an accelerator generate's chunk
    # is 64 classes per device.
    chunk=()
    [[ $backend == cpu ]] || chunk=(--classes $((64 * count)))
    command=("$PYTHON" benchmarks/train_throughput.py --quick --preset "$preset" "${chunk[@]}"
        "${extra_throughput[@]}")
    echo "${command[*]}"
    "${command[@]}" 2>&1 | tee "$logs/throughput_$stamp.txt" ||
        { echo "gpu_run: the throughput benchmark failed"; exit 1; }
fi

step "4. generate"
if [[ -f $out ]]; then
    "$PYTHON" - "$out" <<'EOF'
import sys
from nasbench_lite.table.reader import Table

table = Table.open(sys.argv[1])
print(f"resuming {sys.argv[1]}: {int(table.done.sum())} of {table.num_rows} rows done")
EOF
else
    echo "creating $out"
fi
command=("$PYTHON" -m nasbench_lite generate --space nb201 --dataset "$dataset" --preset "$preset"
    --seeds 3 --out "$out" "${extra_generate[@]}")
echo "${command[*]}   (time limit ${seconds} s)"
start=$(date +%s.%N)
rc=0
# SIGINT at the limit, KILL 10 s later if it has not stopped (Python can swallow the
# KeyboardInterrupt, e.g. in a garbage-collector callback of JAX's). The table is written
# atomically after every chunk, so either loses only the chunk in flight.
timeout --signal=INT --kill-after=10 "$seconds" "${command[@]}" || rc=$?
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
if ((rc == 0)); then
    echo "generation finished in ${elapsed} s"
elif ((rc == 124)) || { ((rc == 137)) && ((elapsed >= ${seconds%.*})); }; then
    how=$( ((rc == 124)) && echo "stopped by SIGINT" || echo "killed 10 s after SIGINT")
    echo "time limit reached after ${elapsed} s ($how): the table keeps every finished chunk"
else
    echo "gpu_run: generation failed after ${elapsed} s (exit $rc)"
    exit 1
fi
if [[ ! -f $out ]]; then
    echo "gpu_run: no chunk finished within ${minutes} min: $out was not written"
    exit 1
fi

step "5. table"
"$PYTHON" - "$out" <<'EOF'
import sys
from nasbench_lite.cli import main
from nasbench_lite.table.reader import Table

code = main(["info", sys.argv[1]])  # nasbench-lite info
if code:
    sys.exit(code)
table = Table.open(sys.argv[1])
print(f"rows done: {int(table.done.sum())} of {table.num_rows} ({sys.argv[1]})")
EOF
