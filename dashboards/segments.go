package dashboards

import (
	"fmt"
	"regexp"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/reckonhq/reckon/config"
)

// withSegments adds to the performance dashboard a row of panels per
// segment feature of the configured models (docs/configuration.md): each
// segment's false-positive rate beside the model's, and each segment's FPR
// and TPR over the model's (the equalised-odds view, 1 is parity).
func withSegments(cfg *config.Config, b *dashboard.DashboardBuilder) *dashboard.DashboardBuilder {
	seen := map[string]bool{}
	for _, m := range cfg.Models {
		for _, s := range m.Segments {
			if seen[s.Feature] {
				continue
			}
			seen[s.Feature] = true
			// A raw PromQL string: the feature's name is matched literally.
			segs := fmt.Sprintf("%s,%s,segment=~`%s=.*`", selModel, selWindow, regexp.QuoteMeta(s.Feature))
			b = b.WithRow(row("Segments: " + s.Feature)).
				WithPanel(ratio(fmt.Sprintf("False-positive rate by %s", s.Feature),
					fmt.Sprintf("Each value of %s kept apart (the segment's max_values) and %s=other, against the model as a whole, over the outcomes joined in the last closed $window window.", s.Feature, s.Feature), half,
					q{fmt.Sprintf("max by (segment) (reckon_false_positive_rate{%s})", segs), "{{segment}}"},
					q{fmt.Sprintf(`max(reckon_false_positive_rate{%s,%s,segment=""})`, selModel, selWindow), "model"})).
				WithPanel(timeSeries(fmt.Sprintf("Rates over the model's by %s", s.Feature),
					"A segment's false- and true-positive rate divided by the model's (equalised odds): 1 is parity, 2 twice the model's rate.", "none", half,
					q{fmt.Sprintf(`max by (segment) (reckon_segment_rate_ratio{%s,rate="fpr"})`, segs), "{{segment}} FPR"},
					q{fmt.Sprintf(`max by (segment) (reckon_segment_rate_ratio{%s,rate="tpr"})`, segs), "{{segment}} TPR"}))
		}
	}
	return b
}
