"""The artifact download URLs of the blob host: signed like an Azure SAS URL, so that the blob host
can tell a URL the API host handed out, unaltered and unexpired, from any other."""

from __future__ import annotations

import hashlib
import hmac
import os
import urllib.parse
from base64 import urlsafe_b64encode

from wait_and_dispatch.emulator.model import Artifact
from wait_and_dispatch.emulator.shapes import iso


def sign_blob_url(blob_base: str, art: Artifact, expires: float, key: bytes) -> str:
    """An Azure-SAS-like URL on the blob host: `se` (expiry) and `sig` (HMAC) in the query.

    A zip's path ends in `<name>.zip`. An `archive: false` artifact's does not, and its URL carries
    the headers storage is to answer with, as an Azure SAS does (`rscd`: Content-Disposition,
    `rsct`: Content-Type; both signed): the file's name and the type its extension gives."""
    se = iso(expires) or ""
    rscd, rsct = blob_overrides(art)
    sig = _blob_signature(art.id, se, rscd, rsct, key)
    overrides = [("rscd", rscd), ("rsct", rsct)] if not art.spec.archive else []
    query = urllib.parse.urlencode(
        [
            ("sv", "2025-01-05"),
            ("spr", "https,http"),
            ("se", se),
            ("sr", "b"),
            ("sp", "r"),
            *overrides,
            ("sig", sig),
        ]
    )
    suffix = ".zip" if art.spec.archive else ""
    return f"{blob_base}/artifacts/{art.id}/{urllib.parse.quote(art.spec.name)}{suffix}?{query}"


def blob_overrides(art: Artifact) -> tuple[str, str]:
    """(rscd, rsct) of an `archive: false` artifact; empty for a zip, whose headers are fixed."""
    if art.spec.archive:
        return "", ""
    return content_disposition(art.spec.name), art.spec.content_type or content_type_for(art.spec.name)


def content_disposition(name: str) -> str:
    """`attachment` with the name: printable ASCII as is, else an ASCII stand-in and `filename*`
    (RFC 6266). A header holds no control character (RFC 9110, 5.5), and an artifact's name may."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return f'attachment; filename="{name}"'
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


# upload-artifact v7 sets an unzipped artifact's content type from its extension, and
# application/octet-stream for any other (@actions/artifact `upload/types.ts`, `getMimeType`).
_CONTENT_TYPES = {
    ".txt": "text/plain", ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".csv": "text/csv", ".xml": "text/xml", ".md": "text/markdown",
    ".js": "application/javascript", ".mjs": "application/javascript", ".json": "application/json",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".svg": "image/svg+xml", ".webp": "image/webp", ".ico": "image/x-icon", ".bmp": "image/bmp",
    ".tiff": "image/tiff", ".tif": "image/tiff",
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".flac": "audio/flac",
    ".mp4": "video/mp4", ".webm": "video/webm", ".avi": "video/x-msvideo", ".mov": "video/quicktime",
    ".pdf": "application/pdf", ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".zip": "application/zip", ".tar": "application/x-tar", ".gz": "application/gzip",
    ".rar": "application/vnd.rar", ".7z": "application/x-7z-compressed",
    ".wasm": "application/wasm", ".yaml": "application/x-yaml", ".yml": "application/x-yaml",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}  # fmt: skip


def content_type_for(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")


def _blob_signature(art_id: int, se: str, rscd: str, rsct: str, key: bytes) -> str:
    signed = f"{art_id}\n{se}\n{rscd}\n{rsct}".encode()
    return urlsafe_b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def check_blob_signature(art_id: int, se: str, sig: str, key: bytes, rscd: str = "", rsct: str = "") -> bool:
    return hmac.compare_digest(_blob_signature(art_id, se, rscd, rsct, key), sig)


# Where the logs live on the blob host: GitHub's own point at its results storage
# (`.../actions-results/<id>/workflow-job-run-<id>/logs/job/job-logs.txt?rsct=text%2Fplain&se=...&sig=...`,
# the OpenAPI example of actions/download-job-logs-for-workflow-run shows an older host); the
# emulator keeps the shape: a path under /actions-results, signed with an expiry.
def job_log_path(job_id: int) -> str:
    return f"/actions-results/jobs/{job_id}/job-logs.txt"


def run_logs_path(run_id: int, attempt: int) -> str:
    return f"/actions-results/runs/{run_id}/attempts/{attempt}/logs.zip"


def sign_log_url(blob_base: str, path: str, expires: float, key: bytes) -> str:
    """A signed URL for a log on the blob host, valid until `expires` (`se`, `sig` in the query)."""
    se = iso(expires) or ""
    query = urllib.parse.urlencode(
        [("sv", "2025-01-05"), ("se", se), ("sr", "b"), ("sp", "r"), ("sig", _log_signature(path, se, key))]
    )
    return f"{blob_base}{path}?{query}"


def _log_signature(path: str, se: str, key: bytes) -> str:
    return urlsafe_b64encode(hmac.new(key, f"log\n{path}\n{se}".encode(), hashlib.sha256).digest()).decode()


def check_log_signature(path: str, se: str, sig: str, key: bytes) -> bool:
    return hmac.compare_digest(_log_signature(path, se, key), sig)
