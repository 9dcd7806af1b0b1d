package event

import (
	"strconv"
	"time"
)

// Prediction is one decoded prediction record. A Decoder fills it in place;
// byte slices alias the record and the decoder's buffers and are valid only
// until the next decode.
type Prediction struct {
	ID           []byte
	Model        int // index into the Schema
	ModelVersion []byte
	TimeMs       int64 // event time, milliseconds since the Unix epoch
	Error        bool  // status "error"
	ErrorKind    []byte
	// Score is the positive-class probability, NaN when absent.
	Score float64
	// Predicted is the predicted class: the record's own "predicted" when
	// present, else Score >= the model's threshold.
	Predicted bool
	// Kind is the model's kind; the fields below are its predictions.
	Kind Kind
	// Value is a regression model's predicted value (finite), NaN for the
	// other kinds and for a prediction without one (status "error").
	Value float64
	// Class is a multiclass model's predicted class, an index into its
	// classes, or -1 for an undeclared class (a new_category violation of
	// _predicted) or none.
	Class int
	// ClassName is the predicted class as the record has it (nil when
	// none).
	ClassName []byte
	// Scores are a multiclass model's class probabilities, indexed like
	// its classes (0 for a class the record leaves out); meaningful only
	// when HasScores.
	Scores    []float64
	HasScores bool
	// LatencySeconds is the serving latency, NaN when absent.
	LatencySeconds float64

	// Per declared feature of Model, indexed like ModelSpec.Features.
	Num     []float64 // numeric value; meaningless when Missing
	Cat     [][]byte  // categorical value; nil when Missing
	Missing []bool

	// Violations found while decoding, in record order.
	Violations []Violation
}

// Outcome is one decoded outcome record, valid until the next decode.
type Outcome struct {
	ID     []byte
	Model  int
	TimeMs int64
	Kind   Kind
	// Label is a binary model's label.
	Label bool
	// Value is a regression model's label (finite); NaN for the other
	// kinds.
	Value float64
	// Class is a multiclass model's label, an index into its classes, or
	// -1 for an undeclared class: then NewClass is set, a new_category
	// violation of _label. ClassName is the label as the record has it.
	Class     int
	ClassName []byte
	NewClass  bool
}

// Decoder decodes records of a Format (JSON unless NewDecoderFor says
// otherwise) against a Schema: the format finds the fields, Rules judge
// them. It is not safe for concurrent use: each partition worker owns one.
type Decoder struct {
	rules    Rules
	maxBytes int
	format   Format
	json     *JSON // format, when it is JSON: called directly on the hot path
	fields   Fields
}

// NewDecoder returns a decoder of JSON records (docs/events.md) of at most
// maxBytes bytes (0 means unlimited).
func NewDecoder(s *Schema, maxBytes int) *Decoder {
	j := new(JSON)
	d := NewDecoderFor(j, s, maxBytes)
	d.json = j
	return d
}

// NewDecoderFor returns a decoder of records of format f of at most
// maxBytes bytes (0 means unlimited), checked by the same rules as JSON
// records.
func NewDecoderFor(f Format, s *Schema, maxBytes int) *Decoder {
	return &Decoder{rules: Rules{schema: s}, maxBytes: maxBytes, format: f}
}

// SetMaxTime is Rules.SetMaxTime: records later than ms are dead letters
// with reason future_timestamp. The consumer sets it to wall clock plus
// max_clock_skew before each batch; zero disables the check.
func (d *Decoder) SetMaxTime(ms int64) { d.rules.SetMaxTime(ms) }

// SetMinTime is Rules.SetMinTime: records earlier than ms are dead letters
// with reason stale_timestamp; zero disables the check.
func (d *Decoder) SetMinTime(ms int64) { d.rules.SetMinTime(ms) }

// SetWallClock is Rules.SetWallClock: the consumer calls it before each
// batch, so that records older than now − max_event_age are dead letters
// with reason stale_timestamp (when max_event_age is set).
func (d *Decoder) SetWallClock(now time.Time) { d.rules.SetWallClock(now) }

// NewPrediction returns a Prediction with room for every model's features.
func (d *Decoder) NewPrediction() *Prediction { return d.rules.schema.NewPrediction() }

// scan checks the record's size and has the format find its fields.
func (d *Decoder) scan(b []byte) error {
	if d.maxBytes > 0 && len(b) > d.maxBytes {
		return &DecodeError{Reason: ReasonTooLarge, Detail: strconv.Itoa(len(b)) + " bytes exceeds max_record_bytes " + strconv.Itoa(d.maxBytes)}
	}
	if d.json != nil {
		return d.json.Scan(b, &d.fields)
	}
	return d.format.Scan(b, &d.fields)
}

// DecodePrediction decodes and validates one prediction record into p. A
// non-nil error is a *DecodeError: the record is a dead letter and p is
// partially filled. Feature problems are not errors; they are recorded in
// p.Violations.
func (d *Decoder) DecodePrediction(b []byte, p *Prediction) error {
	if err := d.scan(b); err != nil {
		return err
	}
	return d.rules.Prediction(&d.fields, p)
}

// DecodeOutcome decodes and validates one outcome record into out. A non-nil
// error is a *DecodeError.
func (d *Decoder) DecodeOutcome(b []byte, out *Outcome) error {
	if err := d.scan(b); err != nil {
		return err
	}
	return d.rules.Outcome(&d.fields, out)
}

// rfc3339Millis converts the usual form of an RFC 3339 time,
// 2006-01-02T15:04:05[.fraction](Z|±07:00), to Unix milliseconds (rounded
// down, as Time.UnixMilli does) in a few nanoseconds, against about 60 for
// time.Parse. It accepts only what time.Parse(time.RFC3339Nano, …) accepts,
// with the same field ranges, and gives the same instant
// (TestRFC3339MillisMatchesTimeParse); for anything else, valid or not, it
// returns ok false and the caller asks time.Parse.
func rfc3339Millis(s []byte) (ms int64, ok bool) {
	if len(s) < len("2006-01-02T15:04:05Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year := 100*digits2(s[0], s[1]) + digits2(s[2], s[3])
	month, day := digits2(s[5], s[6]), digits2(s[8], s[9])
	hour, minute, sec := digits2(s[11], s[12]), digits2(s[14], s[15]), digits2(s[17], s[18])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return 0, false
	}
	s = s[19:]
	frac := 0 // milliseconds: the first three digits of the fraction
	if s[0] == '.' {
		n := 1
		for ; n < len(s) && s[n] >= '0' && s[n] <= '9'; n++ {
			if n <= 3 {
				frac = frac*10 + int(s[n]-'0')
			}
		}
		if n == 1 || n > 10 { // no digit, or more than nanoseconds
			return 0, false
		}
		for k := n; k <= 3; k++ {
			frac *= 10
		}
		s = s[n:]
	}
	offset := 0 // seconds east of UTC
	switch {
	case len(s) == 1 && s[0] == 'Z':
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		h, m := digits2(s[1], s[2]), digits2(s[4], s[5])
		if h < 0 || h > 23 || m < 0 || m > 59 {
			return 0, false
		}
		offset = (h*60 + m) * 60
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return secs*1000 + int64(frac), true
}

// digits2 is the value of two decimal digits, or a negative number if
// either is not a digit.
func digits2(a, b byte) int {
	if a-'0' > 9 || b-'0' > 9 { // bytes wrap below '0'
		return -1000
	}
	return int(a-'0')*10 + int(b-'0')
}

// daysIn is the number of days of month (1–12) in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is the number of days from 1970-01-01 to the given date of
// the proleptic Gregorian calendar, for years 0–9999 (Howard Hinnant's
// days_from_civil).
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year) + 400 // shifted by one era so that y stays positive
	if month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400                     // [0, 399]
	mp := int64((month + 9) % 12)          // March = 0
	doy := (153*mp+2)/5 + int64(day) - 1   // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return (era-1)*146097 + doe - 719468
}
