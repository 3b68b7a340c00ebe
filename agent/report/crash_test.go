package report

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/mask"
)

// crashChildEnv carries the job of a child process of TestSurvivesKill9:
// "spool|dir|url" or "upload|dir|url".
const crashChildEnv = "PALISADE_REPORT_CRASH_CHILD"

// TestCrashChild is the body of the agent processes TestSurvivesKill9
// starts and kills; it returns at once in a normal test run.
func TestCrashChild(t *testing.T) {
	job := os.Getenv(crashChildEnv)
	if job == "" {
		return
	}
	mode, rest, _ := strings.Cut(job, "|")
	dir, url, _ := strings.Cut(rest, "|")
	r := newTestReporter(t, dir, url, "pcn_test-node-credential-0123456789", func(c *Config) {
		c.BatchEvents = 50
		// The parent reads the child's log on its stderr.
		c.Logger = slog.New(mask.NewHandler(slog.NewTextHandler(os.Stderr, nil), c.Masker, c.Credential)).With("pid", os.Getpid())
	})
	go r.Run(context.Background())
	go func() {
		// Tell the parent when everything spooled has been delivered.
		for {
			if r.Stats().Events == 0 && mode == "upload" {
				fmt.Println("spool empty")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if mode == "spool" {
		// Spool until killed; a line per event whose Report returned.
		for i := 0; ; i++ {
			if err := r.Report(sqliInput(i)); err != nil {
				fmt.Fprintln(os.Stderr, "report:", err)
				os.Exit(2)
			}
			fmt.Println("spooled", i)
		}
	}
	time.Sleep(time.Hour)
}

// child is one agent process of the crash test.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	logs  *syncBuffer
}

func startChild(t *testing.T, mode, dir, url string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+mode+"|"+dir+"|"+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024), logs: &syncBuffer{}}
	cmd.Stderr = c.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() { c.kill() })
	return c
}

// kill sends SIGKILL: no deferred function, no Close, no flush runs.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// waitLine waits for a line with the prefix and returns it.
func (c *child) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q; its log:\n%s", prefix, c.logs)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("child did not print %q; its log:\n%s", prefix, c.logs)
		}
	}
}

// TestSurvivesKill9 kills the spooling agent with SIGKILL in the middle of
// its work, twice: once while it spools events with the cloud down, once
// while an upload is in flight (the cloud stored the batch, the answer
// never came). Every event whose Report returned reaches the cloud, and
// each is stored exactly once.
func TestSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	// The cloud's address, with nothing listening yet: the cloud is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "http://" + addr + "/api/v1/ingest"

	// 1. Spool with the cloud down; kill in the middle of it.
	a := startChild(t, "spool", dir, url)
	confirmed := map[string]bool{}
	for len(confirmed) < 1500 {
		l := a.waitLine(t, "spooled ")
		i, _ := strconv.Atoi(strings.TrimPrefix(l, "spooled "))
		confirmed[fmt.Sprintf("req-%06d", i)] = true
	}
	a.kill()
	// Lines already written to the pipe are confirmations too.
	for l := range a.lines {
		if i, err := strconv.Atoi(strings.TrimPrefix(l, "spooled ")); err == nil {
			confirmed[fmt.Sprintf("req-%06d", i)] = true
		}
	}

	// 2. Restart: the cloud is still down, then comes up and stores the
	// first batch but withholds the answer; kill the agent then.
	b := startChild(t, "upload", dir, url)
	waitFor(t, "the restarted agent to try the cloud", func() bool {
		return strings.Contains(b.logs.String(), "upload failed")
	})
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("bring the cloud back on %s: %v", addr, err)
	}
	srv := newIngestServerOn(t, l2)
	srv.mode.Store(modeStoreThenHang)
	waitFor(t, "a stored batch", func() bool { return len(srv.storedEvents()) > 0 })
	b.kill()
	srv.mode.Store(modeOK)

	// 3. Restart again: everything is delivered.
	c := startChild(t, "upload", dir, url)
	c.waitLine(t, "spool empty")
	c.kill()

	perRequest := map[string]int{}
	for _, ev := range srv.storedEvents() {
		perRequest[ev.RequestID]++
	}
	for id := range confirmed {
		if perRequest[id] != 1 {
			t.Errorf("request %s: stored %d times, want exactly once", id, perRequest[id])
		}
	}
	for id, n := range perRequest {
		// An event whose Report had not returned when the agent died may
		// or may not have made it, but never twice.
		if n != 1 {
			t.Errorf("request %s stored %d times", id, n)
		}
	}
	srv.mu.Lock()
	received, stored := srv.received, len(srv.events)
	srv.mu.Unlock()
	if received <= stored {
		t.Errorf("the withheld answer did not cause a resend (received %d, stored %d): the test missed its point", received, stored)
	}
	t.Logf("%d events confirmed before SIGKILL, %d stored, %d received (duplicates dropped by id)", len(confirmed), stored, received)
}
