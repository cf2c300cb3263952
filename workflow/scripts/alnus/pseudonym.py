"""Keyed pseudonyms (HMAC-SHA256) for images and patients.

The key never leaves private/ (or the environment): without it nobody can
recompute which pseudonym belongs to which hospital identifier, yet the same
key always gives the same pseudonyms, so reruns and added images stay stable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV_VAR = "ALNUS_PSEUDONYM_KEY"
KEY_BYTES = 32


def load_or_create_key(path: str | Path, *, env_var: str = KEY_ENV_VAR) -> bytes:
    """Return the pseudonym key (rule pseudonym_key: the one job that may create it).

    Taken from the environment variable `env_var` (hex or any text) if set;
    otherwise read from `path`, which is created once with a random key
    (mode 0600) if it does not exist. Creation is atomic, so two jobs starting
    at once end up with the same key.

    Raises
    ------
    ValueError
        If the key file exists but is empty or shorter than 16 bytes.
    """
    path = Path(path)
    if os.environ.get(env_var) is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
        try:
            os.link(tmp, path)  # fails if another job created the key meanwhile: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return load_key(path, env_var=env_var)


def load_key(path: str | Path, *, env_var: str = KEY_ENV_VAR) -> bytes:
    """Return the pseudonym key without ever creating one: the environment
    variable `env_var` if set, else the text of the key file `path`.

    Raises
    ------
    ValueError
        If `env_var` is set but shorter than 16 characters, or the key file is
        missing, empty or shorter than 16 bytes.
    """
    from_env = os.environ.get(env_var)
    if from_env is not None:
        key = from_env.strip().encode()
        if len(key) < 16:
            raise ValueError(
                f"{env_var} is set but empty or shorter than 16 characters; "
                "set it to your backed-up key or unset it to use the key file"
            )
        return key
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"pseudonym key {path} does not exist; rule pseudonym_key writes it (or restore it from your backup, "
            f"or set {env_var})"
        )
    key = path.read_text().strip().encode()
    if len(key) < 16:
        raise ValueError(
            f"pseudonym key {path} is empty or too short; delete it to create a new one "
            "(all pseudonyms will change) or restore it from your backup"
        )
    return key


def pseudonym(key: bytes, *parts: str, length: int = 16) -> str:
    """Hex pseudonym of `length` characters for the identifier given by `parts`.

    Parts are joined with a separator that cannot occur in a part's text
    unambiguously (the unit separator), e.g. ``pseudonym(key, "external", "patient", "MRN123")``.
    """
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:length]
