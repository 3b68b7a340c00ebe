// Command detecteval runs the detection engine over the labeled corpus in
// test/corpus and prints, per attack type and per kind of point, the share
// of attacks detected and of benign requests flagged (false positives),
// for the tune and holdout splits.
//
//	go run ./tools/detecteval                 # summary
//	go run ./tools/detecteval -misses -fps    # and the cases behind the figures (tune split)
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/test/corpus"
)

func main() {
	dir := flag.String("corpus", "test/corpus", "directory of the corpus *.jsonl files")
	misses := flag.Bool("misses", false, "list attacks that were not detected")
	fps := flag.Bool("fps", false, "list benign requests that were flagged")
	holdout := flag.Bool("holdout", false, "with -misses/-fps, list holdout cases too (looking at them spoils the holdout estimate)")
	flag.Parse()

	cases, err := corpus.Load(*dir)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := corpus.Run(detect.New(detect.Options{}), cases)
	if err != nil {
		log.Fatal(err)
	}
	print(os.Stdout, rep)
	if *misses {
		fmt.Println("\nmissed attacks:")
		for _, c := range rep.Missed {
			if c.Split == corpus.Tune || *holdout {
				fmt.Printf("  %s [%s %s %s] %s?%s %q%s\n", c.ID, c.Type, c.Place, c.Encoding, c.Path, short(c.Query), short(c.Body), extraHeader(c))
			}
		}
	}
	if *fps {
		fmt.Println("\nfalse positives:")
		for _, f := range rep.FalseAlarms {
			if f.Case.Split == corpus.Tune || *holdout {
				d := f.Detections[0]
				fmt.Printf("  %s %s at %s: %q\n", f.Case.ID, d.DetectorID, d.Point, short(d.Value[d.Start:d.End]))
			}
		}
	}
}

// extraHeader shows the header a payload was placed in (the last one; the
// generators put the payload after the ordinary headers).
func extraHeader(c corpus.Case) string {
	if c.Query != "" || c.Body != "" || len(c.Headers) == 0 || !strings.Contains(c.Place, "header") && !strings.Contains(c.Place, "useragent") && !strings.Contains(c.Place, "cookie") && !strings.Contains(c.Place, "referer") {
		return ""
	}
	for _, h := range c.Headers {
		if strings.EqualFold(h[0], "User-Agent") && strings.Contains(c.Place, "useragent") {
			return fmt.Sprintf(" %s: %q", h[0], short(h[1]))
		}
	}
	h := c.Headers[len(c.Headers)-1]
	return fmt.Sprintf(" %s: %q", h[0], short(h[1]))
}

func short(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

func print(w io.Writer, r *corpus.Report) {
	pct := func(s *corpus.Stats) string { return fmt.Sprintf("%6.2f%%", 100*s.Rate()) }
	for _, t := range []struct {
		title string
		m     map[string]*corpus.Stats
	}{{"generated", r.AttackByType}, {"CRS PL1", r.CRSByType}, {"GoTestWAF", r.GTWByType}, {"nemesida waf-bypass", r.NemByType}} {
		if len(t.m) == 0 {
			continue
		}
		fmt.Fprintf(w, "%-16s %7s %9s %9s   (%s attacks)\n", "attack type", "cases", "detected", "own type", t.title)
		var all corpus.Stats
		for _, k := range keys(t.m) {
			s := t.m[k]
			fmt.Fprintf(w, "%-16s %7d %9s %8.2f%%\n", k, s.Cases, pct(s), 100*float64(s.TypeHits)/float64(s.Cases))
			all.Cases += s.Cases
			all.Flagged += s.Flagged
			all.TypeHits += s.TypeHits
		}
		fmt.Fprintf(w, "%-16s %7d %9s %8.2f%%\n\n", "ALL", all.Cases, pct(&all), 100*float64(all.TypeHits)/float64(max(1, all.Cases)))
	}
	fmt.Fprintf(w, "%-22s %7s %9s\n", "attack place", "cases", "detected")
	for _, k := range keys(r.AttackByPlace) {
		fmt.Fprintf(w, "%-22s %7d %9s\n", k, r.AttackByPlace[k].Cases, pct(r.AttackByPlace[k]))
	}
	fmt.Fprintf(w, "\n%-22s %7s %9s\n", "benign place", "cases", "flagged")
	for _, k := range keys(r.BenignByPlace) {
		fmt.Fprintf(w, "%-22s %7d %9s\n", k, r.BenignByPlace[k].Cases, pct(r.BenignByPlace[k]))
	}
	for _, k := range keys(r.BenignBySource) {
		title := map[string]string{"gen": "hard benign", corpus.SourceGoTestWAF: "GoTestWAF benign", corpus.SourceNemesida: "nemesida benign"}[k]
		if title == "" {
			title = k + " benign"
		}
		fmt.Fprintf(w, "%-22s %7d %9s\n", title, r.BenignBySource[k].Cases, pct(r.BenignBySource[k]))
	}
	fmt.Fprintf(w, "%-22s %7d %9s\n", "ALL BENIGN", r.Benign.Cases, pct(&r.Benign))
	fmt.Fprintf(w, "\n%-16s %18s %18s\n", "split", "attacks detected", "benign flagged")
	for _, k := range []string{corpus.Tune, corpus.Holdout} {
		a, b := r.AttackBySplit[k], r.BenignBySplit[k]
		if a == nil || b == nil {
			continue
		}
		fmt.Fprintf(w, "%-16s %9s of %5d %9s of %5d\n", k, strings.TrimSpace(pct(a)), a.Cases, strings.TrimSpace(pct(b)), b.Cases)
	}
}

func keys(m map[string]*corpus.Stats) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
