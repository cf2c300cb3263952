"""PHI audit: collect every identifying string of the inputs, then search every
file under results/ for them, byte by byte.

What is collected (`collect_phi`), each with its *kind* (what it is, never what
it says, is what reaches results/):

* from every DICOM input, headers only: each attribute that the DICOM basic
  application confidentiality profile (PS3.15 E.1-1) removes or replaces and
  that carries text: every person name (VR PN, anywhere in the data set,
  sequences included, also split into its components), patient, study and
  accession ids, institution, department, station, address, telephone,
  comments, every date (VR DA; also written as YYYY-MM-DD) and every instance
  UID (registered class and transfer-syntax UIDs are generic and skipped);
* from each manifest: ``patient_id`` and ``study_id``;
* from each manifest ``image`` path: the whole path, each folder name, the
  file name with and without extension, and the letter and digit runs of
  those names (exports name folders after the patient); a whole folder or
  file name found under two or more patients is the export's own naming
  ("US_0001.dcm") and is skipped;
* the pseudonym key (from the environment variable or the key file), and the
  lines of an optional private file of further strings (e.g. a RIS export).

Skipped, because they match by chance and would fail runs for nothing
(counted in the strings table): strings shorter than `min_length` (5)
characters, pure numbers of fewer than `min_digits` (6) digits, times (VR
TM), free-text descriptions (StudyDescription and the like, which are
protocol names), words of path names that occur in the paths of at least
half the patients (and at least three), and words in GENERIC_WORDS
("images"). Numbers must stand alone (no digit before or after them) and
name parts and path words must be whole words (no letter or digit before or
after), so that "20170315" is not found inside "0.201703151" and "ROSE" not
in "ROSETTE". Matching is case-insensitive (ASCII letters).

How files are searched: every file under results/, and its path, in the
parts that can carry text (`text_parts`): text files whole; of PNG images
every chunk but the image data (compressed text chunks inflated); of .npy
arrays the header; of safetensors files the JSON header; of zip containers
(.npz, torch checkpoints) the member names and members by the same rules;
of PDFs everything but image streams (Flate streams inflated). Files of any
other kind, and files whose structure does not parse, are searched whole.
Pixel and weight payloads are not text: ultrasound grey levels are the byte
values of letters and digits, so a 5-character patient id ("BRA75") turns up
in a 100 MB pixel cache by chance. `PhiScanner` is an Aho-Corasick automaton
(pyahocorasick) over the lower-cased bytes.

Text burned into pixels is read by OCR (`alnus.ocr_audit`, rule
residual_text) and its identifying lines are problems here (`run_audit`).
Not covered: text that a PDF writes as glyph indices, non-ASCII case folding,
the log files under logs/ (not results; error messages there may name a
source file), and the report, which is built after the audit.

One job per module: `collect` (the strings), `scan` (the Aho-Corasick search),
`parts` (the text-bearing parts of each file format) and `audit` (the tree,
the messages and the rule's job, `phi_audit_job`); every public name is
imported from here.
"""

from alnus.phi_audit.audit import (
    Finding,
    PhiFound,
    audit_tree,
    detail_lines,
    failure_message,
    phi_audit_job,
    run_audit,
    scan_file,
)
from alnus.phi_audit.collect import KEY_ENV_VAR, PhiCollector, collect_phi, read_key
from alnus.phi_audit.parts import metadata_chunks, png_chunks, text_parts
from alnus.phi_audit.scan import SHORTEST, Needle, PhiScanner, needles_scanners

__all__ = [
    "KEY_ENV_VAR",
    "SHORTEST",
    "Finding",
    "Needle",
    "PhiCollector",
    "PhiFound",
    "PhiScanner",
    "audit_tree",
    "collect_phi",
    "detail_lines",
    "failure_message",
    "metadata_chunks",
    "needles_scanners",
    "phi_audit_job",
    "png_chunks",
    "read_key",
    "run_audit",
    "scan_file",
    "text_parts",
]
