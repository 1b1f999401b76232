#!/usr/bin/env bash
# paper-tables.sh -- TrafficGPT's experiments (arXiv 2403.05822, Tables I-VII
# and Fig. 3) as one command: linear attention vs RetNet retention vs RWKV,
# short vs long pre-training context, the fine-tuning length sweep, and
# training speed and memory per context.
#
# usage: scripts/paper-tables.sh [-s] [-p PRESET] [-t TOKENS] [-v VARIANTS] [-c CTXS] [-C CTXS]
#          [-w CTX] [-P DIRS] [-b BATCH] [-e EPOCHS] [-k FLOWS] [-T TOKENS] [-L DURATION]
#          [-F LENS] [-X LENS] [-R] [-l LABELS] [-g GROUP] [-n FLOWS] [-r SEED] [-M MASK] DATA OUT
#   DATA  captures, labelled by folder (DATA/<class>/...) or by file name
#   OUT   output directory (created; must be empty): OUT/tables.md, OUT/sweep.png,
#         every run under OUT/runs, OUT/speed, logs under OUT/logs
#   -s    smoke test: tiny model, contexts 256/512, 4,096 tokens (about a minute)
#   -p    model preset (default small; paper is the paper's 24 x 512 shape) or config JSON
#         (its attention key is replaced by each variant's)
#   -t    pre-training tokens per variant and context (default 2000000: the same
#         budget for every run, so steps = TOKENS / (batch * context))
#   -v    attention variants (default linear,retention,rwkv; also quadratic, and
#         retention-pure, rwkv-pure: no local softmax heads, as the paper's baselines)
#   -c    pre-training contexts of the first variant, short first (default 3072,12032)
#   -C    pre-training contexts of the other variants (default: as -c)
#   -w    context whose models get the fine-tuning sweep, and stand beside the paper's
#         12k column (default 12032 if among -c, else the last of -c)
#   -P    more captures for pre-training only, comma-separated (e.g. long flows for the
#         long contexts); classification and the real side of generation use DATA alone
#   -b    pre-training batch (default 4)
#   -e    fine-tuning epochs (default 4)
#   -F    fine-tuning lengths of the sweep (default 32,128,256,4096,12032,32768; the
#         labelled set keeps each flow's first max(LENS) tokens)
#   -k    at most this many flows per class in the labelled set (default 0: all)
#   -T    at most this many tokens per generated flow (default 0: no cap)
#   -L    time limit of every pre-training and fine-tuning run, e.g. 6m (default none;
#         the pre-training table gives the steps and tokens each run reached)
#   -l    labels: dir or file (default: dir when DATA has sub-folders, else file)
#   -g    split grouping: file or flow (default: file with -l dir, flow with -l file,
#         where every class is one file; flow grouping can leak a session across splits)
#   -n    flows generated per run (default 200)
#   -j    no speed runs (the speed table stays "-")
#   -X    fine-tuning lengths of the other variants' sweeps (default: as -F), e.g. leave
#         the longest lengths to the first variant when time is short
#   -R    resume in OUT (a run stopped by a failure or a reboot): the steps that
#         finished (OUT/logs/NAME.done) are skipped, the others run; same options
#   -r    seed of every step (default 1)
#   -M    masking of the pre-training set (default addr+ports; none: the model learns
#         real addresses and ports, for the generation tables' address and port JSD;
#         the labelled set stays addr+ports)
#
# Per variant V and context C: pretrain (same tokens), finetune at each length of
# the sweep (-F; the classification table uses 256), eval classify,
# generate (top-k 25, as the paper's library), eval generate against DATA, and
# the same generation under the token grammar alone (--constraints grammar:
# how many packets the model writes that do not parse). Then a
# short pre-training run per variant at 3,072, 12,032 and 32,768 tokens for
# tokens/s and peak RSS (/usr/bin/time). The full default needs hours of CPU;
# -s checks the pipeline in about a minute. Example:
#   scripts/paper-tables.sh -s testdata/demo /tmp/paper-smoke
#   scripts/paper-tables.sh -p small -t 2000000 ../shared/data/dev-v1/generated /tmp/paper-dev
set -euo pipefail
cd "$(dirname "$0")/.."
ARGS="$*"
SMOKE=0; PRESET=small; TOKENS=2000000; VARIANTS=linear,retention,rwkv; CTXS=3072,12032
LABELS=; GROUP=; FLOWS=200; SEED=1; CTXS2=; SWEEPCTX=; PREDATA=; BATCH=4; EPOCHS=4; PERCLASS=0
GENTOKENS=0; LIMIT=; NOSPEED=0; FTLENS=; FTLENS2=; RESUME=0; PREMASK=addr+ports
usage() { sed -n 7,47p "$0" >&2; exit 2; }
while getopts "sp:t:v:c:C:w:P:b:e:F:X:k:T:L:jRl:g:n:r:M:" opt; do
  case $opt in
    s) SMOKE=1 ;; p) PRESET=$OPTARG ;; t) TOKENS=$OPTARG ;; v) VARIANTS=$OPTARG ;; c) CTXS=$OPTARG ;;
    C) CTXS2=$OPTARG ;; w) SWEEPCTX=$OPTARG ;; P) PREDATA=$OPTARG ;; b) BATCH=$OPTARG ;; e) EPOCHS=$OPTARG ;; F) FTLENS=$OPTARG ;; X) FTLENS2=$OPTARG ;;
    k) PERCLASS=$OPTARG ;; T) GENTOKENS=$OPTARG ;; L) LIMIT=$OPTARG ;; j) NOSPEED=1 ;; R) RESUME=1 ;;
    l) LABELS=$OPTARG ;; g) GROUP=$OPTARG ;; n) FLOWS=$OPTARG ;; r) SEED=$OPTARG ;; M) PREMASK=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
DATA=$1; OUT=$2
[ -e "$DATA" ] || { echo "paper-tables: $DATA not found" >&2; exit 1; }
if [ "$RESUME" = 0 ] && [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
  echo "paper-tables: $OUT exists and is not empty (-R resumes a run in it)" >&2; exit 1
fi
COMMAND="scripts/paper-tables.sh $ARGS"

# Sizes. LENS is the fine-tuning sweep, MAINLEN the classification table's length.
SPEEDCTX=3072,12032,32768; LENS=32,128,256,4096,12032,32768; MAINLEN=256
MAXPKT=32; SEEDS=3; SPEEDSTEPS=4
if [ "$SMOKE" = 1 ]; then
  PRESET=tiny; TOKENS=4096; CTXS=256,512; SPEEDCTX=256,512,1024; LENS=32,128; MAINLEN=128
  EPOCHS=1; FLOWS=8; MAXPKT=6; SEEDS=1; SPEEDSTEPS=3
fi
[ -n "$FTLENS" ] && LENS=$FTLENS
# The labelled set keeps what the longest fine-tuning reads.
CLSTOKENS=$(printf '%s\n' ${LENS//,/ } | sort -n | tail -n 1)
if [ -z "$LABELS" ]; then
  LABELS=file
  if find "$DATA" -mindepth 1 -maxdepth 1 -type d | grep -q .; then LABELS=dir; fi
fi
if [ -z "$GROUP" ]; then GROUP=flow; [ "$LABELS" = dir ] && GROUP=file; fi
[ -n "$CTXS2" ] || CTXS2=$CTXS
IFS=, read -ra variants <<< "$VARIANTS"
IFS=, read -ra ctxs <<< "$CTXS"
IFS=, read -ra ctxs2 <<< "$CTXS2"
IFS=, read -ra speedctx <<< "$SPEEDCTX"
IFS=, read -ra lens <<< "$LENS"
lens2=("${lens[@]}")
[ -n "$FTLENS2" ] && IFS=, read -ra lens2 <<< "$FTLENS2"
predata=()
[ -n "$PREDATA" ] && IFS=, read -ra predata <<< "$PREDATA"
for d in "${predata[@]}"; do [ -e "$d" ] || { echo "paper-tables: $d not found" >&2; exit 1; }; done
# Every context any run uses, short first: the tables' columns, and the
# longest is the pre-training set's flow cap.
allctx=$(printf '%s\n' "${ctxs[@]}" "${ctxs2[@]}" | sort -nu | paste -sd,)
maxctx=${allctx##*,}
if [ -z "$SWEEPCTX" ]; then
  SWEEPCTX=${ctxs[${#ctxs[@]}-1]}
  for c in "${ctxs[@]}"; do [ "$c" = 12032 ] && SWEEPCTX=12032; done
fi
limit=()
[ -n "$LIMIT" ] && limit=(--time-limit "$LIMIT")
gentok=()
[ "$GENTOKENS" -gt 0 ] && gentok=(--max-tokens "$GENTOKENS")
perclass=()
[ "$PERCLASS" -gt 0 ] && perclass=(--max-per-class "$PERCLASS")

mkdir -p "$OUT/logs" "$OUT/runs" "$OUT/speed" "$OUT/configs"
go build -o "$OUT/trafficgpt" ./cmd/trafficgpt
go build -o "$OUT/papertables" ./scripts/papertables
TG="$OUT/trafficgpt"
# step NAME CMD...: runs one command with its output in OUT/logs/NAME.log.
step() {
  local name=$1; shift
  if [ "$RESUME" = 1 ] && [ -f "$OUT/logs/$name.done" ]; then
    echo "paper-tables: $name (done before)" >&2
    return 0
  fi
  echo "paper-tables: $name" >&2
  rm -f "$OUT/logs/$name.done"
  local rc=0
  "$@" > "$OUT/logs/$name.log" 2>&1 || rc=$?
  # 4: done, but some inputs could not be read (named in the log).
  if [ "$rc" -eq 4 ]; then
    echo "paper-tables: $name: some inputs could not be read, see $OUT/logs/$name.log" >&2
  elif [ "$rc" -ne 0 ]; then
    echo "paper-tables: $name failed; last lines of $OUT/logs/$name.log:" >&2
    tail -n 15 "$OUT/logs/$name.log" >&2
    exit 1
  fi
  touch "$OUT/logs/$name.done"
}

# Data: one pre-training set (flows up to the longest context) and one labelled set.
step dataset-pretrain "$TG" dataset build -o "$OUT/data-pretrain" --mask "$PREMASK" --max-tokens "$maxctx" --keep-trailing \
  --split train=0.9,valid=0.1 --group "$GROUP" --seed "$SEED" "$DATA" "${predata[@]}"
step dataset-classify "$TG" dataset build -o "$OUT/data-classify" --labels "$LABELS" --group "$GROUP" --keep-trailing \
  --split train=0.6,valid=0.2,test=0.2 --mask addr+ports --max-tokens "$CLSTOKENS" --seed "$SEED" "${perclass[@]}" "$DATA"

baseline=1
first=1
for v in "${variants[@]}"; do
  cfg="$OUT/configs/$(basename "$PRESET" .json)-$v.json"
  "$OUT/papertables" config "$PRESET" "$v" > "$cfg"
  vctx=("${ctxs[@]}")
  vlens=("${lens[@]}")
  [ "$first" = 1 ] || { vctx=("${ctxs2[@]}"); vlens=("${lens2[@]}"); }
  first=0
  for c in "${vctx[@]}"; do
    run="$OUT/runs/$v-c$c"; mkdir -p "$run"
    steps=$(( TOKENS / (BATCH * c) )); [ "$steps" -ge 1 ] || steps=1
    step "pretrain-$v-c$c" "$TG" pretrain --data "$OUT/data-pretrain" -o "$run/model" --config "$cfg" \
      --ctx "$c" --batch "$BATCH" --steps "$steps" --warmup $(( steps / 10 )) --seed "$SEED" "${limit[@]}"
    # The sweep runs on the SWEEPCTX models; the others only at MAINLEN.
    for l in "${vlens[@]}"; do
      if [ "$c" != "$SWEEPCTX" ] && [ "$l" != "$MAINLEN" ]; then continue; fi
      step "finetune-$v-c$c-len$l" "$TG" finetune --model "$run/model" --data "$OUT/data-classify" \
        -o "$run/cls-$l" --len "$l" --epochs "$EPOCHS" --seed "$SEED" "${limit[@]}"
      nb=--no-baseline
      if [ "$baseline" = 1 ]; then nb=; baseline=0; fi
      step "eval-classify-$v-c$c-len$l" "$TG" eval classify --model "$run/cls-$l" --data "$OUT/data-classify" \
        --json "$run/cls-$l.json" $nb
    done
    step "generate-$v-c$c" "$TG" generate --model "$run/model" -n "$FLOWS" -o "$run/gen.pcap" \
      --max-packets "$MAXPKT" "${gentok[@]}" --top-k 25 --seed "$SEED"
    step "eval-generate-$v-c$c" "$TG" eval generate --real "$DATA" --generated "$run/gen.pcap" \
      --json "$run/gen.json" --seeds "$SEEDS"
    step "generate-free-$v-c$c" "$TG" generate --model "$run/model" -n "$FLOWS" -o "$run/gen-free.pcap" \
      --max-packets "$MAXPKT" "${gentok[@]}" --top-k 25 --seed "$SEED" --constraints grammar
    step "eval-generate-free-$v-c$c" "$TG" eval generate --real "$DATA" --generated "$run/gen-free.pcap" \
      --json "$run/gen-free.json" --seeds 1
  done
  # Speed and memory: a few steps at batch 1 per context.
  [ "$NOSPEED" = 1 ] && continue
  for c in "${speedctx[@]}"; do
    sp="$OUT/speed/$v-c$c"
    timer=()
    [ -x /usr/bin/time ] && timer=(/usr/bin/time -f %M -o "$sp.rss")
    step "speed-$v-c$c" "${timer[@]}" "$TG" pretrain --data "$OUT/data-pretrain" -o "$sp" --config "$cfg" \
      --ctx "$c" --batch 1 --steps "$SPEEDSTEPS" --warmup 0 --eval-batches 1 --seed "$SEED"
  done
done

name=$(basename "$DATA")
desc="$LABELS labels, $GROUP-grouped splits, preset $PRESET, $TOKENS pre-training tokens per run at batch $BATCH"
[ "${#predata[@]}" -gt 0 ] && desc="$desc, pre-training also on $PREDATA"
[ "$PERCLASS" -gt 0 ] && desc="$desc, at most $PERCLASS flows per class"
[ "$PREMASK" != addr+ports ] && desc="$desc, pre-training data masked: $PREMASK (classification: addr+ports)"
desc="$desc, fine-tuning $EPOCHS epochs"
[ -n "$LIMIT" ] && desc="$desc, every run limited to $LIMIT"
[ "$GENTOKENS" -gt 0 ] && desc="$desc, generated flows capped at $GENTOKENS tokens"
"$OUT/papertables" tables -o "$OUT" -variants "$VARIANTS" -ctx "$allctx" -sweep-ctx "$SWEEPCTX" -speed-ctx "$SPEEDCTX" -lens "$LENS" \
  -main-len "$MAINLEN" -data "$name" -desc "$desc" \
  -command "$COMMAND"
echo "paper-tables: wrote $OUT/tables.md and $OUT/sweep.png" >&2
