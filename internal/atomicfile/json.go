package atomicfile

import (
	"encoding/json"
	"io"
)

// WriteJSON writes v as indented JSON (and a newline) to path: "-" is
// stdout, "" nothing, anything else a file that appears whole.
func WriteJSON(path string, v any, stdout io.Writer) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == Stdout {
		_, err = stdout.Write(b)
		return err
	}
	return WriteFile(path, b)
}
