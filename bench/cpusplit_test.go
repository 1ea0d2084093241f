package bench

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/pprof/profile"
)

// cpuProfile is a profile of samples, each a stack (innermost first) of function
// names and its CPU nanoseconds.
func cpuProfile(t *testing.T, samples map[int64][]string) []byte {
	t.Helper()
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}}
	id := uint64(0)
	for ns, stack := range samples {
		s := &profile.Sample{Value: []int64{1, ns}}
		for _, name := range stack {
			id++
			fn := &profile.Function{ID: id, Name: name}
			loc := &profile.Location{ID: id, Line: []profile.Line{{Function: fn}}}
			p.Function, p.Location = append(p.Function, fn), append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSplitCPU(t *testing.T) {
	data := cpuProfile(t, map[int64][]string{
		// A FerretDB statement on behalf of a function the fabric runs is the store's.
		50: {"modernc.org/sqlite/lib._sqlite3VdbeExec", "github.com/FerretDB/FerretDB/internal/handler.(*Handler).MsgInsert"},
		30: {"syscall.write", "net/http.(*conn).serve"},
		20: {"encoding/json.Unmarshal", "github.com/fedkeeper/fedkeeper/fabric/openwhisk.(*Server).getActivation"},
		60: {"encoding/json.Unmarshal", "github.com/fedkeeper/fedkeeper/activities.toClientRun"},
		40: {"runtime.gcBgMarkWorker"},
	})
	got, err := SplitCPU(data)
	if err != nil {
		t.Fatal(err)
	}
	want := CPUSplit{Store: 50.0 / 200, Platform: 50.0 / 200, Keeper: 100.0 / 200}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"store", got.Store, want.Store}, {"platform", got.Platform, want.Platform}, {"keeper", got.Keeper, want.Keeper}} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s share %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, err := SplitCPU([]byte("not a profile")); err == nil {
		t.Error("a file that is no profile was read")
	}
}
