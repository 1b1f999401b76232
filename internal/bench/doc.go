// Package bench measures this machine for `trafficgpt bench`: the tokenizer
// against tcpdump's copy rate, sgemm, training steps of model presets,
// recurrent generation near the start and far out, batched sampling, and
// the classifiers' throughput (classify.Bench). Run returns the rows of one
// table; Report.WriteText prints it. The numbers are the machine's: only
// the table's layout is pinned (testdata/golden/bench.txt).
package bench
