#!/usr/bin/env bash
# heldout-gen.sh - measure generation on traffic the model never saw.
#
# The captures of DATA are split by flow into halves A and B (trafficgpt
# split: whole flows, seeded); a model is pre-trained on A (label tokens,
# so generation can be asked for a class) for at most TIME; SHARE of A's
# flows are generated per class with --label; the generated flows are
# compared with B, and A is given as the training side, so the report has
# the floor (B's own halves against each other), the per-class rows and the
# memorisation and membership checks against what the model was trained on.
#
# usage: scripts/heldout-gen.sh DATA OUT
#   DATA  captures, one folder per class (DATA/<class>/...; LABELS=file: one
#         file per class, the class is the file name)
#   OUT   output folder (created): A/ B/ ds/ model/ gen/ report.json report.txt
#
# Settings (environment, defaults in brackets):
#   TG [trafficgpt, or a build of this repository in OUT when not on PATH]
#   LABELS [dir]  CONFIG [small]  TIME [25m]  STEPS [2000]  CTX [1024]
#   MAXTOK [4096: flows cut to 4096 tokens in training]  SHARE [0.35]
#   TOPK [40]  SEED [1]  EVAL_ARGS [extra flags for eval generate]
#   GEN_ARGS [extra flags for generate, e.g. "--validate tshark"]
#   LENGTHS [1: each generated flow's packet limit drawn from its class's
#           flows in A (generate --lengths); 0: the model ends flows alone]
#   SHAPES [0; 1: each generated flow follows one of its class's flows in A
#           (generate --shapes: directions, payload lengths, gaps, packet
#           count; instead of LENGTHS): the flow shape is A's, the headers
#           and payload bytes the model's; mix: generate --shapes --shape-mix,
#           each later packet's length and gap from another flow of the class)]
#   HOSTS [0; 1: each generated flow's addresses and server port from one of
#           its class's flows in A (generate --hosts A/<class>), the model
#           choosing among them]
#   CLASSES [all: generate and compare only these classes (space-separated),
#           e.g. leave out bulk transfers whose real flows run to thousands
#           of packets, longer than generation can follow on a CPU]
#   SKIP_TRAIN [0; 1: reuse OUT/model (and OUT/A, OUT/B) of an earlier run]
set -euo pipefail

if [ $# -ne 2 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
data=$1 out=$2
LABELS=${LABELS:-dir} CONFIG=${CONFIG:-small} TIME=${TIME:-25m} STEPS=${STEPS:-2000} CTX=${CTX:-1024}
MAXTOK=${MAXTOK:-4096} SHARE=${SHARE:-0.35} TOPK=${TOPK:-40} SEED=${SEED:-1} EVAL_ARGS=${EVAL_ARGS:-}
GEN_ARGS=${GEN_ARGS:-}
LENGTHS=${LENGTHS:-1} SHAPES=${SHAPES:-0} HOSTS=${HOSTS:-0} CLASSES=${CLASSES:-} SKIP_TRAIN=${SKIP_TRAIN:-0}
case $LABELS in dir|file) ;; *) echo "heldout-gen.sh: LABELS must be dir or file, not $LABELS" >&2; exit 2 ;; esac
[ -e "$data" ] || { echo "heldout-gen.sh: $data: no such file or folder" >&2; exit 2; }
mkdir -p "$out"

tg=${TG:-}
if [ -z "$tg" ]; then
  if command -v trafficgpt >/dev/null; then
    tg=trafficgpt
  else
    repo=$(cd "$(dirname "$0")/.." && pwd)
    (cd "$repo" && PATH=$PATH:/usr/local/go/bin go build -o "$out/trafficgpt" ./cmd/trafficgpt)
    tg=$out/trafficgpt
  fi
fi

if [ "$SKIP_TRAIN" != 1 ]; then
echo "== split $data into halves by flow (seed $SEED)"
rm -rf "$out/A" "$out/B"
"$tg" split -a "$out/A" -b "$out/B" --seed "$SEED" "$data"

echo "== dataset of half A (labels: $LABELS, label tokens, flows cut at $MAXTOK tokens)"
rm -rf "$out/ds"
"$tg" dataset build -o "$out/ds" --labels "$LABELS" --label-tokens --group flow --split train=0.9,valid=0.1 \
  --max-tokens "$MAXTOK" --seed "$SEED" --accept-split-warnings "$out/A"

echo "== pre-train $CONFIG on A for at most $TIME"
rm -rf "$out/model"
"$tg" pretrain --data "$out/ds" -o "$out/model" --config "$CONFIG" --steps "$STEPS" --ctx "$CTX" \
  --time-limit "$TIME" --seed "$SEED"

else
  [ -d "$out/model" ] && [ -d "$out/A" ] && [ -d "$out/B" ] || { echo "heldout-gen.sh: SKIP_TRAIN=1 needs $out/model, $out/A and $out/B" >&2; exit 2; }
fi

echo "== generate $SHARE of A's flows per class"
rm -rf "$out/gen"
mkdir -p "$out/gen"
classes() {
  if [ "$LABELS" = dir ]; then
    find "$out/A" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
  else
    find "$out/A" -type f -printf '%f\n' | sed 's/\.[^.]\{1,8\}$//; s/\.[^.]\{1,8\}$//' | sort -u
  fi
}
[ -n "$CLASSES" ] || CLASSES=$(classes)
real=() train=()
for class in $CLASSES; do
  if [ "$LABELS" = dir ]; then
    src=("$out/A/$class") dst=$out/gen/$class/gen.pcap
  else
    mapfile -t src < <(find "$out/A" -type f -name "$class.*")
    dst=$out/gen/$class.pcap
    mapfile -t -O "${#real[@]}" real < <(find "$out/B" -type f -name "$class.*")
    train+=("${src[@]}")
  fi
  flows=$("$tg" flows --format csv "${src[@]}" | tail -n +2 | wc -l)
  n=$(awk -v f="$flows" -v s="$SHARE" 'BEGIN { n = int(f * s + 0.5); print (n < 1 ? 1 : n) }')
  mkdir -p "$(dirname "$dst")"
  echo "   $class: $n of $flows flows"
  lengths=()
  if [ "$LENGTHS" = 1 ]; then
    for f in "${src[@]}"; do lengths+=(--lengths "$f"); done
    [ "$LABELS" = dir ] || lengths=(--lengths "${src[0]}")
  fi
  case $SHAPES in
    1) lengths=(--shapes "${src[0]}") ;;
    mix) lengths=(--shapes "${src[0]}" --shape-mix) ;;
  esac
  if [ "$HOSTS" = 1 ]; then lengths+=(--hosts "${src[0]}"); fi
  # shellcheck disable=SC2086
  "$tg" generate --model "$out/model" --label "$class" -n "$n" --top-k "$TOPK" --seed "$SEED" "${lengths[@]}" $GEN_ARGS -o "$dst"
done

if [ "$LABELS" = dir ]; then
  # The class is the first folder under each argument: compare with the
  # chosen classes' folders only, hard-linked under one root per half.
  rm -rf "$out/cmp"
  for class in $CLASSES; do
    mkdir -p "$out/cmp/B" "$out/cmp/A"
    cp -al "$out/B/$class" "$out/cmp/B/$class"
    cp -al "$out/A/$class" "$out/cmp/A/$class"
  done
  real=("$out/cmp/B") train=("$out/cmp/A")
fi
echo "== compare generated flows with half B (training side: A)"
# shellcheck disable=SC2086
"$tg" eval generate --real "${real[@]}" --generated "$out/gen" --train "${train[@]}" --labels "$LABELS" \
  --floor-seed "$SEED" --json "$out/report.json" $EVAL_ARGS | tee "$out/report.txt"
echo "report: $out/report.json, $out/report.txt"
