# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the generators under tools/ share: write a generated file, or check that the committed one is current."""

from __future__ import annotations

import os
import sys


def write_or_check(target, text, check, command):
    """Write ``text`` to ``target``; with ``check``, exit status 1 (and say how to regenerate) when it differs."""
    if check:
        with open(target, encoding="utf-8") as handle:
            if handle.read() != text:
                sys.stderr.write("%s is stale: run python %s\n" % (target, command))
                return 1
        return 0
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    print("wrote %s" % os.path.relpath(target))
    return 0
