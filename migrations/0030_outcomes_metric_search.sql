-- The learning log's search reads outcomes whose learnings, statement or metric match
-- through one trigram index each (src/loops/learnings.rs), so that a rare word is found
-- through the indexes rather than by reading every closed outcome. The metric had none.
CREATE INDEX IF NOT EXISTS outcomes_metric_trgm_idx ON outcomes USING gin (metric gin_trgm_ops)
    WHERE closed_at IS NOT NULL;
