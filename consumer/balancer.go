package consumer

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// NotCopartitionedError says the input topics cannot be joined partition by
// partition because their partition counts differ.
type NotCopartitionedError struct {
	Partitions map[string]int32 // topic → partition count (0: missing)
}

func (e *NotCopartitionedError) Error() string {
	topics := make([]string, 0, len(e.Partitions))
	for t := range e.Partitions {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	parts := make([]string, len(topics))
	for i, t := range topics {
		parts[i] = fmt.Sprintf("%q has %d", t, e.Partitions[t])
	}
	return "input topics are not co-partitioned: " + strings.Join(parts, ", ") +
		" partitions; predictions and outcomes need the same partition count (and the same key partitioner) so that a prediction and its outcome meet in one partition"
}

// CopartitionBalancer returns the group balancer of docs/events.md: partition
// N of every input topic goes to the same member (the Kafka Streams task
// model), sticky across rebalances, with members' loads differing by at
// most one. It fails the rebalance when the topics' partition counts
// differ. It is an eager (classic) protocol.
func CopartitionBalancer() kgo.GroupBalancer { return copartitionBalancer{} }

type copartitionBalancer struct{}

// ProtocolName names the protocol; every member of the group must use it.
func (copartitionBalancer) ProtocolName() string { return "reckon-copartition" }

// IsCooperative is false: the classic eager protocol, as docs/events.md says.
func (copartitionBalancer) IsCooperative() bool { return false }

func (copartitionBalancer) JoinGroupMetadata(interests []string, current map[string][]int32, generation int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = interests
	meta.Generation = generation
	// Owned partitions make the assignment sticky: the leader keeps each
	// partition number with its previous owner where balance allows.
	topics := make([]string, 0, len(current))
	for t := range current {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		meta.OwnedPartitions = append(meta.OwnedPartitions, kmsg.ConsumerMemberMetadataOwnedPartition{Topic: t, Partitions: current[t]})
	}
	return meta.AppendTo(nil)
}

func (copartitionBalancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	return kgo.ParseConsumerSyncAssignment(assignment)
}

func (c copartitionBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	b, err := kgo.NewConsumerBalancer(c, members)
	if err != nil {
		return nil, nil, err
	}
	return b, b.MemberTopics(), nil
}

func (copartitionBalancer) Balance(b *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	plan := b.NewPlan()
	counts := make(map[string]int32)
	for t := range b.MemberTopics() {
		counts[t] = topics[t]
	}
	var n int32 = -1
	for _, c := range counts {
		if n >= 0 && c != n {
			b.SetError(&NotCopartitionedError{Partitions: counts})
			return plan
		}
		n = c
	}
	if n <= 0 {
		return plan
	}
	members := len(b.Members())
	prev := make(map[int32]int, n) // partition number → previous owner
	metas := make([]*kmsg.ConsumerMemberMetadata, members)
	for i := range members {
		_, meta := b.MemberAt(i)
		metas[i] = meta
		for _, op := range meta.OwnedPartitions {
			if _, ok := counts[op.Topic]; !ok {
				continue
			}
			for _, p := range op.Partitions {
				if _, taken := prev[p]; !taken && p < n {
					prev[p] = i
				}
			}
		}
	}
	owner := assignPartitions(int(n), members, prev)
	for p, m := range owner {
		member, _ := b.MemberAt(m)
		for _, t := range metas[m].Topics {
			if _, ok := counts[t]; ok {
				plan.AddPartition(member, t, int32(p))
			}
		}
	}
	return plan
}

// assignPartitions gives each of n partition numbers to one of members
// members: first to its previous owner while that keeps loads within one
// of each other, then the rest to the least-loaded member (lowest index on
// ties). It is deterministic.
func assignPartitions(n, members int, prev map[int32]int) []int {
	floor, extra := n/members, n%members
	load := make([]int, members)
	atCeil := 0
	canTake := func(m int) bool {
		return load[m] < floor || (load[m] == floor && atCeil < extra)
	}
	take := func(m int) {
		if load[m] == floor {
			atCeil++
		}
		load[m]++
	}
	owner := make([]int, n)
	for p := range owner {
		owner[p] = -1
		if m, ok := prev[int32(p)]; ok && m < members && canTake(m) {
			owner[p] = m
			take(m)
		}
	}
	for p := range owner {
		if owner[p] >= 0 {
			continue
		}
		best := -1
		for m := range members {
			if canTake(m) && (best < 0 || load[m] < load[best]) {
				best = m
			}
		}
		owner[p] = best
		take(best)
	}
	return slices.Clip(owner)
}
