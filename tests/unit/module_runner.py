# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an Ansible module's main() in-process and return its JSON result."""

from __future__ import annotations

import contextlib
import io
import json

from ansible.module_utils.testing import patch_module_args


@contextlib.contextmanager
def _as_a_module_process():
    """Run like a module process: no earlier run's warnings, and warnings returned in the result.

    Once controller code is imported (filter tests do), ansible-core sends a
    module's warnings to the controller's display instead of its result; a
    real module runs in a process of its own, where that never happens.
    """
    from ansible.module_utils import _internal  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.common import warnings  # pylint: disable=import-outside-toplevel

    for name in ("_global_warnings", "_global_deprecations"):
        getattr(warnings, name, {}).clear()
    controller = getattr(_internal, "is_controller", False)
    _internal.is_controller = False
    try:
        yield
    finally:
        _internal.is_controller = controller


def run_module(main, args, check_mode=False, diff=False):
    with _as_a_module_process():
        return _run_module(main, args, check_mode, diff)


def _run_module(main, args, check_mode, diff):
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
