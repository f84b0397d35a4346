package debfile

import "io"

// magic starts every ar archive, and so every .deb (deb(5)).
const magic = "!<arch>\n"

// ReadMagic reads the first bytes of r and reports whether they are the ar
// archive magic a .deb starts with. On success r is positioned at the
// first member's header.
func ReadMagic(r io.Reader) bool {
	b := make([]byte, len(magic))
	_, err := io.ReadFull(r, b)
	return err == nil && string(b) == magic
}
