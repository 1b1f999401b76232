package sample

import (
	"fmt"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// ShingleLen is the length of the payload windows CopyIndex compares: a
// generated packet that repeats ShingleLen bytes of a training packet's
// payload copies it.
const ShingleLen = 64

// shingleBase is the multiplier of the rolling hash (odd, so that powers
// never vanish modulo 2^64).
const shingleBase = 0x100000001b3

// CopyIndex holds the rolling hashes of every ShingleLen-byte window of
// the transport payloads of a set of flows (the training data), 8 bytes per
// window, sorted for lookup. Hash h(b_0..b_63) = sum (b_i+1) B^(63-i) mod
// 2^64 (polynomial, B = shingleBase); a collision makes a false copy with
// probability about windows/2^64. Add every flow, then Finish, then query.
type CopyIndex struct {
	hashes   []uint64
	finished bool
	Flows    int // flows added
	Payload  int64
}

// AddFlow adds the payload windows of one token flow (<flow> ... <end> or
// <cut>, as a dataset stores it). A flow that does not decode is an error.
func (x *CopyIndex) AddFlow(toks []codec.Token) error {
	if x.finished {
		return fmt.Errorf("sample: copy index: flow added after Finish")
	}
	err := eachPayload(toks, func(p []byte) bool {
		x.Payload += int64(len(p))
		shingles(p, func(h uint64) bool {
			x.hashes = append(x.hashes, h)
			return true
		})
		return true
	})
	if err != nil {
		return err
	}
	x.Flows++
	return nil
}

// Finish sorts the index (and drops repeated windows).
func (x *CopyIndex) Finish() {
	slices.Sort(x.hashes)
	x.hashes = slices.Compact(x.hashes)
	x.finished = true
}

// Len is the number of distinct windows.
func (x *CopyIndex) Len() int { return len(x.hashes) }

// Copies reports whether a packet of the token flow has a payload window
// that is in the index.
func (x *CopyIndex) Copies(toks []codec.Token) (bool, error) {
	if !x.finished {
		return false, fmt.Errorf("sample: copy index queried before Finish")
	}
	found := false
	err := eachPayload(toks, func(p []byte) bool {
		shingles(p, func(h uint64) bool {
			_, found = slices.BinarySearch(x.hashes, h)
			return !found
		})
		return !found
	})
	return found, err
}

// eachPayload calls fn with the transport payload of each packet of a token
// flow (packets the packet decoder cannot read to a payload are skipped)
// until fn returns false.
func eachPayload(toks []codec.Token, fn func([]byte) bool) error {
	h, _, err := codec.ParseHeader(toks)
	if err != nil {
		return err
	}
	var l packet.Layers
	stop := fmt.Errorf("stop")
	_, err = codec.DecodeFlow(toks, 0, func(p codec.Packet) error {
		if packet.Decode(h.LinkType, p.Data, &l) != nil || l.PayloadOff < 0 || l.PayloadOff >= len(p.Data) {
			return nil
		}
		if !fn(p.Data[l.PayloadOff:]) {
			return stop
		}
		return nil
	})
	if err == stop {
		return nil
	}
	return err
}

// shingles calls fn with the hash of each ShingleLen-byte window of p, in
// order, until fn returns false.
func shingles(p []byte, fn func(uint64) bool) {
	if len(p) < ShingleLen {
		return
	}
	var top uint64 = 1 // B^ShingleLen after the loop: the weight of the byte that leaves
	var h uint64
	for i := 0; i < ShingleLen; i++ {
		h = h*shingleBase + uint64(p[i]) + 1
		top *= shingleBase
	}
	if !fn(h) {
		return
	}
	for i := ShingleLen; i < len(p); i++ {
		h = h*shingleBase + uint64(p[i]) + 1 - (uint64(p[i-ShingleLen])+1)*top
		if !fn(h) {
			return
		}
	}
}

// IndexDataset builds the CopyIndex of every flow of every split of a
// dataset (the data a model was trained and validated on).
func IndexDataset(ds *dataset.Dataset) (*CopyIndex, error) {
	x := &CopyIndex{}
	var buf []uint16
	for _, name := range ds.Manifest().SplitNames() {
		sp, err := ds.Split(name)
		if err != nil {
			return nil, err
		}
		for i := 0; i < sp.Len(); i++ {
			if buf, err = sp.Flow(i, buf[:0]); err != nil {
				return nil, err
			}
			if err := x.AddFlow(buf); err != nil {
				return nil, fmt.Errorf("sample: copy index: %s split %s flow %d: %w", ds.Dir(), name, i, err)
			}
		}
	}
	x.Finish()
	return x, nil
}

// IndexDatasetDir is IndexDataset of the dataset in dir.
func IndexDatasetDir(dir string) (*CopyIndex, error) {
	ds, err := dataset.Open(dir)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	return IndexDataset(ds)
}
