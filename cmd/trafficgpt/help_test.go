package main

import (
	"strings"
	"testing"
)

// TestHelpOnStdout: every command's and group's --help (and -h, help CMD)
// goes to stdout with exit 0 and shows a usage line and an example; a wrong
// flag is exit 2 on stderr, pointing at --help.
func TestHelpOnStdout(t *testing.T) {
	for name := range commands {
		words := strings.Fields(name)
		for _, args := range [][]string{append(words, "--help"), append(words, "-h"), append([]string{"help"}, words...)} {
			code, out, e := run(t, args...)
			if !strings.Contains(out, "\nexample:\n") {
				t.Errorf("%q: no example in %q", args, out)
				continue
			}
			if code != exitOK || e != "" || !strings.HasPrefix(out, "usage: trafficgpt "+name) || !strings.Contains(out[strings.Index(out, "\nexample:\n")+1:], "trafficgpt "+name) {
				t.Errorf("%q: exit %d, stderr %q, stdout %q", args, code, e, out)
			}
		}
		code, out, e := run(t, append(words, "--no-such-flag")...)
		if code != exitUsage || out != "" || !strings.Contains(e, "trafficgpt "+name+" --help") {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q", name, code, out, e)
		}
	}
	for _, group := range []string{"dataset", "eval"} {
		code, out, e := run(t, group, "--help")
		if code != exitOK || e != "" || !strings.Contains(out, "subcommands:") {
			t.Errorf("%s --help: exit %d, stderr %q, stdout %q", group, code, e, out)
		}
		if code, _, e := run(t, group); code != exitUsage || !strings.Contains(e, "need a subcommand") {
			t.Errorf("%s: exit %d, %q", group, code, e)
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, _ := run(t, args...); code != exitOK || !strings.Contains(out, "commands:") {
			t.Errorf("%q: exit %d", args, code)
		}
	}
	if code, out, e := run(t); code != exitUsage || out != "" || !strings.Contains(e, "commands:") {
		t.Errorf("no arguments: exit %d, stdout %q", code, out)
	}
	code, out, _ := run(t, "--version")
	if code != exitOK || !strings.HasPrefix(out, "trafficgpt "+version+"\n") || !strings.Contains(out, "codec version") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}
