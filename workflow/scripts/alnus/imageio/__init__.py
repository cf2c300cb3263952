"""Read ultrasound images (PNG, JPEG, BMP, DICOM) as 8-bit grayscale; write PNGs.

Everything a scanner export can throw at the pipeline ends here as one
``SourceImage``: an ``(H, W)`` uint8 array, the DICOM ultrasound regions if any,
and notes on every conversion made, so that the preprocessing log can say what
was done to each file.

One module per job:

* ``source``: what the readers return and raise (:class:`SourceImage`,
  :class:`UltrasoundRegion`, :class:`ImageReadError`);
* ``read``: the entry points, which sniff the format from the content
  (:func:`read_image`, :func:`decode_problem`, :func:`check_readable`, :func:`is_dicom`);
* ``raster``: PNG, JPEG and BMP files;
* ``dicom``: DICOM files: frames, photometric interpretation, palette, VOI LUT,
  the Sequence of Ultrasound Regions, and the cheap header check;
* ``pixels``: conversion to 8-bit grey and the limits on usable pixels
  (:data:`MAX_PIXELS`, :data:`MIN_SIDE`, :data:`MAX_COLOUR_SHARE`);
* ``png``: :func:`write_png`, the library's one PNG writer.

The constants are re-exported for reading; the readers look them up in the
module that defines them (``alnus.imageio.pixels.MAX_PIXELS``, say), so that is
where a test changes one.
"""

from alnus.imageio.dicom import DECODER_HINT, PIXEL_TAGS
from alnus.imageio.pixels import COLOUR_CHROMA, MAX_COLOUR_SHARE, MAX_PIXELS, MIN_SIDE
from alnus.imageio.png import write_png
from alnus.imageio.read import DICOM_SUFFIXES, RASTER_MAGIC, check_readable, decode_problem, is_dicom, read_image
from alnus.imageio.source import ImageReadError, SourceImage, UltrasoundRegion

__all__ = [
    "ImageReadError",
    "SourceImage",
    "UltrasoundRegion",
    "read_image",
    "decode_problem",
    "check_readable",
    "is_dicom",
    "write_png",
    "MAX_PIXELS",
    "MIN_SIDE",
    "COLOUR_CHROMA",
    "MAX_COLOUR_SHARE",
    "DICOM_SUFFIXES",
    "RASTER_MAGIC",
    "PIXEL_TAGS",
    "DECODER_HINT",
]
