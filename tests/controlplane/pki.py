# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates and keys of the test control plane (a throw-away CA per cluster).

Everything is written with mode 0600 into the cluster's state directory and
lives only as long as the cluster does.
"""

from __future__ import annotations

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=2)


def _write(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name, organization=None):
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(subject, issuer, public_key):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALID))


class PKI(object):
    """A CA plus the serving, client and service-account keys a control plane needs."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.ca_key = _key()
        self.ca_cert = (_builder(_name("sidecarless-mesh-test-ca"), _name("sidecarless-mesh-test-ca"),
                                 self.ca_key.public_key())
                        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                       critical=True)
                        .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = self._save("ca", self.ca_cert, self.ca_key)

    def path(self, name):
        return os.path.join(self.directory, name)

    def _save(self, name, cert, key):
        _write(self.path(name + ".crt"), cert.public_bytes(serialization.Encoding.PEM))
        _write(self.path(name + ".key"), _pem_key(key))
        return self.path(name + ".crt")

    def serving(self, name, hosts):
        """A server certificate for ``hosts`` (names and IP addresses); returns (cert, key) paths."""
        key = _key()
        sans = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        cert = (_builder(_name(name), self.ca_cert.subject, key.public_key())
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        return self._save(name, cert, key), self.path(name + ".key")

    def client(self, name, user, group=None):
        """A client certificate for ``user`` (CN) in ``group`` (O); returns (cert, key) paths."""
        key = _key()
        cert = (_builder(_name(user, group), self.ca_cert.subject, key.public_key())
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        return self._save(name, cert, key), self.path(name + ".key")

    def service_account_keys(self):
        """The RSA key pair that signs service-account tokens; returns (public, private) paths."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(self.path("sa.key"), _pem_key(key))
        _write(self.path("sa.pub"), key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return self.path("sa.pub"), self.path("sa.key")
