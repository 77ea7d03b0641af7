package sandbox

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// The host, the in-sandbox helper and the launcher talk over Unix stream
// sockets in frames: a 4-byte big-endian length followed by one JSON
// object.

// maxFrame bounds a frame so a corrupt length cannot make a reader
// allocate without limit.
const maxFrame = 256 << 20

// Frame operations.
const (
	opSetup  = "setup"  // host -> helper -> launcher: configuration, first frame
	opReady  = "ready"  // launcher -> helper -> host: restrictions applied
	opRun    = "run"    // host -> helper -> launcher: run one command
	opKill   = "kill"   // host -> helper -> launcher: kill the command with ID
	opResult = "result" // launcher -> helper -> host: how the command ended
)

// setup is the configuration the host sends to the helper, which passes
// it on to the launcher. Paths are as seen inside the sandbox.
type setup struct {
	Mode      string   `json:"mode"` // modeBwrap, modeLandlock or modeNone
	Limits    Limits   `json:"limits"`
	Workspace string   `json:"workspace"`
	Tmp       string   `json:"tmp"`
	Home      string   `json:"home"`
	ReadRoots []string `json:"read_roots"` // trees the commands may read
	Hidden    []string `json:"hidden"`     // paths nobody may read
	Writable  []string `json:"writable"`   // extra writable trees (e.g. /dev/shm)

	ProxySocket string `json:"proxy_socket,omitempty"` // Unix socket of the network proxy
	ProxyListen string `json:"proxy_listen,omitempty"` // where the helper listens for commands
	ProxyPort   int    `json:"proxy_port,omitempty"`   // filled in by the helper for the launcher
	PidsCgroup  bool   `json:"pids_cgroup,omitempty"`  // the sandbox runs in a pids cgroup of its own
	CgroupFDs   []int  `json:"cgroup_fds,omitempty"`   // helper's descriptors of the cgroups' cgroup.procs, to join them
}

// frame is every message; fields unused by an operation stay empty.
type frame struct {
	Op string `json:"op"`
	ID uint64 `json:"id,omitempty"`

	Setup *setup `json:"setup,omitempty"`

	// opRun
	Script  string        `json:"script,omitempty"`
	Dir     string        `json:"dir,omitempty"`
	Env     []string      `json:"env,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Stdin   []byte        `json:"stdin,omitempty"`

	// opResult
	Output    []byte        `json:"output,omitempty"`
	Truncated bool          `json:"truncated,omitempty"`
	ExitCode  int           `json:"exit_code,omitempty"`
	Signal    string        `json:"signal,omitempty"`
	TimedOut  bool          `json:"timed_out,omitempty"`
	Killed    bool          `json:"killed,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
	Limit     string        `json:"limit,omitempty"`

	// opReady: what the launcher enforces.
	LandlockABI int    `json:"landlock_abi,omitempty"`
	Seccomp     bool   `json:"seccomp,omitempty"`
	NetDenied   bool   `json:"net_denied,omitempty"` // Landlock denies TCP (landlock mode)
	ProxyAddr   string `json:"proxy_addr,omitempty"`

	// Err is a failure of the sandbox itself (not of the command).
	Err string `json:"err,omitempty"`
}

// conn sends and receives frames. Sends are safe for concurrent use;
// receives must come from one goroutine.
type conn struct {
	r   *bufio.Reader
	w   io.Writer
	wmu sync.Mutex
}

func newConn(rw io.ReadWriter) *conn {
	return &conn{r: bufio.NewReaderSize(rw, 64<<10), w: rw}
}

// send writes one frame.
func (c *conn) send(f *frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", f.Op, err)
	}
	return c.sendRaw(b)
}

// sendRaw writes an already encoded frame body.
func (c *conn) sendRaw(body []byte) error {
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.w.Write(buf)
	return err
}

// recvRaw reads one frame body.
func (c *conn) recvRaw() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes exceeds the %d byte limit", n, maxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, fmt.Errorf("read frame body: %w", err)
	}
	return body, nil
}

// recv reads and decodes one frame.
func (c *conn) recv() (*frame, error) {
	body, err := c.recvRaw()
	if err != nil {
		return nil, err
	}
	f := new(frame)
	if err := json.Unmarshal(body, f); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	return f, nil
}
