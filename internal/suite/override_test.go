package suite

import (
	"slices"
	"testing"
	"time"
)

// TestOverride: what is given replaces the spec's, the rest stays; bad
// lists are errors.
func TestOverride(t *testing.T) {
	s, err := ReadSpec("../../testdata/suite/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	orig := *s
	keep := *s
	if err := keep.Override(Overrides{TimeLimit: -1}); err != nil {
		t.Fatal(err)
	}
	if keep.Len != orig.Len || keep.Epochs != orig.Epochs || keep.Config != orig.Config || keep.TimeLimit != orig.TimeLimit ||
		!slices.Equal(keep.Seeds, orig.Seeds) || len(keep.Tasks) != len(orig.Tasks) {
		t.Errorf("empty overrides changed the spec: %+v", keep)
	}
	o := Overrides{Seeds: "7,8", Budgets: "5,all", Tasks: orig.Tasks[0].Name, Methods: Forest + "," + KNN, Config: "tiny",
		Len: 32, Epochs: 1, TimeLimit: 0}
	if err := s.Override(o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Seeds, []uint64{7, 8}) || !slices.Equal(s.Budgets, []Budget{5, All}) || len(s.Tasks) != 1 ||
		!slices.Equal(s.Methods, []string{Forest, KNN}) || s.Config != "tiny" || s.Len != 32 || s.Epochs != 1 || s.TimeLimit != 0 {
		t.Errorf("overridden spec %+v", s)
	}
	s.Override(Overrides{TimeLimit: time.Minute})
	if s.TimeLimit != Duration(time.Minute) {
		t.Errorf("time limit %v", time.Duration(s.TimeLimit))
	}
	for _, bad := range []Overrides{{Seeds: "x"}, {Budgets: "many"}, {Methods: "magic"}, {Tasks: "nope"}} {
		bad.TimeLimit = -1
		c := orig
		if err := c.Override(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
