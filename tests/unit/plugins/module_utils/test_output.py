# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The render directory: layout, idempotent writes, pruning, permissions."""

from __future__ import annotations

import os
import stat

import yaml

from ansible_collections.sidecarless.mesh.plugins.module_utils import output
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from helpers import variables


def write(dest, rendering):
    files = output.render_files(rendering)
    changed, removed = output.plan(str(dest), files)[:2]
    output.write(str(dest), files, changed, removed)
    return changed, removed


def test_layout_matches_the_documented_interface(tmp_path):
    rendering = render(variables())
    write(tmp_path, rendering)
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert names == [
        ".sidecarless-mesh",
        "helm/cilium.values.yaml", "helm/dapr.values.yaml", "helm/ingress-shared.values.yaml",
        "helm/releases.yaml", "helm/shop-shared.values.yaml",
        "manifests/20-gateways.yaml", "manifests/30-services.yaml", "manifests/40-httproutes.yaml",
        "manifests/50-network-policies.yaml", "manifests/60-local-redirect-policies.yaml",
        "summary.txt",
    ]
    releases = yaml.safe_load((tmp_path / "helm" / "releases.yaml").read_text())
    assert [r["name"] for r in releases["releases"]] == ["cilium", "dapr", "ingress-shared", "shop-shared"]
    for entry in releases["releases"]:
        assert set(["name", "namespace", "chart", "version"]) <= set(entry)
        values = yaml.safe_load((tmp_path / "helm" / entry["values_file"]).read_text())
        assert values == [r for r in rendering.releases if r.name == entry["name"]][0].values
    docs = list(yaml.safe_load_all((tmp_path / "manifests" / "40-httproutes.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["HTTPRoute", "HTTPRoute"]
    assert (tmp_path / "summary.txt").read_text().startswith("sidecarless.mesh 'unit'")


def test_second_write_changes_nothing(tmp_path):
    rendering = render(variables())
    assert write(tmp_path, rendering)[0]
    files = output.render_files(render(variables()))
    assert output.plan(str(tmp_path), files)[:2] == ([], [])


def test_files_and_directories_are_not_world_readable(tmp_path):
    write(tmp_path / "out", render(variables()))
    for path in [tmp_path / "out"] + list((tmp_path / "out").rglob("*")):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o007 == 0, "%s has mode %o" % (path, mode)


def test_a_file_with_loose_permissions_is_rewritten(tmp_path):
    write(tmp_path, render(variables()))
    os.chmod(tmp_path / "summary.txt", 0o644)
    changed = output.plan(str(tmp_path), output.render_files(render(variables())))[0]
    assert changed == ["summary.txt"]


def test_objects_that_leave_the_inventory_leave_the_directory(tmp_path):
    write(tmp_path, render(variables()))
    smaller = render(variables(mesh_apps=[{"name": "shop"}], mesh_ingress={"local_redirect": False}))
    removed = write(tmp_path, smaller)[1]
    assert "manifests/60-local-redirect-policies.yaml" in removed
    assert not (tmp_path / "manifests" / "60-local-redirect-policies.yaml").exists()


def test_foreign_files_are_never_pruned_without_the_marker(tmp_path):
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "mine.yaml").write_text("kind: Mine\n")
    files = output.render_files(render(variables()))
    removed = output.plan(str(tmp_path), files)[1]
    assert removed == []


def test_destination_checks(tmp_path):
    assert "filesystem root" in output.check_destination("/")
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in output.check_destination(str(tmp_path / "file"))
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README.md").write_text("x")
    assert "already holds other files (README.md)" in output.check_destination(str(tmp_path / "repo"))
    assert output.check_destination(str(tmp_path / "new")) is None
    write(tmp_path / "ours", render(variables()))
    assert output.check_destination(str(tmp_path / "ours")) is None


def test_no_secret_material_is_rendered(tmp_path):
    rendering = render(variables(cilium_encryption="ipsec"))
    write(tmp_path, rendering)
    text = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "rfc4106" not in text and "kind: Secret" not in text
    assert "cilium-ipsec-keys" in (tmp_path / "helm" / "cilium.values.yaml").read_text()


def test_every_written_file_reads_back_as_the_data_rendered(tmp_path):
    """No inventory text reaches a file unescaped: a chart reference with a newline (refused by validation
    anyway) cannot add keys to the values file through its header comment; floats keep their type."""
    rendering = render(variables(cilium_helm_values={"extraConfig": {"ratio": 1e-05, "big": 1e20, "inf": float("inf")}}))
    rendering.releases[0].chart = "cilium/cilium)\nbpf:\n  masquerade: true\n#"
    rendering.releases[0].version = "1.20.0\rx: 1"
    write(tmp_path, rendering)
    for release in rendering.releases:
        text = (tmp_path / "helm" / release.values_file).read_text()
        assert yaml.safe_load(text) == release.values, text[:400]
    assert yaml.safe_load((tmp_path / "helm" / "releases.yaml").read_text()) == rendering.releases_document()
    for name, objects in rendering.files.items():
        if objects:
            assert list(yaml.safe_load_all((tmp_path / "manifests" / name).read_text())) == objects


def test_a_chart_reference_with_a_newline_is_refused():
    from helpers import problems
    found = problems(variables(cilium_chart="cilium/cilium\nbpf: {}", dapr_chart_repo_url="https://x/ y"))
    assert any(p.startswith("cilium_chart: must not contain spaces or control characters") for p in found), found
    assert any(p.startswith("dapr_chart_repo_url: must be empty or an http(s)://") for p in found), found


def test_a_symlinked_subdirectory_is_refused_and_nothing_outside_is_touched(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chmod(outside, 0o755)
    (outside / "precious.yaml").write_text("keep: me\n")
    dest = tmp_path / "render"
    write(dest, render(variables()))
    for sub in ("manifests", "helm"):
        moved = tmp_path / ("old-" + sub)
        os.rename(dest / sub, moved)
        os.symlink(str(outside), str(dest / sub))
        problem = output.check_destination(str(dest))
        assert problem and "%s is a symbolic link" % (dest / sub) in problem, problem
        files = output.render_files(render(variables(mesh_apps=[{"name": "shop"}])))
        try:
            output.write(str(dest), files, *output.plan(str(dest), files)[:2])
        except OSError as exc:
            assert "symbolic link" in str(exc)
        else:
            raise AssertionError("write() went through a symlinked %s" % sub)
        assert sorted(os.listdir(outside)) == ["precious.yaml"]
        assert (outside / "precious.yaml").read_text() == "keep: me\n"
        assert stat.S_IMODE(os.stat(outside).st_mode) == 0o755
        os.unlink(dest / sub)
        os.rename(moved, dest / sub)


def test_only_files_an_earlier_render_wrote_are_removed(tmp_path):
    write(tmp_path, render(variables()))
    (tmp_path / "helm" / "my-notes.yaml").write_text("mine: true\n")
    (tmp_path / "manifests" / "99-extra.yaml").write_text("kind: Mine\n")
    smaller = render(variables(mesh_apps=[{"name": "shop"}], mesh_ingress={"local_redirect": False}))
    removed = write(tmp_path, smaller)[1]
    assert "manifests/60-local-redirect-policies.yaml" in removed
    assert (tmp_path / "helm" / "my-notes.yaml").read_text() == "mine: true\n"
    assert (tmp_path / "manifests" / "99-extra.yaml").exists()
    marker = (tmp_path / ".sidecarless-mesh").read_text()
    assert "wrote: helm/releases.yaml" in marker and "my-notes" not in marker


def test_existing_directory_modes_are_kept_and_created_ones_are_safe_whatever_the_umask(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chmod(mine, 0o700)
    write(mine, render(variables()))
    assert stat.S_IMODE(os.stat(mine).st_mode) == 0o700
    old = os.umask(0)
    try:
        write(tmp_path / "a" / "b" / "out", render(variables()))
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "out",
                   tmp_path / "a" / "b" / "out" / "helm"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o750, folder
    for path in (tmp_path / "a" / "b" / "out").rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o640, path


def test_a_planted_link_at_a_file_path_is_replaced_not_followed(tmp_path):
    write(tmp_path / "out", render(variables()))
    target = tmp_path / "target.txt"
    target.write_text("untouched\n")
    os.unlink(tmp_path / "out" / "summary.txt")
    os.symlink(str(target), str(tmp_path / "out" / "summary.txt"))
    assert write(tmp_path / "out", render(variables()))[0] == ["summary.txt"]
    assert target.read_text() == "untouched\n"
    assert not os.path.islink(tmp_path / "out" / "summary.txt")
    leftovers = [p.name for p in (tmp_path / "out").rglob("*.tmp")]
    assert leftovers == []
