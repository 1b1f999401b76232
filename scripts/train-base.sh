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
# Exit 4: the dataset was built, some inputs (dev-v1/format's broken files on
# purpose) could not be read and are listed in its manifest.
unreadable_ok() { local rc=$?; [ "$rc" -eq 4 ] || exit "$rc"; }
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
    --group file --mask addr+ports+mac --max-tokens 2048 --max-per-class 300 \
    --keep-trailing --accept-split-warnings \
    --split train=0.6,valid=0.2,test=0.2 --seed 1 "$DEV/ndpi/pcap" > /dev/null || unreadable_ok
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
"$TG" dataset build -o "$WORK/ds" --mask addr+ports+mac --max-tokens 1024 --dedup --keep-trailing \
  --split train=0.98,valid=0.02 --seed 1 "${inputs[@]}" || unreadable_ok
"$TG" pretrain --data "$WORK/ds" -o "$WORK/model" --config small --ctx 1024 --batch 4 \
  --steps "$STEPS" --warmup 50 --eval-every 100 --save-every 100 --seed 1 --time-limit "$LIMIT"
out=models/base
mkdir -p "$out"
cp "$WORK/model/model.safetensors" "$WORK/model/config.json" "$out/"
cp "$WORK/model/loss.png" docs/base-loss.png 2>/dev/null || true
find "${inputs[@]}" -type f | LC_ALL=C sort | xargs sha256sum > "$out/data.sha256"
cp "$WORK/model/train.jsonl" "$out/train.jsonl"
python3 - "$out" "$STEPS" "$LIMIT" <<'PY' > "$out/info.json"
import hashlib, json, sys, datetime
out = sys.argv[1]
w = open(f"{out}/model.safetensors", "rb").read()
log = [json.loads(l) for l in open(f"{out}/train.jsonl")]
train = [l for l in log if l["kind"] == "train"]
valid = [l for l in log if l["kind"] == "valid"][-1]
n = int.from_bytes(w[:8], "little")  # safetensors: header length, JSON header, tensors
params = 0
for k, t in json.loads(w[8:8 + n]).items():
    if k != "__metadata__":
        c = 1
        for d in t["shape"]:
            c *= d
        params += c
print(json.dumps({
    "name": "base",
    "sha256": hashlib.sha256(w).hexdigest(),
    "bytes": len(w),
    "preset": "small",
    "params": params,
    "command": f"scripts/train-base.sh -s {sys.argv[2]} -t {sys.argv[3]}",
    "corpus": "dev-v1 ndpi (minus the suite's ndpi test captures), misc, format; gen-traffic.sh -n 150 -s 7 (8 classes); addr+ports+mac masked, flows cut to 1,024 tokens, deduplicated",
    "data_sha256": hashlib.sha256(open(f"{out}/data.sha256", "rb").read()).hexdigest(),
    "steps": train[-1]["step"],
    "tokens": train[-1]["tokens"],
    "hours": round(train[-1]["elapsed_s"] / 3600, 2),
    "valid_loss": round(valid["valid"]["loss"], 4),
    "valid_loss_by_kind": {k: round(v, 4) for k, v in valid["valid"]["kind_loss"].items()},
    "trained": datetime.date.today().isoformat(),
}, indent=1))
PY
echo "train-base: wrote $out (inputs hashed in $out/data.sha256)"
