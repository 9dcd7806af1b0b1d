// Package windows holds reckon's notion of event time: watermarks over the
// input partitions, tumbling panes aligned to the Unix epoch, and the merge
// of panes from every partition into the configured windows.
//
// Ownership: a partition worker owns its Panes and Sources and touches them
// without locks; the processor's coordinator reads them only while the
// worker is parked between batches, and alone owns the Aggregator and the
// Watermark. Subpackages hold the delayed-label join (join), per-window
// classifier performance and estimation (perf) and concept-drift detectors
// (conceptdrift).
//
// Time is int64 milliseconds since the Unix epoch throughout. A window or
// pane [Start, End) is half-open.
package windows
