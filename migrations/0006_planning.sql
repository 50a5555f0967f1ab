-- Planning under finite capacity: how many team-weeks a unit can commit in a period, what a
-- team-week costs, realised value for ROI, and outcome-phrased iterations.

-- Team-weeks a unit can commit in a period. Committed effort = effort of the unit's epics
-- that are ready or in progress with that planned period.
CREATE TABLE team_capacity (
    org_unit_id uuid NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    period_id   uuid NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    weeks       numeric(8, 2) NOT NULL CHECK (weeks >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_unit_id, period_id)
);
CREATE INDEX team_capacity_period_idx ON team_capacity (period_id);
-- Committed effort of a unit in a period.
CREATE INDEX epics_committed_idx ON epics (team_id, period_id) WHERE status IN ('ready', 'in_progress');

-- What one team-week costs in a unit (set by administrators). A unit without a rate uses the
-- nearest unit above it that has one. An epic's cost = effort × rate.
CREATE TABLE unit_cost_rates (
    org_unit_id uuid PRIMARY KEY REFERENCES org_units (id) ON DELETE CASCADE,
    rate        numeric(14, 2) NOT NULL CHECK (rate > 0),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

-- The value an outcome actually realised, in the label of its epic's anticipated value;
-- recorded when its loop is closed. ROI = realised value ÷ cost.
ALTER TABLE outcomes ADD COLUMN realised_value numeric(20, 6);

-- A team's iteration (sprint): dates, a goal phrased as an outcome, the epics it advances,
-- and at its end a review of the goal.
CREATE TABLE iterations (
    id          uuid PRIMARY KEY,
    org_unit_id uuid NOT NULL REFERENCES org_units (id),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    goal        text NOT NULL CHECK (length(btrim(goal)) BETWEEN 1 AND 500),
    review      text CHECK (review IN ('met', 'partly', 'not_met')),
    review_note text NOT NULL DEFAULT '',
    reviewed_at timestamptz,
    reviewed_by uuid REFERENCES people (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CONSTRAINT iterations_dates_ordered CHECK (ends_on >= starts_on),
    CONSTRAINT iterations_reviewed CHECK ((review IS NULL) = (reviewed_at IS NULL)),
    CONSTRAINT iterations_no_overlap EXCLUDE USING gist (org_unit_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
);
CREATE INDEX iterations_unit_idx ON iterations (org_unit_id, starts_on DESC);

CREATE TABLE iteration_epics (
    iteration_id uuid NOT NULL REFERENCES iterations (id) ON DELETE CASCADE,
    epic_id      uuid NOT NULL REFERENCES epics (id),
    PRIMARY KEY (iteration_id, epic_id)
);
CREATE INDEX iteration_epics_epic_idx ON iteration_epics (epic_id);
