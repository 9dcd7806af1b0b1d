// Package results is the wire format of the results topic (docs/metrics.md):
// one JSON record per model, window length and window start, written once
// when the window closes, keyed by model.
//
// The fields below are the stable core plus documented additions, all
// described in docs/results.md (a test fails when a field is missing
// there); consumers must ignore fields they do not know, as reckon ignores
// unknown input fields. The per-window metrics are read off this record
// (exporter's ApplyWindow), so it holds everything they show.
package results

import (
	"encoding/json"
	"time"
)

// Record is one closed window of one model.
type Record struct {
	Model  string    `json:"model"`
	Window string    `json:"window"` // the window length as written in the configuration
	Start  time.Time `json:"start"`  // inclusive, UTC
	End    time.Time `json:"end"`    // exclusive, UTC

	// Predictions counts prediction events (ok and error) by prediction
	// time in [Start, End); Errors those with status "error".
	Predictions uint64 `json:"predictions"`
	Errors      uint64 `json:"errors"`
	// Outcomes counts valid outcome events by outcome time in the window.
	Outcomes uint64 `json:"outcomes"`

	// Confusion counts the outcomes joined to their predictions, by
	// outcome time in the window.
	Confusion Confusion `json:"confusion"`
	// Rates are computed over Confusion and the joined scores; a rate
	// whose denominator is zero is absent.
	Rates Rates `json:"rates"`
	// Estimated holds rates estimated from the calibrated scores of the
	// window's ok predictions (by prediction time), before labels.
	Estimated Rates `json:"estimated"`
	// StandardError holds the sampling error (one standard error) of each
	// rate of Rates and Estimated that has one: the figure's spread over
	// windows of this size when nothing changes. Absent in records written
	// before reckon computed it.
	StandardError *StandardErrors `json:"standard_error,omitempty"`

	// Features describes each declared feature over the window's ok
	// predictions; drift fields appear once the model's reference is
	// complete.
	Features map[string]Feature `json:"features,omitempty"`
	// PredictionDrift holds the score distribution's drift statistics.
	PredictionDrift   map[string]float64 `json:"prediction_drift,omitempty"`
	DatasetDriftShare *float64           `json:"dataset_drift_share,omitempty"`
	DatasetDrift      *bool              `json:"dataset_drift,omitempty"`

	// PredictionDriftThreshold holds the score's learned thresholds by
	// method, when the reference learned its windows of this length.
	PredictionDriftThreshold map[string]Bounds `json:"prediction_drift_threshold,omitempty"`
	// Multivariate is the window's multivariate drift, for a model with
	// multivariate: true and a window with ok predictions.
	Multivariate *Multivariate `json:"multivariate_drift,omitempty"`

	// Segments splits the window's figures by the values of each of the
	// model's segment features (results/segments.go), by feature name.
	Segments map[string]Segments `json:"segments,omitempty"`
	// Regression holds a regression model's figures, Multiclass a
	// multiclass model's; absent for the other kinds. For them Confusion
	// and the binary rates stay empty, but Rates.Accuracy and
	// Estimated.Accuracy, which a multiclass model has too.
	Regression *Regression `json:"regression,omitempty"`
	Multiclass *Multiclass `json:"multiclass,omitempty"`
}

// Bounds are a learned threshold: a statistic below Lower or above Upper
// is drift.
type Bounds struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// Multivariate is a window's multivariate drift.
type Multivariate struct {
	// Error is the mean PCA reconstruction error of the window's ok
	// predictions.
	Error float64 `json:"error"`
	// Threshold is the band learned from the reference's windows, and
	// Drifted says Error lies outside it; both absent without a band.
	Threshold *Bounds `json:"threshold,omitempty"`
	Drifted   *bool   `json:"drifted,omitempty"`
}

// Regression is a regression model's window: the error of the pairs joined
// in it (by outcome time), residual = predicted − label.
type Regression struct {
	// Count is the number of joined pairs, ZeroLabels those whose label
	// is 0 (left out of MAPE).
	Count      uint64 `json:"count"`
	ZeroLabels uint64 `json:"zero_labels"`
	// MAE, RMSE, MAPE (a ratio, not a percentage) and Bias (mean
	// residual); absent without pairs (MAPE: without a non-zero label).
	MAE  *float64 `json:"mae,omitempty"`
	RMSE *float64 `json:"rmse,omitempty"`
	MAPE *float64 `json:"mape,omitempty"`
	Bias *float64 `json:"bias,omitempty"`
	// ResidualQuantiles are the residuals' quantiles ("0.05", "0.5",
	// "0.95", "0.99") from a t-digest.
	ResidualQuantiles map[string]float64 `json:"residual_quantiles,omitempty"`
	// LabelDrift holds the labels' drift statistics against the
	// reference, by method (the predicted values' are PredictionDrift).
	LabelDrift map[string]float64 `json:"label_drift,omitempty"`
	// EstimatedMAE and EstimatedRMSE are the error expected before labels
	// from the window's predicted values and the reference's error by
	// predicted value; absent without a complete reference with labels.
	EstimatedMAE  *float64 `json:"estimated_mae,omitempty"`
	EstimatedRMSE *float64 `json:"estimated_rmse,omitempty"`
}

// Multiclass is a multiclass model's window.
type Multiclass struct {
	// Classes are the declared classes, the order of Confusion's rows
	// (labels) and columns (predicted classes).
	Classes   []string   `json:"classes"`
	Confusion [][]uint64 `json:"confusion"`
	// Undeclared counts joined pairs with an undeclared class, kept out of
	// every per-class figure.
	Undeclared uint64 `json:"undeclared"`
	// Accuracy and the F1 averages over the matrix; absent when it is
	// empty.
	Accuracy   *float64 `json:"accuracy,omitempty"`
	F1Macro    *float64 `json:"f1_macro,omitempty"`
	F1Weighted *float64 `json:"f1_weighted,omitempty"`
	// Classes' one-vs-rest rates by class.
	PerClass map[string]ClassRates `json:"per_class,omitempty"`
	// Estimated holds each class's rates from the predictions' scores
	// (CBPE, by prediction time), EstimatedAccuracy the expected accuracy
	// and Scored the predictions they are over.
	Estimated         map[string]ClassRates `json:"estimated,omitempty"`
	EstimatedAccuracy *float64              `json:"estimated_accuracy,omitempty"`
	Scored            uint64                `json:"scored"`
	// LabelDrift holds the label classes' drift statistics against the
	// reference (the predicted classes' are PredictionDrift).
	LabelDrift map[string]float64 `json:"label_drift,omitempty"`
}

// ClassRates are one class's one-vs-rest rates; nil means not
// measurable.
type ClassRates struct {
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	FPR       *float64 `json:"fpr,omitempty"`
	F1        *float64 `json:"f1,omitempty"`
}

// Feature is one feature in one window.
type Feature struct {
	// Drifted is the configured test's verdict (Test names it).
	Drifted *bool  `json:"drifted,omitempty"`
	Test    string `json:"test,omitempty"`
	// Drift holds every statistic against the reference by method (ks,
	// psi, wasserstein, js, chi2); PValue the tests' p-values (ks, chi2).
	Drift  map[string]float64 `json:"drift,omitempty"`
	PValue map[string]float64 `json:"pvalue,omitempty"`
	// DriftThreshold holds the learned thresholds by method, when the
	// reference learned its windows of this length; Threshold is
	// "learned" when Drifted was decided on them.
	DriftThreshold map[string]Bounds `json:"drift_threshold,omitempty"`
	Threshold      string            `json:"threshold,omitempty"`
	// Count is the number of present values (of a numeric feature: finite
	// ones, the values its quantiles describe), Missing of null or absent
	// ones (and of values of the wrong type).
	Count   uint64 `json:"count"`
	Missing uint64 `json:"missing"`
	// NonFinite is the number of NaN and ±Inf values of a numeric feature
	// (a JSON number beyond float64's range): present, but in neither
	// Count nor the quantiles.
	NonFinite uint64 `json:"non_finite,omitempty"`
	// Quantiles of a numeric feature ("0.05", "0.5", "0.95", "0.99").
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
	// Distinct is the HyperLogLog estimate of a categorical feature.
	Distinct *uint64 `json:"distinct,omitempty"`
}

// Total is the number of events the feature was recorded for: Count +
// NonFinite + Missing, the denominator of reckon_feature_missing_ratio.
func (f Feature) Total() uint64 { return f.Count + f.NonFinite + f.Missing }

// Confusion is a confusion matrix.
type Confusion struct {
	TP uint64 `json:"tp"`
	FP uint64 `json:"fp"`
	TN uint64 `json:"tn"`
	FN uint64 `json:"fn"`
}

// Rates are per-window performance figures. Nil means not measurable.
type Rates struct {
	FPR       *float64 `json:"fpr,omitempty"`
	TPR       *float64 `json:"tpr,omitempty"`
	Precision *float64 `json:"precision,omitempty"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	AUC       *float64 `json:"auc,omitempty"`
	Brier     *float64 `json:"brier,omitempty"`
	ECE       *float64 `json:"ece,omitempty"`
	F1        *float64 `json:"f1,omitempty"`
}

// StandardErrors are the standard errors of a record's rates, field for
// field (Brier and ECE have none).
type StandardErrors struct {
	Rates     Rates `json:"rates"`
	Estimated Rates `json:"estimated"`
}

// Opt returns &v when ok, else nil: for optional rates.
func Opt(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// Marshal encodes r with times in RFC 3339, UTC.
func Marshal(r *Record) ([]byte, error) {
	c := *r
	c.Start, c.End = c.Start.UTC(), c.End.UTC()
	return json.Marshal(&c)
}

// Unmarshal decodes a results-topic record.
func Unmarshal(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
