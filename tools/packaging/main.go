// Command packaging builds Palisade's Debian packages (palisade-agent,
// palisade-cloud, palisadectl) from already built binaries, with nfpm used
// as a library. Each package is described by an nfpm YAML file beside this
// program; the systemd units, default configuration files and maintainer
// scripts they install live here too.
//
//	go run ./tools/packaging -bin bin -out dist -version "$(git describe --tags --always --dirty)"
//
// `make package` runs it. Paths in the YAML files are relative to their
// directory; they may use ${BIN} (directory of the binaries, in entries
// marked expand: true), ${VERSION} (the Debian version) and ${ARCH} (the
// Debian architecture).
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
)

// packages are the nfpm descriptions built by default, one per .deb.
var packages = []string{"palisade-agent", "palisade-cloud", "palisadectl"}

func main() {
	var (
		binDir  = flag.String("bin", "bin", "directory holding the built binaries")
		outDir  = flag.String("out", "dist", "directory the .deb files are written to")
		pkgDir  = flag.String("pkgdir", "tools/packaging", "directory of the nfpm YAML files, units and scripts")
		version = flag.String("version", "dev", "the build's version as the binaries report it (git describe)")
		commits = flag.Int("commits", 0, "commits in the history; orders untagged builds")
		arch    = flag.String("arch", runtime.GOARCH, "Debian architecture of the binaries")
	)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: packaging [flags] [package...]\n\npackages: %v (default: all)\n\n", packages)
		flag.PrintDefaults()
	}
	flag.Parse()
	names := flag.Args()
	if len(names) == 0 {
		names = packages
	}

	debVer, err := debVersion(*version, *commits)
	if err != nil {
		fatal(err)
	}
	b := builder{
		outDir: *outDir,
		env: map[string]string{
			"BIN":     mustAbs(*binDir),
			"VERSION": debVer,
			"ARCH":    *arch,
		},
	}
	b.outDir = mustAbs(b.outDir)
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		fatal(err)
	}
	// nfpm resolves sources relative to the working directory.
	if err := os.Chdir(*pkgDir); err != nil {
		fatal(err)
	}
	for _, name := range names {
		path, err := b.build(name + ".yaml")
		if err != nil {
			fatal(fmt.Errorf("package %s: %w", name, err))
		}
		slog.Info("package built", "package", name, "version", debVer, "file", path)
	}
}

type builder struct {
	outDir string
	env    map[string]string
}

// build packages the nfpm description at cfgPath and returns the .deb's path.
func (b builder) build(cfgPath string) (string, error) {
	var unknown []string
	cfg, err := nfpm.ParseFileWithEnvMapping(cfgPath, func(k string) string {
		if strings.HasPrefix(k, "NFPM_") {
			return os.Getenv(k) // nfpm's own settings (signing passphrases)
		}
		v, ok := b.env[k]
		if !ok {
			unknown = append(unknown, k)
		}
		return v
	})
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", cfgPath, err)
	}
	// An unknown variable is a typo in the YAML file: its empty expansion
	// would silently package the wrong path.
	if len(unknown) > 0 {
		return "", fmt.Errorf("%s: unknown variables %v", cfgPath, unknown)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", err
	}
	// Reproducible: every file and the archive carry the commit's time when
	// SOURCE_DATE_EPOCH is set (nfpm reads it), else a fixed one.
	if os.Getenv("SOURCE_DATE_EPOCH") == "" {
		info.MTime = time.Unix(0, 0).UTC()
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", err
	}
	pkger, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	path := filepath.Join(b.outDir, pkger.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pkger.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	return path, f.Close()
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		fatal(err)
	}
	return abs
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "packaging:", err)
	os.Exit(1)
}
