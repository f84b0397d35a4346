package modernmc

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "modernmc", Istio: true}))
}
