package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
)

// TestRecordsDecode checks that the records of Bench (with several feature
// counts) and of Fraud are valid for the configuration Config gives: no
// dead letters, the decoded id, model and time those of the Record,
// outcomes after their predictions, event time never going back, and
// probes of ProbeModel.
func TestRecordsDecode(t *testing.T) {
	type tc struct {
		name string
		o    Options
	}
	var cases []tc
	for _, nf := range []int{1, 4, 10, 25} {
		o := Bench()
		o.Models = Fleet(3, nf)
		cases = append(cases, tc{fmt.Sprintf("bench/%d features", nf), o})
	}
	kinds := Bench()
	kinds.Models = FleetKinds(10)
	cases = append(cases, tc{"fraud", Fraud()}, tc{"demo", Demo()}, tc{"bench kinds", kinds})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Config(c.o, true)
			if err != nil {
				t.Fatal(err)
			}
			schema := event.SchemaFromConfig(cfg)
			d := event.NewDecoder(schema, cfg.MaxRecordBytes)
			p := d.NewPrediction()
			var out event.Outcome
			g := New(c.o)
			seen := map[string]bool{}
			var violations int
			var r Record
			var last int64
			for range 20000 {
				want := g.NextTime()
				g.Next(&r)
				if r.TimeMs != want {
					t.Fatalf("NextTime said %d, Next gave %d", want, r.TimeMs)
				}
				if r.TimeMs < last {
					t.Fatalf("event time went back from %d to %d", last, r.TimeMs)
				}
				last = r.TimeMs
				switch r.Topic {
				case Predictions:
					if err := d.DecodePrediction(r.Value, p); err != nil {
						t.Fatalf("%s: %v", r.Value, err)
					}
					if p.TimeMs != r.TimeMs || p.Model != r.Model || string(p.ID) != string(r.Key) {
						t.Fatalf("decoded %+v from %s", p, r.Value)
					}
					violations += len(p.Violations)
					seen[string(r.Key)] = true
				case Outcomes:
					if err := d.DecodeOutcome(r.Value, &out); err != nil {
						t.Fatalf("%s: %v", r.Value, err)
					}
					if !seen[string(r.Key)] || out.Model != r.Model || out.TimeMs != r.TimeMs {
						t.Fatalf("outcome %s: before its prediction or not as generated", r.Value)
					}
				}
			}
			g.Probe(&r, 7)
			if err := d.DecodePrediction(r.Value, p); err != nil || schema.Model(p.Model).Name != ProbeModel || string(p.ModelVersion) != "p7" {
				t.Fatalf("probe %s: %v", r.Value, err)
			}
			np, no := g.Emitted()
			if np+no != 20000 || no == 0 {
				t.Errorf("emitted %d predictions and %d outcomes, want 20000 records with outcomes", np, no)
			}
			t.Logf("%d predictions, %d outcomes, %.3f violations/prediction, e.g. %s", np, no, float64(violations)/float64(np), r.Value)
		})
	}
}

// TestBenchTrafficUnchanged pins the records of Bench: `reckon bench`
// figures are comparable across versions because they measure the same
// records. The hashes were computed by the generator this package replaced
// (consumer/bench/gen at 643e787, with gen.Defaults() and Models, Features
// set), over the first 200,000 records with a probe after every 50,000th.
// Change them only when the traffic is changed on purpose, and say so.
func TestBenchTrafficUnchanged(t *testing.T) {
	for _, tc := range []struct {
		models, features int
		sha256           string
		predictions      uint64
	}{
		{3, 10, "eda4c8a0a2b48313cd77c3f108294bfa60a3ac2589c4a3287d46fb425fc9e9fb", 137904},
		{1, 4, "74d030db17b913785af7be602159ef137c1444b7df4fdb27fa0deea3dccd5b2d", 137724},
		{2, 25, "73fa77d6bdd772b74112eaf92c989b4d860fc052b07797e920cc72cb9673d17c", 137507},
	} {
		o := Bench()
		o.Models = Fleet(tc.models, tc.features)
		g := New(o)
		h := sha256.New()
		var r Record
		var b [8]byte
		for i := range 200_000 {
			g.Next(&r)
			if i%50_000 == 49_999 {
				g.Probe(&r, i)
			}
			binary.LittleEndian.PutUint64(b[:], uint64(r.TimeMs))
			h.Write(b[:])
			h.Write([]byte{byte(r.Topic), byte(r.Model)})
			h.Write(r.Key)
			h.Write(r.Value)
		}
		np, _ := g.Emitted()
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != tc.sha256 || np != tc.predictions {
			t.Errorf("Fleet(%d, %d): sha256 %s and %d predictions, want %s and %d", tc.models, tc.features, got, np, tc.sha256, tc.predictions)
		}
	}
}

// TestDeterministic checks that the seed fixes the traffic, and that
// another seed changes it.
func TestDeterministic(t *testing.T) {
	run := func(o Options) []byte {
		g := New(o)
		var all []byte
		var r Record
		for range 5000 {
			g.Next(&r)
			all = append(all, r.Value...)
		}
		return all
	}
	for _, o := range []Options{Bench(), Fraud()} {
		a, b := run(o), run(o)
		o.Seed++
		c := run(o)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the same seed gave different traffic", o.Models[0].Name)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: another seed gave the same traffic", o.Models[0].Name)
		}
	}
}

// TestFraudDrift checks what the demo's story rests on, from the decoded
// records and against values derived from Fraud's declaration by hand:
// before the drift, no undeclared country and calibrated labels (the
// positive rate is the mean score); after it, amounts ×1.8 (mean ln amount
// up by ln 1.8), 30% of the traffic from an undeclared country, and labels
// there positive with probability score+0.25.
func TestFraudDrift(t *testing.T) {
	o := Fraud()
	o.EventRate = 50 // 90,000 predictions on either side of the drift
	o.Drift.At = 30 * time.Minute
	cfg, err := Config(o, false)
	if err != nil {
		t.Fatal(err)
	}
	d := event.NewDecoder(event.SchemaFromConfig(cfg), cfg.MaxRecordBytes)
	p := d.NewPrediction()
	spec := cfg.Models[0]
	amount, ok1 := spec.FeatureIndex("amount")
	country, ok2 := spec.FeatureIndex("country")
	if !ok1 || !ok2 {
		t.Fatal("Fraud's configuration lacks amount or country")
	}

	type side struct {
		n, newCountry     int
		lnAmount          float64
		labels, positives int     // outcomes, positive ones
		scores            float64 // sum of the scores of the labelled predictions
		// the same for the predictions from a new country
		newLabels, newPositives int
		newExpected             float64 // Σ min(1, score+lift)
	}
	var before, after side
	driftMs := o.DriftTime().UnixMilli()
	type pred struct {
		score     float64
		newCat    bool
		afterward bool
	}
	preds := map[string]pred{}
	g := New(o)
	var r Record
	var out event.Outcome
	for g.NextTime() < driftMs+o.Drift.At.Milliseconds() {
		g.Next(&r)
		if r.Topic == Outcomes {
			if err := d.DecodeOutcome(r.Value, &out); err != nil {
				t.Fatal(err)
			}
			pr, ok := preds[string(out.ID)]
			if !ok {
				continue
			}
			s := &before
			if pr.afterward {
				s = &after
			}
			s.labels++
			s.scores += pr.score
			if out.Label {
				s.positives++
			}
			if pr.newCat {
				s.newLabels++
				s.newExpected += min(1, pr.score+o.Drift.Lift)
				if out.Label {
					s.newPositives++
				}
			}
			continue
		}
		if err := d.DecodePrediction(r.Value, p); err != nil {
			t.Fatal(err)
		}
		if p.Error {
			continue
		}
		s := &before
		if p.TimeMs >= driftMs {
			s = &after
		}
		s.n++
		s.lnAmount += math.Log(p.Num[amount])
		newCat := false
		for _, v := range p.Violations {
			if v.Kind == event.ViolationNewCategory && v.Feature == country {
				newCat = true
				s.newCountry++
			}
		}
		preds[string(p.ID)] = pred{p.Score, newCat, s == &after}
	}
	// Tolerances are 5 standard errors of each estimate.
	if before.newCountry != 0 {
		t.Errorf("%d predictions from an undeclared country before the drift, want 0", before.newCountry)
	}
	if rate, mean := float64(before.positives)/float64(before.labels), before.scores/float64(before.labels); math.Abs(rate-mean) > 5*math.Sqrt(mean*(1-mean)/float64(before.labels)) {
		t.Errorf("before the drift %.4f of the labels are positive, want the mean score %.4f (calibrated)", rate, mean)
	}
	if share := float64(after.newCountry) / float64(after.n); math.Abs(share-0.3) > 5*math.Sqrt(0.3*0.7/float64(after.n)) {
		t.Errorf("after the drift %.4f of the predictions are from an undeclared country, want 0.3", share)
	}
	// ln amount is N(4, 1) before the drift, N(4+ln 1.8, 1) after (cents
	// rounding aside).
	if shift := after.lnAmount/float64(after.n) - before.lnAmount/float64(before.n); math.Abs(shift-math.Log(1.8)) > 5*math.Sqrt(1/float64(after.n)+1/float64(before.n)) {
		t.Errorf("mean ln amount grew by %.4f at the drift, want ln 1.8 = %.4f", shift, math.Log(1.8))
	}
	if got, want := float64(after.newPositives), after.newExpected; math.Abs(got-want) > 5*math.Sqrt(want) {
		t.Errorf("%d positives among %d labels from the new country, want %.0f (score + %.2f)", after.newPositives, after.newLabels, want, o.Drift.Lift)
	}
	t.Logf("before: %+v\nafter: %+v", before, after)
}

func TestFleet(t *testing.T) {
	for _, tc := range []struct {
		features, numeric int
		first, last       string
	}{
		{1, 1, "f00_amount", "f00_amount"},
		{4, 3, "f00_amount", "f03_country"},
		{10, 6, "f00_amount", "f09_is_new"},
		{25, 15, "f00_amount", "f24_channel"},
	} {
		ms := Fleet(2, tc.features)
		if len(ms) != 2 || ms[1].Name != "model-1" || len(ms[1].Features) != tc.features {
			t.Fatalf("Fleet(2, %d) = %+v", tc.features, ms)
		}
		fs := ms[0].Features
		numeric := 0
		for _, f := range fs {
			if f.Kind.Numeric() {
				numeric++
			}
		}
		if numeric != tc.numeric || fs[0].Name != tc.first || fs[len(fs)-1].Name != tc.last {
			t.Errorf("Fleet(2, %d): %d numeric, %s … %s; want %d, %s … %s", tc.features, numeric, fs[0].Name, fs[len(fs)-1].Name, tc.numeric, tc.first, tc.last)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		want   string
	}{
		{"no models", func(o *Options) { o.Models = Fleet(0, 10) }, "models must be at least 1"},
		{"no features", func(o *Options) { o.Models = Fleet(1, 0) }, "features must be at least 1"},
		{"repeated model", func(o *Options) { o.Models = append(o.Models, o.Models[0]) }, "repeated"},
		{"category without categories", func(o *Options) {
			o.Models[0].Features = []Feature{{Name: "c", Kind: Category}}
		}, "needs categories"},
		{"weighted category", func(o *Options) {
			o.Models[0].Features = []Feature{{Name: "c", Kind: Category, Categories: []string{"a"}, Weight: 1}}
		}, "no signal"},
		{"unknown kind", func(o *Options) { o.Models[0].Features = []Feature{{Name: "x", Kind: numKinds}} }, "unknown kind"},
		{"event rate", func(o *Options) { o.EventRate = 0 }, "event rate"},
		{"label rate", func(o *Options) { o.LabelRate = 1.5 }, "label rate"},
		{"drift scale", func(o *Options) { o.Drift.AmountScale = 0 }, "amount scale"},
		{"negative delay", func(o *Options) { o.LabelDelay = -time.Second }, "label delay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Fraud()
			tc.change(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error with %q", err, tc.want)
			}
		})
	}
	for _, o := range []Options{Fraud(), Bench(), Demo()} {
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", o.Models[0].Name, err)
		}
	}
}

// TestRunPaces runs Fraud at a high speed for a moment: every record goes
// to its topic, none before the wall clock reaches its event time, and at
// most EventRate·speed predictions a second go out (and, the machine
// willing, not far fewer: the lower bound is loose for busy machines).
func TestRunPaces(t *testing.T) {
	o := Fraud()
	g := New(o)
	sentTo := map[string]int{}
	var misplaced []string
	s := recorder(func(topic string, _, value []byte) {
		sentTo[topic]++
		if isOutcome := bytes.Contains(value, []byte(`"label"`)); isOutcome != (topic == "o") {
			misplaced = append(misplaced, topic+": "+string(value))
		}
	})
	const speed = 1200 // about 5,000 predictions per wall second
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	sent := Run(ctx, g, s, speed, [2]string{"p", "o"})
	wall := time.Since(start)
	if sent != int64(sentTo["p"]+sentTo["o"]) || sent == 0 {
		t.Fatalf("Run says %d sent, the sink got %v", sent, sentTo)
	}
	// The generator's clock: nothing later than the simulated now at the end.
	if limit := o.Start.UnixMilli() + int64(float64(wall.Milliseconds())*speed); g.Now() > limit {
		t.Errorf("sent a record of event time %d, beyond the simulated now %d", g.Now(), limit)
	}
	np, no := g.Emitted()
	if want := o.EventRate * speed * wall.Seconds(); float64(np) > want+1 || float64(np) < want/10 {
		t.Errorf("%d predictions in %s, want about %.0f", np, wall, want)
	}
	if sentTo["p"] != int(np) || sentTo["o"] != int(no) || len(misplaced) > 0 {
		t.Errorf("%v sent, want %d predictions to p and %d outcomes to o; misplaced: %q", sentTo, np, no, misplaced)
	}
}

type recorder func(topic string, key, value []byte)

func (f recorder) Send(_ context.Context, topic string, key, value []byte) { f(topic, key, value) }

// BenchmarkNext is the cost of one record of Bench.
func BenchmarkNext(b *testing.B) {
	g := New(Bench())
	var r Record
	var n int
	b.ReportAllocs()
	for b.Loop() {
		g.Next(&r)
		n += len(r.Value)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/record")
}

// TestDemoKinds checks Demo's regression and multiclass models from the
// decoded records: eta's labels are its values plus noise, 10 minutes late
// (Lift·Scale) after the drift for the undeclared city; intent's scores are
// a distribution whose likeliest class is the one predicted, and after the
// drift the undeclared channel's requests go to "other" more often.
func TestDemoKinds(t *testing.T) {
	o := Demo()
	o.EventRate = 30
	cfg, err := Config(o, false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Models[1].Kind != config.KindRegression || cfg.Models[2].Kind != config.KindMulticlass || len(cfg.Models[2].Classes) != 4 {
		t.Fatalf("models %+v", cfg.Models)
	}
	schema := event.SchemaFromConfig(cfg)
	d := event.NewDecoder(schema, cfg.MaxRecordBytes)
	p := d.NewPrediction()
	var out event.Outcome
	g := New(o)
	type pred struct {
		value     float64
		class     int
		novel     bool
		afterDrft bool
	}
	preds := map[string]pred{}
	var late, lateN float64 // eta: label − value, novel city after the drift
	var other [2][2]float64 // intent novel channel: [after][other?] counts
	driftMs := o.DriftTime().UnixMilli()
	var r Record
	for g.Now() < driftMs+40*60_000 {
		g.Next(&r)
		switch r.Topic {
		case Predictions:
			if err := d.DecodePrediction(r.Value, p); err != nil {
				t.Fatalf("%s: %v", r.Value, err)
			}
			if p.Error || p.Model == 0 {
				continue
			}
			novel := len(p.Violations) > 0
			if p.Model == 2 && p.HasScores {
				top := 0
				for c, x := range p.Scores {
					if x > p.Scores[top] {
						top = c
					}
				}
				if top != p.Class {
					t.Fatalf("predicted %d, likeliest %d: %s", p.Class, top, r.Value)
				}
			}
			preds[string(r.Key)] = pred{p.Value, p.Class, novel, p.TimeMs >= driftMs}
		case Outcomes:
			if err := d.DecodeOutcome(r.Value, &out); err != nil {
				t.Fatalf("%s: %v", r.Value, err)
			}
			pr, ok := preds[string(r.Key)]
			if !ok || !pr.novel {
				continue
			}
			switch out.Model {
			case 1:
				if pr.afterDrft {
					late += out.Value - pr.value
					lateN++
				}
			case 2:
				a, isOther := 0, 0
				if pr.afterDrft {
					a = 1
				}
				if out.Class == 3 {
					isOther = 1
				}
				other[a][isOther]++
			}
		}
	}
	if lateN < 100 || math.Abs(late/lateN-10) > 1.5 {
		t.Errorf("eta after the drift, undeclared city: labels %.2f minutes after the values over %.0f, want about 10", late/lateN, lateN)
	}
	// Labelled other with probability Lift (0.25), and as drawn otherwise
	// (about a fifth of the time).
	after := other[1][1] / (other[1][0] + other[1][1])
	if !(after > 0.35 && after < 0.5) {
		t.Errorf("intent after the drift, undeclared channel: %.2f labelled other, want about 0.25 + 0.75·0.2", after)
	}
}
