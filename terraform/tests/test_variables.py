"""variables.tf's validation rules, judged by terraform itself (`terraform console` needs no provider
for a directory holding only variable declarations)."""

import os
import shutil
import subprocess

import pytest

TERRAFORM = os.environ.get("LATHE_TERRAFORM_BIN") or shutil.which("terraform")

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="no terraform binary (test.sh sets LATHE_TERRAFORM_BIN)")


@pytest.fixture(scope="module")
def vardir(terraform_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("vars")
    shutil.copy(terraform_dir / "variables.tf", d / "variables.tf")
    (d / "terraformrc").write_text("")
    return d


def console(vardir, expr, *args):
    env = dict(os.environ, TF_CLI_CONFIG_FILE=str(vardir / "terraformrc"), CHECKPOINT_DISABLE="1", NO_COLOR="1")
    p = subprocess.run(
        [TERRAFORM, "console", "-no-color", *args],
        cwd=vardir, input=expr + "\n", capture_output=True, text=True, env=env, timeout=120,
    )
    return p.returncode, p.stdout + p.stderr


def test_defaults_are_valid(vardir):
    rc, out = console(vardir, "var.cluster_endpoint_public_access_cidrs")
    assert rc == 0 and "Error" not in out, out
    assert out.strip().startswith("tolist([])"), out


@pytest.mark.parametrize(
    "args, variable",
    [
        (["-var", 'cluster_endpoint_public_access_cidrs=["0.0.0.0/0"]'], "cluster_endpoint_public_access_cidrs"),
        (["-var", 'cluster_endpoint_public_access_cidrs=["not-a-cidr"]'], "cluster_endpoint_public_access_cidrs"),
        (["-var", 'training_namespaces=["ml","ml"]'], "training_namespaces"),
        (["-var", "training_namespaces=[]"], "training_namespaces"),
        (["-var", 'training_namespaces=["Bad_NS"]'], "training_namespaces"),
        (["-var", "gpu_min_size=-1"], "gpu_min_size"),
        (["-var", "gpu_ami_type=AL2023_x86_64_STANDARD"], "gpu_ami_type"),
        (["-var", "az_count=1"], "az_count"),
        (["-var", "vpc_cidr=10.0.0.0/24"], "vpc_cidr"),
        (["-var", 'dataset_bucket_arns=["arn:aws:s3:::ml-data/*"]'], "dataset_bucket_arns"),
        (["-var", "name=This-Is-Not-Valid"], "name"),
        (["-var", "system_node_count={min=0,desired=0,max=1}"], "system_node_count"),
    ],
)
def test_invalid_inputs_are_rejected(vardir, args, variable):
    rc, out = console(vardir, f"var.{variable}", *args)
    # terraform console reports a failed validation but still exits 0: judge by its message.
    assert "Invalid value for variable" in out, out
    assert f'variable "{variable}"' in out, out


@pytest.mark.parametrize(
    "args, variable, expected",
    [
        (["-var", 'cluster_endpoint_public_access_cidrs=["203.0.113.0/24"]'], "cluster_endpoint_public_access_cidrs", "203.0.113.0/24"),
        (["-var", 'training_namespaces=["ml","research"]'], "training_namespaces", "research"),
        (["-var", 'dataset_bucket_arns=["arn:aws:s3:::ml-data"]'], "dataset_bucket_arns", "arn:aws:s3:::ml-data"),
    ],
)
def test_valid_inputs_are_accepted(vardir, args, variable, expected):
    rc, out = console(vardir, f"var.{variable}", *args)
    assert rc == 0 and expected in out and "Error" not in out, out


def test_example_tfvars_is_valid(vardir, terraform_dir):
    shutil.copy(terraform_dir / "terraform.tfvars.example", vardir / "example.tfvars")
    rc, out = console(vardir, "var.training_namespaces", "-var-file=example.tfvars")
    assert rc == 0 and "Error" not in out and "Warning" not in out, out
    assert '"ml"' in out, out
