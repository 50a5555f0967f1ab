-- Closing the loop: an outcome's verdict (proposed from the latest measurement against the
-- committed baseline and goal, confirmed or overridden with a reason), the learnings and
-- next step, and who closed it when. Epics may follow up on a closed outcome.
ALTER TABLE outcomes
    ADD COLUMN verdict          text CHECK (verdict IN ('achieved', 'partially_achieved', 'not_achieved', 'inconclusive')),
    ADD COLUMN proposed_verdict text CHECK (proposed_verdict IN ('achieved', 'partially_achieved', 'not_achieved', 'inconclusive')),
    -- Why the verdict differs from the proposal, or why it is inconclusive.
    ADD COLUMN verdict_reason   text NOT NULL DEFAULT '',
    ADD COLUMN learnings        text NOT NULL DEFAULT '',
    ADD COLUMN next_step        text CHECK (next_step IN ('iterate', 'pivot', 'stop', 'scale')),
    -- The committed direction, baseline, goal and date the verdict was judged against.
    ADD COLUMN judged_against   jsonb,
    ADD COLUMN closed_at        timestamptz,
    -- The closing day in the organisation's time zone (periods scope closed loops by it).
    ADD COLUMN closed_on        date,
    ADD COLUMN closed_by        uuid REFERENCES people (id),
    ADD CONSTRAINT outcomes_closing_complete
        CHECK ((closed_at IS NULL) = (verdict IS NULL) AND (closed_at IS NULL) = (closed_on IS NULL)
               AND (closed_at IS NULL OR (next_step IS NOT NULL AND length(btrim(learnings)) > 0)));
-- Open loops by due date (the queue, reminders); closed ones by day (learnings, dashboards).
CREATE INDEX outcomes_open_loop_idx ON outcomes (measure_by) WHERE closed_at IS NULL;
CREATE INDEX outcomes_closed_on_idx ON outcomes (closed_on DESC, id) WHERE closed_at IS NOT NULL;
CREATE INDEX outcomes_learnings_trgm_idx ON outcomes USING gin (learnings gin_trgm_ops) WHERE closed_at IS NOT NULL;

-- A follow-up epic names the closed outcome it iterates on.
ALTER TABLE epics ADD COLUMN follow_up_of uuid REFERENCES outcomes (id) ON DELETE SET NULL;
CREATE INDEX epics_follow_up_idx ON epics (follow_up_of) WHERE follow_up_of IS NOT NULL;
