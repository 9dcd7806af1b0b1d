package integration

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/reckonhq/reckon/internal/shapes"
)

// TestSegmentShapes plays traffic shapes whose models split by the segment
// feature c (eight values, max_values 3) against Kafka with reckon as
// processes, scaled up and down between segments of the shape as
// TestTrafficShapes does: every closed window's segments (each value's
// predictions, errors, joined outcomes, confusion, FPR, TPR and their ratio
// to the model's, other and the overflow count) must equal the model's
// (internal/shapes), exactly, on the results topic. The members that take
// over partitions restore the partitions' segment dictionaries and the
// join's tags from Kafka.
//
// RECKON_KAFKA_SEGMENT_SHAPES sets the number of seeds (default 3).
func TestSegmentShapes(t *testing.T) {
	seeds := 3
	if s := os.Getenv("RECKON_KAFKA_SEGMENT_SHAPES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("RECKON_KAFKA_SEGMENT_SHAPES=%q: want a number of seeds", s)
		}
		seeds = n
	}
	sem := make(chan struct{}, shapesParallel)
	var wg sync.WaitGroup
	for seed := range uint64(seeds) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				playShapeKafka(t, 100+seed, func(o *shapes.Options) { o.SegmentMax, o.SegmentValues = 3, 8 })
			})
		})
	}
	wg.Wait()
}
