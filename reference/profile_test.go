package reference

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
)

// testProfile builds a profile of fraud from generated rows, with a fixed
// creation time.
func testProfile(t testing.TB) *Profile {
	t.Helper()
	p := build(t, FormatCSV, csvOf(genRows(5000, 7)))
	p.Created = time.Date(2026, 11, 26, 21, 30, 22, 0, time.UTC)
	p.Generator = "reckon test"
	return p
}

func saved(t testing.TB, p *Profile) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fraud returns the test configuration's model fraud, its index and the
// processor's layout.
func fraud(t testing.TB) (*config.Model, windows.Layout, int) {
	cfg := testCfg(t)
	m, _ := cfg.Model("fraud")
	return m, windows.LayoutOf(cfg), 0
}

func TestSaveReadRoundTrip(t *testing.T) {
	p := testProfile(t)
	data := saved(t, p)
	m, layout, idx := fraud(t)
	got, err := ReadProfile(bytes.NewReader(data), m, layout, idx)
	if err != nil {
		t.Fatal(err)
	}
	sameProfile(t, "read", got, p)
	if got.Model != "fraud" || !got.Created.Equal(p.Created) || got.Generator != p.Generator ||
		len(got.Sources) != 1 || got.Partial.Model != idx {
		t.Errorf("metadata: %+v", got)
	}
	// Saving what was read gives the same file: the encoding is canonical.
	if again := saved(t, got); !bytes.Equal(again, data) {
		t.Errorf("re-saved profile differs:\n%s\n---\n%s", again, data)
	}
}

func TestSaveFormat(t *testing.T) {
	data := saved(t, testProfile(t))
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f["format"] != "reckon-reference/1" || f["model"] != "fraud" || f["created"] != "2026-11-26T21:30:22Z" {
		t.Errorf("header: format %v model %v created %v", f["format"], f["model"], f["created"])
	}
	features := f["features"].([]any)
	amount := features[0].(map[string]any)
	if amount["name"] != "amount" || amount["type"] != "numeric" || amount["min"] == nil || amount["sketch"] == "" {
		t.Errorf("amount: %v", amount)
	}
	country := features[2].(map[string]any)
	if country["type"] != "categorical" || country["distinct"] != 4.0 || country["violations"].(map[string]any)["new_category"] == nil {
		t.Errorf("country: %v", country)
	}
	for _, k := range []string{"rows", "skipped", "errors", "outcomes", "score", "perf", "estimate"} {
		if _, ok := f[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
}

func TestLoad(t *testing.T) {
	p := testProfile(t)
	path := filepath.Join(t.TempDir(), "ref.json")
	if err := os.WriteFile(path, saved(t, p), 0o644); err != nil {
		t.Fatal(err)
	}
	m, layout, idx := fraud(t)
	ref, err := Load(path, m, layout, idx)
	if err != nil {
		t.Fatal(err)
	}
	if !ref.Complete || ref.Calibrator == nil || len(ref.ScoreEdges) == 0 || ref.From != 0 || ref.To != 0 {
		t.Errorf("reference not completed: complete %v calibrator %v score edges %v", ref.Complete, ref.Calibrator, ref.ScoreEdges)
	}
	if len(ref.Edges) != 4 || len(ref.Edges[0]) == 0 || len(ref.Edges[1]) == 0 || ref.Edges[2] != nil {
		t.Errorf("edges: %v", ref.Edges)
	}
	// The reference compares with a window of the same data without drift.
	rep := windows.Compare(ref, p.Partial, make([]sketch.DriftParams, 4), sketch.DefaultDriftParams())
	for i, fd := range rep.Features {
		if fd.OK && fd.Decision.Drifted {
			t.Errorf("feature %d drifted against itself: %+v", i, fd)
		}
	}

	if _, err := Load(filepath.Join(t.TempDir(), "none.json"), m, layout, idx); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestLoadReorderedConfig checks that features are matched by name: a
// configuration that lists them in another order, drops one or sits at
// another model index still loads.
func TestLoadReorderedConfig(t *testing.T) {
	p := testProfile(t)
	cfg, err := config.Parse("r.yaml", []byte(`
models:
  - name: other
    features: [{name: x, type: categorical}]
  - name: fraud
    features:
      - {name: is_new, type: categorical}
      - {name: amount, type: numeric}
`))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cfg.Model("fraud")
	got, err := ReadProfile(bytes.NewReader(saved(t, p)), m, windows.LayoutOf(cfg), 1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := got.Partial.Features[1].Num.MarshalBinary()
	b, _ := p.Partial.Features[0].Num.MarshalBinary()
	if !bytes.Equal(a, b) || got.Partial.Features[0].Cat.Count("true") != p.Partial.Features[3].Cat.Count("true") || got.Partial.Model != 1 {
		t.Error("features not matched by name")
	}
}

// edit returns the saved test profile changed by fn.
func edit(t *testing.T, fn func(f map[string]any)) []byte {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(saved(t, testProfile(t)), &f); err != nil {
		t.Fatal(err)
	}
	fn(f)
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func feature(f map[string]any, i int) map[string]any {
	return f["features"].([]any)[i].(map[string]any)
}

func TestReadProfileRefusals(t *testing.T) {
	otherModel := build(t, FormatCSV, csvOf(genRows(100, 1)))
	otherModel.Model = "churn"
	for _, tc := range []struct {
		name     string
		data     []byte
		sentinel error
		want     string
	}{
		{"another model", edit(t, func(f map[string]any) { f["model"] = "churn" }),
			ErrModel, `reference profile is for model "churn", not "fraud"`},
		{"newer format", edit(t, func(f map[string]any) { f["format"] = "reckon-reference/2"; f["features"] = 3 }),
			ErrVersion, `reference profile format "reckon-reference/2" is not supported (this build reads "reckon-reference/1")`},
		{"no format", edit(t, func(f map[string]any) { delete(f, "format") }),
			ErrCorrupt, `not a reference profile (no "format")`},
		{"format not a string", edit(t, func(f map[string]any) { f["format"] = 1 }),
			ErrCorrupt, `not a reference profile (not a JSON object): json: cannot unmarshal`},
		{"missing feature", edit(t, func(f map[string]any) {
			f["features"] = append(f["features"].([]any)[:1], f["features"].([]any)[2:]...)
		}), ErrFeature, `feature "age": declared in the configuration but missing from the profile`},
		{"wrong type", edit(t, func(f map[string]any) { feature(f, 1)["type"] = "categorical" }),
			ErrFeature, `feature "age": categorical in the profile but numeric in the configuration`},
		{"unknown type", edit(t, func(f map[string]any) { feature(f, 1)["type"] = "text" }),
			ErrFeature, `feature "age": invalid type in the profile: unknown feature type "text"`},
		{"wrong sketch kind", edit(t, func(f map[string]any) { feature(f, 1)["sketch"] = feature(f, 2)["sketch"] }),
			ErrFeature, `feature "age": sketch does not decode: sketch: corrupt numeric encoding`},
		{"no sketch", edit(t, func(f map[string]any) { delete(feature(f, 3), "sketch") }),
			ErrFeature, `feature "is_new": no sketch in the profile`},
		{"truncated sketch", edit(t, func(f map[string]any) {
			feature(f, 0)["sketch"] = feature(f, 0)["sketch"].(string)[:40]
		}), ErrFeature, `feature "amount": sketch does not decode: sketch: corrupt numeric encoding`},
		{"not base64", edit(t, func(f map[string]any) { feature(f, 0)["sketch"] = "!!" }),
			ErrCorrupt, `invalid profile: illegal base64 data`},
		{"duplicate feature", edit(t, func(f map[string]any) { f["features"] = append(f["features"].([]any), feature(f, 0)) }),
			ErrCorrupt, `feature "amount" appears twice`},
		{"perf", edit(t, func(f map[string]any) { f["perf"] = f["estimate"] }),
			ErrCorrupt, `perf window does not decode: perf: decoding Window`},
		{"no perf", edit(t, func(f map[string]any) { delete(f, "perf") }), ErrCorrupt, `no perf window`},
		{"score", edit(t, func(f map[string]any) { f["score"] = map[string]any{"sketch": feature(f, 2)["sketch"]} }),
			ErrCorrupt, `score sketch does not decode: sketch: corrupt numeric encoding`},
		{"negative count", edit(t, func(f map[string]any) { f["rows"] = -1 }), ErrCorrupt, `invalid profile: json: cannot unmarshal number -1`},
		{"not json", []byte("amount,age\n1,2\n"), ErrCorrupt, `not a reference profile (not a JSON object): invalid character`},
		{"array", []byte("[]"), ErrCorrupt, `not a reference profile (not a JSON object): json: cannot unmarshal array`},
		{"trailing", append(saved(t, testProfile(t)), "{}"...), ErrCorrupt, `not a reference profile (not a JSON object): invalid character '{' after top-level value`},
		{"empty", nil, ErrCorrupt, `not a reference profile (not a JSON object): unexpected end of JSON input`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, layout, idx := fraud(t)
			_, err := ReadProfile(bytes.NewReader(tc.data), m, layout, idx)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n got %s\nwant %s…", err, tc.want)
			}
		})
	}

	// Typed errors carry the details.
	m, layout, idx := fraud(t)
	_, err := ReadProfile(bytes.NewReader(saved(t, otherModel)), m, layout, idx)
	var me *ModelError
	if !errors.As(err, &me) || me.Profile != "churn" || me.Model != "fraud" {
		t.Errorf("error %#v, want a *ModelError", err)
	}
	_, err = ReadProfile(bytes.NewReader(edit(t, func(f map[string]any) { feature(f, 1)["sketch"] = "AQ==" })), m, layout, idx)
	var fe *FeatureError
	if !errors.As(err, &fe) || fe.Feature != "age" || !errors.Is(err, sketch.ErrCorrupt) {
		t.Errorf("error %#v, want a *FeatureError about age wrapping sketch.ErrCorrupt", err)
	}
	_, err = ReadProfile(bytes.NewReader(edit(t, func(f map[string]any) { f["format"] = "reckon-reference/9" })), m, layout, idx)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Format != "reckon-reference/9" {
		t.Errorf("error %#v, want a *VersionError", err)
	}
	// Load names the file.
	path := filepath.Join(t.TempDir(), "ref.json")
	os.WriteFile(path, saved(t, otherModel), 0o644)
	if _, err := Load(path, m, layout, idx); err == nil || !strings.HasPrefix(err.Error(), "reference profile "+path+": ") {
		t.Errorf("Load error %v does not name the file", err)
	}
}

func TestReadProfileLayoutMismatch(t *testing.T) {
	m, layout, _ := fraud(t)
	for _, idx := range []int{-1, 1, 2} {
		if _, err := ReadProfile(bytes.NewReader(saved(t, testProfile(t))), m, layout, idx); err == nil {
			t.Errorf("model index %d: no error", idx)
		}
	}
}

func TestReadProfileTooLarge(t *testing.T) {
	defer func(n int64) { maxProfileBytes = n }(maxProfileBytes)
	maxProfileBytes = 1 << 20
	m, layout, idx := fraud(t)
	r := &repeatReader{b: []byte("        ")} // endless whitespace
	if _, err := ReadProfile(r, m, layout, idx); !errors.Is(err, ErrCorrupt) || err.Error() != "larger than 1048576 bytes" {
		t.Errorf("error %v", err)
	}
}

type repeatReader struct{ b []byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.b)
	}
	return n, nil
}

// TestReadProfileGarbage feeds ReadProfile random corruptions of a valid
// profile: every one must be refused with one of the package's errors or
// accepted, never panic. FuzzReadProfile goes further.
func TestReadProfileGarbage(t *testing.T) {
	valid := saved(t, testProfile(t))
	m, layout, idx := fraud(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		data := bytes.Clone(valid)
		switch i % 4 {
		case 0: // flip bytes anywhere
			for range 1 + r.IntN(4) {
				data[r.IntN(len(data))] ^= byte(1 + r.IntN(255))
			}
		case 1: // truncate
			data = data[:r.IntN(len(data))]
		case 2: // change one base64 character inside a sketch
			at := bytes.Index(data, []byte(`"sketch": "`)) + 11 + r.IntN(20)
			data[at] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[r.IntN(64)]
		case 3: // random bytes
			data = make([]byte, r.IntN(200))
			for j := range data {
				data[j] = byte(r.Uint32())
			}
		}
		p, err := ReadProfile(bytes.NewReader(data), m, layout, idx)
		if err == nil {
			p.Reference() // must not panic either
			continue
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFeature) && !errors.Is(err, ErrModel) && !errors.Is(err, ErrVersion) {
			t.Fatalf("case %d: error %v wraps none of the package's sentinels", i, err)
		}
	}
}

func FuzzReadProfile(f *testing.F) {
	valid := saved(f, testProfile(f))
	f.Add(valid)
	f.Add([]byte(`{"format":"reckon-reference/1","model":"fraud","features":[]}`))
	f.Add([]byte(`{"format":"reckon-reference/2"}`))
	f.Add([]byte(`[]`))
	m, layout, idx := fraud(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadProfile(bytes.NewReader(data), m, layout, idx)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFeature) && !errors.Is(err, ErrModel) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps none of the package's sentinels", err)
			}
			return
		}
		p.Reference()
		var buf bytes.Buffer
		if err := Save(&buf, p); err != nil {
			t.Fatalf("Save of a profile read: %v", err)
		}
	})
}
