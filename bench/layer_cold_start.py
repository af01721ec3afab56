"""Cold start of each handler as its code really ships to Lambda, side by side with a bare
`import boto3` from a compiled install (as the runtime's is):

- "sam python3.12": the layer as SAM's python builder made it — the requirements' own
  dependencies resolved (botocore among them, via aws-xray-sdk, shadowing the runtime's)
  and no bytecode, so every cold start compiles what it imports;
- "layer Makefile": the layer as layers/common/Makefile makes it now — exactly the pinned
  list, bytecode compiled (unchecked-hash).

Both layers are built here for this interpreter (pip needs the package registry); the
functions' own folders are copied without bytecode, as SAM ships them. Lambda's code and
layers are read-only, so nothing is cached between cold starts: each sample is a fresh
process with PYTHONDONTWRITEBYTECODE. Medians of N interleaved samples.

    .venv/bin/python bench/layer_cold_start.py [N]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_time import ENV, HANDLERS, ROOT  # the same handlers and environment

PROBE = (
    "import time; t = time.perf_counter(); import {module}; d = time.perf_counter() - t; "
    "import sys; m = sys.modules.get('opslink'); print(d, m.__file__ if m else '')"
)


def build(workdir: Path) -> dict[str, Path]:
    """The two layers and the functions' folders, under `workdir`."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-warn-conflicts"]
    requirements = str(ROOT / "layers" / "common" / "requirements.txt")
    sam = workdir / "sam" / "python"
    subprocess.run([*pip, "--target", str(sam), "-r", requirements], check=True,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    shutil.copytree(ROOT / "layers" / "common" / "opslink", sam / "opslink",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    made = workdir / "make"
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "layers" / "common"), "build-CommonLayer",
         f"ARTIFACTS_DIR={made}", f"PYTHON={sys.executable}", f"PY_VERSION={version}"],
        check=True,
    )  # fmt: skip
    functions = workdir / "functions"
    for name in HANDLERS:
        shutil.copytree(ROOT / "functions" / name, functions / name,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return {"sam python3.12": sam, "layer Makefile": made / "python", "functions": functions}


def sample(module: str, path: list[Path], layer: Path | None) -> float:
    env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join(map(str, path)),
           "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    seconds, origin = out.stdout.split(maxsplit=1) if layer else (out.stdout, "")
    if layer is not None:  # the layer under test, not the development tree, was imported
        assert origin.strip().startswith(str(layer)), origin
    return float(seconds)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    with tempfile.TemporaryDirectory() as tmp:
        built = build(Path(tmp))
        layers = [k for k in built if k != "functions"]
        rows: dict[str, list[float]] = {"boto3": []}
        for _ in range(n):  # interleaved, so drift hits every variant alike
            rows["boto3"].append(sample("boto3", [], None))
            for name, module in HANDLERS.items():
                for layer in layers:
                    path = [built["functions"] / name, built[layer]]
                    rows.setdefault(f"{name}, {layer}", []).append(
                        sample(module, path, built[layer])
                    )
    base = statistics.median(rows["boto3"])
    print(f"python {sys.version.split()[0]}, {n} fresh processes per row, medians")
    print(f"{'module, layer built by':<30}{'median ms':>10}{'ratio':>8}")
    for label, values in rows.items():
        med = statistics.median(values)
        print(f"{label:<30}{med * 1000:>10.1f}{med / base:>8.2f}")


if __name__ == "__main__":
    main()
