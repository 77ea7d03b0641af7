package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// eventTag opens every event's canonical encoding.
const eventTag = "ouro.event.v1\x00"

// eventHash is the chain hash of one event over its canonical encoding,
// see appendCanonical.
func eventHash(seq int64, runID, typ string, timeNS int64, data []byte, prev Hash) Hash {
	return sha256Sum(appendCanonical(nil, seq, runID, typ, timeNS, data, prev))
}

// appendCanonical appends an event's canonical encoding to b: a domain tag,
// then every field in a fixed order, numbers as 8 bytes big-endian and byte
// strings prefixed by their length, then the previous event's hash. The
// stored bytes of data are encoded exactly as stored, so no JSON
// re-encoding can make two encodings disagree.
func appendCanonical(b []byte, seq int64, runID, typ string, timeNS int64, data []byte, prev Hash) []byte {
	return appendCanonicalBytes(b, seq, []byte(runID), []byte(typ), timeNS, data, prev)
}

// appendCanonicalBytes is appendCanonical with the text fields as bytes.
func appendCanonicalBytes(b []byte, seq int64, runID, typ []byte, timeNS int64, data []byte, prev Hash) []byte {
	b = append(b, eventTag...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = binary.BigEndian.AppendUint64(b, uint64(len(runID)))
	b = append(b, runID...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(typ)))
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint64(b, uint64(timeNS))
	b = binary.BigEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, data...)
	return append(b, prev[:]...)
}

// sha256Sum hashes b in one call (SHA-NI or AVX2 accelerated on amd64).
func sha256Sum(b []byte) Hash { return sha256.Sum256(b) }

// LeafHash is the RFC 6962 leaf hash of an event: SHA-256(0x00 || event hash).
func LeafHash(eventHash Hash) Hash {
	var b [33]byte
	b[0] = 0
	copy(b[1:], eventHash[:])
	return sha256.Sum256(b[:])
}

// NodeHash is the RFC 6962 interior node hash: SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// emptyRoot is the Merkle tree hash of an empty log: SHA-256 of nothing.
var emptyRoot = Hash(sha256.Sum256(nil))

// Frontier is the compact state of an append-only Merkle tree: the roots of
// its perfect subtrees, largest first, one per set bit of Size. It grows by
// one leaf in amortised O(1) and yields the tree head at any time.
type Frontier struct {
	Size  int64
	Nodes []Hash
}

// Push appends one leaf hash.
func (f *Frontier) Push(leaf Hash) {
	f.Nodes = append(f.Nodes, leaf)
	// Merge equal-sized subtrees: trailing one bits of the old size.
	for s := f.Size; s&1 == 1; s >>= 1 {
		n := len(f.Nodes)
		f.Nodes[n-2] = NodeHash(f.Nodes[n-2], f.Nodes[n-1])
		f.Nodes = f.Nodes[:n-1]
	}
	f.Size++
}

// Root is the RFC 6962 Merkle tree head of the leaves pushed so far.
func (f *Frontier) Root() Hash {
	if len(f.Nodes) == 0 {
		return emptyRoot
	}
	r := f.Nodes[len(f.Nodes)-1]
	for i := len(f.Nodes) - 2; i >= 0; i-- {
		r = NodeHash(f.Nodes[i], r)
	}
	return r
}

// marshal encodes the frontier for storage.
func (f *Frontier) marshal() []byte {
	b := make([]byte, 8, 8+32*len(f.Nodes))
	binary.BigEndian.PutUint64(b, uint64(f.Size))
	for _, n := range f.Nodes {
		b = append(b, n[:]...)
	}
	return b
}

func unmarshalFrontier(b []byte) (Frontier, error) {
	if len(b) < 8 || (len(b)-8)%32 != 0 {
		return Frontier{}, errors.New("malformed merkle frontier")
	}
	f := Frontier{Size: int64(binary.BigEndian.Uint64(b))}
	for p := 8; p < len(b); p += 32 {
		var h Hash
		copy(h[:], b[p:])
		f.Nodes = append(f.Nodes, h)
	}
	if bits.OnesCount64(uint64(f.Size)) != len(f.Nodes) {
		return Frontier{}, fmt.Errorf("merkle frontier of size %d has %d nodes", f.Size, len(f.Nodes))
	}
	return f, nil
}

// LeafSource yields the leaf hashes of a log range [from, to).
type LeafSource func(from, to int64, fn func(Hash)) error

// subtreeRoot is MTH(D[from:to]) computed by streaming the leaves.
func subtreeRoot(src LeafSource, from, to int64) (Hash, error) {
	var f Frontier
	if err := src(from, to, f.Push); err != nil {
		return Hash{}, err
	}
	return f.Root(), nil
}

// ConsistencyProof returns the RFC 6962 (section 2.1.2) proof that the tree
// of size m is a prefix of the tree of size n, reading leaves from src.
func ConsistencyProof(src LeafSource, m, n int64) ([]Hash, error) {
	if m <= 0 || m > n {
		return nil, fmt.Errorf("consistency proof: need 0 < old size (%d) <= new size (%d)", m, n)
	}
	if m == n {
		return nil, nil
	}
	return subproof(src, m, 0, n, true)
}

// subproof is SUBPROOF(m, D[start:start+n], b) of RFC 6962.
func subproof(src LeafSource, m, start, n int64, complete bool) ([]Hash, error) {
	if m == n {
		if complete {
			return nil, nil
		}
		h, err := subtreeRoot(src, start, start+n)
		if err != nil {
			return nil, err
		}
		return []Hash{h}, nil
	}
	k := largestPow2Below(n)
	if m <= k {
		p, err := subproof(src, m, start, k, complete)
		if err != nil {
			return nil, err
		}
		h, err := subtreeRoot(src, start+k, start+n)
		if err != nil {
			return nil, err
		}
		return append(p, h), nil
	}
	p, err := subproof(src, m-k, start+k, n-k, false)
	if err != nil {
		return nil, err
	}
	h, err := subtreeRoot(src, start, start+k)
	if err != nil {
		return nil, err
	}
	return append(p, h), nil
}

// largestPow2Below is the largest power of two strictly less than n (n > 1).
func largestPow2Below(n int64) int64 {
	return int64(1) << (bits.Len64(uint64(n-1)) - 1)
}

// VerifyConsistency checks a consistency proof between two tree heads, as a
// verifier that kept the old head would: it needs no leaves.
func VerifyConsistency(m, n int64, oldRoot, newRoot Hash, proof []Hash) error {
	if m <= 0 || m > n {
		return fmt.Errorf("bad sizes: old %d, new %d", m, n)
	}
	if m == n {
		if len(proof) != 0 || oldRoot != newRoot {
			return errors.New("same size but different roots: the log was rewritten")
		}
		return nil
	}
	// The algorithm of RFC 9162 section 2.1.4.2.
	p := proof
	if m&(m-1) == 0 { // m is a power of two: the old root is the first node
		p = append([]Hash{oldRoot}, p...)
	}
	if len(p) == 0 {
		return errors.New("empty consistency proof")
	}
	fn, sn := uint64(m-1), uint64(n-1)
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := p[0], p[0]
	for _, c := range p[1:] {
		if sn == 0 {
			return errors.New("consistency proof too long")
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return errors.New("consistency proof too short")
	}
	if fr != oldRoot {
		return errors.New("the old tree head is not a prefix of this log: history was rewritten")
	}
	if sr != newRoot {
		return errors.New("the proof does not lead to the new tree head")
	}
	return nil
}
