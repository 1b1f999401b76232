//go:build !linux

package capture

import (
	"context"
	"io"
)

// Source is a live capture; only Linux has one.
type Source struct{ io.ReadCloser }

// Open fails: live capture needs Linux.
func Open(ctx context.Context, o Options) (*Source, error) { return nil, ErrUnsupported }

// LinkType is the stream's pcap link type.
func (s *Source) LinkType() uint32 { return 0 }

// Stats returns the counters so far.
func (s *Source) Stats() Stats { return Stats{} }
