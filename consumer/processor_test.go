package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testConfig(t *testing.T, brokers []string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(`
windows: [1m]
idle_timeout: 1s
models:
  - name: m
    features: [{name: x, type: numeric}]
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = brokers
	cfg.StateDir = "" // a temporary directory per member, not one beside "test.yaml"
	return cfg
}

// TestProcessorRefusesBadTopics checks the start-up checks that keep a
// misconfigured deployment from consuming at all.
func TestProcessorRefusesBadTopics(t *testing.T) {
	tests := []struct {
		name  string
		seeds map[string]int32
		want  any
	}{
		{"missing outcomes", map[string]int32{"predictions": 2}, new(*MissingTopicError)},
		{"partition counts differ", map[string]int32{"predictions": 2, "outcomes": 3}, new(*NotCopartitionedError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []kfake.Opt
			for topic, n := range tt.seeds {
				opts = append(opts, kfake.SeedTopics(n, topic))
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p := New(testConfig(t, c.ListenAddrs()), exporter.New(prometheus.NewRegistry(), "test", 0))
			p.topicWait = 500 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = p.Run(ctx)
			switch want := tt.want.(type) {
			case **MissingTopicError:
				if !errors.As(err, want) {
					t.Fatalf("Run = %v, want a *MissingTopicError", err)
				}
			case **NotCopartitionedError:
				if !errors.As(err, want) {
					t.Fatalf("Run = %v, want a *NotCopartitionedError", err)
				}
			}
		})
	}
}

// TestProcessorStopsCleanly checks that cancelling Run leaves no goroutine
// behind (goleak in TestMain) and reports readiness on the way.
func TestProcessorStopsCleanly(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(2, "predictions", "outcomes"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ready := new(exporter.Readiness)
	p := New(testConfig(t, c.ListenAddrs()), exporter.New(prometheus.NewRegistry(), "test", 0), WithReadiness(ready))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !ready.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v after cancel, want nil", err)
	}
	if ready.Ready() {
		t.Error("still ready after Run returned")
	}
}
