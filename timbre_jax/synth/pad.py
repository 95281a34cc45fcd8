"""The panel's XY pad (PyQtGraph; part of the panel, the only Qt code): the latent plane of a
2-D model over its training embedding, a target to click or drag, and, for a note model, the
held notes' verdicts shaded over it (`analysis.note_map`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from timbre_jax.analysis.note_map import NO_PITCH, OCTAVE, OTHER, RIGHT, NoteShading
from timbre_jax.dsp.chroma import NOTE_NAMES

SHADES = {
    RIGHT: (40, 200, 80, 50),
    OCTAVE: (255, 170, 0, 190),
    OTHER: (230, 20, 20, 190),
    NO_PITCH: (90, 90, 90, 200),
}  # RGBA of the pad's verdicts on the held notes, over the embedding
SHADING_TEXT = (
    "pad shaded for the held notes as noise and RTPGHI phase play them: green plays them, "
    "amber an octave off, red another note, grey no clear pitch"
)
# the harmonic phase puts every voice's partials on its key's harmonics: pYIN hears the held
# key at every point of the pad (launch/bench_residual.py), so there is nothing to shade
HARMONIC_TEXT = "harmonic phase: every pad point plays the held keys (no shading needed)"


class LatentPad(pg.PlotWidget):
    """Args:
    low, high: [2] the span of the two latent neurons.
    colors: [12, 4] RGBA bytes of the note classes (the embedding's points and legend).
    embedding: optional (latents [N, 2], note classes [N]) drawn under the target.
    shading: a note model's `NoteShading`, or None (no shading).
    """

    def __init__(self, low, high, colors, embedding=None, shading: NoteShading | None = None):
        super().__init__(title="latent pad: click or drag")
        self.setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]))
        self.setMouseEnabled(x=False, y=False)
        self.legend = None  # the legend of the note colours, with an embedding
        if embedding is not None:
            latents, notes = embedding
            brushes = [pg.mkBrush(*rgba) for rgba in colors]
            points = pg.ScatterPlotItem(latents[:, 0], latents[:, 1], size=3, pen=None,
                                        brush=[brushes[n] for n in notes])  # fmt: skip
            # drawn once into a pixmap: moving the target repaints no points
            points.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.addItem(points)
            self.legend = pg.LegendItem(colCount=12, horSpacing=0, labelTextSize="8pt")
            for name, brush in zip(NOTE_NAMES, brushes, strict=True):
                self.legend.addItem(pg.ScatterPlotItem(size=9, pen=None, brush=brush), name)
            self.getPlotItem().layout.addItem(self.legend, 4, 0, 1, 3)  # under the x axis
        self.shading = shading
        self.shade_image = pg.ImageItem()  # [z0, z1] cells: col-major, as pyqtgraph's default
        self.shade_image.setZValue(5)  # over the embedding, under the target
        self.shaded: tuple = ()  # the held notes the image shows
        self.addItem(self.shade_image)
        self.target = pg.TargetItem(movable=True)
        self.addItem(self.target)
        # the notes playing a latent point of their own (MPE), one ring each in its colour
        self.notes = pg.ScatterPlotItem(size=14, brush=None, symbol="o")
        self.notes.setZValue(8)
        self.addItem(self.notes)
        self.colors, self.shown_notes = colors, ()
        self.scene().sigMouseClicked.connect(self._clicked)

    def _clicked(self, event) -> None:
        self.target.setPos(self.getViewBox().mapSceneToView(event.scenePos()))

    def show_notes(self, expression) -> None:
        """A ring at each note's own latent point (`Controls.expression`), in its class's
        colour; none for the notes that play the target's."""
        own = tuple((pitch, latent) for pitch, _, latent in expression if latent)
        if own == self.shown_notes:
            return
        self.shown_notes = own
        pens = [pg.mkPen(tuple(int(c) for c in self.colors[pitch % 12]), width=3)
                for pitch, _ in own]  # fmt: skip
        x, y = [latent[0] for _, latent in own], [latent[1] for _, latent in own]
        self.notes.setData(x, y, pen=pens)

    def shade(self, held: tuple[int, ...]) -> None:
        """Shades the pad for the held notes (sorted MIDI pitches, as the decoder is
        conditioned on them) once their map is at hand; clears it when none is held."""
        if self.shading is None or held == self.shaded:
            return
        shaded = self.shading.shade(held)
        if shaded is None and held:
            return  # being decoded: the next call looks again
        self.shaded = held
        if shaded is None:
            self.shade_image.clear()
            return
        verdict, (low0, high0, low1, high1) = shaded
        colours = np.zeros((*verdict.shape, 4), np.uint8)
        for code, rgba in SHADES.items():
            colours[verdict == code] = rgba
        self.shade_image.setImage(colours, autoLevels=False)
        self.shade_image.setRect(QtCore.QRectF(low0, low1, high0 - low0, high1 - low1))

    def close_shading(self) -> None:
        if self.shading is not None:
            self.shading.close()
