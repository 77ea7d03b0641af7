//go:build linux

package sandbox

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

// benchSandbox starts a sandbox for a benchmark, skipping where the mode
// cannot start.
func benchSandbox(b *testing.B, mode Mode) *Sandbox {
	b.Helper()
	s, err := New(context.Background(), Config{Workspace: b.TempDir(), Mode: mode})
	if err != nil {
		b.Skipf("%s sandbox unavailable (install bubblewrap (apt-get install bubblewrap)): %v", mode, err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// reportPercentiles adds p50 and p99 of the per-iteration durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 {
		i := min(int(p*float64(len(d))), len(d)-1)
		return float64(d[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkSandboxTrue runs "true" in a long-lived sandbox, once per
// available mode.
func BenchmarkSandboxTrue(b *testing.B) {
	for _, mode := range []Mode{ModeBwrap, ModeLandlock} {
		b.Run(string(mode), func(b *testing.B) {
			s := benchSandbox(b, mode)
			ctx := context.Background()
			d := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				res, err := s.Run(ctx, ouro.Command{Script: "true"})
				d = append(d, time.Since(t0))
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("run true: %+v, %v", res, err)
				}
			}
			reportPercentiles(b, d)
		})
	}
}

// BenchmarkPlainExec is the unsandboxed baseline: /bin/sh -c true.
func BenchmarkPlainExec(b *testing.B) {
	d := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if err := exec.Command("/bin/sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
	}
	reportPercentiles(b, d)
}
