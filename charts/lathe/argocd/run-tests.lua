-- Runs each health check against the cases in testdata/cases.lua, the way Argo CD does: the script
-- is a chunk with a global `obj` that returns {status, message}. Exit status 1 on any mismatch.
--   lua5.4 charts/lathe/argocd/run-tests.lua   (from the repository root, or pass the directory)
local dir = arg[1] or "charts/lathe/argocd"
local cases = dofile(dir .. "/testdata/cases.lua")
local failures, total = 0, 0
for _, case in ipairs(cases) do
  total = total + 1
  local chunk = assert(loadfile(dir .. "/" .. case.script, "t", { obj = case.obj, ipairs = ipairs, pairs = pairs }))
  local ok, hs = pcall(chunk)
  if not ok then
    failures = failures + 1
    print("FAIL " .. case.name .. ": error " .. tostring(hs))
  elseif hs.status ~= case.status or (case.message ~= nil and not string.find(hs.message, case.message, 1, true)) then
    failures = failures + 1
    print(string.format("FAIL %s: got %s %q, want %s %q", case.name, tostring(hs.status), tostring(hs.message), case.status, tostring(case.message)))
  else
    print(string.format("ok   %s: %s %q", case.name, hs.status, hs.message))
  end
end
print(string.format("%d/%d health cases passed", total - failures, total))
os.exit(failures == 0 and 0 or 1)
