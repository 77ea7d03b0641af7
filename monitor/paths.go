package monitor

import (
	"strings"
)

// pathClass is a set of things a path is, as far as the rules care.
type pathClass uint32

const (
	pcTest       pathClass = 1 << iota // a test source file, or a test directory
	pcGolden                           // expected output: golden files, snapshots
	pcTestdata                         // test fixtures
	pcCI                               // CI configuration
	pcBuild                            // build files that define test targets
	pcTestConfig                       // test runner configuration
	pcBench                            // benchmark, evaluation or scoring code
	pcOuro                             // ouro's own files: .ouro/, its state directory
	pcJournal                          // the journal database and its head log
	pcPolicy                           // a policy file
	pcAgentDoc                         // instructions written for agents
	pcGitHooks                         // git hooks, in .git or a hook manager's directory
	pcGitConfig                        // git configuration that can run programs
	pcGitDir                           // anything else inside .git
	pcSecret                           // credentials outside the workspace: keys, cloud logins, environ
	pcSecretFile                       // secret-looking files: .env, *.pem, credentials.json
	pcRC                               // shell start-up files
	pcPersist                          // cron, systemd, launch agents, preload lists, site hooks
	pcScript                           // shell scripts and build files whose text is run later
	pcCode                             // program source
	pcProcRoot                         // /proc/PID/root or /proc/PID/mem: another process's view
)

// isHome reports whether a path component names the user's home.
func isHome(c string) bool {
	switch c {
	case "~", "$home", "${home}", "/root":
		return true
	}
	return false
}

// classify says what a path is. It works on the text alone: p may be a
// workspace-relative path, an absolute one, one starting with ~ or $HOME,
// or a glob.
func classify(p string) pathClass {
	if p == "" || len(p) > 4096 {
		return 0
	}
	p = strings.ToLower(strings.Trim(p, `"'`))
	p = strings.TrimSuffix(p, "/")
	var c pathClass
	comps := strings.Split(p, "/")
	base := comps[len(comps)-1]
	home := false
	for i, d := range comps {
		if i == 0 && isHome(d) {
			home = true
		}
		if i == 1 && comps[0] == "" && (d == "home" || d == "root" || d == "users") {
			home = true
		}
		switch d {
		case "test", "tests", "__tests__", "spec", "specs", "e2e":
			c |= pcTest
		case "testdata", "fixtures", "test_data", "test-data", "test_fixtures":
			c |= pcTestdata
		case "__snapshots__", "golden", "goldens", "expected", "snapshots":
			c |= pcGolden
		case ".ci", ".circleci", ".buildkite", ".husky":
			c |= pcCI
		case ".ouro":
			c |= pcOuro
		case ".ssh", ".aws", ".gnupg", ".kube", ".azure", ".vault-token", ".password-store":
			c |= pcSecret
		case "bench", "benchmark", "benchmarks", "eval", "evals", "evaluation", "scoring",
			"scorer", "scorers", "grader", "graders", "grading", "leaderboard", "redteam", "red-team":
			if i < len(comps)-1 {
				c |= pcBench
			}
		}
		if d == ".git" && i+1 < len(comps) {
			c |= pcGitDir
			switch comps[i+1] {
			case "hooks":
				c |= pcGitHooks
			case "config", "config.worktree", "commondir", "gitdir":
				c |= pcGitConfig
			case "info":
				if i+2 < len(comps) && comps[i+2] == "attributes" {
					c |= pcGitConfig
				}
			}
		}
		if d == ".github" && i+1 < len(comps) && (comps[i+1] == "workflows" || comps[i+1] == "actions") {
			c |= pcCI
		}
		if d == ".husky" {
			c |= pcGitHooks
		}
		if d == "proc" && i == 1 && comps[0] == "" && i+2 < len(comps) {
			switch comps[i+2] {
			case "environ":
				c |= pcSecret
			case "root", "mem", "cwd", "exe", "fd":
				if comps[i+2] != "fd" || i+3 < len(comps) {
					c |= pcProcRoot
				}
			}
		}
	}
	joined := "/" + p
	switch {
	case strings.Contains(joined, "/.local/state/ouro"), strings.Contains(joined, "/.config/ouro"),
		strings.Contains(p, "$ouro_home"), strings.Contains(p, "${ouro_home}"):
		c |= pcOuro
	case strings.Contains(joined, "/.config/gcloud"), strings.Contains(joined, "/.docker/config.json"),
		strings.Contains(joined, "/.config/gh/hosts"), strings.Contains(joined, "/run/secrets"),
		strings.Contains(joined, "/var/run/secrets"):
		c |= pcSecret
	case strings.HasPrefix(joined, "/etc/cron"), strings.HasPrefix(joined, "/var/spool/cron"),
		strings.Contains(joined, "/.config/systemd"), strings.HasPrefix(joined, "/etc/systemd"),
		strings.HasPrefix(joined, "/lib/systemd"), strings.HasPrefix(joined, "/etc/init.d"),
		strings.Contains(joined, "/library/launchagents"), strings.Contains(joined, "/library/launchdaemons"),
		strings.Contains(joined, "/.config/autostart"), strings.HasPrefix(joined, "/etc/profile"),
		strings.HasPrefix(joined, "/etc/bash.bashrc"), strings.HasPrefix(joined, "/etc/ld.so.preload"),
		strings.HasPrefix(joined, "/etc/rc.local"), strings.HasPrefix(joined, "/etc/sudoers"):
		c |= pcPersist
	case joined == "/etc/shadow", joined == "/etc/gshadow":
		c |= pcSecret
	}

	// The file name.
	dot := strings.LastIndexByte(base, '.')
	ext := ""
	if dot > 0 {
		ext = base[dot+1:]
	}
	switch {
	case strings.HasSuffix(base, "_test.go"), strings.HasSuffix(base, "_test.py"),
		strings.HasPrefix(base, "test_") && ext == "py",
		strings.Contains(base, ".test.") || strings.Contains(base, ".spec."),
		strings.HasSuffix(base, "_spec.rb"), strings.HasSuffix(base, "_test.rb"),
		strings.HasSuffix(base, "_test.rs"), strings.HasSuffix(base, "_test.c"),
		strings.HasSuffix(base, "_test.cc"), strings.HasSuffix(base, "_test.cpp"),
		(ext == "java" || ext == "kt" || ext == "cs") && (strings.HasSuffix(base, "test."+ext) || strings.HasSuffix(base, "tests."+ext)):
		c |= pcTest
	case base == "test" || base == "tests" || base == "__tests__" || base == "testdata":
		c |= pcTest
	}
	switch {
	case ext == "golden" || ext == "snap" || strings.Contains(base, ".approved.") ||
		strings.HasPrefix(base, "expected") || strings.Contains(base, "_expected") ||
		strings.Contains(base, ".expected") || strings.HasPrefix(base, "want.") || ext == "out" && c&pcTestdata != 0:
		c |= pcGolden
	}
	switch base {
	case ".gitlab-ci.yml", ".travis.yml", "jenkinsfile", "azure-pipelines.yml", "bitbucket-pipelines.yml",
		".drone.yml", "appveyor.yml", ".pre-commit-config.yaml", "codecov.yml", ".codecov.yml", "cloudbuild.yaml":
		c |= pcCI
	case "makefile", "gnumakefile", "justfile", "taskfile.yml", "taskfile.yaml", "package.json",
		"magefile.go", "build.sh", "test.sh", "run_tests.sh", "rakefile", "build.gradle", "pom.xml":
		c |= pcBuild | pcScript
	case "conftest.py", "pytest.ini", "tox.ini", "noxfile.py", "setup.cfg", ".coveragerc", "phpunit.xml",
		".mocharc.js", ".mocharc.json", ".mocharc.yml", "karma.conf.js":
		c |= pcTestConfig
	case "journal.db", "journal.db-wal", "journal.db-shm", "journal.db-journal", "heads.log":
		c |= pcJournal
	case "policy.yaml", "policy.yml":
		c |= pcPolicy
	case "agents.md", "claude.md", ".cursorrules", "copilot-instructions.md":
		c |= pcAgentDoc
	case ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
		".zprofile", ".zlogin", ".zlogout", ".envrc", ".kshrc", ".cshrc", ".tcshrc", ".xinitrc", ".xprofile",
		"config.fish", ".inputrc":
		c |= pcRC
	case "sitecustomize.py", "usercustomize.py":
		c |= pcPersist
	case ".netrc", ".git-credentials", ".pgpass", ".pypirc", ".npmrc", ".my.cnf", ".boto", ".s3cfg":
		if home || len(comps) == 1 {
			c |= pcSecret
		} else {
			c |= pcSecretFile
		}
	case ".gitconfig":
		c |= pcGitConfig
	}
	if strings.HasPrefix(base, "jest.config.") || strings.HasPrefix(base, "vitest.config.") ||
		strings.HasPrefix(base, "playwright.config.") || strings.HasPrefix(base, "cypress.config.") {
		c |= pcTestConfig
	}
	if strings.HasPrefix(base, "score") || strings.HasPrefix(base, "scoring") ||
		strings.HasPrefix(base, "grader") || strings.HasPrefix(base, "grade.") || strings.HasPrefix(base, "leaderboard") {
		c |= pcBench
	}
	if strings.HasPrefix(base, "id_rsa") || strings.HasPrefix(base, "id_ed25519") ||
		strings.HasPrefix(base, "id_ecdsa") || strings.HasPrefix(base, "id_dsa") {
		c |= pcSecret
	}
	switch {
	case base == ".env", strings.HasPrefix(base, ".env.") && !envTemplate(base[5:]),
		strings.Contains(base, "credentials"), strings.Contains(base, "secret") && ext != "go" && ext != "md",
		ext == "pem" || ext == "key" || ext == "p12" || ext == "pfx" || ext == "jks" || ext == "keystore" || ext == "kdbx",
		base == ".htpasswd", strings.HasPrefix(base, "service-account") && ext == "json",
		base == "terraform.tfstate":
		c |= pcSecretFile
	case ext == "pth" && strings.Contains(p, "site-packages"):
		c |= pcPersist
	}
	switch ext {
	case "sh", "bash", "zsh", "ksh", "mk", "ps1", "bat", "cmd":
		c |= pcScript
	case "go", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "rb", "java", "kt", "rs", "c", "cc", "cpp",
		"h", "hpp", "cs", "php", "swift", "scala", "ex", "exs", "lua", "pl":
		c |= pcCode
	}
	if c&(pcCI|pcGitHooks) != 0 {
		c |= pcScript
	}
	return c
}

// envTemplate reports whether the suffix of a .env.SUFFIX file names a
// template that holds no real values.
func envTemplate(s string) bool {
	switch s {
	case "example", "sample", "template", "dist", "defaults", "test.example":
		return true
	}
	return false
}
