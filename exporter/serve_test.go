package exporter

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// probePassword's bcrypt hash is in the web configuration of
// TestProbesWithoutCredentials.
const (
	probeUser     = "prometheus"
	probePassword = "probe-test-password"
	probeHash     = "$2a$04$RIC4vCjDCPUVj7hlDtsTGulMWr.J0znB.NGIH6pfNe8lpGyif0x2i"
)

// TestProbesWithoutCredentials checks that with basic auth on (an
// exporter-toolkit web configuration), /metrics, /healthz and /readyz ask
// for credentials on the main listener, while the probe listener serves
// /healthz and /readyz without any, and nothing else.
func TestProbesWithoutCredentials(t *testing.T) {
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  "+probeUser+": "+probeHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	New(reg, "test", 0)
	ready := new(Readiness)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Listen("127.0.0.1:0", webConfig, Handler(reg, ready), log, WithProbes("127.0.0.1:0", ready))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v after cancel", err)
		}
	}()

	get := func(addr, path string, auth bool) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if auth {
			req.SetBasicAuth(probeUser, probePassword)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s%s: %v", addr, path, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	main, probes := s.Addr(), s.ProbeAddr()
	for _, tc := range []struct {
		addr, path string
		auth       bool
		ready      bool
		want       int
	}{
		{main, "/metrics", false, true, http.StatusUnauthorized},
		{main, "/metrics", true, true, http.StatusOK},
		{main, "/healthz", false, true, http.StatusUnauthorized},
		{main, "/readyz", true, true, http.StatusOK},
		{probes, "/healthz", false, false, http.StatusOK},
		{probes, "/readyz", false, false, http.StatusServiceUnavailable},
		{probes, "/readyz", false, true, http.StatusOK},
		{probes, "/metrics", false, true, http.StatusNotFound},
		{probes, "/metrics", true, true, http.StatusNotFound},
		{probes, "/", false, true, http.StatusNotFound},
	} {
		ready.Set(tc.ready)
		if got := get(tc.addr, tc.path, tc.auth); got != tc.want {
			which := "main listener"
			if tc.addr == probes {
				which = "probe listener"
			}
			t.Errorf("%s %s (credentials %v, ready %v): %d, want %d", which, tc.path, tc.auth, tc.ready, got, tc.want)
		}
	}
}

// TestProbesOptional checks that without WithProbes (or with an empty
// address) there is one listener, as before.
func TestProbesOptional(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, opts := range [][]ListenOption{nil, {WithProbes("", new(Readiness))}} {
		s, err := Listen("127.0.0.1:0", "", Handler(reg, new(Readiness)), slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if a := s.ProbeAddr(); a != "" {
			t.Errorf("ProbeAddr() = %q without a probe address", a)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Serve(ctx); err != nil {
			t.Errorf("Serve = %v", err)
		}
	}
}
