"""Publish the tested image, and only it: ``just image-archive``, ``image-push``, ``image-latest``.

The Publish workflow builds the serving image once, in a job that runs the project's code and holds
only ``contents: read``, smoke-tests it there, and saves it (``archive``). A second job, which runs
none of the project's code (no dependency is installed: this script uses the standard library and
the docker CLI only) and holds the registry and attestation permissions, loads that archive and
pushes it (``push``), then settles ``latest`` (``latest``):

- ``archive TAG ARCHIVE``: ``docker save`` the image TAG (the one the smoke test just ran) to
  ARCHIVE and print its **image ID**, the digest of its config. The config names every layer by
  the digest of its uncompressed content, so the ID identifies the file system and the settings
  exactly; it is the one identity that survives ``docker save``, ``load`` and ``push`` (the
  registry's manifest digest depends on how ``docker push`` compresses the layers, so it exists
  only once pushed).
- ``push ARCHIVE IMAGE TAG TESTED``: refuse an archive whose image ID is not TESTED (the ID the
  smoke-test job reported), load it, push it as ``IMAGE:TAG``, read back from the registry the
  manifest that digest names and refuse unless its image ID is TESTED: the registry holds the
  tested image under that digest, or the job fails. Writes ``name``, ``digest`` and
  ``image`` (``name@digest``) to the step's outputs, for the attestation and the deployment.
- ``latest IMAGE TAG``: point ``IMAGE:latest`` at the image of the repository's latest release
  (GitHub's *Latest* badge, asked with ``gh``) once that release's image is pushed, then ask again;
  if the latest release changed meanwhile (one published while this ran), do it again. Every
  Publish run ends with the same step, so whichever finishes last leaves ``latest`` on the latest
  release, in whatever order concurrent releases finish. Writes ``latest=true`` when that release
  is TAG (Publish then deploys it and its docs).

IMAGE is lowercased (``ghcr.io/<owner>/<repository>``: image names are lowercase, GitHub names need
not be). A release tag that is not a valid image tag is refused, not rewritten. Every failure is
one sentence on standard error and exit status 1. Usage: ``python scripts/publish_image.py --help``.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""What an image tag may be (the OCI distribution spec)."""
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
PUSHED = re.compile(r"digest: (sha256:[0-9a-f]{64})")
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
LATEST = "latest"
ATTEMPTS = 5
"""How many times ``latest`` follows a latest release that keeps changing before giving up."""

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


class PublishError(Exception):
    """A step of publishing could not be done, or found something other than the tested image."""


def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output as text (never raises on a failing status)."""
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def _checked(runner: Runner, command: Sequence[str]) -> str:
    """Run ``command``; its standard output, or :class:`PublishError` naming it on failure."""
    done = runner(command)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise PublishError(f"`{' '.join(command)}` failed: {said[-1] if said else 'no output'}")
    return done.stdout


@dataclass(frozen=True)
class Saved:
    """The one image a ``docker save`` archive holds: its image ID and the tags it was saved as."""

    image_id: str
    tags: tuple[str, ...]


def read_archive(archive: Path) -> Saved:
    """The image ID (``sha256:`` digest of the config) and tags of the one image in ``archive``.

    The config is read and hashed, not trusted by name: an archive whose config does not match its
    name is refused.
    """
    try:
        with tarfile.open(archive) as tar:
            index = tar.extractfile("manifest.json")
            entries = json.loads(index.read()) if index is not None else []
            if not isinstance(entries, list) or len(entries) != 1:
                raise PublishError(f"{archive}: holds {len(entries)} images, not the one tested")
            name = str(entries[0].get("Config", ""))
            config = tar.extractfile(name)
            if config is None:
                raise PublishError(f"{archive}: names a config {name!r} it does not hold")
            digest = "sha256:" + hashlib.sha256(config.read()).hexdigest()
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as error:
        raise PublishError(f"{archive}: not an image archive of `docker save` ({error})") from None
    if digest.removeprefix("sha256:") not in name:
        raise PublishError(f"{archive}: its config {name!r} does not hash to its name ({digest})")
    return Saved(digest, tuple(str(tag) for tag in entries[0].get("RepoTags") or []))


def image_name(image: str) -> str:
    """``image`` in lowercase (registry names are), refused if it carries a tag or a digest."""
    name = image.lower()
    if "@" in name or ":" in name.rsplit("/", 1)[-1] or not name.strip("/"):
        raise PublishError(f"{image!r}: give the image name alone (no tag, no digest)")
    return name


def image_tag(tag: str) -> str:
    """``tag`` if it is a valid image tag; one sentence otherwise (it is never rewritten)."""
    if not IMAGE_TAG.fullmatch(tag) or tag == LATEST:
        raise PublishError(
            f"release tag {tag!r} is not a valid image tag (letters, digits, _ . -, at most 128, "
            f"not starting with . or -, and not {LATEST!r}): publish the release under another tag"
        )
    return tag


def write_outputs(values: dict[str, str]) -> None:
    """Append ``key=value`` lines to the step's outputs (``GITHUB_OUTPUT``), when in Actions."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in values.items())


def archive_image(tag: str, archive: Path, runner: Runner = run) -> str:
    """``docker save`` the image ``tag`` to ``archive``; its image ID."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    _checked(runner, ["docker", "save", "--output", str(archive), tag])
    return read_archive(archive).image_id


def manifest(reference: str, runner: Runner = run) -> dict[str, Any]:
    """The manifest (or index) the registry serves for ``reference``, as JSON."""
    raw = _checked(runner, ["docker", "buildx", "imagetools", "inspect", "--raw", reference])
    try:
        found = json.loads(raw)
    except json.JSONDecodeError:
        raise PublishError(f"{reference}: the registry answered no JSON manifest") from None
    if not isinstance(found, dict):
        raise PublishError(f"{reference}: the registry answered no JSON manifest")
    return found


def registry_image_id(name: str, digest: str, runner: Runner = run) -> str:
    """The image ID of ``name@digest`` in the registry (through its one platform's manifest)."""
    found = manifest(f"{name}@{digest}", runner)
    if found.get("mediaType") in INDEX_TYPES or "manifests" in found:
        # An index (the containerd image store pushes one): its attestation manifests have the
        # platform unknown/unknown; the image is the one other manifest.
        images = [
            entry
            for entry in found.get("manifests", [])
            if (entry.get("platform") or {}).get("os") not in {None, "unknown"}
        ]
        if len(images) != 1:
            raise PublishError(f"{name}@{digest}: an index of {len(images)} images, not one")
        found = manifest(f"{name}@{images[0]['digest']}", runner)
    config = str((found.get("config") or {}).get("digest", ""))
    if not DIGEST.fullmatch(config):
        raise PublishError(f"{name}@{digest}: its manifest names no config digest")
    return config


def push(archive: Path, image: str, tag: str, tested: str, runner: Runner = run) -> str:
    """Push the tested image in ``archive`` as ``image:tag``; the digest the registry holds it at.

    Raises:
        PublishError: the archive is not the tested image, a docker command failed, or the
            registry holds another image under the pushed digest.
    """
    name, tag = image_name(image), image_tag(tag)
    if not DIGEST.fullmatch(tested):
        raise PublishError(f"{tested!r} is not the image ID of a tested image (sha256:<64 hex>)")
    saved = read_archive(archive)
    if saved.image_id != tested:
        raise PublishError(f"{archive}: holds image {saved.image_id}, not the tested {tested}")
    if len(saved.tags) != 1:
        raise PublishError(f"{archive}: the image was saved under {len(saved.tags)} tags, not one")
    _checked(runner, ["docker", "load", "--input", str(archive)])
    reference = f"{name}:{tag}"
    _checked(runner, ["docker", "tag", saved.tags[0], reference])
    pushed = PUSHED.search(_checked(runner, ["docker", "push", reference]))
    if pushed is None:
        raise PublishError(f"`docker push {reference}` did not say which digest it pushed")
    digest = pushed.group(1)
    held = registry_image_id(name, digest, runner)
    if held != tested:
        raise PublishError(
            f"{name}@{digest}: the registry holds image {held}, not the tested {tested}"
        )
    return digest


def tag_digest(reference: str, runner: Runner = run) -> str | None:
    """The digest ``reference`` (``name:tag``) points at in the registry; None when it has none."""
    done = runner(
        ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest}}"]
    )
    if done.returncode != 0:
        said = (done.stderr + done.stdout).lower()
        if "not found" in said or "manifest unknown" in said:
            return None
        raise PublishError(f"{reference}: cannot read it from the registry ({said.strip()[-200:]})")
    try:
        digest = str(json.loads(done.stdout).get("digest", ""))
    except (json.JSONDecodeError, AttributeError):
        digest = ""
    if not DIGEST.fullmatch(digest):
        raise PublishError(f"{reference}: the registry answered no digest")
    return digest


def latest_release(runner: Runner = run) -> str | None:
    """The tag of the repository's latest release (``gh``); None when it has none."""
    done = runner(["gh", "release", "view", "--json", "tagName", "--jq", ".tagName"])
    tag = done.stdout.strip()
    return tag if done.returncode == 0 and tag else None


def move_latest(image: str, tag: str, runner: Runner = run) -> bool:
    """Point ``image:latest`` at the latest release's image (the module says how); is it ``tag``?

    Raises:
        PublishError: the latest release changed on every one of :data:`ATTEMPTS` passes, or the
            registry did not take the new ``latest``.
    """
    name = image_name(image)
    for _ in range(ATTEMPTS):
        newest = latest_release(runner)
        if newest is None:
            print(f"no latest release (only drafts or pre-releases): {name}:{LATEST} not moved")
            return False
        if not IMAGE_TAG.fullmatch(newest):
            print(f"the latest release {newest!r} has no image (not a valid image tag)")
            return False
        digest = tag_digest(f"{name}:{newest}", runner)
        if digest is None:
            print(
                f"the latest release {newest} has no image yet: its own Publish run moves "
                f"{name}:{LATEST} once it pushes"
            )
            return False
        if tag_digest(f"{name}:{LATEST}", runner) != digest:
            _checked(
                runner,
                [
                    "docker", "buildx", "imagetools", "create", "--prefer-index=false",
                    "--tag", f"{name}:{LATEST}", f"{name}@{digest}",
                ],
            )  # fmt: skip
            if tag_digest(f"{name}:{LATEST}", runner) != digest:
                raise PublishError(f"{name}:{LATEST}: the registry did not take {digest}")
        if latest_release(runner) == newest:
            print(f"{name}:{LATEST} is {name}:{newest} ({digest})")
            return newest == tag
        print(f"a release was published meanwhile (the latest was {newest}): again")
    raise PublishError(
        f"the repository's latest release kept changing over {ATTEMPTS} passes: "
        f"{name}:{LATEST} may not be the latest release's image; re-run this job"
    )


def main(argv: Sequence[str] | None = None, runner: Runner = run) -> int:
    """Parse the sub-command and run it; 0 when it succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    archive_parser = commands.add_parser("archive", help="Save the tested image; its image ID.")
    archive_parser.add_argument("tag")
    archive_parser.add_argument("archive", type=Path)
    push_parser = commands.add_parser("push", help="Push the archive's image, verified.")
    push_parser.add_argument("archive", type=Path)
    push_parser.add_argument("image")
    push_parser.add_argument("tag")
    push_parser.add_argument("tested")
    latest_parser = commands.add_parser("latest", help="Point latest at the latest release.")
    latest_parser.add_argument("image")
    latest_parser.add_argument("tag")
    options = parser.parse_args(argv)
    try:
        if options.command == "archive":
            found = archive_image(options.tag, options.archive, runner)
            print(f"saved {options.tag} to {options.archive}: image {found}")
            write_outputs({"image-id": found})
        elif options.command == "push":
            name = image_name(options.image)
            digest = push(options.archive, name, options.tag, options.tested, runner)
            print(f"pushed {name}:{options.tag} as {name}@{digest}: image {options.tested}, tested")
            write_outputs({"name": name, "digest": digest, "image": f"{name}@{digest}"})
        else:
            moved = move_latest(options.image, options.tag, runner)
            write_outputs({"latest": str(moved).lower()})
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
