package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Stdout is the path that names standard output.
const Stdout = "-"

// ErrIsInput is returned by Create when the output is one of the inputs.
var ErrIsInput = errors.New("output is one of the inputs (refusing to write over it)")

// Options are the optional settings of Create; the zero value is fine.
type Options struct {
	// Stdout receives the output when the path is "-"; nil means os.Stdout.
	Stdout io.Writer
	// Inputs are the files the command reads. An output that is one of them
	// (the same file under any name: symlink, hard link, ./x) is refused
	// with ErrIsInput before anything is written. "-" is never compared.
	Inputs []string
}

// File is an output being written. Errors of its methods name the path the
// user gave, never the temporary file.
type File struct {
	path   string    // as the user named it
	w      io.Writer // where Write goes
	f      *os.File  // nil for stdout
	target string    // the resolved final path (atomic outputs)
	tmp    string    // the temporary file; "" when written in place
	done   bool
}

// Create starts writing the output the user named path:
//
//   - "-" writes to o.Stdout (os.Stdout if nil), streaming;
//   - a device, FIFO or socket (after following symlinks) is opened and
//     written in place, streaming; it is never replaced by a plain file;
//   - a regular file or a new path is written atomically: a hidden
//     temporary file in the same directory as the final file (a symlink is
//     followed to its target, so the link is kept and its target replaced),
//     which Commit syncs, renames over the target and makes durable by
//     syncing the directory. A new file gets 0666 minus the umask, a
//     replaced file keeps its permission bits.
//
// Call Commit to publish the output, or Abort (safe to defer after Commit)
// to discard it. Create removes temporary files left in the target's
// directory by earlier writers of the same name that died (see CleanStale).
func Create(path string, o Options) (*File, error) {
	if path == "" {
		return nil, errors.New("atomicfile: empty output path")
	}
	if path == Stdout {
		w := o.Stdout
		if w == nil {
			w = os.Stdout
		}
		return &File{path: path, w: w}, nil
	}
	if err := checkInputs(path, o.Inputs); err != nil {
		return nil, err
	}
	target, err := resolve(path)
	if err != nil {
		return nil, rename(err, path)
	}
	fi, err := os.Stat(target)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		if fi.IsDir() {
			return nil, &os.PathError{Op: "create", Path: path, Err: syscall.EISDIR}
		}
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, rename(err, path)
		}
		return &File{path: path, w: f, f: f}, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, rename(err, path)
	}
	perm := fs.FileMode(0o666) // minus the umask, applied by the kernel
	keep := err == nil
	if keep {
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	CleanStale(dir, base)
	f, tmp, err := createTemp(dir, base, perm)
	if err != nil {
		return nil, rename(err, path)
	}
	if keep {
		// The umask may have cleared bits of the replaced file's mode.
		if err := f.Chmod(perm); err != nil {
			f.Close()
			os.Remove(tmp)
			return nil, rename(err, path)
		}
	}
	return &File{path: path, w: f, f: f, target: target, tmp: tmp}, nil
}

// Write writes to the output.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		err = rename(err, f.path)
	}
	return n, err
}

// Name is the path the user gave.
func (f *File) Name() string { return f.path }

// IsStdout reports whether the output is standard output.
func (f *File) IsStdout() bool { return f.f == nil }

// InPlace reports whether the output is written in place (stdout, a device,
// a FIFO): what was written before an error or Abort cannot be taken back.
func (f *File) InPlace() bool { return f.tmp == "" }

// Commit publishes the output: for an atomic output it syncs the temporary
// file, renames it over the target and syncs the directory; for an in-place
// output it closes it (stdout stays open).
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("atomicfile: %s: already committed or aborted", f.path)
	}
	f.done = true
	if f.f == nil {
		return nil
	}
	if f.tmp == "" {
		if err := f.f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
			f.f.Close()
			return rename(err, f.path)
		}
		return rename(f.f.Close(), f.path)
	}
	fail := func(err error) error {
		f.f.Close()
		os.Remove(f.tmp)
		return rename(err, f.path)
	}
	if err := f.f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.f.Close(); err != nil {
		os.Remove(f.tmp)
		return rename(err, f.path)
	}
	if err := os.Rename(f.tmp, f.target); err != nil {
		os.Remove(f.tmp)
		return rename(err, f.path)
	}
	return rename(SyncDir(filepath.Dir(f.target)), f.path)
}

// Abort discards an atomic output (the target is left as it was); an
// in-place output is closed. After Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if f.f == nil {
		return
	}
	f.f.Close()
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
}

// WriteFile writes data to path atomically (path "-" is standard output).
func WriteFile(path string, data []byte) error {
	f, err := Create(path, Options{})
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// SyncDir makes a rename or a removal in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil // file systems that cannot sync a directory
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// tempMark separates a target's name from the random part of its
// temporary files and folders: ".NAME.tmp-RANDOM".
const tempMark = ".tmp-"

// staleAfter protects a temporary file in the instant between its creation
// and its lock from a concurrent CleanStale.
const staleAfter = 2 * time.Second

// createTemp creates a new hidden temporary file for base in dir and locks
// it: the lock, held while the file is open and released by the kernel when
// the writer dies, is how CleanStale tells a leftover from a live write.
func createTemp(dir, base string, perm fs.FileMode) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, tempName(base))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		if err := lock(f); err != nil {
			f.Close()
			os.Remove(name)
			return nil, "", err
		}
		return f, name, nil
	}
	return nil, "", fmt.Errorf("atomicfile: no free temporary name for %s in %s", base, dir)
}

func tempName(base string) string {
	var b [6]byte
	rand.Read(b[:])
	return "." + base + tempMark + hex.EncodeToString(b[:])
}

func lock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// CleanStale removes the temporary files and folders that writers of base
// in dir (".BASE.tmp-*", made by Create and TempDir) left when they died:
// those whose lock no live process holds. It returns the paths removed.
// Errors are ignored: cleaning is best effort and never fails a write.
func CleanStale(dir, base string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	prefix := "." + base + tempMark
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || len(name) != len(prefix)+12 {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 || time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if lock(f) != nil { // a live writer holds it
			f.Close()
			continue
		}
		if fi.IsDir() {
			err = os.RemoveAll(p)
		} else {
			err = os.Remove(p)
		}
		f.Close()
		if err == nil {
			removed = append(removed, p)
		}
	}
	if len(removed) > 0 {
		SyncDir(dir)
	}
	return removed
}

// resolve follows symlinks from path to the file that would be written; a
// dangling link resolves to the missing target it names.
func resolve(path string) (string, error) {
	p := path
	for range 40 {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		l, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(l) {
			l = filepath.Join(filepath.Dir(p), l)
		}
		p = l
	}
	return "", &os.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
}

// checkInputs refuses an output that is the same file as an input.
func checkInputs(out string, inputs []string) error {
	ofi, err := os.Stat(out)
	if err != nil {
		return nil // a new file cannot be an input
	}
	for _, in := range inputs {
		if in == Stdout {
			continue
		}
		ifi, err := os.Stat(in)
		if err == nil && os.SameFile(ofi, ifi) {
			if in == out {
				return fmt.Errorf("%s: %w", out, ErrIsInput)
			}
			return fmt.Errorf("%s: %w: the same file as %s", out, ErrIsInput, in)
		}
	}
	return nil
}

// CheckNotInput reports ErrIsInput if out is the same file as one of inputs;
// for commands that check before they start long work.
func CheckNotInput(out string, inputs ...string) error {
	if out == Stdout {
		return nil
	}
	return checkInputs(out, inputs)
}

// rename makes an error name the user's path instead of a temporary file.
func rename(err error, path string) error {
	if err == nil {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &os.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &os.PathError{Op: le.Op, Path: path, Err: le.Err}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Dir is a folder being built: filled at Path, a hidden locked sibling of
// the target, and renamed into place by Commit.
type Dir struct {
	target string
	tmp    string
	lock   *os.File
	done   bool
}

// TempDir starts building the folder target, which must not exist or be an
// empty folder (Commit replaces it). It first removes the folders and files
// earlier builders of target left when they died (see CleanStale).
func TempDir(target string) (*Dir, error) {
	target = filepath.Clean(target)
	parent, base := filepath.Split(target)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o777); err != nil {
		return nil, err
	}
	CleanStale(parent, base)
	for range 100 {
		tmp := filepath.Join(parent, tempName(base))
		err := os.Mkdir(tmp, 0o777)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "mkdir", Path: target, Err: errors.Unwrap(err)}
		}
		l, err := os.Open(tmp)
		if err == nil {
			if err = lock(l); err != nil {
				l.Close()
			}
		}
		if err != nil {
			os.Remove(tmp)
			return nil, rename(err, target)
		}
		return &Dir{target: target, tmp: tmp, lock: l}, nil
	}
	return nil, fmt.Errorf("atomicfile: no free temporary name for %s", target)
}

// Path is the temporary folder to fill.
func (d *Dir) Path() string { return d.tmp }

// Commit syncs every file in the folder and the folder itself, renames it to
// the target (replacing an empty folder) and syncs the parent.
func (d *Dir) Commit() error {
	if d.done {
		return fmt.Errorf("atomicfile: %s: already committed or aborted", d.target)
	}
	d.done = true
	defer d.lock.Close()
	err := filepath.WalkDir(d.tmp, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() && !e.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if e.IsDir() && (errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)) {
			err = nil
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err == nil {
		// rename(2) replaces an empty folder and nothing else; os.Rename
		// refuses any existing folder.
		err = syscall.Rename(d.tmp, d.target)
	}
	if err != nil {
		os.RemoveAll(d.tmp)
		return rename(err, d.target)
	}
	return rename(SyncDir(filepath.Dir(d.target)), d.target)
}

// Abort removes the temporary folder. After Commit it does nothing.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	os.RemoveAll(d.tmp)
	d.lock.Close()
}
