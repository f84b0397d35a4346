// Package cli is meshx's command line: global options, the registry of
// commands, flag helpers shared by commands (-no-color, -json, -var,
// -var-file), the choice of each command's view, and the commands
// themselves. Run is the whole program behind main, so every command can be
// tested in-process and through testscript (testdata/script/*.txtar).
//
// It does not plan, apply or render anything itself: it calls package
// config, planner and executor, and package views for every output.
//
// See cli.go for how to add a command.
package cli
