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
changes nothing. Files are written atomically with mode 0640 in
directories with mode 0750: Helm values may carry what users pass through
``*_helm_values``, so nothing is world-readable.
"""

from __future__ import annotations

import json
import os

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
    files[MARKER] = ("This directory is written by sidecarless.mesh (mesh %r). Files under manifests/ and helm/ "
                     "that a render does not produce are removed.\n" % rendering.mesh.cluster_name)
    return files


def plan(dest, files):
    """Compare ``files`` with what is on disk.

    Returns ``(changed, removed, before)``: relative paths to (re)write,
    relative paths to delete and the old text of changed files (or None).
    """
    changed = []
    before = {}
    for rel in sorted(files):
        path = os.path.join(dest, rel)
        old = _read(path)
        mode_ok = old is not None and (os.stat(path).st_mode & 0o777) == FILE_MODE
        if old != files[rel] or not mode_ok:
            changed.append(rel)
            before[rel] = old
    removed = []
    if os.path.exists(os.path.join(dest, MARKER)):
        for sub in OWNED_DIRS:
            folder = os.path.join(dest, sub)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                rel = "%s/%s" % (sub, name)
                if rel not in files and name.endswith(".yaml") and os.path.isfile(os.path.join(folder, name)):
                    removed.append(rel)
    return changed, removed, before


def _read(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def check_destination(dest):
    """Problem text when ``dest`` cannot be a render directory, else None."""
    real = os.path.realpath(dest)
    if real == os.path.dirname(real):
        return "mesh_render_dir: %r is a filesystem root; choose a directory of its own" % dest
    if os.path.exists(real) and not os.path.isdir(real):
        return "mesh_render_dir: %r exists and is not a directory" % dest
    if os.path.isdir(real) and os.listdir(real) and not os.path.exists(os.path.join(real, MARKER)):
        foreign = [name for name in os.listdir(real) if name not in ("manifests", "helm", "summary.txt")]
        if foreign:
            return ("mesh_render_dir: %r already holds other files (%s); render into an empty directory or one "
                    "written by sidecarless.mesh" % (dest, ", ".join(sorted(foreign)[:5])))
    return None


def write(dest, files, changed, removed):
    """Apply a ``plan``: write changed files atomically, delete removed ones."""
    _makedirs(dest)
    made = set([dest])
    suffix = ".tmp-%d" % os.getpid()
    for rel in changed:
        path = os.path.join(dest, rel)
        folder = os.path.dirname(path)
        if folder not in made:
            _makedirs(folder)
            made.add(folder)
        tmp = path + suffix
        try:
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(files[rel])
            os.chmod(tmp, FILE_MODE)  # the umask may have narrowed or (for root) widened it
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    for rel in removed:
        os.unlink(os.path.join(dest, rel))


def _makedirs(path):
    if not os.path.isdir(path):
        os.makedirs(path, DIR_MODE)
    if (os.stat(path).st_mode & 0o777) != DIR_MODE:
        os.chmod(path, DIR_MODE)
