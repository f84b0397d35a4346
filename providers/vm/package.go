package vm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// PackageSource says where a package comes from: exactly one of Apt (an
// apt package name), URL (a .deb the VM downloads with curl, SHA256
// required) or Path (a local .deb uploaded over the SSH connection,
// SHA256 checked when set).
type PackageSource struct {
	Apt    string
	URL    string
	Path   string
	SHA256 string
}

// packageSpec is what Package attaches as Resource.Private.
type packageSpec struct {
	name string // the dpkg package name
	src  PackageSource
	err  error

	debOnce sync.Once
	deb     debInfo
	debErr  error
}

// Package installs a Debian package: vm.<vm>.package["<name>"], kind
// vm_package. For a .deb (URL or Path) name is the dpkg package name and
// must match the Package field of the .deb.
//
// Attributes by source:
//   - Apt: name, version = "installed" (apt-get install when missing);
//   - Path: name, version = the .deb's Version, read locally; installed
//     with dpkg -i when the installed version differs;
//   - URL: name, sha256 = the .deb's sha256. The VM downloads it with curl
//     to a temp file and checks the sha256 before dpkg -i, which runs only
//     when the .deb's version differs from the installed one. The manifest
//     records the sha256 installed; Observe returns it, and the live
//     dpkg version as "version" for information.
func Package(vm, name string, src PackageSource) providers.Resource {
	s := &packageSpec{name: name, src: src}
	s.err = validatePackageSource(name, &s.src)
	if src.Apt != "" {
		s.name = src.Apt
	}
	a := addr(vm, TypePackage, name)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindPackage,
		AdoptFreely: true,
		Private:     s,
		Render: func(providers.Outputs) (plans.Object, error) {
			if s.err != nil {
				return nil, fmt.Errorf("%s: %w", a, s.err)
			}
			switch {
			case src.Apt != "":
				return plans.Object{"name": s.name, "version": "installed"}, nil
			case src.URL != "":
				return plans.Object{"name": s.name, "sha256": s.src.SHA256}, nil
			}
			d, err := s.localDeb()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			return plans.Object{"name": s.name, "version": d.Version}, nil
		},
	}
}

func validatePackageSource(name string, src *PackageSource) error {
	if err := validatePackage(name); err != nil {
		return err
	}
	src.SHA256 = strings.ToLower(strings.TrimSpace(src.SHA256))
	n := 0
	for _, s := range []string{src.Apt, src.URL, src.Path} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("package source: set exactly one of apt, url and path")
	}
	if src.SHA256 != "" && !sha256RE.MatchString(src.SHA256) {
		return fmt.Errorf("package source: sha256 %q is not 64 hex digits", src.SHA256)
	}
	switch {
	case src.Apt != "":
		return validatePackage(src.Apt)
	case src.URL != "":
		if !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://") {
			return fmt.Errorf("package source: url %q must start with https:// or http://", src.URL)
		}
		if err := checkText(src.URL, false); err != nil || strings.ContainsAny(src.URL, " \"'\\") {
			return fmt.Errorf("package source: url %q must not contain spaces, quotes, backslashes or control characters", src.URL)
		}
		if src.SHA256 == "" {
			return errors.New("package source: a url needs its sha256, so the VM can check the download")
		}
	}
	return nil
}

// localDeb reads (once) the control fields of a Path source.
func (s *packageSpec) localDeb() (debInfo, error) {
	s.debOnce.Do(func() {
		s.deb, s.debErr = readDebFile(s.src.Path)
		if s.debErr == nil && s.deb.Package != s.name {
			s.debErr = fmt.Errorf("%s contains package %q, not %q", s.src.Path, s.deb.Package, s.name)
		}
	})
	return s.deb, s.debErr
}

func (s *packageSpec) check() error { return s.err }

func (s *packageSpec) reading(it *observeItem) {
	it.op, it.name = []string{"p", s.name}, s.name
}

func (s *packageSpec) observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error {
	ps := obs.packages[s.name]
	o.Exists = ps.installed
	if !ps.installed {
		o.Drift = e != nil && !e.Preexisting
		return nil
	}
	o.Object = plans.Object{"name": s.name, "version": ps.version}
	if s.src.Apt != "" {
		o.Object["version"] = "installed"
	}
	if e != nil && e.SHA256 != "" {
		o.Object["sha256"] = e.SHA256
	}
	o.Outputs = plans.Object{"version": ps.version}
	o.Details = map[string]string{"version": ps.version}
	o.Drift = e != nil && e.Version != "" && e.Version != ps.version
	return nil
}

func (s *packageSpec) apply(ctx context.Context, p *Provider, req providers.ApplyRequest) providers.ApplyResponse {
	p.pkgMu.Lock()
	defer p.pkgMu.Unlock()
	var (
		out    []byte
		err    error
		sum    string
		source string
	)
	switch {
	case s.src.Apt != "":
		source = "apt:" + s.src.Apt
		out, err = p.runScript(ctx, applyTimeout(ctx), aptScript, nil, s.name)
	case s.src.URL != "":
		source, sum = s.src.URL, s.src.SHA256
		if req.Progress != nil {
			req.Progress("downloading " + s.src.URL + " on the VM")
		}
		out, err = p.runScript(ctx, applyTimeout(ctx), debURLScript, nil, s.name, s.src.URL, s.src.SHA256)
	default:
		source = "file:" + s.src.Path
		if _, derr := s.localDeb(); derr != nil {
			return providers.ApplyResponse{Err: derr}
		}
		f, ferr := os.Open(s.src.Path)
		if ferr != nil {
			return providers.ApplyResponse{Err: fmt.Errorf("read package: %w", ferr)}
		}
		h := sha256.New()
		if _, ferr = io.Copy(h, f); ferr != nil {
			f.Close()
			return providers.ApplyResponse{Err: fmt.Errorf("read package: %w", ferr)}
		}
		sum = hex.EncodeToString(h.Sum(nil))
		if s.src.SHA256 != "" && s.src.SHA256 != sum {
			f.Close()
			return providers.ApplyResponse{Err: fmt.Errorf("%s has sha256 %s, want %s; not installed", s.src.Path, sum, s.src.SHA256)}
		}
		if _, ferr = f.Seek(0, io.SeekStart); ferr != nil {
			f.Close()
			return providers.ApplyResponse{Err: ferr}
		}
		if req.Progress != nil {
			req.Progress("uploading " + s.src.Path)
		}
		out, err = p.runScript(ctx, applyTimeout(ctx), debUploadScript, f, s.name, sum, s.src.Path)
		f.Close()
	}
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("install %s: %w", s.name, err)}
	}
	res := strings.Fields(string(out))
	var version string
	var installed, hadBefore bool
	switch {
	case len(res) == 2 && res[0] == "unchanged":
		version, hadBefore = res[1], true
	case len(res) == 3 && res[0] == "installed":
		version, installed, hadBefore = res[1], true, res[2] != "-"
	default:
		return providers.ApplyResponse{Err: fmt.Errorf("install %s: unexpected output %q", s.name, out)}
	}
	a := req.Resource.Addr
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil {
			e = &entry{Type: a.Type, Key: a.Key, Name: s.name, Kind: KindPackage, Preexisting: hadBefore}
		}
		e.Version, e.SHA256, e.Source = version, sum, source
		putEntry(m, e)
	})
	return providers.ApplyResponse{Outputs: plans.Object{"version": version}, Changed: installed, Err: err}
}
