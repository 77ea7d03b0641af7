package accel

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func TestParseTrailers(t *testing.T) {
	cases := []struct {
		name string
		msg  string
		want []Trailer
	}{
		{"subject only", "Co-authored-by: Claude <noreply@anthropic.com>\n", nil},
		{"subject and block", "Fix\n\nCo-authored-by: A <a@x.org>\nSigned-off-by: B <b@x.org>\n",
			[]Trailer{{"Co-authored-by", "A <a@x.org>"}, {"Signed-off-by", "B <b@x.org>"}}},
		{"trailing blank lines", "Fix\n\nbody\n\nKey: v\n\n\n", []Trailer{{"Key", "v"}}},
		{"not the last paragraph", "Fix\n\nCo-authored-by: A <a@x.org>\n\nMore prose.\n", nil},
		{"prose line in block", "Fix\n\nCo-authored-by: A <a@x.org>\nthis is prose\n", nil},
		{"git-generated with prose, a quarter", "Fix\n\nprose one\nprose two\nprose three\nSigned-off-by: B <b@x.org>\n",
			[]Trailer{{"Signed-off-by", "B <b@x.org>"}}},
		{"git-generated with too much prose", "Fix\n\np1\np2\np3\np4\nSigned-off-by: B <b@x.org>\n", nil},
		{"continuation line", "Fix\n\nKey: first\n  second\nOther: x\n", []Trailer{{"Key", "first second"}, {"Other", "x"}}},
		{"space before colon", "Fix\n\nAssisted-by : Claude\n", []Trailer{{"Assisted-by", "Claude"}}},
		{"a URL line is a trailer, as in git", "Fix\n\nhttps://example.com/x\n", []Trailer{{"https", "//example.com/x"}}},
		{"patch divider", "Fix\n\nKey: v\n---\n a.go | 1 +\n", []Trailer{{"Key", "v"}}},
		{"cherry pick", "Fix\n\nsome text\n(cherry picked from commit abc)\n", []Trailer{}},
		{"empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseTrailers(c.msg)
			if len(got) == 0 && len(c.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseTrailers(%q) = %+v, want %+v", c.msg, got, c.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cls := newClassifier(nil)
	human := commitMeta{authorEmail: "ann@example.com", authorName: "Ann", committerEmail: "ann@example.com", committerName: "Ann"}
	with := func(body string) commitMeta { m := human; m.body = body; return m }
	cases := []struct {
		name string
		meta commitMeta
		want Kind
	}{
		{"plain human", with("Fix\n"), Human},
		{"renovate", commitMeta{authorEmail: "renovate[bot]@users.noreply.github.com", body: "Update\n"}, Automation},
		{"github actions", commitMeta{authorEmail: normalizeEmail("41898282+github-actions[bot]@users.noreply.github.com"), body: "x\n"}, Automation},
		{"automation beats agent trailers", commitMeta{authorEmail: "bot@renovateapp.com", body: "x\n\nOuro-Run: r\n"}, Automation},
		{"autonomous beats agent", with("x\n\nOuro-Run: r2\nOuro-Parent-Run: r1\n"), Autonomous},
		{"devin", commitMeta{authorEmail: normalizeEmail("158243242+devin-ai-integration[bot]@users.noreply.github.com"), body: "x\n"}, Agent},
		{"jules as committer", commitMeta{authorEmail: "ann@example.com", committerEmail: normalizeEmail("161369871+google-labs-jules[bot]@users.noreply.github.com"), body: "x\n"}, Agent},
		{"cursor agent", commitMeta{authorEmail: "cursoragent@cursor.com", body: "x\n"}, Agent},
		{"openhands", commitMeta{authorEmail: "openhands@all-hands.dev", body: "x\n"}, Agent},
		{"aider suffix", commitMeta{authorEmail: "ann@example.com", authorName: "Ann (aider)", body: "x\n"}, Agent},
		{"agent name but human email", commitMeta{authorEmail: "ann@example.com", authorName: "Devin", body: "x\n"}, Human},
		{"ouro co-author", with("x\n\nCo-Authored-By: claude-opus <noreply@ouro.invalid>\n"), Assisted},
		{"copilot co-author", with("x\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>\n"), Assisted},
		{"aider co-author", with("x\n\nCo-authored-by: aider (gpt-4o) <aider@aider.chat>\n"), Assisted},
		{"human co-author", with("x\n\nCo-authored-by: Bob <bob@example.com>\n"), Human},
		{"AI name, person's email", with("x\n\nCo-authored-by: Claude <bob@example.com>\n"), Human},
		{"assisted-by person", with("x\n\nAssisted-by: Bob Smith\n"), Human},
		{"assisted-by tool", with("x\n\nAssisted-by: GitHub Copilot\n"), Assisted},
		{"generated-by tool", with("x\n\nGenerated-by: ChatGPT\n"), Assisted},
		{"tool name inside a word", with("x\n\nAssisted-by: Camparo\n"), Human},
		{"amp thread", with("x\n\nAmp-Thread-ID: https://ampcode.com/threads/T-1\n"), Assisted},
		{"claude code body", with("x\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n"), Assisted},
		{"trailer in the subject", with("Co-authored-by: Claude <noreply@anthropic.com>\n"), Human},
		{"trailer mid-body", with("x\n\nCo-authored-by: Claude <noreply@anthropic.com>\n\nsigned, Ann\n"), Human},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ev []Evidence
			v := cls.classify(&c.meta, &ev)
			if v.kind != c.want {
				t.Errorf("kind = %s, want %s; evidence %+v", v.kind, c.want, ev)
			}
			if v2 := cls.classify(&c.meta, nil); v2 != v {
				t.Errorf("without evidence the verdict differs: %+v vs %+v", v2, v)
			}
			decisive := 0
			for _, e := range ev {
				if e.Decisive {
					decisive++
				}
			}
			if decisive != 1 {
				t.Errorf("%d decisive facts, want 1: %+v", decisive, ev)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"49699333+dependabot[bot]@users.noreply.github.com": "dependabot[bot]@users.noreply.github.com",
		"Ann@Example.COM ":                 "ann@example.com",
		"ann+tag@example.com":              "ann+tag@example.com",
		"12+ann@users.noreply.github.com":  "ann@users.noreply.github.com",
		"x12+ann@users.noreply.github.com": "x12+ann@users.noreply.github.com",
	} {
		if got := normalizeEmail(in); got != want {
			t.Errorf("normalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if !globMatch("*[bot]@users.noreply.github.com", "x[bot]@users.noreply.github.com") || globMatch("*[bot]@users.noreply.github.com", "xbot@users.noreply.github.com") {
		t.Error("globMatch treats brackets as a class")
	}
}

func TestPeriods(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	cases := []struct {
		g     Granularity
		at    string
		label string
		start string
	}{
		{Quarter, "2025-02-14T10:00:00Z", "2025Q1", "2025-01-01"},
		{Quarter, "2024-12-31T23:59:59Z", "2024Q4", "2024-10-01"},
		{Month, "2024-02-29T12:00:00Z", "2024-02", "2024-02-01"},
		{Week, "2025-01-01T12:00:00Z", "2025-W01", "2024-12-30"},
		{Week, "2024-12-29T23:00:00Z", "2024-W52", "2024-12-23"},
		{Week, "1969-12-31T00:00:00Z", "1970-W01", "1969-12-29"},
	}
	for _, c := range cases {
		i := c.g.index(d(c.at))
		if got := c.g.label(i); got != c.label {
			t.Errorf("%s %s: label %s, want %s", c.g, c.at, got, c.label)
		}
		if got := c.g.start(i).Format(time.DateOnly); got != c.start {
			t.Errorf("%s %s: start %s, want %s", c.g, c.at, got, c.start)
		}
	}
	good := map[string][2]string{
		"2021-03-04": {"2021-03-04", "2021-03-05"},
		"2021-03":    {"2021-03-01", "2021-04-01"},
		"2021Q4":     {"2021-10-01", "2022-01-01"},
		"2021-W01":   {"2021-01-04", "2021-01-11"},
		"2021":       {"2021-01-01", "2022-01-01"},
	}
	for in, want := range good {
		s, e, err := ParseTime(in)
		if err != nil || s.Format(time.DateOnly) != want[0] || e.Format(time.DateOnly) != want[1] {
			t.Errorf("ParseTime(%q) = %s, %s, %v; want %v", in, s, e, err, want)
		}
	}
	for _, bad := range []string{"2021-13", "2021-02-30", "03/04/2021", "2021Q5", "yesterday", "2021-W60"} {
		if _, _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
	w, err := ParseWindow("2021Q1..2024Q4")
	if err != nil || w.From.Format(time.DateOnly) != "2021-01-01" || w.To.Format(time.DateOnly) != "2025-01-01" {
		t.Errorf("ParseWindow = %+v, %v", w, err)
	}
	for _, bad := range []string{"2021Q1", "2024Q4..2021Q1", "2021Q1..later"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

func TestLeastSquares(t *testing.T) {
	// y = 3 + 0.5x exactly.
	s, ok := leastSquaresSlope([]float64{0, 2, 4, 6}, []float64{3, 4, 5, 6})
	if !ok || !near(s, 0.5) {
		t.Errorf("slope = %v, %v; want 0.5", s, ok)
	}
	if _, ok := leastSquaresSlope([]float64{1}, []float64{1}); ok {
		t.Error("one point gave a slope")
	}
}

func TestDefaultIdentitiesLoad(t *testing.T) {
	id := DefaultIdentities()
	if len(id.Automation.Emails) == 0 || len(id.Agent.Emails) == 0 || len(id.Assisted.BodyMarkers) == 0 || len(id.Autonomous.Trailers) == 0 {
		t.Fatalf("built-in table is missing lists: %+v", id)
	}
	path := t.TempDir() + "/ids.yaml"
	if err := writeFile(path, "assisted:\n  tool_trailers: [X-AI-Session]\n"); err != nil {
		t.Fatal(err)
	}
	id2, err := LoadIdentities(path)
	if err != nil {
		t.Fatal(err)
	}
	cls := newClassifier(id2)
	m := commitMeta{authorEmail: "ann@example.com", body: "x\n\nX-AI-Session: 1\n"}
	if k := cls.classify(&m, nil).kind; k != Assisted {
		t.Errorf("config-added tool trailer: kind %s, want assisted", k)
	}
	if k := newClassifier(nil).classify(&commitMeta{authorEmail: "dependabot[bot]@users.noreply.github.com", body: "x\n"}, nil).kind; k != Automation {
		t.Errorf("extending must keep the built-in entries: %s", k)
	}
	if _, err := LoadIdentities(t.TempDir() + "/missing.yaml"); err == nil {
		t.Error("missing file accepted")
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

func TestClassifyDelegatedFromJournal(t *testing.T) {
	cases := []struct {
		name      string
		delegated map[string]string
		want      Kind
	}{
		{"run unknown to the journal", nil, Agent},
		{"run the journal says was delegated", map[string]string{"rchild": "rparent"}, Autonomous},
		{"another run delegated", map[string]string{"rother": "rparent"}, Agent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &commitMeta{authorEmail: "dev@example.com", authorName: "Dev", committerEmail: "dev@example.com",
				body: "squashed work\n\nOuro-Run: rchild\n"}
			if got := newClassifier(nil).withDelegated(c.delegated).classify(m, nil).kind; got != c.want {
				t.Errorf("kind %v, want %v", got, c.want)
			}
		})
	}
}
