package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
)

func TestSpreadMultiFlags(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"--real", "a", "b", "--generated", "c", "--json", "x"},
			[]string{"--real", "a", "--real", "b", "--generated", "c", "--json", "x"}},
		{[]string{"-real=a", "--train", "t1", "t2"}, []string{"-real=a", "--train", "t1", "--train", "t2"}},
		{[]string{"--real"}, []string{"--real"}},
		{[]string{"--plots", "dir", "pos"}, []string{"--plots", "dir", "pos"}},
	}
	for _, tc := range tests {
		if got := spreadMultiFlags(tc.in, "real", "generated", "train"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("spreadMultiFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEvalGenerateUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{"--real", "x.pcap"},
		{"--real", "x.pcap", "--generated", "y.pcap", "--tshark", "maybe"},
		{"--real", "x.pcap", "--generated", "y.pcap", "--seeds", "0"},
		{"--real", "x.pcap", "--generated", "y.pcap", "--labels", "csv"},
	} {
		if err := cmdEvalGenerate(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	err := cmdEvalGenerate(context.Background(), []string{"--help"}, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) || !printHelp(&out, err) || !strings.Contains(out.String(), "example:") {
		t.Errorf("--help: %v, %q", err, out.String())
	}
}
