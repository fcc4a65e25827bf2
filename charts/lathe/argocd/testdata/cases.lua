-- Objects as the operator writes them, and the health Argo CD must show for each.
local function cond(t, s, reason, message)
  return { type = t, status = s, reason = reason or "R", message = message or "", lastTransitionTime = "2026-01-01T00:00:00Z" }
end
local TR = "trainingrun-health.lua"
local IS = "inferenceservice-health.lua"
local function tr(phase, conds, extra)
  local st = { phase = phase, observedGeneration = 1, conditions = conds }
  for k, v in pairs(extra or {}) do st[k] = v end
  return { metadata = { name = "r", generation = 1 }, status = st }
end
return {
  { name = "tr no status", script = TR, obj = { metadata = { generation = 1 } }, status = "Progressing" },
  { name = "tr pending", script = TR, obj = tr("Pending", { cond("Ready", "False", "Pending", "Waiting for the Job") }), status = "Progressing" },
  { name = "tr queued", script = TR, obj = tr("Queued", { cond("Queued", "True", "Queued", "Waiting for Kueue"), cond("Ready", "False") }), status = "Progressing", message = "Kueue" },
  { name = "tr queued, no LocalQueue", script = TR, obj = tr("Queued", { cond("Queued", "True", "LocalQueueNotFound", "Kueue cannot admit the Job: LocalQueue team-b doesn't exist"), cond("Ready", "False"), cond("Stalled", "True", "LocalQueueNotFound", "Kueue cannot admit the Job: LocalQueue team-b doesn't exist") }), status = "Degraded", message = "team-b" },
  { name = "tr queued, preempted", script = TR, obj = tr("Queued", { cond("Queued", "True", "Preempted", "preempted by Kueue"), cond("Ready", "False"), cond("Stalled", "False") }), status = "Progressing", message = "preempted" },
  { name = "tr running", script = TR, obj = tr("Running", { cond("Ready", "False", "Running") }, { progress = { summary = "2/3" } }), status = "Progressing", message = "2/3" },
  { name = "tr succeeded", script = TR, obj = tr("Succeeded", { cond("Ready", "True", "Succeeded", "Model written"), cond("Succeeded", "True") }), status = "Healthy", message = "Model written" },
  { name = "tr failed phase", script = TR, obj = tr("Failed", { cond("Ready", "False"), cond("Failed", "True", "BackoffLimitExceeded", "lathe-trainer: error: no such dataset") }), status = "Degraded", message = "no such dataset" },
  { name = "tr failed condition only", script = TR, obj = tr("Running", { cond("Failed", "True", "X", "boom") }), status = "Degraded", message = "boom" },
  { name = "tr stalled", script = TR, obj = tr("Pending", { cond("Stalled", "True", "BaseRunFailed", "run://base failed") }), status = "Degraded" },
  { name = "tr suspended", script = TR, obj = tr("Suspended", { cond("Suspended", "True", "Suspended", "spec.suspend is true"), cond("Ready", "False") }), status = "Suspended" },
  { name = "tr stale generation", script = TR, obj = { metadata = { generation = 2 }, status = { phase = "Succeeded", observedGeneration = 1, conditions = { cond("Ready", "True") } } }, status = "Progressing", message = "generation 2" },
  { name = "is no status", script = IS, obj = { metadata = { generation = 1 } }, status = "Progressing" },
  { name = "is reconciling", script = IS, obj = { metadata = { generation = 1 }, status = { observedGeneration = 1, conditions = { cond("Ready", "False", "Rollout", "0/1 ready"), cond("Reconciling", "True", "Rollout", "rolling out"), cond("Stalled", "False") } } }, status = "Progressing", message = "rolling out" },
  { name = "is ready", script = IS, obj = { metadata = { generation = 3 }, status = { observedGeneration = 3, readyReplicas = 2, url = "http://x.ml.svc.cluster.local", conditions = { cond("Ready", "True", "Ready", "Serving"), cond("Stalled", "False") } } }, status = "Healthy", message = "http://x.ml.svc.cluster.local" },
  { name = "is stalled", script = IS, obj = { metadata = { generation = 1 }, status = { observedGeneration = 1, conditions = { cond("Ready", "False"), cond("Stalled", "True", "ProgressDeadlineExceeded", "rollout exceeded its deadline") } } }, status = "Degraded", message = "deadline" },
  { name = "is rolled back still ready", script = IS, obj = { metadata = { generation = 2 }, status = { observedGeneration = 2, conditions = { cond("Ready", "True"), cond("Stalled", "True", "RolledBack", "new model never became ready; serving the previous one") } } }, status = "Degraded", message = "previous" },
  { name = "is canary in progress", script = IS, obj = { metadata = { generation = 2 }, status = { observedGeneration = 2, rollout = { phase = "Running", canaryShare = 20 }, conditions = { cond("Ready", "False", "CanaryProgressing", "running step 1/2 (10%, 1 canary and 4 stable pod(s): 20%)"), cond("Progressing", "True", "CanaryProgressing", "step 1/2"), cond("Reconciling", "True", "CanaryProgressing", "running step 1/2 (10%, 1 canary and 4 stable pod(s): 20%)"), cond("Stalled", "False") } } }, status = "Progressing", message = "step 1/2" },
  { name = "is canary held for A/B", script = IS, obj = { metadata = { generation = 2 }, status = { observedGeneration = 2, rollout = { phase = "Held", canaryShare = 50 }, conditions = { cond("Ready", "False", "CanaryHeld", "held at step 1/1 (50%)"), cond("Reconciling", "True", "CanaryHeld", "held at step 1/1 (50%)"), cond("Stalled", "False") } } }, status = "Progressing", message = "held" },
  { name = "is canary rolled back", script = IS, obj = { metadata = { generation = 2 }, status = { observedGeneration = 2, rollout = { phase = "RolledBack" }, conditions = { cond("Ready", "False", "RolledBack", "canary failed: error rate 33.3% is above maxErrorRate 5.0%"), cond("RolledBack", "True", "CanaryAnalysisFailed", "error rate"), cond("Reconciling", "False"), cond("Stalled", "True", "RolledBack", "canary failed: error rate 33.3% is above maxErrorRate 5.0%; rolled back to the stable model") } } }, status = "Degraded", message = "maxErrorRate" },
  { name = "is stale generation", script = IS, obj = { metadata = { generation = 5 }, status = { observedGeneration = 4, conditions = { cond("Ready", "True") } } }, status = "Progressing" },
}
