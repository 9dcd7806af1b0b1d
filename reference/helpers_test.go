package reference

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/reckonhq/reckon/config"
)

const testConfig = `
models:
  - name: fraud
    positive_label: chargeback
    negative_label: legit
    features:
      - {name: amount, type: numeric, min: 0}
      - {name: age, type: numeric}
      - {name: country, type: categorical, categories: [DE, FR, US]}
      - {name: is_new, type: categorical}
  - name: churn
    features:
      - {name: tenure, type: numeric}
`

func testCfg(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse("reckon.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newBuilder(t testing.TB, cfg *config.Config, model string) *Builder {
	t.Helper()
	b, err := NewBuilder(cfg, model)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// build reads one input into a new Builder for fraud and returns the
// profile, failing the test on an error.
func build(t testing.TB, f Format, data string) *Profile {
	t.Helper()
	b := newBuilder(t, testCfg(t), "fraud")
	if err := b.Read("data", strings.NewReader(data), f); err != nil {
		t.Fatal(err)
	}
	return b.Profile()
}

// testRow is one prediction of the test model fraud (or, with model set,
// of another one); nil fields are missing.
type testRow struct {
	model     string
	amount    *float64
	age       *float64
	country   *string
	isNew     *bool
	score     *float64
	predicted *bool
	label     *bool
	isError   bool
}

func ptr[T any](v T) *T { return &v }

// genRows returns n reproducible rows: lognormal amounts (a few negative),
// integer ages, countries with an undeclared one, booleans, scores that
// carry signal about the label, error predictions, rows of another model,
// and some of everything missing.
func genRows(n int, seed uint64) []testRow {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	countries := []string{"DE", "FR", "US", "IT"}
	rows := make([]testRow, n)
	for i := range rows {
		row := &rows[i]
		if r.IntN(50) == 0 {
			row.model = "churn"
			continue
		}
		if r.IntN(200) == 0 { // an error prediction has no features
			row.isError = true
			continue
		}
		if r.IntN(20) != 0 {
			row.amount = ptr(math.Exp(r.NormFloat64()*1.2 + 3))
			if r.IntN(100) == 0 {
				row.amount = ptr(-*row.amount)
			}
		}
		if r.IntN(10) != 0 {
			row.age = ptr(float64(18 + r.IntN(60)))
		}
		if r.IntN(15) != 0 {
			row.country = ptr(countries[r.IntN(len(countries))])
		}
		if r.IntN(8) != 0 {
			row.isNew = ptr(r.IntN(3) == 0)
		}
		label := r.Float64() < 0.2
		s := r.Float64() * 0.7
		if label {
			s += 0.3
		}
		row.score = ptr(s)
		if r.IntN(5) == 0 {
			row.predicted = ptr(s > 0.6)
		}
		if r.IntN(4) != 0 {
			row.label = ptr(label)
		}
	}
	return rows
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// pyBool spells a boolean as Python does.
func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// csvOf writes rows as pandas would (True/False, floats with NaNs as "37.0",
// empty cells for missing values), with an unknown column.
func csvOf(rows []testRow) string {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "model", "amount", "age", "country", "is_new", "score", "predicted", "label", "status"})
	for i, r := range rows {
		rec := make([]string, 10)
		rec[0] = strconv.Itoa(i)
		rec[1] = r.model
		if r.model == "" {
			rec[1] = "fraud"
		}
		if r.amount != nil {
			rec[2] = fmtFloat(*r.amount)
		}
		if r.age != nil {
			rec[3] = strconv.FormatFloat(*r.age, 'f', 1, 64)
		}
		if r.country != nil {
			rec[4] = *r.country
		}
		if r.isNew != nil {
			rec[5] = pyBool(*r.isNew)
		}
		if r.score != nil {
			rec[6] = fmtFloat(*r.score)
		}
		if r.predicted != nil {
			rec[7] = pyBool(*r.predicted)
		}
		if r.label != nil {
			rec[8] = "legit"
			if *r.label {
				rec[8] = "1"
			}
		}
		if r.isError {
			rec[9] = "error"
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.String()
}

// wireOf writes rows as prediction records on the wire, each with an extra
// label when it has one.
func wireOf(rows []testRow) string {
	var buf bytes.Buffer
	for i, r := range rows {
		rec := map[string]any{
			"prediction_id": "p" + strconv.Itoa(i),
			"model":         "fraud",
			"timestamp":     1795728622123 + i,
		}
		features := map[string]any{}
		if r.model != "" {
			rec["model"] = r.model
			rec["score"] = 0.1
			features["tenure"] = 3
		}
		if r.amount != nil {
			features["amount"] = json.Number(fmtFloat(*r.amount))
		}
		if r.age != nil {
			features["age"] = *r.age
		}
		if r.country != nil {
			features["country"] = *r.country
		}
		if r.isNew != nil {
			features["is_new"] = *r.isNew
		} else if i%2 == 0 {
			features["is_new"] = nil
		}
		rec["features"] = features
		if r.score != nil {
			rec["score"] = json.Number(fmtFloat(*r.score))
		}
		if r.predicted != nil {
			rec["predicted"] = *r.predicted
		}
		if r.label != nil {
			rec["label"] = *r.label
			if i%3 == 0 { // every spelling of a label
				rec["label"] = map[bool]any{true: "chargeback", false: 0}[*r.label]
			}
		}
		if r.isError {
			rec["status"] = "error"
			rec["error"] = "timeout"
			delete(rec, "features")
			if i%2 == 0 {
				rec["features"] = nil
			}
		}
		b, err := json.Marshal(rec)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.String()
}

// flatOf writes rows as flat JSON objects, as pandas' to_json(orient="records",
// lines=True) does: null for missing values.
func flatOf(rows []testRow) string {
	var buf bytes.Buffer
	for _, r := range rows {
		rec := map[string]any{
			"amount": nil, "age": nil, "country": nil, "is_new": nil,
			"score": nil, "label": nil, "index": 7,
		}
		if r.model != "" {
			rec["model"] = r.model
		}
		if r.amount != nil {
			rec["amount"] = json.Number(fmtFloat(*r.amount))
		}
		if r.age != nil {
			rec["age"] = *r.age
		}
		if r.country != nil {
			rec["country"] = *r.country
		}
		if r.isNew != nil {
			rec["is_new"] = *r.isNew
		}
		if r.score != nil {
			rec["score"] = json.Number(fmtFloat(*r.score))
		}
		if r.predicted != nil {
			rec["predicted"] = *r.predicted
		}
		if r.label != nil {
			rec["label"] = *r.label
		}
		if r.isError {
			rec["status"] = "error"
		}
		b, err := json.Marshal(rec)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.String()
}
