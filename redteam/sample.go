package redteam

import (
	"sync"
	"time"
)

// peakSampler watches, while a resource attack runs, how many of its
// processes are alive on the host at once.
type peakSampler struct {
	mark string
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	max  int
}

// sampleEvery is how often the host's processes are counted.
const sampleEvery = 20 * time.Millisecond

func startSampler(mark string) *peakSampler {
	p := &peakSampler{mark: mark, done: make(chan struct{})}
	p.wg.Go(func() {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			n := len(procsWith(p.mark))
			p.mu.Lock()
			p.max = max(p.max, n)
			p.mu.Unlock()
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	})
	return p
}

func (p *peakSampler) stop() {
	close(p.done)
	p.wg.Wait()
}

// peak is the most processes seen at once.
func (p *peakSampler) peak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}
