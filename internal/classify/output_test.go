package classify

import (
	"strings"
	"testing"
	"time"
)

// TestResultWriter: one flow in each format, with its top three classes
// and the unknown label of a rejected flow.
func TestResultWriter(t *testing.T) {
	labels := []string{"dns", "mqtt", "http", "ssh"}
	flows := []*FlowResult{
		{ID: 3, Key: "udp 10.0.0.1:5353 -> 10.0.0.2:53", CommunityID: "1:abc=", AtPacket: 2, After: 1500 * time.Millisecond,
			Why: DecidedEarly, Class: 0, Best: 0, Prob: 0.71234, Score: 1.5, Probs: []float32{0.71234, 0.2, 0.05, 0.03766}},
		{ID: 4, Key: "tcp a:1 -> b:2", AtPacket: 9, Why: DecidedEnd, Class: Unknown, Best: 1, Prob: 0.4, Score: -7,
			Probs: []float32{0.3, 0.4, 0.2, 0.1}},
	}
	tests := []struct {
		format string
		want   []string // lines
	}{
		{"csv", []string{strings.Join(ResultColumns, ","),
			"f.pcap,3,1:abc=,udp 10.0.0.1:5353 -> 10.0.0.2:53,2,1.500000,early,dns,0.7123,1.5,dns:0.7123;mqtt:0.2000;http:0.0500",
			"f.pcap,4,,tcp a:1 -> b:2,9,0.000000,end,unknown,0.4000,-7,mqtt:0.4000;dns:0.3000;http:0.2000"}},
		{"jsonl", []string{
			`{"file":"f.pcap","flow_id":3,"community_id":"1:abc=","flow":"udp 10.0.0.1:5353 -> 10.0.0.2:53","at_packet":2,"after_s":1.5,"decided":"early","label":"dns","probability":0.7123,"open_set_score":1.5,"top3":[{"label":"dns","probability":0.7123},{"label":"mqtt","probability":0.2},{"label":"http","probability":0.05}]}`,
			`{"file":"f.pcap","flow_id":4,"community_id":"","flow":"tcp a:1 -> b:2","at_packet":9,"after_s":0,"decided":"end","label":"unknown","probability":0.4,"open_set_score":-7,"top3":[{"label":"mqtt","probability":0.4},{"label":"dns","probability":0.3},{"label":"http","probability":0.2}]}`}},
		{"text", []string{
			"file                        id flow                                                  pkt     after label              prob  top-3",
			"f.pcap                       3 udp 10.0.0.1:5353 -> 10.0.0.2:53                        2    1.500s dns              0.7123  dns 0.712, mqtt 0.200, http 0.050",
			"f.pcap                       4 tcp a:1 -> b:2                                          9    0.000s unknown          0.4000  mqtt 0.400, dns 0.300, http 0.200"}},
	}
	for _, tc := range tests {
		var b strings.Builder
		w := NewResultWriter(&b, tc.format, labels)
		for _, f := range flows {
			if err := w.Write("f.pcap", f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.format, got, tc.want)
		}
	}
}
