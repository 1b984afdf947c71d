# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test control plane does not outlive the process that started it.

ansible-test units runs every test in a forked child that never finalises
session or module fixtures; a killed pytest does not either. Each cluster
therefore starts with a watchdog (tests/controlplane/watchdog.py) that
stops it once its owner is gone. Left running, such clusters piled up and
slowed a whole suite run several times over.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from controlplane import testing

pytestmark = pytest.mark.cluster


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def test_a_cluster_left_behind_by_its_owner_is_stopped(control_plane_binaries, tmp_path):
    del control_plane_binaries
    report = tmp_path / "cluster.json"
    child = os.fork()
    if child == 0:  # a forked test that starts a cluster and ends without stopping it
        try:
            kube = testing.start(cni=True)
            report.write_text(json.dumps({"state": kube.plane.state_dir, "pids": kube.plane.pids()}))
        finally:
            os._exit(0)  # pylint: disable=protected-access
    os.waitpid(child, 0)
    left = json.loads(report.read_text())
    assert set(left["pids"]) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "simulator",
                                 "watchdog"}
    deadline = time.time() + 20
    while time.time() < deadline and any(_running(pid) for pid in left["pids"].values()):
        time.sleep(0.5)
    assert [name for name, pid in left["pids"].items() if _running(pid)] == []
    assert not os.path.exists(left["state"])


def test_a_cluster_stopped_by_its_owner_takes_its_watchdog_along(control_plane_binaries):
    del control_plane_binaries
    kube = testing.start(cni=True)
    pids = kube.plane.pids()
    kube.plane.stop()
    deadline = time.time() + 10
    while time.time() < deadline and _running(pids["watchdog"]):
        time.sleep(0.2)
    assert not _running(pids["watchdog"])
