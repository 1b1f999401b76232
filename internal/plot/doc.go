// Package plot writes the PNG figures of trafficgpt's reports with
// gonum.org/v1/plot: side-by-side histograms of two distributions (real vs
// generated), line plots of several series (loss curves), and confusion-
// matrix heat maps with class labels.
//
// Every function renders in memory and writes its file atomically: a
// temporary file in the target's folder, fsync, then rename, so a reader
// never sees a half-written PNG and an interrupted run leaves no partial
// file under the final name. Inputs are validated (lengths, at least one
// value) and reported as errors wrapping ErrBadInput; nothing panics on bad
// data (NaN and Inf values are drawn as 0).
//
// Every figure shows the number it illustrates: a histogram pair its
// Hist2.Value (the caller's JSD), a confusion matrix its macro-F1 and
// accuracy, a line plot each series' last value; axes carry units (the
// callers' labels, "share of <what>" on histograms).
//
// Sizes are in points (1/72 inch) at gonum's default 96 dpi PNG rendering.
package plot
