package theme

import (
	"image/color"
	"strings"
	"testing"
)

func TestColours(t *testing.T) {
	if Colour(OpenWhisk) == Colour(Google) || Colour(Google) == Colour(OpenFaaS) || Colour(OpenWhisk) == Colour(OpenFaaS) {
		t.Error("two platforms share a colour")
	}
	if Colour("azure") != Colour(Other) {
		t.Error("an unknown platform is not grey")
	}
	if got := Lighter(color.RGBA{0, 100, 255, 255}, 0.5); got != (color.RGBA{127, 177, 255, 255}) {
		t.Errorf("Lighter: %v", got)
	}
	css := CSS()
	for _, want := range []string{":root {", "--openwhisk: #2563eb;", "--google: #f59e0b;", "--openfaas: #059669;", "--evaluate: #059669;", "--loss: #dc2626;"} {
		if !strings.Contains(css, want) {
			t.Errorf("the stylesheet lacks %q:\n%s", want, css)
		}
	}
}
