// Package plots renders an experiment's figures from its result files (rounds.csv and
// clients.csv), each as PNG and SVG: accuracy and loss per round, the split of each
// round's time, client durations per platform, cold against warm starts per platform,
// and the cost of each round per platform. They share the dashboard's colours (package
// theme): a platform has one colour on the page and in every figure.
package plots

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/fedkeeper/fedkeeper/theme"
)

// Names are the figures Render writes, without extension.
var Names = []string{"accuracy", "loss", "round_time", "client_durations", "function_durations", "cold_warm", "cost"}

// Render reads dir's rounds.csv and clients.csv and writes every figure into dir as
// <name>.png and <name>.svg. Figures whose data is missing (no clients.csv, no cold
// starts) are left out; the returned list says which were written.
func Render(dir string) ([]string, error) {
	rounds, err := readCSV(filepath.Join(dir, "rounds.csv"))
	if err != nil {
		return nil, err
	}
	if len(rounds) == 0 {
		return nil, fmt.Errorf("plots: %s has no rounds", filepath.Join(dir, "rounds.csv"))
	}
	clients, err := readCSV(filepath.Join(dir, "clients.csv"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	figures := map[string]*plot.Plot{}
	if figures["accuracy"], err = perRound(rounds, "accuracy", "test accuracy"); err != nil {
		return nil, err
	}
	if figures["loss"], err = perRound(rounds, "loss", "test loss"); err != nil {
		return nil, err
	}
	if figures["round_time"], err = roundTime(rounds); err != nil {
		return nil, err
	}
	if figures["cost"], err = costPerRound(rounds); err != nil {
		return nil, err
	}
	if len(clients) > 0 {
		if figures["client_durations"], err = durationsBy(clients, "platform", "client run time per platform"); err != nil {
			return nil, err
		}
		if figures["cold_warm"], err = durationsBy(clients, "cold_start", "cold against warm starts per platform"); err != nil {
			return nil, err
		}
		// Only an experiment of several client functions (Go and PyTorch, say) has
		// functions to compare.
		if distinct(clients, "function") > 1 {
			if figures["function_durations"], err = durationsBy(clients, "function", "client run time per client function"); err != nil {
				return nil, err
			}
		}
	}
	var written []string
	for _, name := range Names {
		p := figures[name]
		if p == nil {
			continue
		}
		for _, ext := range []string{".png", ".svg"} {
			if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, name+ext)); err != nil {
				return written, fmt.Errorf("plots: save %s%s: %w", name, ext, err)
			}
		}
		written = append(written, name)
	}
	return written, nil
}

// distinct counts the values of a column.
func distinct(rows table, column string) int {
	seen := map[string]bool{}
	for _, row := range rows {
		seen[row[column]] = true
	}
	return len(seen)
}

// table is a CSV file as rows of named columns.
type table []map[string]string

func readCSV(path string) (table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("plots: read %s: %w", path, err)
	}
	if len(records) == 0 {
		return nil, nil
	}
	var t table
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, name := range records[0] {
			if i < len(rec) {
				row[name] = rec[i]
			}
		}
		t = append(t, row)
	}
	return t, nil
}

func (t table) floats(column string) ([]float64, error) {
	out := make([]float64, len(t))
	for i, row := range t {
		cell, ok := row[column]
		if !ok {
			return nil, fmt.Errorf("plots: no column %q", column)
		}
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			return nil, fmt.Errorf("plots: row %d, column %s: %w", i+2, column, err)
		}
		out[i] = v
	}
	return out, nil
}

// perRound draws one column of rounds.csv against the round number.
func perRound(rounds table, column, title string) (*plot.Plot, error) {
	xs, err := rounds.floats("round")
	if err != nil {
		return nil, err
	}
	ys, err := rounds.floats(column)
	if err != nil {
		return nil, err
	}
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	p := xyPlot(title+" per round", "round", column)
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, fmt.Errorf("plots: %s: %w", column, err)
	}
	line.Color, points.Color = theme.Colour(column), theme.Colour(column)
	line.Width = vg.Points(1.5)
	// One series: the title and axis say what it is, so no legend covers the line.
	p.Add(plotter.NewGrid(), line, points)
	return p, nil
}

// roundTime stacks each round's invocation, training, aggregation and evaluation
// seconds, in the dashboard's colours.
func roundTime(rounds table) (*plot.Plot, error) {
	parts := []stackPart{{"invoke_s", "invoke", theme.Colour(theme.Invoke)}, {"train_s", "train", theme.Colour(theme.Train)},
		{"aggregate_s", "aggregate", theme.Colour(theme.Aggregate)}, {"eval_s", "evaluate", theme.Colour(theme.Evaluate)}}
	return stacked(rounds, "where each round's time went", "seconds", parts)
}

// costPerRound stacks each round's cost per platform (rounds.csv's cost_<platform>_usd),
// or draws nothing when the file has no costs (results of earlier builds) or every
// round was free.
func costPerRound(rounds table) (*plot.Plot, error) {
	var parts []stackPart
	total := 0.0
	for _, platform := range theme.Platforms() {
		column := "cost_" + platform + "_usd"
		values, err := rounds.floats(column)
		if err != nil {
			return nil, nil
		}
		for _, v := range values {
			total += v
		}
		parts = append(parts, stackPart{column, platform, theme.Colour(platform)})
	}
	if total <= 0 {
		return nil, nil
	}
	return stacked(rounds, "what each round cost per platform", "US dollars", parts)
}

// stackPart is one column of rounds.csv drawn as a layer of stacked bars.
type stackPart struct {
	column, label string
	colour        color.Color
}

// stacked draws a bar per round, the parts stacked in order, with a legend.
func stacked(rounds table, title, unit string, parts []stackPart) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "round"
	p.Y.Label.Text = unit
	var below *plotter.BarChart
	tops := make([]float64, len(rounds))
	for _, part := range parts {
		values, err := rounds.floats(part.column)
		if err != nil {
			return nil, err
		}
		for j, v := range values {
			tops[j] += v
		}
		bars, err := plotter.NewBarChart(plotter.Values(values), barWidth(len(rounds)))
		if err != nil {
			return nil, fmt.Errorf("plots: %s: %w", part.column, err)
		}
		bars.Color = part.colour
		bars.LineStyle.Width = 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		p.Legend.Add(part.label, bars)
	}
	labels := make([]string, len(rounds))
	for i, row := range rounds {
		labels[i] = row["round"]
		if len(rounds) > 20 && i%5 != 4 {
			labels[i] = ""
		}
	}
	p.NominalX(labels...)
	// Headroom above the tallest bar keeps the legend off the bars.
	highest := 0.0
	for _, v := range tops {
		highest = max(highest, v)
	}
	p.Y.Min, p.Y.Max = 0, 1.3*highest
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// barWidth fits n bars side by side in a figure's width, at most 24 points each.
func barWidth(n int) vg.Length { return vg.Points(min(24, max(2, 360/float64(max(n, 1))))) }

// durationsBy draws a box of the activations' run times for each value of a column of
// clients.csv: the platform, the client function, or (cold_start) cold and warm starts
// of each platform. Boxes of a platform have its colour, its warm starts a lighter one.
func durationsBy(clients table, column, title string) (*plot.Plot, error) {
	groups := map[string]plotter.Values{}
	fills := map[string]color.Color{}
	for i, row := range clients {
		if row["duration_s"] == "" {
			continue // never ran: no duration to show
		}
		d, err := strconv.ParseFloat(row["duration_s"], 64)
		if err != nil {
			return nil, fmt.Errorf("plots: clients.csv row %d: %w", i+2, err)
		}
		key := row[column]
		var fill color.Color = theme.Colour(row["platform"])
		switch column {
		case "cold_start":
			key = row["platform"] + "\n" + map[string]string{"true": "cold", "false": "warm"}[row[column]]
			if row[column] != "true" {
				fill = theme.Lighter(theme.Colour(row["platform"]), 0.55)
			}
		case "function":
			fill = nil
		}
		groups[key] = append(groups[key], d)
		fills[key] = fill
	}
	if len(groups) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "seconds"
	colours := palette()
	for i, name := range names {
		box, err := plotter.NewBoxPlot(vg.Points(30), float64(i), groups[name])
		if err != nil {
			return nil, fmt.Errorf("plots: %s %s: %w", column, name, err)
		}
		box.FillColor = fills[name]
		if box.FillColor == nil {
			box.FillColor = colours[i%len(colours)]
		}
		p.Add(box)
		names[i] = fmt.Sprintf("%s (%d)", name, len(groups[name]))
	}
	p.NominalX(names...)
	return p, nil
}

// Series is one line of a comparison figure.
type Series struct {
	Name string
	X, Y []float64
}

// Lines draws series against a shared x axis, with a legend beside the plot naming
// each (ten lines leave no corner of the plot free), and writes path.png and path.svg.
func Lines(path, title, xLabel, yLabel string, series []Series) error {
	p := xyPlot(title, xLabel, yLabel)
	p.Add(plotter.NewGrid())
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	colors := palette()
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("plots: series %s has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		if len(s.X) == 0 {
			continue // a variant that failed has nothing to draw; the table says why
		}
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j] = plotter.XY{X: s.X[j], Y: s.Y[j]}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plots: series %s: %w", s.Name, err)
		}
		line.Color = colors[i%len(colors)]
		line.Width = vg.Points(1.5)
		// Beyond the palette, dashes tell lines of the same colour apart.
		if i >= len(colors) {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(line)
		legend.Add(s.Name, line)
	}
	width, height := 22*vg.Centimeter, 11*vg.Centimeter
	for _, format := range []struct {
		ext    string
		canvas func() vg.CanvasWriterTo
	}{
		{".png", func() vg.CanvasWriterTo { return vgimg.PngCanvas{Canvas: vgimg.New(width, height)} }},
		{".svg", func() vg.CanvasWriterTo { return vgsvg.New(width, height) }},
	} {
		c := format.canvas()
		whole := draw.New(c)
		key := legend.Rectangle(whole)
		plotArea, legendArea := whole, whole
		plotArea.Max.X -= key.Max.X - key.Min.X + vg.Points(12)
		legendArea.Min.X = plotArea.Max.X + vg.Points(6)
		legendArea.Max.Y -= vg.Points(24) // level with the plot's top, below the title
		p.Draw(plotArea)
		legend.Draw(legendArea)
		if err := writeCanvas(path+format.ext, c); err != nil {
			return err
		}
	}
	return nil
}

func writeCanvas(path string, c vg.CanvasWriterTo) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plots: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plots: write %s: %w", path, err)
	}
	return nil
}

// palette is the Tableau 10 colours, which stay apart in print and for most colour
// vision deficiencies.
func palette() []color.Color {
	return []color.Color{
		color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
		color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
		color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
		color.RGBA{23, 190, 207, 255},
	}
}

// xyPlot is an empty figure with numbers on both axes, its x ticks labelled plainly.
func xyPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Tick.Marker = plainTicks{}
	return p
}

// plainTicks are gonum's default ticks labelled without trailing zeros: rounds read
// "25", not "25.00".
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
		}
	}
	return ticks
}
