package ghaction

import (
	"fmt"
	"strings"
)

// Output is one output record of a GITHUB_OUTPUT file.
type Output struct{ Name, Value string }

// parseOutputFile reads a GITHUB_OUTPUT file exactly as the runner does on Linux
// (actions/runner, FileCommandManager.cs: name=value lines and
// name<<DELIMITER heredocs, lines split at '\n' only, the delimiter line
// compared exactly), in the order written. SetOutput's records read back
// as exactly what was set; tests and tools that run the action use it to
// read its outputs.
func parseOutputFile(text string) ([]Output, error) {
	var outs []Output
	index := 0
	// readLine returns the next line, whether it ended in '\n', and false
	// at the end of text.
	readLine := func() (string, bool, bool) {
		if index >= len(text) {
			return "", false, false
		}
		start := index
		lf := strings.IndexByte(text[index:], '\n')
		if lf < 0 {
			index = len(text)
			return text[start:], false, true
		}
		index += lf + 1
		return text[start : index-1], true, true
	}
	for {
		line, _, ok := readLine()
		if !ok {
			return outs, nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			name, value, _ := strings.Cut(line, "=")
			outs = append(outs, Output{name, value})
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim, _ := strings.Cut(line, "<<")
			if name == "" || delim == "" {
				return nil, fmt.Errorf("invalid format %q", line)
			}
			start, end := index, index
			for {
				l, nl, ok := readLine()
				if !ok {
					return nil, fmt.Errorf("matching delimiter not found %q", delim)
				}
				if l == delim {
					break
				}
				if !nl {
					return nil, fmt.Errorf("value line %q has no newline and no delimiter follows", l)
				}
				end = index - 1
			}
			value := ""
			if end > start {
				value = text[start:end]
			}
			outs = append(outs, Output{name, value})
		default:
			return nil, fmt.Errorf("invalid format %q", line)
		}
	}
}

// ParseOutputs is parseOutputFile as a map from name to value. A name
// written twice is an error, so that no value can shadow another unseen.
func ParseOutputs(text string) (map[string]string, error) {
	outs, err := parseOutputFile(text)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(outs))
	for _, o := range outs {
		if _, dup := m[o.Name]; dup {
			return nil, fmt.Errorf("output %s written twice", o.Name)
		}
		m[o.Name] = o.Value
	}
	return m, nil
}
