package proc

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStartAliveStop(t *testing.T) {
	dir := t.TempDir()
	r, err := Start(Spec{Name: "sleeper", Argv: []string{"sleep", "60"}, Log: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Alive() {
		t.Fatal("started process is not alive")
	}
	// A record whose start time does not match is another process: it is
	// neither alive nor signalled.
	impostor := r
	impostor.Start++
	if impostor.Alive() {
		t.Error("record with the wrong start time counts as alive")
	}
	if err := impostor.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if !r.Alive() {
		t.Fatal("Stop of a mismatched record killed the process")
	}
	if err := r.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if r.Alive() {
		t.Error("process alive after Stop")
	}
	if err := r.Stop(time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	dir := t.TempDir()
	r, err := Start(Spec{Name: "stubborn", Argv: []string{"sh", "-c", "trap '' TERM; echo ready; sleep 60 & wait"}, Log: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && Tail(r.Log, 1) != "ready"; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.Stop(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if r.Alive() {
		t.Error("process ignoring SIGTERM survived Stop")
	}
}

func TestStartFailure(t *testing.T) {
	dir := t.TempDir()
	if _, err := Start(Spec{Name: "missing", Argv: []string{filepath.Join(dir, "nope")}, Log: filepath.Join(dir, "log")}); err == nil {
		t.Error("Start of a missing binary succeeded")
	}
}

func TestSaveLoad(t *testing.T) {
	f := filepath.Join(t.TempDir(), "p.json")
	recs, err := Load(f)
	if err != nil || recs != nil {
		t.Fatalf("Load of a missing file: %v, %v", recs, err)
	}
	want := []Record{{Name: "a", PID: 1, Start: 2, Argv: []string{"x"}}}
	if err := Save(f, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(f)
	if err != nil || len(got) != 1 || got[0].Name != "a" || got[0].Start != 2 {
		t.Errorf("Load = %v, %v", got, err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}
