// Package e2e_review proves the review workflow of issue 6 on the lab:
// saved plans that refuse to apply once what they were planned against
// moved (exit 4), the environment's lock (exit 3, -lock-timeout, a killed
// holder, force-unlock), no secret in any output or plan file, the JSON
// and markdown renderings of a real plan, and the example CI workflow.
//
// It has its own lab instance ("review"); tests run one after another and
// each destroys what it applied.
package e2e_review
