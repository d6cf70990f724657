package ghaction

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Level is the level of an annotation.
type Level string

// The levels of annotations the runner knows.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

// Annotation holds the optional properties of an error, warning or notice:
// a title and the place in a file it is about. Zero values are left out.
type Annotation struct {
	// Title is shown above the message.
	Title string
	// File is the path, relative to the repository, the message is about.
	File string
	// Line and EndLine are the first and last line in File, from 1.
	Line, EndLine int
	// Col and EndColumn are the first and last column in Line, from 1.
	Col, EndColumn int
}

// properties returns the non-zero properties of a under the names the
// runner reads.
func (a Annotation) properties() githubactions.CommandProperties {
	p := githubactions.CommandProperties{}
	for k, v := range map[string]string{"title": a.Title, "file": a.File} {
		if v != "" {
			p[k] = v
		}
	}
	for k, v := range map[string]int{"line": a.Line, "endLine": a.EndLine, "col": a.Col, "endColumn": a.EndColumn} {
		if v != 0 {
			p[k] = strconv.Itoa(v)
		}
	}
	return p
}

// command formats one workflow command line, "::name props::message\n",
// with message and property values escaped as GitHub's toolkit escapes
// them ('%', '\r' and '\n'; in properties also ':' and ','), so that the
// line is always exactly one line and nothing in it can start another
// command.
func command(name string, props githubactions.CommandProperties, message string) string {
	c := githubactions.Command{Name: name, Properties: props, Message: message}
	return c.String() + "\n"
}

// write writes s to stdout in one call, under the lock.
func (r *Runtime) write(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.stdout, s); err != nil {
		return fmt.Errorf("writing workflow command: %w", err)
	}
	return nil
}

// AddMask tells the runner to replace secret with "***" in the log from now
// on. The runner masks the log line by line, so a multi-line secret is
// masked line by line: each line that is not blank gets its own
// "::add-mask::" command (a trailing '\r' is not part of a line). A blank
// secret writes nothing.
func (r *Runtime) AddMask(secret string) error {
	var b strings.Builder
	for line := range strings.SplitSeq(secret, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		b.WriteString(command("add-mask", nil, line))
	}
	if b.Len() == 0 {
		return nil
	}
	return r.write(b.String())
}

// Group starts a collapsible group of log lines titled title, up to the
// next EndGroup. Groups do not nest.
func (r *Runtime) Group(title string) error {
	return r.write(command("group", nil, title))
}

// EndGroup ends the group started by Group.
func (r *Runtime) EndGroup() error {
	return r.write(command("endgroup", nil, ""))
}

// Annotate writes an error, warning or notice annotation with message and
// the properties of a. It returns an error for a level other than
// LevelError, LevelWarning and LevelNotice.
func (r *Runtime) Annotate(level Level, a Annotation, message string) error {
	switch level {
	case LevelError, LevelWarning, LevelNotice:
	default:
		return fmt.Errorf("ghaction: unknown annotation level %q", level)
	}
	return r.write(command(string(level), a.properties(), message))
}

// Errorf writes an error annotation, formatted as fmt.Sprintf does.
func (r *Runtime) Errorf(format string, args ...any) error {
	return r.Annotate(LevelError, Annotation{}, fmt.Sprintf(format, args...))
}

// Warningf writes a warning annotation, formatted as fmt.Sprintf does.
func (r *Runtime) Warningf(format string, args ...any) error {
	return r.Annotate(LevelWarning, Annotation{}, fmt.Sprintf(format, args...))
}

// Noticef writes a notice annotation, formatted as fmt.Sprintf does.
func (r *Runtime) Noticef(format string, args ...any) error {
	return r.Annotate(LevelNotice, Annotation{}, fmt.Sprintf(format, args...))
}

// Debugf writes a debug message, formatted as fmt.Sprintf does; the runner
// shows it only when step debug logging is on.
func (r *Runtime) Debugf(format string, args ...any) error {
	return r.write(command("debug", nil, fmt.Sprintf(format, args...)))
}

// Logf writes a plain log message, formatted as fmt.Sprintf does, with a
// final newline added if it has none. Text that could be read as a
// workflow command (it contains "::" anywhere) is wrapped in
// "::stop-commands::TOKEN" ... "::TOKEN::" with a random TOKEN, so that
// text from a registry or a certificate printed in a report can never run a
// command.
func (r *Runtime) Logf(format string, args ...any) error {
	text := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if !strings.Contains(text, "::") {
		return r.write(text)
	}
	token, err := r.randomToken("sigil-stop-", text)
	if err != nil {
		return err
	}
	return r.write(command("stop-commands", nil, token) + text + "::" + token + "::\n")
}
