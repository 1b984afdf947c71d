# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m controlplane.watchdog --owner PID --state-dir DIR``: stop a test cluster its owner left behind.

A test cluster belongs to the process that started it. When that process
ends without stopping it (a killed pytest, a timeout, ansible-test units,
which runs every test in a forked child that never finalises session or
module fixtures), the etcd, API server, controller-manager, scheduler and
simulator would run on and load the machine. The watchdog, started with
the cluster in a session of its own, looks every second: once the owner is
gone it kills every process listed in ``DIR/pids`` and removes ``DIR``;
once ``DIR`` is gone (a normal stop) it simply exits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import time


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def _kill_components(state_dir):
    folder = os.path.join(state_dir, "pids")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        if pid == os.getpid():
            continue
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
                break
            except OSError:
                continue


def main(argv=None):
    parser = argparse.ArgumentParser(prog="controlplane.watchdog", description=__doc__.splitlines()[0])
    parser.add_argument("--owner", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    while os.path.isdir(args.state_dir):
        if not _alive(args.owner):
            _kill_components(args.state_dir)
            shutil.rmtree(args.state_dir, ignore_errors=True)
            return 0
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
