package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/reference"
)

// cmdReference builds a model's reference profile from files of rows:
// `reckon reference --config reckon.yaml --model M --input data.csv --out ref.json`.
func cmdReference(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reference", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "reckon.yaml", "configuration file")
	modelName := fs.String("model", "", "model to build the reference of (default: the only configured model)")
	var inputs []string
	fs.Func("input", "data file: .csv, .jsonl or .ndjson, optionally gzip-compressed (.gz); - is standard input; repeat for several files", func(s string) error {
		inputs = append(inputs, s)
		return nil
	})
	out := fs.String("out", "", "profile file to write (default: the model's reference.file in the configuration)")
	format := fs.String("format", "", "input format, csv or jsonl (default: from each input's extension)")
	delimiter := fs.String("csv.delimiter", ",", "CSV field delimiter, one character (\\t for a tab)")
	allowMissing := fs.Bool("allow-missing-columns", false, "treat a declared feature without a CSV column as missing in every row, instead of failing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("reference: unexpected arguments %q", fs.Args())}
	}
	if len(inputs) == 0 {
		return &usageError{errors.New("reference: --input is required")}
	}
	comma, err := parseDelimiter(*delimiter)
	if err != nil {
		return &usageError{fmt.Errorf("reference: --csv.delimiter: %w", err)}
	}
	formats := make([]reference.Format, len(inputs))
	for i, in := range inputs {
		switch {
		case *format != "":
			formats[i], err = reference.ParseFormat(*format)
		case in == "-":
			err = errors.New("--format is required to read standard input")
		default:
			formats[i], err = reference.FormatOf(in)
		}
		if err != nil {
			return &usageError{fmt.Errorf("reference: %w", err)}
		}
	}

	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return &usageError{err}
	}
	name := *modelName
	if name == "" {
		if len(cfg.Models) != 1 {
			return &usageError{fmt.Errorf("reference: --model is required: %s configures %d models", *cfgPath, len(cfg.Models))}
		}
		name = cfg.Models[0].Name
	}
	b, err := reference.NewBuilder(cfg, name)
	if err != nil {
		return &usageError{fmt.Errorf("reference: %w", err)}
	}
	m, _ := cfg.Model(name)
	outPath := *out
	if outPath == "" {
		if m.Reference == nil || m.Reference.File == "" {
			return &usageError{fmt.Errorf("reference: --out is required: model %q has no reference.file in %s", name, *cfgPath)}
		}
		outPath = m.Reference.File
	}
	b.Comma = comma
	b.AllowMissingColumns = *allowMissing

	bar := newProgressBar(stderr)
	for _, in := range inputs {
		if err := bar.size(in); err != nil {
			return err
		}
	}
	for i, in := range inputs {
		if err := readInput(b, bar, in, formats[i]); err != nil {
			bar.clear()
			var mc *reference.MissingColumnsError
			if errors.As(err, &mc) {
				err = fmt.Errorf("%w (--allow-missing-columns treats them as missing)", err)
			}
			return err
		}
	}
	bar.clear()

	p := b.Profile()
	if p.Partial.Predictions == 0 {
		return fmt.Errorf("reference: no rows of model %q in %s (%d rows read, %d of other models)",
			name, strings.Join(inputs, ", "), p.Stats.Rows, p.Stats.Skipped)
	}
	if p.Err != nil {
		return fmt.Errorf("reference: model %q: %w", name, p.Err)
	}
	p.Generator = "reckon " + version()
	if err := writeProfile(outPath, p); err != nil {
		return err
	}
	printSummary(stdout, outPath, p)
	return nil
}

// readInput adds one input file to b, with progress on bar.
func readInput(b *reference.Builder, bar *progressBar, path string, f reference.Format) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		r = file
	}
	cr := bar.start(path, r)
	b.Progress = bar.update
	return b.Read(path, cr, f)
}

// parseDelimiter parses --csv.delimiter: one character, or \t.
func parseDelimiter(s string) (rune, error) {
	if s == `\t` || s == "tab" {
		return '\t', nil
	}
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || n != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("%q: want one character other than a quote or a line break", s)
	}
	return r, nil
}

// writeProfile writes p to path atomically: a temporary file beside it,
// renamed into place, so that a reader never sees half a profile.
func writeProfile(path string, p *reference.Profile) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = reference.Save(f, p); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// printSummary describes the profile written to path: what was read, and per
// feature its counts and range or distinct values.
func printSummary(w io.Writer, path string, p *reference.Profile) {
	pt, st := p.Partial, p.Stats
	fmt.Fprintf(w, "%s: reference of model %s from %d rows of %s\n", path, p.Model, pt.Predictions, strings.Join(p.Sources, ", "))
	if st.Skipped > 0 {
		fmt.Fprintf(w, "  skipped %d rows of other models\n", st.Skipped)
	}
	if pt.Errors > 0 {
		fmt.Fprintf(w, "  %d error predictions (counted, not sketched)\n", pt.Errors)
	}
	if len(st.Ignored) > 0 {
		fmt.Fprintf(w, "  ignored columns: %s\n", strings.Join(st.Ignored, ", "))
	}
	if st.Undeclared > 0 {
		fmt.Fprintf(w, "  %d values of undeclared features ignored\n", st.Undeclared)
	}
	switch {
	case st.Labelled == 0:
		fmt.Fprintln(w, "  no labels: estimates will use the scores uncalibrated")
	case st.Joined < st.Labelled:
		fmt.Fprintf(w, "  %d labelled rows, %d with a score or predicted class (for the calibrator)\n", st.Labelled, st.Joined)
	default:
		fmt.Fprintf(w, "  %d labelled rows (for the calibrator)\n", st.Labelled)
	}
	for _, length := range slices.Sorted(maps.Keys(p.Learned)) {
		fmt.Fprintf(w, "  %d windows of %s for learned thresholds\n", p.Learned[length].Windows(), time.Duration(length)*time.Millisecond)
	}
	if p.PCA != nil {
		n, noun := len(p.PCA.Components), "principal components explain"
		if n == 1 {
			noun = "principal component explains"
		}
		fmt.Fprintf(w, "  multivariate drift: %d %s %.1f%% of the variance\n", n, noun, 100*p.PCA.Explained)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  feature\ttype\tcount\tmissing\tmin\tmax\tdistinct\tviolations")
	for i, f := range p.Features {
		viol := ""
		if i < len(st.Violations) {
			viol = violations(st.Violations[i])
		}
		s := pt.Features[i]
		if s.Num != nil {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", f.Name, f.Type,
				numCount(s.Num.Total()-s.Num.Missing(), s.Num.NaN()+s.Num.PosInf()+s.Num.NegInf()),
				s.Num.Missing(), number(s.Num.Min()), number(s.Num.Max()), numDistinct(s.Num.Distinct()), viol)
		} else {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t\t\t%d\t%s\n", f.Name, f.Type,
				s.Cat.NonMissing(), s.Cat.Missing(), s.Cat.Distinct(), viol)
		}
	}
	sc := pt.Score
	if sc.Total() > 0 {
		fmt.Fprintf(tw, "  (score)\t\t%d\t%d\t%s\t%s\t\t\n", sc.Count(), sc.Missing(), number(sc.Min()), number(sc.Max()))
	} else {
		fmt.Fprintf(tw, "  (score)\t\t0\t\t\t\t\tno scores: no prediction drift\n")
	}
	tw.Flush()
	if st.Labelled > 0 {
		printCalibration(w, p.Reference().CalibrationReport())
	}
}

// numCount is the count of a numeric feature, with its non-finite values.
func numCount(n, nonFinite uint64) string {
	if nonFinite == 0 {
		return strconv.FormatUint(n, 10)
	}
	return fmt.Sprintf("%d (%d NaN/Inf)", n, nonFinite)
}

func numDistinct(n int, exact bool) string {
	if !exact {
		return ">128"
	}
	return strconv.Itoa(n)
}

func number(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

// violations formats a feature's schema violations other than missing
// values, which have their own column.
func violations(v [event.NumViolationKinds]int64) string {
	var parts []string
	for k, n := range v {
		if n > 0 && event.ViolationKind(k) != event.ViolationMissing {
			parts = append(parts, fmt.Sprintf("%s=%d", event.ViolationKind(k), n))
		}
	}
	return strings.Join(parts, " ")
}

// progressBar draws the progress of a long read on a terminal: the share of
// the input bytes read (when the sizes are known) and the rows so far,
// redrawn at most ten times a second. It draws nothing when stderr is not a
// terminal, so logs and CI output stay clean.
type progressBar struct {
	w       io.Writer // nil: draw nothing
	total   int64     // bytes of every input; 0 when unknown
	done    int64     // bytes of the inputs finished
	cur     *countingReader
	name    string
	last    time.Time
	drawn   bool
	unknown bool // some input's size is unknown
}

func newProgressBar(stderr io.Writer) *progressBar {
	p := &progressBar{}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		p.w = f
	}
	return p
}

// isTerminal reports whether f is a character device, as a terminal is.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// size adds the size of input path to the total; an input that is missing
// is reported here, before any work.
func (p *progressBar) size(path string) error {
	if path == "-" {
		p.unknown = true
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().IsRegular() {
		p.total += st.Size()
	} else {
		p.unknown = true
	}
	return nil
}

// start begins the input path read through r and returns r counted.
func (p *progressBar) start(path string, r io.Reader) io.Reader {
	if p.cur != nil {
		p.done += p.cur.n
	}
	p.cur = &countingReader{r: r}
	p.name = filepath.Base(path)
	if p.last.IsZero() {
		p.last = time.Now() // the first draw waits: a short read draws nothing
	}
	return p.cur
}

// update is the Builder's Progress function.
func (p *progressBar) update(rows int64) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	read := p.done + p.cur.n
	if p.total > 0 && !p.unknown {
		frac := min(float64(read)/float64(p.total), 1)
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%  %d rows\x1b[K", p.name,
			strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, rows)
	} else {
		fmt.Fprintf(p.w, "\r%s  %d rows, %.1f MB\x1b[K", p.name, rows, float64(read)/1e6)
	}
	p.drawn = true
}

// clear erases the bar.
func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
