package consumer

import (
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows"
)

// The metrics of the Kafka side (records read, dead letters, re-keying,
// lag); the core's figures are applied by the exporter (ApplyCounts,
// ApplyOutput) once committed.

// initTopicMetrics pre-creates the per-topic series that increase() must
// see from zero.
func (p *Processor) initTopicMetrics() {
	for _, t := range p.topics {
		p.m.RecordsConsumed.WithLabelValues(t)
		for _, r := range event.Reasons() {
			p.m.DeadLetters.WithLabelValues(t, r.String())
		}
	}
}

func (p *Processor) setLag(topic string, part int32, lag int64) {
	p.m.ConsumerLag.WithLabelValues(topic, strconv.Itoa(int(part))).Set(float64(lag))
}

func (p *Processor) deleteLag(topic string, part int32) {
	p.m.ConsumerLag.DeleteLabelValues(topic, strconv.Itoa(int(part)))
}

// resultRecord is the results-topic record of a closed window.
func (p *Processor) resultRecord(rec *results.Record) (*kgo.Record, error) {
	b, err := results.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return &kgo.Record{Topic: p.cfg.Kafka.ResultsTopic, Key: []byte(rec.Model), Value: b}, nil
}

// applyRecordStats adds a committed transaction's record counts to the
// metrics and resets them.
func (p *Processor) applyRecordStats(s *recordStats) {
	for ti, topic := range p.topics {
		if n := s.consumed[ti]; n > 0 {
			p.m.RecordsConsumed.WithLabelValues(topic).Add(float64(n))
		}
		for r, n := range s.dead[ti] {
			if n > 0 {
				p.m.DeadLetters.WithLabelValues(topic, event.Reason(r).String()).Add(float64(n))
			}
		}
		if n := s.misKeyed[ti]; n > 0 {
			p.m.MisKeyed.WithLabelValues(topic).Add(float64(n))
		}
		if n := s.rekeyed[ti]; n > 0 {
			p.m.Rekeyed.WithLabelValues(topic).Add(float64(n))
		}
	}
	*s = recordStats{}
}

// logCompleted logs the stream references that completed in a committed
// transaction.
func (p *Processor) logCompleted(a *windows.Aggregation) {
	for _, mi := range a.Output().Completed {
		ref := a.Reference(mi)
		p.log.Info("reference complete", "model", p.cfg.Models[mi].Name, "predictions", ref.Predictions, "joined", ref.Perf.Count())
	}
}
