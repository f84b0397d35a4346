package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// KubernetesVersion is the release the lab runs. It must equal the
// k8s.io/kubernetes version lab/tools/go.mod requires (a test checks).
const KubernetesVersion = "v1.37.2"

// Binaries the lab runs, built by Build into BinDir().
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// buildTargets maps each binary to its main package in the tools module.
var buildTargets = map[string]string{
	"etcd":                    "go.etcd.io/etcd/server/v3",
	"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
	"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
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

// stampFile records what the binaries in BinDir were built from (see
// toolsStamp); anything different means a rebuild.
func stampFile(bin string) string { return filepath.Join(bin, "built-from") }

// MissingBinaries returns the binaries absent from bin.
func MissingBinaries(bin string) []string {
	var missing []string
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(bin, b)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

// Build compiles the lab binaries from the tools module in
// <repo>/lab/tools into BinDir(), unless they are there already and were
// built from the same module files. It writes progress to w.
func Build(ctx context.Context, w io.Writer) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	tools := filepath.Join(root, "lab", "tools")
	ldflags := "-s -w" +
		" -X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
		" -X k8s.io/component-base/version.gitMajor=" + strings.Split(strings.TrimPrefix(KubernetesVersion, "v"), ".")[0] +
		" -X k8s.io/component-base/version.gitMinor=" + strings.Split(KubernetesVersion, ".")[1] +
		" -X k8s.io/component-base/version.gitTreeState=clean"
	env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0"}
	stamp, err := toolsStamp(tools, strings.Join(env, " ")+" -trimpath -ldflags "+ldflags)
	if err != nil {
		return "", err
	}
	bin := BinDir()
	if err := os.MkdirAll(CacheRoot(), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockDir(CacheRoot(), func() { fmt.Fprintln(w, "waiting for another build of the lab binaries") })
	if err != nil {
		return "", err
	}
	defer unlock()
	if old, err := os.ReadFile(stampFile(bin)); err == nil && string(old) == stamp && len(MissingBinaries(bin)) == 0 {
		fmt.Fprintf(w, "lab binaries %s are up to date in %s\n", KubernetesVersion, bin)
		return bin, nil
	}
	tmp, err := os.MkdirTemp(CacheRoot(), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// One go build for all three: packages compile in parallel and are
	// shared; each main package links into tmp under its default name.
	start := time.Now()
	args := []string{"build", "-trimpath", "-ldflags", ldflags, "-o", tmp + string(filepath.Separator)}
	for _, b := range Binaries {
		args = append(args, buildTargets[b])
	}
	fmt.Fprintf(w, "building %s from %s into %s (several minutes the first time)\n", strings.Join(Binaries, ", "), tools, bin)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build lab binaries: %w", err)
	}
	fmt.Fprintf(w, "built in %s\n", time.Since(start).Round(time.Second))
	// go names a main package after its import path's last element,
	// skipping a major version suffix: go.etcd.io/etcd/server/v3 is "server".
	for _, b := range Binaries {
		el := strings.Split(buildTargets[b], "/")
		name := el[len(el)-1]
		if len(el) > 1 && strings.HasPrefix(name, "v") && strings.Trim(name[1:], "0123456789") == "" {
			name = el[len(el)-2]
		}
		if name != b {
			if err := os.Rename(filepath.Join(tmp, name), filepath.Join(tmp, b)); err != nil {
				return "", err
			}
		}
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	for _, b := range Binaries {
		if err := os.Rename(filepath.Join(tmp, b), filepath.Join(bin, b)); err != nil {
			return "", err
		}
	}
	return bin, os.WriteFile(stampFile(bin), []byte(stamp), 0o644)
}

// toolsStamp identifies a build: the tools module's go.mod and go.sum and
// the recipe (environment and flags). A new Go release alone does not
// rebuild.
func toolsStamp(tools, recipe string) (string, error) {
	h := sha256.New()
	h.Write([]byte(recipe + "\x00"))
	for _, f := range []string{"go.mod", "go.sum"} {
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
