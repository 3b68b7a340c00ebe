package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is one thing wrk loads: a process group listening on addr.
type target struct {
	name  string
	addr  string
	cmd   *exec.Cmd
	waf   bool // expected to block the attack request
	clean func()
}

// pids are the target's processes (nginx: master and workers).
func (t *target) pids() []int {
	pids := []int{t.cmd.Process.Pid}
	return append(pids, children(t.cmd.Process.Pid)...)
}

func (t *target) stop() {
	if t.cmd.Process != nil {
		syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { t.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if t.clean != nil {
		t.clean()
	}
}

// sanity checks that the target serves the workload's request (200) and
// that a WAF blocks an attack (403) before anything is measured.
func (t *target) sanity(w workload) error {
	c := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest(w.method, "http://"+t.addr+w.path, bytes.NewReader(w.body))
	for k, v := range w.header {
		req.Header[k] = v
	}
	req.Host = w.host
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("benign %s answered %d", w.name, resp.StatusCode)
	}
	resp, err = c.Get("http://" + t.addr + attackPath)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if t.waf && resp.StatusCode != 403 {
		return fmt.Errorf("attack answered %d, want 403", resp.StatusCode)
	}
	return nil
}

// start runs argv pinned to cpu in its own process group and waits until
// addr accepts connections.
func start(name string, cpu int, addr string, stdout io.Writer, argv ...string) (*target, error) {
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu)}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	t := &target{name: name, addr: addr, cmd: cmd}
	if addr == "" {
		return t, nil
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return t, nil
		}
	}
	t.stop()
	return nil, fmt.Errorf("%s did not listen on %s", name, addr)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// upstream is the application behind the proxies.
type upstream struct{ *target }

func startUpstream(self string, cpu int) (*upstream, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	t, err := start("upstream", cpu, addr, io.Discard, self, "upstream", "-listen", addr)
	if err != nil {
		return nil, err
	}
	return &upstream{t}, nil
}

func (u *upstream) asTarget(name string) *target {
	t := *u.target
	t.name = name
	return &t
}

// serveUpstream is the upstream process: a Go net/http server answering
// every request with a small JSON document after reading its body.
func serveUpstream(args []string) {
	listen := "127.0.0.1:0"
	if len(args) == 2 && args[0] == "-listen" {
		listen = args[1]
	}
	answer := []byte(`{"ok":true,"items":[{"id":1,"name":"running shoes"}]}`)
	err := http.ListenAndServe(listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		w.Write(answer)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func startGoProxy(self string, cpu int, upstreamAddr string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return start("Go httputil.ReverseProxy (no WAF)", cpu, addr, io.Discard, self, "goproxy", "-listen", addr, "-upstream", upstreamAddr)
}

// serveGoProxy is the plain reverse proxy: httputil.ReverseProxy with a
// transport keeping enough idle connections for the benchmark's
// concurrency (the default of 2 per host would measure connection churn).
func serveGoProxy(args []string) {
	var listen, up string
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-listen":
			listen = args[i+1]
		case "-upstream":
			up = args[i+1]
		}
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp.Transport = tr
	rp.ErrorLog = log.New(io.Discard, "", 0) // wrk hanging up at the end of a run
	srv := &http.Server{Addr: listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, srv.ListenAndServe())
	os.Exit(1)
}

func buildAgent(dir string) (string, error) {
	out := filepath.Join(dir, "palisade-agent")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/palisade-agent")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build palisade-agent (run from the repository root): %w", err)
	}
	return out, nil
}

// startPalisade runs palisade-agent with one application in block mode in
// reverse-proxy mode in front of the upstream. No XDP interface: the
// packet filter has nothing to do with an L7 benchmark over loopback.
func startPalisade(bin, dir string, cpu int, upstreamAddr string) (*target, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "agent.yaml")
	pin := fmt.Sprintf("/sys/fs/bpf/palisade-proxybench-%d", os.Getpid())
	cfg := fmt.Sprintf(`xdp:
  pin_path: %s
admin:
  socket: %s
metrics:
  listen: ""
log:
  level: warn
applications:
  - id: 1
    name: bench
    mode: block
    listen: %s
    upstream: http://%s
`, pin, filepath.Join(dir, "agent.sock"), addr, upstreamAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	t, err := start("Palisade (block mode)", cpu, addr, os.Stderr, bin, "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	t.waf = true
	t.clean = func() { exec.Command(bin, "--detach", "--config", cfgPath).Run() }
	return t, nil
}

const (
	nginxBin     = "/usr/sbin/nginx"
	modSecModule = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so"
	crsLoad      = "/usr/share/modsecurity-crs/owasp-crs.load"
)

// ensureModSecurity checks for nginx, the ModSecurity module and the CRS;
// with install it apt-gets the Debian packages that are missing.
func ensureModSecurity(install bool) error {
	missing := func() []string {
		var m []string
		for pkg, file := range map[string]string{"nginx": nginxBin, "libnginx-mod-http-modsecurity": modSecModule, "modsecurity-crs": crsLoad} {
			if _, err := os.Stat(file); err != nil {
				m = append(m, pkg)
			}
		}
		return m
	}
	m := missing()
	if len(m) == 0 {
		return nil
	}
	if !install {
		return fmt.Errorf("missing %s (pass -install-modsecurity to apt-get them)", strings.Join(m, ", "))
	}
	cmd := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, m...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(m, " "), err)
	}
	if m = missing(); len(m) > 0 {
		return fmt.Errorf("still missing after install: %s", strings.Join(m, ", "))
	}
	return nil
}

// modSecurityRules is ModSecurity v3's engine set up the way its
// recommended configuration does for requests, then the OWASP CRS as
// Debian packages it (paranoia level 1, anomaly scoring, blocking). The
// package's owasp-crs.load is written for ModSecurity 2 (IncludeOptional),
// so its two mandatory includes are spelled out.
// Response bodies and the audit log are off: only request inspection is
// compared.
const modSecurityRules = `SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecResponseBodyAccess Off
SecAuditEngine Off
SecArgumentSeparator &
SecCookieFormat 0
SecTmpDir /tmp/
SecDataDir /tmp/
SecRule REQUEST_HEADERS:Content-Type "(?:application(?:/soap\+|/)|text/)xml" "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
Include /etc/modsecurity/crs/crs-setup.conf
Include /usr/share/modsecurity-crs/rules/*.conf
`

func startNginx(dir string, cpu int, upstreamAddr string, waf bool) (*target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	module, modsec := "", ""
	name := "nginx (no WAF)"
	if waf {
		rules := filepath.Join(dir, "modsecurity.conf")
		if err := os.WriteFile(rules, []byte(modSecurityRules), 0o644); err != nil {
			return nil, err
		}
		module = "load_module " + modSecModule + ";"
		modsec = "modsecurity on;\n    modsecurity_rules_file " + rules + ";"
		name = "nginx + ModSecurity + CRS"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream app { server %[3]s; keepalive 64; }
  server {
    listen %[4]s;
    %[5]s
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, module, dir, upstreamAddr, addr, modsec)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(nginxBin, "-t", "-c", path).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t: %v: %s", err, out)
	}
	t, err := start(name, cpu, addr, io.Discard, nginxBin, "-c", path)
	if err != nil {
		return nil, err
	}
	t.waf = waf
	return t, nil
}

// children lists the direct children of pid (nginx's workers).
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; split after ')'.
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
			out = append(out, children(child)...)
		}
	}
	return out
}

// rssKiB is the resident set of pid in KiB.
func rssKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, errors.New("no VmRSS")
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime is the user + system time pids have used so far.
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		// After the command: state(0) ppid(1) ... utime(11) stime(12).
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * clockTick
}
