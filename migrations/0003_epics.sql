-- Initiatives, epics and their anticipated outcomes (DOMAIN.md moves 1, 2 and 4).

-- Trigram indexes make text search over titles and statements fast at any size; pg_trgm
-- is a trusted extension (PostgreSQL 13+), like btree_gist.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE initiatives (
    id          uuid PRIMARY KEY,
    org_unit_id uuid NOT NULL REFERENCES org_units (id),
    -- NULL or inactive: listed under "needs an owner".
    owner_id    uuid REFERENCES people (id),
    title       text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'active', 'done', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);
CREATE INDEX initiatives_unit_idx ON initiatives (org_unit_id, status);
CREATE INDEX initiatives_owner_idx ON initiatives (owner_id);

-- The periods an initiative is planned for (it may span several).
CREATE TABLE initiative_periods (
    initiative_id uuid NOT NULL REFERENCES initiatives (id) ON DELETE CASCADE,
    period_id     uuid NOT NULL REFERENCES periods (id),
    PRIMARY KEY (initiative_id, period_id)
);

CREATE TABLE epics (
    id              uuid PRIMARY KEY,
    initiative_id   uuid REFERENCES initiatives (id),
    team_id         uuid NOT NULL REFERENCES org_units (id),
    -- One accountable active person; NULL or inactive shows under "needs an owner".
    owner_id        uuid REFERENCES people (id),
    period_id       uuid REFERENCES periods (id),
    work_type       text NOT NULL CHECK (work_type IN ('feature', 'tech_debt', 'defect', 'risk')),
    title           text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '',
    -- Why this before the rest of the backlog.
    why_now         text NOT NULL DEFAULT '',
    -- How and when we will know it worked.
    validation_plan text NOT NULL DEFAULT '',
    tracker_key     text CHECK (tracker_key IS NULL OR length(tracker_key) BETWEEN 1 AND 50),
    tracker_url     text CHECK (tracker_url IS NULL OR tracker_url ~ '^https?://'),
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'ready', 'in_progress', 'delivered', 'measuring', 'closed', 'cancelled')),
    -- When each transition last happened: flow figures (cycle time, time to realisation)
    -- are differences of these.
    ready_at        timestamptz,
    started_at      timestamptz,
    delivered_at    timestamptz,
    measuring_at    timestamptz,
    closed_at       timestamptz,
    cancelled_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1
);
CREATE INDEX epics_team_idx ON epics (team_id, status, created_at DESC, id DESC);
CREATE INDEX epics_owner_idx ON epics (owner_id);
CREATE INDEX epics_period_idx ON epics (period_id);
CREATE INDEX epics_initiative_idx ON epics (initiative_id);
CREATE INDEX epics_list_idx ON epics (created_at DESC, id DESC);
CREATE INDEX epics_title_trgm_idx ON epics USING gin (title gin_trgm_ops);
CREATE UNIQUE INDEX epics_tracker_key_key ON epics (tracker_key) WHERE tracker_key IS NOT NULL;

-- A measurable expected result of an epic or of an initiative (exactly one of them).
CREATE TABLE outcomes (
    id            uuid PRIMARY KEY,
    epic_id       uuid REFERENCES epics (id) ON DELETE CASCADE,
    initiative_id uuid REFERENCES initiatives (id) ON DELETE CASCADE,
    owner_id      uuid REFERENCES people (id),
    kind          text NOT NULL CHECK (kind IN ('behaviour', 'business_result')),
    -- The outcome this one leads to (a behaviour leading to a business result).
    leads_to_id   uuid REFERENCES outcomes (id) ON DELETE SET NULL,
    statement     text NOT NULL CHECK (length(btrim(statement)) BETWEEN 1 AND 500),
    metric        text NOT NULL CHECK (length(btrim(metric)) BETWEEN 1 AND 200),
    unit          text NOT NULL CHECK (unit IN ('percent', 'count', 'currency', 'duration', 'score', 'custom')),
    -- "EUR", "s", "learners": how values are labelled.
    unit_label    text NOT NULL DEFAULT '',
    direction     text NOT NULL CHECK (direction IN ('increase', 'decrease', 'stay_within')),
    baseline      numeric(20, 6) NOT NULL,
    target        numeric(20, 6),
    band_lower    numeric(20, 6),
    band_upper    numeric(20, 6),
    -- The loop's due date: by then the actual result must be recorded.
    measure_by    date NOT NULL,
    -- Where the numbers come from and how they are measured.
    data_source   text NOT NULL DEFAULT '',
    -- Set when the epic becomes ready: later changes to baseline, target/band, direction or
    -- measure-by need a reason and are kept in outcome_revisions.
    committed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1,
    CONSTRAINT outcomes_one_parent CHECK ((epic_id IS NULL) <> (initiative_id IS NULL)),
    CONSTRAINT outcomes_increase_moves_up
        CHECK (direction <> 'increase' OR (target IS NOT NULL AND target > baseline)),
    CONSTRAINT outcomes_decrease_moves_down
        CHECK (direction <> 'decrease' OR (target IS NOT NULL AND target < baseline)),
    CONSTRAINT outcomes_band_in_order
        CHECK (direction <> 'stay_within' OR (band_lower IS NOT NULL AND band_upper IS NOT NULL AND band_lower <= band_upper))
);
CREATE INDEX outcomes_epic_idx ON outcomes (epic_id);
CREATE INDEX outcomes_initiative_idx ON outcomes (initiative_id);
CREATE INDEX outcomes_owner_idx ON outcomes (owner_id);
CREATE INDEX outcomes_measure_by_idx ON outcomes (measure_by);
CREATE INDEX outcomes_statement_trgm_idx ON outcomes USING gin (statement gin_trgm_ops);

-- Interim checkpoints (e.g. 1 and 3 months after delivery): each gets a reminder; only the
-- final measure-by date makes a loop due.
CREATE TABLE outcome_checkpoints (
    outcome_id uuid NOT NULL REFERENCES outcomes (id) ON DELETE CASCADE,
    due_on     date NOT NULL,
    PRIMARY KEY (outcome_id, due_on)
);

-- Changes to a committed outcome's baseline, goal or date, with the reason given.
CREATE TABLE outcome_revisions (
    id         bigserial PRIMARY KEY,
    outcome_id uuid NOT NULL REFERENCES outcomes (id) ON DELETE CASCADE,
    revised_at timestamptz NOT NULL,
    revised_by uuid REFERENCES people (id) ON DELETE SET NULL,
    reason     text NOT NULL CHECK (length(btrim(reason)) >= 1),
    before     jsonb NOT NULL,
    after      jsonb NOT NULL
);
CREATE INDEX outcome_revisions_outcome_idx ON outcome_revisions (outcome_id, id);
