package simulate

import (
	"context"
	"time"
)

// Sink receives records. consumer.Producer is one.
type Sink interface {
	Send(ctx context.Context, topic string, key, value []byte)
}

// Run sends g's records to sink until ctx ends, pacing event time at speed
// times the wall clock from the generator's Start: a record is sent once
// the wall clock has reached its event time (checked every 50ms), so
// Options.EventRate·speed predictions go out per wall-clock second. topics
// names the topic of each Record.Topic. It returns the number of records
// sent.
func Run(ctx context.Context, g *Generator, sink Sink, speed float64, topics [2]string) int64 {
	const every = 50 * time.Millisecond
	startMs := g.Options().Start.UnixMilli()
	wallStart := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var sent int64
	for {
		select {
		case <-ctx.Done():
			return sent
		case now := <-tick.C:
			simNow := startMs + int64(float64(now.Sub(wallStart).Milliseconds())*speed)
			for g.NextTime() <= simNow && ctx.Err() == nil {
				var r Record // fresh buffers: the sink keeps them
				g.Next(&r)
				sink.Send(ctx, topics[r.Topic], r.Key, r.Value)
				sent++
			}
		}
	}
}
