package evalgen

import (
	"errors"
	"fmt"
)

// Validate checks options as the eval generate command states them (every
// number set: no zero defaults); its errors name the command's flags.
func (o Options) Validate() error {
	switch {
	case len(o.Real) == 0 || len(o.Generated) == 0:
		return errors.New("need --real and --generated")
	case o.Seeds < 1 || o.MaxFlows < 10 || o.Trees < 1 || o.Workers < 1:
		return errors.New("--seeds, --trees and --workers must be positive, --max-flows at least 10")
	}
	switch o.Tshark {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("--tshark must be auto, on or off, not %q", o.Tshark)
	}
	if o.Labels != "" && o.Labels != "file" && o.Labels != "dir" {
		return fmt.Errorf("--labels must be file or dir, not %q", o.Labels)
	}
	return nil
}
