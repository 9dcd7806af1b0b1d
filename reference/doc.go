// Package reference builds, saves and loads reference profiles: the
// reference distribution of one model (docs/semantics.md) computed from a file of
// historical rows by `reckon reference`, against which the processor compares
// every closed window.
//
// A profile is a windows.Partial — one sketch per declared feature, the score
// sketch, the realised performance of labelled rows (from which the
// calibrator is fitted) and the event counts — filled with exactly the
// updates a partition worker makes for a prediction (consumer/worker.go), so
// a profile built from a file and a reference taken from the same events on
// the stream hold the same sketches.
//
// # Input
//
// A Builder reads any number of inputs, each CSV or JSON Lines, optionally
// gzip-compressed (detected from the content) and optionally starting with a
// UTF-8 byte order mark.
//
// JSON Lines: one JSON object per line; blank lines are skipped. A line with
// a top-level "features" key (an object, if the model declares a feature
// named "features") is a prediction record exactly as on the wire
// (docs/events.md), decoded and validated by package event just as the
// processor does, so a dump of the predictions topic is a valid input. It may
// carry an extra top-level "label" (1/0, true/false or the model's configured
// label strings, as in an outcome record) for the calibrator. Any other line
// is a flat row, the shape pandas' to_json(orient="records", lines=True)
// writes: the declared features at the top level, next to the optional
// fields described below. Both kinds may be mixed in one file.
//
// CSV (RFC 4180, as encoding/csv reads it): a header row naming the columns,
// then one row per prediction. Every declared feature needs a column unless
// Builder.AllowMissingColumns is set; columns that are neither a declared
// feature nor one of the fields below are ignored and reported in
// Stats.Ignored. An empty cell is a missing value. A numeric feature's cell
// must parse as a number (strconv.ParseFloat: "NaN" and "Inf" are accepted
// and counted apart by the sketch, as they are on the stream); a categorical
// feature takes any string, except that True/TRUE and False/FALSE (Python's
// and spreadsheets' spellings of booleans) are recorded as "true" and
// "false", the way the wire encodes a boolean.
//
// Besides the features, a flat row or CSV row may have these fields; a
// declared feature of the same name takes precedence:
//
//   - model: rows of another model are skipped and counted (Stats.Skipped);
//     absent or empty means the model being built.
//   - score: the positive-class probability in [0,1]; absent or empty means
//     none (a features-only reference, such as training data, has no
//     prediction drift and no calibrator).
//   - predicted: 0/1 or true/false; absent means score >= the model's
//     threshold.
//   - label: the true class, 1/0, true/false or the model's configured
//     label strings.
//
// In CSV, predicted and label also accept any number equal to 0 or 1 (the
// "1.0" pandas writes for a column with gaps) and true/false in any case.
//   - status: "ok" (the default) or "error"; an error row is counted as a
//     prediction and an error and adds nothing to the sketches, as on the
//     stream.
//   - timestamp: the row's event time, RFC 3339 or epoch milliseconds as on
//     the wire; optional, except that a model with learned thresholds or
//     multivariate drift needs it in every row, to cut the reference into
//     windows.
//
// Rows are one more input format of the event contract: a CSV row or a
// JSON line becomes an event.Fields (the CSV cells typed as described
// above) and the stream's own rules, event.Rules, judge it; there is no
// second copy of them here.
//
// Wire records of other models, configured or not, are skipped and counted
// like flat rows of other models, without being validated. A row that
// cannot be used is an error naming the input and line (a *RowError): a
// line that is not JSON, a row the processor would send to the dead-letter
// topic (the *event.DecodeError is wrapped; for a CSV cell, the RowError
// names its column too), a CSV cell that does not read as its column's
// type. As on the stream, a JSON feature value of the wrong type is not an
// error: it counts as missing and as a schema violation of kind "type",
// reported in Stats.Violations.
//
// Labels join their own row: a labelled ok row with a score or a predicted
// class adds (score, predicted, label) to the profile's performance window;
// the score is rounded to float32 first, as the join table stores it.
//
// # Profile file
//
// Save writes a profile as one JSON object, format "reckon-reference/1":
//
//	{
//	  "format": "reckon-reference/1",
//	  "model": "fraud",
//	  "created": "2026-11-26T21:30:22Z",
//	  "generator": "reckon v0.4.0",
//	  "sources": ["data.csv"],
//	  "rows": 100000, "skipped": 0, "errors": 12, "outcomes": 95000,
//	  "features": [
//	    {"name": "amount", "type": "numeric", "count": 99000, "missing": 1000,
//	     "min": 0.5, "max": 9120.25, "sketch": "AU4C…"},
//	    {"name": "country", "type": "categorical", "count": 100000, "missing": 0,
//	     "distinct": 42, "violations": {"new_category": 3}, "sketch": "AUMA…"}
//	  ],
//	  "score": {"count": 99988, "missing": 0, "min": 0.001, "max": 0.998, "sketch": "AU4C…"},
//	  "perf": "UktQVwE…",
//	  "estimate": "UktQRQE…"
//	}
//
// A model with learned thresholds or multivariate drift (docs/drift.md)
// also gets "windows": per configured window length ("length_ms"), the
// start of each of the reference's windows with rows ("starts") and every
// drift statistic of each window against the whole reference, per feature
// and method ("features"), for the score ("score") and, with multivariate
// drift, the window's mean reconstruction error ("multivariate"); null for
// a value that could not be computed. With multivariate drift, also
// "multivariate": the fitted PCA, per feature the encoded value a missing
// value takes ("impute"), the column's mean and scale ("center", "scale")
// and a categorical feature's category shares ("frequencies"), then the
// kept principal axes ("components", over the features in that order) and
// the share of variance they explain ("explained"). Load matches them to
// the configuration's features by name; windows.CheckFile, which the
// processor and the preflight check apply, refuses a profile without the
// windows or model its configuration needs.
//
// "sketch", "perf" and "estimate" are the standard base64 of the
// MarshalBinary encodings of sketch.Numeric or sketch.Categorical,
// perf.Window and perf.Estimate, which carry their own versions. rows,
// errors and outcomes are the Partial's Predictions, Errors and Outcomes
// (rows counts every row of the model, error rows included); "skipped"
// counts rows of other models. The per-feature count (values that are not
// missing), missing, min, max, distinct and violations are there for people
// and other tools: Load ignores them and trusts the sketches. Readers ignore
// unknown keys, so fields may be added without a new format; any change a
// reader of "reckon-reference/1" would misread needs a new format string.
//
// Load checks the format (a *VersionError otherwise), the model name (a
// *ModelError) and that every declared feature is present with its declared
// type and a sketch that decodes (a *FeatureError naming it); features in
// the file that the configuration no longer declares are ignored, and the
// order of the features does not matter. It returns a completed
// windows.Reference: bin edges derived and the calibrator fitted.
package reference
