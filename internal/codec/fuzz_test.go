package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// tokensFromBytes maps fuzz bytes to tokens: 2 bytes each, modulo VocabSize.
func tokensFromBytes(b []byte) []Token {
	toks := make([]Token, len(b)/2)
	for i := range toks {
		toks[i] = binary.LittleEndian.Uint16(b[2*i:]) % VocabSize
	}
	return toks
}

func tokensToBytes(toks []Token) []byte {
	b := make([]byte, 2*len(toks))
	for i, t := range toks {
		binary.LittleEndian.PutUint16(b[2*i:], t)
	}
	return b
}

// seedFlows adds the token sequences of a few dev flows as seeds.
func seedFlows(f *testing.F, max int) [][]Token {
	var out [][]Token
	for _, name := range []string{"generated/dns.pcap", "generated/mqtt.pcap", "ndpi/pcap/quic.pcap", "ndpi/pcap/dns_long.pcap"} {
		fh, err := os.Open(filepath.Join(devData, name))
		if err != nil {
			continue
		}
		EncodeFlows(context.Background(), fh, EncodeOptions{View: View{MaxPackets: 6}}, func(ef *EncodedFlow) error {
			if len(out) < max {
				out = append(out, append([]Token(nil), ef.Tokens...))
			}
			return nil
		})
		fh.Close()
	}
	return out
}

// FuzzTokenDecoder: any token sequence decodes or fails cleanly; what
// decodes, re-encodes (lossless) to tokens that decode to the same packets.
func FuzzTokenDecoder(f *testing.F) {
	for _, toks := range seedFlows(f, 40) {
		f.Add(tokensToBytes(toks))
	}
	f.Add(tokensToBytes([]Token{FLOW, LinkEth, ResMicro, PKTC2S, Mag0, 1, 2, 3, END}))
	f.Fuzz(func(t *testing.T, b []byte) {
		toks := tokensFromBytes(b)
		type pk struct {
			c2s   bool
			ticks uint64
			orig  uint32
			data  []byte
		}
		var got []pk
		h, err := DecodeFlow(toks, 1000, func(p Packet) error {
			got = append(got, pk{p.C2S, p.Ticks, p.OrigLen, append([]byte(nil), p.Data...)})
			return nil
		})
		if err != nil || len(got) == 0 {
			return
		}
		e := NewFlowEncoder(View{})
		re := e.Begin(nil, h, got[0].ticks)
		for _, p := range got {
			re = e.Packet(re, p.c2s, p.ticks, true, p.orig, p.data)
		}
		re = e.End(re)
		i := 0
		if _, err := DecodeFlow(re, got[0].ticks, func(p Packet) error {
			w := got[i]
			if p.C2S != w.c2s || p.Ticks != w.ticks || p.OrigLen != w.orig || !bytes.Equal(p.Data, w.data) {
				t.Fatalf("packet %d differs after re-encoding\n%s\n%s", i, Format(toks), Format(re))
			}
			i++
			return nil
		}); err != nil {
			t.Fatalf("re-encoded flow does not decode: %v\n%s", err, Format(re))
		}
		if i != len(got) {
			t.Fatalf("re-encoded flow has %d packets, want %d", i, len(got))
		}
	})
}

// FuzzPacketRoundTrip: any packet bytes on any common link type survive the
// lossless encoder, and the walker never reads out of bounds.
func FuzzPacketRoundTrip(f *testing.F) {
	for _, toks := range seedFlows(f, 20) {
		DecodeFlow(toks, 0, func(p Packet) error {
			f.Add(uint8(0), append([]byte(nil), p.Data...), uint16(0))
			return nil
		})
	}
	f.Add(uint8(1), []byte{0x45, 0, 0, 20}, uint16(3))
	f.Fuzz(func(t *testing.T, lt uint8, data []byte, extra uint16) {
		link := []uint32{1, 101, 113, 276, 0, 108, 147}[int(lt)%7]
		e := NewFlowEncoder(View{})
		toks := e.Begin(nil, Header{LinkType: link, Resolution: pcap.Micro, Label: -1}, 5)
		orig := uint32(len(data)) + uint32(extra%3)
		toks = e.Packet(toks, true, 5, true, orig, data)
		toks = e.Packet(toks, false, 9, true, orig, data)
		toks = e.End(toks)
		n := 0
		if _, err := DecodeFlow(toks, 5, func(p Packet) error {
			if !bytes.Equal(p.Data, data) || p.OrigLen != orig {
				t.Fatalf("packet %d differs", n)
			}
			n++
			return nil
		}); err != nil || n != 2 {
			t.Fatalf("decode: %v (%d packets)", err, n)
		}
	})
}

// FuzzArchiveReader: corrupt archives give errors, never panics.
func FuzzArchiveReader(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(devData, "generated/dns.pcap")); err == nil {
		var arc bytes.Buffer
		if _, err := Tokenize(context.Background(), bytes.NewReader(b[:4096]), &arc, TokenizeOptions{KeepTrailing: true}); err == nil {
			f.Add(arc.Bytes())
		}
	}
	f.Add([]byte("TGTA\x01\x01\x00Z\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Detokenize(context.Background(), bytes.NewReader(b), io.Discard)
	})
}

// FuzzViews: any packet under any view encodes without panicking and the
// result decodes, keeping the original length.
func FuzzViews(f *testing.F) {
	for _, toks := range seedFlows(f, 10) {
		DecodeFlow(toks, 0, func(p Packet) error {
			f.Add(uint8(0), append([]byte(nil), p.Data...), uint8(0xff), uint16(16))
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, lt uint8, data []byte, mask uint8, maxPay uint16) {
		link := []uint32{1, 101, 113, 276, 0, 108}[int(lt)%6]
		v := View{Mask: Mask(mask) & 0x1f, HeaderOnly: maxPay%7 == 0, MaxPayload: int(maxPay % 300), MaxTokens: int(maxPay%5) * 40}
		if v.MaxTokens > 0 && v.MaxTokens < 8 {
			v.MaxTokens = 0
		}
		e := NewFlowEncoder(v)
		toks := e.Begin(nil, Header{LinkType: link, Resolution: pcap.Micro, Label: -1}, 0)
		toks = e.Packet(toks, true, 0, true, uint32(len(data)), data)
		toks = e.Packet(toks, false, 3, true, uint32(len(data)), data)
		toks = e.End(toks)
		if _, err := DecodeFlow(toks, 0, func(p Packet) error {
			if p.OrigLen != uint32(len(data)) {
				t.Fatalf("orig len %d, want %d", p.OrigLen, len(data))
			}
			return nil
		}); err != nil {
			t.Fatalf("view %+v: %v\n%s", v, err, Format(toks))
		}
	})
}
