// Package theme is the one colour scheme of FedKeeper's pictures: the dashboard's
// stylesheet is generated from it and the result figures (package plots) draw with it,
// so a platform or a part of a round has the same colour on the page and in a PNG.
package theme

import (
	"fmt"
	"image/color"
	"strings"
)

// Colour names of the scheme, as the stylesheet's custom properties (--name) and the
// figures use them.
const (
	OpenWhisk = "openwhisk"
	Google    = "google"
	OpenFaaS  = "openfaas"
	AWS       = "aws"
	Other     = "other"
	Invoke    = "invoke"
	Train     = "train"
	Aggregate = "aggregate"
	Evaluate  = "evaluate"
	Accuracy  = "accuracy"
	Loss      = "loss"
)

// colours are the scheme: the platforms, the parts of a round, and the two metrics.
func colours() map[string]color.RGBA {
	return map[string]color.RGBA{
		OpenWhisk: {0x25, 0x63, 0xeb, 0xff}, // blue
		Google:    {0xf5, 0x9e, 0x0b, 0xff}, // amber
		OpenFaaS:  {0x05, 0x96, 0x69, 0xff}, // green
		AWS:       {0x7c, 0x3a, 0xed, 0xff}, // violet
		Other:     {0x6b, 0x72, 0x80, 0xff}, // grey
		Invoke:    {0x93, 0xc5, 0xfd, 0xff},
		Train:     {0x25, 0x63, 0xeb, 0xff},
		Aggregate: {0xf5, 0x9e, 0x0b, 0xff},
		Evaluate:  {0x05, 0x96, 0x69, 0xff},
		Accuracy:  {0x25, 0x63, 0xeb, 0xff},
		Loss:      {0xdc, 0x26, 0x26, 0xff}, // red
	}
}

// Colour is a name's colour; a platform the scheme does not know is grey.
func Colour(name string) color.RGBA {
	if c, ok := colours()[name]; ok {
		return c
	}
	return colours()[Other]
}

// Lighter mixes a colour with white: the warm starts beside a platform's cold ones.
func Lighter(c color.RGBA, share float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(float64(v) + (255-float64(v))*share) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), c.A}
}

// Platforms are the platforms in the order figures and the page list them.
func Platforms() []string { return []string{OpenWhisk, Google, OpenFaaS, AWS} }

// CSS is the scheme as a stylesheet's custom properties on :root.
func CSS() string {
	var b strings.Builder
	b.WriteString(":root {\n")
	for _, name := range []string{OpenWhisk, Google, OpenFaaS, AWS, Other, Invoke, Train, Aggregate, Evaluate, Accuracy, Loss} {
		c := Colour(name)
		fmt.Fprintf(&b, "  --%s: #%02x%02x%02x;\n", name, c.R, c.G, c.B)
	}
	b.WriteString("}\n")
	return b.String()
}
