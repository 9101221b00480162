"""Stytch ids -> Python identifiers: the one rule every generated name follows.

An id (``stytch.member``, ``update.info.logo-url``, ``read:documents``) becomes
a tuple of lowercase ASCII *words*, and every name is built from those words:

1. Unicode is NFKD-normalised and combining marks are dropped (``é`` -> ``e``).
   Any other non-ASCII letter or digit becomes its own word ``u<hex code point>``
   (``文`` -> ``u6587``).
2. camelCase is split (``apiKeys`` -> ``api keys``, ``HTTPServer`` -> ``http server``);
   every other character that is not an ASCII letter or digit (``.``, ``-``,
   ``:``, ``*``, space, ``_``) separates words. Words are lowercased.
3. No words at all (``*``, ``---``) gives the single word ``unnamed``; a first
   word starting with a digit gets the word ``n`` in front (``2fa`` -> ``n 2fa``).
4. Collisions: ids of one kind (resources; the actions of one resource; roles;
   scopes) that give the same words are ordered by code point; the first keeps
   the words, each next one gets the word ``2``, ``3``, ... (the first suffix not
   already taken). The check covers every form below, so the snake, UPPER and
   Pascal names of one id never collide with another id's.
5. Forms: ``snake`` (attributes of ``P``) joins with ``_``; ``upper`` (enum
   members) is the same upper-cased; ``pascal`` (class names) capitalises each
   word and joins them (``stytch.member`` -> ``StytchMember``). A ``snake`` name
   that is a Python keyword gets a trailing ``_`` (``class`` -> ``class_``), and
   so do the names pycodestyle calls ambiguous (``l``, ``O``, ``I`` -> ``l_``,
   ``O_``, ``I_``).

Names are ASCII only: Python NFKC-normalises non-ASCII identifiers, which would
make two different ids one name. The enum *values* keep the ids byte for byte.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Names", "assign", "words"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
_AMBIGUOUS = frozenset({"l", "O", "I"})  # pycodestyle E741


@dataclass(frozen=True, slots=True)
class Names:
    """The identifiers generated for one id."""

    id: str
    words: tuple[str, ...]

    @property
    def snake(self) -> str:
        """``stytch_member``: attribute names (a keyword gets a trailing ``_``)."""
        name = "_".join(self.words)
        return f"{name}_" if keyword.iskeyword(name) or name in _AMBIGUOUS else name

    @property
    def upper(self) -> str:
        """``STYTCH_MEMBER``: enum member names."""
        name = "_".join(self.words).upper()
        return f"{name}_" if name in _AMBIGUOUS else name

    @property
    def pascal(self) -> str:
        """``StytchMember``: the stem of class names (``StytchMemberAction``)."""
        return "".join(w[:1].upper() + w[1:] for w in self.words)


def words(identifier: str) -> tuple[str, ...]:
    """The words of one id before collisions are resolved (rules 1-3 of the module docs)."""
    ascii_chars: list[str] = []
    for char in unicodedata.normalize("NFKD", identifier):
        if unicodedata.combining(char):
            continue
        if char.isascii():
            ascii_chars.append(char)
        elif char.isalnum():
            ascii_chars.append(f" u{ord(char):04x} ")
        else:
            ascii_chars.append(" ")
    text = _CAMEL.sub(" ", "".join(ascii_chars)).lower()
    found = tuple(_WORD.findall(text))
    if not found:
        return ("unnamed",)
    if found[0][0].isdigit():
        return ("n", *found)
    return found


def assign(ids: Iterable[str]) -> dict[str, Names]:
    """Collision-free :class:`Names` for ids of one kind, independent of their order."""
    ordered = sorted(set(ids))
    base = {i: words(i) for i in ordered}
    taken_snake: set[str] = set()
    taken_pascal: set[str] = set()
    result: dict[str, Names] = {}

    def claim(i: str, candidate: tuple[str, ...]) -> bool:
        names = Names(i, candidate)
        snake, pascal = "_".join(candidate), names.pascal
        if snake in taken_snake or pascal in taken_pascal:
            return False
        taken_snake.add(snake)
        taken_pascal.add(pascal)
        result[i] = names
        return True

    rest = [i for i in ordered if not claim(i, base[i])]
    for i in rest:
        n = 2
        while not claim(i, (*base[i], str(n))):
            n += 1
    return result
