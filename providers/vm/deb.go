package vm

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/meshx-dev/meshx/internal/debfile"
)

// debInfo is the part of a .deb's control file meshx needs.
type debInfo struct {
	Package, Version, Architecture string
}

// readDebFile reads the control fields of a local .deb. It understands the
// ar container and a control.tar that is uncompressed or gzip-compressed
// (what fpm and `dpkg-deb -Zgzip` write); for xz or zstd it asks a local
// dpkg-deb, and says so when there is none.
func readDebFile(file string) (debInfo, error) {
	f, err := os.Open(file)
	if err != nil {
		return debInfo{}, fmt.Errorf("read package: %w", err)
	}
	defer f.Close()
	info, err := readDeb(f)
	if errors.Is(err, errDebCompression) {
		if dd, lerr := exec.LookPath("dpkg-deb"); lerr == nil {
			out, xerr := exec.Command(dd, "-f", file, "Package", "Version", "Architecture").Output()
			if xerr != nil {
				return debInfo{}, fmt.Errorf("read package %s: dpkg-deb -f: %w", file, xerr)
			}
			return parseControl(out)
		}
		return debInfo{}, fmt.Errorf("read package %s: %w; install dpkg-deb or build the .deb with -Zgzip", file, err)
	}
	if err != nil {
		return debInfo{}, fmt.Errorf("read package %s: %w", file, err)
	}
	return info, nil
}

var errDebCompression = errors.New("control.tar is compressed with xz or zstd, which meshx cannot read itself")

// readDeb reads the control fields from a .deb stream.
func readDeb(r io.Reader) (debInfo, error) {
	br := bufio.NewReader(r)
	if !debfile.ReadMagic(br) {
		return debInfo{}, errors.New("not a .deb (no ar archive header)")
	}
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return debInfo{}, errors.New("not a .deb (no control.tar member)")
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		var size int64
		if _, err := fmt.Sscan(strings.TrimSpace(string(hdr[48:58])), &size); err != nil || size < 0 {
			return debInfo{}, errors.New("not a .deb (bad ar member size)")
		}
		body := io.LimitReader(br, size)
		switch name {
		case "control.tar":
			return controlFromTar(body)
		case "control.tar.gz":
			zr, err := gzip.NewReader(body)
			if err != nil {
				return debInfo{}, fmt.Errorf("control.tar.gz: %w", err)
			}
			return controlFromTar(zr)
		case "control.tar.xz", "control.tar.zst":
			return debInfo{}, errDebCompression
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return debInfo{}, err
		}
		if size%2 == 1 {
			if _, err := br.ReadByte(); err != nil {
				return debInfo{}, err
			}
		}
	}
}

func controlFromTar(r io.Reader) (debInfo, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return debInfo{}, errors.New("control.tar has no control file")
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) != "control" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return debInfo{}, err
		}
		return parseControl(b)
	}
}

// parseControl reads deb822 fields; continuation lines are ignored since
// the fields meshx reads are single-line.
func parseControl(b []byte) (debInfo, error) {
	var d debInfo
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, v, ok := strings.Cut(string(line), ":")
		if !ok || strings.HasPrefix(k, " ") || strings.HasPrefix(k, "\t") {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			d.Package = v
		case "Version":
			d.Version = v
		case "Architecture":
			d.Architecture = v
		}
	}
	if d.Package == "" || d.Version == "" {
		return d, errors.New("control file has no Package or Version")
	}
	return d, nil
}
