package config

import "gopkg.in/yaml.v3"

// Segment is one entry of a model's segments: a declared categorical
// feature whose values split every per-window figure of the model
// (docs/configuration.md).
type Segment struct {
	// Feature names a categorical feature the model declares.
	Feature string
	// MaxValues (key max_values) bounds the values that become their own
	// segment in a window: the MaxValues smallest values in byte order
	// among those the window saw; the rest share the segment
	// `<feature>=other`. Default DefaultSegmentValues, at most
	// MaxSegmentValues.
	MaxValues int
}

const (
	// DefaultSegmentValues is max_values when a segment does not say.
	DefaultSegmentValues = 20
	// MaxSegmentValues bounds max_values: every value is a set of series
	// per window length.
	MaxSegmentValues = 1000
	// MaxSegments bounds the segments of one model: the delayed-label join
	// keeps each pending prediction's segment values in 16 bits per
	// segment feature, four in all.
	MaxSegments = 4
)

func (d *decoder) segments(n *yaml.Node, path string) []Segment {
	items := d.items(n, path)
	out := make([]Segment, len(items))
	for i, it := range items {
		s := Segment{MaxValues: DefaultSegmentValues}
		d.mapping(it, itemKey(path, i), fields{
			"feature":    d.str(&s.Feature),
			"max_values": d.int(&s.MaxValues),
		})
		out[i] = s
	}
	return out
}

// segments checks a model's segments against its declared features.
func (v *validator) segments(m *Model, path string) {
	p := path + ".segments"
	if len(m.Segments) > MaxSegments {
		v.errorf(p, "%d segments, at most %d per model", len(m.Segments), MaxSegments)
	}
	seen := make(map[string]int, len(m.Segments))
	for i, s := range m.Segments {
		sp := itemKey(p, i)
		fi := -1
		for j := range m.Features {
			if m.Features[j].Name == s.Feature {
				fi = j
			}
		}
		switch {
		case s.Feature == "":
			v.errorf(sp+".feature", "required")
		case fi < 0:
			v.errorf(sp+".feature", "%q is not a declared feature of model %q", s.Feature, m.Name)
		case m.Features[fi].Type != FeatureCategorical:
			v.errorf(sp+".feature", "%q is %s: segments split by the values of a categorical feature", s.Feature, m.Features[fi].Type)
		}
		if first, dup := seen[s.Feature]; dup && s.Feature != "" {
			v.errorf(sp+".feature", "duplicate segment %q (same as segments[%d])", s.Feature, first)
		} else {
			seen[s.Feature] = i
		}
		if s.MaxValues < 1 || s.MaxValues > MaxSegmentValues {
			v.errorf(sp+".max_values", "must be in [1, %d], got %d", MaxSegmentValues, s.MaxValues)
		}
	}
}

// SegmentFeatures are the indexes in m.Features of m's segment features,
// in the order of m.Segments.
func (m *Model) SegmentFeatures() []int {
	out := make([]int, len(m.Segments))
	for i, s := range m.Segments {
		out[i], _ = m.FeatureIndex(s.Feature)
	}
	return out
}
