package tool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ouro-run/ouro"
)

// kind is the JSON type of one argument.
type kind int

const (
	kString kind = iota
	kInt
)

// field is one argument of a tool.
type field struct {
	name     string
	kind     kind
	required bool
	min      int64 // smallest accepted integer, for kInt
	desc     string
}

// params is the argument list of a tool; it yields both the JSON schema
// given to the model and the parser that checks what the model sent.
type params struct {
	tool   string
	fields []field
}

// schema returns the draft 2020-12 JSON schema of the arguments.
func (p *params) schema() json.RawMessage {
	props := map[string]any{}
	required := []string{}
	for _, f := range p.fields {
		prop := map[string]any{"description": f.desc}
		switch f.kind {
		case kString:
			prop["type"] = "string"
		case kInt:
			prop["type"] = "integer"
			prop["minimum"] = f.min
		}
		props[f.name] = prop
		if f.required {
			required = append(required, f.name)
		}
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("marshal schema of %s: %v", p.tool, err)) // static data; cannot happen
	}
	return b
}

// spec returns the ToolSpec with the given description.
func (p *params) spec(desc string) ouro.ToolSpec {
	return ouro.ToolSpec{Name: p.tool, Description: desc, Schema: p.schema()}
}

// signature is the argument list as the model should write it, for error
// messages: {"path": string, "offset"?: integer}.
func (p *params) signature() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range p.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(f.name))
		if !f.required {
			b.WriteByte('?')
		}
		b.WriteString(": ")
		if f.kind == kInt {
			b.WriteString("integer")
		} else {
			b.WriteString("string")
		}
	}
	b.WriteByte('}')
	return b.String()
}

// errorf is an invalid-arguments error naming the tool and the expected
// argument list.
func (p *params) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: invalid arguments: %s; expected %s", p.tool, fmt.Sprintf(format, args...), p.signature())
}

// parse checks input against the fields: a JSON object, no unknown or
// repeated keys, every required field present, every value of its type.
// Strings come back as string and integers as int64. An optional field
// given as null counts as absent. Empty input counts as {}.
func (p *params) parse(input json.RawMessage) (map[string]any, error) {
	out := make(map[string]any, len(p.fields))
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	tok, err := dec.Token()
	if err != nil {
		return nil, p.errorf("not valid JSON (%v)", jsonErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, p.errorf("arguments must be a JSON object, got %s", tokenKind(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, p.errorf("not valid JSON (%v)", jsonErr(err))
		}
		key, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, p.errorf("not valid JSON (%v)", jsonErr(err))
		}
		if seen[key] {
			return nil, p.errorf("field %q given twice", key)
		}
		seen[key] = true
		f, ok := p.field(key)
		if !ok {
			return nil, p.errorf("unknown field %q", key)
		}
		if string(raw) == "null" && !f.required {
			continue
		}
		v, err := f.value(raw)
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, p.errorf("not valid JSON (%v)", jsonErr(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, p.errorf("not valid JSON (data after the closing brace)")
	}
	for _, f := range p.fields {
		if _, ok := out[f.name]; f.required && !ok {
			return nil, p.errorf("missing %q", f.name)
		}
	}
	return out, nil
}

func (p *params) field(name string) (field, bool) {
	for _, f := range p.fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// value converts one raw JSON value to the field's Go type.
func (f field) value(raw json.RawMessage) (any, error) {
	switch f.kind {
	case kString:
		if len(raw) == 0 || raw[0] != '"' {
			return nil, fmt.Errorf("%q must be a string, got %s", f.name, rawKind(raw))
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%q is not a valid JSON string: %v", f.name, err)
		}
		return s, nil
	case kInt:
		if rawKind(raw) != "number" {
			return nil, fmt.Errorf("%q must be an integer, got %s", f.name, rawKind(raw))
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			x, ferr := strconv.ParseFloat(string(raw), 64)
			if ferr != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("%q must be an integer, got %s", f.name, raw)
			}
			n = int64(x)
		}
		if n < f.min {
			return nil, fmt.Errorf("%q must be at least %d, got %d", f.name, f.min, n)
		}
		return n, nil
	}
	return nil, fmt.Errorf("%q has an unsupported type", f.name)
}

// jsonErr words a decoding error for the model.
func jsonErr(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends too early"
	}
	return err.Error()
}

// rawKind names the JSON type of a raw value.
func rawKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// tokenKind names the JSON type that starts with tok.
func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return string(v)
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "number"
}

// str returns the string argument name, or "" when absent.
func str(args map[string]any, name string) string {
	s, _ := args[name].(string)
	return s
}

// num returns the integer argument name, or def when absent.
func num(args map[string]any, name string, def int64) int64 {
	if n, ok := args[name].(int64); ok {
		return n
	}
	return def
}
