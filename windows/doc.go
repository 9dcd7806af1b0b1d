// Package windows is reckon's core: event time, with no Kafka. It owns what
// docs/semantics.md says about time, windows and labels, and knows nothing of
// how records are fetched, transactions committed or state stored: a
// runtime (package consumer, for Kafka; the in-memory one of the tests)
// feeds it decoded events and wall-clock facts, carries its messages
// between members and writes its state records.
//
// The pieces:
//
//   - Partition is one input partition (partition N of the predictions
//     and outcomes topics): its sources' event-time progress, its
//     watermark, its open panes, its delayed-label join (subpackage
//     join), its counts. It harvests a pane once its watermark passes the
//     pane's end, and flushes every pane when it goes idle.
//   - Aggregation closes the windows of the models it owns: it receives
//     every partition's panes and progress, keeps the group watermark,
//     merges panes into windows in a deterministic order, closes what the
//     watermark passed, compares windows with the reference (drift),
//     feeds the concept-drift detectors (subpackage conceptdrift) and
//     builds the results records (Settings.Record).
//   - NextWatermark is the one rule of event time, applied to a
//     partition's two topics and to the group's partitions.
//   - Partial is the mergeable unit: one model's pane or window, with its
//     sketches (package sketch) and performance (subpackage perf).
//   - Messages (messages.go) are what members exchange; state (state.go)
//     is a changelog of records keyed so that keeping each key's newest
//     value keeps exactly the live state.
//
// Ownership: a Partition and an Aggregation are each owned by one
// goroutine at a time and take no lock. The runtime's loop hands
// Calibrations to the partitions (read during batches, written between).
//
// Time is int64 milliseconds since the Unix epoch throughout. A window or
// pane [Start, End) is half-open. docs/semantics.md describes the rules in
// plain words.
package windows
