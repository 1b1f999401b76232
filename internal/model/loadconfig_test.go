package model

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadConfig: a preset, a config file, and each way a name can fail.
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	tiny, _ := Preset("tiny")
	good, _ := json.Marshal(tiny)
	bad := tiny
	bad.Width = 0
	badJSON, _ := json.Marshal(bad)
	files := map[string]string{"good.json": string(good), "unknown-field.json": `{"layers": 2, "colour": "red"}`, "invalid.json": string(badJSON)}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	var unknown *UnknownConfigError
	var pathErr *fs.PathError
	tests := []struct {
		name  string
		check func(Config, error) bool
	}{
		{"tiny", func(c Config, err error) bool { return err == nil && c == tiny }},
		{p("good.json"), func(c Config, err error) bool { return err == nil && c == tiny }},
		{p("unknown-field.json"), func(c Config, err error) bool {
			return err != nil && strings.HasPrefix(err.Error(), p("unknown-field.json")+": ") && strings.Contains(err.Error(), "colour")
		}},
		{p("invalid.json"), func(c Config, err error) bool { return errors.Is(err, ErrConfig) }},
		{p("missing.json"), func(c Config, err error) bool { return errors.As(err, &pathErr) }},
		{"huge", func(c Config, err error) bool {
			return errors.As(err, &unknown) && strings.Contains(err.Error(), `"huge": not a preset (paper, small, tiny`)
		}},
	}
	for _, tc := range tests {
		if c, err := LoadConfig(tc.name); !tc.check(c, err) {
			t.Errorf("LoadConfig(%q) = %+v, %v", tc.name, c, err)
		}
	}
}
