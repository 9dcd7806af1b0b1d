package consumer

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/windows"
)

// The partials topic (<group>-partials, as many partitions as the inputs)
// carries the core's messages between members (windows.MessageKind): panes
// go to the partition of their model's aggregation, keyed by the model's
// name; progress reports and calibrators go to every partition. The kind
// travels in a header, the value is the core's encoding. Within a
// partition, a task's panes precede the progress that covers them: both
// are produced in order within one transaction.

// HeaderPartialKind names the kind of a partials-topic record.
const HeaderPartialKind = "reckon.partial.kind"

var kindHeaders = func() map[windows.MessageKind][]byte {
	m := map[windows.MessageKind][]byte{}
	for _, k := range []windows.MessageKind{windows.KindPane, windows.KindProgress, windows.KindCalibrator} {
		m[k] = []byte(k.String())
	}
	return m
}()

func (p *Processor) partialsRecord(partition int32, key []byte, kind windows.MessageKind, value []byte) *kgo.Record {
	return &kgo.Record{
		Topic: p.partialsTopic, Partition: partition, Key: key, Value: value,
		Headers: []kgo.RecordHeader{{Key: HeaderPartialKind, Value: kindHeaders[kind]}},
	}
}

// paneRecords appends the records of harvested panes to out.
func (p *Processor) paneRecords(out []*kgo.Record, panes []*windows.Partial) ([]*kgo.Record, error) {
	for _, pane := range panes {
		v, err := windows.AppendPaneMessage(make([]byte, 0, 4096), pane)
		if err != nil {
			return out, fmt.Errorf("encoding a pane of partition %d: %w", pane.Source, err)
		}
		out = append(out, p.partialsRecord(p.set.ModelPartition[pane.Model], p.modelKeys[pane.Model], windows.KindPane, v))
	}
	return out, nil
}

// broadcast appends a record of value to every partials partition.
func (p *Processor) broadcast(out []*kgo.Record, kind windows.MessageKind, key, value []byte) []*kgo.Record {
	for part := range p.set.Partitions {
		out = append(out, p.partialsRecord(int32(part), key, kind, value))
	}
	return out
}

// receive hands a partials-topic record to its aggregation.
func (p *Processor) receive(a *windows.Aggregation, r *kgo.Record) error {
	name := headerValue(r, HeaderPartialKind)
	kind, ok := windows.ParseMessageKind(name)
	if !ok {
		return fmt.Errorf("%s/%d@%d: unknown record kind %q", r.Topic, r.Partition, r.Offset, name)
	}
	if err := a.Receive(kind, r.Value); err != nil {
		return fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return nil
}
