# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The render directory: file contents and an idempotent writer.

Layout (a public interface, documented in the README)::

    <dir>/manifests/NN-<group>.yaml   multi-document YAML, apply order
    <dir>/helm/<release>.values.yaml  values of every Helm release
    <dir>/helm/releases.yaml          {releases: [{name, namespace, chart, version, ...}]}
    <dir>/summary.txt                 the human summary
    <dir>/.sidecarless-mesh           marker: the directory is ours to prune

Writing compares contents first, so a second run with the same inventory
changes nothing. Files are written atomically with mode 0640, and the
directories the writer creates get mode 0750: Helm values may carry what
users pass through ``*_helm_values``, so nothing it writes is
world-readable. The marker lists the files the render wrote; a later render
removes only those (when it no longer produces them), never a file of
someone else's, and refuses a ``manifests`` or ``helm`` that is a symbolic
link, so nothing outside the render directory is written, re-moded or
deleted.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile

from .yamlout import dump, dump_all

MARKER = ".sidecarless-mesh"
FILE_MODE = 0o640
DIR_MODE = 0o750
OWNED_DIRS = ("manifests", "helm")


def _comment_text(text):
    """``text`` safe inside a one-line YAML comment: control characters (a newline would end the comment
    and start YAML of its own) are written as escapes."""
    return "".join(char if char.isprintable() else json.dumps(char)[1:-1] for char in str(text))


def _header(rendering, what):
    return ("# %s for mesh %r, rendered by sidecarless.mesh. Do not edit: change the inventory and "
            "run site.yml again.\n" % (_comment_text(what), rendering.mesh.cluster_name))


def render_files(rendering):
    """Relative path -> text of every file in the render directory."""
    from .render import MANIFEST_FILES
    titles = dict(MANIFEST_FILES)
    files = {}
    for name, objects in rendering.files.items():
        if not objects:
            continue
        body = dump_all(objects)
        files["manifests/" + name] = _header(rendering, titles[name]) + body
    for release in rendering.releases:
        files["helm/" + release.values_file] = (
            _header(rendering, "Helm values of release %s (%s %s)" % (release.name, release.chart, release.version))
            + dump(release.values))
    files["helm/releases.yaml"] = (_header(rendering, "Helm releases in install order")
                                   + dump(rendering.releases_document()))
    files["summary.txt"] = "\n".join(rendering.summary) + "\n"
    files[MARKER] = _marker_text(rendering, files)
    return files


def _marker_text(rendering, files):
    """The marker: what wrote the directory, and the files it wrote (the only ones a later render removes)."""
    listed = sorted(rel for rel in files if rel.startswith(tuple(sub + "/" for sub in OWNED_DIRS)))
    return ("This directory is written by sidecarless.mesh (mesh %r). A later render removes the files listed "
            "below when it no longer produces them, and nothing else.\n%s" % (
                rendering.mesh.cluster_name, "".join("%s%s\n" % (_LISTED, rel) for rel in listed)))


_LISTED = "wrote: "
#: What a marker of a release before the file list was written may have left (removed by name only).
_LEGACY_OWNED = re.compile(r"^(manifests/[0-9]{2}-[a-z-]+\.yaml|helm/[a-z0-9][a-z0-9.-]*\.values\.yaml|helm/releases\.yaml)$")


def _previously_written(dest):
    """Relative paths the last render recorded in its marker (None: no marker, nothing is ours)."""
    text = _read(os.path.join(dest, MARKER))
    if text is None:
        return None
    listed = [line[len(_LISTED):] for line in text.splitlines() if line.startswith(_LISTED)]
    if listed or "listed below" in text:
        return set(listed)
    # A marker without the list: the files a render of this collection can produce, by name.
    found = set()
    for sub in OWNED_DIRS:
        folder = os.path.join(dest, sub)
        if os.path.isdir(folder) and not os.path.islink(folder):
            found.update("%s/%s" % (sub, name) for name in os.listdir(folder)
                         if _LEGACY_OWNED.match("%s/%s" % (sub, name)))
    return found


def plan(dest, files):
    """Compare ``files`` with what is on disk.

    Returns ``(changed, removed, before)``: relative paths to (re)write,
    relative paths to delete and the old text of changed files (or None).
    Only files an earlier render recorded in the marker are ever removed.
    """
    changed = []
    before = {}
    for rel in sorted(files):
        path = os.path.join(dest, rel)
        info = _lstat(path)
        old = _read(path) if info is not None and stat.S_ISREG(info.st_mode) else None
        if old != files[rel] or (info.st_mode & 0o777) != FILE_MODE:
            changed.append(rel)
            before[rel] = old
    removed = []
    previous = _previously_written(dest) or set()
    for rel in sorted(previous - set(files)):
        info = _lstat(os.path.join(dest, rel))
        if info is not None and not stat.S_ISDIR(info.st_mode):
            removed.append(rel)
    return changed, removed, before


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def _read(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def check_destination(dest):
    """Problem text when ``dest`` cannot be a render directory, else None.

    The directory may itself be (or lie behind) a symbolic link the user chose; inside it, ``manifests``
    and ``helm`` must be real directories, so that writing and pruning never reach outside it.
    """
    real = os.path.realpath(dest)
    if real == os.path.dirname(real):
        return "mesh_render_dir: %r is a filesystem root; choose a directory of its own" % dest
    if os.path.exists(real) and not os.path.isdir(real):
        return "mesh_render_dir: %r exists and is not a directory" % dest
    for sub in OWNED_DIRS:
        path = os.path.join(real, sub)
        if os.path.islink(path):
            return ("mesh_render_dir: %s is a symbolic link (to %s); the render writes and prunes files there, so "
                    "it must be a directory inside %r: remove the link" % (path, os.readlink(path), dest))
        if os.path.exists(path) and not os.path.isdir(path):
            return "mesh_render_dir: %s exists and is not a directory" % path
    if os.path.isdir(real) and os.listdir(real) and not os.path.exists(os.path.join(real, MARKER)):
        foreign = [name for name in os.listdir(real) if name not in ("manifests", "helm", "summary.txt")]
        if foreign:
            return ("mesh_render_dir: %r already holds other files (%s); render into an empty directory or one "
                    "written by sidecarless.mesh" % (dest, ", ".join(sorted(foreign)[:5])))
    return None


def write(dest, files, changed, removed):
    """Apply a ``plan``: write changed files atomically, delete removed ones.

    Each file goes through a temporary file created exclusively (``mkstemp``: a random name, O_EXCL, no
    symbolic link followed) in its own directory, then replaces its path (a link there is replaced, not
    followed). Directories the writer creates get mode 0750 whatever the umask; existing ones keep theirs.
    """
    problem = check_destination(dest)
    if problem:
        raise OSError(problem)
    _makedirs(dest)
    made = set([dest])
    for rel in changed:
        path = os.path.join(dest, rel)
        folder = os.path.dirname(path)
        if folder not in made:
            _makedirs(folder)
            made.add(folder)
        handle, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), FILE_MODE)
                out.write(files[rel])
            os.replace(tmp, path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
    for rel in removed:
        path = os.path.join(dest, rel)
        if os.path.lexists(path):
            os.unlink(path)


def _makedirs(path):
    """Create ``path`` and missing parents with mode 0750 (exactly, whatever the umask); leave existing ones."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
            continue
        os.chmod(folder, DIR_MODE)
