"""Simulate a hospital's ultrasound export for the ALN-US demo study.

The demo replaces the paper's private data (Zhou et al., Radiology 2019) with a
synthetic study that has the same shape and the same problems as a real
export, small enough to train CNNs from scratch on a CPU in minutes:

* a development cohort from ``hospital_A`` and an external cohort from
  ``hospital_B``, a second site with a visible domain shift (screen size,
  gain, speckle size, pixel spacing, probe shape and UI layout);
* every image is a whole scanner screen: the B-mode image inside a dark UI with
  burned-in fake PHI, a depth ruler, settings, a logo and calipers on the lesion,
  so that the pipeline has to find and crop the B-mode region itself;
* half the images are PNG screenshots, half DICOM files whose header carries
  fake PHI and a Sequence of Ultrasound Regions that gives the B-mode rectangle;
* source folders are named after the (fake) patient, as exports often are;
* five simulated radiologists read the external cohort.

One module per job:

* ``sites``: the site catalogue (:class:`Site`, :data:`SITES`);
* ``lesions``: the lesion model, how the label shows in the tumour;
* ``bmode``: B-mode rendering (:func:`render_bmode`);
* ``exams``: fake patients, their studies and the PHI they carry;
* ``screen``: the scanner screen around the image (:func:`draw_screen`);
* ``export``: DICOM and PNG files, UIDs (:func:`write_dicom`, :func:`write_screenshot`);
* ``readers``: simulated radiologists (:func:`simulate_readers`);
* ``clinical``: age, tumour size and BI-RADS (:func:`simulate_clinical`);
* ``study``: the study plan, which writes it all (:func:`simulate_study`).

Determinism
-----------
All randomness comes from one :class:`numpy.random.Generator` made from
``seed`` and passed down explicitly; dates are drawn, never read from the
clock; DICOM UIDs are hashed from the seed. The same seed therefore writes
byte-identical files (with the same numpy, OpenCV and pydicom versions).

Only :func:`simulate_study` writes files; the functions it is built from
(:func:`sample_lesion`, :func:`render_bmode`, :func:`draw_screen`,
:func:`write_dicom`, :func:`simulate_readers`) work on plain objects and can be
used and tested one by one.
"""

from alnus.simulate.bmode import BMode, render_bmode
from alnus.simulate.clinical import BIRADS_CUTS, BIRADS_LEVELS, CLINICAL_COLUMNS, simulate_clinical
from alnus.simulate.exams import FAMILY_NAMES, GIVEN_NAMES, SONOGRAPHERS, STAFF_NAMES, Exam
from alnus.simulate.export import US_IMAGE_STORAGE, write_dicom, write_screenshot
from alnus.simulate.lesions import CUE_NOISE, CUES, LATENT_SEPARATION, Lesion, sample_lesion, second_view
from alnus.simulate.readers import READERS, simulate_readers
from alnus.simulate.screen import draw_screen
from alnus.simulate.sites import SITES, Site
from alnus.simulate.study import MANIFEST_COLUMNS, simulate_study

__all__ = [
    "SITES",
    "READERS",
    "Site",
    "Lesion",
    "BMode",
    "Exam",
    "sample_lesion",
    "second_view",
    "render_bmode",
    "draw_screen",
    "write_dicom",
    "write_screenshot",
    "simulate_readers",
    "simulate_clinical",
    "simulate_study",
    "LATENT_SEPARATION",
    "CUE_NOISE",
    "CUES",
    "BIRADS_LEVELS",
    "BIRADS_CUTS",
    "CLINICAL_COLUMNS",
    "MANIFEST_COLUMNS",
    "US_IMAGE_STORAGE",
    "FAMILY_NAMES",
    "GIVEN_NAMES",
    "STAFF_NAMES",
    "SONOGRAPHERS",
]
