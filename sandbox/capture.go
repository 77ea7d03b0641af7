package sandbox

import "fmt"

// capture keeps the first and last bytes of a stream up to a total of
// limit bytes and counts the rest, so a runaway command's output is cut in
// the middle, where it is least informative.
type capture struct {
	limit int
	head  []byte // first limit/2 bytes
	tail  []byte // ring buffer of the last limit-limit/2 bytes
	pos   int    // next write position in tail once it is full
	full  bool   // tail has wrapped
	total int64  // bytes seen
}

func newCapture(limit int) *capture {
	if limit < 2 {
		limit = 2
	}
	return &capture{limit: limit}
}

// Write records p. It never fails.
func (c *capture) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	headCap := c.limit / 2
	if len(c.head) < headCap {
		k := min(headCap-len(c.head), len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	tailCap := c.limit - headCap
	for len(p) > 0 {
		if !c.full {
			k := min(tailCap-len(c.tail), len(p))
			c.tail = append(c.tail, p[:k]...)
			p = p[k:]
			if len(c.tail) == tailCap {
				c.full = true
				c.pos = 0
			}
			continue
		}
		if len(p) >= tailCap {
			// Only the last tailCap bytes of p can survive.
			copy(c.tail, p[len(p)-tailCap:])
			c.pos = 0
			break
		}
		k := copy(c.tail[c.pos:], p)
		p = p[k:]
		c.pos = (c.pos + k) % tailCap
	}
	return n, nil
}

// Total is the number of bytes written so far.
func (c *capture) Total() int64 { return c.total }

// Bytes returns the kept output and whether anything was dropped. A cut
// is marked with a line naming how many bytes are missing.
func (c *capture) Bytes() ([]byte, bool) {
	kept := int64(len(c.head) + len(c.tail))
	out := make([]byte, 0, kept+64)
	out = append(out, c.head...)
	truncated := c.total > kept
	if truncated {
		out = fmt.Appendf(out, "\n[... %d bytes of output omitted ...]\n", c.total-kept)
	}
	if c.full {
		out = append(out, c.tail[c.pos:]...)
		out = append(out, c.tail[:c.pos]...)
	} else {
		out = append(out, c.tail...)
	}
	return out, truncated
}
