package simulate

import (
	"fmt"
	"strings"
	"time"

	"github.com/reckonhq/reckon/config"
)

// Config returns the reckon configuration that monitors the traffic of o:
// windows 5m and 1h, allowed lateness 1m, idle timeout 30s, label_ttl
// o.LabelTTL, no clock-skew guard (event times are in the past or the
// future of the wall clock, as Start and Run's speed make them), and every
// model of o with its features' types, bounds and categories, its
// threshold, and the first o.Reference of event time as its reference;
// with probe, ProbeModel too (and a cap of model versions its probes fit
// under). Kafka settings and the listen address are
// the defaults, for the caller to set.
func Config(o Options, probe bool) (*config.Config, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("windows: [5m, 1h]\nallowed_lateness: 1m\nidle_timeout: 30s\nmax_clock_skew: 0s\n")
	if probe {
		// Each probe is a model version of its own (Generator.Probe):
		// the default cap of 100 would fold all but the first into
		// "other", and the latency phase would see none of them.
		b.WriteString("max_model_versions: 1000000\n")
	}
	if o.LabelTTL > 0 {
		fmt.Fprintf(&b, "label_ttl: %s\n", o.LabelTTL)
	}
	ref := ""
	if o.Reference > 0 {
		ref = fmt.Sprintf("    reference: {from: %q, to: %q}\n",
			o.Start.UTC().Format(time.RFC3339), o.Start.Add(o.Reference).UTC().Format(time.RFC3339))
	}
	b.WriteString("models:\n")
	writeModel := func(m *Model) {
		fmt.Fprintf(&b, "  - name: %q\n", m.Name)
		switch m.Kind {
		case config.KindRegression:
			b.WriteString("    kind: regression\n")
		case config.KindMulticlass:
			fmt.Fprintf(&b, "    kind: multiclass\n    classes: [%q", m.Classes[0])
			for _, c := range m.Classes[1:] {
				fmt.Fprintf(&b, ", %q", c)
			}
			b.WriteString("]\n")
		default:
			fmt.Fprintf(&b, "    threshold: %g\n", m.Threshold)
		}
		fmt.Fprintf(&b, "%s    features:\n", ref)
		for _, f := range m.Features {
			typ := "categorical"
			if f.Kind.Numeric() {
				typ = "numeric"
			}
			fmt.Fprintf(&b, "      - {name: %q, type: %s", f.Name, typ)
			lo, hi := f.Kind.bounds()
			if lo != "" {
				fmt.Fprintf(&b, ", min: %s", lo)
			}
			if hi != "" {
				fmt.Fprintf(&b, ", max: %s", hi)
			}
			if len(f.Novel) > 0 { // see Feature.Categories
				fmt.Fprintf(&b, ", categories: [%q", f.Categories[0])
				for _, c := range f.Categories[1:] {
					fmt.Fprintf(&b, ", %q", c)
				}
				b.WriteString("]")
			}
			b.WriteString("}\n")
		}
		if len(m.Segments) > 0 {
			b.WriteString("    segments:\n")
			for _, s := range m.Segments {
				fmt.Fprintf(&b, "      - {feature: %q}\n", s)
			}
		}
	}
	for i := range o.Models {
		writeModel(&o.Models[i])
	}
	if probe {
		p := o.Models[0]
		p.Name = ProbeModel
		writeModel(&p)
	}
	return config.Parse("simulate.yaml", []byte(b.String()))
}

// bounds are the bounds Config declares for the kind's values, in YAML (""
// for none).
func (k Kind) bounds() (lo, hi string) {
	switch k {
	case Amount, Tenure, Count:
		return "0", ""
	case Age:
		return "18", "120"
	case Ratio:
		return "0", "1"
	}
	return "", ""
}
