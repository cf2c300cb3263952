"""OCR residual-text audit: read every preprocessed image with an offline OCR
engine after annotation removal, and say which of the text read could
identify a patient.

The PHI audit's byte search (`alnus.phi_audit`) leaves pixels alone; this
module is its pixel half. Rule residual_text reads each cohort's images
(`audit_images`) into results/qc/{cohort}_residual_text.csv, and rule
phi_audit fails the run if any text there is identifying
(`residual_problems`).

The engine (`alnus.ocr_engine.build_engine`, kept apart so that rule
phi_audit, which only reads the tables, does not need it): RapidOCR
(rapidocr 3), PaddleOCR's PP-OCRv6 small text detector and recogniser run
by ONNX Runtime on the CPU, one thread. Its models ship inside the wheel
and nothing is downloaded at run time. It reads whole text lines (one box
each; rapidocr-onnxruntime 1.x, measured first, often dropped the spaces
between words: "MAMAESQUERDA"). Chosen over
Tesseract 5 on BUS-BRA: recall 0.92 against 0.38 of 95 hand-checked words,
no read on 40 clean simulated images against 103 (rapidocr-onnxruntime 1.4,
PP-OCRv4); rapidocr 3.10 as configured here: recall 0.96, one read on the
40 clean images (no failure), 0.38 s per image on a loaded 2-core machine
(docs/benchmarks.md, "OCR residual-text audit").

Identifying (`identifying_kind`), among the lines read with a confidence of
at least `min_confidence`; matching is case-insensitive:

* ``known``: any identifying string of the inputs (`alnus.phi_audit.collect_phi`'s
  needles: patient and study ids, DICOM names, ids and dates, source file and
  folder names), by the byte search's boundary rules, and again with the
  spaces taken out of both (the engine drops spaces);
* ``date``: day, month and year with / . or - between them (``12/03/2019``,
  ``2019-03-12``, ``12.03.19``), eight digits that read as a date from 1900 to
  2099 (``20190312``), and a day or year with a month name in English or
  Portuguese/Spanish (``12 MAR 2019``, ``MAR 2019``, ``12-FEV``);
* ``age``: a number of 1-3 digits followed by a word for years (``66 ANOS``,
  ``66ANOS``, ``45 Y``, ``45Y``, ``45 YRS``, ``45 YO``, ``45 AÑOS``) or preceded
  by a word for age (``AGE 52``, ``IDADE: 52``, ``EDAD 52``);
* ``id``: a run of at least `min_id_digits` digits (6) standing alone (not
  part of a decimal number such as ``0.123456``);
* ``name``: a word after a name label (``NAME``, ``NOME``, ``NOMBRE``,
  ``PATIENT``, ``PACIENTE``, ``PAC``, ``PT``, ``DR``, ``DRA``); two or more
  *unknown* words in a row (particles such as "da", "de", "van" between them
  allowed: "JOSE DA COSTA"); or one unknown word of at least
  `name_joined_letters` letters (8: a first and last name read without the
  space). A word is unknown if it is all letters, at least `name_min_letters` (3)
  long, and cannot be split into scanner words (`SCANNER_WORDS` and the
  config's `allowed_words`), where the line's first word may be cut at its
  start and its last word at its end (text the crop cut): "MARIA SILVA" and "MARIASILVA"
  are names, "MAMAESQUERDA", "QUERDA QII" and "RT BREAST" are not.

Words the scanners print that identify no one ("cm", "MHz", "GE", "MAMA
ESQUERDA", probe names, settings, measurements) are not identifying by these
rules. The text of an identifying line is never written (its kind is); the
rest is written as read, so that a reviewer can see what the engine saw.

Not covered: text smaller than about 6 px or as bright as the tissue around
it, a name of one short word without a label, a name that happens to split
into scanner words, and names in non-Latin scripts (the recogniser also
reads Chinese characters, and now and then sees one in speckle: such reads
are written to the table but never taken for a name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

COLUMNS = ["image", "text", "identifying", "confidence", "x", "y", "w", "h"]
# Words that scanners and sonographers print and that identify no one:
# anatomy and laterality (English, Portuguese, Spanish), views, units,
# settings, makers and models. Lower case.
SCANNER_WORDS = frozenset(
    """
mama direita esquerda dir esq axila axilar regiao retroareolar retro areolar periareolar
quadrante superior inferior lateral medial externo interno central mamilo pele nodulo cisto lesao
qse qsi qie qii qsl qsm qil qim qsup qinf qext qint uqinf uqsup uqqinf uqqsup uqqext uqqint uqqee uqqei
uqext uqint juxta justa justareolar uoq uiq loq liq ucq lcq sup inf ext int
breast left right rt lt br bil bilat axilla axillary nipple areola subareolar clock oclock cmfn fn cm mm
radial antirad antiradial trans transverse long longitudinal sag sagittal cor coronal obl oblique view
palpable lump mass cyst node nodes lymph lesion target marker mark
mama izquierda derecha izq der
hz khz mhz db gn gain dr fr dyn map mi tis tib tic thi hd res zoom depth focus freq pwr power
cine frame frames fps bpm vol acq persist persistence edge enhance comp harmonic harm crs sri srl xres
speckle compound spatial tissue elast elasto strain shear wave doppler color colour cfm pdi pw cw prf
wf sv ang angle scale bmode mode auto store print freeze live dist distance area circ length width height
ratio avg mean max min sum total ellipse trace caliper calipers measure
ge logiq voluson vivid toshiba aplio canon philips siemens acuson sequoia samsung medison esaote mindray
hitachi aloka fujifilm sonosite supersonic aixplorer usystems systems invenia abus sonora vistawave
linear convex sector probe transducer
""".split()
)
NAME_PARTICLES = frozenset({"da", "de", "do", "das", "dos", "di", "del", "van", "von", "le", "la", "e"})
NAME_LABELS = frozenset({"name", "nome", "nombre", "patient", "paciente", "pac", "pt", "dr", "dra", "pat"})
MONTHS = (
    "jan|feb|fev|mar|apr|abr|may|mai|jun|jul|aug|ago|sep|set|oct|out|nov|dec|dez|dic|ene|"
    "january|february|march|april|june|july|august|september|october|november|december|"
    "janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
)
DATE_PATTERNS = (
    re.compile(r"(?<![\d.])\d{1,2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?(?:\d{4}|\d{2})(?![\d.])"),
    re.compile(r"(?<![\d.])(?:19|20)\d{2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?\d{1,2}(?![\d.])"),
    re.compile(r"(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(rf"(?<![a-z])(?:\d{{1,2}}\s?[\s/.\-]\s?)?(?:{MONTHS})\.?\s?[\s/.\-,]\s?(?:\d{{4}}|\d{{2}})(?!\d)"),
    re.compile(rf"(?<!\d)\d{{1,2}}\s?[\s/.\-]\s?(?:{MONTHS})(?![a-z])"),
)
AGE_PATTERNS = (
    re.compile(r"(?<![\d.])\d{1,3}\s?(?:anos|ano|años|anos\.|y|yr|yrs|years?|yo|y/o|a\.)(?![a-z])"),
    re.compile(r"(?<![a-z])(?:age|idade|edad|alter)\s?[:=]?\s?\d{1,3}(?!\d)"),
)


@dataclass(frozen=True)
class Word:
    """One text box read: its text, box (x, y, w, h in the image's pixels)
    and confidence (0-1)."""

    text: str
    x: int
    y: int
    w: int
    h: int
    confidence: float


@dataclass(frozen=True)
class AuditSettings:
    """The audit's knobs (config `privacy: phi_audit: ocr:`; defaults in the schema)."""

    min_confidence: float = 0.7
    min_id_digits: int = 6
    name_min_letters: int = 3
    name_joined_letters: int = 8
    allowed_words: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_config(cls, ocr: dict) -> AuditSettings:
        """From the validated config section `privacy.phi_audit.ocr`."""
        return cls(
            min_confidence=float(ocr["min_confidence"]),
            min_id_digits=int(ocr["min_id_digits"]),
            name_min_letters=int(ocr["name_min_letters"]),
            name_joined_letters=int(ocr["name_joined_letters"]),
            allowed_words=frozenset(w.lower() for w in ocr["allowed_words"]),
        )


# ---------------------------------------------------------------- identifying
def _fold(text: str) -> str:
    return text.lower().translate(str.maketrans("ñçãáàâéêíóôõú", "ncaaaaeeiooou"))


@lru_cache(maxsize=8)
def _vocabulary(extra: frozenset[str]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(words, their prefixes, their suffixes), prefixes and suffixes of 2 letters or more."""
    words = SCANNER_WORDS | extra
    prefixes = frozenset(w[:k] for w in words for k in range(2, len(w)))
    suffixes = frozenset(w[-k:] for w in words for k in range(2, len(w)))
    return words, prefixes, suffixes


def scanner_word(token: str, settings: AuditSettings, *, cut_start: bool = False, cut_end: bool = False) -> bool:
    """Whether `token` (letters, folded) splits into scanner words; with
    `cut_start` the first may be cut at its start, with `cut_end` the last
    at its end (the first and last word of a line: text the crop cut)."""
    words, prefixes, suffixes = _vocabulary(settings.allowed_words)
    n = len(token)
    reach = [False] * (n + 1)
    reach[0] = True
    for i in range(n):
        if not reach[i]:
            continue
        for j in range(i + 1, n + 1):
            piece = token[i:j]
            if (
                piece in words
                or (cut_start and i == 0 and piece in suffixes)
                or (cut_end and j == n and piece in prefixes)
            ):
                reach[j] = True
    return reach[n]


def _unknown(token: str, settings: AuditSettings, **cut) -> bool:
    return token.isalpha() and len(token) >= settings.name_min_letters and not scanner_word(token, settings, **cut)


def identifying_kind(text: str, *, settings: AuditSettings = AuditSettings(), scanners=None) -> str:
    """The kind of identifying content in one line of text read, "" if none.

    Parameters
    ----------
    text : one line (text box) as the engine read it.
    settings : AuditSettings
    scanners : (exact, squeezed) from `alnus.phi_audit.needles_scanners`, or None (kind
        "known" is then not looked for).

    Returns
    -------
    "known", "date", "age", "id", "name" (module docstring) or "".
    """
    folded = _fold(text)
    if scanners is not None:
        exact, squeezed = scanners
        if exact.scan(folded.encode("utf-8", "replace")) or squeezed.scan(
            re.sub(r"\s+", "", folded).encode("utf-8", "replace")
        ):
            return "known"
    if any(p.search(folded) for p in DATE_PATTERNS):
        return "date"
    if any(p.search(folded) for p in AGE_PATTERNS):
        return "age"
    if re.search(rf"(?<![\d.,])\d{{{settings.min_id_digits},}}(?!\d|[.,]\d)", folded):
        return "id"
    tokens = re.findall(r"[a-z\u00df-\u00ff]+|\d+", folded)  # Latin letters: the recogniser also knows Chinese
    run = 0
    for k, token in enumerate(tokens):
        if token in NAME_LABELS and k + 1 < len(tokens) and tokens[k + 1].isalpha():
            if not scanner_word(tokens[k + 1], settings):
                return "name"
        if _unknown(token, settings, cut_start=k == 0, cut_end=k == len(tokens) - 1):
            run += 1
            if run >= 2 or len(token) >= settings.name_joined_letters:
                return "name"
        elif token not in NAME_PARTICLES:
            run = 0
    return ""


# ---------------------------------------------------------------- auditing
def read_image(engine, image_id: str, pixels: np.ndarray, *, settings: AuditSettings, scanners=None) -> pd.DataFrame:
    """Rows of COLUMNS for one image: each text box read with a confidence
    of at least `settings.min_confidence`, the text of identifying ones left
    empty; one row with empty text and box when nothing was read."""
    rows = []
    for word in engine.read(pixels):
        if word.confidence < settings.min_confidence:
            continue
        kind = identifying_kind(word.text, settings=settings, scanners=scanners)
        rows.append(
            {
                "image": image_id,
                "text": "" if kind else word.text,
                "identifying": kind,
                "confidence": round(word.confidence, 3),
                "x": word.x,
                "y": word.y,
                "w": word.w,
                "h": word.h,
            }
        )
    if not rows:
        rows = [{"image": image_id, "text": "", "identifying": ""}]
    return pd.DataFrame(rows, columns=COLUMNS)


def audit_images(
    folder: str | Path,
    *,
    engine,
    settings: AuditSettings = AuditSettings(),
    scanners=None,
) -> pd.DataFrame:
    """Read every PNG in `folder` (results/preprocessed/{cohort}/images).

    Parameters
    ----------
    folder : folder of 8-bit grayscale PNGs, named by pseudonym.
    engine : from `alnus.ocr_engine.build_engine`.
    settings : AuditSettings
    scanners : `alnus.phi_audit.needles_scanners` of the inputs' identifying strings.

    Returns
    -------
    DataFrame with COLUMNS: `image` (the file's stem), `text` (empty
    where `identifying` names a kind: identifying text is never written),
    `confidence` (0-100) and the box `x`, `y`, `w`, `h` in the image's pixels.
    Every image has at least one row.

    Raises
    ------
    ValueError
        If `folder` holds no PNG, or one cannot be read.
    """
    paths = sorted(Path(folder).glob("*.png"))
    if not paths:
        raise ValueError(f"The OCR audit found no PNG image in {folder}")
    tables = []
    for path in paths:
        pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if pixels is None:
            raise ValueError(f"The OCR audit cannot read {path}: delete it and rerun rule preprocess")
        tables.append(read_image(engine, path.stem, pixels, settings=settings, scanners=scanners))
    return pd.concat(tables, ignore_index=True)


def residual_problems(tables: dict[str, str | Path]) -> list[str]:
    """Problems for the PHI audit's message: one line per image of each
    residual-text CSV (`audit_images`'s table, by cohort) with identifying
    text, naming the image and the kinds, never the text."""
    problems = []
    for cohort, path in tables.items():
        table = pd.read_csv(path, dtype={"image": str, "identifying": str}, keep_default_na=False)
        found = table[table["identifying"] != ""]
        for image, rows in found.groupby("image", sort=True):
            kinds = ", ".join(sorted(set(rows["identifying"])))
            problems.append(
                f"results/preprocessed/{cohort}/images/{image}.png: burned-in text of kind {kinds} "
                f"(OCR, {path}); the crop or the annotation removal left it: check the image, then "
                f"fix the crop (preprocess.crop), add ocr_text to preprocess.annotations.kinds (OCR "
                f"in preprocessing: the text read is inpainted), or remove the image from the "
                f"manifest, and rerun"
            )
    return problems


def worst_images(table: pd.DataFrame, n: int = 8) -> list[str]:
    """The `n` images to show: those with identifying text first, then by
    the number of words read and their highest confidence."""
    read = table[table["confidence"].notna() & (table["confidence"].astype(str) != "")].copy()
    if read.empty:
        return []
    read["confidence"] = read["confidence"].astype(float)
    score = read.groupby("image").agg(
        identifying=("identifying", lambda k: int((k != "").sum())), words=("text", "size"), best=("confidence", "max")
    )
    return list(score.sort_values(["identifying", "words", "best"], ascending=False).index[:n])


def residual_figure(table: pd.DataFrame, folder: str | Path, *, n: int = 8):
    """A matplotlib figure of the `n` worst images (`worst_images`) with the
    boxes of the words read: identifying words blacked out (the figure goes
    into the report) and labelled with their kind, the others outlined and
    labelled with their text. An image-free note when nothing was read."""
    images = worst_images(table, n)
    cols = min(4, max(1, len(images)))
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if not images:
        axes[0, 0].text(0.5, 0.5, "No text read in any image", ha="center", va="center")
        return fig
    for ax, image in zip(axes.flat, images):
        pixels = cv2.imread(str(Path(folder) / f"{image}.png"), cv2.IMREAD_GRAYSCALE)
        ax.imshow(pixels, cmap="gray", vmin=0, vmax=255)
        words = table[(table["image"] == image) & table["confidence"].notna()]
        for word in words.itertuples():
            x, y, w, h = (int(float(v)) for v in (word.x, word.y, word.w, word.h))
            kind = word.identifying if isinstance(word.identifying, str) else ""
            ax.add_patch(
                plt.Rectangle((x - 1, y - 1), w + 2, h + 2, fill=bool(kind), color="black" if kind else "red", lw=1)
            )
            label = f"[{kind}]" if kind else re.sub(r"[^\x20-\x7e\u00a0-\u00ff]", "?", str(word.text))
            ax.text(x, y - 2, label, color="yellow" if kind else "red", fontsize=6)
        ax.set_title(f"{image}: {len(words)} word(s)", fontsize=7)
    fig.tight_layout()
    return fig
