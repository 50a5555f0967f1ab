-- Initiative pages: the list is newest first with a keyset cursor and searched by title;
-- outcomes show what leads to them.
CREATE INDEX initiatives_list_idx ON initiatives (created_at DESC, id DESC);
CREATE INDEX initiatives_title_trgm_idx ON initiatives USING gin (title gin_trgm_ops);
CREATE INDEX initiative_periods_period_idx ON initiative_periods (period_id);
CREATE INDEX outcomes_leads_to_idx ON outcomes (leads_to_id) WHERE leads_to_id IS NOT NULL;
