# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip.

ansible-test's sanity venvs fetch get-pip.py from a host that is not reachable
from every network. tests/quality copies this file to
~/.ansible/test/cache/get_pip_<version>.py: it installs the pip bundled with
the interpreter (ensurepip), then runs ``pip install`` with the arguments
ansible-test passes (the pinned pip, setuptools and wheel), from PyPI.
"""

import subprocess
import sys


def main():
    # In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its
    # own environment, which would hide the machine's pip configuration
    # (index, certificates) from the install below.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    packages = [arg for arg in args if not arg.startswith("-")]
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + packages)


if __name__ == "__main__":
    main()
