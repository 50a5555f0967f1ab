-- What the filters offer to choose from: the units (their tree, names and archiving), who
-- belongs to which unit (a filter opens the tree along the viewer's own units), and the
-- periods. It changes rarely and is read on every list page, so a server keeps it between
-- views while this version stands still. The version is read with the session, and moved
-- on in the same transaction as any change to what it stands for, so a server that sees
-- the version a change made also sees the change.
CREATE TABLE choices_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);

INSERT INTO choices_version (version) VALUES (1);

CREATE FUNCTION choices_version_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE choices_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER org_units_choices_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION choices_version_move();
CREATE TRIGGER org_unit_tree_choices_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON org_unit_tree
    FOR EACH STATEMENT EXECUTE FUNCTION choices_version_move();
CREATE TRIGGER memberships_choices_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION choices_version_move();
CREATE TRIGGER periods_choices_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON periods
    FOR EACH STATEMENT EXECUTE FUNCTION choices_version_move();
