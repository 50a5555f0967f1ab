-- Recording a measurement marks the objectives of the key results that follow its outcome
-- (dashboard_mark_measurement); without an index that was a scan of every key result per
-- measurement: 77 ms at 150,000 key results.
CREATE INDEX key_results_source_outcome_idx ON key_results (source_outcome_id) WHERE source_outcome_id IS NOT NULL;
