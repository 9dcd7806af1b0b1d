// Package promqlcheck checks the PromQL expressions reckon ships (alerting
// and recording rules, dashboard queries): each must parse with the
// Prometheus PromQL parser, every series it selects must be a metric that
// reckon exports (the exporter's catalogue) or that its rules record
// (alerts.KnownMetrics), with label matchers on that metric's labels only,
// and the range functions must fit the metric's kind: rate, irate,
// increase and resets take a counter or a histogram, delta, idelta, deriv
// and predict_linear a gauge.
//
// It is meant for tests: importing it brings in the Prometheus parser,
// which the reckon binary does not need.
package promqlcheck

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/reckonhq/reckon/alerts"
	"github.com/reckonhq/reckon/exporter"
)

// ParseError is an expression the PromQL parser rejects.
type ParseError struct {
	Expr string
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("parse %q: %v", e.Expr, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// UnknownMetricError is a selector of a metric that is not in
// alerts.KnownMetrics, or a selector without a metric name.
type UnknownMetricError struct {
	Expr     string
	Selector string
	Name     string // empty for a selector without a metric name
}

func (e *UnknownMetricError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("%q: selector %s names no metric", e.Expr, e.Selector)
	}
	return fmt.Sprintf("%q: %s is not a metric reckon exports or records (alerts.KnownMetrics)", e.Expr, e.Name)
}

// UnknownLabelError is a label matcher on a label that the selected metric
// does not have.
type UnknownLabelError struct {
	Expr   string
	Metric string
	Label  string
}

func (e *UnknownLabelError) Error() string {
	return fmt.Sprintf("%q: %s has no label %q", e.Expr, e.Metric, e.Label)
}

// KindError is a range function applied to a metric of a kind it is not
// meant for, such as rate of a gauge (which reads every decrease as a
// counter reset) or deriv of a counter.
type KindError struct {
	Expr   string
	Func   string
	Metric string
	Kind   exporter.Kind
}

func (e *KindError) Error() string {
	return fmt.Sprintf("%q: %s() of %s, a %s", e.Expr, e.Func, e.Metric, e.Kind)
}

// forCounters and forGauges are the range functions that take only
// counters (and histograms) and only gauges.
var (
	forCounters = []string{"rate", "irate", "increase", "resets"}
	forGauges   = []string{"delta", "idelta", "deriv", "predict_linear"}
)

// checkKind returns a *KindError if call applies a range function to a
// metric of the wrong kind, or nil.
func checkKind(expr string, call *parser.Call) error {
	name := call.Func.Name
	counters, gauges := slices.Contains(forCounters, name), slices.Contains(forGauges, name)
	if !counters && !gauges || len(call.Args) == 0 {
		return nil
	}
	ms, ok := call.Args[0].(*parser.MatrixSelector)
	if !ok {
		return nil // a subquery: its inner expression is checked on its own
	}
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok || vs.Name == "" {
		return nil
	}
	m, _, ok := alerts.LookupMetric(vs.Name)
	if !ok {
		return nil // reported as an *UnknownMetricError
	}
	if counters && m.Kind == exporter.Gauge || gauges && m.Kind != exporter.Gauge {
		return &KindError{Expr: expr, Func: name, Metric: vs.Name, Kind: m.Kind}
	}
	return nil
}

// targetLabels are the labels Prometheus adds to every scraped series.
func targetLabels() []string { return []string{"job", "instance", model.MetricNameLabel} }

// Check parses expr and checks every selector and range function in it,
// returning a *ParseError, or the *UnknownMetricError, *UnknownLabelError
// and *KindError values found, joined with errors.Join. expr must not contain Grafana variables:
// substitute them first.
func Check(expr string) error {
	p := parser.NewParser(parser.Options{})
	ast, err := p.ParseExpr(expr)
	if err != nil {
		return &ParseError{Expr: expr, Err: err}
	}
	var errs []error
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		if call, ok := node.(*parser.Call); ok {
			if err := checkKind(expr, call); err != nil {
				errs = append(errs, err)
			}
			return nil
		}
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" {
			errs = append(errs, &UnknownMetricError{Expr: expr, Selector: vs.String()})
			return nil
		}
		m, bucket, ok := alerts.LookupMetric(name)
		if !ok {
			errs = append(errs, &UnknownMetricError{Expr: expr, Selector: vs.String(), Name: name})
			return nil
		}
		for _, lm := range vs.LabelMatchers {
			if slices.Contains(m.Labels, lm.Name) || slices.Contains(targetLabels(), lm.Name) || bucket && lm.Name == "le" {
				continue
			}
			errs = append(errs, &UnknownLabelError{Expr: expr, Metric: name, Label: lm.Name})
		}
		return nil
	})
	return errors.Join(errs...)
}

// Selectors returns the metric names that expr selects, in order of
// appearance, or a *ParseError.
func Selectors(expr string) ([]string, error) {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, &ParseError{Expr: expr, Err: err}
	}
	var names []string
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && vs.Name != "" {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}
