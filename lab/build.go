package lab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KubernetesVersion is the release the lab runs. It must equal the
// k8s.io/kubernetes version lab/tools/go.mod requires (a test checks).
const KubernetesVersion = "v1.37.2"

// IstioVersion is the istio.io/istio module version lab/istiotools/go.mod
// requires (a test checks). The module proxy serves Istio only as
// pseudo-versions of master.
const IstioVersion = "v0.0.0-20260827124520-eed52ebb66ad"

// CoreDNSVersion is the github.com/coredns/coredns version
// lab/istiotools/go.mod requires (a test checks).
const CoreDNSVersion = "v1.15.0"

// Binaries the lab runs, built by Build into BinDir().
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// buildTargets maps each binary to its main package in the tools module.
var buildTargets = map[string]string{
	"etcd":                    "go.etcd.io/etcd/server/v3",
	"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
	"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
}

// IstioBinaries the lab runs when Options.Istio is set, built by
// BuildIstio into IstioBinDir(). envoy is the lab's stand-in (Envoy is
// C++), a command of the istiotools module itself.
var IstioBinaries = []string{"pilot-discovery", "pilot-agent", "istioctl", "coredns", "envoy"}

var istioBuildTargets = map[string]string{
	"pilot-discovery": "istio.io/istio/pilot/cmd/pilot-discovery",
	"pilot-agent":     "istio.io/istio/pilot/cmd/pilot-agent",
	"istioctl":        "istio.io/istio/istioctl/cmd/istioctl",
	"coredns":         "github.com/coredns/coredns",
	"envoy":           istioToolsModule + "/envoy",
}

// istioToolsModule is the module path of lab/istiotools.
const istioToolsModule = "github.com/meshx-dev/meshx/lab/istiotools"

// IstioFiles are the files of the istio.io/istio module BuildIstio copies
// from the module cache into IstioBinDir() (under their base names): the
// CRDs, and what the real istio-sidecar .deb installs beside pilot-agent
// and envoy.
var IstioFiles = []string{
	"manifests/charts/base/files/crd-all.gen.yaml",
	"tools/packaging/common/istio-start.sh",
	"tools/packaging/common/istio.service",
	"tools/packaging/common/sidecar.env",
	"tools/packaging/common/envoy_bootstrap.json",
	"tools/packaging/postinst.sh",
}

// CacheRoot is ${MESHX_LAB_CACHE:-$HOME/.cache/meshx-lab}: outside the
// checkout, so a fresh clone reuses binaries built before.
func CacheRoot() string {
	if d := os.Getenv("MESHX_LAB_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".cache", "meshx-lab")
	}
	return filepath.Join(os.TempDir(), "meshx-lab-cache")
}

// BinDir is where Build puts the binaries of KubernetesVersion.
func BinDir() string { return filepath.Join(CacheRoot(), "k8s-"+KubernetesVersion) }

// IstioBinDir is where BuildIstio puts the binaries and files of
// IstioVersion and CoreDNSVersion.
func IstioBinDir() string {
	return filepath.Join(CacheRoot(), "istio-"+IstioVersion+"-coredns-"+CoreDNSVersion)
}

// stampFile records what the binaries in a cache directory were built from
// (see toolsStamp); anything different means a rebuild.
func stampFile(bin string) string { return filepath.Join(bin, "built-from") }

// MissingBinaries returns the Kubernetes binaries absent from bin.
func MissingBinaries(bin string) []string { return missing(bin, Binaries) }

// MissingIstioBinaries returns the Istio binaries and files absent from
// bin.
func MissingIstioBinaries(bin string) []string {
	m := missing(bin, IstioBinaries)
	for _, f := range IstioFiles {
		if _, err := os.Stat(filepath.Join(bin, filepath.Base(f))); err != nil {
			m = append(m, filepath.Base(f))
		}
	}
	return m
}

func missing(bin string, names []string) []string {
	var out []string
	for _, b := range names {
		if fi, err := os.Stat(filepath.Join(bin, b)); err != nil || fi.Mode()&0o111 == 0 {
			out = append(out, b)
		}
	}
	return out
}

// toolset is one tools module and what it builds.
type toolset struct {
	what     string // for messages
	module   string // directory under lab/
	bin      string // cache directory
	binaries []string
	targets  map[string]string
	ldflags  string
	// files are copied from the module cache directory of fileModule.
	fileModule string
	files      []string
	missing    func(string) []string
	// lock is the directory locked while building; default CacheRoot().
	lock string
	// moreLDFlags, when set, adds linker flags computed from fileModule's
	// directory in the module cache.
	moreLDFlags func(modDir string) (string, error)
}

// Build compiles the Kubernetes binaries from the tools module in
// <repo>/lab/tools into BinDir(), unless they are there already and were
// built from the same module files. It writes progress to w.
func Build(ctx context.Context, w io.Writer) (string, error) {
	ldflags := "-s -w" +
		" -X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
		" -X k8s.io/component-base/version.gitMajor=" + strings.Split(strings.TrimPrefix(KubernetesVersion, "v"), ".")[0] +
		" -X k8s.io/component-base/version.gitMinor=" + strings.Split(KubernetesVersion, ".")[1] +
		" -X k8s.io/component-base/version.gitTreeState=clean"
	return buildTools(ctx, w, toolset{
		what: "Kubernetes " + KubernetesVersion, module: "tools", bin: BinDir(),
		binaries: Binaries, targets: buildTargets, ldflags: ldflags, missing: MissingBinaries,
	})
}

// BuildIstio compiles pilot-discovery, pilot-agent, istioctl and CoreDNS
// from the tools module in <repo>/lab/istiotools into IstioBinDir() and
// copies IstioFiles there from the module cache, unless all of it is there
// already from the same module files. It writes progress to w.
func BuildIstio(ctx context.Context, w io.Writer) (string, error) {
	return buildTools(ctx, w, toolset{
		what: "Istio " + IstioVersion + " and CoreDNS " + CoreDNSVersion, module: "istiotools", bin: IstioBinDir(),
		binaries: IstioBinaries, targets: istioBuildTargets, ldflags: "-s -w",
		fileModule: "istio.io/istio", files: IstioFiles, missing: MissingIstioBinaries,
		// Its own lock: a Kubernetes build running meanwhile is no reason
		// to wait.
		lock:        IstioBinDir(),
		moreLDFlags: istioVersionLDFlags,
	})
}

// istioVersionLDFlags stamps the Istio binaries as Istio's Makefile does for
// a build of master: version "<VERSION file>-dev" (what proxies report to
// istiod), the revision of the pseudo-version and the module version as tag.
func istioVersionLDFlags(modDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(modDir, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("istio.io/istio: %w", err)
	}
	rev := IstioVersion[strings.LastIndex(IstioVersion, "-")+1:]
	pkg := "istio.io/istio/pkg/version."
	return " -X " + pkg + "buildVersion=" + strings.TrimSpace(string(b)) + "-dev" +
		" -X " + pkg + "buildGitRevision=" + rev +
		" -X " + pkg + "buildStatus=Clean" +
		" -X " + pkg + "buildTag=" + IstioVersion, nil
}

func buildTools(ctx context.Context, w io.Writer, ts toolset) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	tools := filepath.Join(root, "lab", ts.module)
	env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0"}
	recipe := strings.Join(env, " ") + " -trimpath -ldflags " + ts.ldflags
	if len(ts.files) > 0 {
		recipe += " files " + strings.Join(ts.files, " ")
	}
	if ts.moreLDFlags != nil {
		recipe += " version ldflags from " + ts.fileModule
	}
	stamp, err := toolsStamp(tools, recipe)
	if err != nil {
		return "", err
	}
	bin := ts.bin
	if err := os.MkdirAll(CacheRoot(), 0o755); err != nil {
		return "", err
	}
	lock := ts.lock
	if lock == "" {
		lock = CacheRoot()
	}
	unlock, err := lockDir(lock, func() { fmt.Fprintf(w, "waiting for another build of %s\n", ts.what) })
	if err != nil {
		return "", err
	}
	defer unlock()
	if old, err := os.ReadFile(stampFile(bin)); err == nil && string(old) == stamp && len(ts.missing(bin)) == 0 {
		fmt.Fprintf(w, "lab binaries of %s are up to date in %s\n", ts.what, bin)
		return bin, nil
	}
	tmp, err := os.MkdirTemp(CacheRoot(), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	goCmd := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = tools
		cmd.Env = append(os.Environ(), env...)
		return cmd
	}

	// Downloading first, on its own, tells a slow proxy from a slow build.
	start := time.Now()
	fmt.Fprintf(w, "downloading the modules of %s (lab/%s)\n", ts.what, ts.module)
	dl := goCmd("mod", "download")
	if err := runWithProgress(dl, w, "downloading modules", start, nil); err != nil {
		return "", fmt.Errorf("%s: go mod download: %w", ts.module, err)
	}
	fmt.Fprintf(w, "modules downloaded in %s\n", time.Since(start).Round(time.Second))
	modDir := ""
	if ts.fileModule != "" {
		if modDir, err = moduleDir(goCmd, ts.fileModule); err != nil {
			return "", err
		}
	}
	ldflags := ts.ldflags
	if ts.moreLDFlags != nil {
		more, err := ts.moreLDFlags(modDir)
		if err != nil {
			return "", err
		}
		ldflags += more
	}

	// One go build for all binaries: packages compile in parallel and are
	// shared; each main package links into tmp under its default name.
	// -v names each package as it is compiled, which the progress lines
	// report.
	start = time.Now()
	args := []string{"build", "-v", "-trimpath", "-ldflags", ldflags, "-o", tmp + string(filepath.Separator)}
	mains := map[string]string{}
	for _, b := range ts.binaries {
		args = append(args, ts.targets[b])
		mains[ts.targets[b]] = b
	}
	fmt.Fprintf(w, "building %s from %s into %s (several minutes the first time)\n", strings.Join(ts.binaries, ", "), tools, bin)
	if err := runWithProgress(goCmd(args...), w, "building "+strings.Join(ts.binaries, ", "), start, mains); err != nil {
		return "", fmt.Errorf("build %s: %w", ts.what, err)
	}
	fmt.Fprintf(w, "built %s in %s\n", strings.Join(ts.binaries, ", "), time.Since(start).Round(time.Second))
	for _, b := range ts.binaries {
		if name := mainName(ts.targets[b]); name != b {
			if err := os.Rename(filepath.Join(tmp, name), filepath.Join(tmp, b)); err != nil {
				return "", err
			}
		}
	}
	if len(ts.files) > 0 {
		if err := copyModuleFiles(modDir, ts.files, tmp); err != nil {
			return "", fmt.Errorf("%s: %w", ts.fileModule, err)
		}
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	names := append([]string(nil), ts.binaries...)
	for _, f := range ts.files {
		names = append(names, filepath.Base(f))
	}
	for _, b := range names {
		if err := os.Rename(filepath.Join(tmp, b), filepath.Join(bin, b)); err != nil {
			return "", err
		}
	}
	return bin, os.WriteFile(stampFile(bin), []byte(stamp), 0o644)
}

// mainName is the name go build gives the binary of a main package: its
// import path's last element, skipping a major version suffix
// (go.etcd.io/etcd/server/v3 is "server").
func mainName(pkg string) string {
	el := strings.Split(pkg, "/")
	name := el[len(el)-1]
	if len(el) > 1 && strings.HasPrefix(name, "v") && name != "v" && strings.Trim(name[1:], "0123456789") == "" {
		name = el[len(el)-2]
	}
	return name
}

// moduleDir returns the directory of module mod (at the version the tools
// module requires) in the module cache.
func moduleDir(goCmd func(...string) *exec.Cmd, mod string) (string, error) {
	out, err := goCmd("mod", "download", "-json", mod).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download -json %s: %w", mod, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download -json %s: %w", mod, err)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download -json %s: no directory (%s)", mod, m.Error)
	}
	return m.Dir, nil
}

// copyModuleFiles copies files (paths inside the module in modDir) into
// dir under their base names.
func copyModuleFiles(modDir string, files []string, dir string) error {
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(modDir, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, mode); err != nil {
			return err
		}
	}
	return nil
}

// progressEvery is how often a long build says it is still going.
const progressEvery = 30 * time.Second

// runWithProgress runs cmd, writing a line to w every progressEvery with
// the elapsed time and, when cmd prints package paths (go build -v), how
// many packages it compiled and the last one; mains maps main packages to
// the binary they become, announced as they finish compiling. Errors carry
// the end of cmd's output.
func runWithProgress(cmd *exec.Cmd, w io.Writer, what string, start time.Time, mains map[string]string) error {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var (
		mu    sync.Mutex
		n     int
		last  string
		lines []string
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			if isPackageLine(line) {
				n++
				last = line
			}
			if b, ok := mains[line]; ok {
				fmt.Fprintf(w, "  %s: compiled, linking (%s)\n", b, time.Since(start).Round(time.Second))
			}
			// Errors can scroll far back behind package lines: keep
			// only the other lines, the last 200.
			if !isPackageLine(line) {
				lines = append(lines, line)
				if len(lines) > 200 {
					lines = lines[1:]
				}
			}
			mu.Unlock()
		}
		io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); pw.Close() }()
	for {
		select {
		case err := <-waited:
			<-done
			if err != nil {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Errorf("%w\n%s", err, strings.Join(lines, "\n"))
			}
			return nil
		case <-tick.C:
			mu.Lock()
			if n > 0 {
				fmt.Fprintf(w, "  %s: %s, %d packages compiled (last %s)\n", what, time.Since(start).Round(time.Second), n, last)
			} else {
				fmt.Fprintf(w, "  %s: %s\n", what, time.Since(start).Round(time.Second))
			}
			mu.Unlock()
		}
	}
}

// isPackageLine reports whether a line of go build -v output is a package
// path (and not an error or a "# package" heading).
func isPackageLine(l string) bool {
	return l != "" && !strings.ContainsAny(l, " :#\t")
}

// toolsStamp identifies a build: the tools module's go.mod and go.sum, its
// own Go files, and the recipe (environment and flags). A new Go release
// alone does not rebuild.
func toolsStamp(tools, recipe string) (string, error) {
	h := sha256.New()
	h.Write([]byte(recipe + "\x00"))
	files := []string{"go.mod", "go.sum"}
	err := filepath.WalkDir(tools, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			rel, _ := filepath.Rel(tools, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("lab tools module: %w", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(tools, f))
		if err != nil {
			return "", fmt.Errorf("lab tools module: %w", err)
		}
		h.Write([]byte(f + "\x00" + strconv.Itoa(len(b)) + "\x00"))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var errNoBinaries = errors.New("lab binaries not built")

// checkBinaries reports missing binaries with how to build them.
func checkBinaries(bin string) error {
	if m := MissingBinaries(bin); len(m) > 0 {
		return fmt.Errorf("%w: %s missing in %s; run `make lab-binaries` (bin/meshx-lab build, several minutes the first time)", errNoBinaries, strings.Join(m, ", "), bin)
	}
	return nil
}

// checkIstioBinaries is checkBinaries for the Istio binaries.
func checkIstioBinaries(bin string) error {
	if m := MissingIstioBinaries(bin); len(m) > 0 {
		return fmt.Errorf("%w: %s missing in %s; run `make lab-binaries` (bin/meshx-lab build, many minutes the first time)", errNoBinaries, strings.Join(m, ", "), bin)
	}
	return nil
}
