# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an Ansible module's main() in-process and return its JSON result."""

from __future__ import annotations

import contextlib
import io
import json

from ansible.module_utils.testing import patch_module_args


def _forget_warnings():
    """Ansible keeps a module's warnings in process-wide dicts; a module run in-process starts without any."""
    from ansible.module_utils.common import warnings  # pylint: disable=import-outside-toplevel

    for name in ("_global_warnings", "_global_deprecations"):
        getattr(warnings, name, {}).clear()


def run_module(main, args, check_mode=False, diff=False):
    _forget_warnings()
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())
