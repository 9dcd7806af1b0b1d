package consumer

import (
	"testing"
)

func TestAssignPartitions(t *testing.T) {
	tests := []struct {
		name    string
		n, m    int
		prev    map[int32]int
		want    []int
		maxLoad int
	}{
		{"one member takes all", 4, 1, nil, []int{0, 0, 0, 0}, 4},
		{"fresh group spreads evenly", 6, 3, nil, []int{0, 1, 2, 0, 1, 2}, 2},
		{"more members than partitions", 2, 3, nil, []int{0, 1}, 1},
		{"sticky: previous owners keep theirs", 4, 2, map[int32]int{0: 1, 1: 1, 2: 0, 3: 0}, []int{1, 1, 0, 0}, 2},
		{"new member takes from the overloaded", 4, 3, map[int32]int{0: 0, 1: 0, 2: 1, 3: 1}, []int{0, 0, 1, 2}, 2},
		{"departed member's partitions move", 4, 2, map[int32]int{0: 0, 1: 2, 2: 1, 3: 2}, []int{0, 0, 1, 1}, 2},
		{"scale in 3 to 1", 6, 1, map[int32]int{0: 0, 1: 1, 2: 2, 3: 0, 4: 1, 5: 2}, []int{0, 0, 0, 0, 0, 0}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assignPartitions(tt.n, tt.m, tt.prev)
			load := map[int]int{}
			for p, m := range got {
				if m < 0 || m >= tt.m {
					t.Fatalf("partition %d assigned to member %d of %d", p, m, tt.m)
				}
				load[m]++
			}
			for m, l := range load {
				if l > tt.maxLoad {
					t.Errorf("member %d has %d partitions, want at most %d", m, l, tt.maxLoad)
				}
			}
			for p := range tt.want {
				if got[p] != tt.want[p] {
					t.Errorf("assignment %v, want %v", got, tt.want)
					break
				}
			}
		})
	}
}

func TestNotCopartitionedErrorNamesTopics(t *testing.T) {
	err := &NotCopartitionedError{Partitions: map[string]int32{"predictions": 6, "outcomes": 3}}
	want := `input topics are not co-partitioned: "outcomes" has 3, "predictions" has 6 partitions`
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("error = %q, want prefix %q", got, want)
	}
}
