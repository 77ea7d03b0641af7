package accel

import (
	_ "embed"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed identities.yaml
var defaultIdentitiesYAML []byte

// IdentityList is a set of addresses and patterns for one kind.
type IdentityList struct {
	// Emails are exact addresses, compared lower-cased.
	Emails []string `yaml:"emails" json:"emails,omitempty"`
	// EmailPatterns are addresses where "*" matches any run of characters.
	EmailPatterns []string `yaml:"email_patterns" json:"email_patterns,omitempty"`
}

// AgentList names coding-agent identities and markers.
type AgentList struct {
	IdentityList `yaml:",inline"`
	// NameSuffixes mark an author or committer name as an agent's, for tools
	// that keep the user's email (aider's "(aider)").
	NameSuffixes []string `yaml:"name_suffixes" json:"name_suffixes,omitempty"`
	// Trailers are trailer keys whose presence makes a commit an agent's.
	Trailers []string `yaml:"trailers" json:"trailers,omitempty"`
}

// AssistedList names the markers of AI assistance on a human's commit.
type AssistedList struct {
	IdentityList `yaml:",inline"`
	// CoauthorTrailers are trailer keys that name a co-author or helper.
	CoauthorTrailers []string `yaml:"coauthor_trailers" json:"coauthor_trailers,omitempty"`
	// ToolNames are AI tool names matched as words in a co-author trailer
	// value that has no email address.
	ToolNames []string `yaml:"tool_names" json:"tool_names,omitempty"`
	// ToolTrailers are trailer keys that only AI tools write.
	ToolTrailers []string `yaml:"tool_trailers" json:"tool_trailers,omitempty"`
	// BodyMarkers are phrases AI tools put in the message body.
	BodyMarkers []string `yaml:"body_markers" json:"body_markers,omitempty"`
}

// Identities is the table of known identities and markers that decides the
// kind of each commit. DefaultIdentities returns the built-in table; config
// extends it with Merge.
type Identities struct {
	Automation IdentityList `yaml:"automation" json:"automation"`
	Autonomous struct {
		Trailers []string `yaml:"trailers" json:"trailers,omitempty"`
	} `yaml:"autonomous" json:"autonomous"`
	Agent    AgentList    `yaml:"agent" json:"agent"`
	Assisted AssistedList `yaml:"assisted" json:"assisted"`
}

// DefaultIdentities returns a fresh copy of the built-in identity table.
func DefaultIdentities() *Identities {
	var id Identities
	if err := yaml.Unmarshal(defaultIdentitiesYAML, &id); err != nil {
		panic(fmt.Sprintf("accel: built-in identities.yaml is invalid: %v", err))
	}
	return &id
}

// ParseIdentities parses an identity table in the YAML shape of the built-in
// one (all keys optional).
func ParseIdentities(data []byte) (*Identities, error) {
	var id Identities
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&id); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("parse identities: %w", err)
	}
	return &id, nil
}

// LoadIdentities reads an identity table from a YAML file and returns the
// built-in table extended with it.
func LoadIdentities(path string) (*Identities, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load identities: %w", err)
	}
	extra, err := ParseIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("load identities from %s: %w", path, err)
	}
	id := DefaultIdentities()
	id.Merge(extra)
	return id, nil
}

// Merge appends every list of other to the lists of id.
func (id *Identities) Merge(other *Identities) {
	if other == nil {
		return
	}
	mergeList := func(dst *IdentityList, src IdentityList) {
		dst.Emails = append(dst.Emails, src.Emails...)
		dst.EmailPatterns = append(dst.EmailPatterns, src.EmailPatterns...)
	}
	mergeList(&id.Automation, other.Automation)
	id.Autonomous.Trailers = append(id.Autonomous.Trailers, other.Autonomous.Trailers...)
	mergeList(&id.Agent.IdentityList, other.Agent.IdentityList)
	id.Agent.NameSuffixes = append(id.Agent.NameSuffixes, other.Agent.NameSuffixes...)
	id.Agent.Trailers = append(id.Agent.Trailers, other.Agent.Trailers...)
	mergeList(&id.Assisted.IdentityList, other.Assisted.IdentityList)
	id.Assisted.CoauthorTrailers = append(id.Assisted.CoauthorTrailers, other.Assisted.CoauthorTrailers...)
	id.Assisted.ToolNames = append(id.Assisted.ToolNames, other.Assisted.ToolNames...)
	id.Assisted.ToolTrailers = append(id.Assisted.ToolTrailers, other.Assisted.ToolTrailers...)
	id.Assisted.BodyMarkers = append(id.Assisted.BodyMarkers, other.Assisted.BodyMarkers...)
}

// emailSet is a compiled IdentityList.
type emailSet struct {
	exact    map[string]bool
	patterns []string
}

func newEmailSet(l IdentityList) emailSet {
	s := emailSet{exact: make(map[string]bool, len(l.Emails))}
	for _, e := range l.Emails {
		s.exact[normalizeEmail(e)] = true
	}
	for _, p := range l.EmailPatterns {
		s.patterns = append(s.patterns, strings.ToLower(strings.TrimSpace(p)))
	}
	return s
}

// match reports whether the normalized email is in the set, and the entry
// that matched.
func (s emailSet) match(email string) (string, bool) {
	if email == "" {
		return "", false
	}
	if s.exact[email] {
		return email, true
	}
	for _, p := range s.patterns {
		if globMatch(p, email) {
			return p, true
		}
	}
	return "", false
}

// globMatch matches s against p where '*' matches any run of bytes and every
// other byte matches itself.
func globMatch(p, s string) bool {
	star, ss := -1, 0
	pi, si := 0, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, ss = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			ss++
			si = ss
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// normalizeEmail lower-cases an address and drops the numeric "ID+" prefix
// of a GitHub noreply address.
func normalizeEmail(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	const gh = "@users.noreply.github.com"
	if strings.HasSuffix(e, gh) {
		if i := strings.IndexByte(e, '+'); i > 0 && i < len(e)-len(gh) && allDigits(e[:i]) {
			e = e[i+1:]
		}
	}
	return e
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
