-- Argo CD health check for lathe.dev TrainingRun (resource.customizations.health.lathe.dev_TrainingRun).
-- Modelled on Argo CD's check for KServe's InferenceService: read status.conditions, trust them only
-- once the operator has observed the current generation.
--   Ready=True (phase Succeeded)                  -> Healthy
--   phase Failed, Failed=True or Stalled=True      -> Degraded
--   phase Suspended                                -> Suspended
--   phase Pending, Queued or Running, or no status -> Progressing
local hs = { status = "Progressing", message = "Waiting for the Lathe operator to report status" }
if obj.status == nil then
  return hs
end
local st = obj.status
local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
if st.observedGeneration ~= nil and st.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local conditions = {}
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type ~= nil then
      conditions[c.type] = c
    end
  end
end
local function msg(c, default)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if st.message ~= nil and st.message ~= "" then
    return st.message
  end
  return default
end
local function isTrue(t)
  return conditions[t] ~= nil and conditions[t].status == "True"
end
local phase = st.phase
if phase == "Failed" or isTrue("Failed") then
  hs.status = "Degraded"
  hs.message = msg(conditions["Failed"], "Training failed")
  return hs
end
if isTrue("Stalled") then
  hs.status = "Degraded"
  hs.message = msg(conditions["Stalled"], "Training is stalled")
  return hs
end
if isTrue("Ready") or phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = msg(conditions["Ready"], "Training succeeded")
  return hs
end
if phase == "Suspended" or isTrue("Suspended") then
  hs.status = "Suspended"
  hs.message = msg(conditions["Suspended"], "Training is suspended")
  return hs
end
if phase == "Queued" then
  hs.message = msg(conditions["Queued"], "Waiting in the queue")
  return hs
end
if phase == "Running" then
  local progress = ""
  if st.progress ~= nil and st.progress.summary ~= nil then
    progress = " (" .. st.progress.summary .. ")"
  end
  hs.message = "Training" .. progress
  return hs
end
if phase == "Pending" then
  hs.message = msg(conditions["Ready"], "Pending")
  return hs
end
return hs
