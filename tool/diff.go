package tool

import (
	"strconv"
	"strings"
)

const (
	diffContext = 3
	// maxEditDistance bounds the Myers search; a change bigger than this
	// is shown as the whole changed middle removed and added.
	maxEditDistance = 1000
)

// diffOp is one line of an edit script: ' ' kept, '-' removed, '+' added.
type diffOp struct {
	kind byte
	line string // with its "\n", if it had one
}

// unifiedDiff returns the unified diff (3 lines of context) turning old
// into new, with a/ and b/ prefixed names, or "" when they are equal.
func unifiedDiff(rel, old, new string, created bool) string {
	if old == new {
		return ""
	}
	ops := diffLines(splitLines(old), splitLines(new))
	var b strings.Builder
	if created {
		b.WriteString("--- /dev/null\n")
	} else {
		b.WriteString("--- a/" + rel + "\n")
	}
	b.WriteString("+++ b/" + rel + "\n")

	// Line numbers (0-based) at the start of each op.
	ai := make([]int, len(ops)+1)
	bi := make([]int, len(ops)+1)
	for i, op := range ops {
		ai[i+1], bi[i+1] = ai[i], bi[i]
		if op.kind != '+' {
			ai[i+1]++
		}
		if op.kind != '-' {
			bi[i+1]++
		}
	}
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(0, i-diffContext)
		end := i // one past the last change in this hunk
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*diffContext {
				break
			}
		}
		stop := min(len(ops), end+diffContext)
		writeHunk(&b, ops[start:stop], ai[start], bi[start])
		i = stop
	}
	return b.String()
}

func writeHunk(b *strings.Builder, ops []diffOp, a0, b0 int) {
	na, nb := 0, 0
	for _, op := range ops {
		if op.kind != '+' {
			na++
		}
		if op.kind != '-' {
			nb++
		}
	}
	b.WriteString("@@ -")
	b.WriteString(hunkRange(a0, na))
	b.WriteString(" +")
	b.WriteString(hunkRange(b0, nb))
	b.WriteString(" @@\n")
	for _, op := range ops {
		b.WriteByte(op.kind)
		b.WriteString(op.line)
		if !strings.HasSuffix(op.line, "\n") {
			b.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

func hunkRange(start, n int) string {
	if n > 0 {
		start++
	}
	return strconv.Itoa(start) + "," + strconv.Itoa(n)
}

// splitLines splits s into lines that keep their "\n".
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// diffLines returns an edit script from a to b: the common head and tail
// kept, the middle by Myers' O(ND) algorithm.
func diffLines(a, b []string) []diffOp {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	ops := make([]diffOp, 0, len(a)+len(b))
	for _, l := range a[:p] {
		ops = append(ops, diffOp{' ', l})
	}
	ops = append(ops, myers(a[p:len(a)-s], b[p:len(b)-s])...)
	for _, l := range a[len(a)-s:] {
		ops = append(ops, diffOp{' ', l})
	}
	return ops
}

// myers finds a shortest edit script from a to b, or, past
// maxEditDistance, removes all of a and adds all of b.
func myers(a, b []string) []diffOp {
	n, m := len(a), len(b)
	whole := func() []diffOp {
		ops := make([]diffOp, 0, n+m)
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	if n == 0 || m == 0 {
		return whole()
	}
	limit := min(n+m, maxEditDistance)
	off := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int // trace[d] is v over k in [-(d-1), d-1] before step d
	for d := 0; d <= limit; d++ {
		if d > 0 {
			trace = append(trace, append([]int(nil), v[off-(d-1):off+d]...))
		} else {
			trace = append(trace, nil)
		}
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, d)
			}
		}
	}
	return whole()
}

func backtrack(a, b []string, trace [][]int, dEnd int) []diffOp {
	var rev []diffOp
	x, y := len(a), len(b)
	for d := dEnd; d > 0; d-- {
		w := trace[d]
		get := func(k int) int { return w[k+d-1] }
		k := x - y
		var pk int
		if k == -d || (k != d && get(k-1) < get(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := get(pk)
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, diffOp{' ', a[x]})
		}
		if x == px {
			y--
			rev = append(rev, diffOp{'+', b[y]})
		} else {
			x--
			rev = append(rev, diffOp{'-', a[x]})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, diffOp{' ', a[x]})
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}
