package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/perf"
)

// printCalibration describes how calibrated the reference's scores are and
// whether calibrating them changes the estimates (windows.CalibrationReport).
func printCalibration(w io.Writer, rep windows.CalibrationReport) {
	if !rep.ECEOK {
		return
	}
	fmt.Fprintf(w, "  calibration: expected calibration error %.4f of the raw scores, %.4f after the isotonic fit (%d-fold cross-validated)\n",
		rep.RawECE, rep.CalibratedECE, perf.CalibrationFolds)
	if !rep.ShiftOK {
		fmt.Fprintln(w, "  calibration's effect on the estimates not computed: the predicted class is not a threshold of the score")
		return
	}
	var parts []string
	largest := 0.0
	for _, m := range perf.Metrics() {
		if v, ok := rep.Shift[m]; ok {
			parts = append(parts, fmt.Sprintf("%s %.4f", m, v))
			largest = max(largest, v)
		}
	}
	verdict := fmt.Sprintf("calibration matters (> %g)", windows.CalibrationMatters)
	if !rep.Matters {
		verdict = fmt.Sprintf("within %g, calibration hardly matters", windows.CalibrationMatters)
	}
	fmt.Fprintf(w, "  calibration moves the estimates on the reference by up to %.4f (%s): %s\n",
		largest, strings.Join(parts, ", "), verdict)
}
