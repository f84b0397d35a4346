package e2etest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// IstiodEndpoints returns, as JSON, what istiod's /debug/endpointz holds
// under the service host name, wherever in the document it is.
func IstiodEndpoints(debugURL, host string) (string, error) {
	resp, err := http.Get(debugURL + "/debug/endpointz")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var doc any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("endpointz: %w", err)
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
