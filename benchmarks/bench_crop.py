"""Crop accuracy of rule preprocess on synthetic scanner screens (issue 3).

    python benchmarks/bench_crop.py                       # 300 screens, the issue's size
    python benchmarks/bench_crop.py --quick --cores 1     # 20 screens, a smoke run
    python benchmarks/bench_crop.py --keep /tmp/crop      # keep screens, results and worst-case drawings
    python benchmarks/bench_crop.py --simulate            # paste simulated B-mode images instead

Real B-mode images (BUS-BRA's Images/ when ../shared/data/bus-bra is there,
else images simulated by alnus.simulate) are scaled (0.6-1.4x) and pasted at a
random place into synthetic scanner screens: a black, dark, mid-grey or
gradient UI with fake PHI burned into the margins (name, id, birth date,
institution, exam date, accession), a depth ruler whose ticks touch the image,
a logo box just above it, settings text beside it, a label line below it and
sometimes a colour bar. Screens alternate PNG, DICOM with a Sequence of
Ultrasound Regions (the crop then comes from it), PNG, DICOM without one (image
analysis, as for PNG); DICOM headers carry the same fake PHI. PNG screens form
cohort `development`, DICOM screens `external`. The real rule preprocess runs
on them through Snakemake, and the crop of each screen (private/{cohort}/
linkage.csv) is compared with the true image region by intersection over union.

PHI: results/ is searched byte by byte with alnus.phi_audit (manifest ids,
DICOM headers, source file names, pseudonym key, plus every burned-in string
in its on-screen spelling); "PHI text in crop" counts screens whose crop
overlaps any burned-in PHI text line. Goal: IoU >= 0.98 for at least 98% of
screens of each kind, and 0 in both PHI columns. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import yaml
from pydicom.uid import generate_uid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from alnus.imageio import read_image  # noqa: E402
from alnus.phi_audit import read_key, run_audit  # noqa: E402
from alnus.simulate import (
    FAMILY_NAMES,
    GIVEN_NAMES,
    SITES,
    SONOGRAPHERS,
    STAFF_NAMES,
    Exam,  # noqa: E402
    render_bmode,
    sample_lesion,
    write_dicom,
    write_screenshot,
)

BUS_BRA = ROOT.parent / "shared" / "data" / "bus-bra" / "Images"
KINDS = ("PNG", "DICOM with regions", "PNG", "DICOM without regions")  # screen i gets KINDS[i % 4]
INSTITUTIONS = ("HOSPITAL SAO LUCAS DA AURORA", "NORTHBRIDGE WOMENS MEDICAL CENTER", "ST AGATHA BREAST CLINIC")
FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_COLOURS = ((230, 230, 230), (255, 255, 255), (240, 220, 90), (120, 200, 235))


def source_image(rng: np.random.Generator, paths: list[Path], label: int) -> np.ndarray:
    """A grey B-mode image, (h, w) uint8: a random file of `paths`, else simulated."""
    if paths:
        return cv2.imread(str(paths[rng.integers(len(paths))]), cv2.IMREAD_GRAYSCALE)
    size = (int(rng.integers(320, 440)), int(rng.integers(260, 360)))
    return render_bmode(rng, sample_lesion(rng, label), size).pixels


def fake_exam(rng: np.random.Generator, index: int) -> Exam:
    """A fake patient and exam; the id holds the screen index, so ids are unique."""
    exam_date = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3000)))
    return Exam(
        patient_id=f"PT{index:04d}{rng.integers(10**4, 10**5)}",
        family=str(rng.choice(FAMILY_NAMES)),
        given=str(rng.choice(GIVEN_NAMES)),
        institution=str(rng.choice(INSTITUTIONS)),
        birth_date=exam_date - dt.timedelta(days=int(rng.integers(30 * 365, 80 * 365))),
        accession=f"ACC{rng.integers(10**7, 10**8)}",
        exam_date=exam_date,
        exam_time=f"{rng.integers(7, 19):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}",
        physician=str(rng.choice(STAFF_NAMES)),
        operator=str(rng.choice(SONOGRAPHERS)),
        laterality=str(rng.choice(["L", "R"])),
        clock=int(rng.integers(1, 13)),
        depth_cm=4.0,
    )


def phi_lines(exam: Exam) -> list[str]:
    """The PHI burned into a screen, as it appears there: name, id, birth date
    (top left), institution, exam date (top right), accession (bottom right)."""
    return [
        f"{exam.family}, {exam.given}",
        f"ID: {exam.patient_id}",
        f"DOB: {exam.birth_date:%d/%m/%Y}",
        exam.institution,
        f"{exam.exam_date:%d-%b-%Y}".upper() + f" {exam.exam_time}",
        f"ACC {exam.accession}",
    ]


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """An RGB UI background: black, dark grey, mid grey or a grey gradient, maybe with a header band."""
    style = rng.choice(["black", "dark", "mid", "gradient"])
    if style == "gradient":
        ramp = np.linspace(rng.integers(0, 30), rng.integers(40, 100), height if rng.random() < 0.5 else width)
        grey = np.broadcast_to(ramp[:, None] if len(ramp) == height else ramp[None, :], (height, width))
    else:
        low, high = {"black": (0, 6), "dark": (15, 45), "mid": (60, 110)}[style]
        grey = np.full((height, width), rng.integers(low, high))
    screen = np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    if rng.random() < 0.3:
        screen[: rng.integers(20, 60)] = rng.integers(10, 80)
    return screen


def text(screen, line, org, colour, scale=0.45) -> tuple[int, int, int, int]:
    """Draw `line` with its baseline-left corner at `org`; return its box (x0, y0, x1, y1) inclusive."""
    (w, h), base = cv2.getTextSize(line, FONT, scale, 1)
    cv2.putText(screen, line, (int(org[0]), int(org[1])), FONT, scale, colour, 1, cv2.LINE_AA)
    return int(org[0]), int(org[1]) - h - 1, int(org[0]) + w, int(org[1]) + base


def draw_ui(rng, screen, box, exam) -> list[tuple[int, int, int, int]]:
    """Burn UI and PHI around the image at `box`; return the PHI text boxes."""
    x0, y0, x1, y1 = box
    height, width = screen.shape[:2]
    colour = TEXT_COLOURS[rng.integers(len(TEXT_COLOURS))]
    lines = phi_lines(exam)
    boxes = [text(screen, line, (8, 18 * (i + 1)), colour) for i, line in enumerate(lines[:3])]
    for i, line in enumerate(lines[3:5]):
        w = cv2.getTextSize(line, FONT, 0.45, 1)[0][0]
        boxes.append(text(screen, line, (width - w - 8, 18 * (i + 1)), colour))
    w = cv2.getTextSize(lines[5], FONT, 0.4, 1)[0][0]
    boxes.append(text(screen, lines[5], (width - w - 8, height - 8), colour, 0.4))
    ruler_right = rng.random() < 0.7
    depth_ruler(rng, screen, box, colour, right=ruler_right)
    logo_x = x0 + int(rng.integers(0, max(1, x1 - x0 - 60)))  # a logo box 2-6 px above the image
    gap = int(rng.integers(2, 7))
    cv2.rectangle(screen, (logo_x, y0 - gap - 18), (logo_x + 56, y0 - gap), colour, -1)
    text(screen, "SONORA", (logo_x + 3, y0 - gap - 5), (20, 20, 20), 0.35)
    side_x = x1 + 6 if not ruler_right else None  # settings text on the side without the ruler
    for i, line in enumerate(("GAIN 52", "DR 60", "FR 28Hz", "L12-5")):
        w = cv2.getTextSize(line, FONT, 0.35, 1)[0][0]
        x = side_x if side_x is not None else x0 - w - int(rng.integers(3, 10))
        text(screen, line, (x, y0 + 20 + 16 * i), colour, 0.35)
    text(
        screen,
        f"{'RT' if exam.laterality == 'R' else 'LT'} BREAST {exam.clock}H 3CM FN",
        (x0 + 4, y1 + 4 + int(rng.integers(10, 14))),
        colour,
        0.4,
    )
    if rng.random() < 0.4:
        colour_bar(rng, screen, box, right=ruler_right)
    return boxes


def depth_ruler(rng, screen, box, colour, *, right: bool) -> None:
    """A depth ruler beside the image: a line 7-10 px away, ticks from it to the image edge, cm labels."""
    x0, y0, x1, y1 = box
    edge = x1 + 1 if right else x0 - 1
    step = 1 if right else -1
    line_x = edge + step * int(rng.integers(7, 11))
    cv2.line(screen, (line_x, y0), (line_x, y1), colour, 1)
    per_cm = (y1 - y0) / 4.0
    for k in range(9):  # every half cm; whole cm reach the image
        y = int(round(y0 + k * per_cm / 2))
        cv2.line(screen, (edge if k % 2 == 0 else line_x - 3 * step, y), (line_x, y), colour, 1)
        if k % 2 == 0 and k:
            text(screen, str(k // 2), (line_x + 4 if right else line_x - 12, y + 4), colour, 0.35)


def colour_bar(rng, screen, box, *, right: bool) -> None:
    """A grey or colour-mapped gray-scale bar 30-45 px beside the image, on the ruler's side."""
    x0, y0, x1, y1 = box
    bar_w, bar_h = int(rng.integers(10, 15)), (y1 - y0) // 2
    ramp = np.repeat(np.linspace(255, 0, bar_h).astype(np.uint8)[:, None], bar_w, axis=1)
    bar = cv2.applyColorMap(ramp, cv2.COLORMAP_JET)[..., ::-1] if rng.random() < 0.5 else np.dstack([ramp] * 3)
    gap = int(rng.integers(30, 46))
    x = x1 + gap if right else x0 - gap - bar_w
    screen[y0 + 10 : y0 + 10 + bar_h, x : x + bar_w] = bar


def make_screen(rng, image, exam) -> tuple[np.ndarray, tuple[int, int, int, int], list]:
    """Paste `image` (scaled 0.6-1.4x) into a new screen; return (RGB screen, true box, PHI boxes)."""
    scale = rng.uniform(0.6, 1.4)
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    h, w = image.shape
    left, right = int(rng.integers(80, 240)), int(rng.integers(100, 240))
    top, bottom = int(rng.integers(95, 160)), int(rng.integers(35, 110))
    screen = background(rng, top + h + bottom, left + w + right)
    screen[top : top + h, left : left + w] = image[..., None]
    box = (left, top, left + w - 1, top + h - 1)
    return screen, box, draw_ui(rng, screen, box, exam)


def write_screen(path: Path, screen: np.ndarray, exam: Exam, box, kind: str, *, grey: bool, seed: int) -> None:
    """Write an RGB screen as PNG or DICOM, in colour or converted to grey."""
    pixels = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY) if grey else screen
    if kind == "PNG":
        write_screenshot(path, pixels)
        return
    uids = tuple(generate_uid(entropy_srcs=[str(seed), path.name, part]) for part in ("study", "series", "sop"))
    ds = write_dicom(
        path,
        pixels,
        exam,
        region=box,
        delta_cm=exam.depth_cm / (box[3] - box[1] + 1),
        site=SITES["hospital_A"],
        uids=uids,
    )
    if kind == "DICOM without regions":
        del ds.SequenceOfUltrasoundRegions
        ds.save_as(path, enforce_file_format=True)


def make_study(work: Path, n: int, seed: int, images: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    """Write n screens, two manifests and a config; return the truth table and every PHI string."""
    rng = np.random.default_rng(seed)
    rows, phi = [], []
    for i in range(n):
        kind, exam = KINDS[i % 4], fake_exam(rng, i)
        cohort = "development" if kind == "PNG" else "external"
        name = f"{exam.family}_{exam.given}_{exam.patient_id}.{'png' if kind == 'PNG' else 'dcm'}"
        screen, box, phi_boxes = make_screen(rng, source_image(rng, images, i % 2), exam)
        write_screen(work / "input" / cohort / name, screen, exam, box, kind, grey=rng.random() < 0.5, seed=seed)
        rows.append(
            {
                "image": name,
                "patient_id": exam.patient_id,
                "cohort": cohort,
                "kind": kind,
                "true": box,
                "phi_boxes": phi_boxes,
            }
        )
        phi += [
            *phi_lines(exam),
            exam.family,
            exam.given,
            exam.patient_id,
            f"{exam.birth_date:%d/%m/%Y}",
            f"{exam.exam_date:%d-%b-%Y}".upper(),
            exam.accession,
            name,
            Path(name).stem,
        ]
    truth = pd.DataFrame(rows)
    cohorts = {}
    for cohort, group in truth.groupby("cohort"):
        manifest = group[["image", "patient_id"]].assign(label=np.arange(len(group)) % 2)
        manifest.to_csv(work / "input" / f"{cohort}.csv", index=False)
        cohorts[cohort] = {"manifest": str(work / "input" / f"{cohort}.csv"), "images": str(work / "input" / cohort)}
    (work / "config.yaml").write_text(yaml.safe_dump({"cohorts": cohorts, "seed": seed}))
    return truth, sorted(set(phi))


def run_preprocess(work: Path, cores: int) -> float:
    """Run the real rules validate_inputs and preprocess on the study; return the wall time."""
    targets = [
        f"{d}/{c}/{f}"
        for c in ("development", "external")
        for d, f in (("private", "linkage.csv"), ("results/preprocessed", "manifest.csv"))
    ]
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(work / "config.yaml"),
        "--directory",
        str(work),
        "--cores",
        str(cores),
        *targets,
    ]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (work / "snakemake.log").write_text(run.stdout + run.stderr)
    if run.returncode:
        sys.exit(f"snakemake failed (log: {work / 'snakemake.log'}):\n{run.stderr[-3000:]}")
    return seconds


def iou(a, b) -> float:
    """Intersection over union of two inclusive boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0]) + 1
    h = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(0, w) * max(0, h)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def score(work: Path, truth: pd.DataFrame) -> pd.DataFrame:
    """Truth joined with the linkage tables: found box, crop method, IoU, PHI text inside the crop."""
    linkage = pd.concat(
        [
            pd.read_csv(work / f"private/{c}/linkage.csv", dtype={"id": str, "crop_note": str}).assign(cohort=c)
            for c in ("development", "external")
        ]
    )
    table = truth.merge(linkage, on=["cohort", "image"], validate="1:1")
    table["found"] = [
        (int(r.crop_x), int(r.crop_y), int(r.crop_x + r.crop_w - 1), int(r.crop_y + r.crop_h - 1))
        for r in table.itertuples()
    ]
    table["iou"] = [iou(t, f) for t, f in zip(table["true"], table["found"])]
    table["phi_in_crop"] = [any(iou(p, f) > 0 for p in boxes) for boxes, f in zip(table["phi_boxes"], table["found"])]
    return table


def phi_hits(work: Path, table: pd.DataFrame, strings: list[str]) -> pd.Series:
    """Findings of alnus.phi_audit under results/, per kind of screen (files not of one screen: 'other')."""
    (work / "phi_strings.txt").write_text("\n".join(strings) + "\n")
    cohorts = {
        c: {"manifest": str(work / f"input/{c}.csv"), "images": str(work / f"input/{c}")}
        for c in ("development", "external")
    }
    _, _, findings, problems = run_audit(
        cohorts, work / "results", key=read_key(work / "private/pseudonym.key"), extra_file=work / "phi_strings.txt"
    )
    kind_of = dict(zip(table["id"], table["kind"]))
    kinds = [kind_of.get(Path(f.path).stem, "other") for f in findings] + ["other"] * len(problems)
    for f in findings[:10]:
        print(f"PHI found: {f.path} {f.where} {f.kind}", file=sys.stderr)
    return pd.Series(kinds, dtype=object).value_counts()


def summary(table: pd.DataFrame, hits: pd.Series) -> None:
    """Print the Markdown table by kind of screen."""
    print(
        "| screens | n | IoU median | IoU 5th pct | IoU min | IoU >= 0.98 | crop methods | PHI text in crop "
        "| PHI hits in results/ |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    groups = [(k, table[table["kind"] == k]) for k in dict.fromkeys(KINDS)] + [("all", table)]
    for kind, rows in groups:
        if rows.empty:
            continue
        methods = ", ".join(f"{m} {c}" for m, c in rows["crop_method"].value_counts().items())
        found = int(hits.sum()) if kind == "all" else int(hits.get(kind, 0))
        print(
            f"| {kind} | {len(rows)} | {rows['iou'].median():.4f} | {np.percentile(rows['iou'], 5):.4f} "
            f"| {rows['iou'].min():.4f} | {(rows['iou'] >= 0.98).mean():.1%} | {methods} "
            f"| {int(rows['phi_in_crop'].sum())} | {found} |"
        )


def worst(table: pd.DataFrame, work: Path, keep: bool, count: int = 5) -> None:
    """Print the `count` screens of lowest IoU; with --keep, draw them (true box green, found red)."""
    rows = table.sort_values("iou").head(count)
    print(f"\nWorst {len(rows)} screens:\n\n| file | kind | IoU | true box | found box | crop method | note |")
    print("|---|---|---|---|---|---|---|")
    for rank, r in enumerate(rows.itertuples(), 1):
        print(
            f"| {r.image} | {r.kind} | {r.iou:.4f} | {r.true} | {r.found} | {r.crop_method} "
            f"| {r.crop_note if isinstance(r.crop_note, str) else ''} |"
        )
        if keep:
            picture = cv2.cvtColor(read_image(work / "input" / r.cohort / r.image).pixels, cv2.COLOR_GRAY2BGR)
            for (x0, y0, x1, y1), colour in ((r.true, (0, 255, 0)), (r.found, (0, 0, 255))):
                cv2.rectangle(picture, (int(x0), int(y0)), (int(x1), int(y1)), colour, 1)
            (work / "worst").mkdir(exist_ok=True)
            cv2.imwrite(str(work / "worst" / f"{rank}_{Path(r.image).stem}.png"), picture)
    if keep:
        print(f"\nDrawings (true box green, found box red): {work / 'worst'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="screens (default 300)")
    parser.add_argument("--quick", action="store_true", help="20 screens, a smoke run")
    parser.add_argument(
        "--images",
        type=Path,
        default=BUS_BRA if BUS_BRA.is_dir() else None,
        help="folder of B-mode images to paste (default BUS-BRA's Images/ if present, else simulated)",
    )
    parser.add_argument("--simulate", action="store_true", help="paste simulated images even if --images is set")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()
    n = 20 if args.quick else args.n
    folder = None if args.simulate else args.images
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp")) if folder else []
    with tempfile.TemporaryDirectory() as tmp:
        work = (args.keep or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        truth, strings = make_study(work, n, args.seed, images)
        seconds = run_preprocess(work, args.cores)
        table = score(work, truth)
        hits = phi_hits(work, table, strings)
        source = f"{len(images)} images of {args.images}" if images else "simulated B-mode images"
        print(f"Crop accuracy of rule preprocess: {n} screens, {source}, seed {args.seed}\n")
        summary(table, hits)
        print(
            f"\nPreprocessing (snakemake, --cores {args.cores}, validate_inputs included): {seconds:.1f} s, "
            f"{n / seconds:.1f} images/s"
        )
        worst(table, work, bool(args.keep))


if __name__ == "__main__":
    main()
