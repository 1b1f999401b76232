package codec

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
)

// devData is dev-v1 (extended checks; see internal/devdata).
var devData = devdata.Dir()

// devCaptures lists every file under dev-v1 that is not documentation.
func devCaptures(t testing.TB) []string {
	devdata.Path(t)
	var files []string
	filepath.WalkDir(devData, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".md", ".csv", ".txt", ".out", ".json":
			return nil
		}
		files = append(files, p)
		return nil
	})
	return files
}

// plainBytes returns the file's bytes, gunzipped when gzip.
func plainBytes(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return b
		}
		if u, err := io.ReadAll(zr); err == nil {
			return u
		}
	}
	return b
}

// TestArchiveRoundTripDev: every readable dev capture tokenizes and
// detokenizes to the identical bytes; unreadable ones fail with an error.
func TestArchiveRoundTripDev(t *testing.T) {
	files := devCaptures(t)
	var ok, bad, packets, raw, fallback int
	var tokens int64
	type agg struct {
		packets             int
		tokens, paper, time int64
		enc                 EncodeStats
	}
	corpora := map[string]*agg{}
	for _, f := range files {
		in := plainBytes(t, f)
		var arc bytes.Buffer
		st, err := Tokenize(context.Background(), bytes.NewReader(in), &arc, TokenizeOptions{KeepTrailing: true})
		if err != nil {
			bad++
			if testing.Verbose() {
				t.Logf("%s: %v", f, err)
			}
			continue
		}
		var out bytes.Buffer
		if _, err := Detokenize(context.Background(), &arc, &out); err != nil {
			t.Errorf("%s: detokenize: %v", f, err)
			continue
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Errorf("%s: round trip differs (%d bytes in, %d out)", f, len(in), out.Len())
			continue
		}
		ok++
		rel, _ := filepath.Rel(devData, f)
		corpus := strings.Split(rel, string(filepath.Separator))[0]
		if corpus == "format" {
			corpus = filepath.Join("format", strings.Split(rel, string(filepath.Separator))[1])
		}
		a := corpora[corpus]
		if a == nil {
			a = &agg{}
			corpora[corpus] = a
		}
		a.packets += st.Packets
		a.tokens += st.Tokens
		a.paper += st.PaperTokens
		a.enc.add(st.Encode)
		packets += st.Packets
		raw += st.Encode.Raw
		fallback += st.Encode.Fallback
		tokens += st.Tokens
	}
	t.Logf("%d files round-trip, %d unreadable; %d packets, %.1f tokens/packet, %d raw, %d fallback",
		ok, bad, packets, float64(tokens)/float64(max(packets, 1)), raw, fallback)
	t.Logf("%-18s %8s %9s %9s %9s %9s %9s %9s", "corpus", "packets", "tok/pkt", "paper", "addr-", "len-", "csum-", "time")
	for c, a := range corpora {
		p := float64(max(a.packets, 1))
		t.Logf("%-18s %8d %9.1f %9.1f %9.2f %9.2f %9.2f %9.2f", c, a.packets, float64(a.tokens)/p, float64(a.paper)/p,
			float64(a.enc.SavedAddr)/p, float64(a.enc.SavedLen)/p, float64(a.enc.SavedCsum)/p, float64(a.enc.TimeTokens)/p)
		if a.tokens >= a.paper {
			t.Errorf("%s: lossless view costs %d tokens, the paper's layout %d", c, a.tokens, a.paper)
		}
	}
}

// TestHeaderOnlyBudget reports tokens per packet of the header-only view.
func TestHeaderOnlyBudget(t *testing.T) {
	for _, corpus := range []string{"generated", "ndpi"} {
		files := devCaptures(t)
		var packets int
		var tokens int64
		for _, f := range files {
			if !strings.Contains(f, "/"+corpus+"/") {
				continue
			}
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			st, err := EncodeFlows(context.Background(), fh, EncodeOptions{View: View{HeaderOnly: true}}, func(*EncodedFlow) error { return nil })
			fh.Close()
			if err != nil {
				continue
			}
			packets += st.Packets
			tokens += st.Tokens
		}
		t.Logf("%s: header-only view %.1f tokens/packet over %d packets", corpus, float64(tokens)/float64(max(packets, 1)), packets)
	}
}
