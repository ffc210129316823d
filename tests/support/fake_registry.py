"""A stand-in for the docker and gh commands ``scripts/publish_image.py`` runs, with a registry.

No Docker daemon and no registry are reachable where the tests run, so this plays both, the way
their command lines answer (the outputs the script parses): ``docker save``, ``load``, ``tag`` and
``push`` of images kept as ``docker save`` archives, and a registry of manifests and tags that
``docker buildx imagetools inspect`` and ``create`` read and write; ``gh release view`` answers
the repository's latest release. Its state is a JSON file, so the same stand-in serves a test
in-process (as the script's runner) and as ``docker`` and ``gh`` executables on ``PATH``
(:func:`install`). It records every command it was given. Standard library only.

Knobs a test sets in the state: ``saved`` (tag: path of the archive ``docker save`` writes),
``releases`` (the latest release ``gh`` answers, one per call, the last one repeated),
``push_config`` (the registry stores this config instead of the pushed one: another image under
the pushed digest), ``index`` (push an index with an attestation manifest, as Docker's
containerd image store does).
"""

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def save_archive(path: Path, config: bytes, tag: str) -> str:
    """Write a ``docker save`` archive of an image with ``config`` saved as ``tag``; its ID."""
    digest = hashlib.sha256(config).hexdigest()
    entries = [{"Config": f"blobs/sha256/{digest}", "RepoTags": [tag], "Layers": []}]
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("manifest.json", json.dumps(entries).encode()),
            (f"blobs/sha256/{digest}", config),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}"


def _digest(document: dict[str, Any]) -> tuple[str, str]:
    text = json.dumps(document, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest(), text


class FakeEngine:
    """docker and gh, answering from (and recording into) the JSON state at ``path``."""

    def __init__(self, path: Path) -> None:
        """Use the state at ``path`` (created empty when missing)."""
        self.path = path
        if not path.exists():
            self.save({})

    def state(self) -> dict[str, Any]:
        """The state as stored, with every table present."""
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        for key in ("saved", "loaded", "manifests", "tags", "log"):
            data.setdefault(key, [] if key == "log" else {})
        data.setdefault("releases", [])
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Store ``data`` as the state."""
        self.path.write_text(json.dumps(data, indent=1), encoding="utf-8")

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Answer ``command`` as docker or gh would: status, standard output and error."""
        data = self.state()
        data["log"].append(list(command))
        code, out, err = self._answer(data, list(command))
        self.save(data)
        return subprocess.CompletedProcess(list(command), code, out, err)

    def _answer(self, data: dict[str, Any], command: list[str]) -> tuple[int, str, str]:
        if command[:3] == ["gh", "release", "view"]:
            if not data["releases"]:
                return 1, "", "release not found\n"
            answer = data["releases"][0] if len(data["releases"]) == 1 else data["releases"].pop(0)
            return 0, f"{answer}\n", ""
        handlers = {
            "save": self._save,
            "load": self._load,
            "tag": self._tag,
            "push": self._push,
            "buildx": self._imagetools,
        }
        if command[:1] == ["docker"] and len(command) > 1 and command[1] in handlers:
            return handlers[command[1]](data, command[2:])
        return _unknown(command)

    @staticmethod
    def _save(data: dict[str, Any], arguments: list[str]) -> tuple[int, str, str]:
        match arguments:
            case ["--output", path, tag] if tag in data["saved"]:
                shutil.copyfile(data["saved"][tag], path)
                return 0, "", ""
            case ["--output", _, tag]:
                return 1, "", f"Error response from daemon: No such image: {tag}\n"
        return _unknown(["docker", "save", *arguments])

    @staticmethod
    def _load(data: dict[str, Any], arguments: list[str]) -> tuple[int, str, str]:
        if arguments[:1] != ["--input"] or len(arguments) != 2:
            return _unknown(["docker", "load", *arguments])
        with tarfile.open(arguments[1]) as tar:
            manifest = tar.extractfile("manifest.json")
            assert manifest is not None
            (entry,) = json.loads(manifest.read())
            config = tar.extractfile(entry["Config"])
            assert config is not None
            digest = "sha256:" + hashlib.sha256(config.read()).hexdigest()
        for tag in entry["RepoTags"]:
            data["loaded"][tag] = digest
        return 0, "".join(f"Loaded image: {tag}\n" for tag in entry["RepoTags"]), ""

    @staticmethod
    def _tag(data: dict[str, Any], arguments: list[str]) -> tuple[int, str, str]:
        source, target = arguments
        if source not in data["loaded"]:
            return 1, "", f"Error response from daemon: No such image: {source}\n"
        data["loaded"][target] = data["loaded"][source]
        return 0, "", ""

    def _imagetools(self, data: dict[str, Any], arguments: list[str]) -> tuple[int, str, str]:
        match arguments:
            case ["imagetools", "inspect", "--raw", reference]:
                found = self._resolve(data, reference)
                answer = data["manifests"][found] if found else ""
            case ["imagetools", "inspect", reference, "--format", _]:
                found = self._resolve(data, reference)
                answer = json.dumps({"mediaType": OCI_MANIFEST, "digest": found}) + "\n"
            case ["imagetools", "create", "--prefer-index=false", "--tag", target, reference]:
                found = self._resolve(data, reference)
                if found:
                    data["tags"][target] = found
                answer = ""
            case _:
                return _unknown(["docker", "buildx", *arguments])
        if found is None:
            return 1, "", f"ERROR: {reference}: not found\n"
        return 0, answer, ""

    @staticmethod
    def _resolve(data: dict[str, Any], reference: str) -> str | None:
        """The digest ``name@digest`` or ``name:tag`` names in the registry, or None."""
        if "@" in reference:
            digest = reference.split("@", 1)[1]
            return digest if digest in data["manifests"] else None
        found = data["tags"].get(reference)
        return str(found) if found is not None else None

    @staticmethod
    def _push(data: dict[str, Any], arguments: list[str]) -> tuple[int, str, str]:
        (reference,) = arguments
        if reference not in data["loaded"]:
            return 1, "", f"An image does not exist locally with the tag: {reference}\n"
        config = data.get("push_config") or data["loaded"][reference]
        image = {"mediaType": OCI_MANIFEST, "config": {"digest": config}, "layers": []}
        top, text = _digest(image)
        data["manifests"][top] = text
        if data.get("index"):
            attestation = {"mediaType": OCI_MANIFEST, "config": {"digest": "sha256:" + "0" * 64}}
            extra, extra_text = _digest(attestation)
            data["manifests"][extra] = extra_text
            index = {
                "mediaType": OCI_INDEX,
                "manifests": [
                    {"digest": top, "platform": {"os": "linux", "architecture": "amd64"}},
                    {"digest": extra, "platform": {"os": "unknown", "architecture": "unknown"}},
                ],
            }
            top, text = _digest(index)
            data["manifests"][top] = text
        data["tags"][reference] = top
        tag = reference.rsplit(":", 1)[1]
        return 0, f"{tag}: digest: {top} size: {len(text)}\n", ""


def _unknown(command: list[str]) -> tuple[int, str, str]:
    return 2, "", f"the stand-in does not know `{' '.join(command)}`\n"


def install(bin_dir: Path, state: Path) -> None:
    """Put ``docker`` and ``gh`` executables answering from ``state`` into ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("docker", "gh"):
        script = bin_dir / name
        script.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from pathlib import Path\n"
            "from fake_registry import FakeEngine\n"
            f"done = FakeEngine(Path({str(state)!r}))([{name!r}, *sys.argv[1:]])\n"
            "sys.stdout.write(done.stdout)\n"
            "sys.stderr.write(done.stderr)\n"
            "sys.exit(done.returncode)\n",
            encoding="utf-8",
        )
        script.chmod(0o755)
