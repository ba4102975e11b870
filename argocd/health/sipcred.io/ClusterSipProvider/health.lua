-- Argo CD health check for sipcred.io resources (sipcred-operator).
-- The same script serves all five kinds; argocd/health/sipcred.io/<Kind>/health.lua are
-- copies of argocd/health/health.lua made by scripts/gen-argocd (tests fail on drift).
--
--   Progressing  the current generation is not in effect yet (not observed, or its sync
--                failed transiently while Ready still describes an earlier one), or
--                there is no Ready condition yet, or Ready is False/Unknown for a
--                passing reason
--   Degraded     Ready=False with a terminal reason, or Ready=False with Synced=False
--   Healthy      Ready=True and the operator has observed the current generation
--                (with Synced=False the message warns that the last change failed)
--   Suspended    reconciliation is paused (Synced=False, reason ReconcilePaused),
--                whatever Ready last said
-- Written for Lua 5.1 (gopher-lua, as in Argo CD): no io, os or require.

local hs = {}

-- Ready=False reasons that waiting will not fix: the object, its provider or its Secrets
-- must change first.
local TERMINAL_REASONS = {
  InvalidSpec = true,
  InvalidProvider = true,
  ProviderRejected = true,
  AuthenticationFailed = true,
  PermissionDenied = true,
  SecretConflict = true,
  Conflict = true,
  Unsupported = true,
  SecretOwnedByAnother = true,
  PasswordSourceInvalid = true,
  CredentialExpired = true,
  ExternalObjectMissing = true,
}

local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

local function describe(condition)
  local text = ""
  if condition.reason ~= nil and condition.reason ~= "" then
    text = condition.reason
  end
  if condition.message ~= nil and condition.message ~= "" then
    if text ~= "" then
      text = text .. ": "
    end
    text = text .. condition.message
  end
  return text
end

local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile this " .. obj.kind
  return hs
end

-- Paused: the operator neither observes the generation nor acts; that is the answer
-- whatever the other fields say.
local paused = findCondition(obj.status.conditions, "Synced")
if paused ~= nil and paused.status == "False" and paused.reason == "ReconcilePaused" then
  hs.status = "Suspended"
  hs.message = describe(paused)
  return hs
end

local observed = obj.status.observedGeneration
if observed == nil or observed < generation then
  hs.status = "Progressing"
  -- The operator saw this generation but could not apply it yet (the provider failed
  -- transiently); Ready still describes the earlier generation it serves.
  local failing = findCondition(obj.status.conditions, "Synced")
  if failing ~= nil and failing.status == "False" and failing.observedGeneration == generation then
    hs.message = "Generation " .. generation .. " not in effect yet"
    if observed ~= nil then
      hs.message = hs.message .. " (serving " .. observed .. ")"
    end
    hs.message = hs.message .. ": " .. describe(failing)
  elseif observed == nil then
    hs.message = "Waiting for the operator to observe generation " .. generation
  else
    hs.message = "Waiting for the operator to observe generation " .. generation
      .. " (observed " .. observed .. ")"
  end
  return hs
end

local ready = findCondition(obj.status.conditions, "Ready")
local synced = findCondition(obj.status.conditions, "Synced")

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  if synced ~= nil and synced.status == "False" then
    hs.message = "Ready, but the last change failed to sync: " .. describe(synced)
  elseif describe(ready) ~= "" then
    hs.message = describe(ready)
  else
    hs.message = "Ready"
  end
  return hs
end

if ready.status == "False" then
  if ready.reason ~= nil and TERMINAL_REASONS[ready.reason] then
    hs.status = "Degraded"
    hs.message = describe(ready)
    return hs
  end
  if synced ~= nil and synced.status == "False" then
    hs.status = "Degraded"
    hs.message = "Not ready: " .. describe(ready) .. "; sync failed: " .. describe(synced)
    return hs
  end
end

hs.status = "Progressing"
if describe(ready) ~= "" then
  hs.message = describe(ready)
else
  hs.message = "Waiting for Ready"
end
return hs
