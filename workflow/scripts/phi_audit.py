"""Rule phi_audit: search every file under results/ for the inputs' identifying strings, and fail on identifying text read by OCR in the images."""

import sys
import time
from pathlib import Path

from alnus.logs import logged
from alnus.phi_audit import PhiFound, detail_lines, failure_message, read_key, run_audit
from alnus.validate import cohort_paths

with logged(snakemake.log[0]) as log:
    start = time.perf_counter()
    summary, strings, findings, problems = run_audit(
        cohort_paths(snakemake.input),
        Path(snakemake.output.summary).parents[1],  # results/, above results/qc/
        key=read_key(snakemake.params.key_file),
        extra_file=snakemake.params.extra_strings,
        min_length=snakemake.params.min_length,
        min_digits=snakemake.params.min_digits,
        exclude=list(snakemake.output),
        residual_text={
            k[: -len("_residual_text")]: v for k, v in snakemake.input.items() if k.endswith("_residual_text")
        },
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
    summary.to_csv(snakemake.output.summary, sep="\t", index=False)
    strings.to_csv(snakemake.output.strings, sep="\t", index=False)
