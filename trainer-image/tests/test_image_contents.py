"""The image carries every JSON Schema the trainer reads: the Dockerfile copies only named schema
files, and its .dockerignore admits only named ones, so a schema added to the code and not to both
fails in the pod at its first write (as metrics-history.schema.json once did), not here."""

import re
from pathlib import Path

IMAGE_DIR = Path(__file__).resolve().parents[1]


def _schemas_the_code_reads() -> set[str]:
    names: set[str] = set()
    for source in (IMAGE_DIR / "lathe_trainer").glob("*.py"):
        names.update(re.findall(r'"([a-z0-9-]+\.schema\.json)"', source.read_text()))
    return names


def test_the_code_reads_schemas() -> None:
    assert {"metadata.schema.json", "metrics-history.schema.json"} <= _schemas_the_code_reads()


def test_every_schema_the_code_reads_is_copied_into_the_image() -> None:
    dockerfile = (IMAGE_DIR / "Dockerfile").read_text()
    ignore = (IMAGE_DIR / "Dockerfile.dockerignore").read_text().splitlines()
    copy = next(line for line in dockerfile.splitlines() if line.startswith("COPY schemas/"))
    for name in sorted(_schemas_the_code_reads()):
        assert f"schemas/{name}" in copy.split(), f"{name}: add it to the Dockerfile's COPY schemas/ line"
        assert f"!schemas/{name}" in ignore, f"{name}: admit it in Dockerfile.dockerignore"
