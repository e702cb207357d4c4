"""The functions as they are deployed: built by `sam build` (for this machine's architecture, with the
same pinned requirements and layer Makefile), then each handler invoked with its sample event from
events/ in a clean `python3.12 -I -S` whose import path is only the standard library, that
function's directory, its layers' python/ folders and the boto3 that the Lambda runtime provides.
A module a layer lacks fails here, as it would in Lambda."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_sam_build import functions_in, load_template

from tickerwatch.local import JOBS_ONLY

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / ".aws-sam" / "native"
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
# The python3.12 Lambda runtime ships boto3 (the layers leave it out); this stands in for it.
RUNTIME_BOTO3 = "boto3==1.40.4"
# Invoked in this order: the user the later events act as is registered and signs in first.
ORDER = ["migrate", "health", "market", "register", "token", "account", "stocks", "predict", "alerts", "fetch_prices"]
ORDER += ["trading", "process_prices", "forecast_alerts"]

PROBE = r"""
import json, sys
function_dir, event_path, token = sys.argv[1], sys.argv[2], sys.argv[3]
import importlib.util
spec = importlib.util.spec_from_file_location("app", function_dir + "/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if event_path == "-":
    print(json.dumps({"imported": True}))
    raise SystemExit
event = json.loads(open(event_path).read().replace("REPLACE_WITH_AN_ACCESS_TOKEN", token))

class Context:
    function_name = "built"
    memory_limit_in_mb = 512
    aws_request_id = "built-0001"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:built"
    def get_remaining_time_in_millis(self):
        return 300_000

result = module.handler(event, Context())
print(json.dumps({"result": result, "modules": sorted(sys.modules)}, default=str))
"""


def machine_arch() -> tuple[str, str]:
    """(Lambda's name, pip's platform name) for this machine."""
    return ("arm64", "aarch64") if platform.machine() in ("aarch64", "arm64") else ("x86_64", "x86_64")


@pytest.fixture(scope="module")
def built() -> Path:
    sam, python312 = shutil.which("sam"), shutil.which("python3.12")
    assert sam and python312, "make test puts the sam CLI and python3.12 on PATH"
    lambda_arch, pip_arch = machine_arch()
    NATIVE.mkdir(parents=True, exist_ok=True)
    source = (ROOT / "template.yaml").read_text()
    template = NATIVE / "template.yaml"
    template.write_text(source.replace("[arm64]", f"[{lambda_arch}]").replace(": arm64", f": {lambda_arch}"))
    folders = ["--base-dir", str(ROOT), "--build-dir", str(NATIVE / "build"), "--cache-dir", str(NATIVE / "cache")]
    result = subprocess.run(
        [sam, "build", "--parallel", "--cached", "--template-file", str(template), *folders],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "LAYER_ARCH": pip_arch},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runtime = NATIVE / "runtime"
    if not (runtime / "boto3").is_dir():
        # uv, as every install of `make test` (pip took 7.7 s of a fresh clone's run here, uv 0.9 s)
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        assert uv, "uv is installed into the virtual environment by make"
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", python312, "--target", str(runtime), RUNTIME_BOTO3],
            check=True,
            timeout=300,
        )
    return NATIVE / "build"


def import_path(build: Path, logical_id: str, resource: dict, global_layers: list[str]) -> list[str]:
    layers = global_layers + [ref["Ref"] for ref in resource["Properties"].get("Layers", [])]
    return [str(build / logical_id), *(str(build / layer / "python") for layer in layers), str(NATIVE / "runtime")]


@pytest.mark.slow
def test_each_built_function_runs_its_sample_event_with_only_its_layers(built, db, database_url, tmp_path):
    source = load_template(ROOT / "template.yaml")
    global_layers = [ref["Ref"] for ref in source["Globals"]["Function"]["Layers"]]
    by_name = {Path(r["Properties"]["CodeUri"]).name: (k, r) for k, r in functions_in(source).items()}
    assert set(ORDER) | JOBS_ONLY == set(by_name)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "JWT_SECRET": "built-function-secret-0123456789abcdef0123",
        "TICKERWATCH_MARKET_DATA": f"csv:{SHARED_DATA}",
        "TICKERWATCH_DATA_DIR": str(tmp_path),
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "tickerwatch-test",
        "POWERTOOLS_SERVICE_NAME": "tickerwatch",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    token = "none"
    python312 = shutil.which("python3.12")
    for name in [*ORDER, *sorted(JOBS_ONLY - {"migrate"})]:
        logical_id, resource = by_name[name]
        path = import_path(built, logical_id, resource, global_layers)
        event = "-" if name == "rotate_jwt_secret" else str(ROOT / "events" / f"{name}.json")
        code = f"import sys; sys.path[:0] = {path!r}; exec(sys.stdin.read())"
        run = subprocess.run(
            [python312, "-I", "-S", "-c", code, str(built / logical_id), event, token],
            input=PROBE,
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        assert run.returncode == 0, f"{name}: {run.stderr[-3000:]}"
        answer = json.loads(run.stdout.strip().splitlines()[-1])
        if event == "-":
            continue
        result = answer["result"]
        if "statusCode" in result:
            assert result["statusCode"] < 300, (name, result)
        else:
            assert "error" not in result, (name, result)
        if name == "token":
            token = json.loads(result["body"])["access"]
        loaded = {m.split(".")[0] for m in answer["modules"]}
        if name not in ("predict",):
            assert "matplotlib" not in loaded, name  # only predict's layers hold it
