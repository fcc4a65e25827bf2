-- Argo CD health check for lathe.dev InferenceService
-- (resource.customizations.health.lathe.dev_InferenceService). Modelled on Argo CD's check for
-- KServe's InferenceService: conditions decide, once the operator has observed this generation.
--   Stalled=True (bad model, rollout past its deadline, rolled back) -> Degraded
--   Ready=True                                                       -> Healthy
--   anything else (no status yet, Reconciling=True, Ready=False)     -> Progressing
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
local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = msg(stalled, "InferenceService is stalled")
  return hs
end
local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  local replicas = ""
  if st.readyReplicas ~= nil then
    replicas = " (" .. st.readyReplicas .. " ready replicas)"
  end
  hs.message = msg(ready, "InferenceService is ready") .. replicas
  if st.url ~= nil then
    hs.message = hs.message .. " at " .. st.url
  end
  return hs
end
hs.message = msg(conditions["Reconciling"] or ready, "Waiting for the InferenceService to become ready")
return hs
