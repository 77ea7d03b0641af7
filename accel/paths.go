package accel

import (
	"path"
	"strings"

	"github.com/go-enry/go-enry/v2"
)

// fileClass says whether a file's lines are counted, and if not, why.
type fileClass uint8

// The file classes; all but classCounted are left out of line counts and
// reported separately.
const (
	classCounted fileClass = iota
	classBinary
	classVendored
	classGenerated
	classLock
	classMinified
	numClasses
)

var classNames = [...]string{"counted", "binary", "vendored", "generated", "lock", "minified"}

func (c fileClass) String() string { return classNames[c] }

// lockFiles are dependency lock files, by base name.
var lockFiles = map[string]bool{
	"go.sum": true, "go.work.sum": true, "package-lock.json": true, "npm-shrinkwrap.json": true,
	"yarn.lock": true, "pnpm-lock.yaml": true, "bun.lock": true, "bun.lockb": true, "deno.lock": true,
	"cargo.lock": true, "poetry.lock": true, "pipfile.lock": true, "pdm.lock": true, "uv.lock": true,
	"gemfile.lock": true, "composer.lock": true, "mix.lock": true, "pubspec.lock": true,
	"podfile.lock": true, "package.resolved": true, "packages.lock.json": true,
	"gradle.lockfile": true, "gopkg.lock": true, "glide.lock": true, "flake.lock": true,
	"module.bazel.lock": true, ".terraform.lock.hcl": true, "conda-lock.yml": true,
	"paket.lock": true, "cartfile.resolved": true, "shard.lock": true, "stack.yaml.lock": true,
}

// isMinifiedName reports file names of minified assets.
func isMinifiedName(p string) bool {
	b := strings.ToLower(path.Base(p))
	for _, suf := range [...]string{".min.js", ".min.mjs", ".min.css", "-min.js", "-min.css", ".min.map"} {
		if strings.HasSuffix(b, suf) {
			return true
		}
	}
	return false
}

// pathEntry is what accel remembers of one path.
type pathEntry struct {
	id     uint32
	class  fileClass
	why    string
	binary bool // numstat showed binary content at some point
}

// pathClassifier decides and caches the class of each path. Paths keep
// their class for the whole history: attributes and content headers are
// read as of the branch tip.
type pathClassifier struct {
	attrs     *attrChecker    // nil: no attribute lookups
	generated map[string]bool // files whose content at the tip has the generated header
	cache     map[string]*pathEntry
}

func newPathClassifier(a *attrChecker, generated map[string]bool) *pathClassifier {
	return &pathClassifier{attrs: a, generated: generated, cache: make(map[string]*pathEntry, 1024)}
}

// lookup returns the entry of p, classifying it on first sight.
func (pc *pathClassifier) lookup(p []byte) (*pathEntry, error) {
	if e, ok := pc.cache[string(p)]; ok {
		return e, nil
	}
	s := string(p)
	class, why, err := pc.classify(s)
	if err != nil {
		return nil, err
	}
	e := &pathEntry{id: uint32(len(pc.cache)), class: class, why: why}
	pc.cache[s] = e
	return e, nil
}

func (pc *pathClassifier) classify(p string) (fileClass, string, error) {
	var a attrs
	if pc.attrs != nil {
		var err error
		if a, err = pc.attrs.check(p); err != nil {
			return classCounted, "", err
		}
	}
	switch {
	case a.vendored > 0:
		return classVendored, "linguist-vendored in .gitattributes", nil
	case a.generated > 0:
		return classGenerated, "linguist-generated in .gitattributes", nil
	}
	if lockFiles[strings.ToLower(path.Base(p))] {
		return classLock, "dependency lock file", nil
	}
	if a.generated == 0 && isMinifiedName(p) {
		return classMinified, "minified file name", nil
	}
	if a.vendored == 0 && enry.IsVendor(p) {
		return classVendored, "vendored path (enry)", nil
	}
	if a.generated == 0 {
		if pc.generated[p] {
			return classGenerated, `"Code generated ... DO NOT EDIT." header at the tip`, nil
		}
		if enry.IsGenerated(p, nil) {
			return classGenerated, "generated file name (enry)", nil
		}
	}
	return classCounted, "", nil
}
