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
// # Classifying captures (Capture)
//
// Capture streams a capture through codec.EncodeFlows with the classifier's
// view and flow settings, so its flows are tokenized exactly as the
// dataset's were. To bound memory the view also stops after T packets per
// flow (each packet is at least one token, so the first T-1 tokens are
// unchanged). Flows are classified in batches as they end; memory is the
// active flows plus one batch. Early > 0 keeps only the first Early packets
// of each flow (a <cut> follows them), i.e. decides from those packets;
// the result still appears when the flow ends. Flows with fewer than
// MinPackets packets are skipped. A capture without flows is an error
// (ErrEmpty).
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
