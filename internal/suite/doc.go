// Package suite scores labelled tasks at several label budgets: how well
// each method classifies flows with 5, 20, 100 or all labelled train flows
// per class. It is the measure of whether pre-training pays: a base model's
// linear probe and fine-tune beside the same network from scratch, a random
// forest and nearest neighbours on flow features, under the same splits.
//
// # Spec (JSON)
//
//	{"name": "dev", "budgets": [5, 20, 100, "all"], "seeds": [1, 2, 3],
//	 "methods": ["forest", "1nn", "knn", "scratch", "probe", "finetune"],
//	 "len": 256, "epochs": 5, "patience": 2, "batch": 16, "config": "small",
//	 "pool": "", "finetune_lr": 3e-4,
//	 "packets": 20, "trees": 100, "k_values": [3, 5, 9, 15, 25], "time_limit": "0s",
//	 "tasks": [{"name": "generated", "inputs": ["../data/generated"], "labels": "file",
//	            "group": "flow", "split": "train=0.6,valid=0.2,test=0.2", "mask": "addr+ports",
//	            "max_per_class": 500, "min_per_class": 1, "exclude_classes": [], "max_tokens": 2048,
//	            "note": "..."}]}
//
// The values shown are the defaults (except tasks). A task's fields are
// `trafficgpt dataset build`'s flags (labels dir|file|csv:FILE,
// label_column, split, group file|flow, presplit, seed, min_packets,
// max_per_class, dedup, mask, header_only, max_payload, max_packets,
// max_tokens) and become dataset.BuildOptions; relative inputs and csv:FILE
// are relative to the spec file's folder (made absolute); min_per_class and exclude_classes
// are the suite's own (below); name and note label the tables. Unknown
// fields are errors.
//
// # What a run does
//
// Per task: build the dataset into OUT/TASK/data (reused when a previous
// run built it with the same options), require train, valid and test
// splits, and drop (from every split, into OUT/TASK/data-classes via
// dataset.Subset, which renumbers the labels; with a note) the classes the
// spec excludes and those with fewer than min_per_class flows in some
// split; at least two classes must remain. The flow features of every flow
// (classify.SplitFeatures: the first `packets` packets' sizes, directions
// and gaps, and flow statistics) are read once.
//
// Per seed, each class's train flows are shuffled (PCG(seed)); budget b
// takes each class's first b (all of a smaller class), so for one seed the
// budgets are nested. Valid and test never change. A budget that gives the
// same flows as the previous one (every class has fewer) repeats its runs
// (same_as). Per method, trained on the subset:
//
//	forest    metric.Fit, `trees` trees, seed = the run's seed
//	1nn       metric.FitKNN K=1, log map, standardised on the subset
//	knn       metric.FitKNN with the K of k_values (<= subset size) that has the best valid macro-F1
//	scratch   classify.Finetune FromScratch: the base's architecture with --base, else preset `config`
//	probe     classify.Finetune Freeze on the base (only with --base)
//	finetune  classify.Finetune of the base (only with --base)
//
// Runs accumulate in OUT: unless Fresh (--fresh), a run whose task dataset
// (manifest hash), budget, seed, method, train flows and settings (trees,
// packets and k for the classical methods; len, epochs, patience, batch,
// time limit and the architecture's hash, or the base model file's SHA-256,
// for the networks) match one in OUT/suite.json is taken from it (reused),
// and the runs of methods not run this time are kept. So the baselines run
// once, and each new base model adds only its probe and fine-tune rows.
//
// The networks train on a dataset.Subset of the task dataset (train cut to
// the budget) with early stopping on valid macro-F1 (epochs, patience);
// their best epoch is scored on test once. Everything random is seeded by
// the run's seed, so a suite is deterministic given its spec (up to
// floating-point summation order in multi-threaded BLAS).
//
// # Output (OUT)
//
//	suite.json       Report: the spec with defaults, methods run, notes (skipped
//	                 rows), per task its classes, flows per split and class,
//	                 dropped classes; every run (task, budget, seed, method,
//	                 train flows, flows per class, valid and test macro-F1, test
//	                 accuracy, what valid chose, seconds); the summary (mean and
//	                 sample std over seeds); complete. Rewritten after every run.
//	suite.md         settings, then per task its tables
//	TASK/table.md    test macro-F1 and accuracy, mean ± std over seeds: one row
//	                 per method, one column per budget (header: budget and the
//	                 mean train flows per class it gave)
//	TASK/curve.png   test macro-F1 against train flows per class (log x), one line
//	                 per method, error bars ± std
//	TASK/data        the task's dataset; TASK/work/bB-sS (removed unless Keep)
//
// Spec.Quick (the command's --quick) shrinks a spec to a smoke run.
package suite
