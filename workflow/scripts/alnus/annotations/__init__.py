"""Find burned-in annotations inside a cropped B-mode image and inpaint them.

Scanners draw the sonographer's annotations into the pixels: typed text
("MAMA ESQUERDA", "RT BR 2H 3CMFN"), caliper marks ("+", "x", "*") on the
lesion's borders and the dotted or solid measurement lines between them. A
network trained on such images can learn the calipers instead of the tissue
(measured lesions are the suspicious ones), so they are removed here, before
anything is learned, by OpenCV's inpainting (Telea) over a mask of the marks.

The detectors are built to leave tissue alone: every mark must pass a test
that speckle and lesion edges fail.

* **Calipers** (`calipers.caliper_centers`): four thin arms meeting at a point, each
  arm pixel brighter than the pixels 2 px to either side of it (a *ridge*),
  or, for marks drawn in a grey that tissue around them exceeds, four arms of
  one exact grey level that differ from both sides. Speckle grains are a few
  pixels wide and blurred, so they are not ridges in two directions at once,
  and they are never one exact grey level over 13 pixels.
* **Outlined calipers** (`calipers.shadowed_centers`, Toshiba's): a small "+" in a
  light grey with a black outline, blurred by the export, often no brighter
  than the tissue it lies on. Found as a 1-px bar of one grey level, 5 px or
  more long, with dark rows of one dark grey right above and below it that a
  dimmer vertical arm breaks at the centre. Tissue streaks have no such dark
  rows on both sides; the depth ruler's dots (also outlined) are round and
  brightest in the middle, not one grey level along a bar.
* **Text** (`text.text_lines`): thin bright strokes grouped into a line of at least
  three characters whose tops or bottoms align, with many vertical strokes
  (speckle grains are wide laterally, so their strokes are horizontal), in a
  short line one continuous stroke 1.5 character heights long (speckle
  strands and small bright dots are ridges only in bits; issue 14) and clear
  background in the rows just above and below. Bright tissue bands carry
  strokes above and below as well, and fail. A second pass finds bold fonts;
  shorter words in the same font beside a line found (or at the image's
  border: logos, depth labels) count too.
* **Measurement lines** (`lines.measurement_lines`): between two calipers found
  above, a row of regularly spaced dots or a solid thin line (where the
  dots cross tissue as bright as they are, the row is found among the
  samples at the dots' grey level); from a caliper whose partner was missed,
  a row of dots of one grey level. The mask is the dots or line pixels,
  never the segment's tissue in between.

Everything works on 8-bit grayscale at the screen's own pixel size (scanners
draw marks in screen pixels, whatever the image depth or probe). The maps the
detectors share (local background, contrast, shifted views, stroke ridges)
are computed once per image (`common.Views`); each pixel test runs a cheap
necessary condition over the whole image and the full test only on the
pixels that pass. The before/after figure is in `examples`.

Layout: `common` (maps, result types, grouping of hits), `calipers`,
`lines`, `text`, `ocr`, `examples`, and `clean` (the job: `clean_annotations`,
`detect_annotations`); this module is the face (the names other code imports).

Measured with the single-module version before this subpackage (issue 3;
measurement scripts: see the issue note). The subpackage gives the same
masks and findings, to the pixel, on all 464 BUS-BRA images and 500 clean
simulated images of `benchmarks/bench_annotations.py --reference` (issue 14):


* Tissue left alone, simulated: 600 B-mode images without annotations
  (`alnus.simulate.render_bmode`, two seeds: speckle, Cooper's ligaments,
  spiculated and calcified lesions, both sites, linear and sector probes):
  no finding, 0 pixels changed. The unit tests add uniform noise and a
  bright calcification.
* Marks found, simulated: 600 screens drawn by `alnus.simulate.draw_screen`
  (calipers, dotted lines, typed notes), cropped to the B-mode region: 95.6%
  of the annotation pixels that differ from the tissue by 30 grey levels or
  more were masked, 88.1% of caliper centres (1,785 of 2,025; the misses are
  grey marks on tissue as bright as they are); 0.5% of the mask lay more
  than 4 px from any mark.
* BUS-BRA (1,875 real, already cropped images of four scanners; no
  annotation masks exist): findings in 90.9% of the images (text 70.5%,
  calipers 63.8%, measurement lines 0.1%), a median of 1.2% of an image's
  pixels changed (95th percentile 2.4%, max 3.9%). By eye, 78 findings in 30
  random images and 48 random caliper findings were all on real marks;
  images without findings still showed faint or thick calipers and single
  letters (missed). Of all mask pixels, 1.4% fell inside the dataset's lesion
  outlines, nearly all calipers placed on or just inside the lesion edge;
  one of the eight images with the most such pixels had bright internal
  echoes taken for a short text line (the known failure mode).
* Per scanner (`benchmarks/bench_annotations.py --limit 150`: 464 BUS-BRA
  images, all of Toshiba's 139 and U-Systems' 25; docs/benchmarks.md):
  images with a caliper finding, Toshiba Aplio 300 51.8% (10.1% before the
  outlined-caliper test), GE Logiq 7 78.7%, GE Logiq 5 55.3%, U-Systems 0%
  (GE and U-Systems unchanged); a median of 1.0% of a Toshiba image's pixels
  changed (0.96% before). All 84 new findings were on Toshiba images; 24
  random ones, by eye, were all outlined "+" calipers. Still missed: outlined
  marks whose outline is no darker than the tissue (on bright tissue, or in
  dark lesions), the caliper labels ("A", "B") beside them, and the ruler.
  The test finds nothing on 500 simulated clean images (seeds 0-299 and
  1000-1199 of the benchmark's set) nor on 290 GE and U-Systems images; with a
  bar mean of 30 instead of 40 it took speckle in 10 of the 500. The
  benchmark's 300 simulated clean images give 2 text findings (seeds 54 and
  268; they were there before this test, and the 600 above were another set);
  its 500 gave 3 (seed 412 too): bright blobs or strands taken for a short
  text line. Since the continuous-stroke test of short text lines (issue 14,
  `text.SHORT_LINE_PIXELS`) they give none, nor do the three found in the
  benchmark's images 500-1999; per-scanner shares on BUS-BRA unchanged.
* Speed, this subpackage (issue 14; 2026-12-01, a 2-vCPU Intel Xeon shared
  with other jobs, docs/benchmarks.md): a median of 13 ms per BUS-BRA image
  on one core, against 142 ms for the single module in the same run (about
  0.25 s when that was measured alone, idle). Preprocessing with removal on
  ran at 39-56 images/s on BUS-BRA and 26-43 on the demo's screens in three
  runs (1 or 2 threads, the second core held by the other jobs), 8-12 times
  the single module in each run.
"""

from __future__ import annotations

from alnus.annotations.clean import MODES, Cleaned, clean_annotations, detect_annotations
from alnus.annotations.common import DEFAULT_KINDS, KINDS, Finding
from alnus.annotations.examples import annotation_figure, load_examples, save_examples

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "MODES",
    "Cleaned",
    "Finding",
    "annotation_figure",
    "clean_annotations",
    "detect_annotations",
    "load_examples",
    "save_examples",
]
