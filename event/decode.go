package event

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
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
	Label  bool
}

// Decoder decodes records against a Schema. It is not safe for concurrent
// use: each partition worker owns one.
type Decoder struct {
	schema   *Schema
	maxBytes int
	// maxTimeMs rejects timestamps ahead of the wall clock by more than the
	// allowed skew (0 disables the check); see SetMaxTime.
	maxTimeMs int64

	sc scanner
	pf predictionFields
}

// NewDecoder returns a decoder for records of at most maxBytes bytes
// (0 means unlimited).
func NewDecoder(s *Schema, maxBytes int) *Decoder {
	return &Decoder{schema: s, maxBytes: maxBytes}
}

// SetMaxTime sets the latest acceptable event time; records later than it
// are dead letters with reason future_timestamp. Callers set it to wall
// clock plus the allowed skew before each batch. Zero disables the check.
func (d *Decoder) SetMaxTime(ms int64) { d.maxTimeMs = ms }

// NewPrediction returns a Prediction with room for every model's features.
func (d *Decoder) NewPrediction() *Prediction {
	n := d.schema.MaxFeatures()
	return &Prediction{
		Num:        make([]float64, n),
		Cat:        make([][]byte, n),
		Missing:    make([]bool, n),
		Violations: make([]Violation, 0, 8),
	}
}

var (
	bytesTrue  = []byte("true")
	bytesFalse = []byte("false")
)

// parse checks size and encoding and scans the top-level object into d.sc.
func (d *Decoder) parse(b []byte) error {
	if d.maxBytes > 0 && len(b) > d.maxBytes {
		return &DecodeError{Reason: ReasonTooLarge, Detail: strconv.Itoa(len(b)) + " bytes exceeds max_record_bytes " + strconv.Itoa(d.maxBytes)}
	}
	if !utf8.Valid(b) {
		return &DecodeError{Reason: ReasonInvalidUTF8, Detail: "record value is not valid UTF-8"}
	}
	if !d.sc.scanRecord(b) {
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: d.sc.err}
	}
	return nil
}

// predictionFields holds the top-level values of one prediction record,
// collected in a single pass over the object (cheaper than one linear Get
// per field). The first occurrence of a duplicate key wins.
type predictionFields struct {
	id, model, version, ts, status, errKind, latency, score, predicted, features *value
}

func (f *predictionFields) visit(key []byte, v *value) {
	var dst **value
	switch string(key) {
	case "prediction_id":
		dst = &f.id
	case "model":
		dst = &f.model
	case "model_version":
		dst = &f.version
	case "timestamp":
		dst = &f.ts
	case "status":
		dst = &f.status
	case "error":
		dst = &f.errKind
	case "latency_ms":
		dst = &f.latency
	case "score":
		dst = &f.score
	case "predicted":
		dst = &f.predicted
	case "features":
		dst = &f.features
	default:
		return // unknown top-level fields are ignored
	}
	if *dst == nil {
		*dst = v
	}
}

// DecodePrediction decodes and validates one prediction record into p. A
// non-nil error is a *DecodeError: the record is a dead letter and p is
// partially filled. Feature problems are not errors; they are recorded in
// p.Violations.
func (d *Decoder) DecodePrediction(b []byte, p *Prediction) error {
	if err := d.parse(b); err != nil {
		return err
	}
	f := &d.pf
	*f = predictionFields{}
	for i := range d.sc.top {
		f.visit(d.sc.top[i].key, &d.sc.top[i].v)
	}
	var err error

	if p.ID, err = requiredString(f.id, "prediction_id"); err != nil {
		return err
	}
	name, err := requiredString(f.model, "model")
	if err != nil {
		return err
	}
	mi, ok := d.schema.Lookup(name)
	if !ok {
		return &DecodeError{Reason: ReasonUnknownModel, Field: "model", Detail: strconv.Quote(string(name)) + " is not a configured model"}
	}
	p.Model = mi
	m := &d.schema.models[mi]
	if p.TimeMs, err = d.timestamp(f.ts); err != nil {
		return err
	}
	if p.ModelVersion, err = optionalString(f.version, "model_version"); err != nil {
		return err
	}

	p.Error = false
	if st, err := optionalString(f.status, "status"); err != nil {
		return err
	} else {
		switch string(st) {
		case "", "ok":
		case "error":
			p.Error = true
		default:
			return &DecodeError{Reason: ReasonInvalidValue, Field: "status", Detail: strconv.Quote(string(st)) + ", want \"ok\" or \"error\""}
		}
	}
	if p.ErrorKind, err = optionalString(f.errKind, "error"); err != nil {
		return err
	}

	p.LatencySeconds = math.NaN()
	if lat, ok, err := optionalNumber(f.latency, "latency_ms"); err != nil {
		return err
	} else if ok {
		if !(lat >= 0) || math.IsInf(lat, 0) {
			return &DecodeError{Reason: ReasonInvalidValue, Field: "latency_ms", Detail: "must be a finite number >= 0"}
		}
		p.LatencySeconds = lat / 1000
	}

	p.Score = math.NaN()
	score, hasScore, err := optionalNumber(f.score, "score")
	if err != nil {
		return err
	}
	if hasScore {
		if !(score >= 0 && score <= 1) {
			return &DecodeError{Reason: ReasonInvalidValue, Field: "score", Detail: "must be a probability in [0,1]"}
		}
		p.Score = score
	}
	p.Predicted = false
	pv := f.predicted
	switch {
	case pv != nil && pv.t != typeNull:
		switch pv.t {
		case typeTrue:
			p.Predicted = true
		case typeFalse:
		case typeNumber:
			x, _ := pv.float64()
			if x != 0 && x != 1 {
				return &DecodeError{Reason: ReasonInvalidValue, Field: "predicted", Detail: "must be 0 or 1"}
			}
			p.Predicted = x == 1
		default:
			return wrongType("predicted", "0/1 or a boolean", pv)
		}
	case hasScore:
		p.Predicted = score >= m.Threshold
	case !p.Error:
		// An ok prediction must say what it predicted, one way or the other.
		return &DecodeError{Reason: ReasonMissingField, Field: "score", Detail: "an ok prediction needs a score or predicted"}
	}

	p.Violations = p.Violations[:0]
	if p.Error && (f.features == nil || f.features.t == typeNull) {
		// A failed prediction has no features to miss.
		for i := range m.Features {
			p.Missing[i], p.Cat[i] = true, nil
		}
		return nil
	}
	d.decodeFeatures(f.features, m, p)
	return nil
}

func (d *Decoder) decodeFeatures(fv *value, m *model, p *Prediction) {
	n := len(m.Features)
	for i := range n {
		p.Missing[i] = true
		p.Cat[i] = nil
	}
	if fv != nil && fv.t == typeObject && d.sc.hasFeatures {
		next := 0 // producers usually send features in declared order
		for i := range d.sc.features {
			next = visitFeature(p, m, d.sc.features[i].key, &d.sc.features[i].v, next) + 1
		}
	}
	// Missing values are reported after the visit, in feature order, so that
	// a type violation (which also leaves the value missing) is not
	// reported twice.
	for i := range n {
		if p.Missing[i] && !p.hasViolation(i, ViolationType) {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationMissing})
		}
	}
}

func (p *Prediction) hasViolation(feature int, kind ViolationKind) bool {
	for _, v := range p.Violations {
		if v.Feature == feature && v.Kind == kind {
			return true
		}
	}
	return false
}

// visitFeature handles one key of the features object and returns the
// index of the feature it named (-1 for an undeclared one). guess is the
// index to try before the map: the one after the previous key's.
func visitFeature(p *Prediction, m *model, key []byte, v *value, guess int) int {
	i, ok := guess, guess < len(m.Features) && m.Features[guess].Name == string(key)
	if !ok {
		i, ok = m.features[string(key)]
	}
	if !ok {
		p.Violations = append(p.Violations, Violation{Feature: Undeclared, Kind: ViolationUnknownFeature})
		return -1
	}
	if !p.Missing[i] {
		return i // duplicate key: the first one wins, as for top-level fields
	}
	t := v.t
	if t == typeNull {
		return i // missing, reported by decodeFeatures
	}
	f := &m.Features[i]
	switch f.Kind {
	case Numeric:
		if t != typeNumber {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return i
		}
		x, err := v.float64()
		if err != nil {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return i
		}
		p.Num[i] = x
		p.Missing[i] = false
		// A literal beyond float64's range decodes as ±Inf; it is kept
		// (sketches count it) and flagged as out of range.
		if !(x >= f.Min && x <= f.Max) || math.IsInf(x, 0) {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationRange})
		}
	case Categorical:
		var c []byte
		switch t {
		case typeString:
			c = v.s
		case typeTrue:
			c = bytesTrue
		case typeFalse:
			c = bytesFalse
		default:
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return i
		}
		p.Cat[i] = c
		p.Missing[i] = false
		if set := m.categories[i]; set != nil {
			if _, ok := set[string(c)]; !ok {
				p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationNewCategory})
			}
		}
	}
	return i
}

// DecodeOutcome decodes and validates one outcome record into out. A non-nil
// error is a *DecodeError.
func (d *Decoder) DecodeOutcome(b []byte, out *Outcome) error {
	if err := d.parse(b); err != nil {
		return err
	}
	var id, model, ts, lv *value
	for i := range d.sc.top {
		m := &d.sc.top[i]
		var dst **value
		switch string(m.key) {
		case "prediction_id":
			dst = &id
		case "model":
			dst = &model
		case "timestamp":
			dst = &ts
		case "label":
			dst = &lv
		default:
			continue
		}
		if *dst == nil {
			*dst = &m.v
		}
	}
	var err error
	if out.ID, err = requiredString(id, "prediction_id"); err != nil {
		return err
	}
	name, err := requiredString(model, "model")
	if err != nil {
		return err
	}
	mi, ok := d.schema.Lookup(name)
	if !ok {
		return &DecodeError{Reason: ReasonUnknownModel, Field: "model", Detail: strconv.Quote(string(name)) + " is not a configured model"}
	}
	out.Model = mi
	if out.TimeMs, err = d.timestamp(ts); err != nil {
		return err
	}
	if lv == nil || lv.t == typeNull {
		return &DecodeError{Reason: ReasonMissingField, Field: "label", Detail: "required"}
	}
	m := &d.schema.models[mi]
	switch lv.t {
	case typeTrue:
		out.Label = true
	case typeFalse:
		out.Label = false
	case typeNumber:
		f, _ := lv.float64()
		if f != 0 && f != 1 {
			return &DecodeError{Reason: ReasonBadLabel, Field: "label", Detail: "must be 1 or 0"}
		}
		out.Label = f == 1
	case typeString:
		s := lv.s
		switch {
		case m.PositiveLabel != "" && string(s) == m.PositiveLabel:
			out.Label = true
		case m.NegativeLabel != "" && string(s) == m.NegativeLabel:
			out.Label = false
		default:
			return &DecodeError{Reason: ReasonBadLabel, Field: "label", Detail: strconv.Quote(string(s)) + " is not a configured label of model " + m.Name}
		}
	default:
		return &DecodeError{Reason: ReasonBadLabel, Field: "label", Detail: "want 1/0, true/false or a label string, got " + lv.t.String()}
	}
	return nil
}

// timestamp reads the required event time: an RFC 3339 string or positive
// epoch milliseconds.
func (d *Decoder) timestamp(v *value) (int64, error) {
	if v == nil || v.t == typeNull {
		return 0, &DecodeError{Reason: ReasonMissingField, Field: "timestamp", Detail: "required"}
	}
	var ms int64
	switch v.t {
	case typeString:
		s := v.s
		var ok bool
		if ms, ok = rfc3339Millis(s); ok {
			break
		}
		// The string only lives for the call; time.Parse keeps no reference.
		t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(s), len(s)))
		if err != nil {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: "timestamp", Detail: strconv.Quote(string(s)) + " is not RFC 3339"}
		}
		ms = t.UnixMilli()
	case typeNumber:
		f, err := v.float64()
		if err != nil || !(f > 0) || f >= 1<<53 {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: "timestamp", Detail: "epoch milliseconds must be a positive number"}
		}
		ms = int64(f)
	default:
		return 0, wrongType("timestamp", "an RFC 3339 string or epoch milliseconds", v)
	}
	if ms <= 0 {
		return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: "timestamp", Detail: "before the Unix epoch"}
	}
	if d.maxTimeMs > 0 && ms > d.maxTimeMs {
		return 0, &DecodeError{Reason: ReasonFutureTimestamp, Field: "timestamp", Detail: time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) + " is beyond max_clock_skew ahead of the wall clock"}
	}
	return ms, nil
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

func requiredString(v *value, field string) ([]byte, error) {
	if v == nil || v.t == typeNull {
		return nil, &DecodeError{Reason: ReasonMissingField, Field: field, Detail: "required"}
	}
	if v.t != typeString {
		return nil, wrongType(field, "a string", v)
	}
	s := v.s
	if len(s) == 0 {
		return nil, &DecodeError{Reason: ReasonMissingField, Field: field, Detail: "must not be empty"}
	}
	return s, nil
}

func optionalString(v *value, field string) ([]byte, error) {
	if v == nil || v.t == typeNull {
		return nil, nil
	}
	if v.t != typeString {
		return nil, wrongType(field, "a string", v)
	}
	s := v.s
	return s, nil
}

func optionalNumber(v *value, field string) (float64, bool, error) {
	if v == nil || v.t == typeNull {
		return 0, false, nil
	}
	if v.t != typeNumber {
		return 0, false, wrongType(field, "a number", v)
	}
	f, err := v.float64()
	if err != nil {
		return 0, false, &DecodeError{Reason: ReasonWrongType, Field: field, Detail: err.Error()}
	}
	return f, true, nil
}

func wrongType(field, want string, v *value) error {
	return &DecodeError{Reason: ReasonWrongType, Field: field, Detail: "want " + want + ", got " + v.t.String()}
}
