package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/meshx-dev/meshx/lab"
)

// machine describes where the benchmark ran: the figures only compare
// within one run on one machine.
type machine struct {
	cpus       int
	cpuModel   string
	memory     string
	os, kernel string
	goVersion  string
	ansible    string
	kubectl    string
	openssh    string
}

func describeMachine(kubectl string) machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version()}
	m.cpuModel = fieldOf("/proc/cpuinfo", "model name", ":")
	if kb := fieldOf("/proc/meminfo", "MemTotal", ":"); kb != "" {
		var n int64
		fmt.Sscanf(kb, "%d", &n)
		m.memory = fmt.Sprintf("%.1f GiB", float64(n)/(1<<20))
	}
	m.os = strings.Trim(fieldOf("/etc/os-release", "PRETTY_NAME", "="), `"`)
	m.kernel = firstLine("uname", "-r")
	m.ansible = firstLine("ansible-playbook", "--version")
	// kubectl built from source reports no version of its own.
	m.kubectl = fmt.Sprintf("%s (built from k8s.io/kubernetes %s by scripts/bench.sh)", kubectl, lab.KubernetesVersion)
	m.openssh = firstLine("ssh", "-V")
	return m
}

// load is the load average now, as /proc/loadavg says it.
func load() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// fieldOf returns the value of the first "key<sep>value" line of file.
func fieldOf(file, key, sep string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// firstLine is the first line a command prints (on stdout or stderr), or
// "not installed".
func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil && line == "" {
		return "not installed"
	}
	return line
}

func (m machine) markdown(loadStart, loadEnd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPUs | %d × %s |\n", m.cpus, m.cpuModel)
	fmt.Fprintf(&b, "| memory | %s |\n", m.memory)
	fmt.Fprintf(&b, "| OS | %s, Linux %s |\n", m.os, m.kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", m.goVersion)
	fmt.Fprintf(&b, "| OpenSSH | %s |\n", m.openssh)
	fmt.Fprintf(&b, "| Ansible | %s |\n", m.ansible)
	fmt.Fprintf(&b, "| kubectl | %s |\n", m.kubectl)
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", loadStart, loadEnd)
	return b.String()
}
