package main

import (
	"errors"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotted are the scenarios the plot draws, one line each through their
// medians at every N they ran at.
var plotted = []struct{ key, legend string }{
	{"sigil-sign", "sigil sign --format legacy"},
	{"sigil-verify", "sigil verify"},
	{"cosign-sign-loop", "cosign sign, one process per ref"},
	{"cosign-sign-multi", "cosign sign, all refs in one call"},
}

// writePlot draws the median wall time of the plotted scenarios against
// N, both axes logarithmic, with the sign network floor (see floor) as a
// dashed line, into path; its extension chooses the format (.png, .svg,
// .pdf, ...).
func (b *bench) writePlot(path string) error {
	sizes := slices.Compact(slices.Sorted(slices.Values(b.c.sizes)))
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Wall time against N (%v round trip per request, sigil concurrency %d)", 2*b.c.delay, b.c.concurrency)
	p.X.Label.Text = "N images, each on both registries (2N refs)"
	p.Y.Label.Text = "wall time (s), median of the runs"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	// Every N measured is labelled (log ticks label only powers of ten).
	var xt []plot.Tick
	for _, n := range sizes {
		xt = append(xt, plot.Tick{Value: float64(n), Label: strconv.Itoa(n)})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	var ys []float64
	for i, s := range plotted {
		var xys plotter.XYs
		for _, n := range sizes {
			sr := b.results[n]
			if sr == nil {
				continue
			}
			if st := sr.stat(s.key); st != nil && median(st.wall) > 0 {
				xys = append(xys, plotter.XY{X: float64(n), Y: median(st.wall)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		line.Color, points.Color, points.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(s.legend, line, points)
		for _, xy := range xys {
			ys = append(ys, xy.Y)
		}
	}
	if len(ys) == 0 {
		return errors.New("none of sigil-sign, sigil-verify, cosign-sign-loop and cosign-sign-multi ran")
	}

	var fl plotter.XYs
	for _, n := range sizes {
		f, _ := floor(n, b.c.concurrency, b.c.delay, false)
		fl = append(fl, plotter.XY{X: float64(n), Y: f.Seconds()})
		ys = append(ys, f.Seconds())
	}
	// Points too: a line through one N is not drawn.
	line, points, err := plotter.NewLinePoints(fl)
	if err != nil {
		return err
	}
	line.Color, points.Color = color.Gray{Y: 96}, color.Gray{Y: 96}
	line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	points.Shape, points.Radius = draw.CircleGlyph{}, vg.Points(1.5)
	p.Add(line, points)
	p.Legend.Add("sign network floor (injected delay only)", line)

	// Explicit ranges: a log axis must stay above 0 (gonum pads a range
	// of one value by ±1), and the legend needs room above the lines.
	p.X.Min, p.X.Max = float64(sizes[0])/1.5, float64(sizes[len(sizes)-1])*1.5
	p.Y.Min, p.Y.Max = slices.Min(ys)/1.5, slices.Max(ys)*3
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// relativeLink is the plot's path as a Markdown link from the report at
// out: relative to out's directory, with forward slashes.
func relativeLink(out, plotPath string) string {
	if out == "" {
		return filepath.ToSlash(plotPath)
	}
	ao, err1 := filepath.Abs(out)
	ap, err2 := filepath.Abs(plotPath)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(plotPath)
	}
	rel, err := filepath.Rel(filepath.Dir(ao), ap)
	if err != nil {
		return filepath.ToSlash(ap)
	}
	return filepath.ToSlash(rel)
}
