package reference

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows/perf"
)

// encodings returns everything a profile's partial holds, encoded, by
// name, for comparing two profiles exactly.
func encodings(t testing.TB, p *Profile) map[string]string {
	t.Helper()
	pt := p.Partial
	out := map[string]string{
		"counts": fmt.Sprint(pt.Predictions, pt.Errors, pt.Outcomes),
	}
	add := func(name string, b []byte, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = string(b)
	}
	for i, f := range pt.Features {
		name := p.Features[i].Name
		if f.Num != nil {
			b, err := f.Num.MarshalBinary()
			add(name, b, err)
		} else {
			b, err := f.Cat.MarshalBinary()
			add(name, b, err)
		}
	}
	b, err := pt.Score.MarshalBinary()
	add("score", b, err)
	b, err = pt.Perf.MarshalBinary()
	add("perf", b, err)
	b, err = pt.Estimate.MarshalBinary()
	add("estimate", b, err)
	return out
}

func sameProfile(t *testing.T, name string, got, want *Profile) {
	t.Helper()
	g, w := encodings(t, got), encodings(t, want)
	for k := range w {
		if g[k] != w[k] {
			t.Errorf("%s: %s differs", name, k)
		}
	}
	if !slices.Equal(got.Stats.Violations, want.Stats.Violations) {
		t.Errorf("%s: violations %v, want %v", name, got.Stats.Violations, want.Stats.Violations)
	}
	if got.Stats.Skipped != want.Stats.Skipped || got.Stats.Labelled != want.Stats.Labelled || got.Stats.Joined != want.Stats.Joined {
		t.Errorf("%s: stats %+v, want %+v", name, got.Stats, want.Stats)
	}
}

func gzipped(s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.String()
}

// interleave takes the odd lines of a and the even lines of b.
func interleave(a, b string) string {
	la, lb := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	var out strings.Builder
	for i := range la {
		if i%2 == 0 {
			out.WriteString(lb[i])
		} else {
			out.WriteString(la[i])
		}
	}
	return out.String()
}

// TestFormatsAgree builds the same rows from every input form and checks
// that the sketches are identical, bit for bit.
func TestFormatsAgree(t *testing.T) {
	rows := genRows(20000, 1) // well past the numeric sketch's exact mode
	csvData, wire, flat := csvOf(rows), wireOf(rows), flatOf(rows)
	want := build(t, FormatCSV, csvData)
	if want.Partial.Predictions < 19000 || want.Partial.Errors == 0 || want.Partial.Perf.Count() == 0 || want.Stats.Skipped == 0 {
		t.Fatalf("test data too thin: %+v", want.Stats)
	}
	if want.Partial.Features[0].Num.Exact() {
		t.Fatal("amount should have left the numeric sketch's exact mode")
	}
	for _, tc := range []struct {
		name   string
		format Format
		data   string
	}{
		{"wire jsonl", FormatJSONL, wire},
		{"flat jsonl", FormatJSONL, flat},
		{"mixed jsonl", FormatJSONL, interleave(wire, flat)},
		{"jsonl crlf and blank lines", FormatJSONL, "\n" + strings.ReplaceAll(wire, "\n", "\r\n\r\n")},
		{"gzip csv", FormatCSV, gzipped(csvData)},
		{"bom crlf csv", FormatCSV, "\ufeff" + strings.ReplaceAll(csvData, "\n", "\r\n")},
		{"gzip bom jsonl", FormatJSONL, gzipped("\ufeff" + flat)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameProfile(t, tc.name, build(t, tc.format, tc.data), want)
		})
	}
}

// TestBuildCounts checks what one small CSV adds, row by row.
func TestBuildCounts(t *testing.T) {
	data := `amount,age,country,is_new,score,predicted,label,model,status,note
12.5,30,DE,True,0.2,,0,,,a
-1,,IT,false,0.9,,chargeback,fraud,,b
3,44,,,,,,,,c
,,,,,1,legit,,,
5,20,FR,no,0.7,0,1,,,
1,1,DE,x,,,,churn,,
,,,,,,1,,error,
`
	p := build(t, FormatCSV, data)
	pt, st := p.Partial, p.Stats
	if pt.Predictions != 6 || pt.Errors != 1 || pt.Outcomes != 5 {
		t.Errorf("predictions/errors/outcomes = %d/%d/%d, want 6/1/5", pt.Predictions, pt.Errors, pt.Outcomes)
	}
	if st.Rows != 7 || st.Skipped != 1 || st.Labelled != 5 || st.Joined != 4 {
		t.Errorf("stats = %+v", st)
	}
	// Rows 1, 2, 4 and 5 join: score 0.2 → tn; 0.9 ≥ 0.5 → tp; predicted 1
	// with label legit → fp; predicted 0 overrides 0.7, label 1 → fn.
	if c := pt.Perf.Confusion(); c != (perf.Confusion{TP: 1, FP: 1, TN: 1, FN: 1}) {
		t.Errorf("confusion = %+v", c)
	}
	if pt.Perf.Scored() != 3 {
		t.Errorf("scored = %d, want 3 (the predicted-only row has none)", pt.Perf.Scored())
	}
	amount, country, isNew := pt.Features[0].Num, pt.Features[2].Cat, pt.Features[3].Cat
	if amount.Count() != 4 || amount.Missing() != 1 || amount.Min() != -1 || amount.Max() != 12.5 {
		t.Errorf("amount: count %d missing %d min %v max %v", amount.Count(), amount.Missing(), amount.Min(), amount.Max())
	}
	if country.Count("DE") != 1 || country.Count("IT") != 1 || country.Missing() != 2 {
		t.Errorf("country: DE %d IT %d missing %d", country.Count("DE"), country.Count("IT"), country.Missing())
	}
	// True is the wire's "true"; "false" and "no" are kept as written.
	if isNew.Count("true") != 1 || isNew.Count("false") != 1 || isNew.Count("no") != 1 || isNew.Count("True") != 0 {
		t.Errorf("is_new: %v", slices.Collect(func(yield func(string) bool) {
			for v := range isNew.All() {
				if !yield(v) {
					return
				}
			}
		}))
	}
	if pt.Score.Count() != 3 {
		t.Errorf("score count = %d, want 3", pt.Score.Count())
	}
	want := [][event.NumViolationKinds]int64{
		{event.ViolationMissing: 1, event.ViolationRange: 1}, // amount
		{event.ViolationMissing: 2},                          // age
		{event.ViolationMissing: 2, event.ViolationNewCategory: 1},
		{event.ViolationMissing: 2},
	}
	if !slices.Equal(st.Violations, want) {
		t.Errorf("violations = %v, want %v", st.Violations, want)
	}
	if !slices.Equal(st.Ignored, []string{"note"}) {
		t.Errorf("ignored = %q", st.Ignored)
	}
}

// TestWireViolations checks that prediction records are validated by the
// decoder: type violations count as missing, undeclared features are
// counted.
func TestWireViolations(t *testing.T) {
	data := `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"features":{"amount":"12","age":30,"country":"DE","is_new":true,"ref":1},"score":0.5}
{"prediction_id":"b","model":"nope","timestamp":1767225600000,"features":{}}
{"prediction_id":"c","model":"churn","timestamp":1767225600000,"features":{"tenure":2},"score":0.1}
{"prediction_id":"d","model":"churn","features":{"tenure":"bad"},"score":7}
{"amount":"7","age":31,"country":1,"is_new":false,"score":0.5,"extra":true}
`
	p := build(t, FormatJSONL, data)
	if p.Partial.Predictions != 2 || p.Stats.Skipped != 3 || p.Stats.Undeclared != 1 {
		t.Errorf("predictions %d skipped %d undeclared %d", p.Partial.Predictions, p.Stats.Skipped, p.Stats.Undeclared)
	}
	if got := p.Stats.Violations[0][event.ViolationType]; got != 2 {
		t.Errorf("amount type violations = %d, want 2", got)
	}
	if got := p.Stats.Violations[2][event.ViolationType]; got != 1 {
		t.Errorf("country type violations = %d, want 1", got)
	}
	if n := p.Partial.Features[0].Num; n.Missing() != 2 || n.Count() != 0 {
		t.Errorf("amount: missing %d count %d, want 2 and 0", n.Missing(), n.Count())
	}
	if !slices.Equal(p.Stats.Ignored, []string{"extra"}) {
		t.Errorf("ignored = %q", p.Stats.Ignored)
	}
}

func TestRowErrors(t *testing.T) {
	const header = "amount,age,country,is_new,score,predicted,label,status\n"
	long := `{"amount":1,"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	for _, tc := range []struct {
		name   string
		format Format
		data   string
		want   string
		line   int64
		reason event.Reason // for rows the event rules reject
	}{
		{"csv number", FormatCSV, header + "1,2,DE,,,,,\n1,abc,DE,,,,,\n", `data:3: column "age": "abc" is not a number`, 3, 0},
		{"csv number after multiline cell", FormatCSV, header + "1,2,\"D\nE\",,,,,\nx,2,DE,,,,,\n", `data:4: column "amount": "x" is not a number`, 4, 0},
		{"csv score range", FormatCSV, header + "1,2,DE,,1.5,,,\n", `data:2: invalid_value: score: must be a probability in [0,1]`, 2, event.ReasonInvalidValue},
		{"csv score text", FormatCSV, header + "1,2,DE,,high,,,\n", `data:2: column "score": "high" is not a number`, 2, 0},
		{"csv predicted", FormatCSV, header + "1,2,DE,,0.5,2,,\n", `data:2: invalid_value: predicted: must be 0 or 1`, 2, event.ReasonInvalidValue},
		{"csv predicted text", FormatCSV, header + "1,2,DE,,0.5,yes,,\n", `data:2: wrong_type: predicted: want 0/1 or a boolean, got string`, 2, event.ReasonWrongType},
		{"csv label", FormatCSV, header + "1,2,DE,,0.5,,maybe,\n", `data:2: bad_label: label: "maybe" is not a configured label of model fraud (want 1/0, true/false, "chargeback" or "legit")`, 2, event.ReasonBadLabel},
		{"csv status", FormatCSV, header + "1,2,DE,,0.5,,,failed\n", `data:2: invalid_value: status: "failed", want "ok" or "error"`, 2, event.ReasonInvalidValue},
		{"csv score after multiline cell", FormatCSV, header + "1,2,\"D\nE\",,7,,,\n", `data:3: invalid_value: score: must be a probability in [0,1]`, 3, event.ReasonInvalidValue},
		{"csv field count", FormatCSV, header + "1,2,DE\n", `data:2: wrong number of fields: 3 fields, the header has 8`, 2, 0},
		{"csv quote", FormatCSV, header + "1,2,D\"E,,,,,\n", `data:2: bare " in non-quoted-field (at character 6)`, 2, 0},
		{"csv empty", FormatCSV, "", `data:1: empty input: no header row`, 1, 0},
		{"csv duplicate column", FormatCSV, "amount,age,country,is_new,age\n", `data:1: column "age": appears twice in the header`, 1, 0},
		{"json syntax", FormatJSONL, "{\"amount\":1}\n\n{\"amount\":1,}\n", `data:3: invalid_json: `, 3, event.ReasonInvalidJSON},
		{"json not object", FormatJSONL, "[1]\n", `data:1: invalid_json: record is a JSON array, want an object`, 1, event.ReasonInvalidJSON},
		{"json utf8", FormatJSONL, "{\"country\":\"\xff\"}\n", `data:1: invalid_utf8: record value is not valid UTF-8`, 1, event.ReasonInvalidUTF8},
		{"wire score type", FormatJSONL, `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"features":{},"score":"0.5"}` + "\n", `data:1: wrong_type: score: want a number, got string`, 1, event.ReasonWrongType},
		{"wire timestamp", FormatJSONL, `{"prediction_id":"a","model":"fraud","features":{},"score":0.5}`, `data:1: missing_field: timestamp: required`, 1, event.ReasonMissingField},
		{"wire features not an object", FormatJSONL, `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"features":"oops","score":0.5}`, `data:1: wrong_type: features: want an object, got string`, 1, event.ReasonWrongType},
		{"wire no score", FormatJSONL, `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"features":{}}`, `data:1: missing_field: score: an ok prediction needs a score or predicted`, 1, event.ReasonMissingField},
		{"wire label", FormatJSONL, `{"prediction_id":"a","model":"fraud","timestamp":1767225600000,"features":{},"score":0.5,"label":"1"}`, `data:1: bad_label: label: "1" is not a configured label of model fraud`, 1, event.ReasonBadLabel},
		{"flat score", FormatJSONL, `{"amount":1,"score":2}`, `data:1: invalid_value: score: must be a probability in [0,1]`, 1, event.ReasonInvalidValue},
		{"flat predicted", FormatJSONL, `{"amount":1,"predicted":"yes"}`, `data:1: wrong_type: predicted: want 0/1 or a boolean, got string`, 1, event.ReasonWrongType},
		{"flat label", FormatJSONL, `{"amount":1,"label":2}`, `data:1: bad_label: label: must be 1 or 0`, 1, event.ReasonBadLabel},
		{"flat model", FormatJSONL, `{"amount":1,"model":3}`, `data:1: wrong_type: model: want a string, got number`, 1, event.ReasonWrongType},
		{"flat status", FormatJSONL, `{"amount":1,"status":"bad"}`, `data:1: invalid_value: status: "bad", want "ok" or "error"`, 1, event.ReasonInvalidValue},
		{"too long", FormatJSONL, "{}\n" + long + "\n{}\n", `data:2: too_large: line longer than max_record_bytes 1048576`, 2, event.ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, testCfg(t), "fraud")
			err := b.Read("data", strings.NewReader(tc.data), tc.format)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			var re *RowError
			if !errors.As(err, &re) || re.Line != tc.line || re.File != "data" {
				t.Fatalf("error %#v, want a *RowError at line %d", err, tc.line)
			}
			var de *event.DecodeError
			if tc.reason != 0 && (!errors.As(err, &de) || de.Reason != tc.reason) {
				t.Errorf("error %v: want an *event.DecodeError with reason %v", err, tc.reason)
			}
			// A CSV cell the event rules reject keeps its column.
			if tc.format == FormatCSV && de != nil && re.Column != de.Field {
				t.Errorf("error %v: column %q, want %q", err, re.Column, de.Field)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		data   string // one row, score 0.9
		label  int8   // noLabel: none
	}{
		{"csv 1", FormatCSV, "1", 1},
		{"csv 0", FormatCSV, "0", 0},
		{"csv 1.0", FormatCSV, "1.0", 1},
		{"csv 0.0", FormatCSV, "0.0", 0},
		{"csv True", FormatCSV, "True", 1},
		{"csv false", FormatCSV, "false", 0},
		{"csv FALSE", FormatCSV, "FALSE", 0},
		{"csv positive", FormatCSV, "chargeback", 1},
		{"csv negative", FormatCSV, "legit", 0},
		{"csv empty", FormatCSV, "", noLabel},
		{"csv spaces", FormatCSV, " ", noLabel},
		{"json 1", FormatJSONL, "1", 1},
		{"json 0.0", FormatJSONL, "0.0", 0},
		{"json true", FormatJSONL, "true", 1},
		{"json false", FormatJSONL, "false", 0},
		{"json positive", FormatJSONL, `"chargeback"`, 1},
		{"json negative", FormatJSONL, `"legit"`, 0},
		{"json null", FormatJSONL, "null", noLabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data string
			if tc.format == FormatCSV {
				data = "amount,age,country,is_new,score,label\n1,2,DE,x,0.9," + tc.data + "\n"
			} else {
				data = `{"amount":1,"score":0.9,"label":` + tc.data + "}\n"
			}
			p := build(t, tc.format, data)
			c := p.Partial.Perf.Confusion()
			switch tc.label {
			case noLabel:
				if c.Total() != 0 || p.Partial.Outcomes != 0 {
					t.Errorf("confusion %+v, outcomes %d: want no label", c, p.Partial.Outcomes)
				}
			case 1:
				if c != (perf.Confusion{TP: 1}) {
					t.Errorf("confusion %+v, want one tp", c)
				}
			case 0:
				if c != (perf.Confusion{FP: 1}) {
					t.Errorf("confusion %+v, want one fp", c)
				}
			}
		})
	}
}

func TestMissingColumns(t *testing.T) {
	data := "amount,score,label\n1,0.5,1\n,0.2,0\n"
	b := newBuilder(t, testCfg(t), "fraud")
	err := b.Read("data.csv", strings.NewReader(data), FormatCSV)
	const want = `data.csv:1: no column for declared features "age", "country", "is_new"`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	var mc *MissingColumnsError
	if !errors.As(err, &mc) || !slices.Equal(mc.Features, []string{"age", "country", "is_new"}) {
		t.Errorf("error %#v, want a *MissingColumnsError", err)
	}

	b = newBuilder(t, testCfg(t), "fraud")
	b.AllowMissingColumns = true
	if err := b.Read("data.csv", strings.NewReader(data), FormatCSV); err != nil {
		t.Fatal(err)
	}
	pt := b.Profile().Partial
	if pt.Features[0].Num.Count() != 1 || pt.Features[0].Num.Missing() != 1 {
		t.Errorf("amount count %d missing %d", pt.Features[0].Num.Count(), pt.Features[0].Num.Missing())
	}
	if pt.Features[1].Num.Missing() != 2 || pt.Features[2].Cat.Missing() != 2 || pt.Features[3].Cat.Missing() != 2 {
		t.Error("features without a column should be missing in every row")
	}
}

func TestDelimiter(t *testing.T) {
	b := newBuilder(t, testCfg(t), "fraud")
	b.Comma = ';'
	if err := b.Read("data", strings.NewReader("amount;age;country;is_new\n1,5;2;DE;x\n"), FormatCSV); err == nil ||
		err.Error() != `data:2: column "amount": "1,5" is not a number` {
		t.Errorf("error %v", err)
	}
}

func TestNumbers(t *testing.T) {
	p := build(t, FormatCSV, "amount,age,country,is_new\nNaN,1e400,DE,x\n-Inf, 3 ,DE,x\n")
	a, age := p.Partial.Features[0].Num, p.Partial.Features[1].Num
	if a.NaN() != 1 || a.NegInf() != 1 || a.Count() != 0 {
		t.Errorf("amount: nan %d -inf %d count %d", a.NaN(), a.NegInf(), a.Count())
	}
	if age.PosInf() != 1 || age.Count() != 1 || age.Min() != 3 {
		t.Errorf("age: +inf %d count %d min %v", age.PosInf(), age.Count(), age.Min())
	}
	// Non-finite numbers are range violations, as on the stream.
	if p.Stats.Violations[0][event.ViolationRange] != 2 || p.Stats.Violations[1][event.ViolationRange] != 1 {
		t.Errorf("violations %v", p.Stats.Violations)
	}
}

func TestProgress(t *testing.T) {
	rows := genRows(3*ProgressInterval+5, 2)
	b := newBuilder(t, testCfg(t), "fraud")
	var calls []int64
	b.Progress = func(rows int64) { calls = append(calls, rows) }
	if err := b.Read("data", strings.NewReader(csvOf(rows)), FormatCSV); err != nil {
		t.Fatal(err)
	}
	want := []int64{ProgressInterval, 2 * ProgressInterval, 3 * ProgressInterval, int64(len(rows))}
	if !slices.Equal(calls, want) {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
}

func TestSeveralInputs(t *testing.T) {
	rows := genRows(3000, 3)
	whole := build(t, FormatCSV, csvOf(rows))
	b := newBuilder(t, testCfg(t), "fraud")
	if err := b.Read("a.csv", strings.NewReader(csvOf(rows[:1000])), FormatCSV); err != nil {
		t.Fatal(err)
	}
	if err := b.Read("b.jsonl", strings.NewReader(wireOf(rows[1000:])), FormatJSONL); err != nil {
		t.Fatal(err)
	}
	p := b.Profile()
	sameProfile(t, "two inputs", p, whole)
	if !slices.Equal(p.Sources, []string{"a.csv", "b.jsonl"}) {
		t.Errorf("sources %q", p.Sources)
	}
	if err := b.Read("c.csv", strings.NewReader(""), FormatCSV); err == nil {
		t.Error("Read after Profile succeeded")
	}
}

func TestOtherModel(t *testing.T) {
	rows := genRows(2000, 4)
	b := newBuilder(t, testCfg(t), "churn")
	if err := b.Read("data", strings.NewReader(wireOf(rows)), FormatJSONL); err != nil {
		t.Fatal(err)
	}
	p := b.Profile()
	n := 0
	for _, r := range rows {
		if r.model == "churn" {
			n++
		}
	}
	if p.Partial.Predictions != uint64(n) || p.Stats.Skipped != int64(len(rows)-n) || len(p.Features) != 1 {
		t.Errorf("churn: %d predictions, %d skipped; want %d and %d", p.Partial.Predictions, p.Stats.Skipped, n, len(rows)-n)
	}
	if p.Partial.Features[0].Num.Count() != uint64(n) || p.Partial.Features[0].Num.Min() != 3 {
		t.Errorf("tenure: count %d", p.Partial.Features[0].Num.Count())
	}
}

func TestNewBuilderUnknownModel(t *testing.T) {
	_, err := NewBuilder(testCfg(t), "nope")
	if err == nil || err.Error() != `model "nope" is not configured (models: fraud, churn)` {
		t.Errorf("error %v", err)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{
		"data.csv": FormatCSV, "DATA.CSV.GZ": FormatCSV, "dir.jsonl/x.jsonl": FormatJSONL,
		"x.ndjson.gz": FormatJSONL, "x.json": 0, "x.gz": 0, "csv": 0,
	} {
		got, err := FormatOf(name)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("FormatOf(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for s, want := range map[string]Format{"csv": FormatCSV, "JSONL": FormatJSONL, "ndjson": FormatJSONL, "tsv": 0} {
		got, err := ParseFormat(s)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

// TestScoreIsFloat32InPerf checks the join's float32 rounding: a score
// just below the threshold stays below it in the performance window too.
func TestScoreIsFloat32InPerf(t *testing.T) {
	p := build(t, FormatCSV, "amount,age,country,is_new,score,label\n1,2,DE,x,0.30000000000000004,1\n")
	var w perf.Window
	w.Add(float64(float32(0.30000000000000004)), false, true)
	got, _ := p.Partial.Perf.MarshalBinary()
	want, _ := w.MarshalBinary()
	if !bytes.Equal(got, want) {
		t.Error("perf window differs from one fed the float32 score")
	}
	if math.IsNaN(p.Partial.Score.Min()) {
		t.Error("no score sketched")
	}
}

// FuzzRead feeds arbitrary bytes to both readers: they return an error or
// add rows, never panic, and an error from the data names the line.
func FuzzRead(f *testing.F) {
	rows := genRows(20, 9)
	f.Add(csvOf(rows), true)
	f.Add(wireOf(rows), false)
	f.Add(flatOf(rows), false)
	f.Add("amount,age,country,is_new\n\"1\n", true)
	cfg := testCfg(f)
	f.Fuzz(func(t *testing.T, data string, isCSV bool) {
		format := FormatJSONL
		if isCSV {
			format = FormatCSV
		}
		b := newBuilder(t, cfg, "fraud")
		err := b.Read("data", strings.NewReader(data), format)
		// Data errors are *RowErrors with a line; a broken gzip stream is
		// an error of the input as a whole, still named.
		var re *RowError
		if err != nil && (!errors.As(err, &re) || re.Line < 1) && !strings.HasPrefix(err.Error(), "data:") {
			t.Fatalf("error %v is not a *RowError with a line", err)
		}
		var buf bytes.Buffer
		if err := Save(&buf, b.Profile()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCorruptGzip(t *testing.T) {
	b := newBuilder(t, testCfg(t), "fraud")
	err := b.Read("data.csv.gz", strings.NewReader("\x1f\x8bnot gzip at all"), FormatCSV)
	if err == nil || !strings.HasPrefix(err.Error(), "data.csv.gz: gzip: ") {
		t.Errorf("error %v", err)
	}
	good := gzipped(csvOf(genRows(100, 5)))
	err = newBuilder(t, testCfg(t), "fraud").Read("data.csv.gz", strings.NewReader(good[:len(good)/2]), FormatCSV)
	if err == nil || !strings.HasPrefix(err.Error(), "data.csv.gz: ") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated gzip: error %v", err)
	}
}
