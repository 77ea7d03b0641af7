package accel

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Explanation is the kind of one commit and the evidence for it.
type Explanation struct {
	Commit    string       `json:"commit"`
	Author    string       `json:"author"`
	Committer string       `json:"committer"`
	Date      time.Time    `json:"date"`
	Subject   string       `json:"subject"`
	Kind      string       `json:"kind"`
	Evidence  []Evidence   `json:"evidence"`
	Trailers  []Trailer    `json:"trailers"`
	Files     []fileChange `json:"files"`
	// Counted is the added and deleted lines in counted files.
	Counted Stats `json:"counted"`
	// Outlier is true when the commit is above the outlier size.
	Outlier bool `json:"outlier"`
	// Reverts lists the commits this one says it reverts.
	Reverts []string `json:"reverts,omitempty"`
}

// Explain classifies one commit and returns the evidence.
func Explain(ctx context.Context, opts Options, commit string) (*Explanation, error) {
	pr, err := prepare(ctx, &Options{Repo: opts.Repo, Git: opts.Git, Branch: commit})
	if err != nil {
		return nil, err
	}
	r := pr.repo
	generated, err := r.generatedAtTip(ctx, "HEAD")
	if err != nil {
		generated = map[string]bool{}
	}
	ac, err := r.startAttrChecker(ctx)
	if err != nil {
		return nil, err
	}
	defer ac.close()
	pc := newPathClassifier(ac, generated)
	cls := newClassifier(opts.Identities).withDelegated(opts.DelegatedRuns)
	outlier := opts.OutlierLines
	if outlier == 0 {
		outlier = DefaultOutlierLines
	}
	objects, err := r.startObjectReader(ctx)
	if err != nil {
		return nil, err
	}
	defer objects.close()
	var ex *Explanation
	var ferr error
	err = r.streamLog(ctx, []string{"-1", "--diff-merges=first-parent", pr.tip, "--"}, pc, true, func(c *rawCommit) error {
		var ev []Evidence
		v, err := mergeVerdict(cls, objects, c, cls.classify(&c.meta, &ev), &ev)
		if err != nil {
			ferr = err
			return err
		}
		subject, _, _ := strings.Cut(c.meta.body, "\n")
		ex = &Explanation{
			Commit:    c.hash,
			Author:    c.meta.authorName + " <" + c.meta.authorEmail + ">",
			Committer: c.meta.committerName + " <" + c.meta.committerEmail + ">",
			Date:      time.Unix(c.time, 0).UTC(),
			Subject:   subject,
			Kind:      v.kind.String(),
			Evidence:  ev,
			Trailers:  ParseTrailers(c.meta.body),
			Files:     append([]fileChange(nil), c.files...),
			Counted:   Stats{Commits: 1, Added: c.added[classCounted], Deleted: c.deleted[classCounted]},
			Outlier:   outlier > 0 && c.countedLines() > outlier,
			Reverts:   revertedBy(c.meta.body),
		}
		return nil
	})
	if ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, err
	}
	if ex == nil {
		return nil, fmt.Errorf("explain %s: %w", commit, ErrUnknownBranch)
	}
	return ex, nil
}

// WriteText writes the explanation for a terminal.
func (e *Explanation) WriteText(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "commit    %s\nauthor    %s\ncommitter %s\ndate      %s\nsubject   %s\nkind      %s\n\nevidence:\n",
		e.Commit, e.Author, e.Committer, e.Date.Format(time.RFC3339), e.Subject, e.Kind)
	for _, ev := range e.Evidence {
		mark := "  "
		if ev.Decisive {
			mark = "=>"
		}
		fmt.Fprintf(b, "  %s [%s] %s\n", mark, ev.KindName, ev.Fact)
	}
	if len(e.Trailers) > 0 {
		b.WriteString("\ntrailer block:\n")
		for _, t := range e.Trailers {
			fmt.Fprintf(b, "  %s: %s\n", t.Key, t.Value)
		}
	} else {
		b.WriteString("\ntrailer block: none\n")
	}
	if len(e.Reverts) > 0 {
		fmt.Fprintf(b, "\nreverts: %s\n", strings.Join(e.Reverts, ", "))
	}
	fmt.Fprintf(b, "\nfiles (counted +%d -%d", e.Counted.Added, e.Counted.Deleted)
	if e.Outlier {
		b.WriteString(", an outlier: left out of lines and the multiplier")
	}
	b.WriteString("):\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, f := range e.Files {
		fmt.Fprintf(tw, "  +%d\t-%d\t%s\t%s\t%s\n", f.Added, f.Deleted, f.Class, f.Path, f.Why)
	}
	tw.Flush()
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write explanation: %w", err)
	}
	return nil
}
