"""What the workflow checks when it starts, before it can plan a run: that
the configured manifests, images folders and readers' file exist.
Read by workflow/rules/common.smk at parse time, so it stays light (the
standard library only); everything that opens a manifest or an image is in
alnus.manifest and alnus.validate, which rule validate_inputs runs."""

from __future__ import annotations

from pathlib import Path


def missing_inputs(cohorts: dict[str, dict[str, str]], readers: str | None, *, generated=()) -> list[str]:
    """A message for each configured manifest, images folder or readers' file
    that does not exist, each naming the config key to fix; inputs under a
    prefix in `generated` (those a rule of the workflow writes, the demo's)
    are not asked for. What the workflow checks when it starts: without these
    files it cannot plan a run (common.smk: stop_on_missing_inputs)."""
    missing = []
    for cohort, paths in cohorts.items():
        for key, exists in (("manifest", Path(paths["manifest"]).is_file), ("images", Path(paths["images"]).is_dir)):
            if not exists() and not str(paths[key]).startswith(tuple(generated)):
                kind = "manifest" if key == "manifest" else "images folder"
                missing.append(
                    f"The {cohort} {kind} {paths[key]} does not exist; fix `cohorts: {cohort}: {key}` in the config."
                )
    if readers and not Path(readers).is_file() and not str(readers).startswith(tuple(generated)):
        missing.append(f"The readers file {readers} does not exist; fix `readers` in the config (or set it to null).")
    return missing
