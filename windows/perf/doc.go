// Package perf measures how well a binary classifier performs over one
// window, and estimates it before the labels arrive.
//
// # Realised performance
//
// A [Window] accumulates joined (score, predicted, label) triples: the
// confusion counts behind reckon_false_positive_rate and its siblings, the
// Brier score, the Expected Calibration Error over ten equal-width score
// bins, and two fine score histograms (one per class) from which the ROC AUC
// is computed with a stated error bound (see [Window.AUC]).
//
// # Estimated performance
//
// Labels often arrive hours or days after a prediction. Confidence-based
// performance estimation (CBPE, as in NannyML) estimates the confusion matrix
// from the scores alone: if p is the probability that a prediction is
// positive, a predicted positive is a true positive with probability p and a
// false positive with probability 1−p. An [Estimate] adds these expectations
// up over a window. Its answers are only as good as the probabilities: a
// [Calibrator], an isotonic regression fitted on a labelled reference window,
// maps raw scores to probabilities first. Without a reference the identity
// calibration is used, which trusts the model's scores as probabilities.
//
// The estimated F1 comes from the same expected counts; the estimated ROC
// AUC ([EstimatedAUC]) needs the scores' distribution, which the caller
// takes from a score sketch when the window closes, so that no per-event
// work is added. [CalibrationErrors] reports how calibrated a reference's
// scores are before and after the fit.
//
// # Sampling error
//
// Every realised and estimated rate has a standard error computed from the
// window alone ([Confusion.StandardError], [ExpectedConfusion.StandardError],
// [Window.AUCStandardError], [EstimatedAUC]): binomial for the ratio rates,
// the delta method for F1, DeLong's for the AUC. The comment at the top of
// sampling.go says why these and how they were checked.
//
// CBPE assumes the relation between score and label is the one seen in the
// reference (no concept drift). When that relation changes, the estimate and
// the realised value part ways; [Gap] measures by how much, once labels have
// arrived. A persistent gap is itself a concept-drift signal.
//
// # Merging, determinism, checkpoints
//
// Every accumulator here is a mergeable sketch: per-partition partial results
// of one window are combined with Merge, in any order and grouping, and give
// bit-for-bit the same state, hence the same derived values, as one
// accumulator fed every observation. To make this true of sums of
// probabilities too, which float64 addition is not (it is not associative),
// they are kept as exact 128-bit fixed-point integers with a resolution of
// 2⁻⁵² (see the Add methods); the float64 results are computed from integer
// state in a fixed order, with explicit float64 conversions where a fused
// multiply-add could otherwise form, so they are the same on every platform.
//
// All state round-trips through MarshalBinary and UnmarshalBinary. Each
// encoding starts with a four-byte magic and a version byte; UnmarshalBinary
// accepts every version this package has ever written and reports anything
// else as a [*DecodeError]. On error the receiver is left unchanged.
//
// # Concurrency
//
// None of the types here is safe for concurrent use. Each value is owned by
// one goroutine (a partition worker, or the coordinator that merges
// partials) and must be handed over, not shared. There are no locks and no
// package-level mutable state.
package perf
