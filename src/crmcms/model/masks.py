"""Input masks: a small pattern syntax for formatted strings such as phone numbers."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import attrs

from crmcms.errors import InvalidValueError

__all__ = ["InputMask", "MaskSlot"]

# Mask syntax, one character per position:
#   9   any decimal digit (0-9)
#   A   any letter (Latin or Cyrillic, either case)
#   *   any single character
#   \   the next character is literal (so "\9" means the digit nine itself)
#   any other character is literal and must appear as written.
# Example: "+7 (999) 999-99-99" accepts "+7 (921) 123-45-67".
DIGIT = "9"
LETTER = "A"
ANY = "*"
ESCAPE = "\\"


@attrs.frozen
class MaskSlot:
    """One position of a mask: a placeholder kind (``9``, ``A``, ``*``) or a literal."""

    kind: str
    literal: str = ""

    @property
    def is_placeholder(self) -> bool:
        return self.kind != "literal"

    def accepts(self, char: str) -> bool:
        """Whether ``char`` may stand in this position."""
        if self.kind == DIGIT:
            return char in "0123456789"
        if self.kind == LETTER:
            return char.isalpha()
        if self.kind == ANY:
            return True
        return char == self.literal


def _parse(pattern: str) -> tuple[MaskSlot, ...]:
    slots: list[MaskSlot] = []
    chars: Iterator[str] = iter(pattern)
    for char in chars:
        if char == ESCAPE:
            escaped = next(chars, None)
            if escaped is None:
                raise InvalidValueError(f"mask {pattern!r} ends with a lone '\\'")
            slots.append(MaskSlot("literal", escaped))
        elif char in (DIGIT, LETTER, ANY):
            slots.append(MaskSlot(char))
        else:
            slots.append(MaskSlot("literal", char))
    if not any(s.is_placeholder for s in slots):
        raise InvalidValueError(f"mask {pattern!r} has no placeholder (9, A or *)")
    return tuple(slots)


@attrs.frozen
class InputMask:
    """A parsed input mask; see the module docstring's syntax (``9`` digit, ``A`` letter, ...)."""

    pattern: str
    slots: tuple[MaskSlot, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "slots", _parse(self.pattern))

    @staticmethod
    @lru_cache(maxsize=256)
    def compile(pattern: str) -> InputMask:
        """A parsed mask, cached: attribute checks compile the same few masks repeatedly."""
        return InputMask(pattern)

    def matches(self, text: str) -> bool:
        """Whether ``text`` is exactly one filled-in instance of the mask."""
        return len(text) == len(self.slots) and all(
            slot.accepts(char) for slot, char in zip(self.slots, text, strict=True)
        )

    def fill(self, entered: str) -> str:
        """Put the characters the user typed into the placeholders, adding the literals."""
        placeholders = [s for s in self.slots if s.is_placeholder]
        if len(entered) != len(placeholders):
            raise InvalidValueError(
                f"mask {self.pattern!r} needs {len(placeholders)} characters, got {len(entered)}"
            )
        out: list[str] = []
        typed = iter(entered)
        for slot in self.slots:
            if not slot.is_placeholder:
                out.append(slot.literal)
                continue
            char = next(typed)
            if not slot.accepts(char):
                raise InvalidValueError(f"{char!r} does not fit placeholder {slot.kind!r}")
            out.append(char)
        return "".join(out)

    def entered(self, text: str) -> str:
        """The characters standing in placeholders of a matching ``text`` (inverse of fill)."""
        if not self.matches(text):
            raise InvalidValueError(f"{text!r} does not match mask {self.pattern!r}")
        return "".join(c for s, c in zip(self.slots, text, strict=True) if s.is_placeholder)
