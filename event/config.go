package event

import "github.com/reckonhq/reckon/config"

// SchemaFromConfig builds the schema of the configured models, with the
// configuration's max_event_age.
func SchemaFromConfig(c *config.Config) *Schema {
	specs := make([]ModelSpec, 0, len(c.Models))
	for _, m := range c.Models {
		s := ModelSpec{Name: m.Name, Kind: m.Kind, Classes: m.Classes, Threshold: m.Threshold, PositiveLabel: m.PositiveLabel, NegativeLabel: m.NegativeLabel}
		for _, f := range m.Features {
			fs := FeatureSpec{Name: f.Name, Categories: f.Categories}
			if f.Type == config.FeatureCategorical {
				fs.Kind = Categorical
			}
			if f.Min != nil {
				fs.Min, fs.HasMin = *f.Min, true
			}
			if f.Max != nil {
				fs.Max, fs.HasMax = *f.Max, true
			}
			s.Features = append(s.Features, fs)
		}
		specs = append(specs, s)
	}
	return NewSchema(specs).WithMaxEventAge(c.MaxEventAge)
}
