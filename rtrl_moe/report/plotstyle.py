"""How the report's figures look: one colour per learner family (shades, line styles and markers
for its variants), at most MAX_SERIES series a panel, legends beside the axes, human units on the
axes (B/KiB/MiB/GiB, ms, tokens with a k suffix), a layout engine that leaves room for a
suptitle, and point labels placed where they overlap no other label.

Only matplotlib's object API: no pyplot, no global state.
"""
from __future__ import annotations

import math
import textwrap

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

DPI = 100
#: the page shows figures at most about this wide (templates: body max-width 1280px)
PAGE_W = 12.4
MAX_SERIES = 8
FONT = 8

#: family -> (base colour, name in panel titles); learners map to a family in `family()`
FAMILIES = {
    "bptt": ("#1f77b4", "BPTT"),
    "truncated": ("#8c4fc6", "truncated BPTT"),
    "rtrl": ("#d62728", "exact RTRL"),
    "approx": ("#2ca02c", "approximate (SnAp, UORO, RFLO)"),
    "other": ("#6f6f6f", "other"),
}
FAMILY_ORDER = tuple(FAMILIES)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINES = ("-", "--", "-.", ":")
#: shade of a variant: mixed towards white (>0) or black (<0)
SHADES = (0.0, -0.45, 0.45, -0.25, 0.25, -0.6, 0.6, 0.0)
#: learners' order inside a family (the rest sort by name after these)
ORDER = ("bptt", "ckpt-bptt", "tbptt", "rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly",
         "snap-1", "snap-2", "uoro", "rflo")


def family(learner: str) -> str:
    """bptt and checkpointed bptt; truncated bptt; the exact RTRL learners (dense, sparse, tree,
    read-only, and the LRU's); the approximations (SnAp, UORO, RFLO); anything else."""
    lr = str(learner).lower()
    if lr in ("bptt", "ckpt-bptt"):
        return "bptt"
    if lr.startswith("tbptt"):
        return "truncated"
    if lr.startswith(("snap", "uoro", "rflo")):
        return "approx"
    if "rtrl" in lr:
        return "rtrl"
    return "other"


def sort_key(learner: str, kw: str = ""):
    fam = FAMILY_ORDER.index(family(learner))
    return (fam, ORDER.index(learner) if learner in ORDER else len(ORDER), learner, kw != "", len(kw), kw)


def shade(color: str, f: float) -> str:
    r, g, b = to_rgb(color)
    t = (1.0, 1.0, 1.0) if f > 0 else (0.0, 0.0, 0.0)
    a = abs(f)
    return to_hex((r + (t[0] - r) * a, g + (t[1] - g) * a, b + (t[2] - b) * a))


def style(learner: str, i: int) -> dict:
    """The i-th variant of its family in a panel: the family's colour in a shade, a marker and a
    line style (plot keyword arguments)."""
    base = FAMILIES[family(learner)][0]
    return {"color": shade(base, SHADES[i % len(SHADES)]), "marker": MARKERS[i % len(MARKERS)],
            "ls": LINES[(i // 2) % len(LINES)] if i else "-"}


def styles(keys) -> dict:
    """{key: style} for (learner, ...) keys: variants numbered within their family (call it per
    panel: within MAX_SERIES keys no two look alike)."""
    seen: dict = {}
    out = {}
    for k in keys:
        fam = family(k[0])
        out[k] = style(k[0], seen.get(fam, 0))
        seen[fam] = seen.get(fam, 0) + 1
    return out


def panel_styles(facets) -> dict:
    """{key: style} over facets [(title, keys)], numbered panel by panel."""
    out: dict = {}
    for _, ks in facets:
        out.update(styles(ks))
    return out


def facets(keys, max_series: int = MAX_SERIES, reserve: int = 0) -> list:
    """Split (learner, ...) keys into panels of at most max_series - reserve: one family a panel
    (bptt and truncated bptt share one when they fit), a family too big split by learner, a
    learner too big cut in chunks. Returns [(title, [keys])]."""
    cap = max(1, max_series - reserve)
    keys = sorted(keys, key=lambda k: sort_key(k[0], str(k[1:])))
    by_fam: dict = {}
    for k in keys:
        by_fam.setdefault(family(k[0]), []).append(k)
    groups = []
    if len(by_fam.get("bptt", [])) + len(by_fam.get("truncated", [])) <= cap and "bptt" in by_fam \
            and "truncated" in by_fam:
        groups.append(("BPTT and truncated BPTT", by_fam.pop("bptt") + by_fam.pop("truncated")))
    for fam in FAMILY_ORDER:
        if fam in by_fam:
            groups.append((FAMILIES[fam][1], by_fam[fam]))
    out = []
    for title, ks in groups:
        if len(ks) <= cap:
            out.append((title, ks))
            continue
        # too many: whole learners packed first-fit into panels, a learner alone cut in chunks
        by_lr: dict = {}
        for k in ks:
            by_lr.setdefault(k[0], []).append(k)
        packs: list = []
        for lr, lks in by_lr.items():
            if len(lks) > cap:
                n = math.ceil(len(lks) / cap)
                for j in range(n):
                    packs.append((f"{title}: {lr}" + (f" ({j + 1}/{n})" if n > 1 else ""),
                                  lks[j * cap:(j + 1) * cap], True))
                continue
            spot = next((p for p in packs if not p[2] and len(p[1]) + len(lks) <= cap), None)
            if spot is None:
                packs.append(("", lks, False))
            else:
                spot[1].extend(lks)
        out.extend((t or f"{title}: {_names(p)}", p) for t, p, _ in packs)
    return out


def _names(keys) -> str:
    return ", ".join(dict.fromkeys(k[0] for k in keys))


def new_figure(n_panels: int, ncols: int = 2, panel_w: float | None = None, panel_h: float = 3.4,
               legend_w: float = 0.0, sharex: bool = False) -> tuple:
    """A figure of n_panels axes in a grid, with constrained layout: titles, a suptitle set later
    (render.py sets one) and legends beside the axes get their room at draw time."""
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    if panel_w is None:
        panel_w = PAGE_W / ncols - legend_w
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        fig = Figure(figsize=(ncols * (panel_w + legend_w), nrows * panel_h + 0.4), dpi=DPI,
                     layout="constrained")
    fig.get_layout_engine().set(h_pad=0.06, w_pad=0.06, hspace=0.04, wspace=0.02)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex="all" if sharex else "none").ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    for ax in axes:
        ax.tick_params(labelsize=FONT)
    return fig, list(axes[:n_panels])


def legend_beside(ax, **kw) -> None:
    """The axes' legend to its right, outside the data (nothing when it has no labelled artist)."""
    if not ax.get_legend_handles_labels()[0]:
        return
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=FONT,
              frameon=False, handlelength=2.6, **kw)


def fmt_bytes_tick(v: float, _pos=None) -> str:
    if v <= 0 or not math.isfinite(v):
        return ""
    for unit, s in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if v >= s:
            return f"{v / s:.3g} {unit}"
    return f"{v:.3g} B"


def fmt_tokens(v: float, _pos=None) -> str:
    """A length in tokens: 512, 1k (= 1024), 16k; non-powers of two keep their digits."""
    if v <= 0 or not math.isfinite(v):
        return ""
    if v >= 1024 and v % 1024 == 0:
        return f"{v / 1024:g}k"
    return f"{v:g}"


def _plain(v: float, _pos=None) -> str:
    return f"{v:g}" if v > 0 else ""


def bytes_axis(ax, which: str = "y", log: bool = True) -> None:
    """Bytes with binary units; on a log axis, ticks at powers of two. Call it after plotting:
    data within a factor of 4 gets a linear axis (a log2 axis would show no tick)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    lim = ax.dataLim.intervaly if which == "y" else ax.dataLim.intervalx
    if log and lim[0] > 0 and math.isfinite(lim[1]) and lim[1] / lim[0] < 4:
        log = False
    if log:
        (ax.set_yscale if which == "y" else ax.set_xscale)("log", base=2)
        axis.set_major_locator(LogLocator(base=2, numticks=8))
        axis.set_minor_locator(NullLocator())
    else:
        axis.set_major_locator(BinaryLocator(5))
    axis.set_major_formatter(FuncFormatter(fmt_bytes_tick))


class BinaryLocator(MaxNLocator):
    """Linear ticks at round numbers of the unit the labels use (KiB, MiB, GiB): 64 KiB, 96 KiB,
    128 KiB rather than 78.1 KiB, 97.7 KiB."""

    def tick_values(self, vmin, vmax):
        top = max(abs(vmin), abs(vmax))
        unit = next((u for u in (2 ** 30, 2 ** 20, 2 ** 10) if top >= u), 1)
        return super().tick_values(vmin / unit, vmax / unit) * unit


def tokens_axis(ax, label: str = "sequence length T (tokens, 1k = 1024)", numticks: int = 9) -> None:
    """Sequence length on a log2 axis, ticks as 16, 256, 1k, 16k (numticks: at most about that
    many, for a narrow panel fewer)."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=2, numticks=numticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(fmt_tokens))
    ax.set_xlabel(label, fontsize=FONT + 1)


def log_plain_axis(ax, which: str = "y") -> None:
    """A log axis whose ticks read as plain numbers (0.5, 1, 2, 5, 10) instead of powers of 10."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(_plain))


def title(ax, text: str, width: int = 60) -> None:
    """A panel title wrapped to the panel (a long one would run into its neighbour's)."""
    ax.set_title(wrap(text, width), fontsize=FONT + 1)


def common_words(labels) -> tuple[list, str]:
    """Labels without the words they all share, and those words (for the panel's title); the
    first word (the learner) always stays."""
    split = [lab.split(" ") for lab in labels]
    if len(split) < 2:
        return list(labels), ""
    common = [w for w in split[0][1:] if all(w in s[1:] for s in split[1:])]
    return [" ".join([s[0]] + [w for w in s[1:] if w not in common]) for s in split], " ".join(common)


def wrap(text: str, width: int) -> str:
    """Text broken into lines of at most width characters, at spaces only."""
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


def label_points(ax, points, fontsize: float = FONT - 0.5, merge_px: float = 7.0, spans=()) -> None:
    """Label (x, y, text) points of a scatter so that no label overlaps another or leaves the
    axes: points closer than merge_px share one label; each label takes the first free spot of a
    ring of offsets around its point (also clear of the vertical spans (x, y0, y1), error bars),
    with a thin leader line when it had to move away from the spot beside its point.

    Needs the figure's final axes size: it runs the layout first, then fixes it (the engine is
    switched off so that the placement stays valid)."""
    fig = ax.figure
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)      # the renderer that png() draws with measures the labels
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    pts = [(x, y, t) for x, y, t in points if x is not None and y is not None
           and math.isfinite(x) and math.isfinite(y)]
    # merge points that sit on top of one another
    groups: list = []
    for x, y, t in sorted(pts, key=lambda p: (p[1], p[0])):
        px = to_px((x, y))
        for g in groups:
            if abs(g["px"][0] - px[0]) <= merge_px and abs(g["px"][1] - px[1]) <= merge_px:
                g["texts"].append(t)
                break
        else:
            groups.append({"xy": (x, y), "px": px, "texts": [t]})
    box = ax.get_window_extent(renderer)
    bars = []
    for x, y0, y1 in spans:
        if all(v is not None and math.isfinite(v) for v in (x, y0, y1)):
            (px0, py0), (_, py1) = to_px((x, y0)), to_px((x, y1))
            bars.append((px0, min(py0, py1), max(py0, py1)))
    placed: list = []
    offsets = [(4, 3)]
    for r in (9, 16, 26, 38, 52, 70, 95, 125):
        for ang in (45, 135, -45, -135, 0, 180, 90, -90, 20, 160, -20, -160, 70, 110, -70, -110):
            offsets.append((r * math.cos(math.radians(ang)), r * math.sin(math.radians(ang))))
    pt = fig.dpi / 72.0
    for g in groups:
        text = "\n".join(_wrap_join(sorted(set(g["texts"]), key=g["texts"].index)))
        best = None
        for dx, dy in offsets:
            ann = _annotate(ax, text, g["xy"], dx, dy, fontsize)
            bb = _text_box(ann, renderer)
            outside = not (bb.x0 >= box.x0 + 1 and bb.x1 <= box.x1 - 1 and bb.y0 >= box.y0 + 1
                           and bb.y1 <= box.y1 - 1)
            # a spot's cost: leaving the axes, then covering a label, then covering a point
            cost = (100 * outside + 10 * sum(_hits(bb, o, 1.5) for o in placed)
                    + sum(_covers(bb, o["px"], 2.5 * pt) for o in groups if o is not g)
                    + sum(bb.x0 - 2 < bx < bb.x1 + 2 and bb.y0 < b1 and b0 < bb.y1 for bx, b0, b1 in bars))
            ann.remove()
            if best is None or cost < best[0]:
                best = (cost, dx, dy)
            if cost == 0:
                break
        ann = _annotate(ax, text, g["xy"], best[1], best[2], fontsize)
        placed.append(_text_box(ann, renderer))
    fig.set_layout_engine("none")


def _text_box(ann, renderer):
    """Where a label's text is drawn: the text alone (an annotation's own extent takes in its
    leader line, which may cross other labels' space)."""
    ann.update_positions(renderer)
    return Text.get_window_extent(ann, renderer)


def _annotate(ax, text, xy, dx, dy, fontsize):
    """A label at an offset (points) from its point, a thin leader line once it is away from it."""
    far = (dx, dy) != (4, 3)      # anywhere but beside its point, a line says whose label it is
    return ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                       ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top",
                       arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.45", "shrinkA": 0,
                                   "shrinkB": 2} if far else None)


def _wrap_join(texts) -> list:
    """Merged labels two to a line."""
    return [", ".join(texts[i:i + 2]) for i in range(0, len(texts), 2)]


def _hits(a, b, pad: float) -> bool:
    return a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad


def _covers(bb, px, r: float) -> bool:
    return bb.x0 - r < px[0] < bb.x1 + r and bb.y0 - r < px[1] < bb.y1 + r
