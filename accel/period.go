package accel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Granularity is the length of a reporting period.
type Granularity string

// The granularities accel reports by.
const (
	Quarter Granularity = "quarter"
	Month   Granularity = "month"
	Week    Granularity = "week"
)

// ParseGranularity checks a --by value.
func ParseGranularity(s string) (Granularity, error) {
	switch g := Granularity(strings.ToLower(s)); g {
	case Quarter, Month, Week:
		return g, nil
	}
	return "", fmt.Errorf("unknown period %q: use quarter, month or week", s)
}

// index returns the number of the period that holds t (UTC).
func (g Granularity) index(t time.Time) int {
	t = t.UTC()
	switch g {
	case Month:
		return t.Year()*12 + int(t.Month()) - 1
	case Week:
		// Weeks start on Monday; 1970-01-05 was a Monday.
		days := int(t.Unix() / 86400)
		if t.Unix() < 0 && t.Unix()%86400 != 0 {
			days--
		}
		return floorDiv(days-4, 7)
	default:
		return t.Year()*4 + (int(t.Month())-1)/3
	}
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// start returns the first instant of period i.
func (g Granularity) start(i int) time.Time {
	switch g {
	case Month:
		return time.Date(floorDiv(i, 12), time.Month(i-floorDiv(i, 12)*12+1), 1, 0, 0, 0, 0, time.UTC)
	case Week:
		return time.Unix(int64(i*7+4)*86400, 0).UTC()
	default:
		y := floorDiv(i, 4)
		return time.Date(y, time.Month((i-y*4)*3+1), 1, 0, 0, 0, 0, time.UTC)
	}
}

// label names period i: 2025Q1, 2025-01, 2025-W03.
func (g Granularity) label(i int) string {
	s := g.start(i)
	switch g {
	case Month:
		return s.Format("2006-01")
	case Week:
		y, w := s.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	default:
		return fmt.Sprintf("%04dQ%d", s.Year(), int(s.Month()-1)/3+1)
	}
}

var (
	reDate    = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	reMonth   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	reQuarter = regexp.MustCompile(`^(\d{4})-?[Qq]([1-4])$`)
	reWeek    = regexp.MustCompile(`^(\d{4})-?W(\d{2})$`)
	reYear    = regexp.MustCompile(`^(\d{4})$`)
)

// ParseTime parses a date or a period name and returns the span it covers,
// [start, end). Accepted: 2025-01-31, 2025-01, 2025Q1, 2025-W05, 2025.
func ParseTime(s string) (start, end time.Time, err error) {
	s = strings.TrimSpace(s)
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	switch {
	case reDate.MatchString(s):
		t, perr := time.Parse("2006-01-02", s)
		if perr != nil {
			return start, end, fmt.Errorf("bad date %q: %w", s, perr)
		}
		return t, t.AddDate(0, 0, 1), nil
	case reMonth.MatchString(s):
		m := reMonth.FindStringSubmatch(s)
		mo := atoi(m[2])
		if mo < 1 || mo > 12 {
			return start, end, fmt.Errorf("bad month %q: the month must be 01 to 12", s)
		}
		t := time.Date(atoi(m[1]), time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		return t, t.AddDate(0, 1, 0), nil
	case reQuarter.MatchString(s):
		m := reQuarter.FindStringSubmatch(s)
		t := time.Date(atoi(m[1]), time.Month((atoi(m[2])-1)*3+1), 1, 0, 0, 0, 0, time.UTC)
		return t, t.AddDate(0, 3, 0), nil
	case reWeek.MatchString(s):
		m := reWeek.FindStringSubmatch(s)
		y, w := atoi(m[1]), atoi(m[2])
		if w < 1 || w > 53 {
			return start, end, fmt.Errorf("bad week %q: the week must be W01 to W53", s)
		}
		// ISO week 1 holds January 4th.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		t := monday.AddDate(0, 0, 7*(w-1))
		return t, t.AddDate(0, 0, 7), nil
	case reYear.MatchString(s):
		t := time.Date(atoi(s), 1, 1, 0, 0, 0, 0, time.UTC)
		return t, t.AddDate(1, 0, 0), nil
	}
	return start, end, fmt.Errorf("bad date %q: use YYYY-MM-DD, YYYY-MM, YYYYQn, YYYY-Wnn or YYYY", s)
}

// Window is a span of time [From, To).
type Window struct {
	From, To time.Time
	// Label is the window as the user wrote it, or as accel chose it.
	Label string
}

// ParseWindow parses FROM..TO where each end is a date or a period name
// (2021Q1..2024Q4, 2021-01-01..2024-12-31); the window runs from the start
// of FROM to the end of TO.
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(s, "..")
	if !ok {
		return Window{}, fmt.Errorf("bad window %q: use FROM..TO, for example 2021Q1..2024Q4", s)
	}
	f, _, err := ParseTime(from)
	if err != nil {
		return Window{}, fmt.Errorf("bad window %q: %w", s, err)
	}
	_, t, err := ParseTime(to)
	if err != nil {
		return Window{}, fmt.Errorf("bad window %q: %w", s, err)
	}
	if !t.After(f) {
		return Window{}, fmt.Errorf("bad window %q: it ends before it starts", s)
	}
	return Window{From: f, To: t, Label: s}, nil
}
