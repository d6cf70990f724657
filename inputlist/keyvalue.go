package inputlist

import (
	"fmt"
	"strings"
)

// ParseKeyValues parses text holding one key=value per line, such as
// annotations. The line is split at its first '='; the key and the value are
// trimmed. The value may be empty and may contain '='. Blank lines and
// comment lines (starting with '#') are ignored. It returns nil when text
// holds no pair.
//
// A line without '=', an empty key or a key given twice is an error naming
// the line number.
func ParseKeyValues(text string) (map[string]string, error) {
	var kv map[string]string
	seen := map[string]int{}
	for _, l := range Lines(text) {
		key, value, ok := strings.Cut(l.Text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: missing '=': want key=value", l.Number)
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("line %d: empty key: want key=value", l.Number)
		}
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("line %d: key %q already given on line %d", l.Number, key, first)
		}
		seen[key] = l.Number
		if kv == nil {
			kv = map[string]string{}
		}
		kv[key] = strings.TrimSpace(value)
	}
	return kv, nil
}
