"""Parsing of the URIs the operator passes (models, datasets, the output prefix)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lathe_trainer.errors import BadInput

Scheme = Literal["s3", "hf", "builtin", "scratch"]

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str  # may be "" (whole bucket) or end with "/" (a prefix)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def child(self, relative: str) -> "S3Uri":
        base = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Uri(self.bucket, base + relative)


@dataclass(frozen=True)
class SourceUri:
    """A model or dataset location: s3://..., hf://org/name, builtin:<name>, or scratch."""

    scheme: Scheme
    raw: str
    s3: S3Uri | None = None
    name: str = ""  # hf repo id, builtin dataset name


def parse_s3(uri: str, what: str) -> S3Uri:
    if not uri.startswith("s3://"):
        raise BadInput(f"{what} {uri!r} is not an s3:// URI")
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise BadInput(f"{what} {uri!r} has an invalid bucket name {bucket!r}")
    return S3Uri(bucket, key)


def parse_source(uri: str, what: str, allowed: tuple[Scheme, ...]) -> SourceUri:
    """Parse `uri` and check its scheme is one of `allowed`; `what` names it in errors."""
    uri = uri.strip()
    if not uri:
        raise BadInput(f"{what} is empty")
    if uri.startswith("s3://"):
        parsed = SourceUri("s3", uri, s3=parse_s3(uri, what))
    elif uri.startswith("hf://"):
        name = uri[len("hf://"):].strip("/")
        if not _HF_REPO.match(name):
            raise BadInput(f"{what} {uri!r} is not a valid hf://org/name")
        parsed = SourceUri("hf", uri, name=name)
    elif uri.startswith("builtin:"):
        parsed = SourceUri("builtin", uri, name=uri[len("builtin:"):])
    elif uri == "scratch":
        parsed = SourceUri("scratch", uri)
    else:
        scheme = uri.split("://", 1)[0] if "://" in uri else uri.split(":", 1)[0]
        expected = ", ".join(_describe(s) for s in allowed)
        raise BadInput(f"{what} {uri!r} has unsupported scheme {scheme!r} (expected {expected})")
    if parsed.scheme not in allowed:
        expected = ", ".join(_describe(s) for s in allowed)
        raise BadInput(f"{what} {uri!r} is not supported here (expected {expected})")
    return parsed


def _describe(scheme: Scheme) -> str:
    return {"s3": "s3://", "hf": "hf://", "builtin": "builtin:<name>", "scratch": "scratch"}[scheme]
