#!/usr/bin/env python3
"""Draws latency-by-percentile curves from HdrHistogram percentile files (.hgrm) as an SVG.

    scripts/hgrm-to-svg.py OUT.svg "label=path/to/file.hgrm" ["label=other.hgrm" ...]

The .hgrm files are what `distlock-server.jar bench --hgrm FILE` writes (values in µs). The
x axis is the percentile on the usual HdrHistogram scale (1/(1-p), log), the y axis the
latency in µs, log scale, so curves that differ by orders of magnitude fit one chart.
Standard library only.
"""
import math
import sys
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DASHES = ["", "6,3", "2,3", "8,3,2,3"]


def read_hgrm(path):
    """(percentile, value) pairs of an .hgrm file, percentile in [0, 1)."""
    points = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4 or line.lstrip().startswith("#"):
                continue
            try:
                value, percentile = float(parts[0]), float(parts[1])
            except ValueError:
                continue  # the header line
            if percentile < 1.0:
                points.append((percentile, value))
    if not points:
        raise SystemExit(f"{path}: no percentile lines (is it an .hgrm file?)")
    return points


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    out = argv[1]
    series = []
    for arg in argv[2:]:
        label, _, path = arg.partition("=")
        if not path:
            label, path = path or arg, arg
        series.append((label, read_hgrm(path)))

    width, height = 860, 500
    left, right, top, bottom = 80, 220, 40, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    max_nines = 4  # up to 99.99%
    values = [v for _, pts in series for _, v in pts if v > 0]
    y_min = 10 ** math.floor(math.log10(min(values)))
    y_max = 10 ** math.ceil(math.log10(max(values)))

    def x_of(p):
        nines = min(max_nines, math.log10(1.0 / (1.0 - p)))
        return left + plot_w * nines / max_nines

    def y_of(v):
        v = max(v, y_min)
        return top + plot_h * (1 - (math.log10(v) - math.log10(y_min)) / (math.log10(y_max) - math.log10(y_min)))

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold">lock+unlock latency by percentile</text>']
    for i, label in enumerate(["0%", "90%", "99%", "99.9%", "99.99%"]):
        x = left + plot_w * i / max_nines
        svg.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
        svg.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{label}</text>')
    decade = y_min
    while decade <= y_max * 1.0001:
        y = y_of(decade)
        svg.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        text = f"{decade / 1000:g} ms" if decade >= 1000 else f"{decade:g} µs"
        svg.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
        decade *= 10
    svg.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>')
    svg.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">percentile</text>')
    svg.append(f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>')
    for i, (label, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        dash = DASHES[(i // len(COLORS)) % len(DASHES)]
        path = " ".join(f"{'M' if j == 0 else 'L'}{x_of(p):.1f},{y_of(v):.1f}" for j, (p, v) in enumerate(pts)
                        if math.log10(1.0 / (1.0 - p)) <= max_nines + 1e-9)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        svg.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"{dash_attr}/>')
        ly = top + 10 + 20 * i
        svg.append(f'<line x1="{left + plot_w + 14}" y1="{ly}" x2="{left + plot_w + 40}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"{dash_attr}/>')
        svg.append(f'<text x="{left + plot_w + 46}" y="{ly + 4}">{escape(label)}</text>')
    svg.append("</svg>")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main(sys.argv)
