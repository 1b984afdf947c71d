# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the helm-diff plugin, for tests (helm-diff itself is not on the package registries).

``helm diff upgrade RELEASE CHART [--version V] [-f FILE]... [-n NS]`` prints
a unified diff between the release's deployed manifest and what a client
dry run of the upgrade renders, and nothing when they are equal: the part
of helm-diff that kubernetes.core.helm uses to decide whether a release
would change. Like helm-diff's default, the dry run does not read live
objects (``lookup`` finds nothing), so a chart that generates certificates
on every render (Cilium's Hubble TLS with method helm) always differs.
"""

import argparse
import difflib
import os
import subprocess
import sys


def main(argv):
    if not argv or argv[0] != "upgrade":
        sys.stderr.write("only 'helm diff upgrade' is stood in for\n")
        return 1
    parser = argparse.ArgumentParser(prog="helm diff upgrade")
    parser.add_argument("release")
    parser.add_argument("chart")
    parser.add_argument("--version")
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("-n", "--namespace", default=os.environ.get("HELM_NAMESPACE", "default"))
    args, _unknown = parser.parse_known_args(argv[1:])
    helm = os.environ.get("HELM_BIN", "helm")
    current = subprocess.run([helm, "get", "manifest", args.release, "-n", args.namespace], check=False,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    command = [helm, "upgrade", args.release, args.chart, "-n", args.namespace, "--dry-run"]
    if args.version:
        command += ["--version", args.version]
    for path in args.values:
        command += ["-f", path]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    wanted = output.partition("\nMANIFEST:\n")[2].partition("\nNOTES:\n")[0]
    strip = [line for line in current.splitlines() if not line.startswith("# Source:")]
    render = [line for line in wanted.splitlines() if not line.startswith("# Source:")]
    diff = difflib.unified_diff(strip, render, "deployed", "upgrade", lineterm="")
    sys.stdout.writelines(line + "\n" for line in diff)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
