package promqlcheck

import (
	"errors"
	"slices"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want any // nil, or a pointer to the wanted error type
	}{
		{expr: `sum by (model) (rate(reckon_predictions_total{status="error"}[5m]))`},
		{expr: `histogram_quantile(0.99, sum by (le) (rate(reckon_prediction_latency_seconds_bucket{model="m"}[5m])))`},
		{expr: `rate(reckon_prediction_latency_seconds_count[5m]) / rate(reckon_prediction_latency_seconds_sum[5m])`},
		{expr: `histogram_fraction(0, 0.25, rate(reckon_prediction_latency_seconds[5m]))`},
		{expr: `up{job="reckon",instance="a"} == 0`},
		{expr: `reckon_slo:sli_error:ratio_rate5m{slo="errors"} > 0.01`},
		{expr: `{__name__="reckon_ready"}`},
		{expr: `rate(reckon_predictions_total[5m]`, want: new(*ParseError)},
		{expr: `reckon_prediction_total`, want: new(*UnknownMetricError)},
		{expr: `reckon_ready_bucket`, want: new(*UnknownMetricError)},
		{expr: `reckon_predictions_total_bucket`, want: new(*UnknownMetricError)},
		{expr: `{job="reckon"}`, want: new(*UnknownMetricError)},
		{expr: `reckon_predictions_total{outcome="tp"}`, want: new(*UnknownLabelError)},
		{expr: `reckon_prediction_score{le="0.5"}`, want: new(*UnknownLabelError)},
		{expr: `rate(reckon_prediction_score_bucket[5m])`},
		{expr: `deriv(reckon_consumer_lag_records[10m])`},
		{expr: `rate(reckon_false_positive_rate[5m])`, want: new(*KindError)},
		{expr: `sum(increase(reckon_pending_predictions[1h]))`, want: new(*KindError)},
		{expr: `deriv(reckon_predictions_total[5m])`, want: new(*KindError)},
		{expr: `delta(reckon_prediction_latency_seconds_count[5m])`, want: new(*KindError)},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			err := Check(tc.expr)
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			case **ParseError:
				if !errors.As(err, want) {
					t.Fatalf("Check = %v, want a *ParseError", err)
				}
			case **UnknownMetricError:
				if !errors.As(err, want) {
					t.Fatalf("Check = %v, want an *UnknownMetricError", err)
				}
			case **UnknownLabelError:
				if !errors.As(err, want) {
					t.Fatalf("Check = %v, want an *UnknownLabelError", err)
				}
			case **KindError:
				if !errors.As(err, want) {
					t.Fatalf("Check = %v, want a *KindError", err)
				}
			}
		})
	}
}

func TestSelectors(t *testing.T) {
	got, err := Selectors(`sum(rate(reckon_predictions_total[5m])) / on() group_left up`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"reckon_predictions_total", "up"}; !slices.Equal(got, want) {
		t.Errorf("Selectors = %q, want %q", got, want)
	}
}
