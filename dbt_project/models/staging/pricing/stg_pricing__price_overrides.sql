-- One row per hand-maintained price override (seed price_overrides), in the same shape as the provider
-- prices so the lookup can let it win.

{{ stage_price_rows('price_overrides') }}
