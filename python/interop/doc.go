// Package interop holds the tests that tie the Python SDK (python/fedkeeper) to the
// Go code it must agree with byte for byte: they run the Python tests against the
// embedded store, write global versions with package weights for the Python SDK to
// read, read back with package weights the updates it stored, and keep the vectors of
// Go's random draws that the Python port of math/rand/v2 is checked against.
package interop
