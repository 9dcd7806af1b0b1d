package exporter

import (
	"context"
	"errors"
	"fmt"
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
	mux := probeMux(ready)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
	}))
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

// probeMux serves /healthz (the process answers) and /readyz (ready
// reports true), and nothing else.
func probeMux(ready *Readiness) *http.ServeMux {
	mux := http.NewServeMux()
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
	return mux
}

// Server serves Handler on a listener until its context ends, and the
// probes on a second listener when asked (WithProbes).
type Server struct {
	srv *http.Server
	ln  net.Listener
	web string
	log *slog.Logger

	probeSrv *http.Server // nil without WithProbes
	probeLn  net.Listener
}

// ListenOption configures Listen.
type ListenOption func(*listenOptions)

type listenOptions struct {
	probeAddr string
	ready     *Readiness
}

// WithProbes also serves /healthz and /readyz (of ready) on addr, in plain
// HTTP and without authentication, whatever the web configuration says:
// Kubernetes probes cannot present basic-auth credentials or client
// certificates. Nothing else is served there, /metrics least of all. An
// empty addr serves no second listener.
func WithProbes(addr string, ready *Readiness) ListenOption {
	return func(o *listenOptions) { o.probeAddr, o.ready = addr, ready }
}

// Listen binds addr (and the probes' address) now, so that a port conflict
// is reported before any Kafka work starts and Addr is known (":0" picks a
// free port). webConfigFile, when not empty, is an exporter-toolkit web
// configuration (TLS, basic auth) for addr.
func Listen(addr, webConfigFile string, h http.Handler, log *slog.Logger, opts ...ListenOption) (*Server, error) {
	var o listenOptions
	for _, opt := range opts {
		opt(&o)
	}
	if webConfigFile != "" {
		if err := web.Validate(webConfigFile); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln, web: webConfigFile, log: log,
	}
	if o.probeAddr != "" {
		if s.probeLn, err = net.Listen("tcp", o.probeAddr); err != nil {
			ln.Close()
			return nil, fmt.Errorf("probes: %w", err)
		}
		s.probeSrv = &http.Server{Handler: probeMux(o.ready), ReadHeaderTimeout: 10 * time.Second}
	}
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ProbeAddr is the bound address of the probes, empty without WithProbes.
func (s *Server) ProbeAddr() string {
	if s.probeLn == nil {
		return ""
	}
	return s.probeLn.Addr().String()
}

// Serve serves until ctx ends, then shuts down gracefully. A listener that
// fails ends both.
func (s *Server) Serve(ctx context.Context) error {
	servers := []*http.Server{s.srv}
	errc := make(chan error, 2)
	go func() {
		cfg := &web.FlagConfig{WebConfigFile: &s.web}
		errc <- web.Serve(s.ln, s.srv, cfg, s.log)
	}()
	if s.probeSrv != nil {
		servers = append(servers, s.probeSrv)
		s.log.Info("serving /healthz and /readyz without authentication", "address", s.ProbeAddr())
		go func() { errc <- s.probeSrv.Serve(s.probeLn) }()
	}
	running := len(servers)
	var err error
	select {
	case err = <-errc:
		running--
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}
	for ; running > 0; running-- {
		if serr := <-errc; err == nil {
			err = serr
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
