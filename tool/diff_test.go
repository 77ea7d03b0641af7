package tool

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnifiedDiffExact(t *testing.T) {
	tests := []struct {
		name, old, new string
		created        bool
		want           string
	}{
		{name: "equal", old: "a\n", new: "a\n", want: ""},
		{name: "create", old: "", new: "x\ny\n", created: true, want: "--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{name: "empty the file", old: "x\n", new: "", want: "--- a/f\n+++ b/f\n@@ -1,1 +0,0 @@\n-x\n"},
		{name: "middle change with context",
			old:  "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			new:  "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n",
			want: "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n"},
		{name: "two hunks",
			old:  "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n",
			new:  "A\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\n",
			want: "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n@@ -9,4 +9,4 @@\n i\n j\n k\n-l\n+L\n"},
		{name: "close changes share a hunk",
			old:  "a\nb\nc\nd\ne\nf\ng\nh\n",
			new:  "A\nb\nc\nd\ne\nf\ng\nH\n",
			want: "--- a/f\n+++ b/f\n@@ -1,8 +1,8 @@\n-a\n+A\n b\n c\n d\n e\n f\n g\n-h\n+H\n"},
		{name: "newline added at end", old: "a\nb", new: "a\nb\n",
			want: "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		{name: "insert at start", old: "b\n", new: "a\nb\n", want: "--- a/f\n+++ b/f\n@@ -1,1 +1,2 @@\n+a\n b\n"},
	}
	for _, tt := range tests {
		if got := unifiedDiff("f", tt.old, tt.new, tt.created); got != tt.want {
			t.Errorf("%s:\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

// TestUnifiedDiffApplies checks generated diffs two independent ways:
// patch(1) turns old into new with them, and the number of changed lines
// equals the minimum computed by a plain LCS table.
func TestUnifiedDiffApplies(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("patch not installed")
	}
	rng := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	words := []string{"a", "b", "c", "}", "", "return nil", "x := 1"}
	gen := func(n int) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = words[rng.Intn(len(words))]
		}
		return l
	}
	for i := 0; i < 150; i++ {
		a := gen(rng.Intn(40))
		b := append([]string(nil), a...)
		for e := rng.Intn(8); e > 0; e-- {
			switch p := rng.Intn(len(b) + 1); rng.Intn(3) {
			case 0:
				b = append(b[:p], append([]string{words[rng.Intn(len(words))]}, b[p:]...)...)
			case 1:
				if p < len(b) {
					b = append(b[:p], b[p+1:]...)
				}
			case 2:
				if p < len(b) {
					b[p] = "changed"
				}
			}
		}
		old, new := strings.Join(a, "\n"), strings.Join(b, "\n")
		if rng.Intn(3) > 0 && old != "" {
			old += "\n"
		}
		if rng.Intn(3) > 0 && new != "" {
			new += "\n"
		}
		d := unifiedDiff("f", old, new, false)
		if old == new {
			if d != "" {
				t.Fatalf("diff of equal texts: %q", d)
			}
			continue
		}
		oldPath, outPath, diffPath := filepath.Join(dir, "old"), filepath.Join(dir, "out"), filepath.Join(dir, "d.patch")
		for p, c := range map[string]string{oldPath: old, diffPath: d} {
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.Remove(outPath)
		cmd := exec.Command(patch, "-s", "-f", "-o", outPath, oldPath, diffPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("case %d: patch failed: %v %s\nold %q\nnew %q\ndiff:\n%s", i, err, out, old, new, d)
		}
		got, err := os.ReadFile(outPath)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != new {
			t.Fatalf("case %d: patched %q, want %q\ndiff:\n%s", i, got, new, d)
		}
		changed := 0
		for _, l := range strings.Split(d, "\n")[2:] {
			if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") {
				changed++
			}
		}
		al, bl := splitLines(old), splitLines(new)
		if want := len(al) + len(bl) - 2*lcsLen(al, bl); changed != want {
			t.Fatalf("case %d: %d changed lines, minimum is %d\n%s", i, changed, want, d)
		}
	}
}

func lcsLen(a, b []string) int {
	t := make([][]int, len(a)+1)
	for i := range t {
		t[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	return t[0][0]
}

func TestUnifiedDiffLargeChangeFallsBack(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 3000; i++ {
		a.WriteString("old line\n")
		b.WriteString("new line\n")
	}
	d := unifiedDiff("f", a.String(), b.String(), false)
	if !strings.HasPrefix(d, "--- a/f\n+++ b/f\n@@ -1,3000 +1,3000 @@\n-old line\n") || strings.Count(d, "\n+new line") != 3000 {
		t.Fatalf("unexpected diff head %q", d[:80])
	}
}
