package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestWaitCopartitioned checks that start-up rides out a topic that appears
// in metadata a moment late (the CI failure of TestDashboardsReturnData
// against Apache Kafka: reckon started right after its topics were created
// and saw the predictions topic missing), and still refuses one that never
// appears or partition counts that differ.
func TestWaitCopartitioned(t *testing.T) {
	tests := []struct {
		name   string
		seeds  map[string]int32
		late   map[string]int32 // created after a delay
		auto   bool             // the broker creates topics on metadata requests
		want   int32
		errMsg string // the error's type, "" for none
	}{
		{"present", map[string]int32{"p": 3, "o": 3}, nil, false, 3, ""},
		{"appears late", map[string]int32{"p": 3}, map[string]int32{"o": 3}, false, 3, ""},
		{"never appears", map[string]int32{"p": 3}, nil, false, 0, "missing"},
		{"counts differ", map[string]int32{"p": 3, "o": 2}, nil, false, 0, "copartitioned"},
		{"never appears, broker auto-creates", map[string]int32{"p": 3}, nil, true, 0, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []kfake.Opt
			for topic, n := range tt.seeds {
				opts = append(opts, kfake.SeedTopics(n, topic))
			}
			if tt.auto {
				opts = append(opts, kfake.AllowAutoTopicCreation())
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			created := make(chan error, 1)
			go func() {
				time.Sleep(300 * time.Millisecond)
				for topic, n := range tt.late {
					if _, err := adm.CreateTopic(ctx, n, 1, nil, topic); err != nil {
						created <- err
						return
					}
				}
				created <- nil
			}()
			n, err := WaitCopartitioned(ctx, cl, 2*time.Second, "p", "o")
			if cerr := <-created; cerr != nil {
				t.Fatal(cerr)
			}
			var missing *MissingTopicError
			var notCo *NotCopartitionedError
			switch tt.errMsg {
			case "":
				if err != nil || n != tt.want {
					t.Fatalf("WaitCopartitioned = %d, %v; want %d, nil", n, err, tt.want)
				}
			case "missing":
				if !errors.As(err, &missing) || missing.Topic != "o" {
					t.Fatalf("WaitCopartitioned = %v, want a *MissingTopicError for o", err)
				}
			case "copartitioned":
				if !errors.As(err, &notCo) {
					t.Fatalf("WaitCopartitioned = %v, want a *NotCopartitionedError", err)
				}
			}
		})
	}
}
