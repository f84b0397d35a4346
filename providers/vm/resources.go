package vm

import (
	"context"
	"fmt"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Kinds of the instances this provider manages (providers.Resource.Kind).
const (
	KindFile    = "vm_file"
	KindEnv     = "vm_env"
	KindLine    = "vm_line"
	KindPackage = "vm_package"
	KindUnit    = "vm_unit"
)

// Address types of those instances: vm.<vm>.<type>["<key>"].
const (
	TypeFile    = "file"
	TypeEnv     = "env"
	TypeLine    = "line"
	TypePackage = "package"
	TypeUnit    = "unit"
)

// kindOfType maps an address type to its kind.
var kindOfType = map[string]string{
	TypeFile: KindFile, TypeEnv: KindEnv, TypeLine: KindLine, TypePackage: KindPackage, TypeUnit: KindUnit,
}

// instance is what a kind's builder (File, Token, EnvFile, Line, Package,
// Unit) attaches to Resource.Private: the desired state of one instance,
// and how Observe reads it and Apply carries it out. Each kind is one type
// in a file of its own (file.go, env_file.go, line.go, package.go,
// unit.go).
type instance interface {
	// check returns what the builder found wrong with its arguments.
	check() error
	// reading says what Observe reads for the instance (it.res is set): a
	// file (it.path, it.text) or an operation of the observe script
	// (it.op), and the name the manifest knows it by (it.name).
	reading(it *observeItem)
	// observed fills o from what Observe read (the record id of obs for an
	// operation) and the instance's manifest entry e (nil when meshx has
	// none).
	observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error
	// apply makes the instance match req.Desired.
	apply(ctx context.Context, p *Provider, req providers.ApplyRequest) providers.ApplyResponse
}

func target(vm string) string { return "vm." + vm }

func addr(vm, typ, key string) plans.Address {
	return plans.Address{Block: "vm", Name: vm, Type: typ, Key: key}
}

func modeString(mode uint32) string { return fmt.Sprintf("%04o", mode) }

// anyStrings converts to the JSON shape Objects hold.
func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
