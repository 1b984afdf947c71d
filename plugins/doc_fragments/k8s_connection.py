# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the collection's Kubernetes modules reach the API server.

The modules take kubernetes.core's connection options unchanged (their
argument spec is kubernetes.core's AUTH_ARG_SPEC). The options are
documented here rather than by extending kubernetes.core's fragment so
that the documentation renders where kubernetes.core is not installed
(galaxy-importer runs ansible-doc without dependencies).
tests/unit/plugins/test_doc_fragment.py keeps names, types, aliases and
environment variables in step with the kubernetes.core the project pins.
"""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - Without this option and without O(host), O(api_key) or client certificates, the kubernetes client
        reads C(~/.kube/config).
      - Environment variable E(K8S_AUTH_KUBECONFIG).
    type: raw
  context:
    description:
      - Context of the kubeconfig to use. Environment variable E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the API server. Environment variable E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Environment variable E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for basic authentication, which few clusters accept. Environment variable E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for basic authentication. Environment variable E(K8S_AUTH_PASSWORD).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Environment variable E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA certificate file the API server's certificate is checked against.
        Environment variable E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate file for TLS client authentication. Environment variable E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key file of O(client_cert). Environment variable E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP proxy URL between the controller and the API server. Environment variable E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, addresses or CIDRs reached without O(proxy).
        Environment variable E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers sent to O(proxy).
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy. Environment variable E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - C(user:password) sent as basic authorization. Environment variable E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - User agent sent to the proxy. Environment variable E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  persist_config:
    description:
      - Write a refreshed token back to the kubeconfig file (for authentication plugins whose tokens expire).
        Environment variable E(K8S_AUTH_PERSIST_CONFIG).
    type: bool
  impersonate_user:
    description:
      - User to act as. Environment variable E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to act as. Environment variable E(K8S_AUTH_IMPERSONATE_GROUPS).
    type: list
    elements: str
notes:
  - The options are kubernetes.core's own connection options; set them once for all three modules with
    C(module_defaults) and the C(group/sidecarless.mesh.k8s) action group.
  - The modules need the kubernetes.core collection and the C(kubernetes) Python package on the host that
    runs them (usually the controller, with C(delegate_to=localhost)).
"""
