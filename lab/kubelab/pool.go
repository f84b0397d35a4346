package kubelab

import "net/netip"

// pool hands out addresses from an inclusive range, one per key, lowest
// free first. It is not safe for concurrent use.
type pool struct {
	first, last netip.Addr
	byAddr      map[netip.Addr]string
	byKey       map[string]netip.Addr
	next        netip.Addr // where the search for a free address starts
}

func newPool(first, last netip.Addr) *pool {
	return &pool{first: first, last: last, next: first,
		byAddr: map[netip.Addr]string{}, byKey: map[string]netip.Addr{}}
}

func (p *pool) contains(a netip.Addr) bool {
	return a.IsValid() && p.first.Compare(a) <= 0 && a.Compare(p.last) <= 0
}

// take records a as key's when a is in the range and free (or key's
// already); it reports whether a is now key's.
func (p *pool) take(a netip.Addr, key string) bool {
	if !p.contains(a) {
		return false
	}
	if k, ok := p.byAddr[a]; ok {
		return k == key
	}
	if old, ok := p.byKey[key]; ok && old != a {
		delete(p.byAddr, old)
	}
	p.byAddr[a] = key
	p.byKey[key] = a
	return true
}

// get returns key's address, allocating the next free one after the last
// allocation (so a released address is not reused at once); ok is false
// when the range is full.
func (p *pool) get(key string) (netip.Addr, bool) {
	if a, ok := p.byKey[key]; ok {
		return a, true
	}
	a := p.next
	for {
		if _, used := p.byAddr[a]; !used {
			p.take(a, key)
			p.next = a.Next()
			if !p.contains(p.next) {
				p.next = p.first
			}
			return a, true
		}
		a = a.Next()
		if !p.contains(a) {
			a = p.first
		}
		if a == p.next {
			return netip.Addr{}, false
		}
	}
}

// release frees key's address, if it has one.
func (p *pool) release(key string) {
	if a, ok := p.byKey[key]; ok {
		delete(p.byKey, key)
		delete(p.byAddr, a)
	}
}

// lastAddr returns the highest address of prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
