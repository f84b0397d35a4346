// Package review proves on the lab what a reviewer of a change relies on:
// saved plans that refuse to apply once what they were planned against
// moved (exit 4), the JSON and markdown renderings of a real plan, the
// example CI workflow, each cluster's context and server named in the
// plan, and no secret in any output or plan file.
//
// It has its own lab instance ("review"); tests run one after another and
// each destroys what it applied.
package review
