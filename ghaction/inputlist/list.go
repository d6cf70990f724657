package inputlist

import "strings"

// line is one meaningful line of input text: neither blank nor a comment.
type line struct {
	// number is the 1-based line number in the original text.
	number int
	// text is the line trimmed of surrounding white space.
	text string
}

// lines splits text into its meaningful lines, dropping blank lines and
// lines whose first non-blank character is '#'.
func lines(text string) []line {
	var out []line
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, line{number: i + 1, text: l})
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
	for _, l := range lines(text) {
		for item := range strings.SplitSeq(l.text, ",") {
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
	for _, l := range lines(text) {
		items = append(items, l.text)
	}
	return items
}
