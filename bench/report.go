package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r as the human-readable table of `reckon bench`.
func WriteTable(w io.Writer, r *Report) error {
	p, m := r.Params, r.Machine
	fmt.Fprintf(w, "reckon bench: %s records (%s predictions of %d models x %d features, %s outcomes), %d partitions, mean record %.0f B, seed %d\n",
		thousands(float64(p.Events)), thousands(float64(p.Predictions)), p.Models, p.Features, thousands(float64(p.Outcomes)), p.Partitions, p.MeanRecordBytes, p.Seed)
	fmt.Fprintf(w, "full pipeline: commit_interval %gs\n", p.CommitInterval)
	fmt.Fprintf(w, "machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s, load average %.2f at start, %.2f at end\n",
		m.CPUModel, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch, m.LoadAvgStart, m.LoadAvgEnd)
	for _, t := range r.Targets {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		c, f := &t.Ceiling, &t.Full
		fmt.Fprintf(tw, "Kafka: %s\tceiling (consume+decode)\tfull pipeline\t\n", t.Kafka)
		row := func(name string, a, b string, note string) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, a, b, note)
		}
		ratio := fmt.Sprintf("full/ceiling = %.2f", t.Ratio)
		if len(t.Ratios) > 1 {
			rs := make([]string, len(t.Ratios))
			for i, x := range t.Ratios {
				rs[i] = dec(x, 2)
			}
			ratio += fmt.Sprintf(" (median of %d runs: %s)", len(t.Ratios), strings.Join(rs, ", "))
		}
		row("records/s", thousands(c.EventsPerSec), thousands(f.EventsPerSec), ratio)
		cpuNote := "reckon's process only: not the broker's"
		if t.Embedded {
			cpuNote = "whole process: includes kfake"
		}
		row("process CPU µs/record", dec(c.CPUMicrosPerEvent, 2), dec(f.CPUMicrosPerEvent, 2), cpuNote)
		row("reckon CPU µs/record", reckonCPU(c.CPU), reckonCPU(f.CPU), "from the CPU profile (decode in brackets)")
		row("allocs/record", dec(c.AllocsPerEvent, 2), dec(f.AllocsPerEvent, 2), "whole process")
		row("alloc bytes/record", dec(c.AllocBytesPerEvent, 0), dec(f.AllocBytesPerEvent, 0), "whole process")
		row("heap in use MiB: start → peak", mib(c.HeapInuseStart)+" → "+mib(c.PeakHeapInuse), mib(f.HeapInuseStart)+" → "+mib(f.PeakHeapInuse), "start includes the broker's log when embedded")
		row("peak Sys MiB", mib(c.PeakSys), mib(f.PeakSys), "")
		row("GC cycles", strconv.Itoa(int(c.GCCycles)), strconv.Itoa(int(f.GCCycles)), "")
		row("dead letters", strconv.FormatUint(c.DeadLetters, 10), strconv.FormatUint(f.DeadLetters, 10), "")
		row("measured", fmt.Sprintf("%s in %.2fs", thousands(float64(c.Measured)), c.Seconds), fmt.Sprintf("%s in %.2fs", thousands(float64(f.Measured)), f.Seconds), "records after the first batch")
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "  produced at %s records/s; reckon_pending_predictions at the end: %s\n", thousands(t.ProduceEventsPerSec), thousands(t.Pending))
		fmt.Fprintf(w, "  changelog written per record: %.1f B to <group>-state (panes, windows, models), %.1f B to <group>-join (the join's changes)\n", t.StateBytesPerEvent, t.JoinBytesPerEvent)
		if l := t.Latency; l != nil {
			fmt.Fprintf(w, "  latency produce → /metrics: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d of %d probes seen; %s records/s background; scrape every %.0f ms, p50 scrape %.1f ms)\n",
				l.P50Ms, l.P99Ms, l.MaxMs, l.Seen, l.Probes, thousands(l.LoadRate), l.ScrapeInterval, l.ScrapeP50Ms)
			fmt.Fprintf(w, "  changelog written per record at that steady rate: %.1f B to <group>-state, %.1f B to <group>-join\n", l.StateBytesPerEvent, l.JoinBytesPerEvent)
		}
		if f.CPU != nil {
			fmt.Fprintf(w, "  CPU of the full pipeline by component (%d samples, %.1f CPU s):\n", f.CPU.Samples, f.CPU.Seconds)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			for _, comp := range f.CPU.Components {
				fmt.Fprintf(tw, "    %s\t%.1f%%\t%.2f µs/record\t\n", comp.Name, 100*comp.Share, comp.MicrosPerEvent)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(w)
	j := r.Join
	fmt.Fprintf(w, "join: %.1f bytes per pending prediction (%.1f per held id: %s pending, %s held, %s MiB)\n",
		j.BytesPerPending, j.BytesPerHeld, thousands(float64(j.Pending)), thousands(float64(j.Held)), mib(j.HeapBytes))
	s := r.Sketch
	fmt.Fprintf(w, "sketch per feature and %s window, encoded: numeric %.0f B, categorical %.0f B on average (%s predictions of model-0)\n",
		s.Window, s.NumericMean, s.CategoricalMean, thousands(float64(s.Predictions)))
	fmt.Fprintf(w, "ru_maxrss of the whole run: %s MiB\n", mib(r.MaxRSSBytes))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

func reckonCPU(b *CPUBreakdown) string {
	if b == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f (%.2f)", b.ReckonMicrosPerEvent, b.DecodeMicrosPerEvent)
}

func dec(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 0, 64) }

// thousands formats x rounded to an integer with thousands separators.
func thousands(x float64) string {
	s := strconv.FormatFloat(x, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
