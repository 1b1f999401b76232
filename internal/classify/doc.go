// Package classify is flow classification as a library: fine-tuning a
// (pre-trained or fresh) model with a classification head on a labelled
// dataset, classifying the flows of captures, and evaluating a classifier on
// a dataset split next to a classical flow-feature baseline. The finetune,
// classify and eval classify commands are thin wrappers; tests drive these
// functions directly.
//
// # Input of the head
//
// A flow is its codec tokens under the dataset's view (<flow> ... <end> or
// <cut>). The model sees its first T-1 tokens, then <cls>, then <pad> up to
// T (dataset.ClsLoader's rows; T is Options.Context, --len). The head is a
// linear layer (Classes, C) on the final-normed hidden state at the <cls>
// position (model.ForwardClassify). Attention is causal, so the padding
// never changes the prediction.
//
// # Fine-tuning (Finetune)
//
// Modes: full fine-tuning of a pre-trained model (default), a linear probe on
// the frozen pre-trained trunk (Freeze), or the same architecture trained
// from random weights (FromScratch, Options.Config). One epoch is
// ceil(train flows / Batch) steps of Batch flows from a seeded shuffle
// (dataset.ClsLoader). Loss: class-weighted cross-entropy with the inverse
// frequency weights w_c = N / (K * n_c) of the train split (N flows, K
// classes present, n_c flows of class c; scikit-learn's "balanced"), so each
// class weighs the same in total; a step's loss is sum_b w_yb*CE_b / sum_b
// w_yb. The model computes a plain mean, so a step runs one forward/backward
// per class present in its batch and adds the gradients with the weights
// n_c*w_c / sum_b w_yb (Unweighted: one pass, the plain mean). AdamW
// (weight decay on matrices and embeddings only), linear warm-up over the
// first 10% of the steps (at most 100) and cosine decay to LR/10, global
// norm clipping. After each epoch the valid split is classified; its
// macro-F1 (metric.Report) decides: a better epoch (higher macro-F1, or the
// same macro-F1 with a lower valid cross-entropy) is saved, and
// Patience epochs without improvement stop the run; TimeLimit stops it after
// scoring the partial epoch. A dataset without a
// valid split is an error (there would be nothing to stop on).
//
// ProbeFirst (the default for full fine-tuning; LP-FT, Kumar et al. 2022)
// first fits the head exactly as Freeze does below, at the probe's learning
// rate, logging its passes as kind "probe"; the best probe head is scored
// on valid as epoch 0 (saved, and the one kept if no fine-tuning epoch beats
// it), then every parameter trains from it. A random head's first large
// gradients would otherwise flow into, and distort, the pre-trained trunk.
//
// Pool (model.Config.Pool) chooses what the head reads: the final-normed
// hidden state at <cls> (last) or the mean of the final-normed hidden states
// of every position up to and including <cls> (mean). The default
// (DefaultPool) is mean for a pre-trained trunk - on the dev suite the base
// model's linear probe reads flows far better from the mean, e.g. demo
// 0.916 -> 1.000 test macro-F1 at 20 flows per class - and last from
// scratch.
//
// Freeze computes the trunk's <cls> features of the train and valid flows
// once (one forward pass each, no dropout) and trains only the head on them
// (softmax regression, same weighting, AdamW) for ProbeEpochs passes with
// ProbePatience; the head is then written into the model's cls tensors, so
// a probe is saved and used like any classifier.
//
// # Classifier directory
//
//	model.safetensors  weights (trunk + cls.weight/cls.bias); metadata
//	                   (model.Save) plus: kind = "classifier", labels (JSON
//	                   array, class id -> name), view (codec.View JSON, the
//	                   dataset's), flow (flow.Config JSON, the dataset's),
//	                   context (T), min_packets (the dataset's), mode
//	                   (finetune|freeze|scratch), pretrained (path),
//	                   dataset_path, dataset_hash, epoch, valid_macro_f1,
//	                   finetune_options (Options JSON)
//	config.json        the model Config
//	finetune.jsonl     one line per step {"kind":"train", epoch, step, loss,
//	                   lr, grad_norm, elapsed_s} and per epoch
//	                   {"kind":"valid", epoch, step, loss, accuracy,
//	                   macro_f1, best, elapsed_s}
//	curve.png          train loss (epoch mean) and valid macro-F1 by epoch
//
// Only the best epoch's weights are kept, written atomically (temporary file
// + rename), so an interrupted run leaves the best classifier so far.
// Load accepts the directory or the .safetensors file and refuses a model
// without kind "classifier" (ErrNotClassifier).
//
// # Classifying captures (Capture): streaming decisions
//
// Capture reads a capture (a file, a pipe, or a live capture's stream from
// internal/capture: one code path) with flow.Scan and encodes each flow's
// packets as they come with the classifier's view and flow settings, so its
// tokens are the dataset's. A flow is decided as soon as its decision is
// due: at its Early-th packet (Early > 0, or the classifier's view keeps at
// most MaxPackets packets: the smaller of the two; the row is its first
// Early packets, then <cut>, as a dataset view cut at Early packets writes it),
// when its tokens fill the row (T-1 tokens: later packets cannot change the
// row), or when the flow ends (<end> or <cut>), whichever comes first; a flow
// that ends with fewer than MinPackets packets is skipped, and a flow is not
// decided before it has MinPackets. FlowResult carries the flow id,
// Community ID (flow.PacketCommunityID of its first packet, seed 0), the
// packet count at the decision (AtPacket), the capture time from the flow's
// first packet to the deciding one (After) and why (early, full, end).
//
// The reader and the model run in two goroutines: decided flows go through a
// bounded queue (Queue, default 4*Batch); the model takes every decided flow
// waiting, at most Batch, in one forward pass whose rows are as long as the
// longest of them needs (causal attention: the padding changes nothing), so
// short prefixes cost little, a quiet link is answered at once and a file is
// read in full batches. Memory: the undecided active flows' tokens (each at
// most T-1 tokens), a small record per decided active flow, the queue.
// Results come in decision order. A capture without flows is ErrEmpty.
//
// # Unknown traffic (OpenSet, openset.json)
//
// Finetune writes the rule after training (Options.OpenSet, default
// mahalanobis at a 1% false-rejection rate; "none" skips it); Calibrate
// (trafficgpt calibrate) refits it on any dataset with the classifier's view.
//
// A classifier directory may hold openset.json, an open-set rule: a score per
// flow, higher for flows like the known classes, and a threshold; a flow
// scoring below it is Unknown (FlowResult.Class = -1). Scores: msp (the
// largest class probability), energy (log-sum-exp of the head's logits) and
// mahalanobis (minus the smallest Mahalanobis distance of the <cls> features
// to a class mean under the train split's pooled within-class covariance,
// shrunk 10% toward its mean variance). The threshold is the FRR quantile of
// the valid split's scores (false-rejection rate FRR on known traffic).
// FitOpenSet builds a rule from ScoreSplit outputs; AUROC measures how well a
// score separates known test flows from flows of classes never trained on.
//
// # Evaluation (Evaluate, Baseline)
//
// Evaluate classifies every flow of a split (in order) with the classifier;
// the dataset must have the classifier's view, and each of its labels must
// be one the classifier knows (ErrLabels), matched by name. Scores are
// metric.Report over the classifier's labels.
//
// Baseline is the classical comparison: a random forest (metric.Fit, 100
// trees) on per-flow features, trained on the train split and scored on the
// evaluated split. Features, from the first Packets packets (default 20):
// metric.FirstN (size, direction, inter-arrival time of each) and
// metric.FlowFeatures over the same packets (k-fingerprinting set, bytes,
// duration, mean IAT). Shards keep tokens, not packet timing and sizes, so
// the baseline re-reads the dataset's input captures (Manifest.Inputs[i].Path,
// as recorded at build time, relative to the working directory of the build)
// with the dataset's flow settings and finds each flow by its FlowID (the
// flow's index in its capture). A capture that is missing or no longer holds
// the flow is an error (ErrBaselineInput).
package classify
