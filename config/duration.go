package config

import (
	"fmt"
	"math"
	"time"
)

// ParseDuration parses a duration in the syntax of time.ParseDuration with
// one more unit, "d" for days of exactly 24 hours: "30s", "1m30s", "24h",
// "30d", "1d12h", "1.5d". A leading sign is allowed; "0" needs no unit.
// The result is exact (no floating-point rounding) and overflow is an error.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q", orig)
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] == '.' || '0' <= s[i] && s[i] <= '9') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		j := i
		for j < len(s) && s[j] != '.' && (s[j] < '0' || s[j] > '9') {
			j++
		}
		num, unit := s[:i], s[i:j]
		s = s[j:]
		if unit == "" {
			return 0, fmt.Errorf("missing unit in duration %q", orig)
		}
		var v time.Duration
		if unit == "d" {
			h, err := time.ParseDuration(num + "h")
			if err != nil {
				return 0, invalid(orig, num)
			}
			if h > math.MaxInt64/24 {
				return 0, fmt.Errorf("duration %q out of range", orig)
			}
			v = h * 24
		} else {
			var err error
			if v, err = time.ParseDuration(num + unit); err != nil {
				if !knownUnit(unit) {
					return 0, fmt.Errorf("unknown unit %q in duration %q", unit, orig)
				}
				return 0, invalid(orig, num)
			}
		}
		if total > math.MaxInt64-v {
			return 0, fmt.Errorf("duration %q out of range", orig)
		}
		total += v
	}
	if neg {
		total = -total
	}
	return total, nil
}

func knownUnit(u string) bool {
	switch u {
	case "ns", "us", "µs", "μs", "ms", "s", "m", "h", "d":
		return true
	}
	return false
}

// invalid is the error for a component with a known unit that
// time.ParseDuration rejected: out of range when num is a well-formed
// number, malformed otherwise.
func invalid(orig, num string) error {
	digits, dots := 0, 0
	for i := 0; i < len(num); i++ {
		if num[i] == '.' {
			dots++
		} else {
			digits++
		}
	}
	if digits > 0 && dots <= 1 {
		return fmt.Errorf("duration %q out of range", orig)
	}
	return fmt.Errorf("invalid duration %q", orig)
}
