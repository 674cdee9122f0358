-- One row per provider price version (seed provider_prices); the seed's tests keep price_id unique and
-- the versions of a (provider, model, service tier, threshold) non-overlapping.

{{ stage_price_rows('provider_prices') }}
