// Package base is the pre-trained base model that ships with trafficgpt:
// the weights (model.safetensors, the `small` preset), embedded in the
// binary, and its identity (info.json). `--model base` in finetune, eval
// suite, generate and the demo means this model.
//
// # Files (this folder)
//
//	model.safetensors  the checkpoint written by `trafficgpt pretrain`
//	                   (internal/model/doc.go), copied by scripts/train-base.sh
//	config.json        its model Config
//	info.json          Info: name, SHA-256 of model.safetensors, the training
//	                   command, corpus, tokens, steps, valid loss per kind
//	data.sha256        sha256sum of every input capture of the corpus
//	train.jsonl        the pre-training log
//
// # Resolution
//
// The commands read models from files, so Resolve("base") writes the
// embedded weights once to the user's cache directory
// ($XDG_CACHE_HOME/trafficgpt, else ~/.cache/trafficgpt) as
// base-<first 12 hex digits of the SHA-256>.safetensors (atomically; a file
// already there is checked against the digest and rewritten if it differs)
// and returns that path. Any other argument is returned unchanged.
//
// Retrain the model (scripts/train-base.sh) only when a change makes it
// measurably better on the evaluation suite (testdata/suite/dev.json).
package base
