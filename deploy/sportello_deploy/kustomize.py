"""Kustomize, built from source with the machine's Go, and rendering ``k8s/`` overlays with it.

No kustomize or kubectl may be assumed on a machine, but Go and the Go module proxy are: the pinned
release is ``go install``-ed once into the git-ignored ``.cache/tools`` (module and build caches
there too, so nothing outside the repository changes) and reused afterwards. About 30 s the first
time on a 2-core machine.

    python -m sportello_deploy.kustomize build k8s/overlays/prod
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.5.0"

_REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = _REPO_ROOT / ".cache" / "tools"


class KustomizeError(RuntimeError):
    """Kustomize could not be built, or refused to render."""


def ensure_kustomize(tools_dir: Path = TOOLS_DIR) -> Path:
    """The path of the pinned kustomize binary, building it first if needed."""
    binary = tools_dir / "bin" / f"kustomize-{KUSTOMIZE_VERSION}"
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise KustomizeError("Go is needed to build kustomize (it is on every Sportello machine)")
    build_dir = tools_dir / "go"
    env = {**os.environ, "GOBIN": str(build_dir / "bin"), "GOPATH": str(build_dir / "path"),
           "GOMODCACHE": str(build_dir / "mod"), "GOCACHE": str(build_dir / "cache"),
           "GOFLAGS": "-modcacherw", "CGO_ENABLED": "0"}
    done = subprocess.run([go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KustomizeError(f"go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} failed:\n"
                             f"{done.stderr[-3000:]}")
    binary.parent.mkdir(parents=True, exist_ok=True)
    # Named by version, moved in one step: a concurrent build never sees half a binary.
    staged = binary.with_suffix(".tmp")
    shutil.copy2(build_dir / "bin" / "kustomize", staged)
    staged.replace(binary)
    return binary


def build(overlay: Path, tools_dir: Path = TOOLS_DIR) -> str:
    """``kustomize build <overlay>``: the rendered YAML stream."""
    done = subprocess.run([str(ensure_kustomize(tools_dir)), "build", str(overlay)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KustomizeError(f"kustomize build {overlay} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def render(overlay: Path, tools_dir: Path = TOOLS_DIR) -> list[dict[str, Any]]:
    """The overlay's objects, parsed."""
    return [doc for doc in yaml.safe_load_all(build(overlay, tools_dir)) if doc]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "build":
        raise SystemExit("usage: python -m sportello_deploy.kustomize build <overlay dir>")
    sys.stdout.write(build(Path(args[1])))


if __name__ == "__main__":
    main()
