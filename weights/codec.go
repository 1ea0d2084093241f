// Package weights keeps model parameters in MongoDB: the global model of every version
// and every client's update, keyed by experiment, round and client. Parameters are stored
// as little-endian float32 bytes with a shape manifest and a SHA-256 checksum, so a
// reader can refuse anything truncated, corrupted or of the wrong model.
package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// ErrDamaged marks stored weights that fail their checks: wrong size, checksum or values.
var ErrDamaged = errors.New("weights: damaged")

// Encode turns a parameter vector into bytes and their checksum.
func Encode(params []float32) ([]byte, string) {
	data := make([]byte, 4*len(params))
	if littleEndianHost() {
		copy(data, asBytes(params))
	} else {
		for i, v := range params {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:])
}

// Decode checks bytes against their manifest and checksum and turns them back into a
// parameter vector. It refuses non-finite values, which no healthy model contains. On
// a little-endian machine with aligned bytes the vector shares data's memory, which
// the caller must then leave alone.
func Decode(data []byte, manifest []arch.Param, checksum string) ([]float32, error) {
	want := arch.NumParams(manifest)
	if len(data) != 4*want {
		return nil, fmt.Errorf("%w: %d bytes, manifest needs %d", ErrDamaged, len(data), 4*want)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != checksum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrDamaged)
	}
	var params []float32
	if want > 0 && littleEndianHost() && uintptr(unsafe.Pointer(&data[0]))%4 == 0 {
		// Aggregation reads hundreds of megabytes; a view saves a copy of each.
		params = unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), want)
	} else {
		params = make([]float32, want)
		for i := range params {
			params[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	}
	if i := firstNonFinite(params); i >= 0 {
		return nil, fmt.Errorf("%w: value %d is %v", ErrDamaged, i, params[i])
	}
	return params, nil
}

// firstNonFinite is the index of the first NaN or infinity, or -1. An all-ones
// exponent is what makes a float32 NaN or infinite.
func firstNonFinite(params []float32) int {
	for i, v := range params {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

func littleEndianHost() bool {
	return binary.NativeEndian.Uint16([]byte{1, 0}) == 1
}

// asBytes views a vector's memory as bytes (in the host's order).
func asBytes(params []float32) []byte {
	if len(params) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&params[0])), 4*len(params))
}
