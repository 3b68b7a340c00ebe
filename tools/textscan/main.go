// Command textscan runs lines of text through the detection engine as one
// value each, the way a request would carry them, and prints how many the
// engine flags, by detector, with the flagged fragments. It measures false
// positives on text the labeled corpus does not have: an operator's own
// form contents or search terms before turning on block mode, manuals
// and changelogs, a list of passwords.
//
//	go run ./tools/textscan -place json < comments.txt
//	find /usr/share/doc -name 'README*' | xargs cat | go run ./tools/textscan -paragraphs -place form
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/palisadewaf/palisade/agent/detect"
)

func main() {
	place := flag.String("place", "json", "where each text goes: json (a field of a JSON body), form (a form field), query (a query argument), header (X-Data)")
	paragraphs := flag.Bool("paragraphs", false, "read blank-line separated paragraphs (joined into one line) instead of lines")
	show := flag.Int("show", 20, "flagged texts to print")
	flag.Parse()
	texts, err := read(os.Stdin, *paragraphs)
	if err != nil {
		log.Fatal(err)
	}
	e := detect.New(detect.Options{})
	flagged := 0
	byDetector := map[string]int{}
	var shown []string
	for _, t := range texts {
		req, err := request(*place, t)
		if err != nil {
			log.Fatal(err)
		}
		res := e.Inspect(req)
		if !res.Attack() {
			continue
		}
		flagged++
		d := res.Detections[0]
		byDetector[d.DetectorID]++
		if len(shown) < *show {
			from, to := max(0, d.Start-60), min(len(d.Value), d.End+60)
			shown = append(shown, fmt.Sprintf("%-20s %s  %q", d.DetectorID, d.Point, d.Value[from:to]))
		}
	}
	if len(texts) == 0 {
		log.Fatal("no text on stdin")
	}
	fmt.Printf("%d of %d texts flagged (%.2f %%) as %s values\n", flagged, len(texts), 100*float64(flagged)/float64(len(texts)), *place)
	ids := make([]string, 0, len(byDetector))
	for id := range byDetector {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		return byDetector[ids[i]] > byDetector[ids[j]] || byDetector[ids[i]] == byDetector[ids[j]] && ids[i] < ids[j]
	})
	for _, id := range ids {
		fmt.Printf("  %5d  %s\n", byDetector[id], id)
	}
	for _, s := range shown {
		fmt.Println(s)
	}
}

// read returns the non-empty lines of r, or its paragraphs with their
// whitespace collapsed.
func read(r io.Reader, paragraphs bool) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []string
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, strings.Join(strings.Fields(strings.Join(para, " ")), " "))
			para = para[:0]
		}
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !paragraphs:
			if strings.TrimSpace(line) != "" {
				out = append(out, line)
			}
		case strings.TrimSpace(line) == "":
			flush()
		default:
			para = append(para, line)
		}
	}
	flush()
	return out, sc.Err()
}

func request(place, text string) (*detect.Request, error) {
	req := &detect.Request{Method: "GET", Host: "app.example", Path: "/", Header: http.Header{}}
	switch place {
	case "json":
		b, err := json.Marshal(map[string]string{"text": text})
		if err != nil {
			return nil, err
		}
		req.Method, req.Path, req.Body, req.ContentType = "POST", "/api/comments", b, "application/json"
	case "form":
		req.Method, req.Path, req.Body, req.ContentType = "POST", "/comments", []byte("text="+url.QueryEscape(text)), "application/x-www-form-urlencoded"
	case "query":
		req.Path, req.RawQuery = "/search", "q="+url.QueryEscape(text)
	case "header":
		req.Header.Set("X-Data", text)
	default:
		return nil, fmt.Errorf("unknown place %q (json, form, query, header)", place)
	}
	return req, nil
}
