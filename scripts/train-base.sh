#!/usr/bin/env bash
# train-base.sh -- trains the shipped base model (models/base/) from scratch,
# reproducibly: fixed seeds, recorded input hashes.
#
# usage: sudo scripts/train-base.sh [-o WORKDIR] [-t TIME_LIMIT] [-s STEPS] [-g]
#   -o  work directory (default /tmp/trafficgpt-base): generated traffic, the
#       dataset and the model run go there
#   -t  pretrain --time-limit (default 90m); -s pretrain --steps (default 800)
#   -g  skip generating fresh traffic (reuse WORKDIR/gen if it exists)
#
# Corpus (the base model must never see the test captures of the evaluation
# suite, testdata/suite/dev.json, so that the suite measures it on traffic it
# never saw):
#   ../shared/data/dev-v1/{misc,format}   real captures (see its README)
#   ../shared/data/dev-v1/ndpi/pcap minus every capture in the test split of
#       the suite's ndpi-app or ndpi-category task (the script builds those two
#       datasets with the spec's options and reads their manifests)
#   WORKDIR/gen: real Debian servers and clients made by
#       ../shared/tools/gen-traffic.sh -n 150 -s 7 (8 classes)
# Not in the corpus at all: dev-v1/zeek, dev-v1/generated and testdata/demo
# (the suite's other tasks).
# View: the classification default (addresses, ports, MACs masked), flows cut
# to their first 1,024 tokens (classification reads a flow's first --len
# tokens), duplicates dropped. Model: small, ctx 1024, batch 4, seed 1.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=/tmp/trafficgpt-base; LIMIT=90m; STEPS=800; GEN=1
while getopts "o:t:s:g" opt; do
  case $opt in
    o) WORK=$OPTARG ;; t) LIMIT=$OPTARG ;; s) STEPS=$OPTARG ;; g) GEN=0 ;;
    *) sed -n 2,20p "$0" >&2; exit 2 ;;
  esac
done
DEV=../shared/data/dev-v1
[ -d "$DEV" ] || { echo "train-base: $DEV not found (run from a clone beside ../shared)" >&2; exit 1; }
mkdir -p "$WORK"
go build -o "$WORK/trafficgpt" ./cmd/trafficgpt
TG="$WORK/trafficgpt"
if [ "$GEN" = 1 ] || [ ! -d "$WORK/gen" ]; then
  bash ../shared/tools/gen-traffic.sh -o "$WORK/gen" -n 150 -s 7 http https redis dns mqtt ssh memcached iperf
fi
# The ndpi tasks' test captures, with testdata/suite/dev.json's options for
# those tasks (keep the two in step).
for col in app category; do
  rm -rf "$WORK/ndpi-$col"
  "$TG" dataset build -o "$WORK/ndpi-$col" --labels "csv:$DEV/ndpi/flow_labels.csv" --label-column $col \
    --group file --mask addr+ports --max-tokens 2048 --max-per-class 300 \
    --split train=0.6,valid=0.2,test=0.2 --seed 1 "$DEV/ndpi/pcap" > /dev/null
done
python3 - "$WORK" > "$WORK/ndpi-test.txt" <<'PY'
import json, sys
held = set()
for col in ("app", "category"):
    m = json.load(open(f"{sys.argv[1]}/ndpi-{col}/manifest.json"))
    held |= {i["path"] for i in m["inputs"] if i.get("split") == "test"}
print("\n".join(sorted(held)))
PY
mapfile -t ndpi < <(find "$DEV/ndpi/pcap" -type f | LC_ALL=C sort | grep -vxF -f "$WORK/ndpi-test.txt")
echo "train-base: ndpi: ${#ndpi[@]} captures kept, $(wc -l < "$WORK/ndpi-test.txt") held out (suite test splits)"
inputs=("${ndpi[@]}" "$DEV/misc" "$DEV/format" "$WORK/gen")
rm -rf "$WORK/ds"
"$TG" dataset build -o "$WORK/ds" --mask addr+ports+mac --max-tokens 1024 --dedup \
  --split train=0.98,valid=0.02 --seed 1 "${inputs[@]}"
"$TG" pretrain --data "$WORK/ds" -o "$WORK/model" --config small --ctx 1024 --batch 4 \
  --steps "$STEPS" --warmup 50 --eval-every 100 --save-every 100 --seed 1 --time-limit "$LIMIT"
out=models/base
mkdir -p "$out"
cp "$WORK/model/model.safetensors" "$WORK/model/config.json" "$out/"
cp "$WORK/model/loss.png" docs/base-loss.png 2>/dev/null || true
find "${inputs[@]}" -type f | LC_ALL=C sort | xargs sha256sum > "$out/data.sha256"
cp "$WORK/model/train.jsonl" "$out/train.jsonl"
echo "train-base: wrote $out (inputs hashed in $out/data.sha256)"
