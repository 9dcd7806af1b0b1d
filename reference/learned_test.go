package reference

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows"
)

const learnedTestConfig = `
windows: [1h, 2h]
models:
  - name: m
    reference: {file: m.json}
    drift: {threshold: learned, multivariate: true}
    features:
      - {name: x, type: numeric}
      - {name: y, type: numeric}
      - {name: c, type: categorical}
`

// learnedCSV is n rows over hours hours from 2026-12-08T00:00Z: x and y
// correlated, c one of three values, a few cells empty.
func learnedCSV(n, hours int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	t0 := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("timestamp,x,y,c,score\n")
	for i := range n {
		ts := t0.Add(time.Duration(i) * time.Duration(hours) * time.Hour / time.Duration(n))
		u := rng.NormFloat64()
		x, y := fmt.Sprint(u), fmt.Sprint(0.7*u+0.7*rng.NormFloat64())
		if i%97 == 0 {
			x = ""
		}
		c := []string{"a", "b", "c"}[rng.IntN(3)]
		if i%89 == 0 {
			c = ""
		}
		stamp := ts.Format(time.RFC3339Nano)
		if i%2 == 0 {
			stamp = fmt.Sprint(ts.UnixMilli())
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%v\n", stamp, x, y, c, rng.Float64())
	}
	return b.String()
}

// TestLearnedProfile: a profile built for learned thresholds and
// multivariate drift holds the windows of every configured length and the
// PCA, the same as the core's Learner computes from the same events, and
// they survive Save and Load.
func TestLearnedProfile(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(learnedTestConfig))
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, cfg, "m")
	data := learnedCSV(6000, 12, 3)
	if err := b.Read("data.csv", strings.NewReader(data), FormatCSV); err != nil {
		t.Fatal(err)
	}
	p := b.Profile()
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if p.PCA == nil || len(p.Learned) != 2 || p.Learned[3_600_000].Windows() != 12 || p.Learned[7_200_000].Windows() != 6 {
		t.Fatalf("learned %v, PCA %v: want 12 hourly and 6 two-hour windows and a PCA", p.Learned, p.PCA)
	}

	// The same events through the core's Learner.
	layout := windows.LayoutOf(cfg)
	part := layout.NewPartial(0)
	part.SetCompression(p.Partial.Score.Compression())
	learner := windows.NewLearner(part, []int64{3_600_000, 7_200_000}, true)
	rules := event.NewRules(event.SchemaFromConfig(cfg))
	pred := event.SchemaFromConfig(cfg).NewPrediction()
	lines := strings.Split(strings.TrimSpace(data), "\n")[1:]
	var f event.Fields
	for _, line := range lines {
		cells := strings.Split(line, ",")
		f.Reset()
		ts := event.Value{Type: event.TypeString, Str: []byte(cells[0])}
		if !strings.Contains(cells[0], "T") {
			var ms float64
			fmt.Sscan(cells[0], &ms)
			ts = event.Value{Type: event.TypeNumber, Num: ms}
		}
		f.Set(event.FieldTimestamp, ts)
		for i, name := range []string{"x", "y"} {
			v := event.Value{}
			if cells[i+1] != "" {
				var x float64
				fmt.Sscan(cells[i+1], &x)
				v = event.Value{Type: event.TypeNumber, Num: x}
			}
			f.AddFeature([]byte(name), v)
		}
		c := event.Value{}
		if cells[3] != "" {
			c = event.Value{Type: event.TypeString, Str: []byte(cells[3])}
		}
		f.AddFeature([]byte("c"), c)
		f.Set(event.FieldFeatures, event.Value{Type: event.TypeObject})
		var s float64
		fmt.Sscan(cells[4], &s)
		f.Set(event.FieldScore, event.Value{Type: event.TypeNumber, Num: s})
		if _, err := rules.Row(0, &f, pred); err != nil {
			t.Fatal(err)
		}
		part.AddPrediction(pred, nil, false)
		learner.Add(pred)
	}
	ref := &windows.Reference{Partial: part}
	ref.Finish()
	if err := learner.Finish(ref); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ref.PCA, p.PCA) {
		t.Errorf("PCA %+v, the Learner's %+v", p.PCA, ref.PCA)
	}
	for l, want := range ref.Learned {
		if !equalLearned(p.Learned[l], want) {
			t.Errorf("windows of %d ms differ from the Learner's", l)
		}
	}

	// Save and load.
	var buf bytes.Buffer
	if err := Save(&buf, p); err != nil {
		t.Fatal(err)
	}
	m, _ := cfg.Model("m")
	got, err := ReadProfile(bytes.NewReader(buf.Bytes()), m, layout, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.PCA, p.PCA) {
		t.Errorf("loaded PCA %+v, saved %+v", got.PCA, p.PCA)
	}
	for l, want := range p.Learned {
		if !equalLearned(got.Learned[l], want) {
			t.Errorf("loaded windows of %d ms differ", l)
		}
	}
	if err := windows.CheckFile(got.Reference(), m, cfg.Windows); err != nil {
		t.Errorf("CheckFile: %v", err)
	}
	// A configuration with a window the profile was not built for.
	cfg2, err := config.Parse("reckon.yaml", []byte(strings.Replace(learnedTestConfig, "[1h, 2h]", "[1h, 3h]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := cfg2.Model("m")
	if err := windows.CheckFile(got.Reference(), m2, cfg2.Windows); err == nil || !strings.Contains(err.Error(), "no windows of 3h") {
		t.Errorf("CheckFile with a 3h window: %v", err)
	}
	// Too few windows.
	short := newBuilder(t, cfg, "m")
	if err := short.Read("short.csv", strings.NewReader(learnedCSV(600, 4, 4)), FormatCSV); err != nil {
		t.Fatal(err)
	}
	if err := windows.CheckFile(short.Profile().Reference(), m, cfg.Windows); err == nil || !strings.Contains(err.Error(), "spans 4 windows of 1h; learned thresholds need at least 5") {
		t.Errorf("CheckFile of a 4-hour reference: %v", err)
	}
}

func equalLearned(a, b *windows.Learned) bool {
	if a == nil || b == nil || a.Length != b.Length || !reflect.DeepEqual(a.Starts, b.Starts) || len(a.Features) != len(b.Features) {
		return false
	}
	same := func(x, y []float64) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] && !(math.IsNaN(x[i]) && math.IsNaN(y[i])) {
				return false
			}
		}
		return true
	}
	for i := range a.Features {
		for m, vs := range b.Features[i] {
			if !same(a.Features[i][m], vs) {
				return false
			}
		}
	}
	for m, vs := range b.Score {
		if !same(a.Score[m], vs) {
			return false
		}
	}
	return same(a.Multivariate, b.Multivariate)
}

// TestLearnedProfileNeedsTimestamps: rows without a timestamp cannot be
// cut into windows, an error naming the row and column.
func TestLearnedProfileNeedsTimestamps(t *testing.T) {
	cfg, err := config.Parse("reckon.yaml", []byte(learnedTestConfig))
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, cfg, "m")
	err = b.Read("data.csv", strings.NewReader("x,y,c\n1,2,a\n"), FormatCSV)
	var re *RowError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("a row without timestamp: %v", err)
	}
	// Without learned thresholds or multivariate drift, no timestamp is
	// needed (the test configuration's fraud model).
	if p := build(t, FormatCSV, csvOf(genRows(10, 1))); p.Learned != nil || p.PCA != nil {
		t.Errorf("a profile without learned settings has windows or a PCA")
	}
}
