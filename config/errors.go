package config

import (
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. Parse, Load and Validate
// return all problems they find joined with errors.Join, each one an *Error,
// so callers can get at them with errors.As or by unwrapping the join.
//
// File is the file name given to Parse or Load (empty for Validate on a
// Config built in code). Line is 1-based, 0 when unknown. Key is the path of
// the offending key from the document root, such as
// "models[0].features[1].type"; it is empty for problems that belong to no key,
// such as a YAML syntax error.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

// Error formats e as "FILE:LINE: KEY: MSG", leaving out the parts that are
// unknown: "FILE: KEY: MSG" without a line, "line LINE: KEY: MSG" without a
// file, "KEY: MSG" with neither.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	case e.File != "":
		b.WriteString(e.File)
		b.WriteString(": ")
	case e.Line > 0:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
