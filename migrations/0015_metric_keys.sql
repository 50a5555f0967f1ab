-- A stable metric key on outcomes and key results (e.g. onboarding.completion_rate_7d):
-- an analytics job posts values for the key, and every record bound to it gets a
-- measurement or a check-in. Several records may share a key.
ALTER TABLE outcomes ADD COLUMN metric_key text
    CHECK (metric_key ~ '^[a-z0-9][a-z0-9._-]{0,119}$');
ALTER TABLE key_results ADD COLUMN metric_key text
    CHECK (metric_key ~ '^[a-z0-9][a-z0-9._-]{0,119}$');
CREATE INDEX outcomes_metric_key_idx ON outcomes (metric_key) WHERE metric_key IS NOT NULL;
CREATE INDEX key_results_metric_key_idx ON key_results (metric_key) WHERE metric_key IS NOT NULL;
