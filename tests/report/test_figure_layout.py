"""Every figure the report draws, drawn from the committed results/, has no text over text and no
text outside the figure; series a panel stay few and legends sit beside the axes.

A text box is every visible Text the renderer draws: titles, the suptitle (set as render.py sets
it, after the figure function returns), axis labels, the tick labels actually drawn, legend texts
and annotations. Two boxes of different artists may touch by OVERLAP_PX, no more.
"""
from __future__ import annotations

import pytest
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from report_testlib import REPO

from rtrl_moe.report import data, figures, frontier, longrange, phases, plotstyle, ponder_frontier
from rtrl_moe.report.workload import config_label

OVERLAP_PX = 2.0
#: the longest model name render.py puts in a suptitle (the documents' config)
SUPTITLE = ("model: moe d_ff=64 d_model=32 experts=4 slots=4 top=2 read=2 write=2 "
            "(the documents' config)")


def text_boxes(fig: Figure) -> list:
    """[(text, bbox)] of every visible, non-empty Text the figure draws (pixels)."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []

    def walk(a):
        if not a.get_visible():
            return
        if isinstance(a, Axis):
            # only the ticks drawn: an axis keeps Tick objects for locations outside its view
            for tick in a._update_ticks():
                found.extend(t for t in (tick.label1, tick.label2) if t.get_visible())
            found.extend((a.label, a.offsetText))
            return
        if isinstance(a, Text):
            found.append(a)
        for c in a.get_children():
            walk(c)

    walk(fig)
    # Text's own extent: an annotation's would take in its leader line
    return [(t, Text.get_window_extent(t, renderer)) for t in found
            if t.get_visible() and t.get_text().strip()]


def layout_problems(fig: Figure) -> list[str]:
    """Text overlapping text (two artists, by more than OVERLAP_PX each way) and text leaving
    the figure; empty when the figure reads."""
    boxes = text_boxes(fig)
    w, h = fig.canvas.get_width_height()
    out = []
    for t, b in boxes:
        if b.x0 < -OVERLAP_PX or b.y0 < -OVERLAP_PX or b.x1 > w + OVERLAP_PX or b.y1 > h + OVERLAP_PX:
            out.append(f"outside the figure ({w}x{h}): {t.get_text()!r} at {b.bounds}")
    for i, (t, b) in enumerate(boxes):
        for u, c in boxes[i + 1:]:
            dx = min(b.x1, c.x1) - max(b.x0, c.x0)
            dy = min(b.y1, c.y1) - max(b.y0, c.y0)
            if dx > OVERLAP_PX and dy > OVERLAP_PX:
                out.append(f"{t.get_text()!r} overlaps {u.get_text()!r} by {dx:.0f}x{dy:.0f} px")
    return out


def legend_problems(fig: Figure) -> list[str]:
    """A legend over its axes' data area (an axes drawn with its axis), or one of more than plotstyle.MAX_SERIES curves plus
    the reference and the key (3 entries)."""
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or not ax.get_visible():
            continue
        a, b = ax.get_window_extent(renderer), leg.get_window_extent(renderer)
        # an axes with its axis off draws no data: a free grid cell that holds a legend
        dx, dy = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
        if ax.axison and dx > OVERLAP_PX and dy > OVERLAP_PX:
            out.append(f"legend inside the axes {ax.get_title()!r}")
        if len(leg.get_texts()) > plotstyle.MAX_SERIES + 3:
            out.append(f"{len(leg.get_texts())} legend entries in {ax.get_title()!r}")
    return out


@pytest.fixture(scope="module")
def committed():
    df, _ = data.load(REPO / "results")
    if len(df) == 0:
        pytest.skip("no committed results")
    return df


def _model_parts(df):
    """The records per model config, as render.py draws one figure per config."""
    key = config_label(df)
    return [df[key == k] for k in sorted(set(key))]


def _section_figures(df, every_config: bool = False):
    """(name, figure) of every section figure, suptitle as render sets it: of the first model
    config (the documents', which draws every kind) and the last (the plain RNN's), or of every
    config (slower; the two cover each figure function and both model types)."""
    parts = _model_parts(df)
    chosen = parts if every_config else [parts[0], parts[-1]] if len(parts) > 1 else parts
    for i, part in enumerate(chosen):
        for kind, _title, fn, _caption in figures.FIGURES:
            fig = fn(part)
            if fig is not None:
                fig.suptitle(SUPTITLE, fontsize=9)
                yield f"{kind} (config {i})", fig


def _extra_figures(df):
    yield "frontier", frontier.figure(frontier.table(df))
    yield "phases", phases.figure(phases.bars(df))
    yield "longrange", longrange.figure(longrange.table(df))
    yield "ponder-frontier", ponder_frontier.figure(df)


def test_every_section_figure_reads(committed):
    drawn, problems = set(), []
    for name, fig in _section_figures(committed):
        drawn.add(name.split(" ")[0])
        problems += [f"{name}: {p}" for p in layout_problems(fig) + legend_problems(fig)]
    # every figure function of the sections drew at least once from the committed results
    assert drawn == {k for k, *_ in figures.FIGURES}
    assert not problems, "\n".join(problems[:40])


def test_memory_figure_with_gpu_fields_reads(committed):
    """Seven memory fields (a GPU run's: CUDA allocated and reserved, NVML) wrap into two rows
    of panels per family; none is in results/ yet, so they are derived from the CPU records."""
    part = _model_parts(committed)[0].copy()
    for f, k in (("metrics.cuda_allocated_peak", 1.1), ("metrics.cuda_reserved_peak", 1.3),
                 ("metrics.nvml_used_peak", 2.0)):
        part[f] = part["metrics.tensor_bytes_peak"] * k
    fig = figures.memory(part)
    fig.suptitle(SUPTITLE, fontsize=9)
    assert sum(ax.get_title() != "" for ax in fig.axes) >= 7
    assert layout_problems(fig) + legend_problems(fig) == []


def test_every_extra_figure_reads(committed):
    problems = []
    for name, fig in _extra_figures(committed):
        assert fig is not None, f"{name}: no figure from the committed results"
        problems += [f"{name}: {p}" for p in layout_problems(fig) + legend_problems(fig)]
    assert not problems, "\n".join(problems[:40])


def test_the_checker_finds_a_suptitle_over_panel_titles():
    fig = Figure(figsize=(6, 3), dpi=100)
    fig.subplots_adjust(top=0.97)          # no room kept above the panels
    for i in (1, 2):
        fig.add_subplot(1, 2, i).set_title(f"panel {i} title")
    fig.suptitle("a figure title over the panels")
    assert any("overlaps" in p for p in layout_problems(fig))


def test_the_checker_finds_text_outside_the_figure_and_a_legend_over_data():
    fig = Figure(figsize=(4, 3), dpi=100)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(loc="center")
    ax.annotate("a label that runs off the right edge", (1, 1))
    assert any("outside the figure" in p for p in layout_problems(fig))
    assert any("legend inside" in p for p in legend_problems(fig))


def test_the_checker_passes_a_clean_figure():
    fig, (ax,) = plotstyle.new_figure(1, ncols=1, panel_w=4.0, legend_w=1.5)
    ax.plot([1, 2], [1, 2], label="a line")
    ax.set_title("a title")
    plotstyle.legend_beside(ax)
    fig.suptitle("a figure title")
    assert layout_problems(fig) == []
    assert legend_problems(fig) == []


def test_overlapping_point_labels_are_moved_apart():
    fig, (ax,) = plotstyle.new_figure(1, ncols=1, panel_w=4.0)
    pts = [(1.0, 1.0, "first learner"), (1.02, 1.0, "second learner"), (1.04, 1.01, "third learner")]
    ax.scatter([p[0] for p in pts], [p[1] for p in pts])
    ax.set_xlim(0.9, 1.2)
    ax.set_ylim(0.98, 1.03)
    plotstyle.label_points(ax, pts, merge_px=0)
    assert layout_problems(fig) == []
    # the same labels at the points' own offsets overlap: the placement did the work
    fig2, (ax2,) = plotstyle.new_figure(1, ncols=1, panel_w=4.0)
    ax2.set_xlim(0.9, 1.2)
    ax2.set_ylim(0.98, 1.03)
    for x, y, t in pts:
        ax2.annotate(t, (x, y), xytext=(3, 3), textcoords="offset points")
    assert any("overlaps" in p for p in layout_problems(fig2))


def test_facets_keep_panels_small_and_families_apart():
    keys = [("bptt", "{}"), ("tbptt", '{"k": 4}'), ("rtrl", "{}"), ("sparse-rtrl", "{}"),
            ("sparse-rtrl-readonly", "{}"), ("uoro", "{}")] + [("tree-rtrl", f'{{"n": {n}}}')
                                                                for n in range(12)]
    panels = plotstyle.facets(keys, reserve=1)
    assert all(len(ks) <= plotstyle.MAX_SERIES - 1 for _, ks in panels)
    assert sorted(k for _, ks in panels for k in ks) == sorted(keys)
    for _, ks in panels:
        fams = {plotstyle.family(k[0]) for k in ks}
        assert fams <= {"bptt", "truncated"} or len(fams) == 1


def test_one_colour_family_per_learner_family():
    assert plotstyle.family("tree-rtrl") == plotstyle.family("sparse-rtrl") == "rtrl"
    assert plotstyle.family("snap-1") == plotstyle.family("uoro") == plotstyle.family("rflo") == "approx"
    assert plotstyle.family("tbptt") == "truncated" and plotstyle.family("ckpt-bptt") == "bptt"
    st = plotstyle.styles([("rtrl", ""), ("sparse-rtrl", ""), ("tree-rtrl", "")])
    # variants differ in marker and shade, never share a look
    assert len({(s["color"], s["marker"], s["ls"]) for s in st.values()}) == 3


@pytest.mark.parametrize("v,text", [(512, "512 B"), (2 ** 14, "16 KiB"), (1.5 * 2 ** 20, "1.5 MiB"),
                                    (2 ** 31, "2 GiB")])
def test_byte_ticks_in_binary_units(v, text):
    assert plotstyle.fmt_bytes_tick(v) == text


@pytest.mark.parametrize("v,text", [(64, "64"), (1024, "1k"), (16384, "16k"), (1000, "1000")])
def test_token_ticks(v, text):
    assert plotstyle.fmt_tokens(v) == text
