// Package sketch holds reckon's mergeable, serialisable summaries of feature
// values and the drift statistics between two of them.
//
// A Numeric summarises a numeric feature (or the model score) in one window
// pane: a merging t-digest for quantiles and the CDF, an optional histogram
// on fixed edges for PSI and Jensen–Shannon, and exact counts (finite,
// missing, NaN, ±Inf), extremes, mean and variance. Features with at most
// 10,000 distinct values are held exactly. A Categorical summarises a
// categorical feature: exact counts up to a cap, an "other" count beyond it,
// and a HyperLogLog of the distinct values.
//
// Both are built for a stream processor's hot path and its exactly-once
// checkpoints: Add does not allocate in steady state, Merge combines the
// partial sketches of several partitions or members, and MarshalBinary /
// UnmarshalBinary are lossless, versioned and safe on arbitrary input. The
// state of a sketch is a deterministic function of the calls made on it, so a
// sketch restored from a checkpoint and fed the same records ends up
// identical to one that never stopped.
//
// The statistics compare a reference sketch with a current one: KS (with
// SciPy's ks_2samp p-value, exact up to 10,000 values per side), PSI, the
// normalised Wasserstein distance and the Jensen–Shannon distance for
// numeric features; CategoricalPSI, CategoricalJS, ChiSquare and ZTest for
// categorical ones. NumericDrift, CategoricalDrift and DatasetDrift turn
// them into drift decisions with Evidently's defaults.
//
// The drift vocabulary is declared here once (method.go): the methods, the
// kinds of feature each applies to, the parameters with their bounds and
// defaults (DriftParams, Param). The configuration parses and checks drift
// blocks through it.
//
// sketch/accuracy_test.go and sketch/ks_accuracy_test.go measure every
// statistic against exact computations on the raw values; ks_test.go and
// evidently_test.go check p-values and auto's choices against SciPy and
// Evidently (testdata/*.py write their ground truth). docs/drift.md
// summarises the results.
//
// The package has no global mutable state and imports nothing of Kafka or
// Prometheus.
package sketch
