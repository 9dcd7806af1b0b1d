package sketch

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// The two-sample Kolmogorov–Smirnov test as SciPy's
// scipy.stats.ks_2samp(ref, cur) computes it with its defaults
// (alternative="two-sided", method="auto"), which is what Evidently calls:
//
//   - when both samples have at most 10,000 values, the exact p-value,
//     counting lattice paths (Hodges 1958, in the form of Viehmann 2021 that
//     computes 1 − p directly); D is rounded to the lattice of 1/lcm(n, m);
//   - otherwise the asymptotic one: the one-sample Kolmogorov distribution at
//     nₑ = round(n·m/(n+m)), kstwo.sf(D, nₑ), computed as SciPy's _kolmogn
//     does (Simard and L'Ecuyer 2011): Ruben–Gambino near the ends of the
//     range, twice the one-sided Smirnov probability for large D, the
//     Durbin matrix (Marsaglia, Tsang and Wang 2003) or Pomeranz recursion
//     for small nₑ, Pelz–Good otherwise.
//
// The one departure: beyond ksExactCutoff (p below about 1e-100) the exact
// count gives way to the asymptotic value. TestKSPValueSciPy checks every
// branch against SciPy 1.17.1 on a table of (n, m, D) cases written by
// testdata/ks_pvalues.py: exact p-values bit for bit, asymptotic ones within
// 2e-12 relative.

// ksExactMaxN is SciPy's MAX_AUTO_N: ks_2samp computes the exact p-value when
// neither sample has more values.
const ksExactMaxN = 10_000

// ksExactCutoff: where nₑ·D² exceeds it, the p-value is below about 1e-100
// (the limiting distribution gives 2·e^(−2nₑD²)), and ksPValue returns the
// asymptotic value instead of counting paths: the count costs about n·m·2D
// steps, up to half a second for two samples of 10,000 values that differ
// by D = 0.3 (BenchmarkKSPValue), and no decision or display depends on the
// digits of a p-value that small. This is the only place where reckon's
// p-value is not SciPy's method.
const ksExactCutoff = 115

// ksPValue returns the two-sided p-value of the two-sample statistic d for
// samples of n and m values, and d itself, rounded to the lattice 1/lcm(n, m)
// when the exact method applies (as ks_2samp reports it).
func ksPValue(d float64, n, m uint64) (float64, float64) {
	if n == 0 || m == 0 || math.IsNaN(d) {
		return math.NaN(), d
	}
	hi, lo := float64(max(n, m)), float64(min(n, m))
	en := hi * lo / (hi + lo)
	if max(n, m) <= ksExactMaxN && en*d*d <= ksExactCutoff {
		if p, dr, ok := ksExact(int(n), int(m), d); ok {
			return p, dr
		}
	}
	return kstwoSF(int(math.RoundToEven(en)), d), d
}

// ksExact is SciPy's _attempt_exact_2kssamp for the two-sided test. ok is
// false when the computation fails (it falls back to the asymptotic
// p-value then, as SciPy does).
func ksExact(n, m int, d float64) (p, dr float64, ok bool) {
	g := gcd(n, m)
	lcm := (n / g) * m
	h := int(math.RoundToEven(d * float64(lcm)))
	dr = float64(h) / float64(lcm)
	if h == 0 {
		return 1, dr, true
	}
	if n == m {
		p = ksOutsideSquare(n, h)
	} else {
		p = ksOutsideBand(n, m, g, h)
	}
	if !(p >= 0 && p <= 1) {
		return math.NaN(), d, false
	}
	return p, dr, true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ksOutsideSquare is P(D_{n,n} ≥ h/n) = 2 Σ_{k≥1} (−1)^(k−1) C(2n, n−kh)/C(2n, n),
// with each ratio of binomials written as a product of h factors and the
// alternating sum nested (Horner) to avoid cancellation.
func ksOutsideSquare(n, h int) float64 {
	p := 0.0
	for k := n / h; k >= 0; k-- {
		r := 1.0
		for j := range h {
			r = float64(n-k*h-j) * r / float64(n+k*h+j+1)
		}
		p = r * (1 - p)
	}
	return 2 * p
}

// ksOutsideBand is the share of the monotone lattice paths from (0, 0) to
// (m, n) (m ≥ n after a swap) that touch or leave the band |x/m − y/n| < h/lcm,
// i.e. |ng·x − mg·y| < h with mg = m/g, ng = n/g: P(D ≥ h/lcm). Let Q(x, y)
// be that share for the paths ending at (x, y): Q = 1 outside the band and
// Q(x, y) = (x·Q(x−1, y) + y·Q(x, y−1))/(x + y) inside, since x of the
// x + y paths' last steps come from the left. Column x needs only the
// window of y inside the band.
func ksOutsideBand(n, m, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	lo, hi := 0, min(ceilDiv(h, mg), n+1) // column 0: y in [lo, hi) inside
	width := hi - lo
	q := make([]float64, min(2*hi+2, n+1))
	for i := range q {
		q[i] = 1
	}
	for y := lo; y < hi; y++ {
		q[y] = 0
	}
	for x := 1; x <= m; x++ {
		lastLo, lastWidth := lo, width
		lo = min(max(floorDiv(ng*x-h, mg)+1, 0), n)
		hi = min(ceilDiv(ng*x+h, mg), n+1)
		if hi <= lo {
			return 1
		}
		// Q(x, lo−1) is outside the band (or does not exist for lo = 0,
		// where its weight y is 0).
		below := 0.0
		if lo > 0 {
			below = 1
		}
		fx := float64(x)
		for k := range hi - lo {
			y := lo + k
			// q[y−lastLo] is Q(x−1, y): 1 beyond the last window.
			below = (q[y-lastLo]*fx + below*float64(y)) / float64(x+y)
			q[k] = below
		}
		width = hi - lo
		for k := width; k < lastWidth; k++ {
			q[k] = 1 // the rows the window left are outside the band
		}
	}
	return q[hi-lo-1]
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

// kstwoSF is SciPy's kstwo.sf(x, n): P(D_n > x) for the two-sided one-sample
// Kolmogorov–Smirnov statistic D_n (scipy.stats._ksstats._kolmogn).
func kstwoSF(n int, x float64) float64 {
	switch {
	case n <= 0 || math.IsNaN(x):
		return math.NaN()
	case x >= 1:
		return 0
	case x <= 0:
		return 1
	}
	fn := float64(n)
	t := fn * x
	if t <= 1 { // Ruben–Gambino: 1/2n ≤ x ≤ 1/n
		if t <= 0.5 {
			return 1
		}
		var cdf float64
		if n <= 140 {
			cdf = 1
			for i := 1; i <= n; i++ {
				cdf *= float64(i) * (1 / fn) * (2*t - 1)
			}
		} else {
			cdf = math.Exp(logFactorialOverPower(fn) + fn*math.Log(2*t-1))
		}
		return clamp01(1 - cdf)
	}
	if t >= fn-1 { // Ruben–Gambino
		return clamp01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 {
		return clamp01(2 * smirnovSF(n, x))
	}
	nx2 := t * x
	if n <= 140 {
		switch {
		case nx2 <= 0.754693:
			return clamp01(1 - durbinMTW(n, x))
		case nx2 <= 4:
			return clamp01(1 - pomeranz(n, x))
		}
		return clamp01(2 * smirnovSF(n, x))
	}
	switch {
	case nx2 >= 370:
		return 0
	case nx2 >= 2.2:
		return clamp01(2 * smirnovSF(n, x))
	case n <= 100_000 && fn*math.Pow(x, 1.5) <= 1.4:
		return clamp01(1 - durbinMTW(n, x))
	}
	return clamp01(1 - pelzGood(n, x))
}

// logFactorialOverPower is log(n!/nⁿ) by Stirling's series, with n·log n
// removed up front to avoid cancellation.
func logFactorialOverPower(n float64) float64 {
	// B_2j / (2j(2j−1)) for j = 8, …, 1 (B the Bernoulli numbers).
	coeffs := [...]float64{
		-2.955065359477124183e-2, 6.4102564102564102564e-3,
		-1.9175269175269175269e-3, 8.4175084175084175084e-4,
		-5.952380952380952381e-4, 7.9365079365079365079e-4,
		-2.7777777777777777778e-3, 8.3333333333333333333e-2,
	}
	rn := 1 / n
	x := rn / n
	poly := 0.0
	for _, c := range coeffs {
		poly = poly*x + c
	}
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*poly
}

// smirnovSF is the one-sided Smirnov probability P(D⁺_n ≥ x), SciPy's
// scipy.special.smirnov(n, x), by the Birnbaum–Tingey sum of positive terms
//
//	x · Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v),
//
// with x + v/n and 1 − x − v/n written as (⌊nx⌋ + v + α)/n and
// (n − v − ⌊nx⌋ − α)/n, α = nx − ⌊nx⌋, so that neither loses digits.
// kstwoSF calls it for x ≥ 1.48/√n only, where SciPy uses the same lower sum
// (its upper sum serves x ≤ 0.5/√n). It costs n steps: 20 ms at
// n = 500,000.
func smirnovSF(n int, x float64) float64 {
	switch {
	case n <= 0 || !(x >= 0 && x <= 1):
		return math.NaN()
	case n == 1:
		return 1 - x
	case x == 0:
		return 1
	case x == 1:
		return 0
	}
	fn := float64(n)
	// ⌊nx⌋ and α exactly: the rounding error of n·x by a fused multiply-add.
	p := fn * x
	e := math.FMA(fn, x, -p)
	nxfl := math.Floor(p)
	alpha := (p - nxfl) + e
	if alpha < 0 {
		nxfl--
		alpha++
	}
	if alpha >= 1 {
		nxfl++
		alpha--
	}
	k := int(nxfl)
	if k == 0 || k == 1 && alpha == 0 { // x ≤ 1/n
		return 1 - x*math.Pow(1+x, fn-1)
	}
	if -2*fn*x*x < -745.1332191019412 { // underflows
		return 0
	}
	if k >= n-1 { // x ≥ 1 − 1/n
		return math.Pow(1-x, fn)
	}
	if n > 1_000_000 { // SciPy's approximation for large n
		return math.Exp(-math.Pow(6*fn*x+1, 2) / 18 / fn)
	}
	// The terms up to ⌊n(1−x)⌋, but for v = n(1 − x) when that is an
	// integer: its factor (1 − x − v/n) is 0.
	last := n - k - 1
	// Each term is the binomial probability of v successes in n trials of
	// probability p = x + v/n, divided by p; it is computed as Loader (2000)
	// computes binomial probabilities (R's dbinom), from Stirling's error
	// and the deviance bd0, which lose no digits to cancellation even for
	// n near a million (SciPy works in double-double; the two agree to
	// 3.3e-10 relative, TestKSTwoSciPy).
	sn := stirlerr(fn)
	sum := 0.0
	for v := last; v >= 1; v-- {
		fv := float64(v)
		a := (nxfl + fv) + alpha      // n·(x + v/n)
		b := (fn - fv - nxfl) - alpha // n·(1 − x − v/n)
		lf := sn - stirlerr(fv) - stirlerr(fn-fv) - bd0(fv, a) - bd0(fn-fv, b)
		sum += math.Exp(lf) * math.Sqrt(fn/(2*math.Pi*fv*(fn-fv))) * (fn / a)
	}
	// v = 0: x·x^(−1)·(1−x)^n, added last (it is the largest term for
	// small x, and adding the small ones first keeps their digits).
	return clamp01(math.Pow(1-x, fn) + x*sum)
}

// stirlerr is log(n!) − log(√(2πn)·(n/e)ⁿ), the error of Stirling's
// formula (Loader 2000): its series beyond 15, lgamma below.
func stirlerr(n float64) float64 {
	if n <= 15 {
		return lgamma(n+1) - (n+0.5)*math.Log(n) + n - 0.5*math.Log(2*math.Pi)
	}
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	}
	return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
}

// bd0 is the deviance x·log(x/np) + np − x (Loader 2000), by a series in
// (x − np)/(x + np) when x is near np, where the direct form cancels.
func bd0(x, np float64) float64 {
	if math.Abs(x-np) >= 0.1*(x+np) {
		return x*math.Log(x/np) + np - x
	}
	v := (x - np) / (x + np)
	s := (x - np) * v
	ej := 2 * x * v
	v *= v
	for j := 1; j < 1000; j++ {
		ej *= v
		s1 := s + ej/float64(2*j+1)
		if s1 == s {
			return s1
		}
		s = s1
	}
	return s
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// durbinMTW is P(D_n < d) by Durbin's matrix formula as Marsaglia, Tsang and
// Wang evaluate it: with k = ⌈nd⌉, h = k − nd and m = 2k − 1, the k-th
// diagonal entry of Hⁿ times n!/nⁿ, H the m×m matrix of Durbin (1968).
// Powers are taken by squaring with gonum's matrix product, rescaled by
// 2^128 whenever the entry grows past it.
func durbinMTW(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	fn := float64(n)
	nd := fn * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1

	// v[j] = (1 − h^(j+1))/(j+1)!, w[j] = 1/j!; v[m−1] corrected below.
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] = (1 - math.Pow(h, float64(j))) * fac
	}
	tt := math.Pow(math.Max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac

	H := mat.NewDense(m, m, nil)
	for c := 1; c < m; c++ {
		for r := c - 1; r < m; r++ {
			H.Set(r, c, w[r-c+1])
		}
	}
	for r := range m {
		H.Set(r, 0, v[r])
	}
	for c := range m {
		H.Set(m-1, c, v[m-1-c])
	}

	const scale = 128
	pow := mat.NewDense(m, m, nil)
	for i := range m {
		pow.Set(i, i, 1)
	}
	var tmp mat.Dense
	powExp, hExp := 0, 0
	for e := n; e > 0; e /= 2 {
		if e%2 == 1 {
			tmp.Mul(pow, H)
			pow.Copy(&tmp)
			powExp += hExp
		}
		tmp.Mul(H, H)
		H.Copy(&tmp)
		hExp *= 2
		if math.Abs(H.At(k-1, k-1)) > math.Ldexp(1, scale) {
			H.Scale(math.Ldexp(1, -scale), H)
			hExp += scale
		}
	}
	p := pow.At(k-1, k-1)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < math.Ldexp(1, -scale) {
			p *= math.Ldexp(1, scale)
			powExp -= scale
		}
	}
	return clamp01(math.Ldexp(p, powExp))
}

// pomeranz is P(D_n ≤ x) by the recursion of Pomeranz (1974), in the form
// of Simard and L'Ecuyer: 2n+1 rows, each the convolution of the previous
// one with one of three truncated Poisson weight sequences, keeping only the
// entries the bounds allow, rescaled against underflow.
func pomeranz(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpow := make([]float64, npwrs)    // (g/n)^k/k!
	twogpow := make([]float64, npwrs) // (2g/n)^k/k!
	onem2g := make([]float64, npwrs)  // ((1−2g)/n)^k/k!
	gpow[0], twogpow[0], onem2g[0] = 1, 1, 1
	for k := 1; k < npwrs; k++ {
		gpow[k] = gpow[k-1] * (g / fn) / float64(k)
		twogpow[k] = twogpow[k-1] * (2 * g / fn) / float64(k)
		onem2g[k] = onem2g[k-1] * ((1 - 2*g) / fn) / float64(k)
	}
	v0 := make([]float64, npwrs)
	v1 := make([]float64, npwrs)
	v1[0] = 1
	s0, s1 := 0, 0 // the start index of each row
	expnt := 0
	const scale = 128
	j1, _ := pomeranzBounds(0, n, ll, ceilf, roundf)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		v0, v1 = v1, v0
		s0, s1 = s1, s0
		clear(v1)
		var j2 int
		j1, j2 = pomeranzBounds(i, n, ll, ceilf, roundf)
		pw := onem2g
		switch {
		case i == 1 || i == 2*n+1:
			pw = gpow
		case i%2 == 1:
			pw = twogpow
		}
		ln2 := j2 - k1 + 1
		if ln2 <= 0 {
			continue
		}
		// The convolution of v0[k1−s0 : k1−s0+ln2] (shorter at the end of
		// the row) with pw[:ln2], entries j1−k1 … j2−k1 of it.
		src := v0[k1-s0 : min(k1-s0+ln2, len(v0))]
		top := 0.0
		for c := j1 - k1; c <= j2-k1; c++ {
			sum := 0.0
			for a := max(0, c-ln2+1); a <= min(c, len(src)-1); a++ {
				sum += src[a] * pw[c-a]
			}
			v1[c-(j1-k1)] = sum
			top = math.Max(top, sum)
		}
		if top > 0 && top < math.Ldexp(1, -scale) {
			for c := range v1 {
				v1[c] *= math.Ldexp(1, scale)
			}
			expnt -= scale
		}
		s1 = s0 + j1 - k1
	}
	ans := v1[n-s1]
	for k := 1; k <= n; k++ {
		if math.Abs(ans) > math.Ldexp(1, scale) {
			ans *= math.Ldexp(1, -scale)
			expnt += scale
		}
		ans *= float64(k)
	}
	return clamp01(math.Ldexp(ans, expnt))
}

// pomeranzBounds returns the first and last entry of row i that can be
// non-zero.
func pomeranzBounds(i, n, ll, ceilf, roundf int) (j1, j2 int) {
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		half, odd := (i+1)/2, (i+1)%2
		switch {
		case odd == 0 && half == n+1: // i odd, last row
			j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
		case odd == 0:
			j1, j2 = half-1-ll-roundf-1, half+ll-1+ceilf-1
		default:
			j1, j2 = half-1-ll-1, half+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// pelzGood is the Pelz–Good approximation of P(D_n ≤ x): Li-Chien and
// Korolyuk's expansion K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5, z = x√n,
// with each K rewritten through Jacobi's theta identity into a series that
// converges fast for small z.
func pelzGood(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	fn := float64(n)
	z := math.Sqrt(fn) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)
	pi2 := math.Pi * math.Pi
	pi4, pi6 := pi2*pi2, pi2*pi2*pi2
	qlog := -pi2 / 8 / z2
	if qlog < -708 {
		return 0
	}
	q := math.Exp(qlog)

	k1a, k1b := -z2, pi2/4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)

	var k [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for kk := maxk; kk > 0; kk-- { // Horner in q^(8k) over odd m = 2k − 1
		m := float64(2*kk - 1)
		m2 := m * m
		m4 := m2 * m2
		m6 := m4 * m2
		qp := math.Pow(q, float64(8*kk))
		c := [4]float64{
			1,
			k1a + k1b*m2,
			k2a + k2b*m2 + k2c*m4,
			k3a + k3b*m2 + k3c*m4 + k3d*m6,
		}
		for i := range k {
			k[i] = k[i]*qp + c[i]
		}
	}
	sqrt2pi := math.Sqrt(2 * math.Pi)
	div := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range k {
		k[i] = k[i] * q * sqrt2pi / div[i]
	}
	// The terms over all integers k for K2 and K3.
	q = math.Exp(-pi2 / 2 / z2)
	k2extra, k3extra := 0.0, 0.0
	sqrt3z := math.Sqrt(3) * z
	for kk := maxk; kk > 0; kk-- {
		fk := float64(kk)
		qk := math.Pow(q, fk*fk)
		k2extra += fk * fk * qk
		kpi := math.Pi * fk
		k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * fk * fk * qk
	}
	k[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
	k[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
	sum := 0.0
	for i := range k {
		sum += k[i] / math.Pow(fn, float64(i)/2)
	}
	return sum
}
