#!/usr/bin/env bash
# Issue 17 on a lent GPU, in one device call: train a generator on the streamed world for a fixed wall
# time, evaluate its faithfulness there, and bring the weights and tables back under $OUT.
#
# Here (PyPI reachable), once:   ../shared/gpu/wheels.sh gpu-wheels && echo /gpu-wheels/ >> .git/info/exclude
# Then one `run` of the device tool (carry: ["gpu-wheels"], timeout_s 600):
#   MINUTES=5 bash docs/results/faithfulness-scaling/gpu_run.sh
# Back here, from the returned files (files_at):
#   bash docs/results/faithfulness-scaling/gpu_run.sh unpack FILES_AT runs/gpu-bundle
#   vim eval faithfulness --checkpoint runs/gpu-bundle -n 1000 --scales 1,1.5   # CPU numbers, world FID
#
# Knobs (environment): MINUTES of training after a short throughput probe; PRESET and SETS (extra
# --set flags, e.g. a wider decoder); BATCH; WORKERS (grain processes rendering the world; the world
# renders at ~1.6 ms per 64x64 image per core, so the data, not the GPU, bounds the tiny model);
# EVAL_N test captions; DRY=1 runs the whole flow on this machine's CPU at toy sizes.
set -euo pipefail

if [[ "${1:-}" == "unpack" ]]; then
  files=${2:?usage: gpu_run.sh unpack FILES_AT BUNDLE_DIR}
  bundle=${3:?usage: gpu_run.sh unpack FILES_AT BUNDLE_DIR}
  mkdir -p "$bundle"
  cp -r checkpoints/shapes-tiny/. "$bundle"/ && rm -rf "$bundle/parti"   # the parts the run did not change
  cat "$files"/bundle.tar.part* | tar -xf - -C "$bundle"
  echo "bundle in $bundle"
  exit 0
fi

MINUTES=${MINUTES:-5}
PRESET=${PRESET:-tiny}
BATCH=${BATCH:-256}
WORKERS=${WORKERS:-12}
EVAL_N=${EVAL_N:-1000}
SETS=${SETS:-}
OUT=${OUT:?set OUT to the folder whose files come back}
WORK=$(mktemp -d)
LOGS=$WORK/logs   # tarred into $OUT at the end (the tool returns at most 8 files); run.log comes back even on a timeout
mkdir -p "$LOGS"
PROBE_STEPS=150
if [[ "${DRY:-0}" == 1 ]]; then   # the same flow on a CPU at toy sizes, to check the script itself
  MINUTES=0.5 BATCH=8 WORKERS=0 EVAL_N=8 PROBE_STEPS=20
fi

if [[ -d gpu-wheels ]]; then
  SITE=$(mktemp -d)
  python3 -m pip install -q --no-index --no-deps --target "$SITE" gpu-wheels/*.whl
  cp -r gpu-wheels/promise "$SITE"/
  export PYTHONPATH="$SITE:$PWD" VIM_MALLOC=system
fi
PY=${PY:-python3}
vim() { "$PY" -m vim.cli "$@"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/run.log"; }

{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || lscpu | grep 'Model name'; } \
  | tee "$LOGS/machine.txt"
"$PY" -c "import jax; print(jax.__version__, jax.devices())" | tee -a "$LOGS/machine.txt"

BUNDLE=checkpoints/shapes-tiny
COMMON=(--preset "$PRESET" --tokenizer "$BUNDLE/tokenizer"
  --set data.dataset=shapes-stream --set data.world.num_train=100000000
  --set text.model_path="$BUNDLE/text_tokenizer.model" --set data.batch_size="$BATCH"
  --set data.num_workers="$WORKERS" --set train.progress=false $SETS)

# 1. Throughput probe: steps per second after compilation, to size the real run to MINUTES.
log "probe: $PROBE_STEPS steps at batch $BATCH"
vim train-parti "${COMMON[@]}" --workdir "$WORK/probe" --set train.num_steps="$PROBE_STEPS" \
  --set train.checkpoint_every=100000 --set train.eval_every=100000 > "$LOGS/probe.log" 2>&1
RATE=$("$PY" -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; \
print(max(r.get('steps_per_second', 0) for r in rows))" "$WORK/probe/metrics.jsonl")
STEPS=$("$PY" -c "print(max(100, int($RATE * $MINUTES * 60 * 0.95)))")
log "rate $RATE steps/s -> $STEPS steps ($((STEPS * BATCH)) images) in about $MINUTES min"

# 2. The run: the whole cosine schedule inside the budget.
vim train-parti "${COMMON[@]}" --workdir "$WORK/run" --set train.num_steps="$STEPS" \
  --set train.checkpoint_every="$STEPS" --set train.eval_every="$STEPS" > "$LOGS/train.log" 2>&1
cp "$WORK/run/metrics.jsonl" "$LOGS/metrics.jsonl"
log "trained: $(tail -1 "$WORK/run/metrics.jsonl")"

# 3. A bundle: the shipped tokenizer, scorer and upsampler with the new generator.
cp -r "$BUNDLE" "$WORK/bundle"
rm -rf "$WORK/bundle/parti"
vim export --tokenizer "$BUNDLE/tokenizer" --parti "$WORK/run" -o "$WORK/new" --cfg 1.5 --temperature 0.7 \
  > "$LOGS/export.log" 2>&1
cp -r "$WORK/new/parti" "$WORK/bundle/parti"
cp "$WORK/new/card.json" "$WORK/bundle/card.json"

# 4. Faithfulness there (world FID needs the Inception weights: run it here after unpacking).
vim eval faithfulness --checkpoint "$WORK/bundle" -n "$EVAL_N" --scales 1,1.5,2 --fid-images 0 \
  -o "$OUT/faithfulness.json" > "$LOGS/eval.log" 2>&1
vim eval faithfulness --checkpoint "$WORK/bundle" -n "$EVAL_N" --scales 1.5 --candidates 16 --fid-images 0 \
  -o "$OUT/faithfulness_rerank16.json" >> "$LOGS/eval.log" 2>&1
log "eval:"; grep -h "^| [0-9]" "$LOGS/eval.log" | tee -a "$OUT/run.log"

# 5. Weights back: parts of at most 15 MiB (the device tool returns files of at most 16 MiB).
tar -cf - -C "$WORK/bundle" parti card.json | split -b 15M - "$OUT/bundle.tar.part"
tar -cf "$OUT/logs.tar" -C "$WORK" logs
ls -la "$OUT" | tee -a "$OUT/run.log"
