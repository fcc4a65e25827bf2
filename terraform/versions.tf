terraform {
  required_version = ">= 1.6.0"

  required_providers {
    # Only the hashicorp/aws provider: every resource in this directory is one of its own, with no
    # community modules, so every line that reaches AWS is in this directory and reviewable.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "app.kubernetes.io/part-of" = "lathe"
      "lathe.dev/cluster"         = var.name
    })
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first az_count zone names are used (sorted; new zones get later letters, so the set does not grow); var.availability_zones pins exact zones.
  state = "available"

  # Local Zones and Wavelength Zones have no EKS control-plane support and few GPU types.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}
