// Package train is generative pre-training as a library: next-token
// prediction over whole flows (timing included) with AdamW, warm-up and
// cosine decay, global-norm clipping, gradient accumulation and dropout,
// periodic evaluation, atomic checkpoints and exact resume. The pretrain
// command is a thin wrapper; tests drive Run directly.
//
// # Run
//
// Run(ctx, job) trains job.Options.Steps optimizer steps. Each step draws
// Accum micro-batches of (Batch, Context) tokens from job.Data.Train, runs
// Forward/Backward for each and combines their gradients weighted by their
// target counts (so the step's gradient is the mean over all its targets),
// clips the global norm to Clip, and applies AdamW with the scheduled
// learning rate (optim.Schedule{LR, MinLR, Warmup, Steps}). Weight decay
// applies to the ParamInfo.Decay tensors only. The dropout seed of micro-batch
// a of step s is a pure function of (Seed, s, a), so no RNG state has to be
// saved. Before any work Run checks the options, the memory estimate
// (activations + 16 bytes per parameter for weights, gradients and the two
// moments) against MemLimit (default 80% of MemTotal) and, with Resume, that
// the checkpoint has the same model config and dataset.
//
// Evaluation (every EvalEvery steps, at step 0 of a fresh run and at the
// end): EvalBatches batches of job.Data.Valid, rewound to its initial state
// each time so every evaluation sees the same tokens, with dropout off.
// Metrics: mean loss over targets, perplexity exp(loss), bits per token
// loss/ln 2, bits per byte token (header and payload targets only) and the
// mean loss per codec.Kind of the target (structure, time, header, payload).
//
// Cancellation (SIGINT/SIGTERM in the command) makes Run save a checkpoint
// of the last completed step and return ctx.Err(). The context is checked
// between steps and between micro-batches, so it takes effect within one
// micro-batch's forward/backward; a partial step is dropped (the saved
// loader state is the one after the last completed step). TimeLimit stops the same
// way but returns a nil error (Result.Stopped says why). A run resumed from
// any checkpoint ends with weights bit-identical to an uninterrupted run with
// the same options (same threads, same machine).
//
// # Data-parallel runs
//
// With Job.Comm of Size() > 1 (dist.Comm over MPI) every rank calls Run with
// the same Options and dataset. All ranks read the same batches (reading is
// cheap); of each step's Accum*Batch rows (in loader order) rank r runs
// forward/backward on the r-th of Size contiguous ranges only, scales its
// gradients by its targets over the step's targets (all ranks count all
// rows' targets, so no count is exchanged), and one all-reduce (dist
// buckets it) sums gradients and loss; every rank then clips and applies the
// same AdamW update, so the weights stay equal without further traffic. The
// loss curve is the one-process curve with the same Batch, Accum and Seed
// up to float summation order; with dropout the masks are the same only
// when the ranges are whole micro-batches (Accum a multiple of Size).
// Rank 0 alone reads and writes the model directory (checkpoint, log, plot)
// and evaluates; at the start it broadcasts its weights, optimizer and
// loader state and counters, and checks that every rank has the same
// dataset hash and options, so a checkpoint resumes under any number of
// ranks (it holds the global loader state and step only). Stopping is agreed
// at step boundaries: one rank's cancellation stops all, rank 0's clock
// rules TimeLimit. Job.CheckEvery compares a sha256 of every rank's weights
// with rank 0's (ErrRanks on a difference). Result.CommSeconds is the time
// in the all-reduce (waiting for the slowest rank included).
//
// # Model directory
//
//	model.safetensors  weights; metadata: config, codec_version (model.Save),
//	                   step, tokens, seed, dataset_hash, dataset_path,
//	                   train_options (Options as JSON), tensor digests
//	trainer.state      the checkpoint, one file: "tgpt-trainer-2\n", uint64 LE
//	                   JSON length, the JSON (State: step, tokens, elapsed,
//	                   options, config, dataset, loader state), uint64 LE model
//	                   length, the model (the same bytes as model.safetensors),
//	                   the optim.AdamW state, CRC-32C (u32 LE) of all before
//	config.json        the model Config
//	train.jsonl        one JSON line per step ({"kind":"train", step, loss,
//	                   lr, grad_norm, tokens, tokens_per_s, elapsed_s}) and per
//	                   evaluation ({"kind":"valid", step, elapsed_s, valid:
//	                   Metrics}); on resume, lines after the checkpoint's step
//	                   are dropped
//	loss.png           train and valid loss against step (plot.Lines)
//
// Every file is written atomically (atomicfile: temporary file, fsync,
// rename, fsync of the folder). trainer.state is the checkpoint: its rename
// is the one commit point, and model.safetensors, written after it, is a
// copy for the other commands. A kill between the two leaves a state that
// resumes; the resume rewrites model.safetensors from it (with a warning).
// A damaged state is ErrResume wrapping codec.ErrChecksum. Version-1 states
// ("tgpt-trainer-1\n", no model, no CRC) resume from model.safetensors,
// which must carry the same step.
package train
