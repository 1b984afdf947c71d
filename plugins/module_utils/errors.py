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
