"""What a block's cross-checks read of other blocks, as protocols.

``model.py`` holds every block's value, so it imports the block files; a block's checks against
accounts, domains or configuration sets therefore read them through these shapes (the fields they
use), not through ``model.py``'s classes, and the config package has no import circle
(``tests/unit/test_import_graph.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class RegionShape(Protocol):
    @property
    def name(self) -> str: ...


class AccountShape(Protocol):
    @property
    def alias(self) -> str: ...

    @property
    def regions(self) -> Sequence[RegionShape]: ...

    def region(self, name: str) -> RegionShape | None: ...


class DomainShape(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def regions(self) -> Sequence[str]: ...


class DestinationShape(Protocol):
    @property
    def type(self) -> str: ...


class ConfigurationSetShape(Protocol):
    @property
    def account(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def external(self) -> bool: ...

    @property
    def destinations(self) -> Sequence[DestinationShape]: ...
