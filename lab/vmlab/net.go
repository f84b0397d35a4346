package vmlab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
)

// run runs a host command and returns its combined output; a failure
// carries the command, its status and its output.
func run(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		what := name + " " + strings.Join(args, " ")
		if stdin != "" {
			what += " <<" + strings.ReplaceAll(strings.TrimSpace(stdin), "\n", "; ")
		}
		return out.String(), fmt.Errorf("%s: %w: %s", what, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// subnet returns the lab subnet 10.251.<idx>.0/24.
func subnet(idx int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 251, byte(idx), 0}), 24)
}

func hostAddr(idx, host int) string {
	return netip.AddrFrom4([4]byte{10, 251, byte(idx), byte(host)}).String()
}

// MaxVMs is how many VMs fit in a lab subnet next to the bridge and the
// load-balancer pool.
const MaxVMs = 190 + 8 + 4

// vmHost returns the last octet of VM i (1-based): .10–.199 first, then
// .2–.9 and .251–.254, so that .200–.250 stay free for the cluster LB pool.
func vmHost(i int) int {
	switch {
	case i <= 190:
		return 9 + i
	case i <= 198:
		return i - 189
	default:
		return 251 + i - 199
	}
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

func netnsExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// subnetUsers returns the interfaces other than except that hold an IPv4
// address inside p.
func subnetUsers(ctx context.Context, p netip.Prefix, except string) ([]string, error) {
	out, err := run(ctx, "", "ip", "-o", "-4", "addr", "show")
	if err != nil {
		return nil, err
	}
	var users []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		// 5: mx0br    inet 10.251.0.1/24 brd 10.251.0.255 scope global mx0br
		if len(f) < 4 || f[2] != "inet" {
			continue
		}
		a, err := netip.ParsePrefix(f[3])
		if err != nil {
			continue
		}
		if p.Contains(a.Addr()) && f[1] != except {
			users = append(users, f[1])
		}
	}
	return users, nil
}

// ensureBridge creates the lab bridge with the host-side address, or makes
// sure the existing one has it.
func ensureBridge(ctx context.Context, bridge string, idx int) error {
	p := subnet(idx)
	users, err := subnetUsers(ctx, p, bridge)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	if len(users) > 0 {
		return fmt.Errorf("vmlab: subnet %s is already used by %s; choose another SubnetIndex", p, strings.Join(users, ", "))
	}
	cidr := hostAddr(idx, 1) + "/24"
	if !linkExists(bridge) {
		batch := fmt.Sprintf("link add name %s type bridge stp_state 0 forward_delay 0\naddr add %s dev %s\nlink set %s up\n", bridge, cidr, bridge, bridge)
		if _, err := run(ctx, batch, "ip", "-batch", "-"); err != nil {
			return fmt.Errorf("vmlab: create bridge %s: %w", bridge, err)
		}
		return nil
	}
	out, err := run(ctx, "", "ip", "-o", "-4", "addr", "show", "dev", bridge)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	if !strings.Contains(out, " "+cidr+" ") {
		if _, err := run(ctx, "", "ip", "addr", "add", cidr, "dev", bridge); err != nil {
			return fmt.Errorf("vmlab: %w", err)
		}
	}
	if _, err := run(ctx, "", "ip", "link", "set", bridge, "up"); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	return nil
}

// createNets creates the network namespaces and veth pairs of vms in one
// batch (the host side attached to the bridge); the VM side is eth0.
func createNets(ctx context.Context, bridge string, vms []*vmRecord) error {
	if len(vms) == 0 {
		return nil
	}
	var b strings.Builder
	for _, v := range vms {
		fmt.Fprintf(&b, "netns add %s\n", v.NetNS)
		// Fixed MAC addresses: a VM restarted on its disk keeps its MAC, so
		// the host's neighbour cache stays right.
		fmt.Fprintf(&b, "link add name %s address %s type veth peer name eth0 address %s netns %s\n", v.Veth, mac(0x79, v), mac(0x78, v), v.NetNS)
		fmt.Fprintf(&b, "link set %s master %s up\n", v.Veth, bridge)
	}
	if _, err := run(ctx, b.String(), "ip", "-batch", "-"); err != nil {
		return fmt.Errorf("vmlab: create VM networks: %w", err)
	}
	return nil
}

// mac returns a locally administered MAC address for a VM: 02:6d:<kind>:
// <subnet index>:00:<VM index>.
func mac(kind byte, v *vmRecord) string {
	return fmt.Sprintf("02:6d:%02x:%02x:%02x:%02x", kind, v.Subnet, v.Index>>8, v.Index&0xff)
}

// configureNet gives a VM its address; it has no route beyond the subnet.
func configureNet(ctx context.Context, v *vmRecord) error {
	batch := fmt.Sprintf("link set lo up\naddr add %s/24 dev eth0\nlink set eth0 up\n", v.Address)
	if _, err := run(ctx, batch, "ip", "-n", v.NetNS, "-batch", "-"); err != nil {
		return fmt.Errorf("vmlab: %s: configure network: %w", v.Name, err)
	}
	return nil
}

// deleteNet removes a VM's veth pair and network namespace, if present.
func deleteNet(ctx context.Context, v *vmRecord) error {
	var errs []error
	if linkExists(v.Veth) {
		if _, err := run(ctx, "", "ip", "link", "del", v.Veth); err != nil && linkExists(v.Veth) {
			errs = append(errs, err)
		}
	}
	if netnsExists(v.NetNS) {
		if _, err := run(ctx, "", "ip", "netns", "del", v.NetNS); err != nil && netnsExists(v.NetNS) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("vmlab: %s: remove network: %v", v.Name, errs)
	}
	return nil
}

// deleteNets removes the network namespaces and veth pairs of vms. With no
// process left in them, deleting the namespaces lets the kernel destroy
// them, and the veths in them, in one batch, which is much faster than
// deleting veths one by one; stragglers are deleted explicitly.
func deleteNets(ctx context.Context, vms []*vmRecord) error {
	var b strings.Builder
	for _, v := range vms {
		if netnsExists(v.NetNS) {
			fmt.Fprintf(&b, "netns del %s\n", v.NetNS)
		}
	}
	var batchErr error
	if b.Len() > 0 {
		_, batchErr = run(ctx, b.String(), "ip", "-force", "-batch", "-")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.Reset()
		for _, v := range vms {
			if linkExists(v.Veth) {
				fmt.Fprintf(&b, "link del %s\n", v.Veth)
			}
		}
		if b.Len() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b.Len() > 0 {
		_, batchErr = run(ctx, b.String(), "ip", "-force", "-batch", "-")
	}
	var left []string
	for _, v := range vms {
		if linkExists(v.Veth) {
			left = append(left, v.Veth)
		}
		if netnsExists(v.NetNS) {
			left = append(left, "netns "+v.NetNS)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("vmlab: could not remove %s: %v", strings.Join(left, ", "), batchErr)
	}
	return nil
}
