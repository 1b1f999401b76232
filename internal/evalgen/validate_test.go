package evalgen

import "testing"

func TestOptionsValidate(t *testing.T) {
	ok := Options{Real: []string{"r.pcap"}, Generated: []string{"g.pcap"}, Seeds: 5, MaxFlows: 5000, Trees: 100, Tshark: "auto", Workers: 2}
	for _, c := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"flags' defaults", func(*Options) {}, ""},
		{"labels file", func(o *Options) { o.Labels = "file" }, ""},
		{"no real", func(o *Options) { o.Real = nil }, "need --real and --generated"},
		{"no generated", func(o *Options) { o.Generated = nil }, "need --real and --generated"},
		{"zero seeds", func(o *Options) { o.Seeds = 0 }, "--seeds, --trees and --workers must be positive, --max-flows at least 10"},
		{"few flows", func(o *Options) { o.MaxFlows = 9 }, "--seeds, --trees and --workers must be positive, --max-flows at least 10"},
		{"zero workers", func(o *Options) { o.Workers = 0 }, "--seeds, --trees and --workers must be positive, --max-flows at least 10"},
		{"tshark", func(o *Options) { o.Tshark = "maybe" }, `--tshark must be auto, on or off, not "maybe"`},
		{"labels", func(o *Options) { o.Labels = "csv" }, `--labels must be file or dir, not "csv"`},
	} {
		o := ok
		c.edit(&o)
		err := o.Validate()
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
