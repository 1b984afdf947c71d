# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure render mode for meshes of 10, 100 and 1000 apps.

For each size this generates an inventory (apps spread over namespaces,
every app with a canary split, a north-south route and a caller, default
deny on), runs ``ansible-playbook site.yml`` in render mode and prints

* wall time of the playbook (best of --runs) and the tasks it executed,
* time of the core alone (validate + render + serialise, in this process),
* objects, files and peak memory of the playbook run.

The target (DESIGN.md): a constant number of tasks, and 1000 apps in at
most 3x the wall time of 10 apps. This script only prints figures; no test
asserts on time, the machines are too noisy for that.

Usage: .venv/bin/python tools/benchmark.py [--sizes 10 100 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.sidecarless.mesh.plugins.module_utils.output import render_files  # noqa: E402
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render  # noqa: E402


def mesh_variables(size):
    apps = []
    for index in range(size):
        namespace = "team%d" % (index % 25)
        apps.append({
            "name": "app%d" % index,
            "namespace": namespace,
            "port": 8080,
            "versions": [{"name": "stable", "weight": 90}, {"name": "canary", "weight": 10}],
            "routes": [{"gateway": "edge", "path": "/app%d" % index}],
            "allowed_callers": ["app%d.team%d" % (index - 1, (index - 1) % 25)] if index else [],
        })
    return {
        "mesh_cluster_name": "bench%d" % size,
        "cilium_k8s_service_host": "192.0.2.10",
        "cilium_lb_ipam_pools": [{"name": "edge", "blocks": ["192.0.2.192/28"]}],
        "cilium_l2_announcements": {"enabled": True},
        "mesh_gateways": [{"name": "edge", "namespace": "edge", "listeners": [{"name": "http", "port": 80}]}],
        "mesh_ingress": {"namespace": "edge"},
        "mesh_apps": apps,
        "mesh_default_deny": True,
    }


def write_inventory(folder, variables):
    os.makedirs(os.path.join(folder, "group_vars", "all"))
    with open(os.path.join(folder, "hosts.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}, handle)
    with open(os.path.join(folder, "group_vars", "all", "mesh.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(variables, handle)
    return folder


def run_playbook(inventory, dest):
    home = os.path.join(os.path.dirname(dest), "ansible-home")  # Ansible's own files beside the render, not in ~
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=home,
               ANSIBLE_REMOTE_TEMP=os.path.join(home, "tmp"), ANSIBLE_LOCAL_TEMP=os.path.join(home, "local"))
    start = time.perf_counter()
    result = subprocess.run([os.path.join(sys.prefix, "bin", "ansible-playbook"), os.path.join(ROOT, "site.yml"),
                             "-i", inventory, "-e", "mesh_render_dir=%s" % dest], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:])
    tasks = len(re.findall(r"^TASK \[", result.stdout, re.M))
    return elapsed, tasks


def core_time(variables):
    start = time.perf_counter()
    rendering = render(variables)
    files = render_files(rendering)
    return time.perf_counter() - start, len(rendering.objects()), len(files)


def main():
    parser = argparse.ArgumentParser(description="Measure render mode for growing meshes.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=3, help="playbook runs per size (best is reported)")
    args = parser.parse_args()
    rows = []
    # Under build/ like a real render directory (on some machines /tmp is much slower to create files in).
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="benchmark-", dir=os.path.join(ROOT, "build")) as work:
        for size in args.sizes:
            variables = mesh_variables(size)
            inventory = os.path.join(work, "inv%d" % size)
            write_inventory(inventory, variables)
            core = min(core_time(variables) for attempt in range(args.runs))
            walls = []
            for attempt in range(args.runs):
                dest = os.path.join(work, "out%d-%d" % (size, attempt))
                walls.append(run_playbook(inventory, dest))
            wall = min(w[0] for w in walls)
            tasks = walls[0][1]
            memory = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
            rows.append((size, wall, tasks, core[0], core[1], core[2], memory))
    header = ("apps", "wall (s)", "tasks", "core (s)", "objects", "files", "peak MiB")
    print("%6s %10s %7s %9s %8s %6s %10s" % header)
    for size, wall, tasks, core, objects, files, memory in rows:
        print("%6d %10.2f %7d %9.3f %8d %6d %10.0f" % (size, wall, tasks, core, objects, files, memory))
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        ratio = last[1] / first[1]
        print("wall time %d apps / %d apps: %.2fx (target <= 3x); tasks %s" % (
            last[0], first[0], ratio, "constant" if len(set(r[2] for r in rows)) == 1 else "NOT constant"))
    print("(peak MiB is the largest child process so far: the biggest ansible-playbook run)")


if __name__ == "__main__":
    main()
