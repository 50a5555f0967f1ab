-- Keyset order of the API's outcome and key-result lists (newest first), so a page is an
-- index range however many rows there are.
CREATE INDEX outcomes_list_idx ON outcomes (created_at DESC, id DESC);
CREATE INDEX key_results_list_idx ON key_results (created_at DESC, id DESC);
