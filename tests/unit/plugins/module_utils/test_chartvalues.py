# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extra Helm values are checked against the keys of the chart version they go to (issue 7, item 2)."""

from __future__ import annotations

import random

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import chartkeys
from ansible_collections.sidecarless.mesh.plugins.module_utils.chartvalues import check_extra_values, table_version
from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import Problems
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from helpers import problems, variables


def nested(dotted, value):
    result = value
    for part in reversed(dotted.split(".")):
        result = {part: result}
    return result


def checked(chart, version, values, variable="x"):
    found, warnings = Problems(), []
    check_extra_values(chart, version, values, variable, found, warnings)
    return [str(p) for p in found.items], warnings


@pytest.mark.parametrize("extra,expected", [
    ({"cilium_helm_values": {"hubbel": {"enabled": True}}},
     "cilium_helm_values.hubbel: is not a value of the Cilium 1.20.0 chart (did you mean 'hubble'?)"),
    ({"cilium_helm_values": {"encryption": {"strictMode": {"enabled": True}}}},
     "cilium_helm_values.encryption.strictMode.enabled: is not a value of the Cilium 1.20.0 chart any more: it moved "
     "to encryption.strictMode.egress.enabled or encryption.strictMode.ingress.enabled"),
    ({"cilium_helm_values": {"encryption": {"ipsec": {"encryptedOverlay": True}}}},
     "cilium_helm_values.encryption.ipsec.encryptedOverlay: is not a value of the Cilium 1.20.0 chart (the 1.18.12 "
     "and 1.19.6 charts have it)"),
    ({"cilium_version": "1.18.12", "cilium_gateway_api": {"version": "v1.3.0"},
      "cilium_helm_values": {"encryption": {"strictMode": {"egress": {"enabled": True}}}}},
     "cilium_helm_values.encryption.strictMode.egress: is not a value of the Cilium 1.18.12 chart (the 1.19.6 and "
     "1.20.0 charts have it)"),
    ({"cilium_helm_values": {"tunnel": "vxlan"}},
     "cilium_helm_values.tunnel: was removed from Cilium in 1.15: the chart refuses to install with it"),
    ({"cilium_helm_values": {"hubble": True}},
     "cilium_helm_values.hubble: must be a mapping: the Cilium 1.20.0 chart's hubble holds"),
    ({"cilium_helm_values": {"hubble": {"relay": {"enabled": "yes"}}}},
     "cilium_helm_values.hubble.relay.enabled: must be true or false: the Cilium 1.20.0 chart's values.schema.json"),
    ({"cilium_helm_values": {"envoy": []}}, "cilium_helm_values.envoy: must be a mapping"),
    ({"cilium_helm_values": {"k8sServiceHost": {"a": 1}}},
     "cilium_helm_values.k8sServiceHost: must be a single value in the Cilium 1.20.0 chart (not a mapping)"),
    ({"dapr_helm_values": {"global": {"mtls": True}}}, "dapr_helm_values.global.mtls: must be a mapping"),
    ({"dapr_helm_values": {"global": {"hax": 1}}},
     "dapr_helm_values.global.hax: is not a value of the Dapr 1.18.3 chart (did you mean 'ha'?)"),
    ({"dapr_helm_values": {"dapr_scheduler": {"cluster": {"storageSise": "1Gi"}}}},
     "dapr_helm_values.dapr_scheduler.cluster.storageSise: is not a value of the Dapr 1.18.3 chart (did you mean "
     "'storageSize'?)"),
    ({"dapr_shared_helm_values": {"shared": {"replicaz": 2}}},
     "dapr_shared_helm_values.shared.replicaz: is not a value of the Dapr Shared 1.16.0 chart"),
    ({"dapr_shared_helm_values": {"shared": {"daprd": {"image": "x"}}}},
     "dapr_shared_helm_values.shared.daprd.image: must be a mapping"),
    ({"dapr_shared_helm_values": {"shared": {"controlPlane": {"sentry": 1}}}},
     "dapr_shared_helm_values.shared.controlPlane.sentry: must be a mapping"),
    ({"mesh_apps": [{"name": "shop", "dapr": {"helm_values": {"sharedd": {}}}}]},
     "mesh_apps[0].dapr.helm_values.sharedd: is not a value of the Dapr Shared 1.16.0 chart (did you mean "
     "'shared'?)"),
    ({"mesh_ingress": {"helm_values": {"shared": {"daprd": {"image": {"tagg": "1"}}}}}},
     "mesh_ingress.helm_values.shared.daprd.image.tagg: is not a value of the Dapr Shared 1.16.0 chart (did you "
     "mean 'tag'?)"),
])
def test_a_key_or_shape_the_chart_does_not_have_is_refused(extra, expected):
    found = problems(variables(**extra))
    assert any(p.startswith(expected) for p in found), found
    assert len([p for p in found if "helm_values" in p]) == 1, "one root problem, one message: %s" % found


def test_free_form_mappings_and_keys_the_templates_read_stay_free():
    rendering = render(variables(
        cilium_helm_values={"podAnnotations": {"example.com/any": "x"}, "nodeSelector": {"disk": "ssd"},
                            "resources": {"limits": {"memory": "1Gi"}}, "extraConfig": {"anything": "goes"},
                            "operator": {"podLabels": {"team": "net"}}},
        dapr_helm_values={"global": {"mtls": {"sentryAddress": "sentry:443"}},  # commented out in values.yaml
                          "dapr_operator": {"deploymentAnnotations": {"a": "b"}}},
        dapr_shared_helm_values={"shared": {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "x"}}},
                                 "tolerations": []}))
    assert rendering.releases[0].values["podAnnotations"] == {"example.com/any": "x"}


def test_another_patch_release_warns_about_keys_it_may_have_added_but_refuses_wrong_shapes():
    found, warnings = checked("cilium", "1.20.2", {"brandNewKey": 1, "hubble": {"relay": {"enabled": True}}})
    assert found == [] and len(warnings) == 1 and warnings[0].startswith("x.brandNewKey: is not a value of the Cilium "
                                                                         "1.20.0 chart"), warnings
    found, warnings = checked("cilium", "1.20.2", {"hubble": "on"})
    assert found and found[0].startswith("x.hubble: must be a mapping"), found
    assert table_version("cilium", "1.19.7") == (1, False)
    assert table_version("cilium", "1.20.0") == (2, True)


def test_every_mapping_every_list_and_every_typed_value_of_every_chart_refuses_the_wrong_shape():
    """Mutation test over the whole generated table: each declared key given a value of the wrong shape is
    refused, under its own path, for every chart version that declares it."""
    checked_count = 0
    for chart, versions in chartkeys.VERSIONS.items():
        for dotted, (kind, present) in sorted(chartkeys.KEYS[chart].items()):
            wrong = {"m": "a-string", "l": {"a": 1}, "s": {"a": 1}}.get(kind[0])
            if kind.startswith("s:") and "string" not in kind:
                wrong = "a-string"
            if wrong is None:
                continue
            if any(chartkeys.KEYS[chart].get(".".join(dotted.split(".")[:i]), ("m",))[0][0] != "m"
                   for i in range(1, dotted.count(".") + 1)):
                continue  # below a free-form mapping: never checked
            for index in present:
                found, _warnings = checked(chart, versions[index], nested(dotted, wrong))
                assert found and found[0].startswith("x.%s: must be" % dotted), (chart, versions[index], dotted, found)
                checked_count += 1
    assert checked_count > 2000, checked_count


def test_unknown_keys_are_refused_at_every_level_of_every_chart():
    rng = random.Random(7)
    for chart, versions in chartkeys.VERSIONS.items():
        mappings = [d for d, (kind, _p) in chartkeys.KEYS[chart].items() if kind == "m"]
        for dotted in rng.sample(mappings, min(60, len(mappings))) + [""]:
            index = chartkeys.KEYS[chart][dotted][1][-1] if dotted else len(versions) - 1
            path = (dotted + "." if dotted else "") + "zzNotAKey"
            if any(chartkeys.KEYS[chart].get(".".join(path.split(".")[:i]), ("m",))[0][0] != "m"
                   for i in range(1, path.count(".") + 1)):
                continue
            found, _warnings = checked(chart, versions[index], nested(path, 1))
            assert found and found[0].startswith("x.%s: is not a value of" % path), (chart, path, found)
