package alerts_test

import (
	"testing"

	"github.com/reckonhq/reckon/alerts"
	"github.com/reckonhq/reckon/alerts/promqlcheck"
	"github.com/reckonhq/reckon/config"
)

// TestRuleExpressions parses the expression of every rule generated for the
// test configurations with the Prometheus PromQL parser, and checks that
// every metric it selects is one reckon exports or the rules record, with
// matchers on that metric's labels only.
func TestRuleExpressions(t *testing.T) {
	for _, file := range []string{"../config/testdata/reckon.yaml", "testdata/multi.yaml"} {
		t.Run(file, func(t *testing.T) {
			cfg, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			files, err := alerts.Rules(cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range files[alerts.FileName].Rules() {
				if err := promqlcheck.Check(r.Expr); err != nil {
					t.Errorf("rule %s: %v", r.Name(), err)
				}
				n++
			}
			if n == 0 {
				t.Fatal("no rules")
			}
		})
	}
}
