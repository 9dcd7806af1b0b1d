package dashboards

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// Query is one Prometheus query of a dashboard: a panel target's expr, or
// a template variable's query.
type Query struct {
	File  string // dashboard file name
	Panel string // panel title, or "$name" for a template variable
	RefID string // the target's refId; empty for a variable
	Expr  string // as in the dashboard, with Grafana variables
}

// Queries returns every Prometheus query of the dashboards (as returned by
// Dashboards, or read back from disk), in file-name and panel order, for
// checking them: parsing, the metrics they name, and that they return data
// against a Prometheus scraping reckon (substitute the variables with
// Interpolate first).
func Queries(files map[string][]byte) ([]Query, error) {
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"` // of a collapsed row
	}
	var board struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	var qs []Query
	for _, file := range slices.Sorted(maps.Keys(files)) {
		board.Panels, board.Templating.List = nil, nil
		if err := json.Unmarshal(files[file], &board); err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", file, err)
		}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				for _, t := range p.Targets {
					if t.Expr != "" {
						qs = append(qs, Query{File: file, Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
					}
				}
				walk(p.Panels)
			}
		}
		walk(board.Panels)
		for _, v := range board.Templating.List {
			if v.Type != "query" {
				continue
			}
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				return nil, fmt.Errorf("dashboards: %s: variable %s: query is not a string: %w", file, v.Name, err)
			}
			qs = append(qs, Query{File: file, Panel: "$" + v.Name, Expr: s})
		}
	}
	return qs, nil
}

// labelValues matches a label_values(selector, label) variable query.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// VariableSelector returns the series selector of a label_values(selector,
// label) variable query, and the label, so that it can be checked like a
// panel query. ok is false for any other query.
func VariableSelector(query string) (selector, label string, ok bool) {
	m := labelValues.FindStringSubmatch(query)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// grafanaVar matches $name, ${name}, ${name:format} and [[name]].
var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// Interpolate substitutes Grafana's variables in expr the way Grafana does
// before sending a query: $name, ${name} and [[name]] from vars, and the
// built-ins $__rate_interval, $__interval (default "1m"), $__range ("1h")
// and $__range_s ("3600") unless vars sets them. An unknown variable is left
// as it is, so that the query fails to parse.
func Interpolate(expr string, vars map[string]string) string {
	builtin := map[string]string{
		"__rate_interval": "1m",
		"__interval":      "1m",
		"__range":         "1h",
		"__range_s":       "3600",
	}
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := vars[name]; ok {
			return v
		}
		if v, ok := builtin[name]; ok {
			return v
		}
		return m
	})
}
