-- Foundation: organisation settings, the org tree, people and memberships, periods.
-- Every editable table has created_at, updated_at and version: an update is
-- `... SET version = version + 1 WHERE id = $1 AND version = $2`, and no row means someone
-- else changed the record first (409).

-- Periods of one cadence must not overlap: an exclusion constraint over date ranges needs
-- btree_gist for the equality part. It is a trusted extension (PostgreSQL 13+), so a
-- database owner without superuser may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Organisation-wide settings: exactly one row.
CREATE TABLE organisation (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    name        text NOT NULL DEFAULT 'Our organisation' CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    -- IANA time zone name; defines "today" for every date rule (loops due, current period).
    time_zone   text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);
INSERT INTO organisation DEFAULT VALUES;

CREATE TABLE org_units (
    id          uuid PRIMARY KEY,
    parent_id   uuid REFERENCES org_units (id),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    kind        text NOT NULL CHECK (kind IN ('company', 'division', 'team', 'other')),
    -- Archived units keep their history but take no new work.
    archived_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CHECK (parent_id <> id)
);
CREATE INDEX org_units_parent_idx ON org_units (parent_id);
-- Two siblings with one name would be indistinguishable in every filter.
CREATE UNIQUE INDEX org_units_sibling_name_key
    ON org_units (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));

-- Closure table: one row per (ancestor, descendant) pair, including each unit with itself at
-- depth 0, kept in the same transaction as every insert or move. "A unit and everything
-- beneath it" is then one indexed lookup, whatever the depth.
CREATE TABLE org_unit_tree (
    ancestor_id   uuid NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    descendant_id uuid NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    depth         integer NOT NULL CHECK (depth >= 0),
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX org_unit_tree_descendant_idx ON org_unit_tree (descendant_id, depth);

CREATE TABLE people (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    title       text NOT NULL DEFAULT '',
    -- Inactive people keep their history but may not own anything.
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX people_email_key ON people (lower(email));
CREATE INDEX people_name_idx ON people (lower(name), id);

-- A person's place in a unit, with the role they play there.
CREATE TABLE memberships (
    person_id   uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_unit_id uuid NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('product_manager', 'tech_lead', 'engineer', 'leader', 'other')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (person_id, org_unit_id)
);
CREATE INDEX memberships_unit_idx ON memberships (org_unit_id, role);

-- OKR cycles. Both dates are inclusive calendar dates in the organisation's time zone.
CREATE TABLE periods (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 60),
    cadence     text NOT NULL CHECK (cadence IN ('quarter', 'year', 'custom')),
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    -- Set when the period is closed: its OKRs are then read-only.
    closed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CONSTRAINT periods_dates_ordered CHECK (ends_on >= starts_on),
    CONSTRAINT periods_no_overlap EXCLUDE USING gist (cadence WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
);
CREATE UNIQUE INDEX periods_name_key ON periods (lower(name));
CREATE INDEX periods_dates_idx ON periods (starts_on, ends_on);
