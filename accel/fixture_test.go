package accel

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fixture is a git repository built by a test, with commits at set dates by
// set authors.
type fixture struct {
	t   *testing.T
	dir string
}

// testRoot holds the test process's git home and shared fixtures.
var testRoot string

// TestMain isolates git from the machine's configuration for the whole test
// process: its own HOME and global config, no system config, and no
// repository discovery above the temporary directories.
func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "accel-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRoot = root
	home := filepath.Join(root, "home")
	os.MkdirAll(home, 0o755)
	os.Setenv("HOME", home)
	os.Setenv("XDG_CONFIG_HOME", home)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "gitconfig"))
	os.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(root)+":"+os.TempDir())
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureIn(t, t.TempDir())
}

func newFixtureIn(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: dir}
	f.git(nil, "init", "-q", "-b", "main")
	f.git(nil, "config", "user.name", "Fixture")
	f.git(nil, "config", "user.email", "fixture@example.com")
	f.git(nil, "config", "commit.gpgsign", "false")
	return f
}

func (f *fixture) git(env []string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// lines returns n distinct lines.
func lines(prefix string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s line %d\n", prefix, i)
	}
	return b.String()
}

// who is an author or committer.
type who struct{ name, email string }

// commitSpec is one commit to make.
type commitSpec struct {
	date      string // 2024-01-10
	author    who
	committer who // zero: the author
	msg       string
	files     map[string]string // path -> content; "" removes the file
	appendTo  map[string]string // path -> text appended
}

func (f *fixture) dateEnv(date string, author, committer who) []string {
	if committer.email == "" {
		committer = author
	}
	ts := date + "T12:00:00Z"
	return []string{
		"GIT_AUTHOR_NAME=" + author.name, "GIT_AUTHOR_EMAIL=" + author.email, "GIT_AUTHOR_DATE=" + ts,
		"GIT_COMMITTER_NAME=" + committer.name, "GIT_COMMITTER_EMAIL=" + committer.email, "GIT_COMMITTER_DATE=" + ts,
	}
}

func (f *fixture) commit(c commitSpec) string {
	f.t.Helper()
	for p, content := range c.files {
		full := filepath.Join(f.dir, p)
		if content == "" {
			if err := os.Remove(full); err != nil {
				f.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	for p, text := range c.appendTo {
		fh, err := os.OpenFile(filepath.Join(f.dir, p), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		fh.WriteString(text)
		fh.Close()
	}
	f.git(nil, "add", "-A")
	msgFile := filepath.Join(f.dir, ".git", "test-msg")
	if err := os.WriteFile(msgFile, []byte(c.msg), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.git(f.dateEnv(c.date, c.author, c.committer), "commit", "-q", "-F", msgFile)
	return f.git(nil, "rev-parse", "HEAD")
}

var (
	alice    = who{"Alice", "alice@example.com"}
	bob      = who{"Bob", "Bob@Example.com"}
	bobLower = who{"Bob", "bob@example.com"}
	daveOld  = who{"Dave Old", "dave@old.example"}
	dave     = who{"Dave", "DAVE@example.com"}
	eve      = who{"Eve", "eve@example.com"}
)

// story is the main fixture: every kind, every trap, vendored and generated
// files, a revert, a merge and an outlier, by month in 2024. The comments
// give the counted lines that the tests' expected figures are built from.
type story struct {
	*fixture
	c map[string]string // name -> commit id
}

var (
	storyOnce   sync.Once
	storyShared *story
)

// sharedStory builds the story once for the test process; tests only read it.
func sharedStory(t *testing.T) *story {
	t.Helper()
	storyOnce.Do(func() {
		dir := filepath.Join(testRoot, "story")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		storyShared = buildStory(newFixtureIn(t, dir))
	})
	if storyShared == nil {
		t.Fatal("the story fixture could not be built")
	}
	return storyShared
}

func buildStory(f *fixture) *story {
	s := &story{fixture: f, c: map[string]string{}}
	png := string([]byte{0x89, 'P', 'N', 'G', 0, 0, 1, 2, 0, 3})
	// January (baseline). c1: counted a.go 100 + .mailmap 1 + go.mod 3 +
	// vendor/keep/k.go 7 (-linguist-vendored) = 111; excluded: go.sum 50
	// (lock), vendor/lib/x.go 30 and .gitattributes 2 (vendored, by enry's
	// rules), gen/api.go 20 (generated by header), api/schema.json 10
	// (linguist-generated), static/app.min.js 5 (minified), img.png (binary).
	s.c["c1"] = f.commit(commitSpec{date: "2024-01-10", author: alice, msg: "Start the project\n", files: map[string]string{
		"a.go":              lines("a", 100),
		".mailmap":          "Dave <dave@example.com> <dave@old.example>\n",
		"go.mod":            "module x\n\ngo 1.21\n",
		".gitattributes":    "api/*.json linguist-generated\nvendor/keep/** -linguist-vendored\n",
		"vendor/keep/k.go":  lines("k", 7),
		"go.sum":            lines("sum", 50),
		"vendor/lib/x.go":   lines("x", 30),
		"gen/api.go":        "// Code generated by protoc-gen-go. DO NOT EDIT.\n" + lines("gen", 19),
		"api/schema.json":   lines("schema", 10),
		"static/app.min.js": lines("min", 5),
		"img.png":           png,
	}})
	// c2: Bob, upper-case email; a human co-author and Signed-off-by. 50.
	s.c["c2"] = f.commit(commitSpec{date: "2024-01-20", author: bob, msg: "Add b\n\nBody text.\n\nCo-authored-by: Carol <carol@example.com>\nSigned-off-by: Bob <bob@example.com>\n",
		files: map[string]string{"b.go": lines("b", 50)}})
	// February (baseline). c3: an AI co-author line that is not in the
	// trailer block: human. 30.
	s.c["c3"] = f.commit(commitSpec{date: "2024-02-05", author: bobLower, msg: "Add c\n\nCo-authored-by: Claude <noreply@anthropic.com>\nwas written by the tool, says this paragraph.\n\nMore text after it.\n",
		files: map[string]string{"c.go": lines("c", 30)}})
	// c4: Dave under his old address, merged by .mailmap. 20.
	s.c["c4"] = f.commit(commitSpec{date: "2024-02-10", author: daveOld, msg: "Add d\n", files: map[string]string{"d.go": lines("d", 20)}})
	// c5: Dave with an upper-case address; Assisted-by a person: human. 10.
	s.c["c5"] = f.commit(commitSpec{date: "2024-02-15", author: dave, msg: "Add e\n\nAssisted-by: Mallory <mallory@example.com>\n",
		files: map[string]string{"e.go": lines("e", 10)}})
	// c6: the subject alone looks like a trailer: human. 10 appended.
	s.c["c6"] = f.commit(commitSpec{date: "2024-02-20", author: alice, msg: "Co-authored-by: Claude <noreply@anthropic.com>\n",
		appendTo: map[string]string{"a.go": lines("a2", 10)}})
	// March. c7: dependabot: automation; go.mod +1 -1, go.sum +2 -1 (lock).
	s.c["c7"] = f.commit(commitSpec{date: "2024-03-01", author: who{"dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"},
		msg: "Bump go\n", files: map[string]string{"go.mod": "module x\n\ngo 1.22\n", "go.sum": lines("sum", 49) + "new a\nnew b\n"}})
	// c8: Alice with an AI co-author in the trailer block: assisted. 40.
	s.c["c8"] = f.commit(commitSpec{date: "2024-03-03", author: alice, msg: "Add f\n\nCo-authored-by: Claude <noreply@anthropic.com>\n",
		files: map[string]string{"f.go": lines("f", 40)}})
	f.git(nil, "branch", "feature")
	// c9: Copilot's coding agent, committed by GitHub: agent. 60 (reverted
	// by c15, twenty days later).
	s.c["c9"] = f.commit(commitSpec{date: "2024-03-05", author: who{"Copilot", "198982749+Copilot@users.noreply.github.com"},
		committer: who{"GitHub", "noreply@github.com"}, msg: "Add g\n", files: map[string]string{"g.go": lines("g", 60)}})
	// c10: an ouro run: agent. 25.
	s.c["c10"] = f.commit(commitSpec{date: "2024-03-07", author: alice, msg: "Add h\n\nOuro-Run: run-1\nCo-Authored-By: claude-sonnet <noreply@ouro.invalid>\n",
		files: map[string]string{"h.go": lines("h", 25)}})
	// c11: an ouro run delegated by another: autonomous. 35.
	s.c["c11"] = f.commit(commitSpec{date: "2024-03-08", author: alice, msg: "Add i\n\nOuro-Run: run-2\nOuro-Parent-Run: run-1\nCo-Authored-By: claude-sonnet <noreply@ouro.invalid>\n",
		files: map[string]string{"i.go": lines("i", 35)}})
	// c12: aider marks the name and keeps Bob's email: agent. 15.
	s.c["c12"] = f.commit(commitSpec{date: "2024-03-12", author: who{"Bob (aider)", "bob@example.com"}, msg: "Add j\n",
		files: map[string]string{"j.go": lines("j", 15)}})
	// c13: Claude Code's body marker, no trailers: assisted. 5.
	s.c["c13"] = f.commit(commitSpec{date: "2024-03-15", author: dave, msg: "Add k\n\nGenerated with [Claude Code](https://claude.com/claude-code)\n\nThanks.\n",
		files: map[string]string{"k.go": lines("kk", 5)}})
	// c14: an AI name with a person's address: human (marked). 8.
	s.c["c14"] = f.commit(commitSpec{date: "2024-03-18", author: bobLower, msg: "Add l\n\nCo-authored-by: Claude <bob@example.com>\n",
		files: map[string]string{"l.go": lines("l", 8)}})
	// c15: Alice reverts c9: human; -60.
	f.git(f.dateEnv("2024-03-25", alice, who{}), "revert", "--no-edit", s.c["c9"])
	s.c["c15"] = f.git(nil, "rev-parse", "HEAD")
	// Eve's commit on a side branch, merged by Alice on 2024-03-28: the merge
	// counts in first-parent mode (m.go 12, human), Eve's commit in --all.
	f.git(nil, "switch", "-q", "feature")
	s.c["eve"] = f.commit(commitSpec{date: "2024-03-10", author: eve, msg: "Add m\n", files: map[string]string{"m.go": lines("m", 12)}})
	f.git(nil, "switch", "-q", "main")
	f.git(f.dateEnv("2024-03-28", alice, who{}), "merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
	s.c["merge"] = f.git(nil, "rev-parse", "HEAD")
	// c17: an outlier, 6000 lines.
	s.c["c17"] = f.commit(commitSpec{date: "2024-03-29", author: bobLower, msg: "Import data\n", files: map[string]string{"big.txt": lines("big", 6000)}})
	// April. c18: Assisted-by a tool named without an address, and a
	// Claude-Session trailer: assisted. 300.
	s.c["c18"] = f.commit(commitSpec{date: "2024-04-10", author: alice, msg: "Add n\n\nAssisted-by: Claude:claude-opus-4\nClaude-Session: s-1\n",
		files: map[string]string{"n.go": lines("n", 300)}})
	// c19: "Amparo" holds "amp" but not as a word: human. 100.
	s.c["c19"] = f.commit(commitSpec{date: "2024-04-12", author: dave, msg: "Add o\n\nAssisted-by: Amparo Diaz\n",
		files: map[string]string{"o.go": lines("o", 100)}})
	// c20: an unknown GitHub App bot: automation; go.mod +1 -1.
	s.c["c20"] = f.commit(commitSpec{date: "2024-04-15", author: who{"some-app[bot]", "123+some-app[bot]@users.noreply.github.com"},
		msg: "Bump go again\n", files: map[string]string{"go.mod": "module x\n\ngo 1.23\n"}})
	// c21: claude[bot] is a coding agent, though it looks like a bot. 100.
	s.c["c21"] = f.commit(commitSpec{date: "2024-04-20", author: who{"claude[bot]", "209825114+claude[bot]@users.noreply.github.com"},
		msg: "Add p\n", files: map[string]string{"p.go": lines("p", 100)}})
	return s
}
