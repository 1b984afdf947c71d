# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a regular expression valid as Go's regexp package (RE2 syntax) reads it?

Cilium compiles the interface patterns of a CiliumL2AnnouncementPolicy with
Go's ``regexp.Compile``, whose syntax is not Python's: no look-around, no
back-references, no possessive quantifiers or atomic groups, no ``\\Z``,
repetition counts up to 1000, but POSIX classes (``[[:alpha:]]``), ``\\pL``
and ``\\Q...\\E`` that Python's ``re`` lacks. Checking with ``re.compile``
both accepts what Cilium rejects and rejects what it accepts, and overflows
or recurses on hostile input. ``problem(pattern)`` follows Go's
regexp/syntax parser (Perl flags, as ``regexp.Compile`` uses them) without
recursion; the unit tests compare it with Go itself.
"""

from __future__ import annotations

_POSIX_CLASSES = ("alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
                  "upper", "word", "xdigit")
_PERL_CLASSES = "dDsSwW"
_SIMPLE_ESCAPES = "afnrtv"
_MAX_REPEAT = 1000
_MAX_DEPTH = 1000
#: Go refuses a program larger than this many instructions ("expression too large"); the estimate below
#: counts as Go's compiler does for the constructs that matter (repetition multiplies).
_MAX_SIZE = 3355443


class _Error(Exception):
    pass


def problem(pattern):
    """None when Go's regexp.Compile accepts ``pattern``, else the reason (worded like Go's error)."""
    try:
        _Parser(pattern).parse()
    except _Error as exc:
        return str(exc)
    return None


def _is_word(char):
    return char.isascii() and (char.isalnum() or char == "_")


class _Parser(object):
    def __init__(self, text):
        self.text = text
        self.pos = 0

    # Each open group is a frame: [size of finished alternatives, size of the current concatenation,
    # size of the last atom (None: nothing to repeat), whether the last atom was a repetition,
    # the largest product of nested counted repetitions in the group so far, that product of the last atom]
    def parse(self):
        text = self.text
        stack = [[0, 0, None, False, 1, 1]]
        while self.pos < len(text):
            char = text[self.pos]
            frame = stack[-1]
            if char == "(":
                self.pos += 1
                if self.group_opening():
                    stack.append([0, 0, None, False, 1, 1])
                    if len(stack) > _MAX_DEPTH:
                        raise _Error("expression nests too deeply")
                else:  # a flag group (?i) adds nothing: a repetition after it applies to the atom before it,
                    frame[3] = False  # and is not "right after" a repetition before it (Go's lastRepeat)
                continue
            if char == "|":
                frame[0] += frame[1] + 1
                frame[1], frame[2], frame[3] = 0, None, False
                self.pos += 1
                continue
            if char == ")":
                if len(stack) == 1:
                    raise _Error("unexpected ): %r" % text)
                done = stack.pop()
                size = done[0] + done[1] + 2
                self.atom(stack[-1], size, product=done[4])
                self.pos += 1
                continue
            if char in "*+?":
                self.repeat(frame, char, 0, None)
                continue
            if char == "{":
                counts = self.repeat_counts()
                if counts is not None:
                    self.repeat(frame, text[self.pos:counts[2]], counts[0], counts[1], end=counts[2])
                    continue
                self.atom(frame, 1)
                self.pos += 1
                continue
            if char == "[":
                self.pos += 1
                self.char_class()
                self.atom(frame, 1)
                continue
            if char == "\\":
                self.escape(frame)
                continue
            if char in "^$":
                self.atom(frame, 1, repeatable=True)
                self.pos += 1
                continue
            self.atom(frame, 1)
            self.pos += 1
        if len(stack) > 1:
            raise _Error("missing closing ): %r" % text)
        total = stack[0][0] + stack[0][1]
        if total > _MAX_SIZE:
            raise _Error("expression too large")

    def atom(self, frame, size, repeatable=True, product=1):
        frame[1] += size
        frame[2] = size if repeatable else None
        frame[3] = False
        frame[5] = product
        frame[4] = max(frame[4], product)
        if frame[1] > _MAX_SIZE:
            raise _Error("expression too large")

    def repeat(self, frame, operator, low, high, end=None):
        text = self.text
        end = end if end is not None else self.pos + 1
        if end < len(text) and text[end] == "?":  # non-greedy
            end += 1
        if frame[3]:  # Go: a repetition right after another one (a**, a*+); not after (?i) between them
            raise _Error("invalid nested repetition operator: %r" % text[self.pos - 1:end])
        if frame[2] is None:
            raise _Error("missing argument to repetition operator: %r" % text[self.pos:end])
        size = frame[2]
        if operator in ("*", "+", "?"):
            grown = size + 1
        else:
            copies = high if high is not None else max(low, 1)
            grown = size * max(copies, 1) + copies
        counted = operator not in ("*", "+", "?")
        if counted and (low >= 2 or (high or 0) >= 2):
            most = high if high is not None else low
            if most > 0:
                # Go's repeatIsValid: nested counted repetitions multiply, and the product may not pass 1000
                if most * frame[5] > _MAX_REPEAT:
                    raise _Error("invalid repeat count: %r" % text[self.pos:end])
                frame[5] *= most
                frame[4] = max(frame[4], frame[5])
        frame[1] += grown - size
        frame[2] = grown  # the repetition can itself be repeated, just not right away
        frame[3] = True
        if frame[1] > _MAX_SIZE:
            raise _Error("expression too large")
        self.pos = end

    def repeat_counts(self):
        """(low, high or None, end) when ``{`` starts {n}, {n,} or {n,m}; None when it is a literal brace."""
        text = self.text
        index = self.pos + 1
        start = index
        while index < len(text) and text[index].isdigit() and text[index].isascii():
            index += 1
        if index == start:
            return None
        low = int(text[start:index])
        high = low
        if index < len(text) and text[index] == ",":
            index += 1
            second = index
            while index < len(text) and text[index].isdigit() and text[index].isascii():
                index += 1
            high = int(text[second:index]) if index > second else None
        if index >= len(text) or text[index] != "}":
            return None
        if low > _MAX_REPEAT or (high is not None and (high > _MAX_REPEAT or high < low)):
            raise _Error("invalid repeat count: %r" % text[self.pos:index + 1])
        return low, high, index + 1

    def group_opening(self):
        """After '(': True for a group (capturing or not), False for a flag setting such as (?i)."""
        text = self.text
        if self.pos >= len(text) or text[self.pos] != "?":
            return True
        rest = text[self.pos + 1:]
        name_start = None
        if rest.startswith("P<"):
            name_start = self.pos + 3
        elif rest.startswith("<") and not rest.startswith(("<=", "<!")):
            name_start = self.pos + 2
        if name_start is not None:
            close = text.find(">", name_start)
            if close < 0:
                raise _Error("invalid named capture: %r" % text[self.pos - 1:])
            name = text[name_start:close]
            if not name or not all(_is_word(c) for c in name):
                raise _Error("invalid named capture: %r" % text[self.pos - 1:close + 1])
            self.pos = close + 1
            return True
        # flags: (?flags) or (?flags:re), as Go's parsePerlFlags reads them
        index = self.pos + 1
        negated = False
        saw_flag = False
        while index < len(text):
            char = text[index]
            if char in "imsU":
                saw_flag = True
            elif char == "-" and not negated:
                negated, saw_flag = True, False
            elif char in ":)" and (saw_flag or not negated):
                self.pos = index + 1
                return char == ":"
            else:
                break
            index += 1
        raise _Error("invalid or unsupported Perl syntax: %r" % text[self.pos - 1:index + 1])

    def escape(self, frame, in_class=False):
        """At a backslash: check the escape, advance, and add its atom (outside a class)."""
        text = self.text
        if self.pos + 1 >= len(text):
            raise _Error("trailing backslash at end of expression")
        char = text[self.pos + 1]
        start = self.pos
        self.pos += 2
        if not in_class and char in "AzbB":
            self.atom(frame, 1)
            return None
        if char in _PERL_CLASSES:
            if not in_class:
                self.atom(frame, 1)
            return "class"
        if char in "pP":
            if self.pos >= len(text):
                raise _Error("invalid character class range: %r" % text[start:])
            if text[self.pos] == "{":
                close = text.find("}", self.pos)
                if close < 0:
                    raise _Error("invalid character class range: %r" % text[start:])
                name = text[self.pos + 1:close]
                if name.startswith("^"):
                    name = name[1:]
                if not name or not all(_is_word(c) for c in name):
                    raise _Error("invalid character class range: %r" % text[start:close + 1])
                self.pos = close + 1
            else:
                self.pos += 1
            if not in_class:
                self.atom(frame, 1)
            return "class"
        if char == "Q" and not in_class:
            end = text.find("\\E", self.pos)
            literal = text[self.pos:] if end < 0 else text[self.pos:end]
            self.pos = len(text) if end < 0 else end + 2
            for _char in literal:
                self.atom(frame, 1)
            return None
        if char == "x":
            if self.pos < len(text) and text[self.pos] == "{":
                close = text.find("}", self.pos)
                digits = text[self.pos + 1:close] if close >= 0 else ""
                if close < 0 or not digits or not all(c in "0123456789abcdefABCDEF" for c in digits) \
                        or int(digits, 16) > 0x10FFFF:
                    raise _Error("invalid escape sequence: %r" % text[start:(close + 1) if close >= 0 else None])
                self.pos = close + 1
            else:
                digits = text[self.pos:self.pos + 2]
                if len(digits) < 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise _Error("invalid escape sequence: %r" % text[start:self.pos + 2])
                self.pos += 2
            return self.literal(frame, in_class)
        if char in "1234567":
            if self.pos >= len(text) or text[self.pos] not in "01234567":
                raise _Error("invalid escape sequence: %r" % text[start:self.pos])
        if char in "01234567":
            count = 1
            while count < 3 and self.pos < len(text) and text[self.pos] in "01234567":
                self.pos += 1
                count += 1
            return self.literal(frame, in_class)
        if char in _SIMPLE_ESCAPES:
            return self.literal(frame, in_class)
        if char.isascii() and not char.isalnum():
            return self.literal(frame, in_class)
        raise _Error("invalid escape sequence: %r" % text[start:self.pos])

    def literal(self, frame, in_class):
        if not in_class:
            self.atom(frame, 1)
        return "char"

    def char_class(self):
        """After '[': up to and past the closing ']'."""
        text = self.text
        start = self.pos - 1
        if self.pos < len(text) and text[self.pos] == "^":
            self.pos += 1
        first = True
        previous_single = None  # the last class item was a single character that could start a range
        while True:
            if self.pos >= len(text):
                raise _Error("missing closing ]: %r" % text[start:])
            char = text[self.pos]
            if char == "]" and not first:
                self.pos += 1
                return
            first = False
            if text.startswith("[:", self.pos):
                close = text.find(":]", self.pos + 2)
                if close >= 0:
                    name = text[self.pos + 2:close]
                    if name.startswith("^"):
                        name = name[1:]
                    if name not in _POSIX_CLASSES:
                        raise _Error("invalid character class range: %r" % text[self.pos:close + 2])
                    self.pos = close + 2
                    previous_single = None
                    continue
            if char == "-" and previous_single is not None and self.pos + 1 < len(text) and text[self.pos + 1] != "]":
                self.pos += 1
                high = self.class_char()
                if high is None:
                    raise _Error("invalid character class range: %r" % text[start:self.pos])
                if high < previous_single:
                    raise _Error("invalid character class range: %r" % text[start:self.pos])
                previous_single = None
                continue
            value = self.class_char()
            previous_single = value

    def class_char(self):
        """One class item at the position: its code point when it is a single character, else None."""
        text = self.text
        char = text[self.pos]
        if char != "\\":
            self.pos += 1
            return ord(char)
        begin = self.pos
        kind = self.escape([0, 0, None, False, 1, 1], in_class=True)
        if kind != "char":
            return None
        return _escaped_code(text[begin:self.pos])


def _escaped_code(escape):
    """Code point of a single-character escape such as \\x41, \\x{263a}, \\101, \\n or \\-."""
    body = escape[1:]
    if body[0] == "x":
        digits = body[2:-1] if body.startswith("x{") else body[1:]
        return int(digits, 16)
    if body[0] in "01234567":
        return int(body, 8)
    simple = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
    return simple.get(body[0], ord(body[0]))
