// Package progress draws the progress meters of the CLI: one line on a
// terminal with a bar, percent, rate and ETA (or a rate alone when the total
// is unknown), redrawn at most five times a second. On anything but a
// terminal (a pipe, a file, a buffer) a Bar writes nothing, so logs and
// test output stay clean. A nil *Bar is valid and does nothing.
package progress
