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
		if t.PendingRun != nil {
			if err := writePending(w, t); err != nil {
				return err
			}
			continue
		}
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
	if j.Held > 0 {
		fmt.Fprintf(w, "join: %.1f bytes per pending prediction (%.1f per held id: %s pending, %s held, %s MiB)\n",
			j.BytesPerPending, j.BytesPerHeld, thousands(float64(j.Pending)), thousands(float64(j.Held)), mib(j.HeapBytes))
		s := r.Sketch
		fmt.Fprintf(w, "sketch per feature and %s window, encoded: numeric %.0f B, categorical %.0f B on average (%s predictions of model-0)\n",
			s.Window, s.NumericMean, s.CategoricalMean, thousands(float64(s.Predictions)))
	}
	fmt.Fprintf(w, "ru_maxrss of the whole run: %s MiB\n", mib(r.MaxRSSBytes))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// writePending writes what a --pending run measured on one Kafka.
func writePending(w io.Writer, t *Target) error {
	p := t.PendingRun
	fmt.Fprintf(w, "Kafka: %s, %s pending predictions (label_ttl keeps them; no outcome ever comes)\n", t.Kafka, thousands(float64(p.Requested)))
	fmt.Fprintf(w, "  produced %s records in %.1fs; then the process held RSS %s MiB, Go heap in use %s MiB (the bench and, when embedded, kfake's log of every record)\n",
		thousands(float64(p.Requested)+2*float64(t.Full.Events)), p.ProduceSeconds, mib(p.BaselineRSS), mib(p.BaselineHeap))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  phase	records	records/s	process CPU µs/record	reckon CPU µs/record	state B/record	join B/record	\n")
	row := func(name string, ph *Phase, st, jn float64) {
		fmt.Fprintf(tw, "  %s	%s	%s	%s	%s	%s	%s	\n", name, thousands(float64(ph.Events)), thousands(ph.EventsPerSec),
			dec(ph.CPUMicrosPerEvent, 2), reckonCPU(ph.CPU), dec(st, 1), dec(jn, 1))
	}
	row("load "+thousands(float64(p.Small))+" pending", &p.LoadSmall, 0, 0)
	row("catch-up at "+thousands(float64(p.Small))+" pending", &p.AtSmall, p.AtSmallState, p.AtSmallJoin)
	if p.Requested > p.Small {
		row("load "+thousands(float64(p.Requested-p.Small))+" more pending", &p.LoadBig, 0, 0)
		row("catch-up at "+thousands(float64(p.Requested))+" pending", &p.AtBig, p.AtBigState, p.AtBigJoin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p.Requested > p.Small {
		fmt.Fprintf(w, "  throughput at %s pending / at %s pending: %.2f\n", thousands(float64(p.Requested)), thousands(float64(p.Small)), p.Ratio)
		fmt.Fprintf(w, "  commits while catching up at %s pending: p50 %.3fs, p99 %.3fs, max %.3fs (%d)\n", thousands(float64(p.Requested)), p.CommitsAtBig.P50, p.CommitsAtBig.P99, p.CommitsAtBig.Max, p.CommitsAtBig.N)
	}
	rs := make([]string, len(p.ReadySeconds))
	for i, x := range p.ReadySeconds {
		rs[i] = dec(x, 2)
	}
	for i, x := range p.RestoreSeconds {
		rs[i] += " (restore " + dec(x, 2) + ")"
	}
	fmt.Fprintf(w, "  each phase's processor started on the committed state (warm) and was ready after (s): %s\n", strings.Join(rs, ", "))
	fmt.Fprintf(w, "  reckon_pending_predictions: %s\n", thousands(p.PendingAfter))
	if l := p.Steady; l != nil {
		fmt.Fprintf(w, "  steady %s records/s: changelog %.1f B/record to <group>-state, %.1f B/record to <group>-join; commits p50 %.3fs, p99 %.3fs, max %.3fs (%d); latency p50 %.1f ms, p99 %.1f ms\n",
			thousands(l.LoadRate), l.StateBytesPerEvent, l.JoinBytesPerEvent, p.CommitsSteady.P50, p.CommitsSteady.P99, p.CommitsSteady.Max, p.CommitsSteady.N, l.P50Ms, l.P99Ms)
		fmt.Fprintf(w, "  RSS at the steady rate: %s MiB (median), %s MiB (peak); peak since the processor started: %s MiB; state_memory %s MiB\n",
			mib(p.RSSSteady), mib(p.RSSSteadyPeak), mib(p.RSSPeak), mib(uint64(p.StateMemory)))
	}
	fmt.Fprintf(w, "  join: %s MiB in memory, %s MiB on disk (reckon_state_bytes); state_dir %s MiB = %.1f B per pending prediction\n",
		mib(uint64(p.JoinMemory)), mib(uint64(p.JoinDisk)), mib(uint64(p.StateDirBytes)), p.DiskBytesPerPending)
	fmt.Fprintf(w, "  warm restart (same state_dir): ready in %.2fs, restore %.2fs, peak RSS %s MiB\n", p.Warm.ReadySeconds, p.Warm.RestoreSeconds, mib(p.Warm.RSSPeak))
	fmt.Fprintf(w, "  cold restore (empty state_dir): ready in %.2fs, restore %.2fs = %s pending predictions/s, peak RSS %s MiB, state_dir then %s MiB\n",
		p.Cold.ReadySeconds, p.Cold.RestoreSeconds, thousands(p.Cold.PendingPerSec), mib(p.Cold.RSSPeak), mib(uint64(p.Cold.StateDirBytes)))
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
