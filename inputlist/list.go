package inputlist

import (
	"fmt"
	"strings"
)

// Line is one meaningful line of input text: neither blank nor a comment.
type Line struct {
	// Number is the 1-based line number in the original text.
	Number int
	// Text is the line trimmed of surrounding white space.
	Text string
}

// Lines splits text into its meaningful lines, dropping blank lines and
// lines whose first non-blank character is '#'. Parsers of other line
// formats (registry credentials) build on it, so that every multi-line
// setting skips and numbers lines alike.
func Lines(text string) []Line {
	var out []Line
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, Line{Number: i + 1, Text: l})
	}
	return out
}

// ParseList returns the items of text: one per line, or several on a line
// separated by commas. Items are trimmed; blank lines, comment lines
// (starting with '#') and empty items are dropped. Only a whole line is a
// comment: in "a, #b" the item "#b" is kept. It returns nil when text holds
// no item.
func ParseList(text string) []string {
	var items []string
	for _, l := range Lines(text) {
		for item := range strings.SplitSeq(l.Text, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
	}
	return items
}

// ParseLines returns the lines of text as items, trimmed, without splitting
// at commas. Blank lines and comment lines (starting with '#') are dropped.
// It returns nil when text holds no item.
func ParseLines(text string) []string {
	var items []string
	for _, l := range Lines(text) {
		items = append(items, l.Text)
	}
	return items
}

// ParseBool reads a boolean as GitHub's toolkit reads an action input (YAML
// 1.2 core schema): true, True, TRUE, false, False, FALSE, trimmed. Empty
// text returns def. Any other text is an error that lists the accepted
// values.
func ParseBool(text string, def bool) (bool, error) {
	switch v := strings.TrimSpace(text); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, fmt.Errorf("%q is not a boolean: want one of true, True, TRUE, false, False, FALSE", v)
	}
}
