// Package fleet applies examples/fleet end to end on its own lab instance
// ("fleet", three VMs): VMs from one vm block with for_each, services
// spread over them, and what removing one key of the map plans and
// applies (TestFleetRemoveKey).
package fleet
