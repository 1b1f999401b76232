package evalgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

// UnmarshalJSON reads a number, or null as NaN.
func (v *Num) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*v = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = Num(f)
	return nil
}

// UnmarshalJSON reads an object in its order; null values are NaN.
func (o *Scores) UnmarshalJSON(b []byte) error {
	*o = Scores{}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("evalgen: scores: want an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v Num
		if err := dec.Decode(&v); err != nil {
			return err
		}
		o.add(t.(string), float64(v))
	}
	return nil
}

// ReadReport reads a JSON report (eval generate --json) back.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// WriteSummary prints the report in two lines (the demo's summary): the
// mean JSDs and the discriminator F1 ("-" and why when it did not run),
// then the validity of the generated packets.
func (r *Report) WriteSummary(w io.Writer) {
	gen := r.Validity["generated"]
	disc := fmt.Sprintf("- (%d generated flows: too few to train it, it needs %d)", flowsOf(gen), MinDiscriminatorFlows)
	if f, s := float64(r.DiscriminatorF1), float64(r.DiscriminatorF1Std); !math.IsNaN(f) && !math.IsNaN(s) {
		disc = fmt.Sprintf("%.3f +- %.3f (0.5 = indistinguishable)", f, s)
	}
	fmt.Fprintf(w, "generation                    header JSD %.3f   flow JSD %.3f   discriminator F1 %s\n",
		r.HeaderJSD.Get("mean"), r.FlowJSD.Get("mean"), disc)
	if gen == nil {
		return
	}
	ts := "-"
	if gen.Tshark != nil {
		ts = fmt.Sprintf("%.1f%%", 100*gen.Tshark.CleanShr)
	}
	fmt.Fprintf(w, "validity of generated packets decode %.1f%%   TCP/UDP checksums %.1f%%   handshakes %.1f%%   tshark clean %s\n",
		100*gen.PacketShare, 100*gen.L4Share, 100*gen.HandshakeShr, ts)
}

func flowsOf(v *Validity) int {
	if v == nil {
		return 0
	}
	return v.Flows
}
