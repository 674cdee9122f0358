"""What the seeds leave out of the price maps, and why: every map entry the build does not seed, and every
price component it seeds a model without, becomes a ``Gap`` (``unpriced_map_entries.csv``).

The two effects:

* ``not_seeded``: the entry gives the seed no rows (not priced per token, a component the contract cannot carry
  that is charged on every call, a fine-tune, ...). A call of such a model stays pending unless another map
  or an override prices it.
* ``component_not_charged``: the model is seeded, but one component of the entry is not charged because the
  contract carries no quantity for it (web-search tool calls, audio or image input tokens, a service tier the
  seed has no rows for). A call that uses it is under-priced by that component; one that does not is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_SEEDED = "not_seeded"
COMPONENT_NOT_CHARGED = "component_not_charged"


@dataclass(frozen=True, order=True)
class Gap:
    price_map: str
    map_provider: str
    map_entry: str
    effect: str
    reason: str
