"""The deployment bundle: `sam build` works offline and every function fits Lambda's size limit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tickerwatch.local import SCHEDULE_TIMEZONE, SCHEDULES, SESSION_CRONS, function_names

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def functions_in(template: dict) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def test_every_function_folder_is_deployed_and_vice_versa():
    template = load_template(ROOT / "template.yaml")
    code_dirs = {Path(v["Properties"]["CodeUri"]).name for v in functions_in(template).values()}
    assert code_dirs == set(function_names())


def test_schedules_match_the_local_scheduler():
    template = load_template(ROOT / "template.yaml")
    declared, session_crons = {}, []
    for resource in functions_in(template).values():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "ScheduleV2":
                name = Path(resource["Properties"]["CodeUri"]).name
                expression = event["Properties"]["ScheduleExpression"]
                if name == "fetch_prices":
                    assert event["Properties"]["ScheduleExpressionTimezone"] == SCHEDULE_TIMEZONE
                    session_crons.append(expression)
                else:
                    declared[name] = expression
                assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
                assert event["Properties"]["DeadLetterConfig"]
    deployed = set(function_names())
    assert declared == {job: f"rate({m} minutes)" for job, m in SCHEDULES.items() if job in deployed}
    assert tuple(session_crons) == SESSION_CRONS


@pytest.mark.slow
def test_sam_build_and_function_sizes():
    sam = shutil.which("sam")
    assert sam, "sam CLI not on PATH (make test puts .venv-sam/bin there)"
    assert shutil.which("python3.12"), "sam build needs python3.12 on PATH"
    result = subprocess.run(
        [sam, "build", "--parallel", "--cached"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    build = ROOT / ".aws-sam" / "build"
    template = load_template(build / "template.yaml")
    layer_names = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::LayerVersion"]
    source = load_template(ROOT / "template.yaml")
    global_layers = source.get("Globals", {}).get("Function", {}).get("Layers", [])
    sizes = {}
    for name, resource in functions_in(source).items():
        # SAM appends a function's own Layers to the Globals ones.
        layers = [ref["Ref"] for ref in global_layers + resource["Properties"].get("Layers", [])]
        assert set(layers) <= set(layer_names)
        sizes[name] = dir_size(build / name) + sum(dir_size(build / layer) for layer in layers)
        assert sizes[name] < LAMBDA_UNZIPPED_LIMIT, f"{name} is {sizes[name] / 2**20:.0f} MiB unzipped"
    assert (build / "SharedLayer" / "python" / "tickerwatch" / "db.py").exists()
    assert (build / "SharedLayer" / "python" / "tickerwatch" / "weights" / "direction.npz").exists()
    for layer in layer_names:  # training libraries stay out of Lambda
        assert not {"sklearn", "scipy", "torch"} & {p.name for p in (build / layer / "python").iterdir()}, layer
    print({k: f"{v / 2**20:.0f} MiB" for k, v in sizes.items()})


# What each layer adds beyond the shared one, by top-level package.
LAYER_PACKAGES = {
    "SharedLayer": set(),
    "ScienceLayer": {"numpy", "matplotlib"},
    "MarketDataLayer": {"numpy", "pandas", "yfinance"},
}
# scikit-learn and scipy train the direction model offline; the layers carry its arrays only.
HEAVY = {"numpy", "matplotlib", "pandas", "yfinance", "torch", "sklearn", "scipy"}

IMPORT_PROBE = r"""
import importlib.abc, importlib.util, json, sys
blocked = set(sys.argv[2].split(",")) - {""}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not in this function's layers")
        return None

sys.meta_path.insert(0, Block())
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from tickerwatch.events import LocalContext, http_api_event, scheduled_event
if hasattr(module, "app"):
    route = next(r for r in module.app.router.routes if "{" not in r.path)
    method = sorted(route.methods)[0]
    event = http_api_event(method, route.path, body=b"{}" if method != "GET" else None)
    result = module.handler(event, LocalContext("probe"))
    assert result["statusCode"] < 500, result
elif sys.argv[3] == "invoke":
    module.handler(scheduled_event("probe"), LocalContext("probe"))
"""

# Imported but not invoked here: its handler talks to Secrets Manager (tests/integration/test_key_rotation.py).
IMPORT_ONLY = {"rotate_jwt_secret"}


def test_each_function_imports_only_what_its_layers_hold(database_url):
    source = load_template(ROOT / "template.yaml")
    global_layers = [ref["Ref"] for ref in source["Globals"]["Function"]["Layers"]]
    for resource in functions_in(source).values():
        name = Path(resource["Properties"]["CodeUri"]).name
        layers = global_layers + [ref["Ref"] for ref in resource["Properties"].get("Layers", [])]
        allowed = set().union(*(LAYER_PACKAGES[layer] for layer in layers))
        blocked = ",".join(sorted(HEAVY - allowed))
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                IMPORT_PROBE,
                str(ROOT / "functions" / name / "app.py"),
                blocked,
                "import" if name in IMPORT_ONLY else "invoke",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "DATABASE_URL": database_url},
            timeout=120,
        )
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"


def test_api_gateway_routes_match_each_function_app():
    from tickerwatch.local import load_function

    source = load_template(ROOT / "template.yaml")
    for resource in functions_in(source).values():
        name = Path(resource["Properties"]["CodeUri"]).name
        declared = {
            (event["Properties"]["Method"], event["Properties"]["Path"])
            for event in resource["Properties"].get("Events", {}).values()
            if event["Type"] == "HttpApi"
        }
        module = load_function(name)
        routes = getattr(getattr(module, "app", None), "routes", [])
        # API Gateway has no path-parameter types: {alert_id:int} is {alert_id} there.
        served = {(m, re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path)) for r in routes for m in r.methods or ()}
        served -= {("HEAD", path) for _, path in served}
        assert declared == served, name
