package main

import (
	"bytes"
	"io"
	"os"
)

// stagedWriter holds the output rows of one input until the input was read
// to its end: a capture that fails midway leaves none of its rows, so a
// listing never looks complete for a file that was not. Beyond limit bytes
// it spills to an unlinked temporary file, so memory stays bounded.
type stagedWriter struct {
	buf   bytes.Buffer
	spill *os.File
	limit int
	err   error
}

func newStagedWriter() *stagedWriter { return &stagedWriter{limit: 8 << 20} }

func (s *stagedWriter) Write(p []byte) (int, error) {
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

// commit copies what was staged to w and starts over.
func (s *stagedWriter) commit(w io.Writer) error {
	defer s.discard()
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

// discard drops what was staged.
func (s *stagedWriter) discard() {
	if s.spill != nil {
		s.spill.Close()
		s.spill = nil
	}
	s.buf.Reset()
	s.err = nil
}
