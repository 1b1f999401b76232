package atomicfile

import (
	"bytes"
	"io"
	"os"
)

// Staged holds the output rows of one input until the input was read to its
// end: Commit passes them on, Discard drops them, so an input that fails
// midway leaves none of its rows and a listing never looks complete for a
// file that was not. Beyond 8 MiB it spills to an unlinked temporary file
// ($TMPDIR), so memory stays bounded.
type Staged struct {
	buf   bytes.Buffer
	spill *os.File
	limit int
	err   error
}

// NewStaged returns an empty Staged.
func NewStaged() *Staged { return &Staged{limit: 8 << 20} }

func (s *Staged) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.spill == nil && s.buf.Len()+len(p) > s.limit {
		f, err := os.CreateTemp("", "trafficgpt-rows-*")
		if err != nil {
			s.err = err
			return 0, err
		}
		os.Remove(f.Name()) // unlinked: gone with the process, whatever happens
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			f.Close()
			s.err = err
			return 0, err
		}
		s.spill = f
		s.buf.Reset()
	}
	if s.spill != nil {
		n, err := s.spill.Write(p)
		if err != nil {
			s.err = err
		}
		return n, err
	}
	return s.buf.Write(p)
}

// Commit copies what was staged to w and starts over.
func (s *Staged) Commit(w io.Writer) error {
	defer s.Discard()
	if s.err != nil {
		return s.err
	}
	if s.spill != nil {
		if _, err := s.spill.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(w, s.spill); err != nil {
			return err
		}
	}
	_, err := w.Write(s.buf.Bytes())
	return err
}

// Discard drops what was staged.
func (s *Staged) Discard() {
	if s.spill != nil {
		s.spill.Close()
		s.spill = nil
	}
	s.buf.Reset()
	s.err = nil
}
