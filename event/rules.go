package event

import (
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Rules applies the event contract (docs/events.md, and docs/events.md for
// what reckon decided where it is silent) to the fields a format found in a
// record: required fields, types, ranges, the model's features, schema
// violations and the reason of every dead letter. It is the one copy of
// those rules: the Kafka decoder, the fuzz test's oracle scanner and the
// reference builder's CSV and JSON rows all go through it.
//
// Rules holds the event-time bounds of the current batch (SetMaxTime,
// SetMinTime), so it is owned by one goroutine, like the Decoder that
// embeds it. Applying the rules allocates nothing, except on the error path.
type Rules struct {
	schema *Schema
	// minTimeMs and maxTimeMs bound acceptable event times; 0 disables a
	// bound.
	minTimeMs, maxTimeMs int64
}

// NewRules returns the rules of the models of s, with no event-time bounds.
func NewRules(s *Schema) *Rules { return &Rules{schema: s} }

// Schema returns the schema the rules check against.
func (r *Rules) Schema() *Schema { return r.schema }

// SetMaxTime sets the latest acceptable event time, in Unix milliseconds;
// later records are dead letters with reason future_timestamp. Callers set
// it to wall clock plus max_clock_skew before each batch. Zero disables the
// check.
func (r *Rules) SetMaxTime(ms int64) { r.maxTimeMs = ms }

// SetMinTime sets the earliest acceptable event time, in Unix milliseconds;
// earlier records are dead letters with reason stale_timestamp. Callers set
// it to wall clock minus max_event_age before each batch (see SetWallClock).
// Zero disables the check.
func (r *Rules) SetMinTime(ms int64) { r.minTimeMs = ms }

// SetWallClock sets the earliest acceptable event time from the wall clock
// and the schema's max_event_age: now − max_event_age, or no bound when
// max_event_age is 0 (the default).
func (r *Rules) SetWallClock(now time.Time) {
	r.minTimeMs = 0
	if age := r.schema.maxEventAge; age > 0 {
		r.minTimeMs = now.Add(-age).UnixMilli()
	}
}

// minEpochMillis is the smallest numeric timestamp taken as epoch
// milliseconds: 1e11 ms is 1973-03-03T09:46:40Z. Anything below is far more
// likely epoch seconds (1e11 seconds is the year 5138, and every second
// since 1973 is below it) than a millisecond of 1970–1973, so it is a
// bad_timestamp instead of an event silently placed in 1970.
const minEpochMillis = 1e11

// Prediction applies the rules of a prediction record to f and fills p. A
// non-nil error is a *DecodeError: the record is a dead letter and p is
// partially filled. Feature problems are not errors; they are recorded in
// p.Violations.
func (r *Rules) Prediction(f *Fields, p *Prediction) error {
	var err error
	if p.ID, p.Model, p.TimeMs, err = r.identity(f); err != nil {
		return err
	}
	mi := p.Model
	if p.ModelVersion, err = optionalString(f.Get(FieldModelVersion), FieldModelVersion); err != nil {
		return err
	}
	_, err = r.prediction(mi, f, p, true)
	return err
}

// Row applies the rules of a prediction to a row of reference data of
// model mi (package reference): a prediction without prediction_id, with
// an optional timestamp (p.TimeMs 0 without), whose model field, if any,
// is a string (the caller picks its model's rows), and which may have
// neither score nor predicted (training data). scored reports that it has
// one of them.
func (r *Rules) Row(mi int, f *Fields, p *Prediction) (scored bool, err error) {
	if v := f.Get(FieldModel); !v.IsNull() && v.Type != TypeString {
		return false, wrongType(FieldModel, "a string", v)
	}
	p.ID, p.Model, p.TimeMs, p.ModelVersion = nil, mi, 0, nil
	// A row's timestamp is optional (0 without): it places the row in a
	// window for learned thresholds and multivariate drift.
	if v := f.Get(FieldTimestamp); !v.IsNull() {
		ms, err := r.timestamp(v)
		if err != nil {
			return false, err
		}
		p.TimeMs = ms
	}
	return r.prediction(mi, f, p, false)
}

// prediction applies the rules of everything in a prediction but its
// identity (prediction_id, model, timestamp, model_version). needScore
// makes an ok prediction without score or predicted a dead letter.
func (r *Rules) prediction(mi int, f *Fields, p *Prediction, needScore bool) (scored bool, err error) {
	m := &r.schema.models[mi]
	p.Error = false
	st, err := optionalString(f.Get(FieldStatus), FieldStatus)
	if err != nil {
		return false, err
	}
	switch string(st) {
	case "", "ok":
	case "error":
		p.Error = true
	default:
		return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldStatus.String(), Detail: strconv.Quote(string(st)) + ", want \"ok\" or \"error\""}
	}
	if p.ErrorKind, err = optionalString(f.Get(FieldError), FieldError); err != nil {
		return false, err
	}

	p.LatencySeconds = math.NaN()
	if lat, ok, err := optionalNumber(f.Get(FieldLatency), FieldLatency); err != nil {
		return false, err
	} else if ok {
		if !(lat >= 0) || math.IsInf(lat, 0) {
			return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldLatency.String(), Detail: "must be a finite number >= 0"}
		}
		p.LatencySeconds = lat / 1000
	}

	p.Score, p.Predicted, p.Value, p.Class, p.ClassName, p.HasScores = math.NaN(), false, math.NaN(), -1, nil, false
	p.Kind = m.Kind
	if cap(p.Scores) < len(m.Classes) {
		p.Scores = make([]float64, len(m.Classes)) // a Prediction not made by NewPrediction
	}
	p.Scores = p.Scores[:len(m.Classes)]
	p.Violations = p.Violations[:0]
	switch m.Kind {
	case KindRegression:
		scored, err = regressionValue(f, p, needScore)
	case KindMulticlass:
		scored, err = multiclassPrediction(m, f, p, needScore)
	default:
		scored, err = binaryScore(m, f, p, needScore)
	}
	if err != nil {
		return false, err
	}

	var members []Member
	switch fv := f.Get(FieldFeatures); fv.Type {
	case TypeObject:
		members = f.Features
	case TypeAbsent, TypeNull:
		if p.Error {
			// A failed prediction has no features to miss.
			for i := range m.Features {
				p.Missing[i], p.Cat[i] = true, nil
			}
			return scored, nil
		}
	default:
		// A wrong-typed top-level field is a dead letter (docs/events.md),
		// not a record whose features all went missing.
		return false, wrongType(FieldFeatures, "an object", fv)
	}
	features(members, m, p)
	return scored, nil
}

// binaryScore reads a binary model's score and predicted class.
func binaryScore(m *model, f *Fields, p *Prediction, needScore bool) (scored bool, err error) {
	score, hasScore, err := optionalNumber(f.Get(FieldScore), FieldScore)
	if err != nil {
		return false, err
	}
	if hasScore {
		if !(score >= 0 && score <= 1) {
			return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldScore.String(), Detail: "must be a probability in [0,1]"}
		}
		p.Score = score
	}
	switch pv := f.Get(FieldPredicted); {
	case !pv.IsNull():
		switch pv.Type {
		case TypeBool:
			p.Predicted = pv.Bool
		case TypeNumber:
			if pv.Num != 0 && pv.Num != 1 {
				return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldPredicted.String(), Detail: "must be 0 or 1"}
			}
			p.Predicted = pv.Num == 1
		default:
			return false, wrongType(FieldPredicted, "0/1 or a boolean", pv)
		}
		scored = true
	case hasScore:
		p.Predicted = score >= m.Threshold
		scored = true
	case needScore && !p.Error:
		// An ok prediction must say what it predicted, one way or the other.
		return false, &DecodeError{Reason: ReasonMissingField, Field: FieldScore.String(), Detail: "an ok prediction needs a score or predicted"}
	}

	return scored, nil
}

// regressionValue reads a regression model's predicted value: a finite
// number, required of an ok prediction when needScore.
func regressionValue(f *Fields, p *Prediction, needScore bool) (scored bool, err error) {
	v, ok, err := optionalNumber(f.Get(FieldValue), FieldValue)
	switch {
	case err != nil:
		return false, err
	case !ok:
		if needScore && !p.Error {
			return false, &DecodeError{Reason: ReasonMissingField, Field: FieldValue.String(), Detail: "an ok prediction of a regression model needs a value"}
		}
		return false, nil
	case math.IsInf(v, 0) || v != v:
		return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldValue.String(), Detail: "must be a finite number"}
	}
	p.Value = v
	return true, nil
}

// scoresTolerance is how far from 1 a multiclass model's scores may sum.
const scoresTolerance = 1e-6

// multiclassPrediction reads a multiclass model's predicted class (a
// string, required of an ok prediction when needScore) and its optional
// scores: an object of class → probability in [0,1] summing to 1 within
// scoresTolerance. An undeclared class, in predicted or among the scores,
// is a new_category violation of _predicted; scores naming one are not
// used.
func multiclassPrediction(m *model, f *Fields, p *Prediction, needScore bool) (scored bool, err error) {
	pv := f.Get(FieldPredicted)
	switch {
	case pv.IsNull():
		if needScore && !p.Error {
			return false, &DecodeError{Reason: ReasonMissingField, Field: FieldPredicted.String(), Detail: "an ok prediction of a multiclass model needs predicted"}
		}
	case pv.Type != TypeString:
		return false, wrongType(FieldPredicted, "a class (a string)", pv)
	default:
		scored = true
		p.ClassName = pv.Str
		if c, ok := m.classes[string(pv.Str)]; ok {
			p.Class = c
		} else {
			p.Violations = append(p.Violations, Violation{Feature: m.PredictedFeature(), Kind: ViolationNewCategory})
		}
	}
	sv := f.Get(FieldScores)
	switch {
	case sv.IsNull():
		return scored, nil
	case sv.Type != TypeObject:
		return false, wrongType(FieldScores, "an object of class probabilities", sv)
	}
	scores := p.Scores
	for i := range scores {
		scores[i] = math.NaN() // not yet seen: the first of a duplicated class wins
	}
	sum, undeclared := 0.0, false
	for i := range f.Scores {
		mem := &f.Scores[i]
		if mem.Value.Type != TypeNumber {
			return false, &DecodeError{Reason: ReasonWrongType, Field: FieldScores.String(), Detail: "want numbers, got " + mem.Value.describe() + " for " + strconv.Quote(string(mem.Name))}
		}
		x := mem.Value.Num
		if !(x >= 0 && x <= 1) {
			return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldScores.String(), Detail: "must be probabilities in [0,1]"}
		}
		c, ok := m.classes[string(mem.Name)]
		switch {
		case !ok:
			undeclared = true
		case scores[c] == scores[c]:
			continue // a duplicate
		default:
			scores[c] = x
		}
		sum += x
	}
	if math.Abs(sum-1) > scoresTolerance {
		return false, &DecodeError{Reason: ReasonInvalidValue, Field: FieldScores.String(), Detail: "must sum to 1 (within 1e-6), got " + strconv.FormatFloat(sum, 'g', -1, 64)}
	}
	if undeclared {
		if p.Class >= 0 || pv.IsNull() {
			p.Violations = append(p.Violations, Violation{Feature: m.PredictedFeature(), Kind: ViolationNewCategory})
		}
		return scored, nil
	}
	for i := range scores {
		if scores[i] != scores[i] {
			scores[i] = 0
		}
	}
	p.HasScores = true
	return scored, nil
}

// features fills p's features from the members of the features object
// (none when it is absent) and records the violations.
func features(members []Member, m *model, p *Prediction) {
	n := len(m.Features)
	for i := range n {
		p.Missing[i] = true
		p.Cat[i] = nil
	}
	next := 0 // producers usually send features in declared order
	for i := range members {
		next = feature(p, m, &members[i], next) + 1
	}
	// Missing values are reported after the members, in feature order, so
	// that a type violation (which also leaves the value missing) is not
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

var (
	bytesTrue  = []byte("true")
	bytesFalse = []byte("false")
)

// feature applies the rules to one member of the features object and
// returns the index of the feature it named (-1 for an undeclared one).
// guess is the index to try before the map: the one after the previous
// member's.
func feature(p *Prediction, m *model, mem *Member, guess int) int {
	i, ok := guess, guess < len(m.Features) && m.Features[guess].Name == string(mem.Name)
	if !ok {
		i, ok = m.features[string(mem.Name)]
	}
	if !ok {
		p.Violations = append(p.Violations, Violation{Feature: Undeclared, Kind: ViolationUnknownFeature})
		return -1
	}
	if !p.Missing[i] {
		return i // duplicate key: the first value wins, as for top-level fields
	}
	v := &mem.Value
	if v.IsNull() {
		return i // missing, reported by features
	}
	f := &m.Features[i]
	switch f.Kind {
	case Numeric:
		if v.Type != TypeNumber {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationType})
			return i
		}
		x := v.Num
		p.Num[i] = x
		p.Missing[i] = false
		// A literal beyond float64's range decodes as ±Inf, and a format
		// may have NaN; they are kept (sketches count them) and flagged as
		// out of range.
		if !(x >= f.Min && x <= f.Max) || math.IsInf(x, 0) {
			p.Violations = append(p.Violations, Violation{Feature: i, Kind: ViolationRange})
		}
	case Categorical:
		var c []byte
		switch {
		case v.Type == TypeString:
			c = v.Str
		case v.Type == TypeBool && v.Bool:
			c = bytesTrue
		case v.Type == TypeBool:
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

// Outcome applies the rules of an outcome record to f and fills out. A
// non-nil error is a *DecodeError.
func (r *Rules) Outcome(f *Fields, out *Outcome) error {
	var err error
	if out.ID, out.Model, out.TimeMs, err = r.identity(f); err != nil {
		return err
	}
	out.Label, out.Value, out.Class, out.ClassName, out.NewClass = false, math.NaN(), -1, nil, false
	m := &r.schema.models[out.Model]
	out.Kind = m.Kind
	lv := f.Get(FieldLabel)
	if lv.IsNull() {
		return &DecodeError{Reason: ReasonMissingField, Field: FieldLabel.String(), Detail: "required"}
	}
	switch m.Kind {
	case KindRegression:
		out.Value, err = RegressionLabel(lv)
		return err
	case KindMulticlass:
		out.Class, err = r.ClassLabel(out.Model, lv)
		out.NewClass = err == nil && out.Class < 0
		out.ClassName = lv.Str
		return err
	}
	label, _, err := r.Label(out.Model, lv)
	if err != nil {
		return err
	}
	out.Label = label
	return nil
}

// RegressionLabel reads a regression model's label: a finite number, else
// a *DecodeError with reason bad_label (v must not be null).
func RegressionLabel(v Value) (float64, error) {
	if v.Type != TypeNumber {
		return 0, &DecodeError{Reason: ReasonBadLabel, Field: FieldLabel.String(), Detail: "want a number, got " + v.describe()}
	}
	if math.IsInf(v.Num, 0) || v.Num != v.Num {
		return 0, &DecodeError{Reason: ReasonBadLabel, Field: FieldLabel.String(), Detail: "must be a finite number"}
	}
	return v.Num, nil
}

// ClassLabel reads a multiclass model's label: a class string, its index,
// or -1 for an undeclared class (a new_category violation of _label, not
// an error). Any other type is a *DecodeError with reason bad_label (v
// must not be null).
func (r *Rules) ClassLabel(mi int, v Value) (int, error) {
	if v.Type != TypeString {
		return -1, &DecodeError{Reason: ReasonBadLabel, Field: FieldLabel.String(), Detail: "want a class (a string), got " + v.describe()}
	}
	if c, ok := r.schema.models[mi].classes[string(v.Str)]; ok {
		return c, nil
	}
	return -1, nil
}

// Label reads a label of model mi: 1/0, true/false or one of the model's
// label strings. ok is false when v is absent or null; a label of any other
// value is a *DecodeError with reason bad_label.
func (r *Rules) Label(mi int, v Value) (label, ok bool, err error) {
	m := &r.schema.models[mi]
	switch v.Type {
	case TypeAbsent, TypeNull:
		return false, false, nil
	case TypeBool:
		return v.Bool, true, nil
	case TypeNumber:
		if v.Num != 0 && v.Num != 1 {
			return false, false, &DecodeError{Reason: ReasonBadLabel, Field: FieldLabel.String(), Detail: "must be 1 or 0"}
		}
		return v.Num == 1, true, nil
	case TypeString:
		switch s := v.Str; {
		case m.PositiveLabel != "" && string(s) == m.PositiveLabel:
			return true, true, nil
		case m.NegativeLabel != "" && string(s) == m.NegativeLabel:
			return false, true, nil
		}
		return false, false, &DecodeError{Reason: ReasonBadLabel, Field: FieldLabel.String(), Detail: strconv.Quote(string(v.Str)) + " is not a configured label of model " + m.Name + " (" + labelsWanted(m) + ")"}
	}
	return false, false, &DecodeError{Reason: ReasonBadLabel, Field: FieldLabel.String(), Detail: labelsWanted(m) + ", got " + v.describe()}
}

// labelsWanted says what labels model m accepts.
func labelsWanted(m *model) string {
	if m.PositiveLabel == "" {
		return "want 1/0 or true/false"
	}
	return "want 1/0, true/false, " + strconv.Quote(m.PositiveLabel) + " or " + strconv.Quote(m.NegativeLabel)
}

// identity reads what both kinds of record start with, in this order:
// prediction_id, model (looked up) and timestamp, all required.
func (r *Rules) identity(f *Fields) (id []byte, mi int, ms int64, err error) {
	if id, err = requiredString(f.Get(FieldPredictionID), FieldPredictionID); err != nil {
		return id, mi, ms, err
	}
	if mi, err = r.model(f); err != nil {
		return id, mi, ms, err
	}
	ms, err = r.timestamp(f.Get(FieldTimestamp))
	return id, mi, ms, err
}

// model reads the required model field and looks it up.
func (r *Rules) model(f *Fields) (int, error) {
	name, err := requiredString(f.Get(FieldModel), FieldModel)
	if err != nil {
		return 0, err
	}
	mi, ok := r.schema.Lookup(name)
	if !ok {
		return 0, &DecodeError{Reason: ReasonUnknownModel, Field: FieldModel.String(), Detail: strconv.Quote(string(name)) + " is not a configured model"}
	}
	return mi, nil
}

// timestamp reads the required event time: an RFC 3339 string or epoch
// milliseconds (at least minEpochMillis), within the batch's bounds.
func (r *Rules) timestamp(v Value) (int64, error) {
	var ms int64
	switch v.Type {
	case TypeAbsent, TypeNull:
		return 0, &DecodeError{Reason: ReasonMissingField, Field: FieldTimestamp.String(), Detail: "required"}
	case TypeString:
		s := v.Str
		var ok bool
		if ms, ok = rfc3339Millis(s); ok {
			break
		}
		// The string only lives for the call; time.Parse keeps no reference.
		t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(s), len(s)))
		if err != nil {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: FieldTimestamp.String(), Detail: strconv.Quote(string(s)) + " is not RFC 3339"}
		}
		ms = t.UnixMilli()
	case TypeNumber:
		f := v.Num
		if !(f > 0) || f >= 1<<53 {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: FieldTimestamp.String(), Detail: "epoch milliseconds must be a positive number"}
		}
		if f < minEpochMillis {
			return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: FieldTimestamp.String(), Detail: strconv.FormatFloat(f, 'f', -1, 64) +
				" looks like epoch seconds (" + formatMillis(int64(f*1000)) + "); want epoch milliseconds, at least 1e11 (" + formatMillis(minEpochMillis) + ")"}
		}
		ms = int64(f)
	default:
		return 0, wrongType(FieldTimestamp, "an RFC 3339 string or epoch milliseconds", v)
	}
	if ms <= 0 {
		return 0, &DecodeError{Reason: ReasonBadTimestamp, Field: FieldTimestamp.String(), Detail: "before the Unix epoch"}
	}
	if r.maxTimeMs > 0 && ms > r.maxTimeMs {
		return 0, &DecodeError{Reason: ReasonFutureTimestamp, Field: FieldTimestamp.String(), Detail: formatMillis(ms) + " is beyond max_clock_skew ahead of the wall clock"}
	}
	if r.minTimeMs > 0 && ms < r.minTimeMs {
		return 0, &DecodeError{Reason: ReasonStaleTimestamp, Field: FieldTimestamp.String(), Detail: formatMillis(ms) + " is more than max_event_age behind the wall clock"}
	}
	return ms, nil
}

func formatMillis(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func requiredString(v Value, field Field) ([]byte, error) {
	if v.IsNull() {
		return nil, &DecodeError{Reason: ReasonMissingField, Field: field.String(), Detail: "required"}
	}
	if v.Type != TypeString {
		return nil, wrongType(field, "a string", v)
	}
	if len(v.Str) == 0 {
		return nil, &DecodeError{Reason: ReasonMissingField, Field: field.String(), Detail: "must not be empty"}
	}
	return v.Str, nil
}

func optionalString(v Value, field Field) ([]byte, error) {
	if v.IsNull() {
		return nil, nil
	}
	if v.Type != TypeString {
		return nil, wrongType(field, "a string", v)
	}
	return v.Str, nil
}

func optionalNumber(v Value, field Field) (float64, bool, error) {
	if v.IsNull() {
		return 0, false, nil
	}
	if v.Type != TypeNumber {
		return 0, false, wrongType(field, "a number", v)
	}
	return v.Num, true, nil
}

func wrongType(field Field, want string, v Value) error {
	return &DecodeError{Reason: ReasonWrongType, Field: field.String(), Detail: "want " + want + ", got " + v.describe()}
}
