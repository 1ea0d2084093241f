package plots

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRun(t *testing.T) {
	tests := []struct {
		arg     string
		want    Run
		wantErr bool
	}{
		{arg: "ours=results/a/rounds.csv", want: Run{Name: "ours", CSV: "results/a/rounds.csv"}},
		{arg: "paper, 10 epochs=docs/paper/p.csv", want: Run{Name: "paper, 10 epochs", CSV: "docs/paper/p.csv"}},
		{arg: "rounds.csv", want: Run{Name: "rounds.csv", CSV: "rounds.csv"}},
		{arg: "=rounds.csv", wantErr: true},
		{arg: "ours=", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseRun(tt.arg)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRun(%q) = %+v, %v; want %+v, error %v", tt.arg, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestOverlayDrawsEveryRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ours := write("ours.csv", "round,counted,accuracy\n1,10,0.71\n2,10,0.82\n3,10,0.85\n")
	paper := write("paper.csv", "round,accuracy,loss\n1,0.667,1.45\n2,0.792,0.97\n")
	out := filepath.Join(dir, "accuracy")
	if err := Overlay(out, "accuracy", []Run{{Name: "FedKeeper", CSV: ours}, {Name: "paper log", CSV: paper}}); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(out + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"FedKeeper", "paper log", "accuracy per round"} {
		if !strings.Contains(string(svg), text) {
			t.Errorf("figure lacks %q", text)
		}
	}
	if info, err := os.Stat(out + ".png"); err != nil || info.Size() == 0 {
		t.Fatalf("no PNG: %v", err)
	}
}

func TestOverlayNamesTheFileAndColumnItCannotRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rounds.csv")
	if err := os.WriteFile(path, []byte("round,accuracy\n1,0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Overlay(filepath.Join(dir, "out"), "loss", []Run{{Name: "a", CSV: path}})
	if err == nil || !strings.Contains(err.Error(), `"loss"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v should name the column and %s", err, path)
	}
	if err := Overlay(filepath.Join(dir, "out"), "accuracy", nil); err == nil {
		t.Fatal("overlaying nothing should fail")
	}
}
