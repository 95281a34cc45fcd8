#!/usr/bin/env bash
# The paper protocol's remaining rows (launch/reproduce.py --plan) on a lent GPU machine, in one
# device call of at most 10 minutes: several training commands share the GPU at once, each lands
# in results/ as it finishes, and what has landed comes back as $OUT/results.tar.gz with the log.
#
# Here, once: bash launch/gpu_protocol.sh --wheels   (the packages the device image lacks, into
# .whl/, which .git/info/exclude must name). There, through the device tool: the command
# `bash launch/gpu_protocol.sh` with carry [".whl"]. On a CPU, the same path at 1 epoch, into a
# copy of results/ (1-epoch rows land in tableN_e1 there):
#   cp -r results /tmp/r && RESULTS=/tmp/r EPOCHS=1 PARALLEL=2 OUT=/tmp/o bash launch/gpu_protocol.sh
# (LIMIT=N runs only the plan's first N entries.)
# Unpack the tarball over results/ and commit what landed (tables, figures, embeddings, audio).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(ml-collections soundfile tinysoundfont pretty_midi mido soxr)  # beyond the image's jax, flax, optax, orbax

if [[ "${1:-}" == "--wheels" ]]; then
    rm -rf .whl
    for pkg in "${WHEELS[@]}"; do
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
            -d .whl "$pkg"
    done
    ls .whl
    exit 0
fi

PY=python3
if [[ -d .whl ]] && command -v nvidia-smi > /dev/null; then  # the device machine: its image's
    # Python, with the carried wheels beside it
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
elif [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
fi
OUT="${OUT:?set OUT to the folder that receives the results}"
RESULTS="${RESULTS:-results}"
EPOCHS="${EPOCHS:-300}"
PARALLEL="${PARALLEL:-8}"
LIMIT="${LIMIT:+--limit $LIMIT}"
# each process takes GPU memory as it needs it, instead of three quarters of the card
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
mkdir -p "$OUT"
DEADLINE=540  # seconds from the script's start (wheels included): the tarball is then written
{             # inside the device call's 10 minutes
    $PY launch/reproduce.py --plan --epochs "$EPOCHS" --out "$RESULTS"  # builds the corpora
    # runs that have not finished by then are stopped (and lost with the machine)
    rc=0
    # shellcheck disable=SC2086  # LIMIT is empty or two words
    left=$((DEADLINE - SECONDS > 1 ? DEADLINE - SECONDS : 1))
    timeout --signal=INT "$left" $PY launch/reproduce.py --epochs "$EPOCHS" \
        --parallel "$PARALLEL" --out "$RESULTS" $LIMIT || rc=$?
    if [[ $rc == 124 ]]; then
        echo "stopped at the deadline: what landed is in the tarball; run again to go on"
    elif [[ $rc != 0 ]]; then
        echo "reproduce.py failed (exit $rc): what landed is in the tarball"
    fi
    ls runs/paper*/*/final.json 2>/dev/null | while read -r f; do echo "$f: $(cat "$f")"; done
} 2>&1 | tee "$OUT/log"
tar czf "$OUT/results.tar.gz" -C "$RESULTS" --exclude=./pretrained .
ls -l "$OUT"
