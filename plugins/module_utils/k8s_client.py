# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's Kubernetes modules take from kubernetes.core and the kubernetes client.

One place for the guarded imports, so a controller without kubernetes.core
or the kubernetes package gets a clear "missing library" failure instead
of an import traceback, and every module handles errors the same way.
"""

from __future__ import annotations

import json
import os
import traceback

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    HAS_K8S_CORE = True
    K8S_CORE_ERROR = None
except ImportError:
    HAS_K8S_CORE = False
    K8S_CORE_ERROR = traceback.format_exc()
    AUTH_ARG_SPEC = {}
    get_api_client = AnsibleK8SModule = None

    class CoreException(Exception):
        pass

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError
    from urllib3.exceptions import HTTPError as TransportError
except ImportError:  # reported by AnsibleK8SModule's requirement check
    class DynamicApiError(Exception):
        pass

    class NotFoundError(DynamicApiError):
        pass

    class ResourceNotFoundError(Exception):
        pass

    class TransportError(Exception):
        pass


def require_k8s_core():
    """Fail like a module does when kubernetes.core is missing (never returns then)."""
    if HAS_K8S_CORE:
        return
    from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib
    # Whatever the task passed is accepted (and masked, as it may hold credentials), so that the
    # missing collection is what the user reads, not "Unsupported parameters".
    spec = dict((name, {"type": "raw", "no_log": True}) for name in _load_params() if not name.startswith("_ansible_"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    module.fail_json(msg=missing_required_lib("the kubernetes.core collection"), exception=K8S_CORE_ERROR)


def module_with_auth(options):
    """An AnsibleK8SModule whose arguments are kubernetes.core's connection options plus ``options``."""
    spec = dict(AUTH_ARG_SPEC)
    spec.update(options)
    return AnsibleK8SModule(argument_spec=spec, supports_check_mode=True)


def api_client(module):
    """kubernetes.core's API client for ``module``, once its own arguments were checked.

    A kubeconfig path that is not a file is refused first: the client would
    only say "Invalid kube-config file. No configuration found.". The path
    itself cannot be shown, as kubernetes.core marks the option no_log and
    Ansible masks it in any message."""
    kubeconfig = module.params.get("kubeconfig")
    if isinstance(kubeconfig, str) and kubeconfig and not os.path.isfile(os.path.expanduser(kubeconfig)):
        module.fail_json(msg="the kubeconfig file given does not exist or is not a file (the module's kubeconfig "
                             "option; mesh_kubeconfig in the inventory)")
    return get_api_client(module=module)


def reason(exc):
    """The useful text of an API or transport error (the API's message, urllib3's cause)."""
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message")
            if message:
                return message
        except (ValueError, AttributeError, TypeError):
            pass
    return str(getattr(exc, "reason", None) or exc)


__all__ = [
    "AUTH_ARG_SPEC", "CoreException", "api_client", "DynamicApiError", "HAS_K8S_CORE", "NotFoundError", "ResourceNotFoundError",
    "TransportError", "get_api_client", "module_with_auth", "reason", "require_k8s_core",
]
