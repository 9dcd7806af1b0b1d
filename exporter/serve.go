package exporter

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// Readiness is what /readyz asks. It is set by the processor.
type Readiness struct{ ready atomic.Bool }

// Set records whether the processor is ready.
func (r *Readiness) Set(ok bool) { r.ready.Store(ok) }

// Ready reports the last value Set.
func (r *Readiness) Ready() bool { return r.ready.Load() }

// Handler returns the HTTP handler for /metrics (text and protobuf
// exposition, negotiated), /healthz and /readyz.
func Handler(reg *prometheus.Registry, ready *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Ready() {
			http.Error(w, "not ready: partitions not assigned or state not restored", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><head><title>reckon</title></head><body><h1>reckon</h1>` +
			`<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p></body></html>`))
	})
	return mux
}

// Server serves Handler on a listener until its context ends.
type Server struct {
	srv *http.Server
	ln  net.Listener
	web string
	log *slog.Logger
}

// Listen binds addr now, so that a port conflict is reported before any
// Kafka work starts and Addr is known (":0" picks a free port).
// webConfigFile, when not empty, is an exporter-toolkit web configuration
// (TLS, basic auth).
func Listen(addr, webConfigFile string, h http.Handler, log *slog.Logger) (*Server, error) {
	if webConfigFile != "" {
		if err := web.Validate(webConfigFile); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln, web: webConfigFile, log: log,
	}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		cfg := &web.FlagConfig{WebConfigFile: &s.web}
		errc <- web.Serve(s.ln, s.srv, cfg, s.log)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(sctx)
		if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		return err
	}
}
