package accel

import (
	"fmt"
	"strings"
)

// Kind says who wrote a commit. Every commit has exactly one kind, decided in
// the order of the constants.
type Kind int

// The kinds, in the order they are decided.
const (
	Automation Kind = iota // dependency and CI bots; not counted as people
	Autonomous             // an agent that another agent delegated to
	Agent                  // a coding agent
	Assisted               // a human with an AI marker
	Human                  // everything else
	numKinds
)

// Kinds lists every kind in decision order.
var Kinds = [...]Kind{Automation, Autonomous, Agent, Assisted, Human}

var kindNames = [...]string{"automation", "autonomous", "agent", "assisted", "human"}

// String returns the kind's name as used in reports.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// IsAI reports whether the kind counts towards the AI share.
func (k Kind) IsAI() bool { return k == Autonomous || k == Agent || k == Assisted }

// Trailer is one key-value line of a commit message's trailer block.
type Trailer struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ParseTrailers returns the trailers of a commit message with the semantics
// of `git interpret-trailers --parse`: only the last paragraph counts, never
// the subject paragraph; the block must consist of trailer lines only, or
// hold at least one git-generated trailer (Signed-off-by, "(cherry picked
// from commit") with trailers making up a quarter of its lines; continuation
// lines are folded into the trailer above; a "---" line ends the message.
func ParseTrailers(msg string) []Trailer {
	lines := splitLines(msg)
	// A line starting with "---" and a space ends the message (a patch follows).
	for i, l := range lines {
		if strings.HasPrefix(l, "---") && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r') {
			lines = lines[:i]
			break
		}
	}
	// The subject paragraph cannot hold trailers.
	title := len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if isBlank(l) {
			title = i
			break
		}
	}
	start := -1
	trailerLines, nonTrailer, cont := 0, 0, 0
	recognized, onlySpaces := false, true
	for i := len(lines) - 1; i >= title; i-- {
		l := lines[i]
		if strings.HasPrefix(l, "#") {
			nonTrailer += cont
			cont = 0
			continue
		}
		if isBlank(l) {
			if onlySpaces {
				continue
			}
			nonTrailer += cont
			if (recognized && trailerLines*3 >= nonTrailer) || (trailerLines > 0 && nonTrailer == 0) {
				start = i + 1
			}
			break
		}
		onlySpaces = false
		if strings.HasPrefix(l, "Signed-off-by: ") || strings.HasPrefix(l, "(cherry picked from commit ") {
			trailerLines++
			cont = 0
			recognized = true
			continue
		}
		sep := findSeparator(l)
		switch {
		case sep >= 1 && !isSpace(l[0]):
			trailerLines++
			cont = 0
		case isSpace(l[0]):
			cont++
		default:
			nonTrailer += 1 + cont
			cont = 0
		}
	}
	if start < 0 {
		return nil
	}
	var out []Trailer
	for _, l := range lines[start:] {
		if strings.HasPrefix(l, "#") || isBlank(l) {
			continue
		}
		if isSpace(l[0]) {
			if len(out) > 0 {
				out[len(out)-1].Value = strings.TrimSpace(out[len(out)-1].Value + " " + strings.TrimSpace(l))
			}
			continue
		}
		sep := findSeparator(l)
		if sep < 1 {
			continue
		}
		out = append(out, Trailer{Key: strings.TrimSpace(l[:sep]), Value: strings.TrimSpace(l[sep+1:])})
	}
	return out
}

// findSeparator returns the index of the ':' that ends a trailer key, or -1.
// A key is letters, digits and '-', optionally followed by blanks.
func findSeparator(l string) int {
	ws := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == ':' {
			return i
		}
		if !ws && (isAlnum(c) || c == '-') {
			continue
		}
		if i > 0 && (c == ' ' || c == '\t') {
			ws = true
			continue
		}
		break
	}
	return -1
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Evidence is one fact that bears on a commit's kind.
type Evidence struct {
	// Kind is the kind this fact points to.
	Kind Kind `json:"-"`
	// KindName is Kind as text.
	KindName string `json:"kind"`
	// Decisive is true for the fact that decided the commit's kind.
	Decisive bool `json:"decisive"`
	// Fact says what was seen, and where.
	Fact string `json:"fact"`
}

// classifier is a compiled Identities table.
type classifier struct {
	delegated                   map[string]string // run id -> parent run id, from the journal
	automation, agent, aiEmails emailSet
	nameSuffixes                []string
	autonomousTrailers          map[string]bool
	agentTrailers               map[string]bool
	coauthorTrailers            map[string]bool
	toolTrailers                map[string]bool
	toolNames                   []string
	bodyMarkers                 []string // lower-cased
	bodyMarkerText              []string // as configured
}

func lowerSet(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[strings.ToLower(strings.TrimSpace(k))] = true
	}
	return m
}

func lowerList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func trimList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func newClassifier(id *Identities) *classifier {
	if id == nil {
		id = DefaultIdentities()
	}
	return &classifier{
		automation:         newEmailSet(id.Automation),
		agent:              newEmailSet(id.Agent.IdentityList),
		aiEmails:           newEmailSet(id.Assisted.IdentityList),
		nameSuffixes:       lowerList(id.Agent.NameSuffixes),
		autonomousTrailers: lowerSet(id.Autonomous.Trailers),
		agentTrailers:      lowerSet(id.Agent.Trailers),
		coauthorTrailers:   lowerSet(id.Assisted.CoauthorTrailers),
		toolTrailers:       lowerSet(id.Assisted.ToolTrailers),
		toolNames:          lowerList(id.Assisted.ToolNames),
		bodyMarkers:        lowerList(id.Assisted.BodyMarkers),
		bodyMarkerText:     trimList(id.Assisted.BodyMarkers),
	}
}

// withDelegated makes the classifier treat commits of the given runs
// (run id -> parent run id, from ouro's journal) as autonomous.
func (c *classifier) withDelegated(runs map[string]string) *classifier {
	c.delegated = runs
	return c
}

// commitMeta is what the classifier reads of a commit. Emails are already
// normalized (lower-cased, after .mailmap).
type commitMeta struct {
	authorEmail, authorName       string
	committerEmail, committerName string
	body                          string
}

// verdict is the outcome of classifying one commit.
type verdict struct {
	kind     Kind
	marked   bool // any AI marker at all, decisive or not
	trailers bool // the message has a trailer block
}

// classify decides the kind of a commit. When ev is not nil, every fact that
// bears on the kind is appended to it.
func (c *classifier) classify(m *commitMeta, ev *[]Evidence) verdict {
	var cand [numKinds]bool
	add := func(k Kind, format string, args ...any) {
		cand[k] = true
		if ev != nil {
			*ev = append(*ev, Evidence{Kind: k, KindName: k.String(), Fact: fmt.Sprintf(format, args...)})
		}
	}
	note := func(format string, args ...any) {
		if ev != nil {
			*ev = append(*ev, Evidence{Kind: Human, KindName: Human.String(), Fact: fmt.Sprintf(format, args...)})
		}
	}
	v := verdict{}

	_, authorAgent := c.agent.match(m.authorEmail)
	if e, ok := c.automation.match(m.authorEmail); ok && (!authorAgent || c.automation.exact[m.authorEmail]) {
		add(Automation, "author email %s is a known automation identity (%s)", m.authorEmail, e)
	}
	if e, ok := c.agent.match(m.authorEmail); ok {
		add(Agent, "author email %s is a coding-agent identity (%s)", m.authorEmail, e)
	}
	if e, ok := c.agent.match(m.committerEmail); ok && m.committerEmail != m.authorEmail {
		add(Agent, "committer email %s is a coding-agent identity (%s)", m.committerEmail, e)
	}
	for _, suf := range c.nameSuffixes {
		if strings.HasSuffix(strings.ToLower(m.authorName), suf) {
			add(Agent, "author name %q ends with the agent marker %q", m.authorName, suf)
		} else if strings.HasSuffix(strings.ToLower(m.committerName), suf) {
			add(Agent, "committer name %q ends with the agent marker %q", m.committerName, suf)
		}
	}
	if ev != nil && !cand[Automation] && !cand[Agent] {
		if n := c.toolNameIn(m.authorName); n != "" {
			note("author name %q looks like the AI tool %q, but names are only evidence: the email %s decides", m.authorName, n, m.authorEmail)
		}
	}

	trailers := ParseTrailers(m.body)
	v.trailers = len(trailers) > 0
	for _, t := range trailers {
		key := strings.ToLower(t.Key)
		switch {
		case c.autonomousTrailers[key]:
			add(Autonomous, "trailer %s: %s (delegated by another agent run)", t.Key, t.Value)
		case c.agentTrailers[key] && c.delegated[strings.TrimSpace(t.Value)] != "":
			add(Autonomous, "trailer %s: %s, a run the journal records as delegated by %s", t.Key, t.Value, c.delegated[strings.TrimSpace(t.Value)])
		case c.agentTrailers[key]:
			add(Agent, "trailer %s: %s (written by an agent run)", t.Key, t.Value)
		case c.toolTrailers[key]:
			add(Assisted, "trailer %s: %s is written only by an AI tool", t.Key, t.Value)
		case c.coauthorTrailers[key]:
			name, email := splitAddress(t.Value)
			if email != "" {
				email = normalizeEmail(email)
				if e, ok := c.aiEmails.match(email); ok {
					add(Assisted, "trailer %s: %s names the AI address %s (%s)", t.Key, t.Value, email, e)
				} else if e, ok := c.agent.match(email); ok {
					add(Assisted, "trailer %s: %s names the coding-agent address %s (%s)", t.Key, t.Value, email, e)
				} else if n := c.toolNameIn(name); n != "" {
					v.marked = true
					note("trailer %s: %s has an AI-looking name (%q) but a person's address; the email decides: human", t.Key, t.Value, n)
				} else {
					note("trailer %s: %s names a person", t.Key, t.Value)
				}
			} else if n := c.toolNameIn(t.Value); n != "" {
				add(Assisted, "trailer %s: %s names the AI tool %q (no address given)", t.Key, t.Value, n)
			} else {
				note("trailer %s: %s names no known AI tool", t.Key, t.Value)
			}
		}
	}
	if len(c.bodyMarkers) > 0 {
		lb := strings.ToLower(m.body)
		for i, mk := range c.bodyMarkers {
			if strings.Contains(lb, mk) {
				add(Assisted, "message body contains the tool marker %q", c.bodyMarkerText[i])
				break
			}
		}
	}
	if ev != nil && len(trailers) == 0 {
		for _, l := range splitLines(m.body) {
			if sep := findSeparator(l); sep > 0 && (c.coauthorTrailers[strings.ToLower(l[:sep])] || c.agentTrailers[strings.ToLower(l[:sep])] || c.autonomousTrailers[strings.ToLower(l[:sep])]) {
				note("line %q looks like a trailer but is not in the trailer block, so it is ignored", l)
			}
		}
	}

	v.kind = Human
	for _, k := range Kinds {
		if cand[k] {
			v.kind = k
			break
		}
	}
	if v.kind != Human && v.kind != Automation {
		v.marked = true
	}
	if ev != nil {
		for i := range *ev {
			if (*ev)[i].Kind == v.kind && v.kind != Human {
				(*ev)[i].Decisive = true
				break
			}
		}
		if v.kind == Human {
			*ev = append(*ev, Evidence{Kind: Human, KindName: "human", Decisive: true,
				Fact: fmt.Sprintf("author %s <%s>: no automation, agent or AI marker decides otherwise", m.authorName, m.authorEmail)})
		}
	}
	return v
}

// toolNameIn returns the first known AI tool name that occurs in s as a
// whole word, or "".
func (c *classifier) toolNameIn(s string) string {
	if s == "" {
		return ""
	}
	ls := strings.ToLower(s)
	for _, n := range c.toolNames {
		if containsWord(ls, n) {
			return n
		}
	}
	return ""
}

// containsWord reports whether w occurs in s with no letter or digit
// directly before or after it.
func containsWord(s, w string) bool {
	for off := 0; off <= len(s)-len(w); {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		before := i == 0 || !isAlnum(s[i-1])
		end := i + len(w)
		after := end == len(s) || !isAlnum(s[end])
		if before && after {
			return true
		}
		off = i + 1
	}
	return false
}

// splitAddress splits "Name <email>" into its parts; a bare address is
// returned as the email.
func splitAddress(v string) (name, email string) {
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1 : i+j])
		}
	}
	v = strings.TrimSpace(v)
	if strings.Contains(v, "@") && !strings.ContainsAny(v, " \t") {
		return "", v
	}
	return v, ""
}
