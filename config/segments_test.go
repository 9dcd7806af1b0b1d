package config

import (
	"reflect"
	"testing"
)

func TestSegments(t *testing.T) {
	c, err := Parse("reckon.yaml", []byte(`models:
  - name: fraud
    features:
      - {name: amount, type: numeric}
      - {name: country, type: categorical}
      - {name: plan, type: categorical}
    segments: [{feature: country, max_values: 50}, {feature: plan}]
`))
	if err != nil {
		t.Fatal(err)
	}
	m := &c.Models[0]
	want := []Segment{{Feature: "country", MaxValues: 50}, {Feature: "plan", MaxValues: DefaultSegmentValues}}
	if !reflect.DeepEqual(m.Segments, want) {
		t.Errorf("segments %+v, want %+v", m.Segments, want)
	}
	if got := m.SegmentFeatures(); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("SegmentFeatures = %v, want [1 2]", got)
	}
}
