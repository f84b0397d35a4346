package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
)

// exportObjects writes to file, as one List, the Services and Endpoints
// meshx manages in namespace ns, without what the server filled in, so
// that `kubectl apply --server-side -f file` creates the same objects.
func exportObjects(ctx context.Context, kubectl, kubeconfig, ns, file string) (int, error) {
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "services,endpoints",
		"-n", ns, "-l", "app.kubernetes.io/managed-by=meshx", "-o", "json").Output()
	if err != nil {
		return 0, fmt.Errorf("kubectl get: %w", err)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, fmt.Errorf("kubectl get: %w", err)
	}
	for _, o := range list.Items {
		delete(o, "status")
		md, _ := o["metadata"].(map[string]any)
		for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "annotations"} {
			delete(md, k)
		}
		if spec, ok := o["spec"].(map[string]any); ok && o["kind"] == "Service" {
			// The allocated addresses are the server's, not the config's.
			for _, k := range []string{"clusterIP", "clusterIPs"} {
				delete(spec, k)
			}
		}
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": list.Items})
	if err != nil {
		return 0, err
	}
	return len(list.Items), os.WriteFile(file, b, 0o644)
}
