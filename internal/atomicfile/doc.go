// Package atomicfile writes the outputs of every command, so that a reader
// never sees a partial file as if it were complete and nothing but the
// named output is touched.
//
// Create(path, Options) chooses by what path is:
//
//   - "-" is standard output (Options.Stdout), written as it comes;
//   - a device, FIFO or socket (also behind a symlink) is written in place,
//     streaming: `-o /dev/null` stays a device;
//   - a regular file or a new path is written to ".NAME.tmp-RANDOM" in the
//     directory of the final file (a symlink is followed: the link stays,
//     its target is replaced), then Commit fsyncs it, renames it over the
//     target and fsyncs the directory. A new file gets 0666 minus the
//     umask; a replaced file keeps its permission bits.
//
// An output that is the same file as one of Options.Inputs is refused with
// ErrIsInput before anything is written. Errors name the user's path, never
// the temporary file.
//
// TempDir does the same for a folder (dataset builds, training runs).
//
// Leftovers: every temporary file and folder holds an exclusive flock while
// its writer lives; the kernel drops it when the writer dies, even by
// kill -9. The next Create or TempDir of the same name removes the
// ".NAME.tmp-*" entries whose lock it can take (CleanStale): they are
// provably leftovers of a dead writer of that name.
package atomicfile
