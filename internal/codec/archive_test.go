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
)

const devData = "../../../shared/data/dev-v1"

// devCaptures lists every file under dev-v1 that is not documentation.
func devCaptures(t testing.TB) []string {
	if _, err := os.Stat(devData); err != nil {
		t.Skip("dev-v1 data not found")
	}
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
		packets += st.Packets
		raw += st.Encode.Raw
		fallback += st.Encode.Fallback
		tokens += st.Tokens
	}
	t.Logf("%d files round-trip, %d unreadable; %d packets, %.1f tokens/packet, %d raw, %d fallback",
		ok, bad, packets, float64(tokens)/float64(max(packets, 1)), raw, fallback)
}
