// Package python carries the Python client SDK (python/fedkeeper) inside FedKeeper's
// binaries, so the keeper can ship the SDK of the protocol it speaks with every Python
// function that imports it (functions/pack): a user's function folder holds only the
// user's code, as a Go function's holds only its main package.
package python

import (
	"embed"
	"io/fs"
)

//go:embed fedkeeper/*.py
var sdk embed.FS

// PackageName is the SDK's import name, and the folder it is vendored as.
const PackageName = "fedkeeper"

// SDK is the fedkeeper package's files, rooted at the package's folder.
func SDK() fs.FS {
	sub, err := fs.Sub(sdk, PackageName)
	if err != nil {
		panic(err) // the embedded pattern names that folder
	}
	return sub
}
