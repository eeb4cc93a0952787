"""The models a service answers with: one, or the variants of an online A/B experiment, each
behind its own :class:`ModelHolder` (loaded, reloaded and cached independently)."""

from __future__ import annotations

from .holder import ModelHolder
from .served import ServedModel
from .variants import Variants


class Arms:
    """``holders`` maps each variant to its holder (the single key None outside an experiment);
    ``variants`` assigns visitors and users to them."""

    def __init__(self, holders: dict, variants: Variants | None = None):
        if variants is None and len(holders) != 1:
            raise ValueError("several models need an experiment to split visitors between them")
        self.holders = holders
        self.variants = variants

    @property
    def first(self) -> ModelHolder:
        return next(iter(self.holders.values()))

    def pick(self, unit_id: str | None, rec_id: str) -> tuple[str | None, ServedModel]:
        """The variant of a visitor or user and its served model. Without an id the request is
        assigned on its own ``rec_id`` (no stable assignment is possible)."""
        if self.variants is None:
            return None, self.first.current
        name = self.variants.assign(unit_id if unit_id else f"rec:{rec_id}")
        return name, self.holders[name].current

    def served(self) -> list[tuple[str | None, ServedModel]]:
        """Every variant with the model it serves now."""
        return [(v, h.current) for v, h in self.holders.items()]

    def holder(self, variant: str | None) -> ModelHolder:
        if variant is None:
            if len(self.holders) > 1:
                raise KeyError(f"name the variant to reload: one of {sorted(self.holders)}")
            return self.first
        if variant not in self.holders:
            raise KeyError(f"no variant {variant!r}; the variants are {sorted(map(str, self.holders))}")
        return self.holders[variant]

    def reload_all(self) -> list[ServedModel]:
        """Reload every variant from its own folder (raises on the first failure; the variants not
        yet reloaded keep serving their current model)."""
        return [h.reload() for h in self.holders.values()]

    def close(self):
        for h in self.holders.values():
            h.close()
