package classify

import (
	"errors"
	"fmt"
	"slices"
)

// The checks of the classify, eval classify and calibrate commands' options,
// before any model is loaded; their errors name the commands' flags.

// Validate checks a classify run's options: Early >= 0, Batch >= 1.
func (o CaptureOptions) Validate() error {
	if o.Early < 0 || o.Batch < 1 {
		return errors.New("--early must be >= 0 and --batch >= 1")
	}
	return nil
}

// Validate checks an eval classify run's options: a model and a dataset,
// Batch >= 1, FRR in [0, 1).
func (o ReportOptions) Validate() error {
	switch {
	case o.Model == "" || o.Data == "":
		return errors.New("need --model CLF and --data DIR")
	case o.Batch < 1:
		return errors.New("--batch must be >= 1")
	}
	return checkFRR(o.FRR)
}

// CheckCalibration checks the arguments of Calibrate: one of
// OpenSetMethods, a false-rejection rate in [0, 1), batch >= 1.
func CheckCalibration(method string, frr float64, batch int) error {
	switch {
	case !slices.Contains(OpenSetMethods, method):
		return fmt.Errorf("--method %q: want one of %v", method, OpenSetMethods)
	case batch < 1:
		return errors.New("--batch must be >= 1")
	}
	return checkFRR(frr)
}

func checkFRR(frr float64) error {
	if frr < 0 || frr >= 1 {
		return fmt.Errorf("--frr %v: want a rate in [0, 1)", frr)
	}
	return nil
}
