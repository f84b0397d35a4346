// Command envoy stands in for Envoy in the lab's modern istio-sidecar .deb:
// Envoy is C++ and cannot be built from Go modules. Run by pilot-agent as
// Envoy is, it reads the bootstrap the agent wrote (-c), takes its node
// (ID, cluster, metadata) and opens the streams Envoy opens over the
// agent's Unix sockets: ADS (clusters and listeners) on the xds-grpc pipe
// and SDS (the workload certificate and root) on the sds-grpc pipe, acking
// every response, so istiod sees a connected proxy. It serves the part of
// Envoy's admin interface pilot-agent uses (admin.go) on the bootstrap's
// admin address, so the agent finds it ready once ADS delivered clusters
// and listeners. It configures nothing and serves no traffic: where
// Envoy's inbound listener (15006) accepts what istio-iptables captures,
// even a TCP health probe of an application that is down, the stand-in's
// absence refuses it. It runs until SIGTERM, SIGINT or a POST to
// /quitquitquit.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	typeCluster  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeListener = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeSecret   = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
)

func main() {
	log.SetPrefix("envoy (meshx lab stand-in): ")
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	var bootstrap string
	args := os.Args[1:]
	for i, a := range args {
		switch a {
		case "--version":
			fmt.Println("envoy  version: meshx-lab-stand-in/0.0.0/Clean/RELEASE/BoringSSL")
			return
		case "-c", "--config-path":
			if i+1 < len(args) {
				bootstrap = args[i+1]
			}
		}
	}
	log.Printf("started: %q", args)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	if bootstrap == "" {
		log.Print("no bootstrap (-c); idling")
		<-ctx.Done()
		return
	}
	b, err := readBootstrap(bootstrap)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("node %s; xds %s; sds %s", b.node.Id, b.pipes["xds-grpc"], b.pipes["sds-grpc"])
	adm := &admin{quit: quit}
	if b.admin != "" {
		// Envoy does not start without its admin address either.
		go func() {
			if err := adm.serve(ctx, b.admin); err != nil {
				log.Fatal(err)
			}
		}()
	}
	if p := b.pipes["xds-grpc"]; p != "" {
		go forever(ctx, "ads", func() error { return ads(ctx, p, b.node, adm) })
	}
	if p := b.pipes["sds-grpc"]; p != "" {
		go forever(ctx, "sds", func() error { return sds(ctx, p, b.node) })
	}
	<-ctx.Done()
	log.Print("exiting")
}

type bootstrapInfo struct {
	node  *corev3.Node
	pipes map[string]string // cluster name -> Unix socket path
	admin string            // host:port of the admin interface, if any
}

// readBootstrap takes the node, the admin address and the pipe of each
// static cluster from an Envoy bootstrap in JSON.
func readBootstrap(file string) (*bootstrapInfo, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var bs struct {
		Node struct {
			ID       string         `json:"id"`
			Cluster  string         `json:"cluster"`
			Metadata map[string]any `json:"metadata"`
		} `json:"node"`
		Admin struct {
			Address struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue uint16 `json:"port_value"`
				} `json:"socket_address"`
			} `json:"address"`
		} `json:"admin"`
		StaticResources struct {
			Clusters []struct {
				Name           string `json:"name"`
				LoadAssignment struct {
					Endpoints []struct {
						LBEndpoints []struct {
							Endpoint struct {
								Address struct {
									Pipe struct {
										Path string `json:"path"`
									} `json:"pipe"`
								} `json:"address"`
							} `json:"endpoint"`
						} `json:"lb_endpoints"`
					} `json:"endpoints"`
				} `json:"load_assignment"`
			} `json:"clusters"`
		} `json:"static_resources"`
	}
	if err := json.Unmarshal(raw, &bs); err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", file, err)
	}
	md, err := structpb.NewStruct(bs.Node.Metadata)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %s: node metadata: %w", file, err)
	}
	info := &bootstrapInfo{
		node:  &corev3.Node{Id: bs.Node.ID, Cluster: bs.Node.Cluster, Metadata: md, UserAgentName: "envoy"},
		pipes: map[string]string{},
	}
	if sa := bs.Admin.Address.SocketAddress; sa.Address != "" {
		info.admin = net.JoinHostPort(sa.Address, strconv.Itoa(int(sa.PortValue)))
	}
	for _, c := range bs.StaticResources.Clusters {
		for _, e := range c.LoadAssignment.Endpoints {
			for _, le := range e.LBEndpoints {
				if p := le.Endpoint.Address.Pipe.Path; p != "" {
					info.pipes[c.Name] = p
				}
			}
		}
	}
	return info, nil
}

// forever runs fn again a second after it returns, until ctx ends.
func forever(ctx context.Context, what string, fn func() error) {
	for ctx.Err() == nil {
		if err := fn(); err != nil && ctx.Err() == nil {
			log.Printf("%s: %v", what, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func dial(path string) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix:"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// ads subscribes to clusters and listeners on the agent's xDS proxy and
// acks what comes, as Envoy does, counting it in adm's stats.
func ads(ctx context.Context, path string, node *corev3.Node, adm *admin) error {
	conn, err := dial(path)
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	for _, t := range []string{typeCluster, typeListener} {
		if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: t}); err != nil {
			return err
		}
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		log.Printf("ads: %s version %s: %d resources", resp.TypeUrl, resp.VersionInfo, len(resp.Resources))
		if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resp.TypeUrl,
			VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce}); err != nil {
			return err
		}
		adm.accepted(resp.TypeUrl)
	}
}

// sds asks the agent's SDS server for the workload certificate and the
// root, as Envoy's sidecar listeners do.
func sds(ctx context.Context, path string, node *corev3.Node) error {
	conn, err := dial(path)
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := secretv3.NewSecretDiscoveryServiceClient(conn).StreamSecrets(ctx)
	if err != nil {
		return err
	}
	names := []string{"default", "ROOTCA"}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeSecret, ResourceNames: names}); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		log.Printf("sds: version %s: %d secrets", resp.VersionInfo, len(resp.Resources))
		if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeSecret, ResourceNames: names,
			VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce}); err != nil {
			return err
		}
	}
}
