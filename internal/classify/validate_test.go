package classify

import "testing"

func TestValidateOptions(t *testing.T) {
	rep := ReportOptions{Model: "clf", Data: "ds", Batch: 32, FRR: 0.01}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"capture ok", CaptureOptions{Batch: 16}.Validate(), ""},
		{"capture early", CaptureOptions{Early: -1, Batch: 16}.Validate(), "--early must be >= 0 and --batch >= 1"},
		{"capture batch", CaptureOptions{Batch: 0}.Validate(), "--early must be >= 0 and --batch >= 1"},
		{"report ok", rep.Validate(), ""},
		{"report no model", ReportOptions{Data: "ds", Batch: 1}.Validate(), "need --model CLF and --data DIR"},
		{"report batch", ReportOptions{Model: "m", Data: "ds"}.Validate(), "--batch must be >= 1"},
		{"report frr", ReportOptions{Model: "m", Data: "ds", Batch: 1, FRR: 1}.Validate(), "--frr 1: want a rate in [0, 1)"},
		{"calibrate ok", CheckCalibration(OpenMahalanobis, 0.01, 32), ""},
		{"calibrate method", CheckCalibration("magic", 0.01, 32), `--method "magic": want one of ` + fmtList(OpenSetMethods)},
		{"calibrate frr", CheckCalibration(OpenMahalanobis, -0.1, 32), "--frr -0.1: want a rate in [0, 1)"},
		{"calibrate batch", CheckCalibration(OpenMahalanobis, 0.01, 0), "--batch must be >= 1"},
	} {
		if (c.want == "" && c.err != nil) || (c.want != "" && (c.err == nil || c.err.Error() != c.want)) {
			t.Errorf("%s: %v, want %q", c.name, c.err, c.want)
		}
	}
}

func fmtList(l []string) string {
	s := "["
	for i, x := range l {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}
