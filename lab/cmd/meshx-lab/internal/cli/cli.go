package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/meshx-dev/meshx/lab"
)

const usage = `usage: meshx-lab <command> [flags]

commands:
  build     [-only kubernetes|istio]: build etcd, kube-apiserver and kube-controller-manager ` + lab.KubernetesVersion + `,
            pilot-discovery, pilot-agent, istioctl and CoreDNS into the cache
  up        start the lab (idempotent); writes .lab/lab.json, kubeconfigs, SSH key, examples.vars
  down      stop everything the lab started and remove what it made
  status    show the lab and whether its processes run
  lb-mode   CLUSTER ip|hostname|never: how LoadBalancer Services get addresses from now on
  controller -cluster NAME [-dir DIR]: run one cluster's lab controller (up starts these)
`

// Run executes meshx-lab with args and returns its exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "build":
		err = build(ctx, args, stdout)
	case "up":
		err = up(ctx, args, stdout, stderr)
	case "down":
		err = down(ctx, args, stdout)
	case "status":
		err = status(args, stdout)
	case "lb-mode":
		err = lbMode(ctx, args, stdout)
	case "controller":
		return controller(args, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "meshx-lab: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "meshx-lab %s: %v\n", cmd, err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "meshx-lab %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

type usageError struct{ error }

// instanceFlags are the flags that select an instance.
type instanceFlags struct {
	name, dir string
}

func (f *instanceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", lab.DefaultName, "lab instance name")
	fs.StringVar(&f.dir, "dir", "", "instance directory (default <repo>/.lab for meshx)")
}

func (f *instanceFlags) options() lab.Options {
	return lab.Options{Name: f.name, Dir: f.dir}
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func build(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	only := fs.String("only", "", "build only kubernetes or istio (default both)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *only != "" && *only != "kubernetes" && *only != "istio" {
		return usageError{fmt.Errorf("-only %q: want kubernetes or istio", *only)}
	}
	start := time.Now()
	if *only != "istio" {
		bin, err := lab.Build(ctx, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Kubernetes binaries ready in %s (%s)\n", bin, time.Since(start).Round(time.Second))
	}
	if *only != "kubernetes" {
		bin, err := lab.BuildIstio(ctx, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Istio binaries ready in %s (%s)\n", bin, time.Since(start).Round(time.Second))
	}
	return nil
}

func up(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	var inst instanceFlags
	inst.register(fs)
	clusters := fs.String("clusters", "control,remote1", "comma-separated cluster names; the first is the control cluster")
	vms := fs.Int("vms", lab.DefaultVMs, "number of VMs")
	noBuild := fs.Bool("no-build", false, "fail instead of building missing binaries")
	istio := fs.Bool("istio", true, "run a real Istio control plane (istiod, CoreDNS)")
	if err := parse(fs, args); err != nil {
		return err
	}
	o := inst.options()
	o.VMs = *vms
	for _, c := range strings.Split(*clusters, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.Clusters = append(o.Clusters, lab.ClusterOptions{Name: c})
		}
	}
	o.Log = stdout
	o.Istio = *istio
	if !*noBuild && len(lab.MissingBinaries(lab.BinDir())) > 0 {
		if _, err := lab.Build(ctx, stdout); err != nil {
			return err
		}
	}
	if !*noBuild && *istio && len(lab.MissingIstioBinaries(lab.IstioBinDir())) > 0 {
		if _, err := lab.BuildIstio(ctx, stdout); err != nil {
			return err
		}
	}
	l, err := lab.Up(ctx, o)
	if err != nil {
		return err
	}
	printLab(stdout, l)
	return nil
}

func down(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	var inst instanceFlags
	inst.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	o := inst.options()
	o.Log = stdout
	return lab.Down(ctx, o)
}

func status(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var inst instanceFlags
	inst.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	l, procs, err := lab.Status(inst.options())
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "lab %s is not up\n", inst.name)
		return nil
	}
	if err != nil {
		return err
	}
	printLab(stdout, l)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OWNER\tPROCESS\tPID\tSTATE")
	down := 0
	for _, p := range procs {
		state := "running"
		if !p.Alive {
			state, down = "gone", down+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Owner, p.Name, p.PID, state)
	}
	tw.Flush()
	if down > 0 {
		return fmt.Errorf("%d recorded processes are not running; run make lab-up to repair", down)
	}
	return nil
}

func printLab(w io.Writer, l *lab.Lab) {
	fmt.Fprintf(w, "lab %s: %s (subnet %s)\n", l.Name, filepath.Join(l.Dir, "lab.json"), l.Subnet)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tROLE\tSERVER\tPODS\tSERVICES\tLB POOL\tKUBECONFIG")
	for _, c := range l.Clusters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Role, c.Server, c.PodCIDR, c.ServiceCIDR, c.LBPool, c.Kubeconfig)
	}
	tw.Flush()
	if len(l.VMs) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VM\tADDRESS\tSSH\tNETNS")
		for _, v := range l.VMs {
			fmt.Fprintf(tw, "%s\t%s\t%s@%s:%d\t%s\n", v.Name, v.Address, v.User, v.Address, v.SSHPort, v.NetNS)
		}
		tw.Flush()
		fmt.Fprintf(w, "ssh -i %s -o UserKnownHostsFile=%s %s@%s\n", l.SSHPrivateKey, l.KnownHosts, l.VMs[0].User, l.VMs[0].Address)
	}
	if l.Istio != nil {
		fmt.Fprintf(w, "istiod: debug %s, xDS/CA %s; istioctl %s\n", l.Istio.DebugURL, l.Istio.XDSAddress, l.Istio.Istioctl)
	}
	fmt.Fprintf(w, "variables for examples: %s\n", l.ExamplesVars)
}

func lbMode(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lb-mode", flag.ContinueOnError)
	var inst instanceFlags
	inst.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError{errors.New("want CLUSTER and ip, hostname or never")}
	}
	o := inst.options()
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = lab.DefaultDir(o.Name); err != nil {
			return err
		}
	}
	l, err := lab.Load(dir)
	if err != nil {
		return err
	}
	if err := l.SetLBMode(ctx, fs.Arg(0), fs.Arg(1)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster %s: lb-mode %s\n", fs.Arg(0), fs.Arg(1))
	return nil
}

func controller(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	var inst instanceFlags
	inst.register(fs)
	cluster := fs.String("cluster", "", "cluster name")
	if err := parse(fs, args); err != nil || *cluster == "" {
		fmt.Fprintln(stderr, "usage: meshx-lab controller -cluster NAME [-name N | -dir DIR]")
		return 2
	}
	dir := inst.dir
	if dir == "" {
		var err error
		if dir, err = lab.DefaultDir(inst.name); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return lab.RunController(filepath.Join(dir, "clusters", *cluster))
}
