import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TERRAFORM = TESTS.parent
REPO = TERRAFORM.parent
sys.path.insert(0, str(TESTS))

import hclmodel  # noqa: E402


@pytest.fixture(scope="session")
def terraform_dir() -> Path:
    return TERRAFORM


@pytest.fixture(scope="session")
def model():
    return hclmodel.load(TERRAFORM)


@pytest.fixture(scope="session")
def scheduling() -> dict:
    # The file the operator renders its tolerations from (owned outside terraform/).
    return hclmodel.load_json(REPO / "schemas" / "scheduling.json")
