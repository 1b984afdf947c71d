# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m controlplane up|down|status|build`` (PYTHONPATH=tests), behind ``make cluster-up``/``cluster-down``.

``up`` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and the simulator in the background, state in ``--state-dir`` (default
``.cluster/`` in the checkout), and prints ``KUBECONFIG=<path>`` as its last
line. ``down`` stops them and removes the state directory.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import binaries
from .cluster import ControlPlane, ControlPlaneError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_STATE = os.path.join(ROOT, ".cluster")
DEFAULT_UPSTREAM = os.environ.get("MESH_UPSTREAM_DIR", os.path.join(ROOT, "..", "shared", "upstream"))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="controlplane", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "build"])
    parser.add_argument("--state-dir", default=DEFAULT_STATE)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--upstream", default=DEFAULT_UPSTREAM,
                        help="upstream data directory (the Cilium CRDs the operator stand-in registers)")
    args = parser.parse_args(argv)
    state = os.path.abspath(args.state_dir)
    if args.command == "build":
        binaries.main()
        return 0
    if args.command == "down":
        plane = ControlPlane.attach(state)
        running = plane.pids()
        plane.stop()
        print("stopped %s; removed %s" % (", ".join(running) or "nothing (no cluster was running)", state))
        return 0
    if args.command == "status":
        plane = ControlPlane.attach(state)
        pids = plane.pids()
        if not pids:
            print("no cluster at %s" % state)
            return 1
        for name, pid in sorted(pids.items()):
            print("%-24s pid %d" % (name, pid))
        print("KUBECONFIG=%s" % plane.kubeconfig)
        return 0
    if ControlPlane.attach(state).pids():
        print("a cluster is already running at %s (make cluster-down first)" % state, file=sys.stderr)
        print("KUBECONFIG=%s" % os.path.join(state, "kubeconfig"))
        return 0
    if os.path.exists(state):
        import shutil  # pylint: disable=import-outside-toplevel
        shutil.rmtree(state)
    os.makedirs(state, mode=0o700)
    upstream = os.path.abspath(args.upstream)
    if not os.path.isdir(os.path.join(upstream, "cilium", "crds")):
        print("warning: no Cilium CRDs under %s: the Cilium operator stand-in will register none "
              "(set MESH_UPSTREAM_DIR)" % upstream, file=sys.stderr)
        upstream = None
    plane = ControlPlane(state_dir=state, nodes=args.nodes, detach=True, upstream=upstream)
    try:
        plane.start()
    except ControlPlaneError as exc:
        print("cluster-up failed: %s" % exc, file=sys.stderr)
        return 1
    print("control plane at %s, logs in %s" % (plane.server, os.path.join(state, "logs")))
    print("stop it with: make cluster-down")
    print("KUBECONFIG=%s" % plane.kubeconfig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
