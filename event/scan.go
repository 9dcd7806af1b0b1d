package event

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file is the JSON format: a scanner specialised for reckon's records,
// one pass over a top-level object that validates the whole document
// (RFC 8259), puts the values of the contract's top-level fields into a
// Fields, and the members of the "features" object one level down.
// Everything deeper, and every field the contract does not know, is
// validated and skipped. It judges no value: that is the rules' work
// (rules.go). It replaces fastjson on the hot path because decoding
// dominated a worker's CPU (BenchmarkDecodePrediction: ~1.3 µs with
// fastjson; see the README); fastjson remains the oracle of
// FuzzDecodeMatchesOracle.
//
// Strings without escapes alias the input; escaped ones are unescaped into
// the scanner's buffer, which is reset per record, so every []byte it
// returns is valid until the next record.

// JSON is reckon's JSON format (docs/events.md): it implements Format. It is
// not safe for concurrent use; the zero JSON is ready to use.
type JSON struct {
	// KeepMembers makes Scan keep every top-level member of the record,
	// known to the contract or not, for Members. Flat rows of reference
	// data need them; the hot path does not.
	KeepMembers bool

	sc scanner
}

// Scan implements Format: b must be one JSON object in valid UTF-8 and
// nothing else.
func (j *JSON) Scan(b []byte, f *Fields) error {
	if !utf8.Valid(b) {
		return &DecodeError{Reason: ReasonInvalidUTF8, Detail: "record value is not valid UTF-8"}
	}
	j.sc.keep = j.KeepMembers
	if !j.sc.scanRecord(b, f) {
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: j.sc.err}
	}
	return nil
}

// Members returns every top-level member of the last record scanned, in
// record order, when KeepMembers is set. A features object is a member of
// TypeObject (its members are in the Fields). Valid until the next Scan.
func (j *JSON) Members() []Member { return j.sc.top }

// exactPow10 are the powers of ten that a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactFloat converts a number literal of few digits (37, 123.45, 0.873,
// 1e3: what producers send) that the scanner has taken apart: its sign, its
// decimal digits as the integer m (nd of them, leading zeros included) and
// the power of ten exp to scale m by. strconv.ParseFloat costs about 25 ns a
// literal in its general machinery; this costs a multiply or a divide.
//
// It is Clinger's fast path, the one strconv itself takes for such input:
// when m is at most 2^53 and exp is within ±22, both m and 10^|exp| are
// exact float64 values, and one IEEE multiply or divide rounds m·10^exp
// correctly, so the result equals ParseFloat's bit for bit
// (TestExactFloatMatchesStrconv). Otherwise ok is false: m may have
// overflowed (more than 19 digits) or the result needs strconv.
func exactFloat(neg bool, m uint64, nd, exp int) (f float64, ok bool) {
	if nd > 19 || m > 1<<53 {
		return 0, false
	}
	switch f = float64(m); {
	case m == 0:
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= exactPow10[exp]
	case exp < 0 && exp >= -22:
		f /= exactPow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// maxDepth bounds nesting, so that a hostile record cannot exhaust the
// stack.
const maxDepth = 32

type scanner struct {
	b   []byte
	i   int
	buf []byte // unescaped strings of the current record
	err string

	f       *Fields // where the record's fields go
	keep    bool    // keep every top-level member in top
	top     []Member
	skipped Value // the value of a top-level member that f does not keep

	// The number last scanned: exact when number stored its value (see
	// exactFloat), else lit is its literal, for strconv.
	exact bool
	lit   []byte
}

// scanRecord scans b, which must be a JSON object and nothing else, into
// f. On failure it returns false and s.err says why.
func (s *scanner) scanRecord(b []byte, f *Fields) bool {
	s.b, s.i, s.buf, s.err = b, 0, s.buf[:0], ""
	s.f, s.top = f, s.top[:0]
	f.Reset()
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("empty record")
	}
	if s.b[s.i] != '{' {
		var v Value
		if !s.value(&v, 0) {
			return false
		}
		return s.fail("record is a JSON " + v.describe() + ", want an object")
	}
	s.i++
	if !s.members(1, nil) {
		return false
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("unexpected data after the top-level object at offset " + strconv.Itoa(s.i))
	}
	return true
}

// members scans an object's members after its '{' up to and including
// '}'. At the top level (into nil), the values of the contract's fields go
// to s.f, and the members of the first "features" and "scores" objects one
// level down to s.f.Features and s.f.Scores (into); members anywhere else
// are not scanned here.
func (s *scanner) members(depth int, into *[]Member) bool {
	top := into == nil
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("want a quoted key at offset " + strconv.Itoa(s.i))
		}
		key, ok := s.str()
		if !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("want ':' after a key at offset " + strconv.Itoa(s.i))
		}
		s.i++
		s.ws()
		if top {
			// A field of the contract's is scanned into its place in s.f
			// the first time the record has it; the first occurrence wins.
			field, known := FieldOf(key)
			known = known && !s.f.Has(field)
			v := &s.skipped
			if known {
				s.f.has |= 1 << field
				v = &s.f.top[field]
			}
			if known && (field == FieldFeatures || field == FieldScores) && s.i < len(s.b) && s.b[s.i] == '{' {
				s.i++
				v.Type = TypeObject
				dst := &s.f.Features
				if field == FieldScores {
					dst = &s.f.Scores
				}
				if !s.members(depth+1, dst) {
					return false
				}
			} else {
				if !s.value(v, depth) {
					return false
				}
				if v.Type == TypeNumber && !s.exact && (known || s.keep) {
					v.Num = parseFloat(s.lit)
				}
			}
			if s.keep {
				s.top = append(s.top, Member{Name: key, Value: *v})
			}
		} else {
			// A feature is scanned in place: this is most of a record.
			fs := *into
			n := len(fs)
			if n < cap(fs) {
				fs = fs[:n+1]
			} else {
				fs = append(fs, Member{})
			}
			*into = fs
			m := &fs[n]
			m.Name = key
			if !s.value(&m.Value, depth) {
				return false
			}
			if m.Value.Type == TypeNumber && !s.exact {
				m.Value.Num = parseFloat(s.lit)
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unterminated object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return s.fail("want ',' or '}' at offset " + strconv.Itoa(s.i))
		}
	}
}

// value scans one value into v, setting its Type and the member of that
// type only (a reused v keeps stale others, which Value's contract makes
// meaningless); objects and arrays are validated and skipped. A number's
// value is in v.Num only when s.exact; otherwise its literal is s.lit, for
// the caller to convert if it keeps the value.
func (s *scanner) value(v *Value, depth int) bool {
	if s.i >= len(s.b) {
		return s.fail("unexpected end of record")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		str, ok := s.str()
		v.Type, v.Str = TypeString, str
		return ok
	case c == '-' || (c >= '0' && c <= '9'):
		v.Type = TypeNumber
		return s.number(v)
	case c == '{':
		v.Type = TypeObject
		return s.skipContainer(depth + 1)
	case c == '[':
		v.Type = TypeArray
		return s.skipContainer(depth + 1)
	case s.literal("true"):
		v.Type, v.Bool = TypeBool, true
	case s.literal("false"):
		v.Type, v.Bool = TypeBool, false
	case s.literal("null"):
		v.Type = TypeNull
	default:
		return s.fail("unexpected " + strconv.QuoteRune(rune(c)) + " at offset " + strconv.Itoa(s.i))
	}
	return true
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// skipContainer validates and skips the object or array starting at s.i.
func (s *scanner) skipContainer(depth int) bool {
	if depth > maxDepth {
		return s.fail("nested deeper than " + strconv.Itoa(maxDepth))
	}
	open := s.b[s.i]
	s.i++
	s.ws()
	end := byte(']')
	if open == '{' {
		end = '}'
	}
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		return true
	}
	var v Value
	for {
		s.ws()
		if open == '{' {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.fail("want a quoted key at offset " + strconv.Itoa(s.i))
			}
			if _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.fail("want ':' after a key at offset " + strconv.Itoa(s.i))
			}
			s.i++
			s.ws()
		}
		if !s.value(&v, depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unterminated " + map[byte]string{'{': "object", '[': "array"}[open])
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case end:
			s.i++
			return true
		default:
			return s.fail("want ',' or '" + string(end) + "' at offset " + strconv.Itoa(s.i))
		}
	}
}

// number scans a number by the JSON grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and converts the usual
// short ones on the way (exactFloat), so that they are not read twice:
// then s.exact is set and v.Num holds the value; otherwise s.lit is the
// literal (see parseFloat).
func (s *scanner) number(v *Value) bool {
	start := s.i
	neg := s.b[s.i] == '-'
	if neg {
		s.i++
	}
	var m uint64
	nd, exp := 0, 0
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
		nd = 1
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		nd = s.mantissa(&m)
	default:
		return s.fail("invalid number at offset " + strconv.Itoa(start))
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		k := s.mantissa(&m)
		if k == 0 {
			return s.fail("invalid number at offset " + strconv.Itoa(start))
		}
		nd += k
		exp = -k
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		eneg := false
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			eneg = s.b[s.i] == '-'
			s.i++
		}
		x, k := 0, 0
		for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
			if x < 1<<20 { // beyond any exact exponent; saturate
				x = x*10 + int(s.b[s.i]-'0')
			}
			k++
		}
		if k == 0 {
			return s.fail("invalid number at offset " + strconv.Itoa(start))
		}
		if eneg {
			x = -x
		}
		exp += x
	}
	s.lit = s.b[start:s.i]
	v.Num, s.exact = exactFloat(neg, m, nd, exp)
	return true
}

// parseFloat converts a number literal that the scanner has checked
// against the JSON grammar. A literal beyond float64's range gives ±Inf
// (strconv's ErrRange, the rules decide what it means); no other error is
// possible.
func parseFloat(lit []byte) float64 {
	f, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(lit), len(lit)), 64)
	return f
}

// mantissa scans digits, appending them to *m (which may overflow: the
// caller counts digits), and returns how many there were.
func (s *scanner) mantissa(m *uint64) int {
	x, n := *m, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		x = x*10 + uint64(s.b[s.i]-'0')
		s.i++
		n++
	}
	*m = x
	return n
}

// str scans a string starting at its opening quote and returns its
// contents, unescaped.
func (s *scanner) str() ([]byte, bool) {
	s.i++ // the opening quote
	start := s.i
	b := s.b
	i := s.i
	for i < len(b) && plain[b[i]] {
		i++
	}
	s.i = i
	if i >= len(b) {
		return nil, s.fail("unterminated string")
	}
	switch c := b[i]; {
	case c == '"':
		s.i++
		return b[start:i], true
	case c == '\\':
		return s.escaped(start)
	default:
		return nil, s.fail("control character in a string at offset " + strconv.Itoa(i))
	}
}

// plain marks the bytes a string may contain without a closer look: all
// but the quote, the backslash and control characters.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// escaped finishes a string that has escapes, unescaping into s.buf.
func (s *scanner) escaped(start int) ([]byte, bool) {
	from := len(s.buf)
	s.buf = append(s.buf, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.buf[from:len(s.buf):len(s.buf)], true
		case c < 0x20:
			return nil, s.fail("control character in a string at offset " + strconv.Itoa(s.i))
		case c != '\\':
			s.buf = append(s.buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			break
		}
		s.i += 2
		switch e := s.b[s.i-1]; e {
		case '"', '\\', '/':
			s.buf = append(s.buf, e)
		case 'b':
			s.buf = append(s.buf, '\b')
		case 'f':
			s.buf = append(s.buf, '\f')
		case 'n':
			s.buf = append(s.buf, '\n')
		case 'r':
			s.buf = append(s.buf, '\r')
		case 't':
			s.buf = append(s.buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.fail("invalid \\u escape at offset " + strconv.Itoa(s.i))
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					if lo, ok := s.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							s.i = save // not a pair: the second escape stands alone
						}
					} else {
						return nil, s.fail("invalid \\u escape at offset " + strconv.Itoa(s.i))
					}
				}
				r = r2
			}
			s.buf = utf8.AppendRune(s.buf, r)
		default:
			return nil, s.fail("invalid escape \\" + string(e) + " at offset " + strconv.Itoa(s.i-2))
		}
	}
	return nil, s.fail("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) fail(msg string) bool {
	if s.err == "" {
		s.err = msg
	}
	return false
}
