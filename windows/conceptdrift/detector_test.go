package conceptdrift

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xc0ffee)) }

// bernoulli returns n draws of Bernoulli(p0) followed by m of Bernoulli(p1).
func bernoulli(r *rand.Rand, p0 float64, n int, p1 float64, m int) []float64 {
	xs := make([]float64, n+m)
	for i := range xs {
		p := p0
		if i >= n {
			p = p1
		}
		if r.Float64() < p {
			xs[i] = 1
		}
	}
	return xs
}

func mustNew(t testing.TB, name string) Detector {
	t.Helper()
	d, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func marshal(t testing.TB, d Detector) []byte {
	t.Helper()
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNew(t *testing.T) {
	for _, name := range Names() {
		d := mustNew(t, name)
		if d.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, d.Name())
		}
		if d.InDrift() {
			t.Errorf("%s: new detector in drift", name)
		}
	}
	for _, name := range []string{"", "ADWIN", "kswin"} {
		if _, err := New(name); !errors.Is(err, ErrUnknownDetector) {
			t.Errorf("New(%q) error = %v, want ErrUnknownDetector", name, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() error
		param string
	}{
		{"adwin delta 0", func() error { _, err := NewADWIN(ADWINDelta(0)); return err }, "delta"},
		{"adwin delta 1", func() error { _, err := NewADWIN(ADWINDelta(1)); return err }, "delta"},
		{"adwin delta NaN", func() error { _, err := NewADWIN(ADWINDelta(math.NaN())); return err }, "delta"},
		{"adwin clock 0", func() error { _, err := NewADWIN(ADWINClock(0)); return err }, "clock"},
		{"adwin max_buckets 0", func() error { _, err := NewADWIN(ADWINMaxBuckets(0)); return err }, "max_buckets"},
		{"adwin min_window_length 0", func() error { _, err := NewADWIN(ADWINMinWindowLength(0)); return err }, "min_window_length"},
		{"adwin grace_period -1", func() error { _, err := NewADWIN(ADWINGracePeriod(-1)); return err }, "grace_period"},
		{"adwin hold 0", func() error { _, err := NewADWIN(Hold(0)); return err }, "hold"},
		{"ddm warm_start -1", func() error { _, err := NewDDM(DDMWarmStart(-1)); return err }, "warm_start"},
		{"ddm warning 0", func() error { _, err := NewDDM(DDMWarningThreshold(0)); return err }, "warning_threshold"},
		{"ddm drift < warning", func() error { _, err := NewDDM(DDMDriftThreshold(1.5)); return err }, "drift_threshold"},
		{"ddm drift Inf", func() error { _, err := NewDDM(DDMDriftThreshold(math.Inf(1))); return err }, "drift_threshold"},
		{"ddm hold -3", func() error { _, err := NewDDM(Hold(-3)); return err }, "hold"},
		{"ph min_instances 0", func() error { _, err := NewPageHinkley(PageHinkleyMinInstances(0)); return err }, "min_instances"},
		{"ph delta -1", func() error { _, err := NewPageHinkley(PageHinkleyDelta(-1)); return err }, "delta"},
		{"ph threshold 0", func() error { _, err := NewPageHinkley(PageHinkleyThreshold(0)); return err }, "threshold"},
		{"ph alpha 0", func() error { _, err := NewPageHinkley(PageHinkleyAlpha(0)); return err }, "alpha"},
		{"ph alpha 1.1", func() error { _, err := NewPageHinkley(PageHinkleyAlpha(1.1)); return err }, "alpha"},
		{"ph mode 0", func() error { _, err := NewPageHinkley(PageHinkleyMode(0)); return err }, "mode"},
		{"ph hold 0", func() error { _, err := NewPageHinkley(Hold(0)); return err }, "hold"},
	}
	for _, tt := range tests {
		var ce *ConfigError
		if err := tt.build(); !errors.As(err, &ce) || ce.Param != tt.param {
			t.Errorf("%s: error %v, want a *ConfigError for %q", tt.name, err, tt.param)
		}
	}
	// Valid edge values are accepted.
	if _, err := NewADWIN(ADWINClock(1), ADWINMaxBuckets(1), ADWINMinWindowLength(1), ADWINGracePeriod(0), Hold(1)); err != nil {
		t.Error(err)
	}
	if _, err := NewDDM(DDMWarmStart(0), DDMWarningThreshold(3), DDMDriftThreshold(3)); err != nil {
		t.Error(err)
	}
	if _, err := NewPageHinkley(PageHinkleyAlpha(1), PageHinkleyDelta(0), PageHinkleyMode(ModeDown)); err != nil {
		t.Error(err)
	}
}

// TestHold checks the InDrift span on a stream with one known detection:
// ADWIN with clock 1 and no bucket compression detects 30 zeros followed by
// ones at index 59 (see TestADWINHandComputed), then starts afresh and sees
// only ones.
func TestHold(t *testing.T) {
	xs := append(make([]float64, 30), slices.Repeat([]float64{1}, 200)...)
	for _, hold := range []int{1, 2, 5, 100, 1000} {
		a, err := NewADWIN(ADWINClock(1), ADWINMaxBuckets(64), Hold(hold))
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			drift := a.Update(x)
			if drift != (i == 59) {
				t.Fatalf("hold %d: Update #%d = %v", hold, i, drift)
			}
			want := i >= 59 && i < 59+hold
			if a.InDrift() != want {
				t.Fatalf("hold %d: InDrift after #%d = %v, want %v", hold, i, a.InDrift(), want)
			}
		}
	}
}

func TestNonFiniteIgnored(t *testing.T) {
	xs := bernoulli(newRand(1), 0.1, 500, 0.6, 500)
	for _, name := range Names() {
		d := mustNew(t, name)
		for _, x := range xs {
			d.Update(x)
		}
		before := marshal(t, d)
		for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			if d.Update(x) {
				t.Errorf("%s: Update(%v) reported drift", name, x)
			}
		}
		if !bytes.Equal(marshal(t, d), before) {
			t.Errorf("%s: non-finite observation changed the state", name)
		}
	}
}

func TestReset(t *testing.T) {
	xs := bernoulli(newRand(2), 0.1, 3000, 0.6, 3000)
	for _, name := range Names() {
		d := mustNew(t, name)
		drifted := false
		for _, x := range xs {
			if drifted = d.Update(x); drifted {
				break
			}
		}
		if !drifted || !d.InDrift() {
			t.Fatalf("%s: no drift on a 0.1 → 0.6 stream", name)
		}
		d.Reset()
		if d.InDrift() {
			t.Errorf("%s: in drift after Reset", name)
		}
		if !bytes.Equal(marshal(t, d), marshal(t, mustNew(t, name))) {
			t.Errorf("%s: Reset state differs from a new detector", name)
		}
	}
}

// TestCheckpointContinues checkpoints each detector mid-stream (through
// Unmarshal, as a restart would) and checks that the restored detector goes
// on exactly as the original.
func TestCheckpointContinues(t *testing.T) {
	xs := bernoulli(newRand(3), 0.15, 4000, 0.45, 6000)
	for _, name := range Names() {
		for _, cut := range []int{0, 1, 31, 2500, 4100, 9999} {
			orig := mustNew(t, name)
			for _, x := range xs[:cut] {
				orig.Update(x)
			}
			restored, err := Unmarshal(marshal(t, orig))
			if err != nil {
				t.Fatalf("%s at %d: %v", name, cut, err)
			}
			if restored.Name() != name || restored.InDrift() != orig.InDrift() {
				t.Fatalf("%s at %d: restored %s, InDrift %v", name, cut, restored.Name(), restored.InDrift())
			}
			for i, x := range xs[cut:] {
				if a, b := orig.Update(x), restored.Update(x); a != b || orig.InDrift() != restored.InDrift() {
					t.Fatalf("%s restored at %d diverges at %d", name, cut, cut+i)
				}
			}
			if !bytes.Equal(marshal(t, orig), marshal(t, restored)) {
				t.Fatalf("%s restored at %d: final states differ", name, cut)
			}
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	xs := bernoulli(newRand(4), 0.2, 2000, 0.5, 100)
	for _, name := range Names() {
		d := mustNew(t, name)
		for _, x := range xs {
			d.Update(x)
		}
		good := marshal(t, d)
		other := NameDDM
		if name == NameDDM {
			other = NameADWIN
		}
		set := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
		tests := []struct {
			name string
			data []byte
			want error
		}{
			{"empty", nil, ErrCorrupt},
			{"bad magic", set(0, 'X'), ErrCorrupt},
			{"other kind", marshal(t, mustNew(t, other)), ErrKind},
			{"future version", set(5, 2), ErrVersion},
			{"trailing byte", append(bytes.Clone(good), 0), ErrCorrupt},
		}
		for _, tt := range tests {
			fresh := mustNew(t, name)
			before := marshal(t, fresh)
			err := fresh.UnmarshalBinary(tt.data)
			var de *DecodeError
			if !errors.Is(err, tt.want) || !errors.As(err, &de) {
				t.Errorf("%s %s: error %v, want %v", name, tt.name, err, tt.want)
			}
			if !bytes.Equal(marshal(t, fresh), before) {
				t.Errorf("%s %s: receiver changed on error", name, tt.name)
			}
		}
		for n := range len(good) {
			if _, err := Unmarshal(good[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: prefix %d/%d: error %v", name, n, len(good), err)
			}
		}
	}
	if _, err := Unmarshal([]byte("RKCD\x09\x01")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown kind: error %v", err)
	}

	// An invalid parameter in the bytes is reported with its ConfigError.
	a, _ := NewADWIN()
	b := marshal(t, a)
	copy(b[6:14], []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}) // delta = 1.0
	var ce *ConfigError
	if err := new(ADWIN).UnmarshalBinary(b); !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.Param != "delta" {
		t.Errorf("invalid delta: error %v", err)
	}
}

// TestUpdateDoesNotAllocate checks Update in steady state, after a warm-up
// that grows ADWIN's window past 100k observations.
func TestUpdateDoesNotAllocate(t *testing.T) {
	xs := bernoulli(newRand(5), 0.1, 1<<17, 0, 0)
	for _, name := range Names() {
		d := mustNew(t, name)
		for _, x := range xs {
			d.Update(x)
		}
		i := 0
		if a := testing.AllocsPerRun(10_000, func() { d.Update(xs[i&(1<<17-1)]); i++ }); a != 0 {
			t.Errorf("%s: Update allocates %v times", name, a)
		}
	}
}

func TestPageHinkleyModes(t *testing.T) {
	up := bernoulli(newRand(6), 0.1, 2000, 0.5, 3000)
	down := bernoulli(newRand(7), 0.5, 2000, 0.1, 3000)
	tests := []struct {
		mode             Mode
		detectUp, detect bool // on the rising stream, on the falling one
	}{
		{ModeUp, true, false},
		{ModeDown, false, true},
		{ModeBoth, true, true},
	}
	first := func(d Detector, xs []float64) int {
		for i, x := range xs {
			if d.Update(x) {
				return i
			}
		}
		return -1
	}
	for _, tt := range tests {
		p1, _ := NewPageHinkley(PageHinkleyMode(tt.mode))
		p2, _ := NewPageHinkley(PageHinkleyMode(tt.mode))
		iu, id := first(p1, up), first(p2, down)
		if (iu >= 2000) != tt.detectUp || (id >= 2000) != tt.detect || (iu >= 0 && iu < 2000) || (id >= 0 && id < 2000) {
			t.Errorf("mode %v: first detection on rising %d, on falling %d", tt.mode, iu, id)
		}
	}
	if ModeBoth.String() != "both" || Mode(7).String() != "Mode(7)" {
		t.Error("Mode.String")
	}
}

func TestDDMErrorFreeWarmStart(t *testing.T) {
	// 40 correct predictions, then an error, 20 correct, an error: River's
	// DDM records p_min = s_min = 0 after its warm start and reports a drift
	// at the first error (index 40); this DDM does not.
	xs := append(append(append(make([]float64, 40), 1), make([]float64, 20)...), 1)
	d, _ := NewDDM()
	for i, x := range xs {
		if d.Update(x) {
			t.Fatalf("drift at %d", i)
		}
	}
	// The statistics do start at the first error: a sustained rise is
	// still detected.
	r := newRand(8)
	for i := range 5000 {
		x := 0.0
		if r.Float64() < 0.3 {
			x = 1
		}
		if d.Update(x) {
			t.Logf("rise to 0.3 detected after %d observations", i+1)
			return
		}
	}
	t.Fatal("no drift after the error rate rose to 0.3")
}

func TestDDMWarning(t *testing.T) {
	// A rise from 0.1 to 0.3: DDM passes through its warning zone before it
	// declares a drift, and leaves it when it does.
	xs := bernoulli(newRand(9), 0.1, 3000, 0.3, 3000)
	d, _ := NewDDM()
	warned := false
	for i, x := range xs {
		drift := d.Update(x)
		if drift {
			if !warned || d.Warning() || i < 3000 {
				t.Fatalf("drift at %d, warned before: %v, warning now: %v", i, warned, d.Warning())
			}
			return
		}
		warned = warned || d.Warning()
	}
	t.Fatal("no drift")
}
