# Three managed node groups:
#   system       - CPU, on-demand, untainted: the operator, CoreDNS, the NVIDIA device plugin, controllers
#   gpu-ondemand - GPU AMI, ON_DEMAND, tainted nvidia.com/gpu=true:NoSchedule, 0..N nodes
#   gpu-spot     - GPU AMI, SPOT, tainted nvidia.com/gpu and lathe.dev/spot, 0..N nodes
# The taints and capacity types are the ones in schemas/scheduling.json, from which the operator
# renders its tolerations; terraform/tests/test_hcl.py fails when the two disagree. EKS labels every
# managed node eks.amazonaws.com/capacityType=ON_DEMAND|SPOT from capacity_type (the operator's
# capacityTypeLabel); nvidia.com/gpu.product comes from GPU feature discovery (README).

locals {
  # schemas/scheduling.json, in the EKS API's spelling (NoSchedule -> NO_SCHEDULE).
  gpu_taint  = { key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }
  spot_taint = { key = "lathe.dev/spot", value = "true", effect = "NO_SCHEDULE" }

  # Bottlerocket keeps images and pod data on its second volume; AL2023 on the root volume.
  gpu_data_device = startswith(var.gpu_ami_type, "BOTTLEROCKET") ? "/dev/xvdb" : "/dev/xvda"

  node_groups = {
    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      capacity_type  = "ON_DEMAND"
      instance_types = var.system_instance_types
      min_size       = var.system_node_count.min
      desired_size   = var.system_node_count.desired
      max_size       = var.system_node_count.max
      disk_device    = "/dev/xvda"
      disk_size      = var.node_disk_size_gib.system
      labels         = { "lathe.dev/node-pool" = "system" }
      taints         = []
    }
    gpu-ondemand = {
      ami_type       = var.gpu_ami_type
      capacity_type  = "ON_DEMAND"
      instance_types = var.gpu_ondemand_instance_types
      min_size       = var.gpu_min_size
      desired_size   = var.gpu_min_size
      max_size       = var.gpu_ondemand_max_size
      disk_device    = local.gpu_data_device
      disk_size      = var.node_disk_size_gib.gpu
      labels         = { "lathe.dev/node-pool" = "gpu-ondemand" }
      taints         = [local.gpu_taint]
    }
    gpu-spot = {
      ami_type       = var.gpu_ami_type
      capacity_type  = "SPOT"
      instance_types = var.gpu_spot_instance_types
      min_size       = var.gpu_min_size
      desired_size   = var.gpu_min_size
      max_size       = var.gpu_spot_max_size
      disk_device    = local.gpu_data_device
      disk_size      = var.node_disk_size_gib.gpu
      labels         = { "lathe.dev/node-pool" = "gpu-spot" }
      taints         = [local.gpu_taint, local.spot_taint]
    }
  }
}

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# The node role: join the cluster and pull images, nothing else. The CNI's permissions live in its
# own IRSA role, and IMDSv2 with a hop limit of 1 keeps pods from reaching this role at all.
resource "aws_iam_role" "node" {
  name               = "${var.name}-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
  ])

  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "node" {
  for_each = local.node_groups

  name_prefix            = "${var.name}-${each.key}-"
  description            = "${var.name} ${each.key} nodes: IMDSv2 only, hop limit 1, encrypted gp3"
  update_default_version = true

  # IMDSv2 required, and a response hop limit of 1: a packet from a pod's network namespace has
  # one more hop, so pods cannot fetch the node role's credentials from the metadata service.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = each.value.disk_device
    ebs {
      volume_size           = each.value.disk_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-${each.key}" }
  }

  tag_specifications {
    resource_type = "volume"
    tags          = { Name = "${var.name}-${each.key}" }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "system"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id
  ami_type        = local.node_groups.system.ami_type
  capacity_type   = local.node_groups.system.capacity_type
  instance_types  = local.node_groups.system.instance_types
  labels          = local.node_groups.system.labels

  launch_template {
    id      = aws_launch_template.node["system"].id
    version = aws_launch_template.node["system"].latest_version
  }

  scaling_config {
    min_size     = local.node_groups.system.min_size
    desired_size = local.node_groups.system.desired_size
    max_size     = local.node_groups.system.max_size
  }

  update_config {
    max_unavailable = 1
  }

  lifecycle {
    # An autoscaler owns desired_size after creation.
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.vpc_cni,
    aws_eks_addon.kube_proxy,
    aws_eks_addon.pod_identity_agent,
  ]
}

resource "aws_eks_node_group" "gpu" {
  for_each = { for k, v in local.node_groups : k => v if k != "system" }

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id
  ami_type        = each.value.ami_type
  capacity_type   = each.value.capacity_type
  instance_types  = each.value.instance_types
  labels          = each.value.labels

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  scaling_config {
    min_size     = each.value.min_size
    desired_size = each.value.desired_size
    max_size     = each.value.max_size
  }

  update_config {
    max_unavailable = 1
  }

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.vpc_cni,
    aws_eks_addon.kube_proxy,
    aws_eks_addon.pod_identity_agent,
  ]
}
