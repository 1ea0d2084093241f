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

	"github.com/fedkeeper/fedkeeper/fl/model"
)

// ErrDamaged marks stored weights that fail their checks: wrong size, checksum or values.
var ErrDamaged = errors.New("weights: damaged")

// Encode turns a parameter vector into bytes and their checksum.
func Encode(params []float32) ([]byte, string) {
	data := make([]byte, 4*len(params))
	for i, v := range params {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:])
}

// Decode checks bytes against their manifest and checksum and turns them back into a
// parameter vector. It refuses non-finite values, which no healthy model contains.
func Decode(data []byte, manifest []model.Param, checksum string) ([]float32, error) {
	want := model.NumParams(manifest)
	if len(data) != 4*want {
		return nil, fmt.Errorf("%w: %d bytes, manifest needs %d", ErrDamaged, len(data), 4*want)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != checksum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrDamaged)
	}
	params := make([]float32, want)
	for i := range params {
		v := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: value %d is %v", ErrDamaged, i, v)
		}
		params[i] = v
	}
	return params, nil
}
