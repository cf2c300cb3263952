"""The audit of results/: every file searched for the inputs' identifying strings, and the messages of a failure."""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from alnus.ocr_audit import residual_problems
from alnus.phi_audit.collect import collect_phi, read_key
from alnus.phi_audit.parts import metadata_chunks, text_parts
from alnus.phi_audit.scan import PhiScanner

log = logging.getLogger(__name__)


class PhiFound(RuntimeError):
    """PHI strings were found under results/; the message names files and kinds only."""


@dataclass(frozen=True)
class Finding:
    path: str
    kind: str
    offset: int
    text: bytes
    where: str = ""  # "", "file name", "PNG zTXt chunk", "PDF stream", "zip member NAME"


def audit_tree(
    root: str | Path, scanner: PhiScanner, *, exclude: Iterable[str | Path] = ()
) -> tuple[pd.DataFrame, list[Finding]]:
    """Search every file under `root` (contents and path) with `scanner`.

    Parameters
    ----------
    root : folder to audit (results/).
    scanner : PhiScanner built from `collect_phi`'s needles.
    exclude : files not to read (the audit's own outputs).

    Returns
    -------
    (summary, findings): summary has one row per folder directly holding
    files (folder, files, bytes, findings) and a last row "total"; findings
    name the file and the kind of each match.
    """
    root = Path(root)
    skip = {Path(p).resolve() for p in exclude}
    per_folder: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    findings: list[Finding] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.resolve() in skip:
            continue
        shown = path.as_posix()
        found = [
            Finding(shown, n.kind, at, n.text, "file name")
            for at, n in scanner.scan(path.relative_to(root).as_posix().encode())
        ]
        found += scan_file(path, scanner)
        folder = path.parent.as_posix()
        per_folder[folder][0] += 1
        per_folder[folder][1] += path.stat().st_size
        per_folder[folder][2] += len(found)
        findings += found
    rows = [{"folder": k, "files": v[0], "bytes": v[1], "findings": v[2]} for k, v in sorted(per_folder.items())]
    total = {
        "folder": "total",
        "files": sum(r["files"] for r in rows),
        "bytes": sum(r["bytes"] for r in rows),
        "findings": len(findings),
    }
    return pd.DataFrame(rows + [total], columns=["folder", "files", "bytes", "findings"]), findings


def scan_file(path: str | Path, scanner: PhiScanner) -> list[Finding]:
    """Matches in the parts of one file that can carry text (`text_parts`).

    A file of a known binary format (PNG, .npy, safetensors, zip/.npz/torch
    checkpoint, PDF) is searched in its text-bearing parts only; a file of
    any other kind, or one whose structure does not parse, is searched
    whole, byte by byte.
    """
    path = Path(path)
    shown = path.as_posix()
    parts = text_parts(path)
    if parts is None:
        with open(path, "rb") as handle:
            return [Finding(shown, n.kind, at, n.text) for at, n in scanner.scan_stream(handle)]
    return [Finding(shown, n.kind, at, n.text, where) for where, data in parts for at, n in scanner.scan(data)]


def run_audit(
    cohorts: dict[str, dict[str, str]],
    results: str | Path = "results",
    *,
    key: bytes | None = None,
    extra_file: str | Path | None = None,
    min_length: int = 5,
    min_digits: int = 6,
    exclude: Iterable[str | Path] = (),
    residual_text: dict[str, str | Path] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Finding], list[str]]:
    """The whole audit of `results`.

    `residual_text` (cohort -> results/qc/{cohort}_residual_text.csv, rule
    residual_text's OCR of the preprocessed images) adds the pixels' half:
    each image with identifying text read is a problem
    (`alnus.ocr_audit.residual_problems`).

    Returns
    -------
    (summary, strings, findings, problems): per-folder counts (`audit_tree`),
    per-kind counts of the strings searched (`collect_phi`), the matches, and
    other problems: preprocessed PNGs with metadata chunks, key files
    (``*.key``) under `results`, and images with identifying text read by OCR.
    """
    needles, strings = collect_phi(
        cohorts, key=key, extra_file=extra_file, min_length=min_length, min_digits=min_digits
    )
    summary, findings = audit_tree(results, PhiScanner(needles), exclude=exclude)
    results = Path(results)
    problems = metadata_chunks(results / "preprocessed") if (results / "preprocessed").is_dir() else []
    problems = [f"{p} (PNG metadata chunks; preprocessed images must carry pixels only)" for p in problems]
    problems += [f"{p.as_posix()}: a key file under results/" for p in sorted(results.rglob("*.key"))]
    if residual_text:
        problems += residual_problems(residual_text)
    return summary, strings, findings, problems


def failure_message(findings: list[Finding], problems: Iterable[str] = (), *, limit: int = 50) -> str:
    """The error for results/ and logs: files and kinds, never the strings."""
    problems = list(problems)
    lines = [
        f"PHI audit failed: {len(findings)} identifying string(s) of the inputs found under results/"
        + (f", and {len(problems)} other problem(s)" if problems else "")
        + ":"
    ]
    for f in findings[:limit]:
        where = f" ({f.where})" if f.where else ""
        lines.append(f"  - {f.path}{where}: {f.kind} at byte {f.offset}")
    if len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more")
    lines += [f"  - {p}" for p in problems[:limit]]
    if findings:
        lines.append(
            "Find what wrote it (a column copied from the manifest, a DICOM value, a source file name), "
            "fix it, delete the file and rerun. The strings themselves are printed above, on the "
            "terminal only."
        )
    return "\n".join(lines)


def detail_lines(findings: list[Finding], *, limit: int = 50) -> list[str]:
    """The same list with the matched strings, for the terminal only."""
    return [
        f"{f.path}{' (' + f.where + ')' if f.where else ''}: {f.kind} = {f.text.decode('utf-8', 'replace')!r}"
        for f in findings[:limit]
    ]


def phi_audit_job(
    cohorts: dict[str, dict[str, str]],
    *,
    summary_tsv: str | Path,
    strings_tsv: str | Path,
    key_file: str | Path,
    extra_file: str | Path | None = None,
    min_length: int = 5,
    min_digits: int = 6,
    residual_text: dict[str, str | Path] | None = None,
) -> None:
    """Rule phi_audit: audit results/ (the folder above results/qc/, where
    `summary_tsv` lies), log what was searched, and write the two tables, or fail.

    Parameters
    ----------
    cohorts : cohort -> {"manifest": path, "images": folder}.
    summary_tsv, strings_tsv : the outputs (results/qc/...): the per-folder
        counts and the per-kind counts of the strings searched; never read
        by the audit itself.
    key_file : the pseudonym key's file (`read_key`; the environment
        variable goes first).
    extra_file, min_length, min_digits, residual_text : as `run_audit`.

    Raises
    ------
    PhiFound
        Naming files and kinds only, when an identifying string or another
        problem is found; the strings themselves go to stderr (the terminal)
        alone, and no table is written.
    """
    start = time.perf_counter()
    summary, strings, findings, problems = run_audit(
        cohorts,
        Path(summary_tsv).parents[1],
        key=read_key(key_file),
        extra_file=extra_file,
        min_length=min_length,
        min_digits=min_digits,
        exclude=[summary_tsv, strings_tsv],
        residual_text=residual_text,
    )
    total = summary.iloc[-1]
    log.info(
        "searched %d files, %d bytes, for %d strings in %.1f s: %d findings, %d other problems",
        total["files"],
        total["bytes"],
        strings["searched"].sum(),
        time.perf_counter() - start,
        len(findings),
        len(problems),
    )
    if findings or problems:
        print(
            "\n".join(["PHI audit findings (shown here only, never written to a file):", *detail_lines(findings)]),
            file=sys.stderr,
        )
        raise PhiFound(failure_message(findings, problems))
    summary.to_csv(summary_tsv, sep="\t", index=False)
    strings.to_csv(strings_tsv, sep="\t", index=False)
