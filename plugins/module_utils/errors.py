# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the mesh core.

Every problem with user input is a ``Problem``: the variable path it is
about (``mesh_apps[1].versions[0].weight``) and what is allowed there.
Validation collects all problems before it raises, so one run shows the
whole list instead of one error per attempt.
"""

from __future__ import annotations


class MeshError(Exception):
    """Base class of every error the core raises on purpose."""


class Problem(object):
    """One thing wrong with the input, located by its variable path."""

    __slots__ = ("path", "message")

    def __init__(self, path, message):
        self.path = path
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.path, self.message) if self.path else self.message

    def __repr__(self):
        return "Problem(%r, %r)" % (self.path, self.message)

    def __eq__(self, other):
        return isinstance(other, Problem) and (self.path, self.message) == (other.path, other.message)

    def __hash__(self):
        return hash((self.path, self.message))


class ValidationError(MeshError):
    """The inventory does not describe a mesh the collection can build."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(ValidationError, self).__init__(self.render())

    def render(self):
        count = len(self.problems)
        head = "invalid mesh inventory (%d problem%s):" % (count, "" if count == 1 else "s")
        return "\n".join([head] + ["  - %s" % p for p in self.problems])


class Problems(object):
    """Collector used while validating: add problems, raise once at the end."""

    def __init__(self):
        self.items = []

    def add(self, path, message):
        problem = Problem(path, message)
        if problem not in self.items:
            self.items.append(problem)

    def __bool__(self):
        return bool(self.items)

    __nonzero__ = __bool__

    def __len__(self):
        return len(self.items)

    def raise_if_any(self):
        if self.items:
            raise ValidationError(self.items)


# -- the last guard -------------------------------------------------------------------

_WHERE = [""]


def processing(path):
    """Record the variable path the core is working on (named if something unexpected goes wrong there)."""
    _WHERE[0] = path


class guard(object):  # pylint: disable=invalid-name
    """Turn any unexpected exception inside the block into a ValidationError naming the variable being processed.

    Validation is meant to catch every bad input with its own message; this is the net under it, so that no
    Python traceback reaches a user even where it missed one."""

    def __enter__(self):
        _WHERE[0] = ""
        return self

    def __exit__(self, kind, error, _traceback):
        if error is None or isinstance(error, MeshError) or not isinstance(error, Exception):
            return False
        where = _WHERE[0]
        detail = str(error)
        if len(detail) > 200:
            detail = detail[:197] + "..."
        raise ValidationError([Problem(where or "(inventory)", (
            "could not be processed (%s: %s): a value there (or below it) is probably of a type or size the "
            "collection does not handle. This is a gap in sidecarless.mesh's validation; please report it with "
            "this message" % (type(error).__name__, detail)))]) from error
