// Package cli is meshx-lab's command line: flag parsing and output around
// package lab, behind a testable Run.
package cli
