package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTopicsCreate runs `reckon topics create` against an embedded Kafka:
// it creates the input topics co-partitioned and every topic reckon
// writes, as `reckon run` would (partition counts, compaction, sizes), and
// a second run creates nothing.
func TestTopicsCreate(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "reckon.yaml")
	yaml := fmt.Sprintf("kafka: {brokers: [%q], group: g}\nmodels: [{name: m}]\n", c.ListenAddrs()[0])
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	topics := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"topics", "create", "--config", cfgPath}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := topics(); code != 1 || !strings.Contains(out, "--partitions") {
		t.Errorf("without input topics and --partitions: exit %d, %q; want 1 and a hint at --partitions", code, out)
	}
	code, out := topics("--partitions", "3")
	if code != 0 {
		t.Fatalf("topics create --partitions 3: exit %d: %s", code, out)
	}
	want := []string{"predictions", "outcomes", "reckon-dead-letter", "g-rekey", "reckon-results", "g-partials", "g-state", "g-join"}
	for _, name := range want {
		if !strings.Contains(out, "created "+name+"\n") {
			t.Errorf("output %q does not say it created %s", out, name)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	td, err := adm.ListTopics(ctx, want...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		if n := len(td[name].Partitions); n != 3 {
			t.Errorf("%s has %d partitions, want 3", name, n)
		}
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "g-state", "reckon-dead-letter", "g-partials")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rc := range rcs {
		for _, cv := range rc.Configs {
			if (cv.Key == "cleanup.policy" || cv.Key == "max.message.bytes") && cv.Value != nil {
				got[rc.Name+" "+cv.Key] = *cv.Value
			}
		}
	}
	for k, v := range map[string]string{
		"g-state cleanup.policy":               "compact",
		"reckon-dead-letter max.message.bytes": "16777216", // 16 MiB: more than the inputs take, and batches of them
		"g-partials max.message.bytes":         "16777216",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if code, out := topics(); code != 0 || !strings.Contains(out, "every topic exists already") {
		t.Errorf("second run: exit %d, %q; want 0 and nothing created", code, out)
	}
	if code, out := topics("--partitions", "4"); code != 1 || !strings.Contains(out, "exist with 3 partitions, not 4") {
		t.Errorf("--partitions 4 over topics of 3: exit %d, %q; want 1 and the counts", code, out)
	}
}
