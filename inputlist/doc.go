// Package inputlist parses the text that sigil's action inputs and its
// command-line flags share: lists of items, key=value lines and booleans.
//
// The functions take a string and know nothing of where it came from: the
// action reads the text from an INPUT_* variable, the CLI from a flag
// (repeated flags joined by newlines). [Lines] is the line reader the other
// multi-line formats build on (registry credentials, in package registry),
// so that every setting skips and numbers lines alike.
//
// # Syntax
//
// All parsers read the text line by line ("\n" or "\r\n"). Each line is
// trimmed of surrounding white space; blank lines and lines whose first
// non-blank character is '#' are ignored. A '#' later in a line is part of
// the value (file paths may contain one). Line numbers in errors count every
// line of the text, blank and comment lines included, starting at 1, so they
// match what the user sees in the workflow file.
//
//   - [ParseList]: one item per line or several per line separated by commas;
//     each item is trimmed and empty items are dropped. Order is kept and
//     duplicates are not removed.
//   - [ParseLines]: one item per line; commas are part of the item. For
//     values that may contain a comma, such as globs with braces.
//   - [ParseKeyValues]: one key=value per line, split at the first '='. The
//     key is trimmed and must not be empty; the value is trimmed and may be
//     empty or contain '='. A key given twice is an error.
//   - [ParseBool]: the booleans GitHub's toolkit accepts (YAML 1.2 core
//     schema).
package inputlist
