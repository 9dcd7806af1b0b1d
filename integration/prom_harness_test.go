package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The real Prometheus that tests let scrape reckon. CI (.ci/run) starts
// Debian's Prometheus with .ci/prometheus.sh and exports
//   - PROMETHEUS_URL: its HTTP API, e.g. http://127.0.0.1:9090;
//   - RECKON_PROM_SD_FILE: the file_sd JSON file of its one scrape job,
//     `reckon`, which it re-reads every second and scrapes every second.
//
// A test adds the reckon it runs with promTarget; every target carries a
// unique `instance` label so that queries select that test's series only.

// promServer is the Prometheus under test.
type promServer struct {
	url    string
	sdFile string
}

// promEnv returns the Prometheus from the environment. Under CI=true both
// variables must be set (CI always tests against a real Prometheus);
// elsewhere the test is skipped without them.
func promEnv(t *testing.T) *promServer {
	t.Helper()
	u, sd := os.Getenv("PROMETHEUS_URL"), os.Getenv("RECKON_PROM_SD_FILE")
	if u == "" || sd == "" {
		msg := fmt.Sprintf("PROMETHEUS_URL=%q and RECKON_PROM_SD_FILE=%q: both are needed for a real Prometheus (start one with .ci/prometheus.sh)", u, sd)
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but " + msg)
		}
		t.Skip("skipping: " + msg)
	}
	p := &promServer{url: u, sdFile: sd}
	resp, err := http.Get(u + "/-/ready")
	if err != nil {
		t.Fatalf("Prometheus at PROMETHEUS_URL=%s does not answer: %v", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Prometheus at PROMETHEUS_URL=%s is not ready: %s", u, resp.Status)
	}
	return p
}

// sdGroup is one entry of a file_sd file.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// sdTargets are the targets that running tests put in the file_sd file,
// keyed by their instance label; the file holds exactly these.
var (
	sdMu      sync.Mutex
	sdTargets = map[string]sdGroup{}
)

// promTarget adds addr, labelled instance=instance, to Prometheus' targets
// until the test ends. Tests that run in parallel each keep their own
// target.
func (p *promServer) promTarget(t *testing.T, addr, instance string) {
	t.Helper()
	sdMu.Lock()
	defer sdMu.Unlock()
	if _, dup := sdTargets[instance]; dup {
		t.Fatalf("Prometheus target instance %q added twice", instance)
	}
	sdTargets[instance] = sdGroup{Targets: []string{addr}, Labels: map[string]string{"instance": instance}}
	if err := writeSDFile(p.sdFile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sdMu.Lock()
		defer sdMu.Unlock()
		delete(sdTargets, instance)
		if err := writeSDFile(p.sdFile); err != nil {
			t.Error(err)
		}
	})
}

// writeSDFile writes sdTargets (`[]` when there are none) to a temporary
// file beside path and renames it over path, so that Prometheus never reads
// half a file. sdMu must be held.
func writeSDFile(path string) error {
	keys := make([]string, 0, len(sdTargets))
	for k := range sdTargets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	groups := make([]sdGroup, 0, len(keys))
	for _, k := range keys {
		groups = append(groups, sdTargets[k])
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".reckon-sd-*.tmp")
	if err != nil {
		return fmt.Errorf("writing the file_sd file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("writing the file_sd file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing the file_sd file: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("replacing the file_sd file %s: %w", path, err)
	}
	return nil
}

// promSample is one element of an instant vector.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// query evaluates expr at time at through /api/v1/query and returns the
// instant vector (a scalar result is returned as one sample without labels).
func (p *promServer) query(expr string, at time.Time) ([]promSample, error) {
	v := url.Values{}
	v.Set("query", expr)
	v.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w: %.200s", expr, resp.Status, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s: %s: %s", expr, resp.Status, r.ErrorType, r.Error)
	}
	type point [2]json.RawMessage // [unix seconds, "value"]
	parse := func(pt point) (float64, error) {
		var s string
		if err := json.Unmarshal(pt[1], &s); err != nil {
			return 0, err
		}
		return strconv.ParseFloat(s, 64) // also parses NaN, +Inf
	}
	switch r.Data.ResultType {
	case "vector":
		var res []struct {
			Metric    map[string]string `json:"metric"`
			Value     point             `json:"value"`
			Histogram point             `json:"histogram"` // a native histogram sample
		}
		if err := json.Unmarshal(r.Data.Result, &res); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		out := make([]promSample, 0, len(res))
		for _, s := range res {
			if s.Value[1] == nil && s.Histogram[1] != nil {
				// A native histogram (Prometheus keeps only those of a
				// histogram with native buckets when the feature is on):
				// its observation count stands for its value.
				var h struct {
					Count string `json:"count"`
				}
				if err := json.Unmarshal(s.Histogram[1], &h); err != nil {
					return nil, fmt.Errorf("query %s: histogram %s: %w", expr, s.Histogram[1], err)
				}
				f, err := strconv.ParseFloat(h.Count, 64)
				if err != nil {
					return nil, fmt.Errorf("query %s: histogram count %q: %w", expr, h.Count, err)
				}
				out = append(out, promSample{Metric: s.Metric, Value: f})
				continue
			}
			f, err := parse(s.Value)
			if err != nil {
				return nil, fmt.Errorf("query %s: value %s: %w", expr, s.Value[1], err)
			}
			out = append(out, promSample{Metric: s.Metric, Value: f})
		}
		return out, nil
	case "scalar":
		var pt point
		if err := json.Unmarshal(r.Data.Result, &pt); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		f, err := parse(pt)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		return []promSample{{Value: f}}, nil
	default:
		return nil, fmt.Errorf("query %s: result type %q, want vector or scalar", expr, r.Data.ResultType)
	}
}

// queryValue evaluates expr, which must give at most one sample, at time
// at. ok is false when the result is empty.
func (p *promServer) queryValue(t *testing.T, expr string, at time.Time) (v float64, ok bool) {
	t.Helper()
	res, err := p.query(expr, at)
	if err != nil {
		t.Fatal(err)
	}
	switch len(res) {
	case 0:
		return math.NaN(), false
	case 1:
		return res[0].Value, true
	default:
		t.Fatalf("query %s at %s: %d samples, want one: %v", expr, at.Format(time.RFC3339Nano), len(res), res)
		return 0, false
	}
}

// waitProm evaluates cond every 250ms until it holds or timeout passes;
// cond returns a description of what it saw, for the failure message.
func waitProm(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for Prometheus: %s; last seen: %s", timeout, what, saw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// promBucket is one classic histogram bucket: the cumulative count of
// observations <= le.
type promBucket struct {
	le    float64
	count float64
}

// classicQuantile is Prometheus' histogram_quantile over classic buckets,
// written from its documentation (promql/quantile.go): buckets sorted by
// le with a final +Inf bucket; the rank q·total falls into the first
// bucket whose cumulative count reaches it, and the result is interpolated
// linearly within that bucket, from 0 for the lowest bucket (when its le is
// positive); a rank in the +Inf bucket gives the highest finite le.
func classicQuantile(q float64, buckets []promBucket) float64 {
	bs := append([]promBucket(nil), buckets...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].le, +1) {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := 0
	for i < len(bs)-1 && bs[i].count < rank {
		i++
	}
	if i == len(bs)-1 {
		return bs[len(bs)-2].le
	}
	if i == 0 && bs[0].le <= 0 {
		return bs[0].le
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = bs[i-1].le, bs[i-1].count
	}
	return lower + (bs[i].le-lower)*((rank-below)/(bs[i].count-below))
}

// cumulativeBuckets counts obs into classic buckets with the given upper
// bounds, adding the +Inf bucket, as a Prometheus client does.
func cumulativeBuckets(obs, bounds []float64) []promBucket {
	out := make([]promBucket, 0, len(bounds)+1)
	for _, le := range append(append([]float64(nil), bounds...), math.Inf(+1)) {
		n := 0
		for _, o := range obs {
			if o <= le {
				n++
			}
		}
		out = append(out, promBucket{le: le, count: float64(n)})
	}
	return out
}
