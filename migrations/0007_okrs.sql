-- Cascading OKRs: objectives of a unit for a period, optionally derived from a parent key
-- result (the cascade); key results with their progress source; check-ins; the links by
-- which anticipated outcomes serve key results; and measurements of outcomes (a key result
-- may follow the latest measurement of a linked outcome).

-- How often key results of a period are checked in (days; weekly by default).
ALTER TABLE periods ADD COLUMN check_in_days integer NOT NULL DEFAULT 7 CHECK (check_in_days BETWEEN 1 AND 92);

CREATE TABLE objectives (
    id                   uuid PRIMARY KEY,
    org_unit_id          uuid NOT NULL REFERENCES org_units (id),
    period_id            uuid NOT NULL REFERENCES periods (id),
    -- One accountable active person; NULL or inactive shows under "needs an owner".
    owner_id             uuid REFERENCES people (id),
    -- The key result this objective reframes for its unit (the cascade); set below.
    parent_key_result_id uuid,
    -- The objective of an earlier period this one carries over.
    carried_from_id      uuid REFERENCES objectives (id) ON DELETE SET NULL,
    title                text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description          text NOT NULL DEFAULT '',
    status               text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'closed')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    version              integer NOT NULL DEFAULT 1
);
CREATE INDEX objectives_period_unit_idx ON objectives (period_id, org_unit_id);
CREATE INDEX objectives_unit_idx ON objectives (org_unit_id);
CREATE INDEX objectives_parent_idx ON objectives (parent_key_result_id);
CREATE INDEX objectives_owner_idx ON objectives (owner_id);

CREATE TABLE key_results (
    id               uuid PRIMARY KEY,
    objective_id     uuid NOT NULL REFERENCES objectives (id) ON DELETE CASCADE,
    owner_id         uuid REFERENCES people (id),
    title            text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    metric           text NOT NULL CHECK (length(btrim(metric)) BETWEEN 1 AND 200),
    unit             text NOT NULL CHECK (unit IN ('percent', 'count', 'currency', 'duration', 'score', 'custom')),
    unit_label       text NOT NULL DEFAULT '',
    direction        text NOT NULL CHECK (direction IN ('increase', 'decrease', 'stay_within')),
    start_value      numeric(20, 6) NOT NULL,
    target           numeric(20, 6),
    band_lower       numeric(20, 6),
    band_upper       numeric(20, 6),
    weight           numeric(6, 2) NOT NULL DEFAULT 1 CHECK (weight > 0),
    -- Where progress comes from: its own check-ins, the objectives cascaded from it, or the
    -- latest measurement of a linked anticipated outcome.
    progress_source  text NOT NULL DEFAULT 'check_ins' CHECK (progress_source IN ('check_ins', 'roll_up', 'outcome')),
    source_outcome_id uuid REFERENCES outcomes (id) ON DELETE SET NULL,
    carried_from_id  uuid REFERENCES key_results (id) ON DELETE SET NULL,
    -- The latest check-in's value, confidence and day, kept in the check-in's transaction.
    current_value    numeric(20, 6),
    confidence       smallint CHECK (confidence BETWEEN 0 AND 10),
    last_check_in_on date,
    -- Frozen when the period closes (0–1), with the owner's reflection.
    final_score      numeric(5, 4) CHECK (final_score BETWEEN 0 AND 1),
    reflection       text NOT NULL DEFAULT '',
    position         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          integer NOT NULL DEFAULT 1,
    CONSTRAINT key_results_increase_moves_up
        CHECK (direction <> 'increase' OR (target IS NOT NULL AND target > start_value)),
    CONSTRAINT key_results_decrease_moves_down
        CHECK (direction <> 'decrease' OR (target IS NOT NULL AND target < start_value)),
    CONSTRAINT key_results_band_in_order
        CHECK (direction <> 'stay_within' OR (band_lower IS NOT NULL AND band_upper IS NOT NULL AND band_lower <= band_upper)),
    CONSTRAINT key_results_outcome_source
        CHECK (progress_source <> 'outcome' OR source_outcome_id IS NOT NULL)
);
CREATE INDEX key_results_objective_idx ON key_results (objective_id, position);
CREATE INDEX key_results_owner_idx ON key_results (owner_id);
CREATE INDEX key_results_title_trgm_idx ON key_results USING gin (title gin_trgm_ops);

ALTER TABLE objectives ADD CONSTRAINT objectives_parent_key_result_fkey
    FOREIGN KEY (parent_key_result_id) REFERENCES key_results (id) ON DELETE SET NULL;

CREATE TABLE check_ins (
    id             uuid PRIMARY KEY,
    key_result_id  uuid NOT NULL REFERENCES key_results (id) ON DELETE CASCADE,
    value          numeric(20, 6) NOT NULL,
    confidence     smallint NOT NULL CHECK (confidence BETWEEN 0 AND 10),
    note           text NOT NULL DEFAULT '',
    author_id      uuid REFERENCES people (id),
    checked_on     date NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_ins_key_result_idx ON check_ins (key_result_id, checked_on DESC, created_at DESC);

-- Which anticipated outcomes serve which key results (many to many).
CREATE TABLE outcome_key_results (
    outcome_id    uuid NOT NULL REFERENCES outcomes (id) ON DELETE CASCADE,
    key_result_id uuid NOT NULL REFERENCES key_results (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid REFERENCES people (id),
    PRIMARY KEY (outcome_id, key_result_id)
);
CREATE INDEX outcome_key_results_key_result_idx ON outcome_key_results (key_result_id);

-- One observed value of an outcome's metric.
CREATE TABLE measurements (
    id           uuid PRIMARY KEY,
    outcome_id   uuid NOT NULL REFERENCES outcomes (id) ON DELETE CASCADE,
    value        numeric(20, 6) NOT NULL,
    measured_on  date NOT NULL,
    source       text NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT '',
    recorded_by  uuid REFERENCES people (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX measurements_outcome_idx ON measurements (outcome_id, measured_on DESC, created_at DESC);
