// Package planfile reads and writes saved plans (`meshx plan -out=FILE`)
// and tells whether a saved plan still matches a fresh one.
//
// A plan file is versioned JSON (gzip-compressed input is also read):
// Write writes the oldest format version that holds the plan, and Read
// reads every version from MinFormatVersion to FormatVersion. It
// holds the plan's identity (meshx version, creation time, environment,
// digest of configuration and variables, destroy mode, targets), every
// planned change with its redacted Before/After values and the observed
// precondition it was planned against, and the output values known at plan
// time. Addresses are stored in their String form and Unknown leaves as the
// marker object {"__meshx_unknown": true}; both read back as they were.
//
// It holds no secret. Change values are fingerprints by construction, and
// Write refuses a plan in which any value is still a plans.Sensitive,
// so a secret that escaped redaction upstream fails loudly instead of
// reaching the disk. A sensitive variable's value is never stored, and the
// CLI leaves it out of the configuration digest; Compare catches a secret
// that changed since the plan by the fingerprints of sensitive attributes.
//
// A plan file is untrusted input: Read reads at most MaxSize bytes, stops
// decompressing at MaxSize bytes and refuses more than MaxValues JSON
// values, so a small gzip bomb costs milliseconds, not the machine's memory.
//
// The package does not plan and does not apply. A saved plan cannot be
// applied by itself: the executor needs each instance's Render and
// provider, so the CLI plans again and uses Compare to refuse the saved
// plan when anything it was made against has changed.
package planfile
