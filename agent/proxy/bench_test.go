package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/detect/benchdata"
)

// BenchmarkForward sends the benign GET and 2 KiB JSON POST of
// agent/detect/benchdata through Palisade in block mode and, as the
// baseline in the same run, through net/http's httputil.ReverseProxy, over
// loopback keep-alive connections to the same upstream. The full
// side-by-side comparison, with wrk and nginx + ModSecurity, is
// tools/proxybench.
func BenchmarkForward(b *testing.B) {
	up := benchUpstream(b)
	for _, r := range benchdata.Requests() {
		if r.Name != "BenignGET" && r.Name != "BenignJSON2K" {
			continue
		}
		raw := rawRequest(r)
		b.Run("palisade/"+r.Name, func(b *testing.B) { benchProxy(b, palisadeFront(b, up), raw) })
		b.Run("httputil/"+r.Name, func(b *testing.B) { benchProxy(b, httputilFront(b, up), raw) })
	}
}

func rawRequest(r benchdata.Request) []byte {
	var buf bytes.Buffer
	target := r.Path
	if r.Query != "" {
		target += "?" + r.Query
	}
	fmt.Fprintf(&buf, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, target, r.Host)
	r.Header.Write(&buf)
	if r.ContentType != "" {
		fmt.Fprintf(&buf, "Content-Type: %s\r\n", r.ContentType)
	}
	if len(r.Body) > 0 {
		fmt.Fprintf(&buf, "Content-Length: %d\r\n", len(r.Body))
	}
	buf.WriteString("\r\n")
	buf.Write(r.Body)
	return buf.Bytes()
}

// benchUpstream is a minimal keep-alive HTTP/1.1 server: it reads each
// request (body included) and answers a fixed small response.
func benchUpstream(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := c.Write(answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func palisadeFront(b *testing.B, up string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.Applications = []config.Application{{ID: 1, Name: "bench", Mode: config.ModeBlock, Listen: ln.Addr().String(), Upstream: "http://" + up}}
	p, err := New(&cfg, Options{Engine: detect.New(detect.Options{})})
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(ln, "listen "+ln.Addr().String())
	b.Cleanup(func() {
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	return ln.Addr().String()
}

func httputilFront(b *testing.B, up string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp.Transport = tr
	srv := &http.Server{Handler: rp}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// benchProxy runs b.N requests over 16 keep-alive connections.
func benchProxy(b *testing.B, addr string, raw []byte) {
	b.SetBytes(int64(len(raw)))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for pb.Next() {
			if _, err := c.Write(raw); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Error("status " + strconv.Itoa(resp.StatusCode))
				return
			}
		}
	})
}
