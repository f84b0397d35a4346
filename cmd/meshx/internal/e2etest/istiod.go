package e2etest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// IstiodEndpoints returns, as JSON, what istiod's /debug/endpointz holds
// under the service host name, wherever in the document it is.
func IstiodEndpoints(debugURL, host string) (string, error) {
	var doc any
	if err := getJSON(debugURL+"/debug/endpointz", &doc); err != nil {
		return "", err
	}
	var find func(v any) any
	find = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			if x, ok := v[host]; ok {
				return x
			}
			for _, x := range v {
				if f := find(x); f != nil {
					return f
				}
			}
		case []any:
			for _, x := range v {
				if f := find(x); f != nil {
					return f
				}
			}
		}
		return nil
	}
	b, err := json.Marshal(find(doc))
	return string(b), err
}

// IstiodCluster is one entry of istiod's /debug/clusterz: its own cluster
// and each remote cluster it reads from a remote secret.
type IstiodCluster struct {
	ID         string `json:"id"`
	SecretName string `json:"secretName"`
	SyncStatus string `json:"syncStatus"`
}

// IstiodClusters returns istiod's /debug/clusterz.
func IstiodClusters(debugURL string) ([]IstiodCluster, error) {
	var out []IstiodCluster
	return out, getJSON(debugURL+"/debug/clusterz", &out)
}

// IstiodServices returns the host names of the services in istiod's
// registry (/debug/registryz), from every cluster it reads.
func IstiodServices(debugURL string) ([]string, error) {
	var svcs []struct {
		Hostname string `json:"hostname"`
	}
	if err := getJSON(debugURL+"/debug/registryz", &svcs); err != nil {
		return nil, err
	}
	hosts := make([]string, len(svcs))
	for i, s := range svcs {
		hosts[i] = s.Hostname
	}
	return hosts, nil
}

// getJSON decodes the JSON document at url into v.
func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}
