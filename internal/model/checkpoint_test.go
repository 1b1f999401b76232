package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// TestCheckpointDigests: a flipped weight, a changed metadata value or a
// digest that was removed is an error naming the tensor or the metadata;
// a checkpoint written without digests (before they existed) still loads.
func TestCheckpointDigests(t *testing.T) {
	c := tinyCfg(t, func(c *Config) { c.TiedEmbedding = false; c.Classes = 3 })
	m := newModel(t, c, 8)
	var buf bytes.Buffer
	if err := m.WriteTo(&buf, map[string]string{"labels": `["dns","http","ssh"]`}); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	hl := int(binary.LittleEndian.Uint64(raw))
	var hdr map[string]json.RawMessage
	json.Unmarshal(raw[8:8+hl], &hdr)
	// The tensor whose data starts at byte 0 of the data region.
	first := ""
	for name, rm := range hdr {
		var th tensorHeader
		if name != "__metadata__" && json.Unmarshal(rm, &th) == nil && th.DataOffsets[0] == 0 {
			first = name
		}
	}
	// rewrite replaces the header by one built from the edited metadata.
	rewrite := func(edit func(md map[string]string)) []byte {
		var md map[string]string
		json.Unmarshal(hdr["__metadata__"], &md)
		edit(md)
		h := map[string]json.RawMessage{}
		for k, v := range hdr {
			h[k] = v
		}
		h["__metadata__"], _ = json.Marshal(md)
		js, _ := json.Marshal(h)
		for len(js)%8 != 0 {
			js = append(js, ' ')
		}
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
		return append(append(out, js...), raw[8+hl:]...)
	}
	flipAt := func(off int) []byte {
		b := append([]byte(nil), raw...)
		b[off] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string // in the error
	}{
		{"lowest bit of the first weight", flipAt(8 + hl), first},
		{"a weight in the middle", flipAt(8 + hl + (len(raw)-8-hl)/2), "tensor"},
		{"the last weight", flipAt(len(raw) - 1), "tensor"},
		{"a label in the metadata", rewrite(func(md map[string]string) { md["labels"] = `["dns","ssh","http"]` }), "metadata"},
		{"tensor digests removed", rewrite(func(md map[string]string) { delete(md, MetaTensorCRC) }), MetaTensorCRC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadFrom(bytes.NewReader(tc.data))
			if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrCheckpoint naming %q", err, tc.want)
			}
			if tc.name != "tensor digests removed" && !errors.Is(err, codec.ErrChecksum) {
				t.Fatalf("err %v, want ErrChecksum", err)
			}
			t.Log(err)
		})
	}

	m2, meta, err := ReadFrom(bytes.NewReader(raw))
	if err != nil || !HasDigests(meta) || maxRelDiff(m2.Params(), m.Params()) != 0 {
		t.Fatalf("intact: %v, digests %v", err, HasDigests(meta))
	}
	legacy := rewrite(func(md map[string]string) { delete(md, MetaTensorCRC); delete(md, MetaCRC) })
	m3, meta, err := ReadFrom(bytes.NewReader(legacy))
	if err != nil || HasDigests(meta) || maxRelDiff(m3.Params(), m.Params()) != 0 {
		t.Fatalf("checkpoint without digests: %v, digests %v", err, HasDigests(meta))
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	if _, meta, err := Load(path); err != nil || !HasDigests(meta) {
		t.Fatalf("Save/Load: %v", err)
	}
}
