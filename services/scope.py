"""The user's data scope: which platforms a request may see, applied to every query."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Platforms a user may see; `platform_ids=None` means every platform."""

    user_id: int | None = None
    platform_ids: frozenset[int] | None = None

    @classmethod
    def everything(cls) -> Scope:
        """Unrestricted scope for the CLI, migrations and admin tooling."""
        return cls()

    @property
    def is_limited(self) -> bool:
        """True when the user may see only some platforms."""
        return self.platform_ids is not None

    def cache_key(self) -> str:
        """A stable string naming this scope, for cache keys."""
        if self.platform_ids is None:
            return "all"
        return "p:" + ",".join(str(i) for i in sorted(self.platform_ids))
