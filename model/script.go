package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ouro-run/ouro"
)

const scriptProviderTag = "script"

// scriptProvider plays a file of assistant turns, one JSON object a line.
// It keeps no state between calls: the turn to play is the number of
// assistant messages already in the conversation, so a resumed run picks
// up where it stopped.
type scriptProvider struct {
	file    string // as the spec wrote it, for messages
	cfg     Config
	turns   []scriptTurn
	monitor *scriptTurn // first "purpose":"monitor" line
	compact *scriptTurn // first "purpose":"compact" line
}

// scriptLine is one line of a script file.
type scriptLine struct {
	Text       string       `json:"text"`
	ToolCalls  []scriptCall `json:"tool_calls"`
	Expect     string       `json:"expect"`
	Usage      *scriptUsage `json:"usage"`
	Purpose    string       `json:"purpose"`
	StopReason string       `json:"stop_reason"`
}

type scriptCall struct {
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type scriptUsage struct {
	InputTokens      int64    `json:"input_tokens"`
	OutputTokens     int64    `json:"output_tokens"`
	CacheReadTokens  int64    `json:"cache_read_tokens"`
	CacheWriteTokens int64    `json:"cache_write_tokens"`
	CostUSD          *float64 `json:"cost_usd"`
}

type scriptTurn struct {
	line int // 1-based line number in the file
	scriptLine
}

// turnsMarker is put into compaction summaries so that the turn count
// survives the agent replacing old messages with the summary.
var turnsMarker = regexp.MustCompile(`\[script: (\d+) turns played\]`)

func openScript(file string, cfg Config) (*scriptProvider, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		reason := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		return nil, &Error{Kind: KindScript, Provider: scriptProviderTag,
			Message: fmt.Sprintf("%s: cannot read the script: %s", file, reason)}
	}
	p := &scriptProvider{file: file, cfg: cfg}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
			continue
		}
		t, err := parseScriptLine(line)
		if err != nil {
			return nil, &Error{Kind: KindScript, Provider: scriptProviderTag,
				Message: fmt.Sprintf("%s line %d: %s", file, i+1, err)}
		}
		t.line = i + 1
		switch t.Purpose {
		case "", "turn":
			p.turns = append(p.turns, t)
		case PurposeMonitor:
			if p.monitor == nil {
				p.monitor = &t
			}
		case PurposeCompact:
			if p.compact == nil {
				p.compact = &t
			}
		}
	}
	return p, nil
}

// parseScriptLine decodes and checks one line.
func parseScriptLine(line string) (scriptTurn, error) {
	var t scriptTurn
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t.scriptLine); err != nil {
		return t, fmt.Errorf("not a valid turn: %s; each line is one JSON object such as {\"text\": \"...\", \"tool_calls\": [{\"name\": \"bash\", \"input\": {\"command\": \"ls\"}}]}", oneLine(err.Error(), 200))
	}
	if _, err := dec.Token(); err != io.EOF {
		return t, errors.New("more than one JSON value on the line; put each turn on its own line")
	}
	switch t.Purpose {
	case "", "turn", PurposeMonitor, PurposeCompact:
	default:
		return t, fmt.Errorf("unknown purpose %q; use turn, monitor or compact", t.Purpose)
	}
	for i, c := range t.ToolCalls {
		if c.Name == "" {
			return t, fmt.Errorf("tool call %d has no name", i+1)
		}
		in := bytes.TrimSpace(c.Input)
		if len(in) == 0 || string(in) == "null" {
			t.ToolCalls[i].Input = json.RawMessage(`{}`)
			continue
		}
		if in[0] != '{' {
			return t, fmt.Errorf("tool call %d (%s): input must be a JSON object", i+1, c.Name)
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, in) // valid: the decoder accepted it
		t.ToolCalls[i].Input = buf.Bytes()
	}
	return t, nil
}

// Name returns "script:FILE".
func (p *scriptProvider) Name() string { return scriptProviderTag + ":" + p.file }

// ContextWindow returns the configured window, or 200000.
func (p *scriptProvider) ContextWindow() int {
	if p.cfg.ContextWindow > 0 {
		return p.cfg.ContextWindow
	}
	return 200_000
}

// Complete plays the turn the conversation has reached. Compaction and
// monitor requests do not use up a turn.
func (p *scriptProvider) Complete(ctx context.Context, req *Request, onText func(string)) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, cancelled(scriptProviderTag, err)
	}
	switch req.Purpose {
	case PurposeCompact:
		return p.summarise(req, onText), nil
	case PurposeMonitor:
		text := `{"score":0,"reason":"scripted"}`
		if p.monitor != nil {
			text = p.monitor.Text
		}
		return p.reply(req, scriptTurn{scriptLine: scriptLine{Text: text}}, 0, onText), nil
	}
	n := turnsPlayed(req)
	if n >= len(p.turns) {
		return nil, &Error{Kind: KindScript, Provider: scriptProviderTag,
			Message: fmt.Sprintf("%s: out of turns after %d turns without a finish call", p.file, len(p.turns))}
	}
	t := p.turns[n]
	if t.Expect != "" {
		got := lastToolOutput(req.Messages)
		if !strings.Contains(got, t.Expect) {
			return nil, &Error{Kind: KindScript, Provider: scriptProviderTag,
				Message: fmt.Sprintf("%s line %d: expected the last tool result to contain %q; it was %q", p.file, t.line, t.Expect, clip(got, 200))}
		}
	}
	return p.reply(req, t, n+1, onText), nil
}

// reply builds the response for a turn; turn numbers the tool call ids.
func (p *scriptProvider) reply(req *Request, t scriptTurn, turn int, onText func(string)) *Response {
	msg := ouro.Message{Role: ouro.RoleAssistant, Text: t.Text}
	for i, c := range t.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, ouro.ToolCall{
			ID:    fmt.Sprintf("call_%d_%d", turn, i+1),
			Name:  c.Name,
			Input: append(json.RawMessage(nil), c.Input...),
		})
	}
	for _, chunk := range chunks(t.Text, 3) {
		if onText != nil {
			onText(chunk)
		}
	}
	var u ouro.Usage
	var cost *float64
	if t.Usage != nil {
		u = ouro.Usage{InputTokens: t.Usage.InputTokens, OutputTokens: t.Usage.OutputTokens,
			CacheReadTokens: t.Usage.CacheReadTokens, CacheWriteTokens: t.Usage.CacheWriteTokens}
		cost = t.Usage.CostUSD
	} else {
		u = ouro.Usage{InputTokens: estimateTokens(requestChars(req)), OutputTokens: estimateTokens(messageChars(msg))}
	}
	switch {
	case cost != nil:
		u.CostUSD = *cost
	default:
		if pr, ok := priceFor(p.file, p.cfg.Prices); ok {
			u.CostUSD = Cost(pr, u)
		} else if pr, ok := p.cfg.Prices[scriptProviderTag]; ok {
			u.CostUSD = Cost(pr, u)
		}
	}
	stop := t.StopReason
	if stop == "" {
		stop = "end_turn"
		if len(msg.ToolCalls) > 0 {
			stop = "tool_use"
		}
	}
	return &Response{Message: msg, Usage: u, StopReason: stop, Model: scriptProviderTag}
}

// summarise answers a compaction request with a deterministic summary
// that lists the tool calls it saw and carries the turn count.
func (p *scriptProvider) summarise(req *Request, onText func(string)) *Response {
	var b strings.Builder
	if p.compact != nil && p.compact.Text != "" {
		b.WriteString(p.compact.Text)
	} else {
		var calls []string
		for _, m := range req.Messages {
			for _, c := range m.ToolCalls {
				calls = append(calls, c.Name+" "+string(c.Input))
			}
		}
		fmt.Fprintf(&b, "Scripted summary of %d messages.", len(req.Messages))
		if len(calls) > 0 {
			b.WriteString(" Tool calls: " + strings.Join(calls, "; ") + ".")
		} else {
			b.WriteString(" No tool calls.")
		}
	}
	fmt.Fprintf(&b, " [script: %d turns played]", turnsPlayed(req))
	return p.reply(req, scriptTurn{scriptLine: scriptLine{Text: b.String()}}, 0, onText)
}

// turnsPlayed counts the assistant messages of a conversation, starting
// from the count a compaction summary recorded, if there is one.
func turnsPlayed(req *Request) int {
	n := 0
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role == ouro.RoleAssistant {
			n++
		}
		if base, ok := markedTurns(m.Text); ok {
			return base + n
		}
	}
	if base, ok := markedTurns(req.System); ok {
		return base + n
	}
	return n
}

func markedTurns(s string) (int, bool) {
	if !strings.Contains(s, "[script: ") {
		return 0, false
	}
	all := turnsMarker.FindAllStringSubmatch(s, -1)
	if len(all) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(all[len(all)-1][1])
	return n, err == nil
}

// lastToolOutput is what an expectation is checked against: the tool
// results of the last message, joined, or its text when it has none.
func lastToolOutput(msgs []ouro.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	m := msgs[len(msgs)-1]
	if m.Role != ouro.RoleUser {
		return ""
	}
	if len(m.ToolResults) == 0 {
		return m.Text
	}
	parts := make([]string, len(m.ToolResults))
	for i, r := range m.ToolResults {
		parts[i] = r.Content
	}
	return strings.Join(parts, "\n")
}

// chunks splits s into at most n pieces on rune boundaries.
func chunks(s string, n int) []string {
	r := []rune(s)
	if len(r) == 0 {
		return nil
	}
	size := (len(r) + n - 1) / n
	var out []string
	for i := 0; i < len(r); i += size {
		out = append(out, string(r[i:min(i+size, len(r))]))
	}
	return out
}

// clip cuts s to n runes, marking the cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// estimateTokens is the usual rough rule: four characters a token.
func estimateTokens(chars int) int64 { return int64(chars) / 4 }

// requestChars counts the characters a request sends.
func requestChars(req *Request) int {
	if req == nil {
		return 0
	}
	n := len(req.System)
	for _, m := range req.Messages {
		n += messageChars(m)
	}
	for _, t := range req.Tools {
		n += len(t.Name) + len(t.Description) + len(t.Schema)
	}
	return n
}

// messageChars counts the characters of one message.
func messageChars(m ouro.Message) int {
	n := len(m.Text)
	for _, c := range m.ToolCalls {
		n += len(c.Name) + len(c.Input)
	}
	for _, r := range m.ToolResults {
		n += len(r.Content)
	}
	return n
}
