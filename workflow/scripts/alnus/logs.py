"""Logging for the entry scripts: everything to the rule's log file, and a
failure's message to the terminal too, so the user sees what to fix."""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from pathlib import Path


@contextlib.contextmanager
def logged(log_path: str | Path):
    """Send log records (INFO and up) and warnings to `log_path` for the
    duration of the block. An exception is written to the log with its
    traceback, and its message alone to stderr, then re-raised."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    try:
        yield logging.getLogger("alnus")
    except Exception as error:
        logging.getLogger("alnus").exception("failed")
        print(f"\nALN-US error (full log: {log_path}):\n{error}\n", file=sys.stderr)
        raise
    finally:
        root.removeHandler(handler)
        handler.close()
