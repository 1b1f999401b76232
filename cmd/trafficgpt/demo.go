package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/trafficgpt/trafficgpt/models/base"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/evalgen"
	"github.com/trafficgpt/trafficgpt/internal/train"
)

func init() {
	register(command{name: "demo", summary: "run the whole pipeline on the shipped captures and print a summary", run: cmdDemo})
}

type demoOptions struct {
	out, input string
	quick      bool
	pretrain   bool // pre-train a model on the demo captures instead of fine-tuning the shipped base model
	seed       uint64
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o demoOptions
	fs := newFlagSet("demo", "demo [-o DIR] [--quick]", "trafficgpt demo --quick -o demo-out", stderr)
	fs.StringVar(&o.out, "o", "demo-out", "directory for every artefact (datasets, models, reports, plots, captures)")
	fs.StringVar(&o.input, "input", "testdata/demo", "labelled captures, one file per class (the shipped demo traffic)")
	fs.BoolVar(&o.quick, "quick", false, "about one minute: fewer epochs, steps and flows")
	fs.BoolVar(&o.pretrain, "pretrain", false, "pre-train a model on the demo captures (tiny with --quick, else small) instead of starting from the shipped base model")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of every step")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	return runDemo(ctx, o, stdout, stderr)
}

// demoStep is one command of the pipeline; its output goes to a log file.
type demoStep struct {
	title string
	args  []string
	log   string
}

func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	if _, err := os.Stat(o.input); err != nil {
		return fmt.Errorf("demo: %s not found: run from the repository root or pass --input (%v)", o.input, err)
	}
	if ents, err := os.ReadDir(o.out); err == nil && len(ents) > 0 {
		return fmt.Errorf("demo: %s exists and is not empty: choose another -o or remove it", o.out)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(o.out, name) }
	seed := fmt.Sprint(o.seed)
	// Sized for 2 cores: the full run about 5 minutes on an idle machine, --quick about 1.
	cfg, steps, ctxLen, batch, epochs, nflows, finetuneLen := "small", "150", "512", "4", "4", "24", "256"
	if o.quick {
		cfg, steps, ctxLen, batch, epochs, nflows, finetuneLen = "tiny", "200", "256", "8", "6", "30", "256"
		if !o.pretrain { // the base model is small: fewer epochs and generated flows (--len stays 256: at 128 the probe of the base reads 0.55 on demo, at 256 1.00)
			epochs, nflows, finetuneLen = "2", "8", "256"
		}
	}
	captures, err := captureInputs([]string{o.input})
	if err != nil || len(captures) == 0 {
		return fmt.Errorf("demo: no captures in %s", o.input)
	}
	// The base model's view: addresses, ports and MACs masked.
	mask := "addr+ports+mac"
	classifyData := demoStep{"build the labelled dataset (split by flow, stratified; addresses, ports and MACs masked)", []string{"dataset build", "-o", p("data-classify"),
		"--labels", "file", "--group", "flow", "--split", "train=0.6,valid=0.2,test=0.2", "--mask", mask,
		"--max-tokens", "2048", "--seed", seed, o.input}, "dataset-classify.log"}
	pre := "base"
	steps2 := []demoStep{classifyData}
	if o.pretrain {
		pre = p("model")
		steps2 = []demoStep{
			{"build the pre-training dataset (label tokens; addresses, ports and MACs masked)", []string{"dataset build", "-o", p("data-pretrain"),
				"--labels", "file", "--label-tokens", "--group", "flow", "--split", "train=0.9,valid=0.1", "--mask", mask,
				"--max-tokens", "2048", "--seed", seed, o.input}, "dataset-pretrain.log"},
			classifyData,
			{"pre-train the " + cfg + " model", []string{"pretrain", "--data", p("data-pretrain"), "-o", p("model"), "--config", cfg,
				"--steps", steps, "--ctx", ctxLen, "--batch", batch, "--eval-every", "50", "--seed", seed}, "pretrain.log"},
		}
	}
	steps2 = append(steps2, []demoStep{
		{"fine-tune a classifier from the " + map[bool]string{true: "model pre-trained here", false: "shipped base model"}[o.pretrain],
			[]string{"finetune", "--model", pre, "--data", p("data-classify"), "-o", p("classifier"),
				"--len", finetuneLen, "--epochs", epochs, "--seed", seed}, "finetune.log"},
		{"evaluate the classifier with the random-forest baseline", []string{"eval classify", "--model", p("classifier"),
			"--data", p("data-classify"), "--json", p("eval-classify.json"), "--plots", p("plots-classify")}, "eval-classify.log"},
		{"classify a capture", []string{"classify", "--model", p("classifier"), "--format", "csv", captures[0]}, "classified.csv"},
		{"generate a capture", []string{"generate", "--model", pre, "-n", nflows, "-o", p("generated.pcap"),
			"--max-packets", "12", "--max-tokens", "2048", "--seed", seed, "--tokens", p("generated.tgt")}, "generate.log"},
		{"evaluate the generated capture against the real one", []string{"eval generate", "--real", o.input,
			"--generated", p("generated.pcap"), "--json", p("eval-generate.json"), "--plots", p("plots-generate"),
			"--seeds", "3"}, "eval-generate.log"},
	}...)
	t0 := time.Now()
	for i, s := range steps2 {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "[%d/%d] %s ...", i+1, len(steps2), s.title)
		st := time.Now()
		var out bytes.Buffer
		args := append(strings.SplitN(s.args[0], " ", 2), s.args[1:]...)
		code := runMain(ctx, args, &out, &out)
		if err := os.WriteFile(p(s.log), out.Bytes(), 0o644); err != nil {
			return err
		}
		if code != exitOK {
			fmt.Fprintln(stderr, " failed")
			return fmt.Errorf("demo: step %d (trafficgpt %s) failed with exit %d; its output is in %s:\n%s",
				i+1, strings.Join(args, " "), code, p(s.log), lastLines(out.String(), 15))
		}
		fmt.Fprintf(stderr, " %.0fs\n", time.Since(st).Seconds())
	}
	return demoSummary(stdout, o, p, time.Since(t0))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// demoSummary prints one screen: scores, rates and where everything is.
func demoSummary(w io.Writer, o demoOptions, p func(string) string, took time.Duration) error {
	cls, err := classify.ReadReport(p("eval-classify.json"))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	gen, err := evalgen.ReadReport(p("eval-generate.json"))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	var tps float64
	if log, err := train.ReadLog(p("model")); o.pretrain && err == nil {
		for _, l := range log {
			if l.Kind == "train" && l.TokensPerSec > 0 {
				tps = l.TokensPerSec
			}
		}
	}
	fmt.Fprintf(w, "\ntrafficgpt demo: %s in %s\n\n", o.input, took.Round(time.Second))
	cls.WriteSummary(w, map[bool]string{true: "fine-tuned from the model pre-trained here", false: "fine-tuned from the shipped base model"}[o.pretrain])
	gen.WriteSummary(w)
	if o.pretrain {
		fmt.Fprintf(w, "pre-training throughput       %.0f tokens/s\n\n", tps)
	} else if in, err := base.Identity(); err == nil {
		fmt.Fprintf(w, "base model                    %s\n\n", in)
	}
	for _, a := range [][2]string{
		{"datasets", map[bool]string{true: p("data-pretrain") + ", ", false: ""}[o.pretrain] + p("data-classify")},
		{"pre-trained model", map[bool]string{true: p("model") + " (loss curve: " + p("model/loss.png") + ")", false: "base (trafficgpt version shows which)"}[o.pretrain]},
		{"classifier", p("classifier")},
		{"classification report", p("eval-classify.json") + ", plots in " + p("plots-classify")},
		{"classified flows", p("classified.csv")},
		{"generated capture", p("generated.pcap") + " (tokens: " + p("generated.tgt") + ")"},
		{"generation report", p("eval-generate.json") + ", plots in " + p("plots-generate")},
		{"logs of every step", p("*.log")},
	} {
		fmt.Fprintf(w, "  %-22s %s\n", a[0], a[1])
	}
	return nil
}
