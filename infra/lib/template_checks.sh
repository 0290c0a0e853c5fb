# shellcheck shell=bash
# Checks of template.yaml that cfn-lint and `sam validate --lint` do not make.

# Fails when the template, after the SAM transform, has a circular dependency between
# resources. Neither linter reports the classic one: a function whose environment names the
# HTTP API (WARROOM_PUBLIC_URL) while the API's definition names the function's ARN (what SAM
# writes for `Events: {Type: HttpApi}`); CloudFormation then rejects the change set with
# "Circular dependency between resources". Usage: check_template_cycles PYTHON TEMPLATE
check_template_cycles() {
    "$1" - "$2" <<'PY'
import re
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


with open(sys.argv[1]) as f:
    template = yaml_parse(f.read())
# The transform wants packaged code locations; the paths themselves do not matter here.
for res in template.get("Resources", {}).values():
    props = res.get("Properties") or {}
    if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
        props["CodeUri"] = "s3://bucket/key"
resources = transform(template, {}, NoManagedPolicies())["Resources"]


def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                refs(value, found)
            else:
                refs(value, found)
    elif isinstance(node, list):
        for item in node:
            refs(item, found)


deps = {}
for name, res in resources.items():
    found = set()
    refs({k: v for k, v in res.items() if k != "DependsOn"}, found)
    depends_on = res.get("DependsOn", [])
    found.update([depends_on] if isinstance(depends_on, str) else depends_on)
    deps[name] = sorted(found & resources.keys())

WHITE, GREY, BLACK = 0, 1, 2
colour = dict.fromkeys(resources, WHITE)
cycles = []


def visit(name, path):
    colour[name] = GREY
    for dep in deps[name]:
        if colour[dep] == GREY:
            cycles.append(path[path.index(dep):] + [dep])
        elif colour[dep] == WHITE:
            visit(dep, path + [dep])
    colour[name] = BLACK


for name in resources:
    if colour[name] == WHITE:
        visit(name, [name])
for cycle in cycles:
    print("circular dependency: " + " -> ".join(cycle))
if cycles:
    sys.exit(1)
print(f"no circular dependency among {len(resources)} resources after the SAM transform")
PY
}

# Fails when an alarm of the template has no runbook: every AWS::CloudWatch::Alarm must
# have a `### <LogicalId>` section in docs/operability.md, and its AlarmDescription must
# point at that section's anchor — the page an operator opens when it fires.
# Usage: check_alarm_runbooks PYTHON TEMPLATE RUNBOOK
check_alarm_runbooks() {
    "$1" - "$2" "$3" <<'PY'
import re
import sys

from samtranslator.yaml_helper import yaml_parse

with open(sys.argv[1]) as f:
    resources = yaml_parse(f.read()).get("Resources", {})
with open(sys.argv[2]) as f:
    sections = set(re.findall(r"^### (\w+)\s*$", f.read(), flags=re.M))
problems = []
alarms = [n for n, r in resources.items() if r.get("Type") == "AWS::CloudWatch::Alarm"]
for name in alarms:
    description = str(resources[name].get("Properties", {}).get("AlarmDescription", ""))
    if name not in sections:
        problems.append(f"{name}: no '### {name}' runbook in {sys.argv[2]}")
    if f"{sys.argv[2]}#{name.lower()}" not in description:
        problems.append(f"{name}: its AlarmDescription does not point at {sys.argv[2]}#{name.lower()}")
for stale in sorted(s for s in sections if s.endswith("Alarm") and s not in alarms):
    problems.append(f"{stale}: a runbook for an alarm the template does not have")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"{len(alarms)} alarms, each with its runbook")
PY
}
