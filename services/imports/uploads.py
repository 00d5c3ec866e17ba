"""Uploaded files waiting between the wizard's steps (analyse, check, import).

Kept on disk in one folder, so every web worker and the background job process of the same
machine can read them; each belongs to the user who uploaded it, and old ones are removed.
"""
from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from services.errors import NotFound

MAX_AGE_SECONDS = 24 * 3600
_ID_LENGTH = 32


def save_upload(folder: Path, data: bytes, filename: str, user_id: int) -> str:
    """Store an uploaded file for `user_id`; returns its id (unguessable)."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_old_uploads(folder)
    upload_id = secrets.token_hex(_ID_LENGTH // 2)
    (folder / f"{upload_id}.data").write_bytes(data)
    meta = {"filename": Path(filename).name[:255], "user_id": user_id, "size": len(data),
            "uploaded_at": time.time()}
    (folder / f"{upload_id}.json").write_text(json.dumps(meta))
    return upload_id


def load_upload(folder: Path, upload_id: str, user_id: int) -> tuple[bytes, dict[str, Any]]:
    """The file and its details; only its uploader gets it."""
    if not (isinstance(upload_id, str) and len(upload_id) == _ID_LENGTH
            and upload_id.isalnum()):
        raise NotFound("That upload does not exist.")
    meta_path = folder / f"{upload_id}.json"
    data_path = folder / f"{upload_id}.data"
    if not meta_path.exists() or not data_path.exists():
        raise NotFound("The uploaded file is no longer here (uploads are kept for a day): "
                       "upload it again.")
    meta = json.loads(meta_path.read_text())
    if meta.get("user_id") != user_id:
        raise NotFound("That upload does not exist.")
    return data_path.read_bytes(), meta


def remove_old_uploads(folder: Path, max_age: float = MAX_AGE_SECONDS) -> int:
    """Delete uploads older than `max_age` seconds; returns how many files went."""
    removed = 0
    cutoff = time.time() - max_age
    for path in folder.glob("*.data"):
        if path.stat().st_mtime < cutoff:
            for stale in (path, path.with_suffix(".json")):
                stale.unlink(missing_ok=True)
            removed += 1
    return removed
