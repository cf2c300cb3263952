"""Rule phi_audit: search every file under results/ for the inputs' identifying strings, and fail on identifying text read by OCR in the images."""

from alnus.logs import logged
from alnus.phi_audit import phi_audit_job
from alnus.validate import cohort_paths

with logged(snakemake.log[0]):
    phi_audit_job(
        cohort_paths(snakemake.input),
        summary_tsv=snakemake.output.summary,
        strings_tsv=snakemake.output.strings,
        key_file=snakemake.params.key_file,
        extra_file=snakemake.params.extra_strings,
        min_length=snakemake.params.min_length,
        min_digits=snakemake.params.min_digits,
        residual_text={
            k.removesuffix("_residual_text"): v for k, v in snakemake.input.items() if k.endswith("_residual_text")
        },
    )
