package weights

import (
	"math"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// FuzzDecode feeds the update decoder arbitrary bytes and checksums: it must never
// panic, and whatever it accepts is exactly the manifest's size, finite, and matches
// its checksum.
func FuzzDecode(f *testing.F) {
	manifest := []arch.Param{{Name: "k", Shape: []int{2, 2}}, {Name: "b", Shape: []int{2}}}
	good, sum := Encode([]float32{1, 2, 3, 4, 5, 6})
	f.Add(good, sum)
	f.Add(good[:5], sum)
	nan, nanSum := Encode([]float32{1, 2, 3, float32(math.NaN()), 5, 6})
	f.Add(nan, nanSum)
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, data []byte, checksum string) {
		params, err := Decode(data, manifest, checksum)
		if err != nil {
			return
		}
		if len(params) != 6 {
			t.Fatalf("accepted %d values for a manifest of 6", len(params))
		}
		for _, v := range params {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("accepted %v", v)
			}
		}
		if _, s := Encode(params); s != checksum {
			t.Fatal("accepted data that does not match its checksum")
		}
	})
}
